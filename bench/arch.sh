#!/usr/bin/env bash
# The portable build against a native one: the seed preset's training time with
#   baseline   build/ as installed and packaged (-march=x86-64-v3; on an AVX-512 machine the
#              sparse first layer still runs its AVX-512 kernels, chosen at run time)
#   v3-only    the same binary with BACKPROP_ISA=baseline: what an AVX2-only machine runs
#   native     build-native/ (-DBACKPROP_ARCH=native): everything compiled for this CPU
# Each round runs all three in turn (so a slow spell of the shared machine falls on all of them);
# prints each run's seconds and the medians.
#   bench/arch.sh [--rounds N] [--epochs N] [--threads N] [--data DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5 epochs=3 threads=2 data=${BACKPROP_DATA:-data/mnist}
while (($#)); do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --threads) threads=$2; shift ;;
    --data) data=$2; shift ;;
    *) echo "arch.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ -x build/apps/backprop ]] || { echo "arch.sh: build build/ first (scripts/setup.sh)" >&2; exit 1; }
if [[ ! -x build-native/apps/backprop ]]; then
  cmake -S . -B build-native -DCMAKE_BUILD_TYPE=Release -DBACKPROP_ARCH=native -DBACKPROP_BUILD_TESTS=OFF >/dev/null
  cmake --build build-native -j2 --target backprop >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() {  # name binary [env...]: seconds for one training run
  local name=$1 bin=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  env "$@" "$bin" train --preset seed --epochs "$epochs" --threads "$threads" --data "$data" --no-fetch \
    --out "$out/$name.model" >"$out/$name.log"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc >>"$out/$name.times"
}
for ((r = 1; r <= rounds; r++)); do
  run baseline build/apps/backprop
  run v3-only build/apps/backprop BACKPROP_ISA=baseline
  run native build-native/apps/backprop
done
echo "seed preset, $epochs epochs, $threads threads, $rounds interleaved rounds; seconds per run:"
for name in baseline v3-only native; do
  median=$(sort -n "$out/$name.times" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  printf '  %-9s median %6.2f   runs %s  (%s)\n' "$name" "$median" "$(tr '\n' ' ' <"$out/$name.times")" \
    "$(tail -1 "$out/$name.log")"
done

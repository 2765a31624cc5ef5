#!/usr/bin/env bash
# The parts of data-parallel training's cost, measured on this machine (docs/distributed.md):
# for the seed network (784-256-10 sigmoid, f32) and 784-1024-1024-10 relu, at a global batch
# of 64, the compute time per step per rank on 1 and 2 ranks (forward, backward, update:
# everything but the sum), the bytes each step reduces, the sum's time inside training on 2
# ranks (waiting for the slower rank included), and MPI_Allreduce of that buffer alone on 2
# ranks over shared memory and over TCP on loopback. Rounds interleave the systems (noise).
# Then bench/distributed_model.py turns the medians into the predicted epoch times.
#   bench/distributed.sh [--rounds N] [--steps N] [--data DIR]     (about 3 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 steps=200 data=${BACKPROP_DATA:-data/mnist}
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "usage: bench/distributed.sh [--rounds N] [--steps N] [--data DIR]" >&2; exit 2 ;;
  esac
done
command -v mpirun >/dev/null || { echo "bench/distributed.sh: needs mpirun (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }
out=bench/results/distributed
mkdir -p "$out"
[[ -x build/apps/backprop ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null; }
cmake --build build -j2 --target backprop >/dev/null
mpicxx -O2 -o "$out/allreduce_loopback" bench/allreduce_loopback.cpp
mpi=(mpirun --oversubscribe)
[[ $(id -u) -eq 0 ]] && mpi+=(--allow-run-as-root)
limit=$((steps * 64))
declare -A nets=(
  [seed]="--preset seed --epochs 1"
  [large]="--layers 784,1024,1024,10 --activation relu --init-scheme he-normal --lr 0.01 --batch 64 --epochs 1")
declare -A floats=([seed]=203530 [large]=1863690)
raw="$out/raw.txt"
: >"$raw"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$raw"
for round in $(seq 1 "$rounds"); do
  for net in seed large; do
    for n in 1 2; do
      line=$("${mpi[@]}" -np $n build/apps/backprop train ${nets[$net]} --data "$data" --no-fetch --quiet \
             --threads 1 --train-limit $limit | grep '^distributed:')
      echo "round $round net $net ranks $n $line" | tee -a "$raw"
    done
    for btl in vader tcp; do
      line=$("${mpi[@]}" -np 2 --mca btl self,$btl "$out/allreduce_loopback" $((floats[$net] + 2)) 200)
      echo "round $round net $net btl $btl $line" | tee -a "$raw"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$raw"
python3 bench/distributed_model.py "$raw" | tee "$out/model.md"

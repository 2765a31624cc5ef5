#!/usr/bin/env bash
# backprop.MLPClassifier / MLPRegressor against scikit-learn's, from Python, in one process,
# interleaved rounds; and the same MNIST run from the CLI (the Python overhead). bench/python.py
# says what each system gets; the table goes to stdout and bench/results/python.md.
#
#   bench/python.sh [--quick] [--rounds N] [--mnist-epochs N] [--threads N] [--data DIR] [--no-build]
#
# --threads N (default 1): OMP_NUM_THREADS and OPENBLAS_NUM_THREADS for both systems, so each
# gets the same cores (one by default: on a machine shared with other work, threads that
# wait for each other at every barrier measure the other work, not ours).
# Builds the module and the command into ./build (as the README's first command does) unless
# --no-build. Runs under nice -n 10, as every benchmark here: run nothing else meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1 args=() threads=1
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    --quick) args+=(--quick) ;;
    --rounds|--data|--mnist-epochs) args+=("$1" "$2"); shift ;;
    --threads) threads="$2"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "python.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((build)); then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)" --target backprop _backprop >/dev/null
fi
mkdir -p bench/results
# Debian's python3 (python3-numpy, python3-sklearn), not another one first on PATH.
OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads PYTHONPATH=build/python nice -n 10 /usr/bin/python3 bench/python.py --cli build/apps/backprop \
  --out bench/results/python.md "${args[@]}"

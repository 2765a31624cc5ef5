#!/bin/bash
# The seed epoch against its FLOP bounds, and evaluate() of the 10,000 test images (issue 15
# item 5), from one run of bench/micro with its benchmarks interleaved at random:
#   the seed's step (784-256-10 sigmoid, batch 64) -> the epoch (60,000 images) in seconds;
#   the work it has to do: dense 2 (2 784 H + 3 H 10) flops a sample, sparse 2 (2 nnz H + 3 H 10)
#     with nnz the mean nonzero pixels of a training image (the zero pixels add nothing);
#   the sgemm rate of the same run (Eigen's 2048^3 float product, handed to OpenBLAS);
#   bound = work / rate, and the epoch's ratio to each bound (target: at most 2x the sparse one);
#   evaluate() in ms for the seed's network and for 784-256-10 ReLU (target: at most 10 ms).
#
#   bench/seed_bound.sh [--repetitions 5] [--threads 2]
#
# Needs build/bench/micro (cmake -DBACKPROP_BUILD_BENCH=ON, target micro). Medians over the
# repetitions; every figure of one line comes from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
repetitions=5 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --repetitions) repetitions=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "seed_bound.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
micro=build/bench/micro
[ -x "$micro" ] || { echo "seed_bound.sh: build $micro first (-DBACKPROP_BUILD_BENCH=ON, target micro)" >&2; exit 1; }
out=bench/results/seed_bound; mkdir -p "$out"
echo "seed_bound: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg), $threads threads"
nice -n 10 "$micro" --threads="$threads" --benchmark_filter='^BM_Step/B:64/H:256/|^BM_EigenGemm/2048|^BM_Evaluate/' \
  --benchmark_repetitions="$repetitions" --benchmark_enable_random_interleaving=true \
  --benchmark_min_time=0.5 --benchmark_format=json --benchmark_out="$out/raw.json" > /dev/null
python3 - "$out/raw.json" <<'PY' | tee "$out/latest.md"
import json, statistics, sys
runs = [b for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("run_type") == "iteration"]
def median(prefix, key):
    return statistics.median(b[key] for b in runs if b["name"].startswith(prefix))
H, images = 256, 60000
samples_per_s = median("BM_Step/B:64/H:256", "items_per_second")
nnz = median("BM_Step/B:64/H:256", "nnz")
rate = median("BM_EigenGemm/2048", "GFLOP/s")
epoch = images / samples_per_s
dense = images * 2 * (2 * 784 * H + 3 * H * 10) / 1e9
sparse = images * 2 * (2 * nnz * H + 3 * H * 10) / 1e9
print(f"| figure | value |\n|---|--:|")
print(f"| seed epoch (60,000 images, batch 64), s | {epoch:.3f} |")
print(f"| sgemm rate, same run (2048^3), GFLOP/s | {rate:.1f} |")
print(f"| dense work, GFLOP an epoch / bound s / epoch : bound | {dense:.2f} / {dense / rate:.3f} / {epoch / (dense / rate):.2f}x |")
print(f"| sparse work (mean {nnz:.1f} nonzero pixels), GFLOP / bound s / epoch : bound | {sparse:.2f} / {sparse / rate:.3f} / **{epoch / (sparse / rate):.2f}x** |")
for arg, label in (("0", "seed, sigmoid"), ("1", "784-256-10 ReLU")):
    ms = median(f"BM_Evaluate/{arg}/", "real_time")
    print(f"| evaluate() of 10,000 test images, {label}, ms | **{ms:.2f}** |")
PY

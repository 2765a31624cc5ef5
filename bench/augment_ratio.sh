#!/usr/bin/env bash
# How much an augmented epoch costs against an unaugmented one with the same network (issue 7:
# at most 1.5x), for several splits of the 2 cores between the GEMM threads (--threads) and the
# augmentation workers (--augment-threads). Separate from bench/run.sh; same build rules.
#
#   bench/augment_ratio.sh [--epochs N] [--splits "T:W ..."] [--preset NAME] [--train-limit N]
#                          [--data DIR] [--binary PATH] [--out FILE]
#
#   --epochs N       timed epochs per run (default 2); the ratio uses each run's median epoch
#   --splits LIST    GEMM threads : augmentation workers (default "1:1 2:1 2:2")
#   --preset NAME    the network, optimizer and augmentation (default best); the unaugmented run
#                    is the same command with every augmentation strength set to 0
#   --train-limit N  train on the first N images only (default: all 60,000)
#   --binary PATH    the backprop to time (default build/apps/backprop, built if missing)
#   --out FILE       also write the table there (Markdown)
#
# Seconds are the --metrics JSONL's train_seconds (the training loop only, not evaluation).
# Timings on a loaded machine are inflated, and two GEMM threads suffer most: the script prints
# the load average before and after.
set -euo pipefail
cd "$(dirname "$0")/.."

epochs=2 splits="1:1 2:1 2:2" preset=best limit=0 binary=build/apps/backprop out=""
data="${BACKPROP_DATA:-data/mnist}"
while (($#)); do
  case "$1" in
    --epochs) epochs="$2"; shift ;;
    --splits) splits="$2"; shift ;;
    --preset) preset="$2"; shift ;;
    --train-limit) limit="$2"; shift ;;
    --data) data="$2"; shift ;;
    --binary) binary="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "augment_ratio.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ ! -x "$binary" ]]; then
  cmake -S . -B build >/dev/null && cmake --build build -j2 --target backprop >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

no_augment=(--augment-shift 0 --augment-rotate 0 --augment-scale 0 --augment-shear 0 --elastic-alpha 0)
limit_flag=()
if ((limit > 0)); then limit_flag=(--train-limit "$limit"); fi

# Median of the train_seconds in a metrics file.
median() {
  /usr/bin/python3 -c '
import json, statistics, sys
print("%.2f" % statistics.median(json.loads(l)["train_seconds"] for l in open(sys.argv[1]) if l.strip()))' "$1"
}

load_before=$(cut -d" " -f1-3 /proc/loadavg)
table="| GEMM threads | augmentation workers | unaugmented s/epoch | augmented s/epoch | ratio |
|---|---|---|---|---|"
for split in $splits; do
  threads=${split%%:*} workers=${split##*:}
  common=(train --preset "$preset" --epochs "$epochs" --threads "$threads" --augment-threads "$workers"
          --data "$data" --no-fetch --quiet "${limit_flag[@]}")
  "$binary" "${common[@]}" "${no_augment[@]}" --metrics "$work/plain_$split.jsonl" >"$work/plain_$split.log"
  "$binary" "${common[@]}" --metrics "$work/augmented_$split.jsonl" >"$work/augmented_$split.log"
  plain=$(median "$work/plain_$split.jsonl")
  augmented=$(median "$work/augmented_$split.jsonl")
  ratio=$(/usr/bin/python3 -c "print('%.2f' % ($augmented / $plain))")
  table+=$'\n'"| $threads | $workers | $plain | $augmented | $ratio |"
  echo "split $threads:$workers  unaugmented $plain s  augmented $augmented s  ratio $ratio" >&2
done
load_after=$(cut -d" " -f1-3 /proc/loadavg)
report="# Augmented / unaugmented epoch time, --preset $preset

\`bench/augment_ratio.sh --epochs $epochs --splits \"$splits\"\` on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ),
load average $load_before before, $load_after after. Median of $epochs epochs each.

$table"
echo "$report"
if [[ -n "$out" ]]; then echo "$report" >"$out"; fi

#!/usr/bin/env bash
# How fast `backprop train` reads a large CSV, and how much memory it holds doing it
# (issue 12: 1,000,000 rows x 50 numeric columns at >= 100 MB/s, peak <= 1.5x the float32
# size of the numbers, i.e. 300 MB for 200 MB of numbers).
#
#   bench/csv_load.sh [ROWS] [ROUNDS]        defaults: 1000000 rows, 3 rounds
#
# The file (49 float features with 6 significant digits, an integer label 0..9) is generated
# once under build/bench-data/. Each round runs `backprop train --epochs 0 --test-split 0` under
# /usr/bin/time: the read time is what the command prints ("read in S s"), the peak memory is
# the process's maximum resident set size (everything it holds: libraries, the dataset, the
# reader's buffers). Run it on a quiet machine, under nice like every benchmark here.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
rounds=${2:-3}
cli=build/apps/backprop
[[ -x $cli ]] || { echo "csv_load: build $cli first" >&2; exit 1; }
mkdir -p build/bench-data
file=build/bench-data/table-${rows}x50.csv
if [[ ! -f $file ]]; then
  # 10,000 random lines repeated: the parser does the same work on every row.
  /usr/bin/python3 - "$file" "$rows" <<'PY'
import random, sys
path, rows = sys.argv[1], int(sys.argv[2])
rng = random.Random(12)
block = "".join(",".join("%.6g" % rng.gauss(0, 100) for _ in range(49)) + ",%d\n" % rng.randrange(10)
                for _ in range(min(rows, 10000)))
with open(path, "w") as f:
    f.write(",".join("f%d" % i for i in range(49)) + ",label\n")
    for _ in range(rows // 10000):
        f.write(block)
    f.write("".join(block.splitlines(True)[: rows % 10000]))
PY
fi
bytes=$(stat -c %s "$file")
numbers_mb=$(awk -v r="$rows" 'BEGIN { printf "%.1f", r * 50 * 4 / 1e6 }')
echo "file $file: $rows rows x 50 columns, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB of text, $numbers_mb MB as float32"
for ((r = 1; r <= rounds; ++r)); do
  out=$(nice -n 10 /usr/bin/time -v "$cli" train --data "$file" --epochs 0 --test-split 0 --hidden 1 --quiet --threads 1 2>&1)
  seconds=$(grep -o 'read in [0-9.]* s' <<<"$out" | grep -o '[0-9.]*' | head -1)
  peak_kb=$(grep 'Maximum resident set size' <<<"$out" | grep -o '[0-9]*$')
  awk -v b="$bytes" -v s="$seconds" -v k="$peak_kb" -v n="$numbers_mb" -v r="$r" 'BEGIN {
    printf "round %d: read in %.2f s = %.0f MB/s; peak RSS %.1f MB = %.2fx the float32 numbers\n", r, s, b / 1e6 / s, k * 1024 / 1e6, k * 1024 / 1e6 / n }'
done

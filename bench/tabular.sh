#!/usr/bin/env bash
# backprop against scikit-learn's MLPClassifier / MLPRegressor on the tables Debian's
# python3-sklearn ships, and on MNIST (issue 12, item 6; bench/README.md, "Tabular data").
#
#   bench/tabular.sh [--quick] [--rounds N] [--only LIST] [--data DIR] [--no-build]
#
#   --quick      one round, MNIST 1 epoch: a smoke test of the harness
#   --rounds N   rounds (default 3): every system runs every table once per round, in turn, with
#                the round number as both systems' seed, so a slow spell of the machine falls on
#                both alike; accuracies are means over rounds, times medians
#   --only LIST  a subset of breast_cancer,wine,digits,diabetes,mnist
#   --data DIR   MNIST directory (default $BACKPROP_DATA, then data/mnist)
#   --no-build   use build-bench/ as it is
#
# Both systems get the same network, optimizer, batch and epochs: H = 100 ReLU hidden units
# (scikit-learn's default), Adam lr 1e-3, batch min(200, rows), 200 epochs (its default
# max_iter, with its early stop on a loss plateau off), L2 alpha 1e-4 (ours: --weight-decay
# alpha / batch, the same gradient), inputs standardised with the training mean and deviation
# (ours: --scale auto; scikit-learn: a StandardScaler in front), for diabetes the target too.
# No --metrics: that file is rewritten and synced to disk every epoch (atomic_file), 200
# fsyncs that cost more than the training; the scores come from the final summary lines.
# Times are whole processes (start, load the CSV, train, evaluate), what a user waits for.
# Both score the test set once, after training (ours: --eval-every EPOCHS; scikit-learn's
# fit scores nothing per epoch).
# Tables run one thread on both sides (products of 200 x 100 gain nothing from a second one,
# and on a loaded machine every parallel region's barrier waits for a descheduled thread);
# MNIST runs both at their defaults (all cores).
# Raw outputs go to bench/results/tabular/; the table to bench/results/tabular.md.
set -euo pipefail
cd "$(dirname "$0")/.."

command="bench/tabular.sh${*:+ $*}"
quick=0 rounds="" build=1 only="breast_cancer,wine,digits,diabetes,mnist"
mnist="${BACKPROP_DATA:-data/mnist}"
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds="$2"; shift ;;
    --only) only="$2"; shift ;;
    --data) mnist="$2"; shift ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "tabular.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$rounds" ]]; then rounds=$((quick ? 1 : 3)); fi
wanted() { [[ ",$only," == *",$1,"* ]]; }
python=/usr/bin/python3  # Debian's, with python3-sklearn
build_dir=build-bench
out=bench/results/tabular
raw=$out/raw
helper=bench/tabular.py

if ! "$python" -c "import sklearn" 2>/dev/null; then
  echo "tabular.sh: needs Debian's python3-sklearn (apt-get install python3-sklearn)" >&2
  exit 1
fi
if ((build)); then
  echo "== building backprop into $build_dir/"
  mkdir -p "$build_dir"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DBACKPROP_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build_dir" -j"$(nproc)" --target backprop >"$build_dir/tabular-build.log" 2>&1 ||
    { tail -20 "$build_dir/tabular-build.log" >&2; exit 1; }
fi
backprop="$build_dir/apps/backprop"
[[ -x "$backprop" ]] || { echo "tabular.sh: $backprop was not built" >&2; exit 1; }

rm -rf "$raw" && mkdir -p "$raw"
# The split is written once (seed 0); every round trains on the same files.
"$python" "$helper" prepare "$out/csv" --seed 0 >"$raw/prepare.out"
cat "$raw/prepare.out"

# measure RUN CMD...: the whole process's wall time (ns clock) in RUN.wall, its exit status in
# RUN.status, GNU time's report (peak RSS) in RUN.time, stdout and stderr beside them.
measure() {
  local run="$1"; shift
  local status=0 t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$raw/$run.time" "$@" >"$raw/$run.out" 2>"$raw/$run.err" || status=$?
  t1=$(date +%s%N)
  echo "$status" >"$raw/$run.status"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }' >"$raw/$run.wall"
  if ((status)); then
    echo "tabular.sh: $run failed; see $raw/$run.err" >&2
    tail -3 "$raw/$run.err" >&2
  else
    echo "== $run $(cat "$raw/$run.wall") s"
  fi
}

alpha=0.0001
hidden=100 epochs=200
mnist_epochs=$((quick ? 1 : 3))
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "command=$command"
  echo "rounds=$rounds"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cores=$(nproc)"
  echo "git=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src include apps 2>/dev/null || echo '+uncommitted')"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "sklearn=$("$python" -c 'import sklearn; print(sklearn.__version__)')"
  echo "numpy=$("$python" -c 'import numpy; print(numpy.__version__)')"
} >"$raw/machine.txt"

tables=()
for name in breast_cancer wine digits diabetes; do wanted "$name" && tables+=("$name"); done
for ((round = 1; round <= rounds; round++)); do
  for name in "${tables[@]}"; do
    train="$out/csv/$name-train.csv" test="$out/csv/$name-test.csv"
    rows=$(($(wc -l <"$train") - 1))
    batch=$((rows < 200 ? rows : 200))
    wd=$(awk -v a="$alpha" -v b="$batch" 'BEGIN { printf "%.10g", a / b }')
    if [[ $name == diabetes ]]; then task=regression label=y; else task=classification label=label; fi
    echo "$((rows)) rows, ${hidden} ReLU, Adam lr 1e-3, batch $batch, $epochs epochs" >"$raw/$name.config"
    r=".r$round"
    measure "ours-$name$r" "$backprop" train --data "$train" --test "$test" --task "$task" --label "$label" \
      --hidden "$hidden" --activation relu --init-scheme xavier-uniform --optimizer adam --lr 0.001 \
      --batch "$batch" --epochs "$epochs" --eval-every "$epochs" --weight-decay "$wd" --seed "$round" --threads 1 --quiet
    measure "sklearn-$name$r" env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$python" "$helper" sklearn "$train" "$test" --task "$task" \
      --hidden "$hidden" --epochs "$epochs" --batch "$batch" --lr 0.001 --alpha "$alpha" --seed "$round"
  done
  if wanted mnist; then
    if [[ ! -f "$mnist/train-images-idx3-ubyte" ]]; then
      echo "tabular.sh: MNIST not found in $mnist (plain IDX files; backprop fetch-mnist --dir $mnist, then gunzip)" >&2
      exit 1
    fi
    wd=$(awk -v a="$alpha" 'BEGIN { printf "%.10g", a / 64 }')
    echo "60000 images, 784-256-10 ReLU, Adam lr 1e-3, batch 64, $mnist_epochs epochs" >"$raw/mnist.config"
    r=".r$round"
    measure "ours-mnist$r" "$backprop" train --data "$mnist" --no-fetch --layers 784,256,10 --activation relu \
      --init-scheme xavier-uniform --optimizer adam --lr 0.001 --batch 64 --epochs "$mnist_epochs" --eval-every "$mnist_epochs" \
      --weight-decay "$wd" --seed "$round" --quiet
    measure "sklearn-mnist$r" "$python" "$helper" sklearn-mnist "$mnist" --hidden 256 --epochs "$mnist_epochs" \
      --batch 64 --lr 0.001 --alpha "$alpha" --seed "$round"
  fi
done
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw/machine.txt"
"$python" "$helper" report "$raw" "$out.md"

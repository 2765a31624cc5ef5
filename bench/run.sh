#!/usr/bin/env bash
# The benchmark harness, in one command (bench/README.md says what it measures and how):
# installs what is missing, builds into build-bench/, times the seed configuration for this
# project, the blog's NumPy code, PyTorch and libtorch, runs the GEMM peak and the
# microbenchmarks, then prints the table and writes it to bench/results/latest.md.
#
#   bench/run.sh [--quick] [--epochs N] [--rounds N] [--threads 1,2] [--only LIST] [--data DIR]
#                [--no-install] [--no-build]
#
#   --quick       smoke test: 2 epochs, one round, a 2-epoch end-to-end run, short microbenchmarks
#   --epochs N    timed epochs per system and round (default 3)
#   --rounds N    rounds (default 3): every system runs once per round, in turn, so a slow spell
#                 of the machine falls on all of them rather than on one
#   --threads L   thread counts to run every system at (default 1,2)
#   --only LIST   run only these, comma-separated: gemm,ours,e2e,numpy,pytorch,libtorch,micro
#   --data DIR    MNIST directory (default $BACKPROP_DATA, then data/mnist)
#   --no-install  do not call apt-get; fail if something is missing
#   --no-build    use build-bench/ as it is
#
# Raw outputs (stdout, stderr, /usr/bin/time -v of every process) go to bench/results/raw/.
set -euo pipefail
cd "$(dirname "$0")/.."

command="bench/run.sh${*:+ $*}"
quick=0 epochs="" rounds="" install=1 build=1 threads="1,2" only="gemm,ours,e2e,numpy,pytorch,libtorch,micro"
data="${BACKPROP_DATA:-data/mnist}"
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --epochs) epochs="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --data) data="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --only) only="$2"; shift ;;
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$epochs" ]]; then epochs=$((quick ? 2 : 3)); fi
if [[ -z "$rounds" ]]; then rounds=$((quick ? 1 : 3)); fi
e2e_epochs=$((quick ? 2 : 20))
IFS=, read -r -a threads_list <<<"$threads"
wanted() { [[ ",$only," == *",$1,"* ]]; }
build_dir=build-bench
raw=bench/results/raw
python=/usr/bin/python3  # Debian's, with python3-numpy and python3-torch (not a pyenv one)
openmp_blas=/usr/lib/x86_64-linux-gnu/openblas-openmp

# --- 1. Packages --------------------------------------------------------------------------
# The main build's (as scripts/setup.sh), then the harness's own.
packages=(cmake g++ make pkg-config libeigen3-dev zlib1g-dev libzip-dev libssl-dev libcli11-dev
  nlohmann-json3-dev libpng-dev libcpp-httplib-dev
  time python3 python3-numpy python3-torch libtorch-dev libbenchmark-dev libopenblas-dev
  libopenblas0-openmp)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if ((!install)); then echo "run.sh: missing packages: ${missing[*]}" >&2; exit 1; fi
  echo "== installing: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- 2. Build -----------------------------------------------------------------------------
if ((build)); then
  echo "== building into $build_dir/"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DBACKPROP_BUILD_BENCH=ON -DBACKPROP_BUILD_TESTS=OFF >/dev/null
  if ! cmake --build "$build_dir" -j"$(nproc)" --target backprop micro torch_seed gemm_peak >"$build_dir/bench-build.log" 2>&1; then
    grep -E "error|Error" "$build_dir/bench-build.log" | head -20 >&2
    echo "run.sh: the build failed; see $build_dir/bench-build.log" >&2
    exit 1
  fi
fi
backprop="$build_dir/apps/backprop"
for exe in "$backprop" "$build_dir/bench/micro" "$build_dir/bench/torch_seed" "$build_dir/bench/gemm_peak"; do
  [[ -x "$exe" ]] || { echo "run.sh: $exe was not built" >&2; exit 1; }
done
if [[ ! -f "$data/train-images-idx3-ubyte" && ! -f "$data/train-images-idx3-ubyte.gz" ]]; then
  echo "== fetching MNIST into $data"
  "$backprop" fetch-mnist --dir "$data"
fi
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  # NumPy's and torch's readers take the plain IDX files.
  [[ -f "$data/$f" ]] || { [[ -f "$data/$f.gz" ]] && gunzip -k "$data/$f.gz"; }
done

# --- 3. Runs ------------------------------------------------------------------------------
rm -rf "$raw" && mkdir -p "$raw"
# measure NAME CMD...: runs CMD under GNU time -v; stdout, stderr and the time report in $raw.
# How busy the CPUs are over 3 s while this script sleeps, in % of all cores: other work that
# would disturb the timings. (The load average would also count the build that just ran.)
cpu_busy_percent() {
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
  sleep 3
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
  echo "$a $b" | awk '{d = $4 - $2; printf "%.0f", (d > 0 ? 100 * ($3 - $1) / d : 0)}'
}

# The machine's steal time (ticks of 1/100 s, all CPUs) over the run goes to $raw/NAME.steal: on a
# virtual machine, time the host gave our CPUs to someone else, which no quiet guest shows.
steal_ticks() { awk '/^cpu /{print $9}' /proc/stat; }
measure() {
  local name="$1"; shift
  echo "== $name"
  local steal_before; steal_before=$(steal_ticks)
  local status=0
  /usr/bin/time -v -o "$raw/$name.time" "$@" >"$raw/$name.out" 2>"$raw/$name.err" || status=$?
  echo $(($(steal_ticks) - steal_before)) >"$raw/$name.steal"
  if ((status)); then
    echo "run.sh: $name failed; see $raw/$name.err" >&2
    tail -5 "$raw/$name.err" >&2
    return 0  # the report marks it missing; the other systems still run
  fi
}

# One thread pool per process. Our trainer: OpenMP (+ Eigen on it), sized by --threads.
# NumPy: its OpenBLAS (pthreads) is its only pool; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when
# set, slow it, so they are dropped for its runs only. Torch: its OpenMP pool, and its
# products in the OpenMP build of OpenBLAS (libopenblas0-openmp), which runs on that same
# pool; Debian's default OpenBLAS (pthreads) would add a second spinning pool.
torch_env() {
  local t="$1"
  echo env OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" LD_LIBRARY_PATH="$openmp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "quick=$quick"
  echo "epochs=$epochs"
  echo "rounds=$rounds"
  echo "e2e_epochs=$e2e_epochs"
  echo "command=$command"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cores=$(nproc)"
  echo "isa=$(grep -o -w -E 'avx2|fma|avx512f|avx512bw|avx512dq|avx512vl' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "memory=$(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "kernel=$(uname -r)"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "compiler=$(c++ --version | head -1)"
  echo "git=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src include apps 2>/dev/null || echo '+uncommitted')"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "busy_before=$(cpu_busy_percent)"
  echo "numpy=$($python -c 'import numpy; print(numpy.__version__)')"
  echo "numpy_blas=$("$python" - <<'PY' 2>/dev/null || echo unknown
import ctypes, numpy
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l and ".so" in l})
config = ""
for lib in libs:
    try:
        get = ctypes.CDLL(lib).openblas_get_config
        get.restype = ctypes.c_char_p
        config = get().decode()
        break
    except (OSError, AttributeError):
        pass
print(" ".join(libs), "|", config or "not OpenBLAS")
PY
)"
  echo "torch=$($python -c 'import torch; print(torch.__version__)')"
  echo "openblas_coretype=${OPENBLAS_CORETYPE:-}"
} >"$raw/machine.txt"

if wanted gemm; then
  if ((quick)); then gemm_flags=(--sizes 2048 --repeats 3); else gemm_flags=(--sizes 2048,4096 --repeats 5); fi
  measure gemm_peak "$build_dir/bench/gemm_peak" --threads "$threads" "${gemm_flags[@]}"
fi

# The end-to-end run as a user types it (all cores), with --out: start, load, epochs, evaluations, save.
wanted e2e && measure e2e "$backprop" train --preset seed --epochs "$e2e_epochs" --data "$data" --no-fetch \
  --out "$raw/seed.model" --metrics "$raw/e2e.jsonl"

# Every system once per round, in turn (run NAME.rK): a spell in which the machine runs slow
# (on this virtual machine it comes and goes for minutes, with or without steal time) then
# falls on every system alike, and the report takes medians over all rounds' epochs.
for ((round = 1; round <= rounds; round++)); do
  r=".r$round"
  # Ours twice: as it runs by default (the first layer skips the zero pixels), and with the dense
  # products everywhere (--no-sparse-input), the figure to hold against the FLOP bound.
  wanted ours && for t in "${threads_list[@]}"; do
    measure "ours_t$t$r" "$backprop" train --preset seed --epochs "$epochs" --threads "$t" --quiet \
      --data "$data" --no-fetch --metrics "$raw/ours_t$t$r.jsonl"
    measure "ours_dense_t$t$r" "$backprop" train --preset seed --epochs "$epochs" --threads "$t" --quiet \
      --data "$data" --no-fetch --no-sparse-input --metrics "$raw/ours_dense_t$t$r.jsonl"
  done

  wanted numpy && for t in "${threads_list[@]}"; do
    measure "numpy_t$t$r" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS=1 \
      "$python" tests/oracle_seed.py --data "$data" --epochs "$epochs" --no-eval
  done

  wanted pytorch && for variant in idiomatic tuned manual; do
    for t in "${threads_list[@]}"; do
      measure "pytorch_${variant}_t$t$r" $(torch_env "$t") "$python" bench/torch_seed.py --data "$data" \
        --variant "$variant" --epochs "$epochs" --threads "$t"
    done
  done

  wanted libtorch && for mode in autograd manual; do
    for t in "${threads_list[@]}"; do
      measure "libtorch_${mode}_t$t$r" $(torch_env "$t") "$build_dir/bench/torch_seed" --data "$data" \
        --mode "$mode" --epochs "$epochs" --threads "$t"
    done
  done

  if ((quick)); then micro_flags=(--benchmark_min_time=0.05 --benchmark_repetitions=1)
  else micro_flags=(--benchmark_min_time=0.5 --benchmark_repetitions=3); fi
  wanted micro && for t in "${threads_list[@]}"; do
    measure "micro_t$t$r" "$build_dir/bench/micro" --data="$data" --threads="$t" "${micro_flags[@]}" \
      --benchmark_out="$raw/micro_t$t$r.json" --benchmark_out_format=json
  done
done

echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw/machine.txt"

# --- 4. Report ----------------------------------------------------------------------------
"$python" bench/report.py "$raw" bench/results/latest.md

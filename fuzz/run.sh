#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined, in ./build-fuzz)
# and runs them, each for SECONDS, at most JOBS at a time. Seeds come from fuzz/corpus/<t>/
# (read only); what the fuzzer learns goes to build-fuzz/corpus/<t>/, crashes, leaks and
# timeouts to build-fuzz/artifacts/<t>/, logs to build-fuzz/logs/<t>.log.
#
#   fuzz/run.sh [SECONDS] [JOBS] [TARGET...]      defaults: 600 s, 2 jobs, every target
#   fuzz/run.sh --build-only
#
# A crash found is fixed, then its input is copied to fuzz/corpus/<t>/ (named crash-...),
# where tests/test_fuzz_corpus.cpp replays it with every seed in the normal test suite.
# Needs clang and its runtime (Debian: clang libclang-rt-14-dev libomp-14-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
all_targets=(idx idx_gz model npz png csv predict csv_data npz_data run_config)

build_only=0
if [[ "${1:-}" == "--build-only" ]]; then build_only=1; shift; fi
seconds=${1:-600}
jobs=${2:-2}
shift $(( $# < 2 ? $# : 2 ))
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DBACKPROP_BUILD_FUZZ=ON -DBACKPROP_BUILD_TESTS=OFF -DBACKPROP_ONNX=OFF -DBACKPROP_NATIVE=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
((build_only)) && exit 0

mkdir -p build-fuzz/logs
run_one() {  # target seconds
  local t=$1 s=$2
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  # -rss_limit_mb: a lying size must be refused, not allocated; -timeout: no input may hang.
  build-fuzz/fuzz/fuzz_"$t" "build-fuzz/corpus/$t" "fuzz/corpus/$t" -max_total_time="$s" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
    >"build-fuzz/logs/$t.log" 2>&1
  local rc=$?
  local runs; runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/logs/$t.log" | grep -o '[0-9]*$' || echo '?')
  echo "$t: exit $rc, $s s, $runs runs, $(ls "build-fuzz/artifacts/$t" | wc -l) artifacts"
  return $rc
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c "run_one {} $seconds" || {
  echo "fuzz: a target found a problem; see build-fuzz/artifacts/ and build-fuzz/logs/" >&2
  exit 1
}

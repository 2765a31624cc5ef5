#!/usr/bin/env bash
# Installs a build into a temporary prefix and builds examples/consumer/ against it both ways a
# user would: through the CMake package (find_package(backprop 0.2 CONFIG)) and with a plain
# g++ line from pkg-config; each trains one epoch on MNIST and must pass 90%. Also checks that
# the installed headers name none of the libraries' private dependencies. .ci/run calls it.
#   scripts/test-install.sh [BUILD_DIR] [MNIST_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
data=$(realpath "${2:-data/mnist}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name backprop.pc)
libdir=$(dirname "$(dirname "$pc")")
echo "installed into $prefix; $(readelf -d "$libdir/libbackprop.so" | grep -o 'soname: .*')"

if grep -rEn '#include *[<"](httplib|onnx/|google/protobuf|zip\.h|png\.h|zlib\.h|openssl/)' "$prefix/include"; then
  echo "test-install: an installed header includes a private dependency" >&2
  exit 1
fi

echo "== consumer through the CMake package =="
cmake -S examples/consumer -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" -j"$(nproc)" >/dev/null
"$work/cmake/consumer" "$data"

echo "== consumer through pkg-config =="
export PKG_CONFIG_PATH=$libdir/pkgconfig
echo "pkg-config --cflags --libs backprop: $(pkg-config --cflags --libs backprop)"
# shellcheck disable=SC2046  # pkg-config's flags are meant to be split
g++ -std=c++17 -O2 examples/consumer/main.cpp -o "$work/consumer-pc" $(pkg-config --cflags --libs backprop) \
  -Wl,-rpath,"$libdir"
"$work/consumer-pc" "$data"

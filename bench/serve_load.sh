#!/usr/bin/env bash
# `backprop serve` under load: wrk against POST /api/predict on 127.0.0.1, 64 connections for
# 30 s (after a 5 s warm-up), with a JSON body of 784 pixels. Reports requests per second,
# p50/p99 latency, errors (non-2xx answers, socket errors and timeouts) and the server's
# resident memory after the warm-up and after the run. Fails (exit 1) on any error or on a
# memory change beyond +-10%. Loopback only: the server binds 127.0.0.1.
#
#   bench/serve_load.sh [--model FILE] [--connections 64] [--seconds 30] [--threads 2] [--backprop BIN]
#
# Without --model it trains a small one first (784-128-10, 1 epoch on 10,000 images). Needs
# wrk (Debian package wrk) and curl. Figures of a run are in docs/robustness.md.
set -euo pipefail
cd "$(dirname "$0")/.."

model="" connections=64 seconds=30 threads=2 backprop=build/backprop data="${BACKPROP_DATA:-data/mnist}"
while (($#)); do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --backprop) backprop=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "serve_load: wrk not found (apt-get install wrk)" >&2; exit 2; }
[[ -x "$backprop" ]] || { echo "serve_load: $backprop not built (scripts/setup.sh)" >&2; exit 2; }

work=$(mktemp -d)
server=""
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "$model" ]]; then
  model=$work/load.model
  "$backprop" train --hidden 128 --epochs 1 --train-limit 10000 --data "$data" --quiet --out "$model" >/dev/null
fi

# The body: a vertical stroke, as the draw page would send it.
cat >"$work/post.lua" <<'LUA'
local pixels = {}
for i = 0, 783 do pixels[#pixels + 1] = (i % 28 == 14 and i > 112 and i < 672) and "1" or "0" end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"pixels": [' .. table.concat(pixels, ",") .. ']}'
LUA

"$backprop" serve --model "$model" --data "$work" --host 127.0.0.1 --port 0 --no-log >"$work/serve.out" 2>&1 &
server=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o '127\.0\.0\.1:[0-9]*' "$work/serve.out" | head -1 | cut -d: -f2 || true)
  [[ -n "$port" ]] && curl -sf "http://127.0.0.1:$port/api/model" >/dev/null && break
  sleep 0.1
done
[[ -n "$port" ]] || { echo "serve_load: the server did not start:" >&2; cat "$work/serve.out" >&2; exit 1; }
url="http://127.0.0.1:$port/api/predict"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }

wrk -t"$threads" -c"$connections" -d5s -s "$work/post.lua" "$url" >/dev/null
rss_before=$(rss)
wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "$url" | tee "$work/wrk.out"
sleep 1
rss_after=$(rss)
kill -0 "$server" || { echo "serve_load: the server died" >&2; exit 1; }

python3 - "$work/wrk.out" "$rss_before" "$rss_after" "$connections" "$seconds" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
before, after, connections, seconds = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\b" % label, text, re.M)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
requests = int(re.search(r"(\d+) requests in", text).group(1))
rate = float(re.search(r"Requests/sec:\s*([\d.]+)", text).group(1))
non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", text) or [0, 0])[1])
socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
socket_errors = sum(map(int, socket.groups())) if socket else 0
change = 100.0 * (after - before) / before
print()
print("| connections | seconds | requests | requests/s | p50 ms | p99 ms | errors | RSS before | RSS after | change |")
print("|---|---|---|---|---|---|---|---|---|---|")
print("| %s | %s | %d | %.0f | %.2f | %.2f | %d | %.1f MiB | %.1f MiB | %+.1f%% |" % (
    connections, seconds, requests, rate, ms("50%"), ms("99%"), non2xx + socket_errors,
    before / 1024, after / 1024, change))
ok = non2xx == 0 and socket_errors == 0 and abs(change) <= 10
print("serve_load: %s" % ("ok" if ok else "FAILED (errors, or memory changed by more than 10%)"))
sys.exit(0 if ok else 1)
PY

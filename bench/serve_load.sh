#!/usr/bin/env bash
# `backprop serve` under load: wrk against POST /api/predict on 127.0.0.1, 64 connections for
# 30 s (after a 5 s warm-up), with a JSON body of 784 pixels. Reports requests per second,
# p50/p99 latency, errors (non-2xx answers, socket errors and timeouts) and the server's
# resident memory after the warm-up and after the run. Fails (exit 1) on any error or on a
# memory change beyond +-10%. Loopback only: the server binds 127.0.0.1.
#
#   bench/serve_load.sh [--model FILE] [--connections 64] [--seconds 30] [--threads 2]
#                       [--close] [--get PATH] [--serve-args "--workers 1"] [--idle 1000] [--backprop BIN]
#
# --close sends `Connection: close` (a fresh connection per request); --get PATH loads a GET
# route instead of the predict POST; --serve-args passes flags to `serve`; --idle N then also
# times new clients while N connections sit idle (bench/serve_idle.py). The server and wrk
# run at the same niceness ($NICE, default 10: the machine is shared), and the table records
# how busy the CPUs were over 3 s before the run and the load average after it.
#
# Without --model it trains a small one first (784-128-10, 1 epoch on 10,000 images). Needs
# wrk (Debian package wrk) and curl. Figures of runs are in docs/web.md.
set -euo pipefail
cd "$(dirname "$0")/.."

model="" connections=64 seconds=30 threads=2 backprop=build/apps/backprop data="${BACKPROP_DATA:-data/mnist}"
close="" get="" serve_args="" idle="" nice_level="${NICE:-10}"
while (($#)); do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --close) close=1; shift ;;
    --get) get=$2; shift 2 ;;
    --serve-args) serve_args=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --backprop) backprop=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "serve_load: wrk not found (apt-get install wrk)" >&2; exit 2; }
[[ -x "$backprop" ]] || { echo "serve_load: $backprop not built (scripts/setup.sh)" >&2; exit 2; }
((threads <= connections)) || threads=$connections

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
[[ -n "$get" ]] && : >"$work/post.lua"
[[ -n "$close" ]] && echo 'wrk.headers["Connection"] = "close"' >>"$work/post.lua"

# shellcheck disable=SC2086
nice -n "$nice_level" "$backprop" serve --model "$model" --data "$work" --host 127.0.0.1 --port 0 --no-log \
  $serve_args >"$work/serve.out" 2>&1 &
server=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o '127\.0\.0\.1:[0-9]*' "$work/serve.out" | head -1 | cut -d: -f2 || true)
  [[ -n "$port" ]] && curl -sf "http://127.0.0.1:$port/api/model" >/dev/null && break
  sleep 0.1
done
[[ -n "$port" ]] || { echo "serve_load: the server did not start:" >&2; cat "$work/serve.out" >&2; exit 1; }
url="http://127.0.0.1:$port${get:-/api/predict}"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
# How busy the CPUs are over 3 s, in % of all cores (other engineers' work on a shared machine).
busy() {
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
  sleep 3
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
  echo "$a $b" | awk '{d = $4 - $2; printf "%.0f", (d > 0 ? 100 * ($3 - $1) / d : 0)}'
}

nice -n "$nice_level" wrk -t"$threads" -c"$connections" -d5s -s "$work/post.lua" "$url" >/dev/null
busy_before=$(busy)
rss_before=$(rss)
nice -n "$nice_level" wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 2s --latency \
  -s "$work/post.lua" "$url" | tee "$work/wrk.out"
sleep 1
rss_after=$(rss)
load=$(cut -d' ' -f1 /proc/loadavg)
kill -0 "$server" || { echo "serve_load: the server died" >&2; exit 1; }
idle_ok=0
if [[ -n "$idle" ]]; then nice -n "$nice_level" python3 bench/serve_idle.py "$port" "$idle" || idle_ok=1; fi

python3 - "$work/wrk.out" "$rss_before" "$rss_after" "$connections" "$seconds" "$busy_before" "$load" \
  "${close:+close}" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
before, after, connections, seconds = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
busy, load, mode = sys.argv[6], sys.argv[7], sys.argv[8] or "keep-alive"
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
print("| connections | mode | seconds | requests | requests/s | p50 ms | p99 ms | errors | RSS before | RSS after | change | busy before | load after |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
print("| %s | %s | %s | %d | %.0f | %.2f | %.2f | %d | %.1f MiB | %.1f MiB | %+.1f%% | %s%% | %s |" % (
    connections, mode, seconds, requests, rate, ms("50%"), ms("99%"), non2xx + socket_errors,
    before / 1024, after / 1024, change, busy, load))
ok = non2xx == 0 and socket_errors == 0 and abs(change) <= 10
print("serve_load: %s" % ("ok" if ok else "FAILED (errors, or memory changed by more than 10%)"))
sys.exit(0 if ok else 1)
PY
exit "$idle_ok"

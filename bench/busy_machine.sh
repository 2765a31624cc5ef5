#!/usr/bin/env bash
# Training on a busy machine (issue 18, item 10): an epoch of the seed preset at 2 threads
# with and without a competing process (one busy core), under libgomp's default wait policy
# (threads spin 300,000 rounds at every barrier: GOMP_SPINCOUNT=300000 reproduces it) and the
# passive one backprop now chooses when the user sets neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT.
# Rounds interleave every configuration, so a slow spell of the machine falls on all of them;
# only the ratios within a round mean anything on a shared machine.
#
#   bench/busy_machine.sh [BACKPROP_BINARY] [DATA_DIR] [ROUNDS] [TRAIN_LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
backprop=${1:-build/apps/backprop}
data=${2:-${BACKPROP_DATA:-data/mnist}}
rounds=${3:-3}
limit=${4:-20000}

epoch_seconds() {  # env assignments...; prints the epoch's training seconds
  env "$@" "$backprop" train --preset seed --epochs 1 --train-limit "$limit" --threads 2 --quiet \
      --no-fetch --data "$data" 2>/dev/null | sed -n 's/^Epoch 0,.*, \([0-9.]*\) s$/\1/p'
}

spinner=""
start_competitor() { python3 -c 'while True: pass' & spinner=$!; sleep 0.5; }
stop_competitor() { kill "$spinner"; wait "$spinner" 2>/dev/null || true; spinner=""; }
trap '[ -n "$spinner" ] && kill "$spinner" 2>/dev/null' EXIT

configs=("spin:GOMP_SPINCOUNT=300000" "passive:OMP_WAIT_POLICY=passive" "short:GOMP_SPINCOUNT=10000")  # short: what backprop sets unless told
printf '%-6s %-8s %-8s %s\n' round policy machine "epoch s"
for ((r = 1; r <= rounds; ++r)); do
  for machine in idle busy; do
    [ "$machine" = busy ] && start_competitor
    for config in "${configs[@]}"; do
      name=${config%%:*}
      s=$(epoch_seconds "${config#*:}")
      printf '%-6s %-8s %-8s %s\n' "$r" "$name" "$machine" "$s"
      echo "$r $name $machine $s" >>"${TMPDIR:-/tmp}/busy_machine.$$"
    done
    [ "$machine" = busy ] && stop_competitor
  done
done
# Medians per configuration, and the ratios that matter: busy / idle for each policy, and
# passive / spin on each machine.
python3 - "${TMPDIR:-/tmp}/busy_machine.$$" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = {}
for name in ("spin", "passive", "short"):
    for machine in ("idle", "busy"):
        values = [float(r[3]) for r in rows if r[1] == name and r[2] == machine and len(r) > 3]
        med[name, machine] = statistics.median(values) if values else float("nan")
print()
for (name, machine), m in med.items():
    print(f"median {name:8s} {machine:5s} {m:7.3f} s")
for name in ("spin", "passive", "short"):
    print(f"{name}: busy / idle = {med[name, 'busy'] / med[name, 'idle']:.3f}")
for machine in ("idle", "busy"):
    print(f"{machine}: passive / spin = {med['passive', machine] / med['spin', machine]:.4f}, "
          f"short / spin = {med['short', machine] / med['spin', machine]:.4f}")
PY
rm -f "${TMPDIR:-/tmp}/busy_machine.$$"

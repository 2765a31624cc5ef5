#!/usr/bin/env python3
"""Data-parallel training and sweeps over MPI, through the command line (docs/distributed.md):

1. the same numbers: one float64 epoch (--grad-reduction mean) on 2 and 4 processes ends with
   the parameters of the 1-process default run (fused SGD, sparse first layer) to 1e-9
   relative, for SGD, momentum and Adam, and with dropout on a batch too small for every
   process to get an example; repeated runs on 2 processes are bit-identical; the first line
   and every --metrics record say how many processes trained;
2. faults: SIGKILL to one process of a checkpointing run ends the job within a bounded time,
   with an error naming the dead process, and leaves a checkpoint that --resume continues to
   the very parameters of the run left alone; SIGTERM to one process stops every one after the
   same step with a checkpoint that resumes to the same bits; a stopped (SIGSTOP) process,
   which mpirun cannot see, makes the others give up after BACKPROP_MPI_TIMEOUT seconds;
3. sweeps: every combination of a grid trained once, summary.csv and stdout sorted by
   validation accuracy, --resume skipping finished runs, over local processes and over MPI
   ranks, and `serve --runs DIR` listing the runs.
Skipped (77) when mpirun is missing or the binary was built without MPI (in CI, a failure:
scripts/setup.sh installs Open MPI).

  distributed_test.py BACKPROP_BINARY DATA_DIR WORK_DIR
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np

from skip_rule import skip

failures = []
TIMEOUT = 120  # seconds for any one command: a hang fails the test instead of the suite


def check(condition, what):
    print(("ok    " if condition else "FAIL  ") + what, flush=True)
    if not condition:
        failures.append(what)


def mpirun(n):
    flags = ["mpirun", "--oversubscribe", "-np", str(n)]
    if os.geteuid() == 0:
        flags.insert(1, "--allow-run-as-root")
    return flags


def run(args, timeout=TIMEOUT):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, "", "timed out after %d s" % timeout)


def params(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def identical(path_a, path_b):  # the arrays' bits (the .npz files' zip timestamps differ)
    a, b = params(path_a), params(path_b)
    return a.keys() == b.keys() and all(a[k].tobytes() == b[k].tobytes() for k in a)


def max_relative(a, b):
    return max(float(np.max(np.abs(a[k] - b[k])) / max(np.max(np.abs(a[k])), 1e-300)) for k in a)


def ranks_of(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
        return int(env.get(b"OMPI_COMM_WORLD_RANK", b"-1"))
    except OSError:
        return -1


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def same_numbers(backprop, small, w):
    configs = {
        "sgd": [],  # the default: fused update, sparse first layer
        "momentum": ["--optimizer", "momentum", "--momentum", "0.9"],
        "adam": ["--optimizer", "adam", "--lr", "0.01"],
        # 513 examples: the last batch has one, so one of 2 processes has none (and must
        # still draw its dropout masks)
        "adam-dropout": ["--optimizer", "adam", "--lr", "0.01", "--dropout", "0.3", "--train-limit", "513"],
    }
    for name, extra in configs.items():
        one = run([backprop, "train"] + small + extra + ["--save-npz", w(name + "-1.npz")])
        check(one.returncode == 0, name + ": 1 process: " + one.stderr.strip()[-300:])
        for n in (2, 4):
            if name == "adam-dropout" and n == 4:
                continue
            out = w("%s-%d.npz" % (name, n))
            r = run(mpirun(n) + [backprop, "train"] + small + extra + ["--save-npz", out, "--metrics", out + ".jsonl"])
            check(r.returncode == 0, "%s: %d processes: %s" % (name, n, r.stderr.strip()[-300:]))
            if r.returncode or one.returncode:
                continue
            rel = max_relative(params(w(name + "-1.npz")), params(out))
            check(rel <= 1e-9, "%s: %d processes end at the 1-process parameters (max relative difference %.2e)"
                  % (name, n, rel))
            first = r.stdout.splitlines()[0] if r.stdout else ""
            check(first.endswith(", %d ranks" % n), "%s: the first line says %d ranks: %s" % (name, n, first))
            records = [json.loads(line) for line in open(out + ".jsonl")]
            check(records and all(rec["ranks"] == n for rec in records), name + ': every record has "ranks": %d' % n)
    again = run(mpirun(2) + [backprop, "train"] + small + configs["adam"] + ["--save-npz", w("adam-2-again.npz")])
    check(again.returncode == 0 and identical(w("adam-2.npz"), w("adam-2-again.npz")),
          "adam: a second run on 2 processes is bit-identical")


def killed_rank(backprop, data, w):
    run_flags = ["--data", data, "--no-fetch", "--quiet", "--threads", "1", "--hidden", "16", "--train-limit", "640",
                 "--epochs", "20", "--optimizer", "momentum", "--momentum", "0.9", "--lr", "0.05"]
    ref = run(mpirun(2) + [backprop, "train"] + run_flags + ["--save-npz", w("ref.npz")])
    check(ref.returncode == 0, "the run left alone: " + ref.stderr.strip()[-300:])
    ckpt = w("killed.ckpt")
    job = subprocess.Popen(mpirun(2) + [backprop, "train"] + run_flags + ["--checkpoint", ckpt, "--save-npz", w("killed.npz")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not os.path.exists(ckpt) and job.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    victims = [p for p in children(job.pid) if ranks_of(p) == 1]
    check(len(victims) == 1 and job.poll() is None, "rank 1 found while the job runs, after its first checkpoint")
    if not victims or job.poll() is not None:
        job.kill()
        job.communicate()
        return
    killed_at = time.time()
    os.kill(victims[0], signal.SIGKILL)
    try:
        _, err = job.communicate(timeout=30)
        stopped = time.time() - killed_at
    except subprocess.TimeoutExpired:
        job.kill()
        _, err = job.communicate()
        stopped = None
    check(stopped is not None, "the job stops within 30 s of SIGKILL to rank 1 (took %s s)"
          % ("%.1f" % stopped if stopped is not None else "> 30"))
    check(job.returncode != 0, "the job exits non-zero (%d)" % job.returncode)
    check("signal 9" in err or "Killed" in err, "the error names the killed process: " + err.strip()[-300:])
    check(not os.path.exists(w("killed.npz")), "no model written by the killed job")
    resumed = run(mpirun(2) + [backprop, "train", "--resume", ckpt, "--quiet", "--data", data])
    check(resumed.returncode == 0 and "resuming" in resumed.stdout,
          "--resume continues from the last checkpoint: " + (resumed.stdout.splitlines()[2:3] or [resumed.stderr[-300:]])[0])
    if resumed.returncode == 0 and ref.returncode == 0:
        check(identical(w("ref.npz"), w("killed.npz")),
              "the resumed run ends at the bits of the run left alone")
    # SIGTERM to rank 1 alone: its stop request travels in the next sum, every rank stops after
    # the same step, rank 0 writes the (mid-epoch) checkpoint, and the resumed run ends at the
    # same bits as the run left alone.
    term = w("term.ckpt")
    job = subprocess.Popen(mpirun(2) + [backprop, "train"] + run_flags + ["--checkpoint", term, "--save-npz", w("term.npz")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not os.path.exists(term) and job.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    victims = [p for p in children(job.pid) if ranks_of(p) == 1]
    if victims and job.poll() is None:
        os.kill(victims[0], signal.SIGTERM)
    try:
        _, err = job.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        job.kill()
        _, err = job.communicate()
    check(bool(victims) and "interrupted by a signal to another rank" in err,
          "SIGTERM to rank 1: rank 0 writes the checkpoint and says so: " + err.strip()[:200])
    resumed = run(mpirun(2) + [backprop, "train", "--resume", term, "--quiet", "--data", data])
    check(resumed.returncode == 0 and ref.returncode == 0 and identical(w("ref.npz"), w("term.npz")),
          "the run resumed after SIGTERM ends at the bits of the run left alone: " + resumed.stderr.strip()[-200:])
    # SIGSTOP to rank 1: not dead, so mpirun sees nothing; rank 0's watchdog ends it after
    # BACKPROP_MPI_TIMEOUT seconds in the sum, and mpirun then ends the job.
    env = dict(os.environ, BACKPROP_MPI_TIMEOUT="3")
    stop_ckpt = w("stopped.ckpt")
    job = subprocess.Popen(mpirun(2) + ["-x", "BACKPROP_MPI_TIMEOUT", backprop, "train"] + run_flags +
                           ["--checkpoint", stop_ckpt], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 60
    while not os.path.exists(stop_ckpt) and job.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    victims = [p for p in children(job.pid) if ranks_of(p) == 1]
    stopped_at = time.time()
    if victims and job.poll() is None:
        os.kill(victims[0], signal.SIGSTOP)
    try:
        _, err = job.communicate(timeout=30)
        took = time.time() - stopped_at
    except subprocess.TimeoutExpired:
        for p in victims:
            os.kill(p, signal.SIGKILL)
        job.kill()
        _, err = job.communicate()
        took = None
    check(bool(victims) and took is not None and job.returncode != 0 and "no answer from the other ranks" in err,
          "a stopped rank 1: rank 0 gives up after BACKPROP_MPI_TIMEOUT=3 s and the job ends (%s s): %s"
          % ("%.1f" % took if took is not None else "> 30", err.strip()[:200]))
    wrong = run(mpirun(4) + [backprop, "train", "--resume", ckpt, "--quiet", "--data", data])
    check(wrong.returncode != 0 and "trained on 2 process(es), not 4" in wrong.stderr,
          "--resume on another process count is refused: " + wrong.stderr.strip().splitlines()[0] if wrong.stderr else "")


def sweep(backprop, data, w):
    flags = ["--data", data, "--no-fetch", "--epochs", "1", "--train-limit", "600", "--val-split", "200", "--threads", "1"]
    grid = ["--grid", "lr=0.05,0.5 hidden=8,16"]
    out = w("sweep")
    r = run([backprop, "sweep"] + grid + flags + ["--jobs", "2", "--out", out])
    check(r.returncode == 0, "sweep over 2 local processes: " + r.stderr.strip()[-300:])
    rows = list(csv.DictReader(open(os.path.join(out, "summary.csv")))) if r.returncode == 0 else []
    check(len(rows) == 4, "summary.csv has a row per combination (%d)" % len(rows))
    accuracies = [float(row["val_accuracy"]) for row in rows]
    check(accuracies == sorted(accuracies, reverse=True), "summary.csv is sorted by validation accuracy")
    names = [row["run"] for row in rows]
    for name in names:
        check(os.path.exists(os.path.join(out, name + ".model")) and os.path.exists(os.path.join(out, name + ".jsonl")),
              name + ": its own model and metrics")
    table = [line for line in r.stdout.splitlines() if line.split() and line.split()[0].isdigit()]
    check([line.split()[1] for line in table] == names, "stdout has the same table, a line a run")
    mtimes = {n: os.path.getmtime(os.path.join(out, n + ".model")) for n in names}
    again = run([backprop, "sweep"] + grid + flags + ["--jobs", "2", "--out", out, "--resume"])
    check(again.returncode == 0 and again.stdout.count("finished before") == 4 and
          all(os.path.getmtime(os.path.join(out, n + ".model")) == t for n, t in mtimes.items()),
          "--resume skips the 4 finished runs")
    refused = run([backprop, "sweep"] + grid + flags + ["--out", out])
    check(refused.returncode != 0 and "--resume" in refused.stderr, "a second sweep into the same folder is refused")
    mpi_out = w("sweep-mpi")
    m = run(mpirun(2) + [backprop, "sweep"] + grid + flags + ["--out", mpi_out])
    mpi_rows = list(csv.DictReader(open(os.path.join(mpi_out, "summary.csv")))) if m.returncode == 0 else []
    check(m.returncode == 0 and len(mpi_rows) == 4, "sweep over 2 MPI ranks: " + m.stderr.strip()[-300:])
    check({row["run"]: row["val_accuracy"] for row in mpi_rows} == {row["run"]: row["val_accuracy"] for row in rows},
          "the MPI sweep's runs reach the local sweep's validation accuracies")
    # serve --runs DIR: the sweep's runs (its best model served when --model is not given)
    server = subprocess.Popen([backprop, "serve", "--runs", out, "--port", "0", "--no-log", "--data", data],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0]) if "127.0.0.1:" in line else 0
        listed = []
        if port:
            with urllib.request.urlopen("http://127.0.0.1:%d/api/runs" % port, timeout=10) as reply:
                listed = sorted(run["name"] for run in json.load(reply)["runs"])
        check(listed == sorted(names), "serve --runs lists the sweep's runs: %s" % listed)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def main():
    backprop, data, work = sys.argv[1:4]
    if shutil.which("mpirun") is None:
        skip("no mpirun (scripts/setup.sh installs openmpi-bin)")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    w = lambda name: os.path.join(work, name)
    probe = run(mpirun(1) + [backprop, "train", "--epochs", "0", "--data", data, "--no-fetch", "--quiet"])
    if "built without MPI" in probe.stderr:
        skip("this backprop was built without MPI (-DBACKPROP_MPI=OFF or no libopenmpi-dev)")
    small = ["--data", data, "--no-fetch", "--quiet", "--threads", "1", "--dtype", "f64", "--grad-reduction", "mean",
             "--hidden", "24", "--epochs", "1", "--train-limit", "512", "--batch", "64", "--lr", "0.1"]
    same_numbers(backprop, small, w)
    killed_rank(backprop, data, w)
    sweep(backprop, data, w)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Issue 18 through the command line: nothing a user or a file says can clobber, exhaust or
mislead. One check per finding; each would fail on the code before the fix.

  hardening_test.py BACKPROP_BINARY DATA_DIR WORK_DIR [TRAIN_MLP_EXAMPLE]

1  outputs: a symlink is written through (the link stays), /dev/stdout (a pipe), a FIFO, a
   character device and a directory are refused and left as they were; "-" is refused.
2  an unwritable output is found before any data is loaded (read-only tmpfs, as root).
3  thread counts above the cap (4 x cores) are usage errors, with the cap in --help.
7  flags checked before loading anything, numbers as people write them, flags a command lists.
8  one error style: one line "backprop: error: ...", exit 2 for usage, suggestions for typos.
9  a network that stays at chance after the first epoch gets one warning with the causes.
10 OpenMP waits passively unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT.
12 small ones: examples report errors like the CLI; --data naming a missing or one-class .csv
   says so without a word of MNIST, a folder with 2 of the 4 files names the others; "1 thread".
"""
import os
import shutil
import socket
import stat
import subprocess
import sys

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def main():
    backprop, data, work = sys.argv[1:4]
    example = sys.argv[4] if len(sys.argv) > 4 else None
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    w = lambda name: os.path.join(work, name)

    def run(args, **kw):
        return subprocess.run([backprop] + args, capture_output=True, text=True, timeout=300, cwd=work, **kw)

    def one_line_error(res, code, part, what):
        lines = res.stderr.strip().splitlines()
        check(res.returncode == code and len(lines) == 1 and lines[0].startswith("backprop: error: ")
              and part in lines[0], f"{what}: exit {res.returncode} (want {code}), stderr {res.stderr.strip()!r}")

    small = ["--hidden", "16", "--train-limit", "500", "--quiet", "--no-fetch", "--data", data, "--threads", "1"]
    res = run(["train", "--epochs", "1", "--out", w("m.model"), "--save-npz", w("p.npz")] + small)
    check(res.returncode == 0, f"a small model trains: {res.stderr.strip()}")
    base = ["export", "--model", w("m.model")]

    # 1. Outputs are regular files or new names.
    os.makedirs(w("elsewhere"))
    with open(w("elsewhere/target.npz"), "w") as f:
        f.write("old")
    os.symlink(w("elsewhere/target.npz"), w("link.npz"))
    res = run(base + ["--npz", w("link.npz")])
    check(res.returncode == 0 and os.path.islink(w("link.npz")) and os.path.getsize(w("elsewhere/target.npz")) > 100,
          "a symlinked output is written through to its target and stays a link")
    check(sorted(os.listdir(w("elsewhere"))) == ["target.npz"], "no temporary file left beside the target")
    # The system's own /dev/stdout and /dev/null are never named here: a binary without the fix
    # would replace them. A link like /dev/stdout's and a device like /dev/null stand in.
    os.symlink("/proc/self/fd/1", w("stdout"))
    res = subprocess.run([backprop] + base + ["--npz", w("stdout")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=work)
    one_line_error(res, 1, "stdout: is a FIFO", "a link to standard output (a pipe here, as /dev/stdout) is refused")
    check(os.path.islink(w("stdout")), "the link is still a link")
    os.mkfifo(w("fifo"))
    one_line_error(run(base + ["--npz", w("fifo")]), 1, "fifo: is a FIFO", "a FIFO is refused")
    check(stat.S_ISFIFO(os.lstat(w("fifo")).st_mode), "the FIFO is still a FIFO")
    try:
        os.mknod(w("null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null's numbers
        one_line_error(run(base + ["--onnx", w("null")]), 1, "null: is a character device", "a device is refused")
        check(stat.S_ISCHR(os.lstat(w("null")).st_mode), "the device is still a device")
    except PermissionError:
        check(not os.environ.get("BACKPROP_NO_SKIP"), "mknod needs root (CI runs as root)")
    one_line_error(run(base + ["--npz", w("elsewhere")]), 1, "is a directory", "a directory is refused")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(w("sock"))
    one_line_error(run(base + ["--npz", w("sock")]), 1, "is a socket", "a socket is refused")
    sock.close()
    os.symlink(w("nowhere/x.npz"), w("dangling.npz"))
    one_line_error(run(base + ["--npz", w("dangling.npz")]), 1, "symbolic link to a missing file",
                   "a dangling symlink is refused")
    one_line_error(run(["import", "--npz", w("p.npz"), "--out", "-"]), 2, "'-' (standard output)",
                   "'-' is not a file name where no command documents it")
    check(not os.path.exists(w("-")), "no file named '-'")

    # 2. An unwritable output is found before any data is loaded.
    locked = w("ro")
    os.makedirs(locked)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", locked], capture_output=True).returncode == 0:
        try:
            for flag in ("--out", "--metrics", "--checkpoint", "--save-npz"):
                res = run(["train", "--epochs", "2", flag, os.path.join(locked, "x")] + small)
                one_line_error(res, 1, "cannot create (Read-only file system)", f"train {flag} on a read-only mount")
                check("data " not in res.stdout and "Epoch" not in res.stdout,
                      f"{flag}: refused before loading data or training (stdout {res.stdout.strip()[:80]!r})")
            one_line_error(run(["eval", "--model", w("m.model"), "--misclassified", os.path.join(locked, "x.png"),
                                "--data", data]), 1, "Read-only file system", "eval --misclassified on a read-only mount")
        finally:
            subprocess.run(["umount", locked], capture_output=True)
    elif os.environ.get("BACKPROP_NO_SKIP"):
        check(False, "cannot mount a read-only tmpfs (CI runs as root)")
    else:
        print("skip read-only outputs: cannot mount a tmpfs (not root)")

    # 3. Thread counts have a cap.
    cap = 4 * os.cpu_count()
    for args in (["train"] + small + ["--threads", "100000"], ["train", "--augment-threads", "300", "--augment-shift", "1"] + small,
                 ["eval", "--model", w("m.model"), "--threads", "100000", "--data", data],
                 ["predict", "--model", w("m.model"), "--threads", "-1", w("p.npz")]):
        one_line_error(run(args), 2, f"and {cap} (4 x the", f"{args[0]} {' '.join(args[1:3])} is refused")
    check(f"at most {cap}" in run(["train", "--help"]).stdout, "train --help states the thread cap")
    res = run(["train", "--epochs", "1", "--threads", str(cap)] + small[:-2])
    check(res.returncode == 0, f"--threads {cap} (the cap) still runs")

    # 7. Flags before data, numbers as written, only flags a command uses.
    nodata = ["--quiet", "--no-fetch", "--data", w("no-data-here")]  # the flag error must come first
    cases = [
        (["train", "--augment-scale", "1.5"], "--augment-scale must be in [0, 1), not 1.5"),
        (["train", "--warmup", "200%"], "'200%' is not below 100%"),
        (["train", "--warmup", "10x"], "'10x' is not a step count"),
        (["train", "--train-limit", "0"], "--train-limit: must be a whole number of at least 1"),
        (["train", "--seed", "-1"], "--seed: must be a whole number from 0 to 18446744073709551615, not -1"),
        (["train", "--seed", "18446744073709551616"], "not 18446744073709551616"),
        (["train", "--epochs", "0", "--out", w("untrained.model")], "--epochs 0 trains nothing"),
        (["train", "--batch", "0"], "--batch must be between 1 and"),
        (["train", "--clip-norm", "-1"], "--clip-norm must be a number of at least 0, not -1"),
        (["train", "--lr", "abc"], "--lr: 'abc' is not a valid value"),
        (["eval", "--model", w("m.model"), "--misclassified", w("mis.txt")], "give a name ending in .png"),
        (["import", "--npz", w("p.npz"), "--out", w("i.model"), "--dropout", "0.5"], "unknown flag --dropout"),
        (["import", "--npz", w("p.npz"), "--out", w("i.model"), "--init-scheme", "seed"], "unknown flag --init-scheme"),
        (["gradcheck", "--dtype", "f32"], "unknown flag --dtype"),
        # issue 12's data flags, checked before the data is looked for just the same
        (["train", "--task", "regresion"], "--task must be classification or regression, not 'regresion'"),
        (["train", "--task", "regression", "--head", "softmax"], "--head softmax does not fit"),
        (["train", "--test-split", "1.5"], "--test-split must be 0 (no test set) or a share between 0 and 1, not 1.5"),
        (["train", "--test-split", "-0.1"], "not -0.1"),
        (["train", "--label", "a,b"], "--label a,b names several columns; classification takes one"),
        (["train", "--label", "a,,b", "--task", "regression"], "has an empty column name"),
        (["train", "--hidden", "0"], "--hidden must be between 1 and"),
        (["train", "--hidden", "16,x"], "--hidden: '16,x' is not a list of sizes"),
        (["train", "--hidden", "16", "--layers", "784,16,10"], "give --layers or --hidden, not both"),
        (["train", "--early-stop", "2"], "--early-stop needs --val-split"),
        (["train", "--eval-every", "0"], "--eval-every must be between 1 and"),
        (["train", "--scale", "log"], "--scale"),
        (["gradcheck", "--samples", "100000000"], "--samples must be between 1 and 10000"),
        (["sweep", "--grid", "lr=0.1,0.2", "--out", w("sweep"), "--jobs", "100000"], "--jobs must be between 1 and"),
    ]
    for args, part in cases:
        one_line_error(run(args + (nodata if args[0] == "train" else [])), 2, part, " ".join(args[:3]))
    check(not os.path.exists(w("untrained.model")), "--epochs 0 wrote no model")
    # A missing --test file is found before the training data is read or fetched (exit 1: a file).
    one_line_error(run(["train", "--test", w("missing-test.csv")] + nodata), 1, "missing-test.csv: cannot open",
                   "train --test naming a missing file, before the data")
    # grads: the output is probed before its parameters or data are read.
    one_line_error(run(["grads", "--init", w("p.npz"), "--out", w("no-dir/g.npz"), "--data", w("no-data-here")]), 1,
                   "cannot create (directory", "grads --out in a missing directory, before reading")
    help_import = run(["import", "--help"]).stdout
    check("--dropout" not in help_import and "--init-scheme" not in help_import, "import --help lists only its flags")
    check("--dtype" not in run(["gradcheck", "--help"]).stdout, "gradcheck --help has no --dtype (always float64)")
    res = run(["gradcheck", "--layers", "4,3,2", "--max-entries", "10", "--random"])
    entries = [int(line.split()[1]) for line in res.stdout.splitlines() if line.startswith("  w1 ")]
    check(res.returncode == 0 and entries and entries[0] <= 10, f"gradcheck --max-entries 10 checks at most 10: {entries}")

    # 8. One error style: one line, exit 2 for usage errors, suggestions.
    one_line_error(run(["trian"]), 2, "unknown command 'trian' (did you mean 'train'?)", "a mistyped command")
    one_line_error(run(["train", "--epoch", "1"]), 2, "unknown flag --epoch (did you mean --epochs?)", "a mistyped flag")
    one_line_error(run(["eval"]), 2, "--model is required", "a missing required flag")
    one_line_error(run([]), 2, "give a command", "no command")
    one_line_error(run(["eval", "--model", w("missing.model")]), 1, "missing.model: cannot open", "a failure exits 1")
    check("Exit status" in run(["--help"]).stdout, "--help documents the exit statuses")

    # 9. Silent failure to learn: one warning after the first epoch.
    deep = ["--layers", "784,32,32,32,32,32,32,32,32,10", "--activation", "sigmoid", "--epochs", "2"]
    res = run(["train"] + deep + small[2:])
    warnings = [l for l in res.stderr.splitlines() if "not learning" in l]
    check(res.returncode == 0 and len(warnings) == 1 and "sigmoid" in warnings[0] and "--lr" in warnings[0],
          f"a 9-layer sigmoid network at chance gets one warning: {warnings}")
    res = run(["train", "--head", "mse", "--epochs", "1"] + small)
    check(sum("not learning" in l for l in res.stderr.splitlines()) == 1, "--head mse at lr 0.5 gets the warning")
    res = run(["train", "--preset", "seed", "--epochs", "1"] + small)
    check(res.returncode == 0 and "warning" not in res.stderr, f"a learning run gets none: {res.stderr.strip()}")
    check(", 1 thread," in res.stdout, f"'1 thread', not '1 threads': {res.stdout.splitlines()[:1]}")
    # A small table's epoch is 2 steps: judged after 100 steps, not after the first epoch.
    import random
    rows = random.Random(4)
    with open(w("two.csv"), "w") as f:
        f.write("a,b,label\n")
        for i in range(300):
            k = i % 2
            f.write(f"{rows.gauss(2 * k - 1, 0.5)},{rows.gauss(0, 1)},{'yes' if k else 'no'}\n")
    res = run(["train", "--data", w("two.csv"), "--hidden", "8", "--optimizer", "adam", "--lr", "0.01",
               "--batch", "200", "--epochs", "60", "--quiet"])
    check(res.returncode == 0 and "warning" not in res.stderr,
          f"a table at 2 steps an epoch that learns gets no warning: {res.stderr.strip()}")
    # Neither --layers nor --hidden: the default hidden layer, its ends from the data (not 784).
    res = run(["train", "--data", w("two.csv"), "--epochs", "1", "--quiet"])
    check(res.returncode == 0, f"a table trains without --hidden: {res.stderr.strip()}")

    # 10. A passive OpenMP wait on a busy machine, a short spin on an idle one, unless the user
    # chose a policy (bench/busy_machine.sh measures why).
    def wait_policy(extra_env, threads="2"):
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
        env.update(extra_env)
        proc = subprocess.Popen([backprop, "train", "--epochs", "1000"] + small + ["--threads", threads], env=env, cwd=work,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            binary = os.path.realpath(backprop)
            for _ in range(100):  # until backprop runs, and its exec with the policy has happened
                subprocess.run(["sleep", "0.05"])
                try:
                    running = os.path.realpath(f"/proc/{proc.pid}/exe") == binary
                    with open(f"/proc/{proc.pid}/environ", "rb") as f:
                        variables = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
                except OSError:
                    continue
                if running and (b"OMP_WAIT_POLICY" in variables or b"GOMP_SPINCOUNT" in variables or extra_env):
                    subprocess.run(["sleep", "0.2"])  # a re-exec, were there one, has happened by now
                    with open(f"/proc/{proc.pid}/environ", "rb") as f:
                        variables = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
                    return variables.get(b"OMP_WAIT_POLICY"), variables.get(b"GOMP_SPINCOUNT")
            return None, None
        finally:
            proc.kill()
            proc.wait()
    with open("/proc/loadavg") as f:
        expected = (b"passive", None) if float(f.read().split()[0]) >= 0.5 * os.cpu_count() else (None, b"10000")
    chosen = wait_policy({})
    check(chosen in ((b"passive", None), (None, b"10000")),
          f"a passive wait or a short spin when the user set none: {chosen} (load suggests {expected})")
    check(wait_policy({"OMP_WAIT_POLICY": "active"}) == (b"active", None), "a user's OMP_WAIT_POLICY is kept")
    check(wait_policy({"GOMP_SPINCOUNT": "1000"}) == (None, b"1000"), "a user's GOMP_SPINCOUNT is kept alone")
    # One thread has no barrier to wait at: no policy, and no second load of the program.
    check(wait_policy({"OMP_NUM_THREADS": "4"}, threads="1") == (None, None), "--threads 1: no wait policy, no exec")

    # 12. Small ones. A .csv is a dataset now: one that is missing or wrong is said so, never
    # "MNIST not found".
    res = run(["train", "--data", w("train.csv"), "--quiet"])
    one_line_error(res, 1, "train.csv: cannot open (No such file or directory)", "--data naming a missing .csv")
    check("MNIST" not in res.stderr, f"--data naming a missing .csv says nothing of MNIST: {res.stderr.strip()!r}")
    with open(w("train.csv"), "w") as f:
        f.write("label,p0\n1,0\n")
    res = run(["train", "--data", w("train.csv"), "--quiet"])
    one_line_error(res, 1, "train.csv: only one class", "--data naming a .csv of one class")
    check("MNIST" not in res.stderr, f"--data naming a .csv says nothing of MNIST: {res.stderr.strip()!r}")
    os.makedirs(w("half"))
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        os.symlink(os.path.join(data, name), w("half/" + name))
    one_line_error(run(["train", "--no-fetch", "--quiet", "--data", w("half")]), 1,
                   "no train-images-idx3-ubyte, train-labels-idx1-ubyte", "a folder with 2 of the 4 files names the others")
    os.makedirs(w("images-only"))
    os.symlink(os.path.join(data, "train-images-idx3-ubyte"), w("images-only/train-images-idx3-ubyte"))
    one_line_error(run(["train", "--no-fetch", "--quiet", "--data", w("images-only")]), 1,
                   "but no train-labels-idx1-ubyte", "a folder of training images without labels names the labels file")
    if example and not os.path.exists(example):
        print(f"note {example} is not built here (the sanitizer stage builds only backprop and its tests)")
    elif example:
        res = subprocess.run([example, w("nowhere")], capture_output=True, text=True, timeout=60)
        lines = res.stderr.strip().splitlines()
        check(res.returncode == 1 and len(lines) == 1 and "train_mlp: error:" in lines[0],
              f"the example without data: exit {res.returncode}, {res.stderr.strip()!r}")

    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Faults while training and writing, through the command line:

1. a run that diverges (NaN/inf) stops at once: exit 1, one line naming epoch, step, tensor
   and a hint, and the checkpoint of an earlier good run under the same name untouched;
2. a full disk (a small tmpfs mounted here) while writing a checkpoint or a model: exit 1,
   "No space left on device", the last good checkpoint intact, no partial or temporary file;
3. an unwritable output directory (a read-only tmpfs; as non-root, a mode-0555 directory):
   exit 1, a clear error, nothing written.
Parts 2 and 3 need root to mount (CI and the developers' machines are root); without it they
use what they can and say so, and the script exits 77 (skipped) only if nothing could run.

  fault_test.py BACKPROP_BINARY DATA_DIR WORK_DIR
"""
import glob
import os
import shutil
import subprocess
import sys

failures = []


def check(condition, what):
    print(("ok    " if condition else "FAIL  ") + what)
    if not condition:
        failures.append(what)


def run(backprop, args):
    return subprocess.run([backprop] + args, capture_output=True, text=True)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def mount_tmpfs(path, options):
    os.makedirs(path, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path],
                          capture_output=True).returncode == 0


def umount(path):
    subprocess.run(["umount", path], capture_output=True)


def main():
    backprop, data, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    w = lambda name: os.path.join(work, name)
    small = ["--layers", "784,16,10", "--train-limit", "256", "--batch", "64", "--data", data,
             "--no-fetch", "--quiet", "--threads", "1"]

    # 1. Divergence: a good run's checkpoint, then a diverging run told to write the same file.
    good = run(backprop, ["train", "--epochs", "1", "--checkpoint", w("run.ckpt")] + small)
    check(good.returncode == 0, "a good run writes its checkpoint: " + good.stderr.strip())
    before = read(w("run.ckpt"))
    bad = run(backprop, ["train", "--epochs", "2", "--activation", "relu", "--lr", "3e38",
                         "--grad-reduction", "sum", "--checkpoint", w("run.ckpt"),
                         "--out", w("run.model")] + small[:4] + ["--batch", "256"] + small[6:])
    message = bad.stderr.strip()
    check(bad.returncode == 1, "divergence exits 1 (got %d)" % bad.returncode)
    # One step per epoch: the update overflows, and the end-of-epoch check names the tensor.
    check(len(message.splitlines()) == 1 and "training diverged at epoch 0, step 0: parameter " in message
          and "try a lower --lr" in message, "one line with epoch, step, tensor and hint: " + message)
    check(read(w("run.ckpt")) == before, "the good checkpoint is untouched")
    check(not os.path.exists(w("run.model")), "no model file from the diverged run")
    check(not glob.glob(w("*.tmp.*")), "no temporary file left")

    # 2. A full disk: room for one checkpoint, not for its replacement beside it.
    disk = w("disk")
    mounted = mount_tmpfs(disk, "size=80k")
    if not mounted:
        print("skip  full disk: cannot mount a tmpfs here (not root?)")
    else:
        try:
            full = run(backprop, ["train", "--epochs", "2", "--checkpoint", os.path.join(disk, "run.ckpt")] + small)
            message = full.stderr.strip()
            check(full.returncode == 1, "a full disk exits 1 (got %d)" % full.returncode)
            check("run.ckpt: write failed (No space left on device)" in message, "says so: " + message)
            check(os.listdir(disk) == ["run.ckpt"], "only the last good checkpoint is there: %s" % os.listdir(disk))
            ev = run(backprop, ["eval", "--model", os.path.join(disk, "run.ckpt"), "--data", data])
            check(ev.returncode == 0, "and it reads back whole: " + ev.stderr.strip())
            os.remove(os.path.join(disk, "run.ckpt"))
            with open(os.path.join(disk, "filler"), "wb") as f:  # leave ~16 KiB free
                f.write(b"\0" * (64 * 1024))
            model = run(backprop, ["train", "--epochs", "1", "--out", os.path.join(disk, "run.model")] + small)
            check(model.returncode == 1 and "run.model: write failed (No space left on device)" in model.stderr,
                  "a model file on a full disk: " + model.stderr.strip())
            check(sorted(os.listdir(disk)) == ["filler"], "no partial model file: %s" % os.listdir(disk))
        finally:
            umount(disk)

    # 3. An unwritable directory.
    locked = w("locked")
    if mount_tmpfs(locked, "size=64k,ro"):
        how = "read-only tmpfs"
    elif os.geteuid() != 0:
        os.makedirs(locked, exist_ok=True)
        os.chmod(locked, 0o555)
        how = "mode 0555 directory"
    else:
        how = None
        print("skip  unwritable directory: root, and cannot mount")
    if how:
        try:
            res = run(backprop, ["train", "--epochs", "1", "--out", os.path.join(locked, "run.model")] + small)
            message = res.stderr.strip()
            check(res.returncode == 1 and "run.model: cannot create (" in message,
                  "an unwritable directory (%s) exits 1 with: %s" % (how, message))
            check(os.listdir(locked) == [], "nothing written there")
        finally:
            if how == "read-only tmpfs":
                umount(locked)
            else:
                os.chmod(locked, 0o755)

    if failures:
        print("%d failed" % len(failures))
        return 1
    if not (mounted or how):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from skip_rule import skip
        skip("cannot mount a tmpfs here and cannot lock a directory")
    return 0


if __name__ == "__main__":
    sys.exit(main())

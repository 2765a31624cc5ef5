#!/usr/bin/env python3
"""Oracle test: 100 steps of the C++ seed preset (float64, no shuffling) against the blog's
NumPy code (oracle_seed.py) from the same initial parameters. Every parameter must agree to
a relative error below 1e-6.

  oracle_test.py BACKPROP_BINARY DATA_DIR WORK_DIR
Exits 77 (skipped) when numpy is missing.
"""
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from skip_rule import skip
    skip("numpy is not installed")

STEPS = 100
TOLERANCE = 1e-6


def main():
    backprop, data, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    init, cpp_out, py_out = (os.path.join(work, n) for n in ("init.npz", "cpp.npz", "oracle.npz"))
    here = os.path.dirname(os.path.abspath(__file__))

    # Initial parameters from the C++ seed scheme (0 epochs = just initialise and save).
    subprocess.run([backprop, "train", "--preset", "seed", "--dtype", "f64", "--epochs", "0", "--data", data,
                    "--seed", "7", "--save-npz", init, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([backprop, "train", "--preset", "seed", "--dtype", "f64", "--no-shuffle", "--data", data,
                    "--init", init, "--epochs", "1", "--train-limit", str(64 * STEPS), "--save-npz", cpp_out,
                    "--quiet", "--threads", "1"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, os.path.join(here, "oracle_seed.py"), "--data", data, "--init", init,
                    "--no-shuffle", "--steps", str(STEPS), "--out", py_out], check=True)

    start, cpp, ref = np.load(init), np.load(cpp_out), np.load(py_out)
    worst = 0.0
    for name in ("w1", "b1", "w2", "b2"):
        a, b = cpp[name], ref[name]
        assert a.shape == b.shape, f"{name}: shape {a.shape} vs oracle {b.shape}"
        assert a.dtype == np.float64, f"{name}: dtype {a.dtype}, expected float64"
        moved = np.max(np.abs(b - start[name]))
        assert moved > 1e-4, f"{name}: the oracle's parameters barely moved ({moved}); the test would prove nothing"
        # Relative error of every entry: |a - b| / |b|.
        rel = np.max(np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny))
        print(f"{name}: shape {a.shape}, max relative error {rel:.3e} (moved up to {moved:.3e})")
        worst = max(worst, rel)
    if worst >= TOLERANCE:
        print(f"FAIL: max relative error {worst:.3e} >= {TOLERANCE:.0e}")
        return 1
    print(f"ok: after {STEPS} steps the C++ parameters agree with the oracle to {worst:.3e} < {TOLERANCE:.0e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

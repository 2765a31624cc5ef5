#!/usr/bin/env python3
"""`backprop grads` against gradients computed independently in NumPy, for a deeper network.

A NumPy forward and backward of a 784-32-16-10 network (tanh, sigmoid hidden layers, softmax
cross-entropy, mean over the batch), written from the equations in docs/derivation.md in the
seed's row-per-example view, from the same random parameters; every array must agree to 1e-9
(relative to the array's largest entry) in float64.

  grads_test.py BACKPROP_BINARY DATA_DIR WORK_DIR      (exit 77 = skipped: no numpy)
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

N = 50
SIZES = [784, 32, 16, 10]


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def main():
    backprop, data, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(0)
    params = {}
    for l in range(1, len(SIZES)):
        params[f"w{l}"] = rng.standard_normal((SIZES[l - 1], SIZES[l])) * np.sqrt(1.0 / SIZES[l - 1])
        params[f"b{l}"] = rng.standard_normal((1, SIZES[l])) * 0.1
    init, out = os.path.join(work, "params.npz"), os.path.join(work, "grads.npz")
    np.savez(init, **params)
    subprocess.run([backprop, "grads", "--init", init, "--samples", str(N), "--out", out, "--data", data,
                    "--activation", "tanh,sigmoid", "--dtype", "f64"], check=True)

    x = (read_idx(os.path.join(data, "train-images-idx3-ubyte"))[:N].reshape(N, -1).astype(np.float32)
         / np.float32(255)).astype(np.float64)
    y = np.eye(10)[read_idx(os.path.join(data, "train-labels-idx1-ubyte"))[:N]]
    # Forward, caching every a[l] (rows are examples).
    a = [x]
    z1 = a[0] @ params["w1"] + params["b1"]
    a.append(np.tanh(z1))
    z2 = a[1] @ params["w2"] + params["b2"]
    a.append(1 / (1 + np.exp(-z2)))
    z3 = a[2] @ params["w3"] + params["b3"]
    y_hat = np.exp(z3 - z3.max(axis=1, keepdims=True))
    y_hat /= y_hat.sum(axis=1, keepdims=True)
    loss = -np.sum(y * np.log(y_hat)) / N
    # Backward: dz = (y_hat - y)/N, dW = a^T dz, db = column sums, da = dz W^T.
    dz3 = (y_hat - y) / N
    dz2 = (dz3 @ params["w3"].T) * a[2] * (1 - a[2])
    dz1 = (dz2 @ params["w2"].T) * (1 - a[1] ** 2)
    expected = {"dw3": a[2].T @ dz3, "db3": dz3.sum(axis=0, keepdims=True),
                "dw2": a[1].T @ dz2, "db2": dz2.sum(axis=0, keepdims=True),
                "dw1": a[0].T @ dz1, "db1": dz1.sum(axis=0, keepdims=True)}

    got = np.load(out)
    ok = True
    for name, want in expected.items():
        have = got[name]
        assert have.shape == want.shape, f"{name}: shape {have.shape}, expected {want.shape}"
        err = np.max(np.abs(have - want)) / np.max(np.abs(want))
        print(f"{name}: shape {have.shape}, error {err:.2e} relative to its largest entry")
        ok = ok and err < 1e-9
    loss_err = abs(float(got["loss"]) - loss) / loss
    print(f"loss: {float(got['loss']):.12f} vs {loss:.12f} (relative error {loss_err:.1e})")
    ok = ok and loss_err < 1e-12
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Models of tables, end to end through the CLI: regression, predict on CSV rows, and the
scaling carried by the model into predict and the .npz / ONNX exports.

  tasks_test.py BACKPROP_BINARY WORK_DIR

- regression: y1 = 2 x0 - 3 x1 + 0.5 x2 + 4 and y2 = -x0 + 10 x2 - 1 (+ small noise), the
  features on very different scales; `train --task regression --label y1,y2` with a linear
  network (`--layers 3,2 --head mse`) recovers every coefficient and intercept, read off
  `predict --json` at x = 0 and at the unit vectors (so the model's input and target
  standardisation are undone by predict), and reports test R^2 and RMSE as they should be.
- classification: 3 classes named by strings, features scaled by up to 1e4; `predict --json`
  on the test CSV (with its label column) gives `class` names, `probabilities` keyed by name,
  and the accuracy `eval` gives; `export --onnx` run by tests/onnx_numpy.py on the RAW
  features gives predict's probabilities (the graph applies the scaling), and `export --npz`
  with its input_mean / input_deviation arrays does too.
Exits 77 (skipped) when numpy is missing (in CI a failure: skip_rule.py); the ONNX part only when python3-onnx is.
"""
import csv
import json
import os
import shutil
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from skip_rule import skip
    skip("numpy is not installed")

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(backprop, *args):
    done = subprocess.run([backprop, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"backprop {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def regression(backprop, work):
    rng = np.random.default_rng(7)
    n = 1500
    scale = np.array([1.0, 100.0, 0.01])  # features on very different scales
    offset = np.array([0.0, 500.0, -2.0])
    x = rng.normal(size=(n, 3)) * scale + offset
    coef = np.array([[2.0, -1.0], [-3.0, 0.0], [0.5, 10.0]]) / scale[:, None]  # per unit of x
    intercept = np.array([4.0, -1.0])
    y = x @ coef + intercept + rng.normal(scale=0.01, size=(n, 2))
    header = ["x0", "x1", "x2", "y1", "y2"]
    train, test = os.path.join(work, "linear-train.csv"), os.path.join(work, "linear-test.csv")
    write_csv(train, header, [list(map(repr, r)) for r in np.hstack([x, y])[:1200]])
    write_csv(test, header, [list(map(repr, r)) for r in np.hstack([x, y])[1200:]])
    model, metrics = os.path.join(work, "linear.model"), os.path.join(work, "linear.jsonl")
    run(backprop, "train", "--data", train, "--test", test, "--task", "regression", "--label", "y1,y2",
        "--layers", "3,2", "--head", "mse", "--optimizer", "adam", "--lr", "0.01", "--batch", "32",
        "--epochs", "30", "--seed", "1", "--quiet", "--out", model, "--metrics", metrics)
    last = json.loads(open(metrics).read().splitlines()[-1])
    check(last.get("test_r2", 0) > 0.9999, f"regression: test_r2 {last.get('test_r2')} > 0.9999")
    check(0.005 < last.get("test_rmse", 1) < 0.02,
          f"regression: test_rmse {last.get('test_rmse')} near the noise's 0.01 (targets' units)")
    check(all(k in last for k in ("test_loss", "test_mae")), "regression: test_loss and test_mae in --metrics")

    # The fitted function at the data's centre and one deviation along each feature (x = 0 lies
    # hundreds of deviations outside the data, where a tiny slope error would swamp the check).
    probe = os.path.join(work, "probe.csv")
    points = [offset] + [offset + scale * np.eye(3)[i] for i in range(3)]
    write_csv(probe, header[:3], [list(map(repr, p)) for p in points])
    out = json.loads(run(backprop, "predict", "--model", model, "--json", probe))
    values = np.array([p["prediction"] for p in out["predictions"]])  # (4, 2)
    if values.shape != (4, 2):
        check(False, f"regression: predict --json gives 4 x 2 predictions, got {values.shape}")
        return
    found_coef = (values[1:] - values[0]) / scale[:, None]
    rel = np.abs(found_coef - coef) / np.abs(coef).max(axis=0)
    check(np.all(rel < 2e-3), f"regression: coefficients recovered (max relative error {rel.max():.2e})")
    found_intercept = values[0] - offset @ coef
    check(np.all(np.abs(found_intercept - intercept) < 0.02),
          f"regression: intercepts {found_intercept} vs {intercept}")

    # eval on the test file prints the same scores.
    ev = json.loads(run(backprop, "eval", "--model", model, "--data", train, "--test", test, "--label", "y1,y2", "--json"))
    check(abs(ev.get("r2", 0) - last["test_r2"]) < 1e-9 and abs(ev.get("rmse", 0) - last["test_rmse"]) < 1e-9,
          f"regression: eval's r2 {ev.get('r2')} / rmse {ev.get('rmse')} are the last epoch's")
    # The model keeps its target columns: without --label, eval reads y1, y2 as training did.
    ev = json.loads(run(backprop, "eval", "--model", model, "--data", train, "--test", test, "--json"))
    check(abs(ev.get("r2", 0) - last["test_r2"]) < 1e-9, f"regression: eval without --label: r2 {ev.get('r2')}")


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def classification(backprop, work):
    rng = np.random.default_rng(3)
    names = ["cat", "dog", "mouse"]
    centres = np.array([[0, 0, 0, 0], [2, 1, 0, -1], [0, -2, 2, 1]], dtype=float)
    scale = np.array([1e4, 1.0, 1e-3, 50.0])
    offset = np.array([1e5, -3.0, 0.0, 7.0])
    labels = rng.integers(0, 3, size=900)
    x = (centres[labels] + rng.normal(scale=0.8, size=(900, 4))) * scale + offset
    header = ["a", "b", "c", "d", "label"]
    rows = [list(map(repr, r)) + [names[k]] for r, k in zip(x, labels)]
    train, test = os.path.join(work, "animals-train.csv"), os.path.join(work, "animals-test.csv")
    write_csv(train, header, rows[:700])
    write_csv(test, header, rows[700:])
    model = os.path.join(work, "animals.model")
    run(backprop, "train", "--data", train, "--test", test, "--hidden", "16", "--activation", "tanh",
        "--optimizer", "adam", "--lr", "0.01", "--batch", "32", "--epochs", "15", "--seed", "2", "--quiet",
        "--out", model)
    out = json.loads(run(backprop, "predict", "--model", model, "--json", test))
    preds = out["predictions"]
    check(len(preds) == 200, f"classification: {len(preds)} predictions for the 200 test rows")
    check(all(p["class"] in names for p in preds), "classification: `class` is a class name")
    check(all(sorted(p["probabilities"]) == names for p in preds), "classification: probabilities keyed by name")
    accuracy = np.mean([p["class"] == names[k] for p, k in zip(preds, labels[700:])])
    ev = json.loads(run(backprop, "eval", "--model", model, "--data", train, "--test", test, "--json"))
    check(accuracy > 0.8 and abs(ev["accuracy"] - accuracy) < 1e-12,
          f"classification: predict's accuracy {accuracy:.4f} is eval's {ev['accuracy']:.4f} (> 0.8: the scaling works)")
    check(abs(out.get("accuracy", -1) - accuracy) < 1e-12, "classification: predict --json reports that accuracy")
    cpp = np.array([[p["probabilities"][n] for n in names] for p in preds])
    raw = x[700:].astype(np.float32)

    npz_path = os.path.join(work, "animals.npz")
    run(backprop, "export", "--model", model, "--npz", npz_path)
    params = dict(np.load(npz_path))
    if "input_mean" in params and "input_deviation" in params:
        h = ((raw - params["input_mean"]) / params["input_deviation"]).astype(np.float64)
        h = np.tanh(h @ params["w1"] + params["b1"])
        worst = float(np.abs(softmax(h @ params["w2"] + params["b2"]) - cpp).max())
        check(worst < 1e-5, f"npz: NumPy forward of the exported scaling and parameters = predict (max diff {worst:.2e})")
    else:
        check(False, f"npz: input_mean and input_deviation exported (arrays: {sorted(params)})")

    try:
        import onnx
    except ImportError:
        if os.environ.get("BACKPROP_NO_SKIP"):  # CI installs python3-onnx: a skipped part is a failure there
            check(False, "the onnx package is not installed (Debian python3-onnx) and a skip in CI is a failure")
            return
        print("the onnx package is not installed (Debian python3-onnx): ONNX part skipped")
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import onnx_numpy
    onnx_path = os.path.join(work, "animals.onnx")
    run(backprop, "export", "--model", model, "--onnx", onnx_path)
    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto, full_check=True)
    result = onnx_numpy.run(proto, {"input": raw})["probabilities"]
    worst = float(np.abs(result - cpp).max())
    check(worst < 1e-5, f"onnx: the graph on raw features = predict's probabilities (max diff {worst:.2e})")


def stored_label(backprop, work):
    """The label column's name is kept in the model: eval, predict and report read the file as
    training did, without --label again, though the column is neither last nor named label."""
    rng = np.random.default_rng(5)
    kinds = ["setosa", "versicolor", "virginica"]
    labels = rng.integers(0, 3, size=400)
    x = np.array([[0, 0, 0], [3, 0, 1], [0, 3, -1]], dtype=float)[labels] + rng.normal(scale=0.7, size=(400, 3))
    data = os.path.join(work, "flowers.csv")
    write_csv(data, ["species", "a", "b", "c"], [[kinds[k]] + list(map(repr, r)) for r, k in zip(x, labels)])
    model, metrics = os.path.join(work, "flowers.model"), os.path.join(work, "flowers.jsonl")
    run(backprop, "train", "--data", data, "--label", "species", "--hidden", "8", "--optimizer", "adam",
        "--lr", "0.01", "--epochs", "10", "--seed", "1", "--quiet", "--out", model, "--metrics", metrics)
    last = json.loads(open(metrics).read().splitlines()[-1])
    ev = json.loads(run(backprop, "eval", "--model", model, "--data", data, "--json"))
    check(abs(ev.get("accuracy", -1) - last["test_accuracy"]) < 1e-12,
          f"stored label: eval without --label scores the held-out rows as training did "
          f"({ev.get('accuracy')} vs {last['test_accuracy']})")
    out = json.loads(run(backprop, "predict", "--model", model, "--json", data))
    check("accuracy" in out, "stored label: predict finds the label column without --label")


def main():
    backprop, work = sys.argv[1:3]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    regression(backprop, work)
    classification(backprop, work)
    stored_label(backprop, work)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The Python side of bench/tabular.sh: the data, scikit-learn's runs, and the report.

  bench/tabular.py prepare OUT_DIR [--seed S]
      writes NAME-train.csv and NAME-test.csv for each table scikit-learn ships (a stratified,
      seeded 80/20 split; regression: a seeded shuffle), header f0..fN,label (or ...,y).
  bench/tabular.py sklearn TRAIN.csv TEST.csv --task classification|regression --hidden H
                   --epochs E --batch B --lr LR --alpha A --seed S
      one whole scikit-learn process as a user would write it: read the CSV files, a Pipeline
      of StandardScaler and MLPClassifier / MLPRegressor (regression: the target standardised
      too, as backprop does), fit, score the test file. Prints one JSON line.
  bench/tabular.py sklearn-mnist DIR --hidden 256 --epochs 3 --batch 64 --lr LR --alpha A --seed S
      the same on MNIST's IDX files, pixels / 255 (as backprop's byte scaling), no scaler.
  bench/tabular.py report RAW_DIR [OUT.md]
      the table from the raw outputs of tabular.sh.

Every fit runs exactly E epochs (n_iter_no_change > E turns scikit-learn's stop on a loss
plateau off), as backprop does, so both do the same number of steps.
"""
import argparse
import csv
import json
import os
import re
import statistics
import sys
import time

# name: (loader in sklearn.datasets, task, label column)
TABLES = {
    "breast_cancer": ("load_breast_cancer", "classification", "label"),
    "wine": ("load_wine", "classification", "label"),
    "digits": ("load_digits", "classification", "label"),
    "diabetes": ("load_diabetes", "regression", "y"),
}

# The targets.
MAX_POINTS_BELOW = 2.0  # no table more than 2 points (accuracy %, or R^2 x 100) below scikit-learn
TARGET_SPEEDUP = 10.0   # whole processes, each table


def prepare(out_dir, seed):
    import numpy as np
    import sklearn.datasets
    from sklearn.model_selection import train_test_split
    os.makedirs(out_dir, exist_ok=True)
    for name, (loader, task, label) in TABLES.items():
        bunch = getattr(sklearn.datasets, loader)()
        x, y = bunch.data, bunch.target
        if task == "classification" and hasattr(bunch, "target_names"):
            names = np.asarray(bunch.target_names)
            # Class names as strings where the loader has words (breast cancer, wine); digits
            # keep their integers.
            if names.dtype.kind in "US" and name != "digits":
                y = names[y]
        stratify = y if task == "classification" else None
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=0.2, random_state=seed, stratify=stratify)
        header = [f"f{i}" for i in range(x.shape[1])] + [label]
        for part, xs, ys in (("train", x_train, y_train), ("test", x_test, y_test)):
            with open(os.path.join(out_dir, f"{name}-{part}.csv"), "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(header)
                for row, target in zip(xs, ys):
                    w.writerow([repr(float(v)) for v in row] + [target if isinstance(target, str) else
                                                                 (repr(float(target)) if task == "regression"
                                                                  else int(target))])
        print(f"{name}: {len(y_train)} training, {len(y_test)} test rows, {x.shape[1]} features")


def read_csv(path, task):
    """Features (float64) and targets of a tabular.py CSV: the last column is the label."""
    import numpy as np
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    body = rows[1:]
    x = np.array([[float(v) for v in r[:-1]] for r in body])
    y = [r[-1] for r in body]
    y = np.array([float(v) for v in y]) if task == "regression" else np.array(y)
    return x, y


def fit_sklearn(args):
    start = time.perf_counter()
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.compose import TransformedTargetRegressor
    warnings.simplefilter("ignore", ConvergenceWarning)
    x_train, y_train = read_csv(args.train, args.task)
    x_test, y_test = read_csv(args.test, args.task)
    settings = dict(hidden_layer_sizes=tuple(args.hidden), activation="relu", solver="adam",
                    learning_rate_init=args.lr, batch_size=args.batch, max_iter=args.epochs,
                    n_iter_no_change=args.epochs + 1, alpha=args.alpha, random_state=args.seed)
    loaded = time.perf_counter()
    if args.task == "classification":
        model = make_pipeline(StandardScaler(), MLPClassifier(**settings))
        model.fit(x_train, y_train)
        score = {"test_accuracy": float((model.predict(x_test) == y_test).mean())}
    else:
        model = TransformedTargetRegressor(make_pipeline(StandardScaler(), MLPRegressor(**settings)),
                                           transformer=StandardScaler())
        model.fit(x_train, y_train)
        score = {"test_r2": float(model.score(x_test, y_test))}
    score["epochs"] = int(model[-1].n_iter_ if args.task == "classification" else model.regressor_[-1].n_iter_)
    score["fit_seconds"] = time.perf_counter() - loaded
    score["in_process_seconds"] = time.perf_counter() - start
    print(json.dumps(score))


def read_idx(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fit_sklearn_mnist(args):
    start = time.perf_counter()
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    warnings.simplefilter("ignore", ConvergenceWarning)
    d = args.dir
    x_train = read_idx(os.path.join(d, "train-images-idx3-ubyte")).reshape(60000, -1) / 255.0
    y_train = read_idx(os.path.join(d, "train-labels-idx1-ubyte"))
    x_test = read_idx(os.path.join(d, "t10k-images-idx3-ubyte")).reshape(10000, -1) / 255.0
    y_test = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte"))
    loaded = time.perf_counter()
    model = MLPClassifier(hidden_layer_sizes=tuple(args.hidden), activation="relu", solver="adam",
                          learning_rate_init=args.lr, batch_size=args.batch, max_iter=args.epochs,
                          n_iter_no_change=args.epochs + 1, alpha=args.alpha, random_state=args.seed)
    model.fit(x_train, y_train)
    print(json.dumps({"test_accuracy": float((model.predict(x_test) == y_test).mean()),
                      "epochs": int(model.n_iter_), "fit_seconds": time.perf_counter() - loaded,
                      "in_process_seconds": time.perf_counter() - start}))


# --- report -----------------------------------------------------------------------------------

def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def last_json(text):
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def run_result(raw, run, system):
    """(score, wall seconds, peak RSS MB) of one process, or None if it failed."""
    wall = read_text(os.path.join(raw, run + ".wall"))
    status = read_text(os.path.join(raw, run + ".status"))
    if wall is None or (status or "1").strip() != "0":
        return None
    if system == "ours":  # its last lines: "final test accuracy X ..." or "final test rmse ..., r2 X ..."
        text = read_text(os.path.join(raw, run + ".out")) or ""
        acc = re.search(r"final test accuracy ([0-9.]+)", text)
        r2 = re.search(r"final test rmse .*?r2 (-?[0-9.]+)", text)
        m = {"test_r2": float(r2.group(1))} if r2 else ({"test_accuracy": float(acc.group(1))} if acc else None)
    else:
        m = last_json(read_text(os.path.join(raw, run + ".out")))
    if not m:
        return None
    score = m.get("test_r2", m.get("test_accuracy"))
    rss = None
    t = read_text(os.path.join(raw, run + ".time")) or ""
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
    if found:
        rss = int(found.group(1)) * 1024 / 1e6
    return score, float(wall), rss


def report(raw, out_path=None):
    machine = {}
    for line in (read_text(os.path.join(raw, "machine.txt")) or "").splitlines():
        key, _, value = line.partition("=")
        machine[key] = value
    names = [n for n in list(TABLES) + ["mnist"] if any(e.startswith(f"ours-{n}.r") for e in os.listdir(raw))]
    lines = [f"- date: {machine.get('date', '?')}; command: `{machine.get('command', '?')}`",
             f"- machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores; "
             f"load average before: {machine.get('load_before', '?')}, after: {machine.get('load_after', '?')}",
             f"- this project: git {machine.get('git', '?')}; scikit-learn {machine.get('sklearn', '?')}, "
             f"NumPy {machine.get('numpy', '?')}",
             f"- {machine.get('rounds', '?')} rounds; each round runs every table once per system, "
             "in turn, with the round number as the seed of both (initialisation, shuffling; the split is fixed)",
             "",
             "| data | network, optimizer, batch, epochs | metric | backprop (mean ± sd over rounds) | "
             "scikit-learn | Δ points | backprop s (median) | scikit-learn s | speed-up | RSS MB ours / sklearn | |",
             "|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|"]
    deltas, verdicts = [], []
    for name in names:
        config = read_text(os.path.join(raw, f"{name}.config")) or "?"
        per = {}
        for system in ("ours", "sklearn"):
            results = []
            for entry in sorted(os.listdir(raw)):
                m = re.fullmatch(rf"{system}-{re.escape(name)}\.(r\d+)\.wall", entry)
                if m:
                    results.append(run_result(raw, f"{system}-{name}.{m.group(1)}", system))
            per[system] = results
        ok = {s: [r for r in per[s] if r] for s in per}
        if not ok["ours"] or not ok["sklearn"]:
            failed = [s for s in per if len(ok[s]) < len(per[s]) or not per[s]]
            lines.append(f"| {name} | {config.strip()} | | | | | | | | | **failed: {', '.join(failed)}** |")
            verdicts.append(False)
            continue
        metric = "R²" if name == "diabetes" else "accuracy"
        scale = 100.0  # points: accuracy in %, R² x 100

        def summary(rs):
            scores = [r[0] * scale for r in rs]
            sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
            return statistics.mean(scores), sd, statistics.median(r[1] for r in rs), \
                max((r[2] for r in rs if r[2] is not None), default=None)

        o_mean, o_sd, o_wall, o_rss = summary(ok["ours"])
        s_mean, s_sd, s_wall, s_rss = summary(ok["sklearn"])
        delta = o_mean - s_mean
        speedup = s_wall / o_wall
        deltas.append(delta) if name != "mnist" else None
        passed = delta >= -MAX_POINTS_BELOW and (name == "mnist" or speedup >= TARGET_SPEEDUP)
        if name != "mnist":
            verdicts.append(passed)
        rss = f"{o_rss:.0f} / {s_rss:.0f}" if o_rss and s_rss else ""
        lines.append(f"| {name} | {config.strip()} | {metric} | {o_mean:.2f} ± {o_sd:.2f} | "
                     f"{s_mean:.2f} ± {s_sd:.2f} | {delta:+.2f} | {o_wall:.3f} | {s_wall:.2f} | "
                     f"**{speedup:.1f}x** | {rss} | {'pass' if passed else '**not met**'}"
                     f"{'' if name != 'mnist' else ' (info)'} |")
    lines.append("")
    if deltas:
        mean_delta = statistics.mean(deltas)
        lines.append(f"Mean difference over the {len(deltas)} tables: {mean_delta:+.2f} points "
                     f"(target: at least 0); every table within {MAX_POINTS_BELOW:g} points and "
                     f"at least {TARGET_SPEEDUP:g}x faster: {'yes' if all(verdicts) else 'no'}.")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if out_path:
        with open(out_path, "w") as f:
            f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare")
    prep.add_argument("out_dir")
    prep.add_argument("--seed", type=int, default=0)
    for name in ("sklearn", "sklearn-mnist"):
        s = sub.add_parser(name)
        if name == "sklearn":
            s.add_argument("train")
            s.add_argument("test")
            s.add_argument("--task", choices=["classification", "regression"], required=True)
        else:
            s.add_argument("dir")
        s.add_argument("--hidden", type=lambda v: [int(h) for h in v.split(",")], default=[100])
        s.add_argument("--epochs", type=int, default=200)
        s.add_argument("--batch", type=int, default=200)
        s.add_argument("--lr", type=float, default=0.001)
        s.add_argument("--alpha", type=float, default=0.0001)
        s.add_argument("--seed", type=int, default=0)
    rep = sub.add_parser("report")
    rep.add_argument("raw")
    rep.add_argument("out", nargs="?")
    args = p.parse_args()
    if args.command == "prepare":
        prepare(args.out_dir, args.seed)
    elif args.command == "sklearn":
        fit_sklearn(args)
    elif args.command == "sklearn-mnist":
        fit_sklearn_mnist(args)
    else:
        report(args.raw, args.out)


if __name__ == "__main__":
    main()

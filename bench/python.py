#!/usr/bin/python3
"""The Python side of bench/python.sh: backprop.MLPClassifier / MLPRegressor against
scikit-learn's, in one process, interleaved, and the same MNIST run from the CLI.

  bench/python.py [--rounds 3] [--quick] [--data DIR] [--cli build/apps/backprop] [--out FILE.md]

Both estimators get the same arrays and settings: scikit-learn's defaults (100 ReLU units,
Adam lr 1e-3, alpha 1e-4, batch min(200, rows), 200 epochs, its plateau stop off so both take
every epoch) on StandardScaler'd tables (stratified, seeded 80/20 split; diabetes' target
standardised), and 784-256-10 ReLU, Adam, batch 64, 3 epochs on MNIST (pixels / 255, float32).
Times are fit() alone (the data already in memory); each round runs every system once, in
turn, in alternating order. The CLI line is `backprop train` with the same network, optimizer
and seed on the same data; its epoch seconds (training only, as it prints them) are set
against fit() of backprop.MLPClassifier: the Python overhead.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

import backprop
import sklearn
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

warnings.simplefilter("ignore", ConvergenceWarning)
TABLES = {"breast_cancer": "load_breast_cancer", "wine": "load_wine", "digits": "load_digits",
          "diabetes": "load_diabetes"}


def table(name, seed):
    X, y = getattr(datasets, TABLES[name])(return_X_y=True)
    regression = name == "diabetes"
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=seed,
                                                        stratify=None if regression else y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if regression:
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    return X_train, X_test, y_train, y_test, regression


def timed_fit(make, X, y, X_test, y_test):
    """(wall seconds, score, epochs, CPU seconds) of fit(): on a shared machine the process's
    CPU time (all its threads) is the steadier figure; both are reported."""
    model = make()
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(X, y)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return seconds, model.score(X_test, y_test), model.n_iter_, cpu


def cli_mnist(cli, data, epochs, seed, alpha):
    """The same MNIST run from the command line; returns its epoch seconds and test accuracy."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "run.jsonl")
        subprocess.run([cli, "train", "--data", data, "--layers", "784,256,10", "--activation", "relu",
                        "--init-scheme", "xavier-uniform", "--optimizer", "adam", "--lr", "0.001",
                        "--batch", "64", "--epochs", str(epochs), "--weight-decay", repr(alpha / 64),
                        "--seed", str(seed), "--metrics", metrics, "--threads", os.environ.get("OMP_NUM_THREADS", "0")],
                       check=True, capture_output=True, text=True)
        lines = [json.loads(line) for line in open(metrics)]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime  # the whole process
    return sum(m["train_seconds"] for m in lines), lines[-1]["test_accuracy"], epochs, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 round, 1 MNIST epoch, 20 table epochs")
    parser.add_argument("--data", default=os.environ.get("BACKPROP_DATA", "data/mnist"))
    parser.add_argument("--cli", default="build/apps/backprop")
    parser.add_argument("--mnist-epochs", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    epochs = 20 if args.quick else 200
    mnist_epochs = 1 if args.quick else args.mnist_epochs
    alpha = 1e-4

    results = {}  # (dataset, system) -> list of (seconds, score, epochs)
    mnist = backprop.mnist(args.data)
    Xm = mnist["train_images"].astype(np.float32) / np.float32(255)
    Xm_test = mnist["test_images"].astype(np.float32) / np.float32(255)
    ym, ym_test = mnist["train_labels"].astype(np.int64), mnist["test_labels"].astype(np.int64)

    for r in range(rounds):
        seed = r + 1
        order = ["backprop", "sklearn"] if r % 2 == 0 else ["sklearn", "backprop"]
        for name in TABLES:
            X, X_test, y, y_test, regression = table(name, seed)
            settings = dict(hidden_layer_sizes=(100,), max_iter=epochs, n_iter_no_change=epochs + 1,
                            alpha=alpha, random_state=seed)
            for system in order:
                cls = {("backprop", False): backprop.MLPClassifier, ("backprop", True): backprop.MLPRegressor,
                       ("sklearn", False): MLPClassifier, ("sklearn", True): MLPRegressor}[system, regression]
                results.setdefault((name, system), []).append(
                    timed_fit(lambda: cls(**settings), X, y, X_test, y_test))
                print(name, system, results[name, system][-1], flush=True)
        settings = dict(hidden_layer_sizes=(256,), batch_size=64, max_iter=mnist_epochs,
                        n_iter_no_change=mnist_epochs + 1, alpha=alpha, random_state=seed)
        for system in order + ["cli"]:
            if system == "cli":
                results.setdefault(("mnist", "cli"), []).append(
                    cli_mnist(args.cli, args.data, mnist_epochs, seed, alpha))
            else:
                cls = backprop.MLPClassifier if system == "backprop" else MLPClassifier
                results.setdefault(("mnist", system), []).append(
                    timed_fit(lambda: cls(**settings), Xm, ym, Xm_test, ym_test))
            print("mnist", system, results["mnist", system][-1], flush=True)

    med = lambda values: statistics.median(values)  # noqa: E731
    rows = [f"bench/python.py, {rounds} round(s), {platform.node()}, {os.cpu_count()} CPUs, "
            f"scikit-learn {sklearn.__version__}, NumPy {np.__version__}",
            f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(all)')}, "
            f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(all)')}",
            "", "| data | backprop fit s (CPU s) | scikit-learn fit s (CPU s) | speed-up wall (CPU) |"
            " backprop score | scikit-learn score | epochs |", "|---|---|---|---|---|---|---|"]
    for name in list(TABLES) + ["mnist"]:
        ours, theirs = results[name, "backprop"], results[name, "sklearn"]
        t_ours, t_theirs = med([x[0] for x in ours]), med([x[0] for x in theirs])
        c_ours, c_theirs = med([x[3] for x in ours]), med([x[3] for x in theirs])
        rows.append(f"| {name} | {t_ours:.3f} ({c_ours:.3f}) | {t_theirs:.3f} ({c_theirs:.3f}) | "
                    f"{t_theirs / t_ours:.1f}x ({c_theirs / c_ours:.1f}x) | "
                    f"{med([x[1] for x in ours]):.4f} | {med([x[1] for x in theirs]):.4f} | "
                    f"{ours[0][2]} / {theirs[0][2]} |")
    cli = results["mnist", "cli"]
    t_cli, t_py = med([x[0] for x in cli]), med([x[0] for x in results["mnist", "backprop"]])
    c_cli, c_py = med([x[3] for x in cli]), med([x[3] for x in results["mnist", "backprop"]])
    rows += ["", f"MNIST from the CLI (same run): epoch seconds as printed {t_cli:.3f} s, whole process CPU "
             f"{c_cli:.3f} s (with loading and a test evaluation per epoch), test accuracy "
             f"{med([x[1] for x in cli]):.4f}; backprop.MLPClassifier.fit: {t_py:.3f} s wall, {c_py:.3f} s CPU: "
             f"Python overhead {100 * (t_py / t_cli - 1):+.1f}% (wall, against the epoch seconds)",
             "", "Every round (seconds): " + "; ".join(
                 f"{k[0]}/{k[1]} " + ", ".join(f"{x[0]:.3f}" for x in v) for k, v in results.items())]
    text = "\n".join(rows) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main())

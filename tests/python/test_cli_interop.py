# The Python module and the backprop command read and write the same numbers and files.
import os
import re
import subprocess

import numpy as np
import pytest

import backprop
from conftest import cli_path

CLI = cli_path()
needs_cli = pytest.mark.skipif(CLI is None, reason="BACKPROP_CLI is not set (CTest sets it)")


def run(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=True).stdout


@needs_cli
def test_gradients_are_the_numbers_backprop_grads_writes(tmp_path, mnist):
    X, y, _, _, data = mnist
    net = backprop.Network([784, 32, 10], activation="tanh", init="he-normal", dtype="f64", random_state=5)
    np.savez(tmp_path / "init.npz", **net.params)
    run("grads", "--init", str(tmp_path / "init.npz"), "--samples", "50", "--activation", "tanh",
        "--dtype", "f64", "--data", data, "--out", str(tmp_path / "g.npz"))
    cli = np.load(tmp_path / "g.npz")
    ours = net.gradients(X[:50], y[:50])
    assert float(cli["loss"]) == pytest.approx(ours["loss"], rel=1e-12)
    for name in ("dw1", "db1", "dw2", "db2"):
        np.testing.assert_allclose(ours[name], cli[name], rtol=1e-9, atol=1e-15, err_msg=name)


@needs_cli
def test_estimator_model_file_is_read_by_backprop_eval(tmp_path, mnist):
    X, y, X_test, y_test, data = mnist
    clf = backprop.MLPClassifier(hidden_layer_sizes=(32,), max_iter=2, batch_size=64, random_state=0)
    clf.fit(X[:6000], y[:6000])
    clf.save(tmp_path / "clf.model", scaling="unit")  # X was the IDX bytes / 255
    out = run("eval", "--model", str(tmp_path / "clf.model"), "--data", data)
    cli_accuracy = float(re.search(r"accuracy\s+([0-9.]+)", out).group(1))
    assert cli_accuracy == pytest.approx(clf.score(X_test, y_test), abs=1e-4)
    assert cli_accuracy > 0.85


@needs_cli
def test_load_reads_a_model_the_cli_trained(tmp_path, mnist):
    _, _, X_test, y_test, data = mnist
    out = run("train", "--hidden", "16", "--epochs", "1", "--threads", "1", "--data", data,
              "--out", str(tmp_path / "cli.model"))
    printed = float(re.search(r"final test accuracy ([0-9.]+)", out).group(1))
    clf = backprop.load(tmp_path / "cli.model")  # it applies the file's p / 255 itself
    assert isinstance(clf, backprop.MLPClassifier) and clf.n_features_in_ == 784
    assert list(clf.classes_) == list(range(10))
    raw = backprop.mnist(data)["test_images"]
    assert clf.score(raw, y_test) == pytest.approx(printed, abs=1e-4)
    net = backprop.Network.load(tmp_path / "cli.model")
    assert net.sizes == [784, 16, 10] and net.params["w1"].shape == (784, 16)


def test_seed_epoch_matches_the_trainer(mnist):
    """Network.train_epoch is the trainer's epoch: the seed preset's first epoch on 3000 images
    gives the loss `backprop train` computes (checked against the CLI's printed figure when present)."""
    X, y, X_test, y_test, _ = mnist
    a = backprop.Network([784, 64, 10], activation="sigmoid", init="seed", random_state=0)
    b = backprop.Network([784, 64, 10], activation="sigmoid", init="seed", random_state=0)
    la = a.train_epoch(X[:3000], y[:3000], lr=0.01, batch_size=64, grad_reduction="sum")
    lb = b.train_epoch(X[:3000], y[:3000], lr=0.01, batch_size=64, grad_reduction="sum")
    assert la == lb  # same seed, same run
    accuracy, loss = a.evaluate(X_test, y_test)
    assert 0.5 < accuracy < 1 and loss > 0


@needs_cli
def test_seed_preset_epochs_are_identical_to_the_cli(tmp_path, mnist):
    X, y, X_test, y_test, data = mnist
    out = run("train", "--preset", "seed", "--epochs", "2", "--data", data, "--threads", "1")
    lines = re.findall(r"Epoch \d+, Train Loss: [0-9.]+, Test Accuracy: [0-9.]+, Test Loss: [0-9.]+", out)
    net = backprop.Network([784, 256, 10], activation="sigmoid", init="seed", random_state=0)
    ours = []
    for epoch in range(2):  # the second epoch shuffles the first one's order, as the trainer does
        train_loss = net.train_epoch(X, y, lr=0.01, batch_size=64, grad_reduction="sum")
        accuracy, test_loss = net.evaluate(X_test, y_test)
        ours.append(f"Epoch {epoch}, Train Loss: {train_loss:.4f}, Test Accuracy: {accuracy:.4f}, "
                    f"Test Loss: {test_loss:.4f}")
    assert ours == lines


def test_threads_are_checked():
    with pytest.raises(ValueError, match="threads"):
        backprop.set_threads(-1)
    with pytest.raises(ValueError, match="4 x the"):  # the CLI's cap (issue 18): 100,000 crashed libgomp
        backprop.set_threads(100000)
    assert backprop.set_threads(1) == 1
    os.environ.setdefault("OMP_NUM_THREADS", "1")

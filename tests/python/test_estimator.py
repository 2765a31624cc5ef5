# backprop.MLPClassifier / MLPRegressor beyond scikit-learn's own checks: as accurate as
# scikit-learn's MLP on its tables, its attributes and layout, pickling, Ctrl-C, bad input.
import os
import pickle
import signal
import threading

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import backprop  # noqa: E402


def table(loader, classify=True):
    X, y = loader(return_X_y=True)
    split = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y if classify else None)
    scaler = StandardScaler().fit(split[0])
    return scaler.transform(split[0]), scaler.transform(split[1]), split[2], split[3]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
def test_classifier_as_accurate_as_scikit_learn(loader):
    X, X_test, y, y_test = table(loader)
    ours = backprop.MLPClassifier(random_state=0).fit(X, y).score(X_test, y_test)
    theirs = SkMLPClassifier(random_state=0).fit(X, y).score(X_test, y_test)
    assert ours >= theirs - 0.03, (ours, theirs)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_as_accurate_as_scikit_learn():
    X, X_test, y, y_test = table(load_diabetes, classify=False)
    mean, std = y.mean(), y.std()
    ours = backprop.MLPRegressor(random_state=0, max_iter=300).fit(X, (y - mean) / std)
    theirs = SkMLPRegressor(random_state=0, max_iter=300).fit(X, (y - mean) / std)
    r2 = ours.score(X_test, (y_test - mean) / std)
    assert r2 >= theirs.score(X_test, (y_test - mean) / std) - 0.05 and r2 > 0.1


def test_attributes_in_scikit_learns_layout():
    X, _, y, _ = table(load_wine)
    clf = backprop.MLPClassifier(hidden_layer_sizes=(20, 7), max_iter=30, random_state=1, tol=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(13, 20), (20, 7), (7, 3)]
    assert [b.shape for b in clf.intercepts_] == [(20,), (7,), (3,)]
    assert clf.n_iter_ == 30 and len(clf.loss_curve_) == 30 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.n_features_in_ == 13 and clf.n_layers_ == 4 and clf.n_outputs_ == 3
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.validation_scores_ is None
    # coefs_ and intercepts_ are what the network computes with: a hand-written forward agrees.
    h = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        h = np.maximum(h @ W + b, 0)
    z = h @ clf.coefs_[-1] + clf.intercepts_[-1]
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), p / p.sum(1, keepdims=True), rtol=1e-4, atol=1e-6)


def test_early_stopping_keeps_the_best_validation_score():
    X, _, y, _ = table(load_breast_cancer)
    clf = backprop.MLPClassifier(early_stopping=True, n_iter_no_change=3, max_iter=500, random_state=0).fit(X, y)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_ < 500
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_string_labels_partial_fit_and_warm_start():
    X, _, y, _ = table(load_wine)
    names = np.array(["barolo", "grignolino", "barbera"])[y]
    clf = backprop.MLPClassifier(max_iter=5, random_state=0)
    for _ in range(40):
        clf.partial_fit(X, names, classes=["barbera", "barolo", "grignolino"])
    assert clf.n_iter_ == 40 and set(clf.predict(X)) <= set(names) and clf.score(X, names) > 0.9
    with pytest.raises(ValueError, match="classes must be passed"):
        backprop.MLPClassifier().partial_fit(X, names)
    warm = backprop.MLPClassifier(max_iter=3, warm_start=True, random_state=0, tol=0).fit(X, y)
    first = warm.coefs_[0].copy()
    warm.fit(X, y)
    assert warm.n_iter_ == 6 and not np.array_equal(first, warm.coefs_[0])


@pytest.mark.parametrize("solver, extra", [("sgd", {"learning_rate": "adaptive"}), ("sgd", {"momentum": 0, "learning_rate_init": 0.01}),
                                           ("sgd", {"learning_rate": "invscaling", "learning_rate_init": 0.1}),
                                           ("adamw", {}), ("adam", {"schedule": "cosine", "dropout": 0.1})])
def test_every_solver_learns(solver, extra):
    X, X_test, y, y_test = table(load_breast_cancer)
    clf = backprop.MLPClassifier(solver=solver, max_iter=60, random_state=0, **extra)
    with _quiet():
        clf.fit(X, y)
    assert clf.score(X_test, y_test) > 0.9


def _quiet():
    import warnings
    w = warnings.catch_warnings()
    warnings.simplefilter("ignore")
    return w


def test_pickle_and_clone_and_f64(tmp_path):
    X, X_test, y, _ = table(load_wine)
    clf = backprop.MLPClassifier(max_iter=20, dtype="f64", random_state=0, tol=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X_test), clf.predict_proba(X_test))
    assert again.coefs_[0].dtype == np.float64 and again.loss_curve_ == clf.loss_curve_
    again.partial_fit(X, y)  # a fresh optimizer after unpickling, the same parameters
    assert again.n_iter_ == 21
    fresh = clone(clf)
    assert not hasattr(fresh, "n_iter_") and fresh.get_params() == clf.get_params()
    clf.save(tmp_path / "wine.model")
    loaded = backprop.load(tmp_path / "wine.model")
    np.testing.assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))


def test_keyboard_interrupt_stops_at_a_step_and_leaves_a_usable_model():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 50)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = backprop.MLPClassifier(hidden_layer_sizes=(256,), batch_size=32, max_iter=1000, n_iter_no_change=1000,
                                 random_state=0)  # no early stop: still training at the signal
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    timer.cancel()
    assert clf.n_iter_ < 1000
    assert np.isfinite(clf.coefs_[0]).all() and clf.predict(X[:5]).shape == (5,)
    clf.partial_fit(X[:100], y[:100])  # and it trains on


@pytest.mark.parametrize("params, message", [
    ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes must be positive integers"),
    ({"activation": "identity"}, "activation must be one of"),
    ({"solver": "lbfgs"}, "solver must be 'sgd', 'adam' or 'adamw'"),
    ({"alpha": -1}, "alpha must be a non-negative number"),
    ({"learning_rate_init": 0}, "learning_rate_init must be a positive number"),
    ({"batch_size": 0}, "batch_size must be 'auto' or a positive integer"),
    ({"max_iter": 0}, "max_iter must be a positive integer"),
    ({"beta_1": 1}, r"beta_1 must be in \[0, 1\)"),
    ({"validation_fraction": 1.5}, r"validation_fraction must be in \(0, 1\)"),
    ({"dtype": "f16"}, "dtype must be 'f32' or 'f64'"),
    ({"dropout": 1.0}, "dropout must be a rate"),
    ({"schedule": "exp"}, "schedule must be None"),
])
def test_bad_parameters_raise_value_error(params, message):
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=message):
        backprop.MLPClassifier(**params).fit(X, y)


def test_bad_data_raises_value_error():
    X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="NaN"):
        backprop.MLPClassifier().fit(np.full((4, 2), np.nan), y)
    with pytest.raises(ValueError, match="one class"):
        backprop.MLPClassifier().fit(X, [3, 3, 3, 3])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        backprop.MLPClassifier().fit(X, y[:3])
    clf = backprop.MLPClassifier(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 2"):
        clf.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.partial_fit(X, [0, 1, 2, 0])
    with pytest.raises(FileNotFoundError, match="nowhere.model"):
        backprop.load("/nonexistent/nowhere.model")


def test_the_gil_is_released_while_training():
    """Another Python thread keeps running while fit() trains (it would starve if fit held the GIL)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4000, 50)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    ticks, done = [0], threading.Event()

    def count():
        while not done.is_set():
            ticks[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    before = ticks[0]
    backprop.MLPClassifier(hidden_layer_sizes=(128,), max_iter=5, random_state=0, threads=1).fit(X, y)
    during = ticks[0] - before
    done.set()
    counter.join()
    assert during > 10000, during  # the counter thread got the interpreter while C++ trained

# backprop.Network against the blog's NumPy formulas: forward, gradients, one SGD step, views.
import numpy as np
import pytest

import backprop


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_gradients(p, X, y):
    """The seed's backward pass for 784-H-10 sigmoid softmax, gradients of the MEAN loss."""
    z1 = X @ p["w1"] + p["b1"]
    h1 = sigmoid(z1)
    y_hat = softmax(h1 @ p["w2"] + p["b2"])
    Y = np.eye(y_hat.shape[1])[y]
    B = len(X)
    dz2 = (y_hat - Y) / B
    dz1 = dz2 @ p["w2"].T * h1 * (1 - h1)
    loss = -np.mean(np.log(np.clip(y_hat[np.arange(B), y], 1e-12, 1 - 1e-12)))
    return {"dw2": h1.T @ dz2, "db2": dz2.sum(0, keepdims=True), "dw1": X.T @ dz1,
            "db1": dz1.sum(0, keepdims=True), "loss": loss}, y_hat, {"z1": z1, "h1": h1}


@pytest.fixture
def net():
    return backprop.Network([12, 7, 4], activation="sigmoid", init="seed", dtype="f64", random_state=3)


def test_params_are_the_seed_layout_and_writable(net):
    p = net.params
    assert list(p) == ["w1", "b1", "w2", "b2"]
    assert [p[k].shape for k in p] == [(12, 7), (1, 7), (7, 4), (1, 4)]
    assert 0 <= p["b1"].min() and p["b1"].max() < 1  # the seed's U[0, 1) biases
    p["w1"][2, 3] = 42.0                            # a view of the network's own memory
    assert net.params["w1"][2, 3] == 42.0


def test_forward_and_gradients_match_numpy(net, rng):
    X = rng.random((9, 12))
    y = rng.integers(0, 4, 9)
    p = {k: v.copy() for k, v in net.params.items()}
    expected, y_hat, cached = numpy_gradients(p, X, y)
    probs, cache = net.forward(X, cache=True)
    np.testing.assert_allclose(probs, y_hat, rtol=1e-12)
    np.testing.assert_allclose(cache["z1"], cached["z1"], rtol=1e-12)
    np.testing.assert_allclose(cache["h1"], cached["h1"], rtol=1e-12)
    g = net.gradients(X, y)
    for name in ["dw1", "db1", "dw2", "db2"]:
        np.testing.assert_allclose(g[name], expected[name], rtol=1e-10, atol=1e-14, err_msg=name)
    assert g["loss"] == pytest.approx(expected["loss"], rel=1e-12)


def test_step_is_params_minus_lr_times_gradients(net, rng):
    X = rng.random((5, 12))
    y = rng.integers(0, 4, 5)
    before = {k: v.copy() for k, v in net.params.items()}
    g = net.gradients(X, y)
    loss = net.step(X, y, lr=0.5)
    assert loss == pytest.approx(g["loss"])
    for name, value in net.params.items():
        np.testing.assert_allclose(value, before[name] - 0.5 * g["d" + name], rtol=1e-12, atol=1e-15)


def test_f32_uses_float32_and_agrees_with_f64(rng):
    X = rng.random((6, 12)).astype(np.float32)
    y = rng.integers(0, 4, 6)
    a = backprop.Network([12, 7, 4], activation="relu", dtype="f32", random_state=1)
    b = backprop.Network([12, 7, 4], activation="relu", dtype="f64", random_state=1)
    assert a.params["w1"].dtype == np.float32 and a.forward(X).dtype == np.float32
    np.testing.assert_allclose(a.gradients(X, y)["dw1"], b.gradients(X, y)["dw1"], rtol=1e-4, atol=1e-6)


def test_same_seed_same_network_and_mse_head(rng):
    a = backprop.Network([3, 5, 2], head="mse", random_state=7)
    b = backprop.Network([3, 5, 2], head="mse", random_state=7)
    np.testing.assert_array_equal(a.params["w1"], b.params["w1"])
    X = rng.random((4, 3)).astype(np.float32)
    Y = rng.random((4, 2)).astype(np.float32)
    out = a.forward(X)
    g = a.gradients(X, Y)  # L = mean over rows of 1/2 ||z - y||^2
    assert g["loss"] == pytest.approx(0.5 * np.mean(np.sum((out - Y) ** 2, axis=1)), rel=1e-5)
    np.testing.assert_allclose(g["db2"], ((out - Y) / 4).sum(0, keepdims=True), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda n: n.forward(np.ones((2, 3))), "X has 3 features per row, the network takes 12"),
    (lambda n: n.forward(np.ones(12)), "X must be 2-D"),
    (lambda n: n.forward(np.full((1, 12), np.nan)), "X holds nan at row 0, column 0"),
    (lambda n: n.gradients(np.ones((2, 12)), [0, 9]), r"y\[1\] is 9, not a class index in 0..3"),
    (lambda n: n.gradients(np.ones((2, 12)), [0]), "X has 2 rows but y has 1"),
    (lambda n: n.step(np.ones((2, 12)), [0, 1], lr=-1), "lr must be a positive number"),
])
def test_bad_input_raises_value_error(net, call, message):
    with pytest.raises(ValueError, match=message):
        call(net)


def test_bad_construction_raises_value_error():
    with pytest.raises(ValueError, match="unknown activation|activation"):
        backprop.Network([4, 3, 2], activation="nope")
    with pytest.raises(ValueError, match="dtype"):
        backprop.Network([4, 3, 2], dtype="f16")
    with pytest.raises(ValueError, match="positive"):
        backprop.Network([4, 0, 2])


def test_model_file_round_trip(tmp_path, net, rng):
    path = tmp_path / "net.model"
    net.save(path)
    again = backprop.Network.load(path)
    X = rng.random((3, 12))
    np.testing.assert_array_equal(again.forward(X), net.forward(X))
    with pytest.raises(FileNotFoundError, match="missing.model"):
        backprop.Network.load(tmp_path / "missing.model")
    (tmp_path / "junk.model").write_bytes(b"not a model at all, not at all")
    with pytest.raises(OSError, match="junk.model: not a backprop model file"):
        backprop.Network.load(tmp_path / "junk.model")
    with pytest.raises(OSError, match="no-such-dir"):
        net.save(tmp_path / "no-such-dir" / "x.model")

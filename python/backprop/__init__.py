"""backprop: fully connected networks with hand-derived gradients, from Python and NumPy.

    import backprop
    net = backprop.Network([784, 256, 10], activation="sigmoid", init="seed", random_state=0)
    y_hat, cache = net.forward(X, cache=True)      # cache: z1, h1, z2, y_hat
    g = net.gradients(X, y)                        # dw1, db1, dw2, db2, loss (as `backprop grads`)
    net.step(X, y, lr=0.01)                        # one SGD step

    clf = backprop.MLPClassifier(hidden_layer_sizes=(256,)).fit(X, y)   # scikit-learn's API

The numbers come from the same C++ library as the `backprop` command (the extension
backprop._backprop); docs/python.md walks the derivation with these calls.
"""

import os

import numpy as np

from . import _backprop
from ._backprop import set_threads

__all__ = ["Network", "MLPClassifier", "MLPRegressor", "load", "mnist", "set_threads"]


def _as_list(value, count, name):
    """One value for every hidden layer, or a list of them."""
    if isinstance(value, (list, tuple)):
        values = list(value)
        if len(values) not in (1, count) and count > 0:
            raise ValueError(f"{name}: {len(values)} values given for {count} hidden layers")
        return values * count if len(values) == 1 else values
    return [value] * count


class Network:
    """The library's network: Dense -> activation [-> dropout] -> ... -> Dense -> head.

    sizes: [inputs, hidden..., outputs]. activation: a name (sigmoid, tanh, relu, leaky_relu,
    elu, gelu, softplus) or one per hidden layer. head: "softmax" (cross-entropy; y are class
    indices) or "mse" (linear output; y are targets (N, outputs)). init: seed, xavier-normal,
    xavier-uniform, he-normal, he-uniform. dtype: "f32" or "f64". random_state: the seed of the
    generator that draws the parameters, the dropout masks and the epoch order.
    """

    def __init__(self, sizes, activation="sigmoid", head="softmax", dropout=0.0, init="xavier-normal",
                 dtype="f32", random_state=0, _core=None):
        if _core is not None:
            self._core = _core
            return
        sizes = [int(s) for s in sizes]
        hidden = max(len(sizes) - 2, 0)
        activations = _as_list(activation, hidden, "activation")
        rates = [float(r) for r in _as_list(dropout, hidden, "dropout")]
        if not any(rates):
            rates = []
        if not isinstance(random_state, int) or random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state!r}")
        self._core = _backprop.Core(sizes, activations, rates, head, init, dtype, random_state)

    # The network's shape.
    sizes = property(lambda self: list(self._core.sizes))
    activations = property(lambda self: list(self._core.activations))
    head = property(lambda self: self._core.head)
    dtype = property(lambda self: self._core.dtype)

    def __repr__(self):
        return f"backprop.Network({self._core.describe}, dtype {self.dtype})"

    @property
    def params(self):
        """w1 (n_0, n_1), b1 (1, n_1), ...: the network's own memory, writable in place."""
        return self._core.params()

    def forward(self, X, cache=False):
        """Probabilities (softmax head) or outputs (mse) for the rows of X, evaluation mode.

        With cache=True also returns a dict of every cached z_l and h_l (and y_hat)."""
        return self._core.forward(np.asarray(X), cache)

    def gradients(self, X, y):
        """dw1, db1, ... of the mean loss over the rows of X, and the loss itself."""
        return self._core.gradients(np.asarray(X), np.asarray(y))

    def step(self, X, y, lr):
        """One SGD step on the batch (X, y) with learning rate lr; returns the batch's loss."""
        return self._core.step(np.asarray(X), np.asarray(y), float(lr))

    def train_epoch(self, X, y, lr, batch_size=64, shuffle=True, grad_reduction="mean"):
        """One pass of minibatch SGD over (X, y), as `backprop train` runs it.

        grad_reduction="sum" is the blog's code (weight gradients summed over the batch).
        Returns the mean of the minibatch losses (what the CLI prints as Train Loss)."""
        if grad_reduction not in ("mean", "sum"):
            raise ValueError(f"grad_reduction must be 'mean' or 'sum', got {grad_reduction!r}")
        steps = max(1, -(-len(X) // int(batch_size)))
        self._core.set_schedule(_backprop.Schedule("constant", float(lr), steps, steps))
        return self._core.epoch(np.asarray(X), np.asarray(y), int(batch_size), bool(shuffle), grad_reduction == "sum")[1]

    def evaluate(self, X, y, batch_size=1000):
        """(accuracy, mean loss) over the rows of X, as `backprop train` evaluates."""
        return self._core.evaluate(np.asarray(X), np.asarray(y), int(batch_size))

    def save(self, path, scaling="unit"):
        """A model file that `backprop eval/predict/serve/export` read.

        scaling: how the CLI turns its files' values into this network's inputs: "unit"
        (p / 255, MNIST's bytes as the seed scales them) or "none"."""
        outputs = self.sizes[-1]
        if self.head == "softmax":
            self._core.save(os.fspath(path), [str(k) for k in range(outputs)], scaling)
        else:
            self._core.save(os.fspath(path), [], scaling, target_mean=[0.0] * outputs,
                            target_deviation=[1.0] * outputs)

    @classmethod
    def load(cls, path, dtype=None):
        """The network of a model file (or checkpoint) the CLI wrote (its raw inputs: no scaling)."""
        return cls(None, _core=_backprop.load_core(os.fspath(path), dtype or "")[0])


def load(path):
    """A fitted MLPClassifier (softmax models) or MLPRegressor (mse models) from a model file.

    It predicts from the file's own features: the model's scaling (p / 255 for MNIST's, the
    training mean and deviation for a CSV) is applied to X first, as `backprop predict` does."""
    from ._estimator import _from_core
    return _from_core(*_backprop.load_core(os.fspath(path), ""))


def mnist(directory=None):
    """MNIST as the CLI reads it (fetched when missing): dict of uint8 train/test images and labels.

    directory: default $BACKPROP_DATA, else ./data/mnist."""
    directory = directory or os.environ.get("BACKPROP_DATA") or os.path.join("data", "mnist")
    return _backprop.mnist(os.fspath(directory))


def __getattr__(name):
    # The estimators need scikit-learn; import it only when they are asked for.
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import _estimator
        return getattr(_estimator, name)
    raise AttributeError(f"module 'backprop' has no attribute {name!r}")

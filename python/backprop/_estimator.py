"""MLPClassifier and MLPRegressor: scikit-learn's estimators on the backprop library.

Parameters keep scikit-learn's names and meanings where both have them, so code written for
sklearn.neural_network runs by changing the import; the training itself (every minibatch step)
runs in C++ with the GIL released. Ours on top: dropout, schedule, init, threads (None: 1, or every core for big steps), dtype.

What matches scikit-learn's MLP: the defaults, the L2 penalty alpha (its gradient alpha W / B),
the SGD momentum and Nesterov variants, Adam, learning_rate constant / invscaling / adaptive,
tol and n_iter_no_change on the training loss or (early_stopping) on a validation score,
loss_curve_, best_loss_, validation_scores_, coefs_ (fan_in, fan_out) and intercepts_.
What differs: the output of a binary classifier is a 2-unit softmax (scikit-learn: one logistic
unit); initialisation is Xavier-uniform with zero biases; solver "lbfgs" is not offered.
"""

import os
import tempfile
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _backprop

# scikit-learn's activation names to the library's (ours pass through).
_ACTIVATIONS = {"logistic": "sigmoid", "tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid",
                "leaky_relu": "leaky_relu", "elu": "elu", "gelu": "gelu", "softplus": "softplus"}
_SOLVERS = ("sgd", "adam", "adamw")
_MAX_CLASSES = 256  # the library's class labels are bytes


class _BaseMLP(BaseEstimator):
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, schedule=None, init="xavier-uniform", threads=None, dtype="f32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.schedule = schedule
        self.init = init
        self.threads = threads
        self.dtype = dtype

    # --- the parameters, checked once per fit, each error one line naming the parameter ---

    def _check_params(self):
        def fail(name, why):
            raise ValueError(f"{name} {why}, got {getattr(self, name)!r}")

        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.isscalar(sizes) else list(sizes)
        if not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
            fail("hidden_layer_sizes", "must be positive integers")
        if self.activation not in _ACTIVATIONS:
            fail("activation", "must be one of " + ", ".join(["logistic"] + list(_ACTIVATIONS)[1:]))
        if self.solver not in _SOLVERS:
            fail("solver", "must be 'sgd', 'adam' or 'adamw' ('lbfgs' is not offered)")
        for name in ("alpha", "tol", "momentum", "power_t"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.number)) or not np.isfinite(value) or value < 0:
                fail(name, "must be a non-negative number")
        if not self.momentum <= 1:
            fail("momentum", "must be in [0, 1]")
        for name in ("learning_rate_init", "epsilon"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.number)) or not value > 0 or not np.isfinite(value):
                fail(name, "must be a positive number")
        for name in ("beta_1", "beta_2"):
            if not (0 <= getattr(self, name) < 1):
                fail(name, "must be in [0, 1)")
        if not 0 < self.validation_fraction < 1:
            fail("validation_fraction", "must be in (0, 1)")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            fail("learning_rate", "must be 'constant', 'invscaling' or 'adaptive'")
        if self.schedule not in (None, "constant", "step", "cosine"):
            fail("schedule", "must be None, 'constant', 'step' or 'cosine'")
        for name in ("max_iter", "n_iter_no_change"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                fail(name, "must be a positive integer")
        if not (self.batch_size == "auto" or (isinstance(self.batch_size, (int, np.integer)) and self.batch_size >= 1)):
            fail("batch_size", "must be 'auto' or a positive integer")
        if self.dtype not in ("f32", "f64"):
            fail("dtype", "must be 'f32' or 'f64'")
        if self.threads is not None and (not isinstance(self.threads, (int, np.integer)) or self.threads < 0):
            fail("threads", "must be None (chosen by size), 0 (every core) or a positive integer")
        rates = list(self.dropout) if isinstance(self.dropout, (list, tuple)) else [self.dropout]
        if not all(isinstance(r, (int, float, np.number)) and 0 <= r < 1 for r in rates) or \
                len(rates) not in (1, len(sizes)):
            fail("dropout", "must be a rate in [0, 1) or one per hidden layer")
        return [int(s) for s in sizes], [float(r) for r in rates] * (len(sizes) if len(rates) == 1 else 1)

    @property
    def _np_dtype(self):
        return np.float64 if self.dtype == "f64" else np.float32

    # --- fitting ---

    def fit(self, X, y):
        """Trains from scratch (or, with warm_start, from the current parameters) for up to max_iter epochs."""
        return self._fit(X, y, incremental=False)

    def _fit(self, X, y, incremental, classes=None):
        sizes, rates = self._check_params()
        first = not hasattr(self, "_core") or not (self.warm_start or incremental)
        X, y = self._validate_data(X, y, reset=first, dtype=self._np_dtype, order="C",
                                   multi_output=self._multi_output, y_numeric=not self._is_classifier)
        targets, outputs = self._encode_targets(y, first, classes)
        if len(X) < 1:
            raise ValueError("X holds no rows")
        _backprop.set_threads(self._threads(X.shape[1], sizes, outputs, len(X)))
        seed = check_random_state(self.random_state).randint(0, 2**31 - 1)
        if first:
            names = [_ACTIVATIONS[self.activation]] * len(sizes)
            head = "softmax" if self._is_classifier else "mse"
            self._core = _backprop.Core([X.shape[1]] + sizes + [outputs], names, rates if any(rates) else [],
                                        head, self.init.replace("_", "-"), self.dtype, int(seed))
            self.n_iter_, self.t_, self.loss_curve_ = 0, 0, []
            self._no_improvement_count = 0
            self.best_loss_ = None if self.early_stopping else np.inf
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_validation_score_ = -np.inf if self.early_stopping else None
            self._learning_rate = float(self.learning_rate_init)
            self.n_layers_ = len(sizes) + 2
            self.n_outputs_ = outputs
            self.out_activation_ = "softmax" if self._is_classifier else "identity"
        elif self._core.sizes[-1] != outputs:
            raise ValueError(f"y has {outputs} outputs, the fitted network {self._core.sizes[-1]}")
        if first or not incremental or not getattr(self, "_optimizer_ready", False):
            self._set_optimizer(len(X))
        self._train(X, targets, incremental, seed)
        return self

    def _threads(self, inputs, sizes, outputs, n):
        # One thread unless a step has enough work to share: below about 2^23 multiply-adds a
        # step's parallel regions cost more than they save (measured on 2 cores: a 64-100-10
        # step at batch 200 took 10x longer on 2 threads than on 1 while the machine was busy).
        if self.threads is not None:
            return int(self.threads)
        widths = [inputs] + sizes + [outputs]
        work = self._batch_size(n) * sum(a * b for a, b in zip(widths, widths[1:]))
        return 0 if work >= 2**23 else 1

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be "
                          "clipped")
        return int(np.clip(self.batch_size, 1, n))

    def _set_optimizer(self, n):
        # scikit-learn's L2 term adds alpha W / B to each weight gradient: weight decay alpha / B.
        # sgd with momentum is the library's momentum or nesterov (the same step, written v <- mu v + g).
        batch = self._batch_size(n)
        if self.solver == "sgd":
            name = ("nesterov" if self.nesterovs_momentum else "momentum") if self.momentum > 0 else "sgd"
        else:
            name = self.solver
        decay = self.alpha if self.solver == "adamw" else self.alpha / batch
        self._core.set_optimizer(_backprop.OptimizerConfig(name, float(self.momentum), float(self.beta_1),
                                                           float(self.beta_2), float(self.epsilon), float(decay)))
        self._optimizer_ready = True

    def _train(self, X, targets, incremental, seed):
        X_val = targets_val = None
        if self.early_stopping and not incremental:
            stratify = targets if self._is_classifier else None
            X, X_val, targets, targets_val = train_test_split(
                X, targets, random_state=seed, test_size=self.validation_fraction, stratify=stratify)
            X, X_val = np.ascontiguousarray(X), np.ascontiguousarray(X_val)
        n = len(X)
        # The first layer's sparse path pays only when most inputs are 0 (MNIST: 81%); on dense
        # tables, listing each batch's nonzeros before taking the dense product is wasted work.
        self._core.set_sparse_input(bool(np.count_nonzero(X[:10000]) <= 0.5 * X[:10000].size))
        batch = self._batch_size(n)
        steps_per_epoch = -(-n // batch)
        if self.schedule is not None:  # ours: the library's schedule over the whole run
            self._core.set_schedule(_backprop.Schedule(self.schedule, float(self.learning_rate_init),
                                                       steps_per_epoch, steps_per_epoch * self.max_iter))
        rate = None  # the constant rate last given to the core
        for _ in range(1 if incremental else self.max_iter):
            if self.schedule is None and self._current_learning_rate() != rate:
                rate = self._current_learning_rate()
                self._core.set_schedule(_backprop.Schedule("constant", rate))
            try:
                loss, _, steps, weight_norm2 = self._core.epoch(X, targets, batch, bool(self.shuffle),
                                                                checked=True)  # finite: _validate_data
            except KeyboardInterrupt:
                # The model stands as it was after the last whole step: usable, and reported so.
                if self.verbose:
                    print(f"Interrupted during iteration {self.n_iter_ + 1}")
                raise
            loss += 0.5 * self.alpha * weight_norm2 * steps / n  # as scikit-learn's: each batch adds alpha/2 ||W||^2 / B
            self.n_iter_ += 1
            self.t_ += n
            self.loss_curve_.append(loss)
            self.loss_ = loss
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
            self._update_no_improvement(X_val, targets_val)
            if self._no_improvement_count > self.n_iter_no_change:
                what = "Validation score" if self.early_stopping else "Training loss"
                message = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                if self.solver == "sgd" and self.learning_rate == "adaptive" and self._learning_rate > 1e-6:
                    self._learning_rate /= 5
                    self._no_improvement_count = 0
                    if self.verbose:
                        print(message + f" Setting learning rate to {self._learning_rate:f}")
                    continue
                if self.verbose:
                    print(message + " Stopping.")
                break
        else:
            if not incremental and self.max_iter > 0:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                              "optimization hasn't converged yet.", ConvergenceWarning)
        if self.early_stopping and not incremental and getattr(self, "_best_params", None) is not None:
            self._core.set_params_f64(self._best_params)
        self._best_params = None

    def _current_learning_rate(self):
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            return float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
        return self._learning_rate

    def _update_no_improvement(self, X_val, targets_val):
        if self.early_stopping and X_val is not None:
            score = self._validation_score(X_val, targets_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            self._no_improvement_count = (self._no_improvement_count + 1
                                          if score < self.best_validation_score_ + self.tol else 0)
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self._core.params_f64()
        elif not self.early_stopping:
            last = self.loss_curve_[-1]
            self._no_improvement_count = self._no_improvement_count + 1 if last > self.best_loss_ - self.tol else 0
            self.best_loss_ = min(self.best_loss_, last)

    # --- predicting ---

    def _scores(self, X):
        """Probabilities (classifier) or outputs (regressor), float64, for the rows of X."""
        check_is_fitted(self, "n_iter_")
        X = self._validate_data(X, reset=False, dtype=self._np_dtype, order="C")
        scaling = getattr(self, "_input_scaling", None)  # a model file's (backprop.load)
        if scaling is not None:
            X = np.ascontiguousarray(((X - scaling[0]) / scaling[1]).astype(self._np_dtype))
        return self._core.predict_f64(X)

    # --- the network's parameters, scikit-learn's layout (the network's own memory) ---

    @property
    def coefs_(self):
        check_is_fitted(self, "n_iter_")
        return [w for name, w in self._core.params().items() if name[0] == "w"]

    @property
    def intercepts_(self):
        check_is_fitted(self, "n_iter_")
        return [b.ravel() for name, b in self._core.params().items() if name[0] == "b"]

    def save(self, path, scaling="none"):
        """A model file that `backprop eval/predict/serve/export` read.

        scaling: how the CLI should turn its files' values into this estimator's X: "none"
        (X is the file's values), or "unit" (X was bytes / 255, as for MNIST). Class names are
        str(classes_)."""
        check_is_fitted(self, "n_iter_")
        if getattr(self, "_input_scaling", None) is not None:
            raise ValueError("save: this model came from a model file with its own scaling; copy that file")
        self._write_model(os.fspath(path), scaling)

    def _write_model(self, path, scaling):
        outputs = self._core.sizes[-1]
        if self._is_classifier:
            self._core.save(path, [str(c) for c in self.classes_], scaling)
        else:
            self._core.save(path, [], scaling, target_mean=[0.0] * outputs, target_deviation=[1.0] * outputs)

    # --- pickling: the network travels as the project's model-file bytes ---

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object.__getstate__ may return __dict__ itself
        core = state.pop("_core", None)
        if core is not None:
            with tempfile.TemporaryDirectory() as directory:
                path = os.path.join(directory, "network.model")
                self._write_model(path, "none")
                with open(path, "rb") as f:
                    state["_model_file"] = f.read()
        state.pop("_optimizer_ready", None)  # the optimizer's moments are not in a model file
        return state

    def __setstate__(self, state):
        model = state.pop("_model_file", None)
        super().__setstate__(state)
        if model is not None:
            with tempfile.TemporaryDirectory() as directory:
                path = os.path.join(directory, "network.model")
                with open(path, "wb") as f:
                    f.write(model)
                self._core = _backprop.load_core(path, self.dtype)[0]


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier: softmax output, cross-entropy loss (scikit-learn's API)."""

    _is_classifier = True
    _multi_output = False

    def _encode_targets(self, y, first, classes):
        check_classification_targets(y)
        if first:
            if classes is not None:
                self.classes_ = np.unique(np.asarray(classes))
            elif getattr(self, "_partial", False):
                raise ValueError("classes must be passed on the first call to partial_fit.")
            else:
                self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                raise ValueError(f"y holds one class ({self.classes_[0]!r}); a classifier needs 2 or more")
            if len(self.classes_) > _MAX_CLASSES:
                raise ValueError(f"y holds {len(self.classes_)} classes; at most {_MAX_CLASSES} are supported")
        unseen = np.setdiff1d(y, self.classes_)
        if len(unseen):
            raise ValueError(f"y holds labels not in classes_: {unseen[:5].tolist()}")
        return np.searchsorted(self.classes_, y).astype(np.int32), len(self.classes_)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y); classes (every label there will be) is needed on the first call."""
        if self.solver not in _SOLVERS:
            raise ValueError(f"partial_fit is only available for stochastic optimizers, got {self.solver!r}")
        self._partial = True
        try:
            first = not hasattr(self, "_core")
            return self._fit(X, y, incremental=True, classes=classes if first else None)
        finally:
            del self._partial

    def _validation_score(self, X, targets):
        return accuracy_score(targets, self._core.predict_f64(X).argmax(axis=1))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of classes_."""
        return self._scores(X)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        scores = self._scores(X)  # first: an unfitted model raises NotFittedError there
        return self.classes_[np.argmax(scores, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor: linear output, squared error (scikit-learn's API)."""

    _is_classifier = False
    _multi_output = True

    def _more_tags(self):
        return {"multioutput": True}

    def _encode_targets(self, y, first, classes):
        y = np.asarray(y, dtype=self._np_dtype)
        if first:
            self._y_ndim = y.ndim
        y2 = y.reshape(len(y), -1)
        return np.ascontiguousarray(y2), y2.shape[1]

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current parameters."""
        return self._fit(X, y, incremental=True)

    def _validation_score(self, X, targets):
        return r2_score(targets, self._core.predict_f64(X))

    def predict(self, X):
        out = self._scores(X)
        target = getattr(self, "_target_scaling", None)  # a model file's standardised targets
        if target is not None:
            out = out * target[1] + target[0]
        return out.ravel() if out.shape[1] == 1 else out


def _from_core(core, schema):
    """A fitted estimator around a network read from a model file (backprop.load)."""
    activation = {"sigmoid": "logistic"}.get(core.activations[0], core.activations[0]) if core.activations \
        else "relu"
    classifier = core.head == "softmax"
    model = (MLPClassifier if classifier else MLPRegressor)(
        hidden_layer_sizes=tuple(core.sizes[1:-1]), activation=activation, dtype=core.dtype)
    model._core = core
    model.n_features_in_ = core.sizes[0]
    model.n_iter_, model.t_, model.loss_curve_ = 0, 0, []
    model.n_layers_, model.n_outputs_ = len(core.sizes), core.sizes[-1]
    model.out_activation_ = "softmax" if classifier else "identity"
    # x = (v - shift) / scale, as the model's Scaling (data/dataset.hpp) turns file values into inputs.
    if schema["scaling"] == "unit":
        model._input_scaling = (0.0, 255.0)
    elif schema["scaling"] == "standard":
        model._input_scaling = (np.asarray(schema["mean"], np.float64), np.asarray(schema["deviation"], np.float64))
    if classifier:
        names = schema["classes"]
        numbered = all(n.lstrip("-").isdigit() for n in names)
        model.classes_ = np.array([int(n) for n in names]) if numbered else np.array(names)
    else:
        model._y_ndim = 1 if core.sizes[-1] == 1 else 2
        model._target_scaling = (np.asarray(schema["target_mean"]), np.asarray(schema["target_deviation"]))
    return model

"""A small NumPy interpreter for the ONNX operators `backprop export --onnx` emits, so a test
can run the exported graph without an ONNX runtime. Each operator follows the ONNX operator
specification (opset 13) and computes in the dtype of its inputs, as a runtime would.

  outputs = run(model_proto, {"input": array})   # -> {output name: array}

Any operator outside this list is refused: the test then fails instead of guessing.
"""
import numpy as np
from onnx import numpy_helper


def _attribute(node, name, default):
    for a in node.attribute:
        if a.name == name:
            if a.type == a.FLOAT:
                return a.f
            if a.type == a.INT:
                return a.i
            raise ValueError(f"{node.op_type}: attribute {name} has an unsupported type")
    return default


def _gemm(node, a, b, c=None):
    # Y = alpha * A' * B' + beta * C, A' = transpose(A) if transA, likewise B
    alpha = _attribute(node, "alpha", 1.0)
    beta = _attribute(node, "beta", 1.0)
    if _attribute(node, "transA", 0):
        a = a.T
    if _attribute(node, "transB", 0):
        b = b.T
    y = a @ b
    if alpha != 1.0:
        y = y * y.dtype.type(alpha)
    if c is not None:
        y = y + (c if beta == 1.0 else c * c.dtype.type(beta))
    return y


def _softmax(node, x):
    axis = _attribute(node, "axis", -1)  # opset 13: default -1
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _typed(f):
    """Evaluates f and casts the result back to the input's dtype (NumPy may widen)."""
    def g(node, x, *rest):
        return np.asarray(f(node, x, *rest)).astype(x.dtype, copy=False)
    return g


OPS = {
    "Gemm": _gemm,
    "Softmax": _softmax,
    "Sigmoid": _typed(lambda n, x: 1 / (1 + np.exp(-x))),
    "Tanh": _typed(lambda n, x: np.tanh(x)),
    "Relu": _typed(lambda n, x: np.maximum(x, 0)),
    "LeakyRelu": _typed(lambda n, x: np.where(x >= 0, x, x * x.dtype.type(_attribute(n, "alpha", 0.01)))),
    "Elu": _typed(lambda n, x: np.where(x >= 0, x, x.dtype.type(_attribute(n, "alpha", 1.0)) * (np.exp(x) - 1))),
    "Softplus": _typed(lambda n, x: np.log(np.exp(x) + 1)),
    "Add": lambda n, a, b: a + b,
    "Sub": lambda n, a, b: a - b,
    "Div": lambda n, a, b: a / b,
    "Mul": lambda n, a, b: a * b,
    "Identity": lambda n, x: x,
}


def run(model, inputs):
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    values.update(inputs)
    for node in model.graph.node:  # ONNX requires nodes in topological order
        if node.domain not in ("", "ai.onnx"):
            raise ValueError(f"node {node.name}: domain {node.domain!r} is not interpreted")
        if node.op_type not in OPS:
            raise ValueError(f"node {node.name}: operator {node.op_type} is not interpreted")
        args = [values[name] for name in node.input if name]
        with np.errstate(over="ignore"):  # exp overflow to inf is what a runtime does too
            result = OPS[node.op_type](node, *args)
        values[node.output[0]] = result
    return {out.name: values[out.name] for out in model.graph.output}

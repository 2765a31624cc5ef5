#!/usr/bin/env python3
"""The exports, checked from Python on the first 1000 MNIST test images.

  export_test.py npz  BACKPROP_BINARY DATA_DIR WORK_DIR
      `backprop export --npz`, loaded with numpy.load and run by a plain NumPy forward pass
      (the seed's view: x @ w1 + b1, ...), gives the C++ classes on every image and the C++
      probabilities to 1e-5 (float32 models) or 1e-12 (float64 models).
  export_test.py onnx BACKPROP_BINARY DATA_DIR WORK_DIR
      `backprop export --onnx` passes onnx.checker (full check, with shape inference), uses
      opset 13 and only the operators docs/export.md lists, and run by the NumPy interpreter
      of those operators (onnx_numpy.py) on the raw pixels (0..255: the graph applies the
      model's scaling) gives the C++ probabilities to 1e-5.

The C++ side is `backprop predict --json` on the same 1000 images. The models: one trained
briefly (784-32-10 sigmoid), one 8-layer network with every activation (imported from random
.npz parameters) in float32 and float64, and an mse head. Exits 77 (skipped) when numpy, or
for onnx the onnx package (Debian python3-onnx), is missing.
"""
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

IMAGES = 1000
ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus"]
EMITTED_OPS = {"Gemm", "Softmax", "Sigmoid", "Tanh", "Relu", "LeakyRelu", "Elu", "Softplus", "Add", "Mul", "Sub", "Div"}


def activation(name, z):
    """The formulas of src/nn/activation.cpp, in NumPy."""
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "elu":
        return np.where(z > 0, z, np.exp(np.minimum(z, 0)) - 1)
    if name == "gelu":
        return 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)))
    if name == "softplus":
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    raise ValueError(name)


def numpy_forward(params, activations, head, x):
    """The seed's forward pass: one row per example, w (n_in, n_out), b (1, n_out)."""
    h = x
    layers = len(activations) + 1
    for l in range(1, layers + 1):
        z = h @ params[f"w{l}"] + params[f"b{l}"]
        h = activation(activations[l - 1], z) if l < layers else z
    if head == "mse":
        return h
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def first_images(data, work):
    """The first IMAGES test images as their own IDX file, and as float32 p / 255 inputs."""
    with open(os.path.join(data, "t10k-images-idx3-ubyte"), "rb") as f:
        header = f.read(16)
        pixels = np.frombuffer(f.read(IMAGES * 784), dtype=np.uint8)
    path = os.path.join(work, "first.idx")
    with open(path, "wb") as f:
        f.write(header[:4] + IMAGES.to_bytes(4, "big") + header[8:16] + pixels.tobytes())
    x = pixels.reshape(IMAGES, 784).astype(np.float32) / np.float32(255)
    return path, x, pixels.reshape(IMAGES, 784).astype(np.float32)


def cpp_scores(backprop, model, images):
    out = subprocess.run([backprop, "predict", "--model", model, "--json", "--threads", "1", images],
                         check=True, capture_output=True, text=True).stdout
    predictions = json.loads(out)["predictions"]
    key = "probabilities" if "probabilities" in predictions[0] else "scores"
    # Keyed by class name; an MNIST model's names are "0".."9".
    scores = [[p[key][str(k)] for k in range(len(p[key]))] for p in predictions]
    return np.array(scores), np.array([int(p["class"]) for p in predictions])


def make_models(backprop, data, work):
    """(name, model file, activations, head, is_double) for each model under test."""
    run = lambda *args: subprocess.run([backprop, *args], check=True, stdout=subprocess.DEVNULL)
    p = lambda name: os.path.join(work, name)
    run("train", "--data", data, "--no-fetch", "--train-limit", "2000", "--epochs", "1", "--hidden", "32",
        "--activation", "sigmoid", "--lr", "0.5", "--threads", "1", "--quiet", "--out", p("trained.bpm"))
    rng = np.random.default_rng(5)
    sizes = [784, 48, 40, 32, 32, 24, 24, 16, 10]
    deep = {}
    for l in range(1, len(sizes)):
        deep[f"w{l}"] = rng.normal(0, np.sqrt(2 / sizes[l - 1]), (sizes[l - 1], sizes[l]))
        deep[f"b{l}"] = rng.uniform(-0.2, 0.2, (1, sizes[l]))
    np.savez(p("deep64.npz"), **deep)
    np.savez(p("deep32.npz"), **{k: v.astype(np.float32) for k, v in deep.items()})
    every = ",".join(ACTIVATIONS)
    run("import", "--npz", p("deep32.npz"), "--activation", every, "--out", p("deep32.bpm"))
    run("import", "--npz", p("deep64.npz"), "--activation", every, "--out", p("deep64.bpm"))
    small = {k: deep[k].astype(np.float32) for k in ("w1", "b1")}
    small["w2"] = rng.normal(0, 0.2, (48, 10)).astype(np.float32)
    small["b2"] = rng.uniform(-0.2, 0.2, (1, 10)).astype(np.float32)
    np.savez(p("mse.npz"), **small)
    run("import", "--npz", p("mse.npz"), "--activation", "tanh", "--head", "mse", "--out", p("mse.bpm"))
    return [("trained", p("trained.bpm"), ["sigmoid"], "softmax", False),
            ("deep32", p("deep32.bpm"), ACTIVATIONS, "softmax", False),
            ("deep64", p("deep64.bpm"), ACTIVATIONS, "softmax", True),
            ("mse", p("mse.bpm"), ["tanh"], "mse", False)]


def check_npz(backprop, models, images, x, work):
    failures = 0
    for name, model, activations, head, is_double in models:
        out = os.path.join(work, name + ".npz")
        subprocess.run([backprop, "export", "--model", model, "--npz", out], check=True, stdout=subprocess.DEVNULL)
        params = dict(np.load(out))
        scaling = (params.get("input_mean"), params.get("input_deviation"))
        if scaling[0] is None or np.any(scaling[0] != 0) or np.any(scaling[1] != 255):
            print(f"FAIL npz {name}: input_mean 0 and input_deviation 255 (an MNIST model's p / 255) missing")
            failures += 1
        dtype = np.float64 if is_double else np.float32
        wrong_dtype = [k for k, v in params.items() if v.dtype != dtype]
        scores = numpy_forward({k: v.astype(np.float64) for k, v in params.items()}, activations, head,
                               x.astype(np.float64))
        cpp, cpp_class = cpp_scores(backprop, model, images)
        tolerance = 1e-12 if is_double else 1e-5
        worst = float(np.max(np.abs(scores - cpp)))
        top2 = np.sort(cpp, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > tolerance  # a class is defined where there is no near-tie
        disagree = int(np.sum((scores.argmax(axis=1) != cpp_class) & clear))
        ok = worst <= tolerance and disagree == 0 and not wrong_dtype and clear.sum() >= IMAGES - 5
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} npz {name}: max |numpy - C++| = {worst:.3g} (tolerance {tolerance:g}), "
              f"{disagree} of {clear.sum()} classes differ ({IMAGES - clear.sum()} near-ties)"
              + (f", arrays in the wrong dtype: {wrong_dtype}" if wrong_dtype else ""))
    return failures


def check_onnx(backprop, models, images, x, work, raw):
    try:
        import onnx
    except ImportError:
        from skip_rule import skip
        skip("the onnx package is not installed (Debian python3-onnx)")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import onnx_numpy

    failures = 0
    for name, model, activations, head, is_double in models:
        out = os.path.join(work, name + ".onnx")
        subprocess.run([backprop, "export", "--model", model, "--onnx", out], check=True, stdout=subprocess.DEVNULL)
        proto = onnx.load(out)
        problems = []
        try:
            onnx.checker.check_model(proto, full_check=True)
        except Exception as e:  # onnx.checker.ValidationError, or shape inference errors
            problems.append(f"onnx.checker: {e}")
        opsets = {o.domain: o.version for o in proto.opset_import}
        if opsets != {"": 13}:
            problems.append(f"opsets {opsets}, expected only the default domain at 13")
        ops = {n.op_type for n in proto.graph.node}
        if not ops <= EMITTED_OPS:
            problems.append(f"operators outside docs/export.md: {ops - EMITTED_OPS}")
        outputs = [o.name for o in proto.graph.output]
        wanted = "scores" if head == "mse" else "probabilities"
        if outputs[0] != wanted:
            problems.append(f"first output {outputs[0]!r}, expected {wanted!r}")
        dtype = np.float64 if is_double else np.float32
        # The graph takes the raw pixels (0..255) and divides by 255 itself, as the model's scaling says.
        result = onnx_numpy.run(proto, {"input": raw.astype(dtype)})[wanted]
        cpp, _ = cpp_scores(backprop, model, images)
        worst = float(np.max(np.abs(result.astype(np.float64) - cpp)))
        if result.dtype != dtype:
            problems.append(f"the graph computes in {result.dtype}, the model is {np.dtype(dtype)}")
        if not worst <= 1e-5:
            problems.append(f"max difference {worst:.3g} > 1e-5")
        failures += bool(problems)
        print(f"{'ok  ' if not problems else 'FAIL'} onnx {name}: checker passed, opset 13, "
              f"ops {sorted(ops)}, max |interpreter - C++| = {worst:.3g}"
              + (f"   <-- {'; '.join(problems)}" if problems else ""))
    return failures


def main():
    mode, backprop, data, work = sys.argv[1:5]
    if mode == "onnx":
        try:
            import onnx  # noqa: F401  (skip before doing any work)
        except ImportError:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            from skip_rule import skip
            skip("the onnx package is not installed (Debian python3-onnx)")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    images, x, raw = first_images(data, work)
    models = make_models(backprop, data, work)
    failures = (check_npz(backprop, models, images, x, work) if mode == "npz"
                else check_onnx(backprop, models, images, x, work, raw))
    print(f"{len(models) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

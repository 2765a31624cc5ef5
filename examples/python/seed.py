#!/usr/bin/python3
"""The blog's run from Python: 784-256-10 sigmoid, softmax, SGD lr 0.01, batch 64, 20 epochs.

It prints the lines `backprop train --preset seed` prints, with the same numbers: the same
library does every step (backprop.Network), with the seed's initialisation (W ~ N(0, 1/fan_in),
b ~ U[0, 1)), the seed's gradient scaling (weight gradients summed over the batch,
docs/seed-quirk.md) and the same random generator for the order of the examples.

    PYTHONPATH=build/python python3 examples/python/seed.py [--epochs N] [--data DIR]
"""
# %% The data: MNIST as the CLI reads it (fetched into data/mnist when missing), pixels / 255
# as float32 (the seed's ToTensor; a C-contiguous float32 array is used without a copy).
import argparse
import os
import time

import numpy as np

import backprop

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--data", default=os.environ.get("BACKPROP_DATA", os.path.join("data", "mnist")))
parser.add_argument("--threads", type=int, default=0, help="0: every core, as the CLI")
args = parser.parse_args()

threads = backprop.set_threads(args.threads)
mnist = backprop.mnist(args.data)
X_train = mnist["train_images"].astype(np.float32) / np.float32(255)
X_test = mnist["test_images"].astype(np.float32) / np.float32(255)
y_train, y_test = mnist["train_labels"], mnist["test_labels"]

# %% The network: w1 (784, 256), b1 (1, 256), w2 (256, 10), b2 (1, 10), as the blog holds them.
# random_state=0 is the CLI's default --seed: the same parameters, then the same epoch orders.
net = backprop.Network([784, 256, 10], activation="sigmoid", init="seed", random_state=0)
print(f"network 784-256-10 sigmoid softmax, preset seed, {threads} threads, dtype {net.dtype}")
print(f"data {args.data}: {len(X_train)} training, 0 validation, {len(X_test)} test images")

# %% Training: each epoch shuffles, then one SGD step per batch of 64 (forward, backward,
# w <- w - lr dw); then the test set, evaluated in batches of 1000 as the seed does.
for epoch in range(args.epochs):
    start = time.perf_counter()
    train_loss = net.train_epoch(X_train, y_train, lr=0.01, batch_size=64, grad_reduction="sum")
    seconds = time.perf_counter() - start
    accuracy, test_loss = net.evaluate(X_test, y_test)
    print(f"Epoch {epoch}, Train Loss: {train_loss:.4f}, Test Accuracy: {accuracy:.4f}, "
          f"Test Loss: {test_loss:.4f}, {seconds:.2f} s", flush=True)
print(f"final test accuracy {net.evaluate(X_test, y_test)[0]:.4f} after {args.epochs} epochs")

# %% The same parameters, as NumPy sees them: the blog's forward pass by hand agrees.
p = net.params
h = 1 / (1 + np.exp(-(X_test[:5] @ p["w1"] + p["b1"])))
z2 = h @ p["w2"] + p["b2"]
print("first five test digits:", np.argmax(z2, axis=1), "labels:", y_test[:5])

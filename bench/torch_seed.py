#!/usr/bin/python3
"""The seed network trained with PyTorch: what a Python user would write, and the fastest we can.

  torch_seed.py --data DIR [--variant idiomatic|tuned|manual] [--epochs 3] [--threads 2]

784-256-10, sigmoid, softmax cross-entropy, batch 64, float32, plain SGD at the seed's
learning rate 0.01 with the seed's reduction (weight gradients summed over the batch, bias
gradients averaged: tests/oracle_seed.py); the seed's initialisation (randn * sqrt(1/fan_in)
weights, U[0,1) biases). The training images are preloaded once as float32 p / 255.

  idiomatic  TensorDataset + DataLoader(shuffle=True), nn.Sequential, nn.CrossEntropyLoss
             (mean), optim.SGD with two parameter groups: weights at lr * 64 (a mean gradient
             x 64 = the seed's summed one), biases at lr. The last batch of 32 therefore gets
             weight steps twice the seed's; that changes no timing. loss.item() every step.
  tuned      no DataLoader: torch.randperm and index_select on the preloaded tensor; the same
             model and optimizer with foreach=True, zero_grad(set_to_none=True), the weight
             learning rate set per batch (exactly the seed's update), the loss summed as a
             tensor and read once per epoch.
  manual     the hand-derived backward (as this project does) under torch.no_grad(), the
             weight update fused into the gradient product (w1.addmm_(x.T, dz1, alpha=-lr)).

torch.set_num_threads(T) and torch.set_num_interop_threads(1); torch's products go to its BLAS
(Debian: OpenBLAS), and bench/run.sh picks the environment so that only one pool runs.
Prints one JSON object per epoch, training loop only (shuffle, batches, steps):
  {"system": "pytorch", "mode": "tuned", "threads": 2, "epoch": 0, "train_seconds": ..., "train_loss": ...}
and then the test accuracy (not timed), to show the run trained.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load(data, split):
    images = read_idx(os.path.join(data, f"{split}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(data, f"{split}-labels-idx1-ubyte"))
    X = torch.from_numpy(images.reshape(len(images), 784).astype(np.float32) / np.float32(255))
    Y = torch.from_numpy(labels.astype(np.int64))
    return X, Y


def seed_model(hidden):
    model = nn.Sequential(nn.Linear(784, hidden), nn.Sigmoid(), nn.Linear(hidden, 10))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            layer.weight.copy_(torch.randn_like(layer.weight) * math.sqrt(1.0 / layer.in_features))
            layer.bias.copy_(torch.rand_like(layer.bias))
    return model


def seed_optimizer(model, lr, batch, **options):
    weights = [model[0].weight, model[2].weight]
    biases = [model[0].bias, model[2].bias]
    return torch.optim.SGD([{"params": weights, "lr": lr * batch}, {"params": biases, "lr": lr}], lr=lr, **options)


def epoch_idiomatic(model, optimizer, loader, lr):
    criterion = nn.CrossEntropyLoss()
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total


def epoch_tuned(model, optimizer, X, Y, batch, lr):
    n = X.shape[0]
    order = torch.randperm(n)
    total = torch.zeros(())
    weight_group = optimizer.param_groups[0]
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        x, y = X.index_select(0, idx), Y.index_select(0, idx)
        weight_group["lr"] = lr * len(idx)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.detach()
    return total.item()


def epoch_manual(params, X, Y, batch, lr):
    w1, b1, w2, b2 = params  # (784, H), (H), (H, 10), (10): the blog's layout
    n = X.shape[0]
    with torch.no_grad():
        order = torch.randperm(n)
        total = torch.zeros(())
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            x, y = X.index_select(0, idx), Y.index_select(0, idx).unsqueeze(1)
            h = torch.addmm(b1, x, w1).sigmoid_()
            log_y_hat = torch.addmm(b2, h, w2).log_softmax(1)
            total -= log_y_hat.gather(1, y).mean()
            dz2 = log_y_hat.exp_()
            dz2.scatter_add_(1, y, torch.full((len(idx), 1), -1.0))  # y_hat - y, the seed's sum
            dz1 = torch.ops.aten.sigmoid_backward(dz2.mm(w2.T), h)  # (dz2 W2^T) * h (1 - h)
            w2.addmm_(h.T, dz2, alpha=-lr)
            w1.addmm_(x.T, dz1, alpha=-lr)
            b2.sub_(dz2.mean(0), alpha=lr)
            b1.sub_(dz1.mean(0), alpha=lr)
    return total.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("BACKPROP_DATA", "data/mnist"))
    parser.add_argument("--variant", choices=["idiomatic", "tuned", "manual"], default="tuned")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_interop_threads(1)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(torch.__config__.parallel_info(), file=sys.stderr)
    lr, batch = 0.01, 64

    X, Y = load(args.data, "train")
    model = seed_model(args.hidden)
    if args.variant == "idiomatic":
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=batch, shuffle=True)
        optimizer = seed_optimizer(model, lr, batch)
    elif args.variant == "tuned":
        optimizer = seed_optimizer(model, lr, batch, foreach=True)
    else:
        params = [model[0].weight.T.contiguous(), model[0].bias, model[2].weight.T.contiguous(), model[2].bias]
        params = [p.detach() for p in params]

    batches = (len(Y) + batch - 1) // batch
    for epoch in range(args.epochs):
        start = time.perf_counter()
        if args.variant == "idiomatic":
            total = epoch_idiomatic(model, optimizer, loader, lr)
        elif args.variant == "tuned":
            total = epoch_tuned(model, optimizer, X, Y, batch, lr)
        else:
            total = epoch_manual(params, X, Y, batch, lr)
        seconds = time.perf_counter() - start
        print(json.dumps({"system": "pytorch", "mode": args.variant, "threads": args.threads, "epoch": epoch,
                          "train_seconds": round(seconds, 6), "train_loss": round(total / batches, 6)}), flush=True)

    Xt, Yt = load(args.data, "t10k")
    with torch.no_grad():
        if args.variant == "manual":
            w1, b1, w2, b2 = params
            logits = torch.addmm(b2, torch.addmm(b1, Xt, w1).sigmoid(), w2)
        else:
            logits = model(Xt)
        accuracy = (logits.argmax(1) == Yt).double().mean().item()
    print(json.dumps({"system": "pytorch", "mode": args.variant, "threads": args.threads,
                      "test_accuracy": round(accuracy, 4)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

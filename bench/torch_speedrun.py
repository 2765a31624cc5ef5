#!/usr/bin/python3
"""PyTorch twin of a speedrun recipe (bench/speedrun.sh): the same network, initialisation scheme,
optimizer, schedule and batch, tuned as bench/torch_seed.py's "tuned" variant (preloaded tensors,
torch.randperm + index_select, one thread pool, foreach optimizers, the loss read once per epoch),
and subnormals flushed to zero as our trainer does (include/backprop/nn/subnormals.hpp).

  torch_speedrun.py --data DIR --layers 784,256,10 --activation relu --optimizer nesterov
                    --lr 0.1 --momentum 0.9 --schedule cosine --batch 64 --epochs 5
                    [--init he-normal] [--threads 2] [--seed 0]

Prints one JSON object per epoch: {"system": "pytorch", "epoch": e, "train_seconds": s,
"eval_seconds": s, "test_accuracy": a}. Training seconds exclude the evaluation, timed apart.
No augmentation: recipes with augmentation are timed for this project alone (speedrun.sh says so).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from torch_seed import load


def build(layers, activation, init):
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[activation]
    modules = []
    for i in range(len(layers) - 1):
        lin = nn.Linear(layers[i], layers[i + 1])
        with torch.no_grad():
            if init == "he-normal":
                lin.weight.normal_(0, math.sqrt(2.0 / layers[i]))
            else:  # xavier-normal
                lin.weight.normal_(0, math.sqrt(2.0 / (layers[i] + layers[i + 1])))
            lin.bias.zero_()
        modules.append(lin)
        if i + 2 < len(layers):
            modules.append(act())
    return nn.Sequential(*modules)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--layers", default="784,256,10")
    p.add_argument("--activation", default="relu")
    p.add_argument("--init", default="he-normal")
    p.add_argument("--optimizer", default="nesterov")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--schedule", default="cosine")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    # Momentum buffers of the always-blank pixels' weights decay into subnormals and stay there
    # (0.9 x the smallest one rounds back to it); without this, every epoch after the first
    # takes x86's slow path for them: 0.62 s an epoch of the fast recipe became 0.87-4 s.
    torch.set_flush_denormal(True)
    torch.manual_seed(a.seed)
    X, Y = load(a.data, "train")
    Xt, Yt = load(a.data, "t10k")
    model = build([int(s) for s in a.layers.split(",")], a.activation, a.init)
    if a.optimizer in ("momentum", "nesterov"):
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum,
                              nesterov=a.optimizer == "nesterov", foreach=True)
    elif a.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, foreach=True)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, foreach=True)
    n = X.shape[0]
    steps = a.epochs * math.ceil(n / a.batch)
    step = 0
    for epoch in range(a.epochs):
        start = time.perf_counter()
        order = torch.randperm(n)
        total = torch.zeros(())
        for s in range(0, n, a.batch):
            if a.schedule == "cosine":  # ours: lr (1 + cos(pi t / T)) / 2, as src/nn/schedule.cpp
                for g in opt.param_groups:
                    g["lr"] = a.lr * 0.5 * (1 + math.cos(math.pi * step / max(1, steps)))
            idx = order[s:s + a.batch]
            loss = F.cross_entropy(model(X.index_select(0, idx)), Y.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
            step += 1
        train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        with torch.no_grad():
            accuracy = (model(Xt).argmax(1) == Yt).float().mean().item()
        eval_seconds = time.perf_counter() - start
        print(json.dumps({"system": "pytorch", "epoch": epoch, "train_seconds": train_seconds,
                          "eval_seconds": eval_seconds, "test_accuracy": accuracy,
                          "train_loss": total.item() * a.batch / n}), flush=True)


if __name__ == "__main__":
    main()

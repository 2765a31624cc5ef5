#!/usr/bin/env python3
"""The blog's NumPy code, as the blog wrote it: the oracle our C++ is compared against.

The network, the gradients, the update, the loss and the evaluation below are the blog's
code unchanged (only the comments marked "oracle:" are ours). What the blog took from
torchvision is replaced by a plain IDX reader that gives the same arrays: images as float32
p/255 of shape (B, 1, 28, 28) (what ToTensor makes) and integer labels, in batches of 64
(shuffled each epoch unless --no-shuffle) and test batches of 1000.

  oracle_seed.py --data DIR [--init init.npz] [--steps N] [--epochs E] [--no-shuffle]
                 [--out params.npz] [--seed S]
"""
import argparse
import os
import sys
import time

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_derivative(z):
    return sigmoid(z) * (1 - sigmoid(z))


def softmax(z):
    exp_z = np.exp(z - np.max(z, axis=1, keepdims=True))  # Subtract max(z) for numerical stability
    return exp_z / exp_z.sum(axis=1, keepdims=True)


class FCNetwork():
    """Single hidden layer network"""
    def __init__(self, input_dim, hidden_dim, output_dim, activation=sigmoid):
        self.w1 = np.random.randn(input_dim, hidden_dim) * np.sqrt(1. / input_dim)  # d x h
        self.w2 = np.random.randn(hidden_dim, output_dim) * np.sqrt(1. / hidden_dim)  # h x 10
        self.b1 = np.random.rand(1, hidden_dim)  # 1 x h
        self.b2 = np.random.rand(1, output_dim)  # 1 x 10
        self.activation = activation

    def forward(self, X):
        batch_size = X.shape[0]
        X = X.reshape((batch_size, -1))
        z1 = np.dot(X, self.w1) + self.b1
        h = self.activation(z1)
        z2 = np.dot(h, self.w2) + self.b2
        f_k = softmax(z2)
        return z1, h, z2, f_k

    def predict(self, X):
        _, _, _, f_k = self.forward(X)
        y_hat = np.argmax(f_k, axis=1)
        return y_hat

    def compute_grad(self, X, y, y_hat, z1, a1, z2):
        batch_size = X.shape[0]
        X = X.reshape((batch_size, -1))

        # Output layer grads
        dz2 = y_hat - y
        dw2 = np.dot(a1.T, dz2)
        db2 = np.sum(dz2, axis=0, keepdims=True) / batch_size  # sum over sammples

        # Hidden layer grads
        dz1 = np.dot(dz2, self.w2.T) * sigmoid_derivative(z1)
        dw1 = np.dot(X.T, dz1)
        db1 = np.sum(dz1, axis=0, keepdims=True) / batch_size  # sum over sammples

        return dw1, db1, dw2, db2

    def update_weights(self, dw1, db1, dw2, db2, lr):
        self.w1 -= lr * dw1
        self.b1 -= lr * db1
        self.w2 -= lr * dw2
        self.b2 -= lr * db2


def cross_entropy_loss(y, y_hat):
    # Small epsilon added to avoid log(0)
    epsilon = 1e-12
    y_hat = np.clip(y_hat, epsilon, 1. - epsilon)  # Ensure y_hat is within (0, 1) to prevent log(0)
    # Compute cross-entropy
    return -np.sum(y * np.log(y_hat)) / y.shape[0]  # Average over the batch


def evaluate(model, data_loader):
    total_loss = 0
    correct = 0
    for X_val, y_val in data_loader:
        _, _, _, y_pred = model.forward(X_val)
        y_onehot = np.eye(10)[y_val]
        loss = cross_entropy_loss(y_onehot, y_pred)
        total_loss += loss

        y_pred_classes = np.argmax(y_pred, axis=1)
        y_true = np.argmax(y_onehot, axis=1)
        correct += np.sum(y_pred_classes == y_true)

    accuracy = correct / len(data_loader.dataset)
    avg_loss = total_loss / len(data_loader)
    return accuracy, avg_loss


# oracle: what torchvision and DataLoader gave the blog, without torch.
def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


class Loader:
    """oracle: DataLoader(dataset, batch_size, shuffle) over (float32 p/255, label) pairs."""
    def __init__(self, images, labels, batch_size, shuffle, rng):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.rng = batch_size, shuffle, rng
        self.dataset = labels

    def __len__(self):
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        order = self.rng.permutation(len(self.labels)) if self.shuffle else np.arange(len(self.labels))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            x = (self.images[idx].astype(np.float32) / np.float32(255)).reshape(len(idx), 1, 28, 28)
            yield x, self.labels[idx].astype(np.int64)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("BACKPROP_DATA", "data/mnist"))
    parser.add_argument("--init", help="start from w1, b1, w2, b2 in this .npz")
    parser.add_argument("--out", help="write the final w1, b1, w2, b2 here")
    parser.add_argument("--steps", type=int, default=0, help="stop after this many updates (0: whole epochs)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument("--no-eval", action="store_true", help="skip the per-epoch test evaluation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    np.random.seed(args.seed)
    train_images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte"))
    train_labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte"))
    test_images = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte"))
    test_labels = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte"))
    rng = np.random.default_rng(args.seed)
    train_loader = Loader(train_images, train_labels, 64, not args.no_shuffle, rng)
    test_loader = Loader(test_images, test_labels, 1000, False, rng)

    # The blog's train(), with the oracle's hooks for --init, --steps and timing.
    lr = 0.01
    input_dim = 28 * 28
    hidden_dim = args.hidden
    output_dim = 10
    model = FCNetwork(input_dim, hidden_dim, output_dim)
    if args.init:
        params = np.load(args.init)
        for name in ("w1", "b1", "w2", "b2"):
            setattr(model, name, params[name].astype(np.float64))
    steps = 0
    for epoch in range(args.epochs):
        train_loss = 0
        start = time.perf_counter()
        for batch_idx, (x, y) in enumerate(train_loader):
            y_onehot = np.eye(output_dim)[y]
            # Forward pass
            z1, h, z2, f_k = model.forward(x)
            loss = cross_entropy_loss(y_onehot, f_k)
            train_loss += loss
            # Backward pass
            dw1, db1, dw2, db2 = model.compute_grad(x, y_onehot, f_k, z1, h, z2)
            model.update_weights(dw1, db1, dw2, db2, lr)
            steps += 1
            if args.steps and steps == args.steps:
                break
        seconds = time.perf_counter() - start
        avg_train_loss = train_loss / len(train_loader)
        if args.steps and steps == args.steps:
            print(f"stopped after {steps} steps, mean loss {train_loss / (batch_idx + 1):.10f}")
            break
        if args.no_eval:
            print(f"Epoch {epoch}, Train Loss: {avg_train_loss:.4f}, {seconds:.3f} s", flush=True)
        else:
            val_acc, val_loss = evaluate(model, test_loader)
            print(f"Epoch {epoch}, Train Loss: {avg_train_loss:.4f}, Validation Accuracy: {val_acc:.4f}, "
                  f"Validation Loss: {val_loss:.4f}, {seconds:.3f} s", flush=True)
    if args.out:
        np.savez(args.out, w1=model.w1, b1=model.b1, w2=model.w2, b2=model.b2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

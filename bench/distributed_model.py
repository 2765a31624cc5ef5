#!/usr/bin/env python3
"""Predicted data-parallel epoch times from bench/distributed.sh's measurements (docs/distributed.md).

Measured (medians over the rounds in RAW): the compute time per step per rank at 64 examples
(1 rank) and 32 (2 ranks), which give t(b) = a + c*b for a rank's batch of b examples; the
bytes each step reduces; the sum's time on 2 ranks here. Modelled: the ring allreduce over N
machines, T(N) = 2(N-1)/N * bytes / bandwidth + 2(N-1) * latency, and an epoch of 60,000
examples in steps of a global batch G: steps * (t(G/N) + T(N)), against steps * t(G) alone.
The latencies are assumptions (typical one-way figures), not measurements.

  distributed_model.py RAW
"""
import math
import re
import statistics
import sys

NETWORKS = [(10, 20e-6), (25, 10e-6), (100, 3e-6)]  # Gb/s, assumed per-message latency (s)
SIZES = [2, 4, 8, 16, 32, 64]
EXAMPLES = 60000


def parse(path):
    compute, reduce_ms, bytes_, alone = {}, {}, {}, {}
    for line in open(path):
        m = re.search(r"net (\w+) ranks (\d) distributed: \d+ ranks, \d+ steps: compute ([\d.]+) ms/step/rank, "
                      r"allreduce ([\d.]+) ms/step, (\d+) bytes", line)
        if m:
            net, n = m.group(1), int(m.group(2))
            compute.setdefault((net, n), []).append(float(m.group(3)) * 1e-3)
            reduce_ms.setdefault((net, n), []).append(float(m.group(4)) * 1e-3)
            bytes_[net] = int(m.group(5))
        m = re.search(r"net (\w+) btl (\w+) allreduce .* median_us ([\d.]+)", line)
        if m:
            alone.setdefault((m.group(1), m.group(2)), []).append(float(m.group(3)) * 1e-6)
    med = lambda d: {k: statistics.median(v) for k, v in d.items()}
    return med(compute), med(reduce_ms), bytes_, med(alone)


def ring(bytes_, n, gbps, latency):
    return 2 * (n - 1) / n * bytes_ * 8 / (gbps * 1e9) + 2 * (n - 1) * latency


def main():
    compute, in_training, bytes_, alone = parse(sys.argv[1])
    print("## Measured on this machine (medians of bench/distributed.sh's rounds)\n")
    print("| network | bytes reduced per step | compute per step, 1 rank x 64 | per rank, 2 ranks x 32 "
          "| sum in training, 2 ranks | allreduce alone, shared memory | allreduce alone, TCP loopback |")
    print("|---|---|---|---|---|---|---|")
    fits = {}
    for net in ("seed", "large"):
        if (net, 1) not in compute or (net, 2) not in compute:
            continue
        t64, t32 = compute[(net, 1)], compute[(net, 2)]
        c = (t64 - t32) / 32
        a = t32 - 32 * c
        if c <= 0 or a < 0:  # noise: fall back to a time proportional to the batch
            a, c = 0.0, t64 / 64
        fits[net] = (a, c)
        ms = lambda v: "%.3f ms" % (v * 1e3) if v is not None else "n/a"
        print("| %s | %d | %s | %s | %s | %s | %s |" % (
            net, bytes_[net], ms(t64), ms(t32), ms(in_training.get((net, 2))),
            ms(alone.get((net, "vader"))), ms(alone.get((net, "tcp")))))
    print("\nCompute model t(b) = a + c b per step for a rank's batch b: " + "; ".join(
        "%s a = %.3f ms, c = %.2f us/example" % (net, a * 1e3, c * 1e6) for net, (a, c) in fits.items()))
    for net, (a, c) in fits.items():
        for gbps, latency in NETWORKS:
            print("\n### %s network, %d Gb/s (latency %g us assumed)\n" % (net, gbps, latency * 1e6))
            print("| machines N | allreduce T(N) | epoch, G = 64 | efficiency | epoch, G = 1024 | efficiency "
                  "| G where compute = communication |")
            print("|---|---|---|---|---|---|---|")
            for n in SIZES:
                t_ar = ring(bytes_[net], n, gbps, latency)
                cells = []
                for g in (64, 1024):
                    steps = math.ceil(EXAMPLES / g)
                    alone_s = steps * (a + c * g)
                    # below one example per machine there is nothing to split
                    epoch = steps * (a + c * max(g / n, 1) + t_ar) if g >= n else float("nan")
                    cells += ["%.2f s" % epoch, "%.0f%%" % (100 * alone_s / (n * epoch))] if g >= n else ["-", "-"]
                even = n * max(1.0, (t_ar - a) / c)
                print("| %d | %.2f ms | %s | %s | %s | %s | %s |" % (n, t_ar * 1e3, *cells, "%d" % math.ceil(even)))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Reads the raw outputs of bench/run.sh and prints the results table, with the targets.

  bench/report.py RAW_DIR [OUT.md]

RAW_DIR holds, for every process NAME that run.sh measured, NAME.out, NAME.err and NAME.time
(GNU time -v), plus machine.txt, the trainer's --metrics files and the microbenchmarks' JSON.
The Markdown goes to stdout and, when given, to OUT.md. Standard library only.
"""
import json
import os
import re
import statistics
import sys

# The seed configuration: 784-256-10, 60,000 training images. The products of one epoch,
# per image: forward X W1 (784 x 256) and h W2 (256 x 10); backward dW2 = h^T dz2, dh = dz2 W2^T,
# dW1 = X^T dz1 (no dx for the first layer): 2 flops per multiply-add.
TRAIN_IMAGES, INPUTS, HIDDEN, CLASSES = 60000, 784, 256, 10
FLOP_PER_IMAGE = 2 * (2 * INPUTS * HIDDEN + 3 * HIDDEN * CLASSES)
FLOP_PER_EPOCH = TRAIN_IMAGES * FLOP_PER_IMAGE  # 49,090,560,000
FLOP_FORMULA = ("60,000 x 2 x (2 x 784 x 256 + 3 x 256 x 10) = 60,000 x 818,176 = "
                f"{FLOP_PER_EPOCH / 1e9:.2f} GFLOP")

# The targets.
TARGET_VS_LIBTORCH = 2.0   # epoch at least 2x faster than libtorch's best
TARGET_VS_NUMPY = 5.0      # and 5x faster than the blog's NumPy code
TARGET_FLOP_BOUND = 1.5    # epoch within 1.5x of FLOP_PER_EPOCH / GEMM peak
TARGET_E2E_SECONDS = 12.0  # backprop train --preset seed, 20 epochs, end to end
TARGET_E2E_MB = 120.0      # its peak resident memory, MB = 10^6 bytes
TARGET_EVAL_MS = 30.0      # evaluate() of the 10,000 test images
TARGET_PREDICT_US = 20.0   # one image


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def read_machine(raw):
    info = {}
    for line in (read_text(os.path.join(raw, "machine.txt")) or "").splitlines():
        key, _, value = line.partition("=")
        info[key] = value
    return info


def rounds_of(raw, name):
    """The runs of system NAME: NAME itself, or its rounds NAME.r1, NAME.r2, ... in order."""
    if os.path.exists(os.path.join(raw, name + ".time")):
        return [name]
    found = []
    for entry in os.listdir(raw):
        m = re.fullmatch(re.escape(name) + r"\.r(\d+)\.time", entry)
        if m:
            found.append((int(m.group(1)), name + f".r{m.group(1)}"))
    return [run for _, run in sorted(found)]


def read_rounds_time(raw, name):
    """read_time over every round: the largest RSS and steal, the first failing exit status."""
    out = {}
    for run in rounds_of(raw, name):
        t = read_time(raw, run) or {}
        for key in ("rss_mb", "steal_pct"):
            if t.get(key) is not None:
                out[key] = max(out.get(key, 0.0), t[key])
        if out.get("exit") in (None, 0):
            out["exit"] = t.get("exit")
    return out


def read_time(raw, name):
    """Peak RSS (MB, 10^6 bytes), wall seconds and exit status from GNU time -v."""
    text = read_text(os.path.join(raw, name + ".time"))
    if text is None:
        return None
    out = {}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        out["rss_mb"] = int(m.group(1)) * 1024 / 1e6
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    if m:
        seconds = 0.0
        for part in m.group(1).split(":"):
            seconds = seconds * 60 + float(part)
        out["wall_s"] = seconds
    m = re.search(r"Exit status: (\d+)", text)
    out["exit"] = int(m.group(1)) if m else None
    steal = read_text(os.path.join(raw, name + ".steal"))
    if steal and steal.strip().isdigit() and out.get("wall_s"):
        # ticks of 1/100 s summed over the CPUs, as a share of the run's CPU time
        out["steal_pct"] = int(steal) / (out["wall_s"] * 100 * (os.cpu_count() or 1)) * 100
    return out


def json_lines(text):
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                pass


def epochs_of(raw, name):
    """epochs_of_run over every round of NAME: all rounds' epochs, the last round's loss and accuracy."""
    seconds, loss, accuracy = [], None, None
    for run in rounds_of(raw, name):
        s, loss, accuracy = epochs_of_run(raw, run)
        seconds += s
    return seconds, loss, accuracy


def epochs_of_run(raw, name):
    """(per-epoch training seconds, last train loss, test accuracy or None) of one run."""
    if name.startswith("ours_"):
        records = list(json_lines(read_text(os.path.join(raw, name + ".jsonl"))))
        seconds = [r["train_seconds"] for r in records]
        loss = records[-1]["train_loss"] if records else None
        accuracy = records[-1].get("test_accuracy") if records else None
        return seconds, loss, accuracy
    text = read_text(os.path.join(raw, name + ".out")) or ""
    if name.startswith("numpy_"):
        found = re.findall(r"^Epoch \d+, Train Loss: ([\d.]+).*?, ([\d.]+) s$", text, re.M)
        return [float(s) for _, s in found], (float(found[-1][0]) if found else None), None
    records = list(json_lines(text))
    seconds = [r["train_seconds"] for r in records if "train_seconds" in r]
    losses = [r["train_loss"] for r in records if "train_loss" in r]
    accuracy = next((r["test_accuracy"] for r in records if "test_accuracy" in r), None)
    return seconds, (losses[-1] if losses else None), accuracy


def micro_results(raw, threads):
    """micro_run_results over the rounds: per benchmark, the round with the median time."""
    per_round = [micro_run_results(raw, run) for run in rounds_of(raw, f"micro_t{threads}")]
    results = {}
    names = []
    for r in per_round:
        names += [n for n in r if n not in names]  # in the order the benchmarks ran
    for name in names:
        found = sorted((r[name] for r in per_round if name in r), key=lambda v: to_unit(v[0], v[1], "s"))
        results[name] = found[(len(found) - 1) // 2]
    return results


def micro_run_results(raw, run):
    """{benchmark name: (real time in the benchmark's unit, unit, counters)}: the median of the
    repetitions when there are several, the single run otherwise."""
    text = read_text(os.path.join(raw, run + ".json"))
    if not text:
        return {}
    benchmarks = json.loads(text).get("benchmarks", [])
    results = {}
    medians = [b for b in benchmarks if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"]
    for b in medians or [b for b in benchmarks if b.get("run_type") == "iteration"]:
        name = b.get("run_name", b["name"]).replace("/real_time", "")
        results[name] = (b["real_time"], b["time_unit"], b)
    return results


def to_unit(value, unit, wanted):
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    return value * scale[unit] / scale[wanted]


def fmt(value, digits=3, suffix=""):
    if value is None:
        return "—"
    return f"{value:.{digits}f}{suffix}"


def speed(ratio):
    """Their time / ours, in words."""
    if ratio is None:
        return "—"
    return f"{ratio:.2f}x faster" if ratio >= 1 else f"{1 / ratio:.2f}x slower"


def threads_text(t):
    return f"{t} thread" + ("s" if t != 1 else "")


def verdict(ok):
    if ok is None:
        return "n/a"
    return "**pass**" if ok else "**MISS**"


# The timed systems: (run name, system, threads).
def systems():
    rows = []
    for t in (1, 2):
        rows.append((f"ours_t{t}", "this project (`backprop train --preset seed`)", t))
    for t in (1, 2):
        rows.append((f"ours_dense_t{t}", "this project, dense first layer (`--no-sparse-input`)", t))
    for t in (1, 2):
        rows.append((f"numpy_t{t}", "NumPy, the blog's code (float64)", t))
    for variant, label in (("idiomatic", "PyTorch, idiomatic (DataLoader)"), ("tuned", "PyTorch, tuned"),
                           ("manual", "PyTorch, hand-derived backward")):
        for t in (1, 2):
            rows.append((f"pytorch_{variant}_t{t}", label, t))
    for mode, label in (("autograd", "libtorch (C++), autograd"), ("manual", "libtorch (C++), hand-derived backward")):
        for t in (1, 2):
            rows.append((f"libtorch_{mode}_t{t}", label, t))
    return rows


def report(raw):
    machine = read_machine(raw)
    lines = []
    out = lines.append
    quick = machine.get("quick") == "1"

    out("# Benchmark results" + (" (QUICK smoke test: figures not for reporting)" if quick else ""))
    out("")
    out(f"- date: {machine.get('date', '?')}")
    out(f"- command: `{machine.get('command', 'bench/run.sh')}`")
    out(f"- machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
        f"{machine.get('memory', '?')}; ISA: {machine.get('isa', '?').strip()}")
    out(f"- system: {machine.get('os', '?')}, kernel {machine.get('kernel', '?')}, {machine.get('compiler', '?')}")
    out(f"- this project: git {machine.get('git', '?')}")
    out(f"- NumPy {machine.get('numpy', '?')}, BLAS: {machine.get('numpy_blas', '?')}")
    out(f"- PyTorch / libtorch {machine.get('torch', '?')} (Debian), products in the OpenMP build of OpenBLAS "
        "(one thread pool)")
    out(f"- load average (1, 5, 15 min) before: {machine.get('load_before', '?')}, "
        f"after: {machine.get('load_after', '?')}")
    busy = machine.get("busy_before")
    if busy is not None:
        out(f"- CPUs busy with other work over 3 s before the first run: {busy}% of all cores")
        if busy.isdigit() and int(busy) > 10:
            out("- **warning: the machine was not quiet when the run started; timings are noisy**")
    out("")

    # --- Epochs -------------------------------------------------------------------------
    epochs = {}
    for name, label, t in systems():
        seconds, loss, accuracy = epochs_of(raw, name)
        timing = read_rounds_time(raw, name)
        epochs[name] = {
            "label": label, "threads": t, "seconds": seconds, "loss": loss, "accuracy": accuracy,
            "median": statistics.median(seconds) if seconds else None,
            "min": min(seconds) if seconds else None, "max": max(seconds) if seconds else None,
            "rss_mb": timing.get("rss_mb"), "exit": timing.get("exit"), "steal": timing.get("steal_pct"),
        }
    # "Ours" is this project at 2 threads (the configuration), or the most threads run.
    ours_name = next((n for n in ("ours_t2", "ours_t1") if epochs[n]["median"]), None)
    ours = epochs[ours_name]["median"] if ours_name else None
    ours_threads = threads_text(epochs[ours_name]["threads"]) if ours_name else "2 threads"

    rounds = machine.get("rounds", "1")
    out(f"## One training epoch of the seed configuration ({machine.get('epochs', '?')} epochs per run, "
        f"{rounds} round{'' if rounds == '1' else 's'})")
    out("")
    out("784-256-10 sigmoid, softmax cross-entropy, SGD lr 0.01, batch 64, 60,000 images; float32 except NumPy "
        "(float64, as the blog wrote it). Training loop only (shuffle, batches, steps); median, min and max "
        "over every epoch of every round (each round runs every system once, in turn), first epochs included. Peak RSS: the whole process (GNU time -v), MB = 10^6 bytes. "
        f"x ours: the system's median / this project's median at {ours_threads} (above 1: we are faster). "
        "steal: the share of the machine's CPU time the virtual machine's host took for others during the run "
        "(above a few %, that row's times are inflated).")
    out("")
    out("| system | threads | median s | min s | max s | samples/s | peak RSS MB | x ours | last train loss | steal |")
    out("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, _, _ in systems():
        e = epochs[name]
        if e["median"] is None and not rounds_of(raw, name):
            continue  # not run (run.sh --only / --threads)
        if e["median"] is None:
            status = "failed" if e["exit"] not in (None, 0) else "no data"
            out(f"| {e['label']} | {e['threads']} | {status} (see raw/{name}.err) | | | | | | | |")
            continue
        ratio = e["median"] / ours if ours else None
        out(f"| {e['label']} | {e['threads']} | {fmt(e['median'])} | {fmt(e['min'])} | {fmt(e['max'])} | "
            f"{TRAIN_IMAGES / e['median']:,.0f} | {fmt(e['rss_mb'], 1)} | {fmt(ratio, 2)} | {fmt(e['loss'], 4)} | {fmt(e['steal'], 1, '%')} |")
    out("")

    def best(prefix):
        candidates = [(e["median"], n) for n, e in epochs.items() if n.startswith(prefix) and e["median"]]
        return min(candidates) if candidates else (None, None)

    # The libtorch is "tuned the same way" as PyTorch tuned: autograd. The hand-derived
    # libtorch goes further and is reported beside it.
    libtorch_best, libtorch_name = best("libtorch_autograd_")
    libtorch_manual_best, libtorch_manual_name = best("libtorch_manual_")
    numpy_best, numpy_name = best("numpy_")
    pytorch_best, pytorch_name = best("pytorch_")

    # --- GEMM peak ----------------------------------------------------------------------
    gemm = list(json_lines(read_text(os.path.join(raw, "gemm_peak.out"))))
    squares = [g for g in gemm if g.get("kind") == "square"]
    peak = max((g["best_gflops"] for g in squares), default=None)
    bound_s = FLOP_PER_EPOCH / (peak * 1e9) if peak else None

    # --- End to end ---------------------------------------------------------------------
    e2e = read_time(raw, "e2e") or {}
    e2e_epochs = int(machine.get("e2e_epochs", "20"))
    e2e_records = list(json_lines(read_text(os.path.join(raw, "e2e.jsonl"))))

    # --- Microbenchmarks ----------------------------------------------------------------
    micro = {t: micro_results(raw, t) for t in (1, 2)}

    def micro_value(t, name, unit):
        found = micro[t].get(name)
        return to_unit(found[0], found[1], unit) if found else None

    # BM_Evaluate/0 is the seed's sigmoid network (/1 the same with ReLU); plain BM_Evaluate before them.
    eval_ms = micro_value(2, "BM_Evaluate/0", "ms") or micro_value(2, "BM_Evaluate", "ms")
    predict_us = micro_value(2, "BM_Predict", "us")

    # --- Targets ------------------------------------------------------------------------
    out(f"## Targets (issue 4): this project, {ours_threads}, float32, medians")
    out("")
    out("| target | measured | goal | |")
    out("|---|--:|--:|---|")
    vs_libtorch = libtorch_best / ours if ours and libtorch_best else None
    out(f"| epoch vs libtorch's best ({epochs[libtorch_name]['label'] + ', ' + threads_text(epochs[libtorch_name]['threads']) if libtorch_name else '—'}: "
        f"{fmt(libtorch_best)} s) | {speed(vs_libtorch)} | {TARGET_VS_LIBTORCH:g}x faster | "
        f"{verdict(None if vs_libtorch is None else vs_libtorch >= TARGET_VS_LIBTORCH)} |")
    if libtorch_manual_best:
        vs_manual = libtorch_manual_best / ours if ours else None
        needed = libtorch_manual_best / TARGET_VS_LIBTORCH
        note = (f"; {TARGET_VS_LIBTORCH:g}x would need {needed:.3f} s, below the FLOP bound {bound_s:.3f} s"
                if bound_s and needed < bound_s else "")
        out(f"| (beyond the issue) epoch vs libtorch with the hand-derived backward "
            f"({threads_text(epochs[libtorch_manual_name]['threads'])}: {libtorch_manual_best:.3f} s{note}) | "
            f"{speed(vs_manual)} | — | info |")
    vs_numpy = numpy_best / ours if ours and numpy_best else None
    out(f"| epoch vs the blog's NumPy code (best: {fmt(numpy_best)} s, "
        f"{threads_text(epochs[numpy_name]['threads']) if numpy_name else '—'}) | {speed(vs_numpy)} | "
        f"{TARGET_VS_NUMPY:g}x faster | {verdict(None if vs_numpy is None else vs_numpy >= TARGET_VS_NUMPY)} |")
    multiple = ours / bound_s if ours and bound_s else None
    out(f"| epoch / FLOP bound ({FLOP_PER_EPOCH / 1e9:.2f} GFLOP / {fmt(peak, 1)} GFLOP/s = {fmt(bound_s)} s) | "
        f"{fmt(multiple, 2, 'x')} | <= {TARGET_FLOP_BOUND:g}x | "
        f"{verdict(None if multiple is None else multiple <= TARGET_FLOP_BOUND)} |")
    # The bound counts every multiply-add of the dense products; the sparse first layer skips
    # most of them, so the dense path is the one that measures how close the products come.
    dense = epochs.get(ours_name.replace("ours_", "ours_dense_")) if ours_name else None
    dense_s = dense["median"] if dense else None
    if dense_s:
        out(f"| (the same, dense first layer: every multiply-add of the bound done) epoch / FLOP bound | "
            f"{fmt(dense_s / bound_s if bound_s else None, 2, 'x')} ({fmt(dense_s)} s) | <= {TARGET_FLOP_BOUND:g}x | "
            f"{verdict(None if not bound_s else dense_s / bound_s <= TARGET_FLOP_BOUND)} |")
        if libtorch_best:
            out(f"| (the same, dense first layer) epoch vs libtorch's best | {speed(libtorch_best / dense_s)} | "
                f"— | info |")
    full_e2e = e2e_epochs == 20
    e2e_note = "" if full_e2e else f" ({e2e_epochs} epochs, quick: not the target's 20)"
    e2e_steal = "" if e2e.get("steal_pct") is None else f" (steal {e2e['steal_pct']:.1f}%)"
    out(f"| `backprop train --preset seed` end to end, wall{e2e_note}{e2e_steal} | {fmt(e2e.get('wall_s'), 2, ' s')} | "
        f"<= {TARGET_E2E_SECONDS:g} s | "
        f"{verdict(None if not full_e2e or 'wall_s' not in e2e else e2e['wall_s'] <= TARGET_E2E_SECONDS)} |")
    out(f"| its peak resident memory | {fmt(e2e.get('rss_mb'), 1, ' MB')} | <= {TARGET_E2E_MB:g} MB | "
        f"{verdict(None if 'rss_mb' not in e2e else e2e['rss_mb'] <= TARGET_E2E_MB)} |")
    out(f"| evaluate() of the 10,000 test images | {fmt(eval_ms, 2, ' ms')} | <= {TARGET_EVAL_MS:g} ms | "
        f"{verdict(None if eval_ms is None else eval_ms <= TARGET_EVAL_MS)} |")
    out(f"| predict() of one image | {fmt(predict_us, 2, ' µs')} | <= {TARGET_PREDICT_US:g} µs | "
        f"{verdict(None if predict_us is None else predict_us <= TARGET_PREDICT_US)} |")
    out("")
    if ours:
        achieved = (f"Achieved: {FLOP_PER_EPOCH / 1e9 / ours:.1f} GFLOP/s in the seed epoch at {ours_threads}, "
                    "counting the dense products' FLOPs (the sparse first layer does about a fifth of them)")
        if peak:
            achieved += f" ({FLOP_PER_EPOCH / 1e9 / ours / peak * 100:.0f}% of the GEMM peak)"
        ours1 = epochs["ours_t1"]["median"]
        if ours1 and ours_name != "ours_t1":
            achieved += f"; at 1 thread {FLOP_PER_EPOCH / 1e9 / ours1:.1f} GFLOP/s ({ours1:.3f} s per epoch)"
        out(achieved + ".")
        out("")
        if pytorch_best:
            out(f"PyTorch's best: {pytorch_best:.3f} s per epoch ({epochs[pytorch_name]['label']}, "
                f"{threads_text(epochs[pytorch_name]['threads'])}), {pytorch_best / ours:.2f}x ours.")
            out("")
    out(f"FLOP count of one seed epoch, products only: {FLOP_FORMULA}. Elementwise work (bias, sigmoid, "
        "softmax, the update) is not counted.")
    out("")
    if e2e_records:
        train = sum(r["train_seconds"] for r in e2e_records)
        evals = sum(r.get("eval_seconds", 0) for r in e2e_records)
        wall = e2e.get("wall_s")
        out(f"End to end: {len(e2e_records)} epochs, training {train:.2f} s + evaluation {evals:.2f} s"
            + (f", the rest (start, load, save) {wall - train - evals:.2f} s" if wall else "")
            + f"; final test accuracy {fmt(e2e_records[-1].get('test_accuracy'), 4)}.")
        out("")

    # --- GEMM table ---------------------------------------------------------------------
    out("## Single-precision GEMM peak (OpenBLAS cblas_sgemm)")
    out("")
    out("| product | threads | best GFLOP/s | median GFLOP/s |")
    out("|---|--:|--:|--:|")
    for g in squares:
        out(f"| {g['n']} x {g['n']} x {g['n']} | {g['threads']} | {g['best_gflops']:.1f} | {g['median_gflops']:.1f} |")
    for g in gemm:
        if g.get("kind", "").startswith("seed_"):
            what = "X W1 (64x784 · 784x256)" if g["kind"] == "seed_forward" else "X^T dz1 (784x64 · 64x256)"
            out(f"| seed {what}, 938 calls | {g['threads']} | {g['gflops']:.1f} | |")
    out("")

    # --- Microbenchmarks ----------------------------------------------------------------
    out("## Microbenchmarks (Google Benchmark, bench/micro.cpp; median of the repetitions)")
    out("")
    out("| benchmark | 1 thread | 2 threads |")
    out("|---|--:|--:|")
    names = list(dict.fromkeys(list(micro[1]) + list(micro[2])))
    for name in names:
        cells = []
        for t in (1, 2):
            found = micro[t].get(name)
            if not found:
                cells.append("—")
                continue
            value, unit, b = found
            if name.startswith("BM_StepOptimizer"):  # one step of 784-256-10 at batch 64 per rule
                cells.append(f"{to_unit(value, unit, 'us'):,.1f} µs")
            elif name.startswith("BM_Step"):
                batch = int(re.search(r"B:(\d+)", name).group(1))
                us = to_unit(value, unit, "us")
                gflops = b.get("GFLOP/s")
                cells.append(f"{us:,.1f} µs, {batch / us * 1e6:,.0f} samples/s"
                             + (f", {gflops:.1f} GFLOP/s" if gflops else ""))
            elif name.startswith("BM_EigenGemm"):
                gflops = b.get("GFLOP/s")
                cells.append(f"{to_unit(value, unit, 'ms'):.1f} ms"
                             + (f", {gflops:.1f} GFLOP/s" if gflops else ""))
            elif name == "BM_Predict":
                cells.append(f"{to_unit(value, unit, 'us'):.2f} µs")
            else:
                cells.append(f"{to_unit(value, unit, 'ms'):.2f} ms")
        out(f"| {name} | {cells[0]} | {cells[1]} |")
    out("")
    out("BM_Step/B/H: one Trainer<float>::step (gather, forward, loss, backward, update) of 784-H-10 at batch B. "
        "BM_Evaluate: evaluate() of the 10,000 test images in batches of 1000. BM_Predict: predict() of one "
        "(784, 1) image. BM_EigenGemm: Eigen's float product, the one the library builds on.")
    out("")
    return "\n".join(lines)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    text = report(sys.argv[1])
    print(text)
    if len(sys.argv) > 2:
        os.makedirs(os.path.dirname(os.path.abspath(sys.argv[2])), exist_ok=True)
        with open(sys.argv[2], "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The command line on bad input: every case must exit non-zero with ONE line on stderr that
says what is wrong (naming the file or flag), and leave no output file behind.

  cli_test.py BACKPROP_BINARY DATA_DIR WORK_DIR
"""
import os
import shutil
import subprocess
import sys


def main():
    backprop, data, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    w = lambda name: os.path.join(work, name)

    # Inputs for the cases: a text file posing as .npz, a data dir with a damaged file,
    # and a valid 784-256-10 parameter file.
    with open(w("not.npz"), "w") as f:
        f.write("hello\n")
    os.makedirs(w("bad-mnist"))
    for name in os.listdir(data):
        shutil.copy(os.path.join(data, name), w("bad-mnist"))
    with open(w("bad-mnist/t10k-labels-idx1-ubyte"), "r+b") as f:
        f.write(b"\x00\x00\x08\x03")  # the images magic in the labels file
    subprocess.run([backprop, "train", "--preset", "seed", "--epochs", "0", "--data", data,
                    "--save-npz", w("seed.npz"), "--quiet"], check=True, stdout=subprocess.DEVNULL)

    # Tables with the bad cases of issue 12: each must stop the run before --out is written.
    tables = {"missing.csv": "a,b,label\n1,,x\n2,3,y\n", "text.csv": "a,b,label\n1,2,x\n1,two,y\n",
              "ragged.csv": "a,b,label\n1,2,x\n1,2\n", "header.csv": "a,b,label\n", "empty.csv": "",
              "one.csv": "a,label\n1,x\n2,x\n", "nan.csv": "a,b,label\n1,nan,x\n2,1,y\n",
              "binary.csv": "a,b\n\0\1\2"}
    for name, text in tables.items():
        with open(w(name), "w") as f:
            f.write(text)
    quick = ["--epochs", "0", "--quiet", "--data", data]
    table = lambda name: ["train", "--data", w(name), "--hidden", "4", "--epochs", "1", "--quiet", "--out", w("t.model")]
    cases = [
        (["train", "--lr", "0"] + quick, "--lr must be a positive number", None),
        (["train", "--layers", "784,abc,10"] + quick, "'abc' is not a whole number", None),
        (["train", "--layers", "100,32,10"] + quick, "starts with 100 inputs, the data has 784 features", None),
        (["train", "--layers", "784,32,16,10", "--activation", "relu,relu,relu"] + quick,
         "3 activations given for 2 hidden layers", None),
        (["train", "--activation", "swish"] + quick, "unknown activation 'swish'", None),
        (["train", "--optimizer", "adagrad"] + quick, "unknown --optimizer 'adagrad'", None),
        (["train", "--schedule", "exp"] + quick, "unknown --schedule 'exp'", None),
        (["train", "--dropout", "1.5"] + quick, "--dropout: rate must be in [0, 1)", None),
        (["train", "--early-stop", "2"] + quick, "--early-stop needs --val-split", None),
        (["train", "--epochs", "0", "--quiet", "--no-fetch", "--data", w("nowhere")], "MNIST not found", None),
        (["train", "--epochs", "0", "--quiet", "--data", w("bad-mnist")], "t10k-labels-idx1-ubyte", None),
        (["train", "--init", w("missing.npz")] + quick, "missing.npz", None),
        (["train", "--init", w("not.npz")] + quick, "not.npz", None),
        (["train", "--hidden", "32", "--init", w("seed.npz")] + quick, "array 'b1' has shape (1, 256), expected (1, 32)", None),  # refused from the header
        (["train", "--save-npz", w("no/such/dir/out.npz")] + quick, "out.npz", w("no/such/dir/out.npz")),
        (["grads", "--init", w("seed.npz"), "--samples", "0", "--out", w("g.npz"), "--data", data],
         "--samples must be positive", w("g.npz")),
        (["gradcheck", "--layers", "4"], "need at least an input and an output size", None),
        (table("missing.csv"), "missing.csv: line 2, column 2 ('b'): missing value", w("t.model")),
        (table("text.csv"), "text.csv: line 3, column 2 ('b'): not a number 'two'", w("t.model")),
        (table("ragged.csv"), "ragged.csv: line 3: 2 fields, the header has 3", w("t.model")),
        (table("header.csv"), "header.csv: a header but no data rows", w("t.model")),
        (table("empty.csv"), "empty.csv: empty file", w("t.model")),
        (table("one.csv"), "one.csv: only one class ('x')", w("t.model")),
        (table("nan.csv"), "nan.csv: line 2, column 2 ('b'): 'nan' is not a finite", w("t.model")),
        (table("binary.csv"), "binary.csv: binary data", w("t.model")),
        (table("text.csv")[:1] + ["--data", w("missing.csv"), "--label", "kind", "--epochs", "0", "--quiet"],
         "no column 'kind' for --label", None),
    ]
    failures = 0
    for args, expected, output in cases:
        result = subprocess.run([backprop] + args, capture_output=True, text=True, timeout=120)
        lines = result.stderr.strip().splitlines()
        problems = []
        if result.returncode == 0:
            problems.append("exit code 0")
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines on stderr")
        if expected not in result.stderr:
            problems.append(f"message lacks {expected!r}")
        if output and os.path.exists(output):
            problems.append(f"left {output} behind")
        leftovers = [n for n in os.listdir(work) if ".tmp" in n]
        if leftovers:
            problems.append(f"temporary files left: {leftovers}")
        status = "ok  " if not problems else "FAIL"
        failures += bool(problems)
        print(f"{status} backprop {' '.join(args[:4])}...: {result.stderr.strip()}" +
              (f"   <-- {'; '.join(problems)}" if problems else ""))
    print(f"{len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

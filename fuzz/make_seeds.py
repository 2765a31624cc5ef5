#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target under fuzz/corpus/<target>/: a few small valid
inputs and near misses for each input path. Deterministic; rerun after a format change.
The checkpoint seed (model/checkpoint-*) is made by `backprop train` and kept as it is.

    python3 fuzz/make_seeds.py
"""
import io
import json
import os
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def idx(magic, dims, payload):
    return struct.pack(">" + "I" * (1 + len(dims)), magic, *dims) + payload


def gzip_bytes(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def png(width, height, rows, color_type=0, bit_depth=8):
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def npy(shape, values, descr="<f4"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    fmt = "<" + ("f" if descr == "<f4" else "d") * len(values)
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + struct.pack(fmt, *values)


def npz(arrays, compression=zipfile.ZIP_STORED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in arrays.items():
            z.writestr(name + ".npy", data)
    return out.getvalue()


def model(sizes, dtype=4, head=0, activation=0, dropout=0.0):
    arch = struct.pack("<III", dtype, head, len(sizes)) + struct.pack("<" + "I" * len(sizes), *sizes)
    arch += struct.pack("<" + "I" * (len(sizes) - 2), *([activation] * (len(sizes) - 2)))
    arch += struct.pack("<" + "d" * (len(sizes) - 2), *([dropout] * (len(sizes) - 2)))
    parm = struct.pack("<I", 2 * (len(sizes) - 1))
    f = "f" if dtype == 4 else "d"
    for n_in, n_out in zip(sizes, sizes[1:]):
        for rows, cols in ((n_out, n_in), (n_out, 1)):
            parm += struct.pack("<II", rows, cols) + struct.pack("<" + f * (rows * cols), *[0.1 * k for k in range(rows * cols)])
    sections = [(b"ARCH", arch), (b"PARM", parm)]
    total = 32 + 4 + sum(12 + len(p) for _, p in sections)
    head_bytes = b"BPROPMDL" + struct.pack("<IIQI", 1, 1, total, 0)
    head_bytes += struct.pack("<I", zlib.crc32(head_bytes))
    body = head_bytes + b"".join(t + struct.pack("<Q", len(p)) + p for t, p in sections)
    return body + struct.pack("<I", zlib.crc32(body))


# IDX: images and labels, plain (idx) and through the gzip path (idx_gz: first byte 0 = the
# target compresses the rest, 1 = the rest is already a gzip stream).
images = idx(0x803, [2, 2, 3], bytes(range(12)))
labels = idx(0x801, [3], bytes([9, 0, 4]))
lying = idx(0x803, [1 << 31, 28, 28], b"x" * 100)
for name, data in [("images", images), ("labels", labels), ("lying-count", lying),
                   ("bad-label", idx(0x801, [2], b"\x01\x0c")), ("truncated", images[:-1])]:
    put("idx", name, data)
    put("idx_gz", name + "-raw", b"\0" + data)
    put("idx_gz", name + "-gz", b"\1" + gzip_bytes(data))
put("idx_gz", "trailing-gz", b"\1" + gzip_bytes(images + b"x" * 5000))

# Model files, float32 and float64, softmax and mse heads, with dropout; a truncated one.
put("model", "small-f32", model([4, 3, 2]))
put("model", "deep-f64-mse", model([3, 2, 2, 2], dtype=8, head=1, activation=2, dropout=0.25))
put("model", "truncated", model([4, 3, 2])[:50])

# .npz: the seed's layout (w1 (n0, n1), b1 (1, n1), ...), stored and deflated, and a liar.
params = {"w1": npy((4, 3), [0.5] * 12), "b1": npy((1, 3), [0.0] * 3),
          "w2": npy((3, 2), [0.25] * 6, "<f8"), "b2": npy((1, 2), [1.0, -1.0], "<f8")}
put("npz", "params", npz(params))
put("npz", "params-deflated", npz(params, zipfile.ZIP_DEFLATED))
put("npz", "shape-lies", npz({"w1": npy((4, 3), [0.5] * 12)[:-8]}))

# PNG: gray, RGB, gray+alpha, palette-less 16-bit, a 1x1, and a broken one.
digit = [bytes(255 if 3 <= x <= 4 else 0 for x in range(8)) for _ in range(8)]
put("png", "gray-8x8", png(8, 8, digit))
put("png", "rgb-4x2", png(4, 2, [bytes([0, 0, 0, 255, 255, 255] * 2)] * 2, color_type=2))
put("png", "gray-alpha-2x2", png(2, 2, [bytes([0, 255, 255, 128])] * 2, color_type=4))
put("png", "gray16-2x2", png(2, 2, [bytes([0, 0, 255, 255])] * 2, bit_depth=16))
put("png", "one-pixel", png(1, 1, [b"\x80"]))
put("png", "huge-claim", png(1 << 20, 1 << 20, [b"\0"]))
put("png", "broken", png(8, 8, digit)[:40])

# CSV (first byte: width 784/4/1 and range auto/255/1): header, labels, 0..1, junk.
put("csv", "w4-header-labels", "\x01a,b,c,d\n1,2,3,4\n7,0,0,255,128\n")
put("csv", "w4-unit", "\x01" "0,0.5,1,0.25\r\n\n1,1,1,1\n")
put("csv", "w784-pixels", "\x00" + ",".join(["0"] * 783 + ["255"]) + "\n")
put("csv", "w1-bad", "\x02" "x\n1e400\n-1\n")

# POST /api/predict (first byte: Content-Type, 0 = application/json, 1 = image/png,
# 2 = octet-stream, 3 = text/plain, 4 = none, 5 = image/jpeg).
put("predict", "json-zeros", "\x00" + json.dumps({"pixels": [0] * 784}))
put("predict", "json-preprocess", "\x00" + json.dumps({"pixels": [0.5] * 784, "preprocess": True}))
put("predict", "json-wrong", "\x03" + json.dumps({"pixels": [2] + [0] * 783, "x": [1, {"y": None}]}))
put("predict", "png", b"\x01" + png(8, 8, digit))
put("predict", "octet-png", b"\x02" + png(8, 8, digit))
put("predict", "jpeg", b"\x05\xff\xd8\xff")

# Datasets (first byte: options, see entry_points.cpp): CSV with text and number labels,
# quoting, CRLF, a BOM, regression columns, and the bad cases; .npz with x/y and train/test.
put("csv_data", "text-labels", "\x00\ufeffa,b,label\r\n1,2,cat\r\n3,\"4\",dog\r\n5,6,\"c\"\"t\"\n")
put("csv_data", "number-labels-b", "\x02a,b,c\n1,0,2\n3,1,4\n5,1.0,6\n")
put("csv_data", "regression", "\x01a,b,label\n1,2,0.5\n3,4,-1e3\n")
put("csv_data", "no-label-column", "\x04a,b,c\n1,2,3\n")
put("csv_data", "given-classes", "\x08a,b,label\n1,2,a\n1,2,z\n")
put("csv_data", "ragged", "\x00a,b,label\n1,2\n")
put("csv_data", "missing-nan", "\x00a,b,label\n,2,x\nnan,1,y\n")
put("csv_data", "open-quote", "\x00a,b,label\n1,\"2,x\n")
put("csv_data", "header-only", "\x00a,b,label\n")
xy = {"x": npy((3, 2), [1, 2, 3, 4, 5, 6]), "y": npy((3,), [0, 1, 1], "<f8")}
put("npz_data", "x-y", b"\x00" + npz(xy))
put("npz_data", "x-y-regression", b"\x01" + npz(xy))
put("npz_data", "train-test", b"\x00" + npz({"x_train": npy((2, 1, 2), [1, 2, 3, 4]), "y_train": npy((2,), [0, 1]),
                                           "x_test": npy((1, 1, 2), [5, 6]), "y_test": npy((1,), [1])}))
put("npz_data", "length-mismatch", b"\x00" + npz({"x": npy((3, 2), [1] * 6), "y": npy((2,), [0, 1])}))
# Issue 18's header checks in the dataset readers: x claims 4 values per example where 3 are
# expected (options byte 4), and a compressed x claiming 2 GB; a header wider than expected.
def lying_npy(shape, payload=b"abcd"):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ", ".join(map(str, shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload
put("npz_data", "wider-than-expected", b"\x04" + npz({"x": npy((2, 4), [1] * 8), "y": npy((2,), [0, 1])}))
put("npz_data", "compressed-claim", b"\x00" + npz({"x": lying_npy((500000, 1000)), "y": npy((2,), [0, 1])},
                                                  zipfile.ZIP_DEFLATED))
put("csv_data", "header-wider-than-expected", "\x04" + ",".join("c%d" % i for i in range(40)) + "\n" + ",".join("1" * 40) + "\n")

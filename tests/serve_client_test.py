#!/usr/bin/env python3
"""`backprop serve` seen by the clients people use: Python's http.client and urllib, and curl.
A refused upload must reach them as its 413 (not a BrokenPipeError or a reset), framing
tricks as a 400 with the connection closed, and the flags of serve must take effect.
Loopback only; every call has a timeout.

  serve_client_test.py BACKPROP_BINARY DATA_DIR WORK_DIR
"""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

LIMIT = 65536


def start(backprop, model, work):
    log = open(os.path.join(work, "serve.log"), "w+")
    server = subprocess.Popen([backprop, "serve", "--model", model, "--data", work, "--port", "0",
                               "--max-body", str(LIMIT), "--workers", "1", "--request-timeout", "2",
                               "--max-connections", "64"], stdout=subprocess.PIPE, stderr=log, text=True)
    line = server.stdout.readline()
    match = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not match:
        server.kill()
        raise SystemExit("serve did not start: " + line)
    return server, int(match.group(1))


def raw(port, data, wait=3.0):
    """Sends bytes on a fresh connection; returns everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        got = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                return got, True
            got += chunk
        return got, False


def main():
    backprop, data, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    model = os.path.join(work, "m.model")
    subprocess.run([backprop, "train", "--hidden", "16", "--epochs", "1", "--train-limit", "200", "--data", data, "--quiet",
                    "--out", model], check=True, stdout=subprocess.DEVNULL, timeout=120)
    server, port = start(backprop, model, work)
    failures = []

    def check(condition, what):
        print(("ok    " if condition else "FAIL  ") + what)
        if not condition:
            failures.append(what)

    try:
        big = b'{"pixels": [' + b"0," * (LIMIT // 2 + 4096) + b"0]}"  # just over the limit
        huge = b" " * (4 << 20)
        for name, body in (("just over the limit", big), ("4 MiB", huge)):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                c.request("POST", "/api/predict", body=body, headers={"Content-Type": "application/json"})
                r = c.getresponse()
                answer = json.loads(r.read())
                check(r.status == 413 and "larger than 65536" in answer["error"],
                      "http.client, %s: %d %s" % (name, r.status, answer))
            except (BrokenPipeError, ConnectionResetError) as e:
                check(False, "http.client, %s: %r instead of 413" % (name, e))
            finally:
                c.close()

        # Chunked (no Content-Length) past the limit: 413 too.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            c.request("POST", "/api/predict", body=iter([b" " * 16384] * 8), encode_chunked=True,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            check(r.status == 413, "http.client, chunked 128 KiB: %d" % r.status)
        except (BrokenPipeError, ConnectionResetError) as e:
            check(False, "http.client, chunked: %r instead of 413" % e)
        finally:
            c.close()

        try:
            urllib.request.urlopen(urllib.request.Request(
                "http://127.0.0.1:%d/api/predict" % port, data=huge,
                headers={"Content-Type": "application/json"}), timeout=5)
            check(False, "urllib: no error for 4 MiB")
        except urllib.error.HTTPError as e:
            check(e.code == 413, "urllib, 4 MiB: HTTPError %d" % e.code)
        except OSError as e:
            check(False, "urllib, 4 MiB: %r instead of 413" % e)

        if shutil.which("curl"):
            path = os.path.join(work, "big.json")
            with open(path, "wb") as f:
                f.write(huge)
            for extra in ([], ["-H", "Expect:"]):  # with and without Expect: 100-continue
                out = subprocess.run(["curl", "-s", "-o", os.devnull, "-w", "%{http_code}", "--max-time", "5",
                                      "-H", "Content-Type: application/json", "--data-binary", "@" + path]
                                     + extra + ["http://127.0.0.1:%d/api/predict" % port],
                                     capture_output=True, text=True, timeout=10)
                check(out.stdout == "413", "curl %s, 4 MiB: %s" % (" ".join(extra), out.stdout))

        # Expect: 100-continue on an acceptable body: the server says continue at once (curl
        # would otherwise wait a second before sending the body).
        if shutil.which("curl"):
            path = os.path.join(work, "ok.json")
            with open(path, "w") as f:
                json.dump({"pixels": [0] * 784}, f)
            start_time = time.monotonic()
            out = subprocess.run(["curl", "-s", "-o", os.devnull, "-w", "%{http_code}", "--max-time", "5",
                                  "-H", "Content-Type: application/json", "-H", "Expect: 100-continue",
                                  "--expect100-timeout", "3", "--data-binary", "@" + path,
                                  "http://127.0.0.1:%d/api/predict" % port], capture_output=True, text=True, timeout=10)
            waited = time.monotonic() - start_time
            check(out.stdout == "200" and waited < 2.5, "curl with Expect: 100-continue: %s after %.2f s" % (out.stdout, waited))

        # HEAD: the headers of GET, no body.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("HEAD", "/api/model")
        r = c.getresponse()
        length = int(r.getheader("Content-Length", "0"))
        check(r.status == 200 and length > 100 and r.read() == b"", "HEAD /api/model: %d, Content-Length %d" % (r.status, length))
        c.close()

        # A good request still works, small by default and detailed when asked.
        body = json.dumps({"pixels": [0] * 784}).encode()
        with urllib.request.urlopen(urllib.request.Request(
                "http://127.0.0.1:%d/api/predict" % port, data=body, headers={"Content-Type": "application/json"}), timeout=5) as r:
            answer = json.loads(r.read())
            check(sorted(answer) == ["class", "class_name", "probabilities"], "default answer: %s" % sorted(answer))
        with urllib.request.urlopen(urllib.request.Request(
                "http://127.0.0.1:%d/api/predict?detail=1" % port, data=body, headers={"Content-Type": "application/json"}), timeout=5) as r:
            check(len(json.loads(r.read())["hidden"]) == 16, "?detail=1 has the 16 hidden units")

        # Request smuggling shapes: 400 and the connection closed, nothing after it answered.
        smuggle = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/model HTTP/1.1\r\nHost: x\r\n\r\n")
        got, closed = raw(port, smuggle)
        check(got.startswith(b"HTTP/1.1 400") and closed and got.count(b"HTTP/1.1") == 1,
              "Content-Length with Transfer-Encoding: %r, closed=%s" % (got[:40], closed))
        got, closed = raw(port, b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                b"Content-Length: 3\r\n\r\n{}x")
        check(got.startswith(b"HTTP/1.1 400") and closed, "two Content-Lengths: %r" % got[:40])

        # /healthz and /metrics.
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5) as r:
            check(r.status == 200 and json.loads(r.read())["status"] == "ok", "/healthz")
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            text = r.read().decode()
            count = re.search(r'backprop_http_requests_total\{code="413"\} (\d+)', text)
            check(count is not None and int(count.group(1)) >= 4, "/metrics counts the 413s")

        # --request-timeout 2: a silent connection is closed after about 2 s.
        start_time = time.monotonic()
        got, closed = raw(port, b"", wait=5)
        waited = time.monotonic() - start_time
        check(closed and 1.5 < waited < 4, "--request-timeout 2: a silent connection closed after %.1f s" % waited)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""How long a new client waits while many connections sit idle (issue 16: 1,000 idle
connections must not delay a new client beyond 100 ms). Opens IDLE connections to
127.0.0.1:PORT (every other one with half a request sent), then times TRIES fresh clients'
GET /api/model, one after another, from connect to the whole answer. Loopback only.

  serve_idle.py PORT [IDLE=1000] [TRIES=50]
"""
import resource
import socket
import statistics
import sys
import time


def main():
    port = int(sys.argv[1])
    idle = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    tries = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, idle + 100)), hard))
    held = []
    for i in range(idle):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            s.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        held.append(s)
    time.sleep(0.3)
    waits = []
    for _ in range(tries):
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        if not got.startswith(b"HTTP/1.1 200"):
            print("serve_idle: a new client got %r" % got[:40])
            return 1
        waits.append((time.monotonic() - start) * 1000)
    for s in held:
        s.close()
    waits.sort()
    print("| idle connections | new clients | median ms | p90 ms | max ms |")
    print("|---|---|---|---|---|")
    print("| %d | %d | %.2f | %.2f | %.2f |" % (idle, tries, statistics.median(waits),
                                              waits[int(0.9 * (len(waits) - 1))], waits[-1]))
    ok = waits[-1] <= 100
    print("serve_idle: %s" % ("ok" if ok else "FAILED (a new client waited more than 100 ms)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""check_http.py — runs the HTTP examples and checks them from outside.

    check_http.py server PROGRAM    examples/http_server: keep-alive, pipelining
                                    in order, 404, Connection: close, 50
                                    concurrent connections
    check_http.py fanout PROGRAM    examples/fanout: one line per URL, with
                                    the 200, 404, timeout and refused cases

Exits 0 when everything holds; otherwise says what did not and exits 1.
Used by test/meson.build.
"""
import re
import socket
import subprocess
import sys
import threading

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what)


def read_responses(sock, count, buf=b""):
    """Reads `count` HTTP responses (Content-Length framed) from sock."""
    out = []
    while len(out) < count:
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buf[:head_end].decode()
            m = re.search(r"(?im)^content-length:\s*(\d+)\s*$", head)
            length = int(m.group(1)) if m else 0
            if len(buf) >= head_end + 4 + length:
                status = int(head.split(" ", 2)[1])
                body = buf[head_end + 4:head_end + 4 + length].decode()
                out.append((status, head, body))
                buf = buf[head_end + 4 + length:]
                continue
        data = sock.recv(65536)
        if not data:
            break
        buf += data
    return out, buf


def request(path, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: test\r\n%s\r\n" % (path, extra)).encode()


def check_server(program):
    proc = subprocess.Popen([program, "-addr", "127.0.0.1:0"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    try:
        line = proc.stderr.readline()
        m = re.search(r"http://([\d.]+):(\d+)/", line)
        if not m:
            check(False, "server did not say where it listens: %r" % line)
            return
        addr = (m.group(1), int(m.group(2)))

        # Pipelining: three requests in one write, answered in order.
        with socket.create_connection(addr, timeout=10) as s:
            s.sendall(request("/plaintext") + request("/nope") + request("/plaintext?x=1"))
            got, rest = read_responses(s, 3)
            check([g[0] for g in got] == [200, 404, 200],
                  "pipelined statuses in order: got %s" % [g[0] for g in got])
            check(got and got[0][2] == "Hello, World!", "plaintext body")
            check(got and re.search(r"(?im)^content-type: text/plain\s*$", got[0][1]),
                  "Content-Type: text/plain")
            check(got and re.search(r"(?im)^date: \w{3}, \d\d \w{3} \d{4} ", got[0][1]), "Date header")
            # Keep-alive: the same connection serves more, split across writes.
            req = request("/plaintext")
            s.sendall(req[:7])
            s.sendall(req[7:])
            got, rest = read_responses(s, 1, rest)
            check(len(got) == 1 and got[0][0] == 200, "keep-alive request split across writes")
            # Connection: close is honoured: response, then end of stream.
            s.sendall(request("/plaintext", "Connection: close\r\n"))
            got, rest = read_responses(s, 1, rest)
            check(len(got) == 1 and got[0][0] == 200, "response to Connection: close")
            check(s.recv(1) == b"", "server closes after Connection: close")

        # Garbage gets 400 and a close.
        with socket.create_connection(addr, timeout=10) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            got, _ = read_responses(s, 1)
            check(len(got) == 1 and got[0][0] == 400, "bad request gets 400")

        # Many connections at once, each with a few requests.
        errors = []

        def client():
            try:
                with socket.create_connection(addr, timeout=20) as s:
                    for _ in range(5):
                        s.sendall(request("/plaintext"))
                        got, _ = read_responses(s, 1)
                        if len(got) != 1 or got[0][2] != "Hello, World!":
                            errors.append("bad response %r" % (got,))
            except OSError as e:
                errors.append(str(e))
        threads = [threading.Thread(target=client) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(not errors, "50 concurrent keep-alive clients: %s" % errors[:3])
        check(proc.poll() is None, "server still running")
    finally:
        proc.kill()
        proc.wait()


def check_fanout(program):
    proc = subprocess.run([program], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120)
    lines = proc.stdout.splitlines()
    print(proc.stdout, end="")
    if proc.stderr:
        print("stderr:\n" + proc.stderr, end="")
    check(proc.returncode == 0, "exit status %d" % proc.returncode)
    site = r"http://127\.0\.0\.1:\d+"
    want = {
        "home": r"OK 200: %s/$" % site,
        "about": r"OK 200: %s/about$" % site,
        "missing": r"OK 404: %s/missing$" % site,
        "slow": r"ERROR: %s/slow: read response: .*time" % site,
        "refused": r"ERROR: %s/: dial tcp 127\.0\.0\.1:\d+: .*refused" % site,
    }
    check(len(lines) == len(want), "%d lines, want %d" % (len(lines), len(want)))
    for name, pattern in want.items():
        matches = [l for l in lines if re.match(pattern, l, re.I)]
        check(len(matches) == 1, "one line for %s (%s)" % (name, pattern))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("server", "fanout"):
        sys.exit(__doc__)
    {"server": check_server, "fanout": check_fanout}[sys.argv[1]](sys.argv[2])
    if FAILURES:
        sys.exit(1)
    print("%s: all checks passed" % sys.argv[1])


if __name__ == "__main__":
    main()

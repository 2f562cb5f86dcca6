#!/usr/bin/env python3
"""check_example.py NAME PROGRAM [ARGS...]

Runs one of the programs in examples/ and compares what it prints with what
the Go program it ports prints. Exits 0 on a match; otherwise prints the
difference and exits 1. Used by test/meson.build.
"""
import difflib
import subprocess
import sys


def first_primes(n):
    primes = []
    k = 2
    while len(primes) < n:
        if all(k % p for p in primes if p * p <= k):
            primes.append(k)
        k += 1
    return primes


def expect_worker_pool(args):
    jobs, workers = 12, 3
    lines = ["job %2d -> %3d" % (j, j * j) for j in range(1, jobs + 1)]
    total = sum(j * j for j in range(1, jobs + 1))
    lines.append("%d jobs, %d workers, %d results, sum %d" % (jobs, workers, jobs, total))
    return lines


def expect_prime_sieve(args):
    n = int(args[0]) if args else 10
    return [str(p) for p in first_primes(n)]


def expect_echo(args):
    clients = int(args[0]) if args else 3
    lines = ["client %d: echoed: hello from client %d, line %d" % (c, c, l)
             for c in range(1, clients + 1) for l in range(1, 4)]
    lines.append("%d clients, %d lines echoed" % (clients, clients * 3))
    return lines


EXPECTED = {
    "worker_pool": expect_worker_pool,
    "prime_sieve": expect_prime_sieve,
    "echo": expect_echo,
}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in EXPECTED:
        sys.exit("usage: check_example.py {%s} PROGRAM [ARGS...]" % ",".join(EXPECTED))
    name, program, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    want = EXPECTED[name](args)
    proc = subprocess.run([program] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True, timeout=300)
    got = proc.stdout.splitlines()
    ok = True
    if proc.returncode != 0:
        print("%s exited with status %d" % (name, proc.returncode))
        ok = False
    if got != want:
        print("%s printed something else than expected:" % name)
        sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
            want, got, "expected", "got", lineterm=""))
        ok = False
    if proc.stderr:
        print("%s stderr:\n%s" % (name, proc.stderr), end="")
    if ok:
        print("%s: %d lines as expected" % (name, len(want)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

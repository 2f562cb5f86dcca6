#!/usr/bin/env python3
"""check_example.py NAME PROGRAM [ARGS...]

Runs one of the programs in examples/ and compares what it prints with what
the Go program it ports prints. Exits 0 on a match; otherwise prints the
difference and exits 1. Used by test/meson.build.

Most examples print the same lines on every run (EXPECTED: the exact
lines). Where the order of lines depends on scheduling, CHECKS holds a
function that tests the properties that cannot change (each goroutine's own
lines in order, the same set of lines) and returns what it found wrong.
Timing-based examples check their own timing promises and print a verdict
("yes"), so their lines are exact too.
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


def fixed(*lines):
    """An expectation that ignores the arguments: exactly these lines."""
    return lambda args: list(lines)


def expect_longest_string(args):
    many = ["x" * (k % 97) + "#" + str(k) for k in range(1000)]
    best = max(range(len(many)), key=lambda k: (len(many[k]), -k))  # first of the longest
    return [
        '5 words -> "goroutine"',
        '4 words -> "tie"',
        '0 words -> ""',
        '7 words -> "abcd"',
        "1000 words -> %d letters, word %d" % (len(many[best]), best),
    ]


def expect_echo(args):
    clients = int(args[0]) if args else 3
    lines = ["client %d: echoed: hello from client %d, line %d" % (c, c, l)
             for c in range(1, clients + 1) for l in range(1, 4)]
    lines.append("%d clients, %d lines echoed" % (clients, clients * 3))
    return lines


EXPECTED = {
    "echo": expect_echo,
    "udp_server": fixed(
        "query 1: alpha.example -> 10.0.0.1",
        "query 2: beta.example -> 10.0.0.2",
        "query 3: nosuch.example -> NXDOMAIN",
        "query 4: gamma.example -> 10.0.0.3",
        "query 5: alpha.example -> 10.0.0.1",
        "silent server: no answer after 2 tries",
        "5 queries, 4 answered, 1 NXDOMAIN"),
    "unix_server": fixed(
        "client 1: c1 = 1, 2, 3",
        "client 2: c2 = 1, 2, 3",
        "client 3: c3 = 1, 2, 3",
        "shared = 3 after 3 clients",
        'frob -> error: unknown command "frob"',
        "socket file removed on close: true"),
    "channels": fixed(
        "unbuffered: got ping",
        "buffered: len 2 cap 2",
        "buffered: got first then second",
        "buffered: len 0 cap 2"),
    "channel_sync": fixed("working...", "finished", "main: worker is done"),
    "channel_directions": fixed("ping pong"),
    "select": fixed(
        "from a: 100 101 102 103",
        "from b: 200 201 202 203",
        "8 values, both channels closed"),
    "timeouts": fixed("timeout 1", "result 2"),
    "non_blocking": fixed(
        "no message received",
        "no message sent",
        "no activity",
        "buffered try_send: sent",
        "buffered try_send again: not sent",
        "buffered try_recv: hi"),
    "closing_channels": fixed(
        "sent job 1", "sent job 2", "sent job 3", "sent all jobs",
        "worker received 3 jobs: 1 2 3",
        "receive after close: ok=false",
        "send after close: panic: send on closed channel"),
    "range_over_channels": fixed("one", "two", "1", "4", "9", "16", "25"),
    "timers": fixed(
        "timer 1 fired, not early: yes",
        "timer 2 stopped",
        "timer 2 fired after reset",
        "after func ran"),
    "tickers": fixed(
        "tick 1", "tick 2", "tick 3",
        "ticks in order: yes",
        "third tick at least 3 periods after the start: yes",
        "no tick after stop"),
    "worker_pool": expect_worker_pool,
    "wait_groups": fixed(*["worker %d: %d" % (i, i * 10) for i in range(5)],
                         "sum of squares: 30"),
    "rate_limiting": fixed(
        "steady: served 1 2 3 4 5; never faster than the limit: yes",
        "bursty: served 1 2 3 4 5; never faster than the limit: yes"),
    "atomic_counters": fixed("ops: 50000"),
    "mutexes": fixed("a: 20000", "b: 10000"),
    "stateful_goroutines": fixed(
        "reads: 400", "writes: 400",
        *["key %d = 100" % k for k in range(4)],
        "state owner stopped"),
    "context_pipeline": fixed(
        *[str(n * n) for n in range(1, 8)],
        "both stages returned",
        "slow operation: context deadline exceeded",
        "deadline exceeded: yes"),
    "bounded_parallelism": fixed(
        "all ok: 12 of 12 completed, error: none",
        "at most 3 at once: yes",
        "one fails: error: item failed",
        "at most 3 at once: yes"),
    "prime_sieve": expect_prime_sieve,
    "longest_string": expect_longest_string,
    # examples/go/crawler.go prints the same.
    "crawler": fixed(
        '/        "home", links: 3',
        '/about   "about us", links: 3',
        '/blog    "the blog", links: 3',
        '/blog/1  "first post", links: 1',
        '/blog/2  "second post", links: 2',
        "/gone    error: not found",
        "/slow    error: context deadline exceeded",
        '/team    "the team", links: 0',
        "8 pages"),
}


def check_goroutines(args, got):
    """The direct call's lines first, "done" last; in between, the two
    goroutines' lines interleaved in any way, each goroutine's in order."""
    problems = []
    direct = ["direct %d" % i for i in (1, 2, 3)]
    if got[:3] != direct:
        problems.append("expected the direct call's lines first: %r" % direct)
    if got[-1:] != ["done"]:
        problems.append('expected "done" last')
    middle = got[3:-1]
    for name in ("first", "second"):
        mine = [l for l in middle if l.split(" ")[0] == name]
        want = ["%s %d" % (name, i) for i in (1, 2, 3)]
        if mine != want:
            problems.append("goroutine %s printed %r, expected %r in this order" % (name, mine, want))
    if len(middle) != 6:
        problems.append("expected 6 lines from the goroutines, got %d" % len(middle))
    return problems


CHECKS = {
    "goroutines": check_goroutines,
}


def main():
    known = sorted(set(EXPECTED) | set(CHECKS))
    if len(sys.argv) < 3 or sys.argv[1] not in known:
        sys.exit("usage: check_example.py {%s} PROGRAM [ARGS...]" % ",".join(known))
    name, program, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    proc = subprocess.run([program] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True, timeout=300)
    got = proc.stdout.splitlines()
    ok = True
    if proc.returncode != 0:
        print("%s exited with status %d" % (name, proc.returncode))
        ok = False
    if name in CHECKS:
        problems = CHECKS[name](args, got)
        for p in problems:
            print("%s: %s" % (name, p))
        if problems:
            print("%s printed:\n%s" % (name, proc.stdout), end="")
            ok = False
        want = got
    else:
        want = EXPECTED[name](args)
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

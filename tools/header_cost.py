#!/usr/bin/env python3
"""header_cost.py BEFORE_INCLUDE AFTER_INCLUDE [--reps N] [--cxx g++]

What including csp's public headers costs a program: for <csp/go.hpp> and
each part header, a hello world (the include, <cstdio>, a main that
prints) compiled with `-std=c++20 -O2 -c` against two include directories,
the runs interleaved (before, after, before, ...) so that a loaded machine
slows both alike. Prints, per header, the median CPU time (user + system,
of the compiler and its children) of each and the preprocessed size in
lines (exact, for a figure that does not move with the load).

  git archive main include | tar -x -C /tmp/before     # the old headers
  tools/header_cost.py /tmp/before/include include:build/include --reps 7

An argument may list several directories separated by ':' (csp/version.hpp
is generated into the build directory). With --callgrind HEADER... it
instead counts the instructions of one compile of each named header's hello
world under valgrind's callgrind (the compiler driver and its children):
exact figures, unmoved by the load, at about a minute per compile.
"""
import argparse
import os
import resource
import statistics
import subprocess
import tempfile

HEADERS = ["go", "goroutine", "chan", "select", "sync", "panic", "runtime", "time", "context", "errgroup", "net"]


def flags(dirs):
    return ["-I" + d for d in dirs.split(":")]


def cpu_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def callgrind_instructions(cmd, tmp):
    out = os.path.join(tmp, "cg")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    subprocess.run(["valgrind", "--tool=callgrind", "--trace-children=yes",
                    "--callgrind-out-file=" + os.path.join(out, "cg.%p")] + cmd,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = 0
    for f in os.listdir(out):
        with open(os.path.join(out, f)) as fh:
            for line in fh:
                if line.startswith(("summary:", "totals:")):
                    total += int(line.split()[1])
                    break
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--callgrind", nargs="+", metavar="HEADER")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.callgrind:
            for h in a.callgrind:
                src = os.path.join(tmp, "hello_%s.cpp" % h)
                with open(src, "w") as f:
                    f.write('#include <csp/%s.hpp>\n#include <cstdio>\nint main() { std::puts("hello"); }\n' % h)
                n = {name: callgrind_instructions([a.cxx, "-std=c++20", "-O2"] + flags(dirs) +
                                                  ["-c", src, "-o", os.devnull], tmp)
                     for name, dirs in (("before", a.before), ("after", a.after))}
                print("csp/%s.hpp: %s -> %s instructions (%+.1f%%)" % (
                    h, format(n["before"], ","), format(n["after"], ","),
                    100 * (n["after"] - n["before"]) / n["before"]), flush=True)
            return
        rows = []
        for h in HEADERS:
            src = os.path.join(tmp, "hello_%s.cpp" % h)
            with open(src, "w") as f:
                f.write('#include <csp/%s.hpp>\n#include <cstdio>\nint main() { std::puts("hello"); }\n' % h)
            base = [a.cxx, "-std=c++20", "-O2"]
            lines = {}
            for name, dirs in (("before", a.before), ("after", a.after)):
                pre = subprocess.run(base + flags(dirs) + ["-E", src], check=True, stdout=subprocess.PIPE,
                                     text=True).stdout
                lines[name] = pre.count("\n")
            times = {"before": [], "after": []}
            for _ in range(a.reps):
                for name, dirs in (("before", a.before), ("after", a.after)):
                    times[name].append(cpu_seconds(base + flags(dirs) + ["-c", src, "-o", os.devnull]))
            rows.append((h, statistics.median(times["before"]), statistics.median(times["after"]),
                         lines["before"], lines["after"]))
            print("%-10s %5.2f s -> %5.2f s   %6d -> %6d lines" % rows[-1], flush=True)
        print()
        print("| header | CPU before | CPU after | change | preprocessed lines before → after |")
        print("|---|---|---|---|---|")
        for h, tb, ta, lb, la in rows:
            print("| `csp/%s.hpp` | %.2f s | %.2f s | %+.0f%% | %s → %s |" % (
                h, tb, ta, 100 * (ta - tb) / tb, format(lb, ","), format(la, ",")))


if __name__ == "__main__":
    main()

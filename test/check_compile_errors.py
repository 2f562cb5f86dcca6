#!/usr/bin/env python3
"""check_compile_errors.py — each common mistake's first compiler error
says what is wrong (issue 17: they used to start 40-160 lines deep inside
std::tuple, <type_traits> or select.hpp).

    check_compile_errors.py INCLUDE_DIR COMPILER [ARGS...]

Compiles each snippet below with -fsyntax-only and checks that it fails
and that the first line containing "error" holds the expected text.
"""
import os
import subprocess
import sys
import tempfile

PRELUDE = """
#include <csp/go.hpp>
#include <memory>
#include <string>
using namespace csp;
"""

# name: (standard, body, expected text in the first error line)
CASES = {
    "go: move-only lambda passed as an lvalue": ("c++20", """
void f() {
  auto work = [p = std::make_unique<int>(1)] { (void)p; };
  go(work);
}""", "go: f is move-only and was passed as an lvalue; pass std::move(f)"),
    "go: wrong argument count": ("c++20", """
void worker(int, int) {}
void f() { go(worker, 1); }""", "go: f is not callable with these arguments"),
    "go: wrong argument type": ("c++20", """
void worker(std::string) {}
void f() { go(worker, 42); }""", "go: f is not callable with these arguments"),
    "go: move-only argument passed as an lvalue": ("c++20", """
void f() {
  auto p = std::make_unique<int>(1);
  go([](std::unique_ptr<int>) {}, p);
}""", "go: an argument is move-only and was passed as an lvalue; pass std::move(arg)"),
    "wait_group::go: wrong argument count": ("c++20", """
void worker(int) {}
void f() { sync::wait_group wg; wg.go(worker); wg.wait(); }""",
        "go: f is not callable with these arguments"),
    "on_recv: callback of the wrong type": ("c++20", """
void f() {
  auto ch = make_chan<int>();
  select(on_recv(ch, [](int v) { (void)v; }));
}""", "on_recv: f must be callable with the channel's std::optional<T>"),
    "on_send: callback taking an argument": ("c++20", """
void f() {
  auto ch = make_chan<int>();
  select(on_send(ch, 1, [](int v) { (void)v; }));
}""", "on_send: f must be callable with no arguments"),
    "select: labelled and unlabelled cases mixed": ("c++20", """
enum class ev { a, b };
void f() {
  auto ch = make_chan<int>();
  (void)select(recv(ch).as(ev::a), recv(ch));
}""", "select: label every case with .as(label), or none"),
    "select: a label that is not an enum": ("c++20", """
void f() {
  auto ch = make_chan<int>();
  (void)select(recv(ch).as(1));
}""", "select: a case label (.as(label)) must be an enum value"),
    "recv(ch, v): T without a zero value": ("c++20", """
struct no_default { explicit no_default(int) {} };
void f() {
  auto ch = make_chan<no_default>();
  no_default v{1};
  (void)select(recv(ch, v));
}""", "recv(ch, v): v gets T{} (Go's zero value) when ch is closed"),
    "context::with_value: a key without ==": ("c++20", """
struct key {};
void f() { (void)context::with_value(context::background(), key{}, 1); }""",
        "context::with_value: the key type must be comparable with =="),
    "errgroup: f returning something else than an error": ("c++20", """
void f() { errgroup::group g; g.go([] { return 42; }); (void)g.wait(); }""",
        "errgroup: f must return std::error_code (Go's error) or void"),
    "C++17": ("c++17", """
int main() {}""", "csp needs C++20"),
}


def first_error_line(output):
    for line in output.splitlines():
        if "error" in line:
            return line
    return None


def main():
    include_dir, compiler = sys.argv[1], sys.argv[2:]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (std, body, expected) in CASES.items():
            src = os.path.join(tmp, "mistake.cpp")
            with open(src, "w") as f:
                f.write(PRELUDE + body + "\n")
            cmd = compiler + [f"-std={std}", "-fsyntax-only", "-I", include_dir, src]
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            line = first_error_line(r.stdout)
            if r.returncode == 0:
                print(f"FAIL {name}: compiled, expected an error")
                failures += 1
            elif line is None or expected not in line:
                print(f"FAIL {name}: first error line is\n    {line}\n  expected it to contain\n    {expected}")
                print("  (first 10 lines of output)\n    " + "\n    ".join(r.stdout.splitlines()[:10]))
                failures += 1
            else:
                print(f"ok   {name}: {line.strip()}")
    print(f"{len(CASES) - failures} of {len(CASES)} mistakes name themselves in their first error line")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

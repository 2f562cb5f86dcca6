#!/usr/bin/env python3
"""check_gdb.py EXTENSION LIBRARY PROGRAM

Tests the gdb extension (tools/csp-gdb.py) in gdb's batch mode on PROGRAM
(test/gdb_target.cpp), which stops in csp_gdb_stop_here with three
goroutines parked: in a channel receive, on a mutex, asleep.

1. Live process: gdb auto-loads the extension as LIBRARY's
   <realpath>-gdb.py from a scripts directory, as an installed one is
   loaded; `info goroutines` must list the three with their wait reasons
   and creation sites, `goroutine all bt` each one's own frames (the
   function it parked in), and the thread's own backtrace must be intact
   afterwards. Then `gcore` writes a core file.
2. Core file: with the extension sourced, `info goroutines` and
   `goroutine N bt` for each id must show the same.
Exits 0 when all hold; otherwise says what failed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# wait reason -> a function that must be on that goroutine's stack
EXPECTED = {
    "chan receive": "gdb_wait_for_value",
    "sync.Mutex.Lock": "gdb_wait_for_lock",
    "sleep": "time_sleep_ns",  # gdb_nap's call is a tail call: its frame is gone
}


def fail(msg, out=""):
    print("FAIL: " + msg)
    if out:
        print("---- gdb output ----\n" + out)
    sys.exit(1)


def gdb(args, timeout=240):
    proc = subprocess.run(["gdb", "-batch", "-nx", "-iex", "set pagination off", "-iex", "set confirm off"] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return proc.stdout


def goroutine_rows(out):
    """{id: (state, wait reason, created at)} from `info goroutines`."""
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+(idle|runnable|running|waiting)\s+(.*?)\s{2,}(\S.*)$", line)
        if m:
            rows[int(m.group(1))] = (m.group(2), m.group(3), m.group(4))
    return rows


def check_listing(out, what):
    rows = goroutine_rows(out)
    by_reason = {}
    for gid, (state, reason, site) in rows.items():
        if state == "waiting":
            by_reason[reason] = gid
        if "gdb_target.cpp:" not in site or " in " not in site:
            fail("%s: goroutine %d's creation site is %r" % (what, gid, site), out)
    for reason in EXPECTED:
        if reason not in by_reason:
            fail("%s: `info goroutines` shows no goroutine waiting in %r" % (what, reason), out)
    return by_reason


def backtraces(out):
    """{id: text} of each `goroutine N bt` block."""
    blocks = {}
    for m in re.finditer(r"^goroutine (\d+) \[[^\n]*\n((?:#\d+[^\n]*\n?)*)", out, re.M):
        blocks[int(m.group(1))] = m.group(2)
    return blocks


def check_backtraces(out, by_reason, what):
    bts = backtraces(out)
    for reason, func in EXPECTED.items():
        gid = by_reason[reason]
        bt = bts.get(gid, "")
        if "csp::detail::park" not in bt or func not in bt:
            fail("%s: goroutine %d (%s): backtrace lacks park and %s" % (what, gid, reason, func), out)
        if "make_fcontext" not in bt and "goroutine_entry" not in bt:
            fail("%s: goroutine %d's backtrace does not reach the goroutine's entry" % (what, gid), out)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    ext, lib, program = sys.argv[1:]
    if shutil.which("gdb") is None:
        fail("gdb is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        # gdb loads <scripts-directory>/<library's real path>-gdb.py with the library.
        autoload = os.path.join(tmp, "auto-load")
        script = autoload + os.path.realpath(lib) + "-gdb.py"
        os.makedirs(os.path.dirname(script))
        shutil.copy(ext, script)
        core = os.path.join(tmp, "core")
        live = gdb(["-iex", "set auto-load scripts-directory " + autoload,
                    "-iex", "set auto-load safe-path " + autoload,
                    "-ex", "break csp_gdb_stop_here", "-ex", "run",
                    "-ex", "info goroutines", "-ex", "goroutine all bt", "-ex", "bt 1",
                    "-ex", "gcore " + core, "-ex", "kill", program])
        if "hit Breakpoint 1, csp_gdb_stop_here" not in live:
            fail("live: the program did not stop in csp_gdb_stop_here", live)
        if "Undefined info command" in live or "Undefined command" in live:
            fail("live: the extension was not auto-loaded with the library", live)
        by_reason = check_listing(live, "live")
        check_backtraces(live, by_reason, "live")
        tail = live[live.rindex("goroutine "):]
        if not re.search(r"^#0\s+csp_gdb_stop_here", tail, re.M):
            fail("live: after `goroutine all bt` the thread's own backtrace is not csp_gdb_stop_here", live)
        if not os.path.exists(core):
            fail("live: gcore wrote no core file", live)

        cmds = ["-ex", "info goroutines"]
        for gid in by_reason.values():
            cmds += ["-ex", "goroutine %d bt" % gid]
        post = gdb(["-x", ext] + cmds + [program, core])
        check_backtraces(post, check_listing(post, "core"), "core")
        print("gdb ok: %d goroutines listed and unwound, live and from a core file" % len(by_reason))
        print(post)


if __name__ == "__main__":
    main()

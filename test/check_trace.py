#!/usr/bin/env python3
"""check_trace.py TOOL PROGRAM [ARGS...]

Runs PROGRAM with CSP_TRACE set and checks the trace it writes: valid JSON;
goroutine run slices on at least one worker track; park events that carry
a wait reason; ready events; every flow end ("f") matched by a flow start
("s") with the same id; every flow start inside a slice ("X") of its own
track, which is where Perfetto binds it (it drops one outside any slice);
creation events naming their site. Then runs the
trace tool (tools/csp_trace.py) on it: `summary` must report the
goroutines and blocked time, `svg` must write a well-formed SVG with one
row per track; and `summary` must still read the file cut in half (what a
process that dies before exit leaves). Exits 0 when all hold; otherwise
says what failed.
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def flow_starts_outside_slices(events):
    """The flow starts ("s") that no complete slice ("X") of the same track
    encloses. Times are microseconds with three decimals: compared in
    nanoseconds, rounded, so that a 1 ns slice encloses its own start."""
    ns = lambda us: round(us * 1000)
    slices = {}
    for e in events:
        if e.get("ph") == "X":
            slices.setdefault(e["tid"], []).append((ns(e["ts"]), ns(e["ts"]) + ns(e["dur"])))
    for spans in slices.values():
        spans.sort()
    outside = []
    for e in events:
        if e.get("ph") != "s":
            continue
        t = ns(e["ts"])
        spans = slices.get(e["tid"], [])
        # A linear scan is fine: traces checked here have a few thousand slices.
        if not any(a <= t <= b for a, b in spans):
            outside.append(e)
    return outside


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    tool, program, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.json")
        env = dict(os.environ, CSP_TRACE=path, GOMAXPROCS="2")
        proc = subprocess.run([program] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=300)
        if proc.returncode != 0:
            fail("%s exited %d: %s" % (program, proc.returncode, proc.stderr))
        with open(path) as f:
            events = json.load(f)  # must be complete JSON: main returned normally
        if not isinstance(events, list) or not events:
            fail("not a non-empty JSON array")
        names = {e["tid"]: e["args"]["name"] for e in events
                 if e.get("ph") == "M" and e.get("name") == "thread_name"}
        runs = [e for e in events if e.get("ph") == "X" and e.get("cat") == "run"]
        workers = {e["tid"] for e in runs if names.get(e["tid"], "").startswith("worker ")}
        if not workers:
            fail("no goroutine run slice on a worker track (tracks: %s)" % names)
        for e in runs:
            if not e["name"].startswith("g") or ".cpp:" not in e["name"] or e["dur"] < 0 or "end" not in e["args"]:
                fail("bad run slice: %s" % e)
        parks = [e for e in events if e.get("cat") == "park"]
        if not parks or not all(e["args"].get("reason") for e in parks):
            fail("park events missing or without a reason")
        reasons = {e["args"]["reason"] for e in parks}
        if not reasons & {"chan receive", "chan send", "select"}:
            fail("no channel park reasons: %s" % reasons)
        readies = [e for e in events if e.get("cat") == "ready"]
        if not readies:
            fail("no ready events")
        gos = [e for e in events if e.get("cat") == "go"]
        if not gos or not all(".cpp:" in e["args"]["created_at"] for e in gos):
            fail("creation events missing or without a site")
        starts = {e["id"] for e in events if e.get("ph") == "s"}
        ends = [e["id"] for e in events if e.get("ph") == "f"]
        if not ends:
            fail("no flow arrows")
        unmatched = [i for i in ends if i not in starts]
        if unmatched:
            fail("flow ends without a start: %s" % unmatched[:5])
        if len(set(ends)) != len(ends):
            fail("a flow id ends twice")
        outside = flow_starts_outside_slices(events)
        if outside:
            fail("%d of %d flow starts lie outside every slice of their track, e.g. %s" % (
                len(outside), len(starts), outside[:3]))

        summary = subprocess.run([sys.executable, tool, "summary", path], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, timeout=120)
        if summary.returncode != 0:
            fail("summary failed: %s" % summary.stderr)
        out = summary.stdout
        ngo = len({e["args"]["goroutine"] for e in gos} | {e["args"]["goroutine"] for e in runs})
        for want in ("goroutines: %d" % ngo, "context switches: %d" % len(runs), "time blocked by reason",
                     "utilisation", "worker "):
            if want not in out:
                fail("summary lacks %r:\n%s" % (want, out))
        svg_path = os.path.join(tmp, "t.svg")
        svg = subprocess.run([sys.executable, tool, "svg", path, "-o", svg_path], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=120)
        if svg.returncode != 0:
            fail("svg failed: %s" % svg.stderr)
        root = ET.parse(svg_path).getroot()
        ns = "{http://www.w3.org/2000/svg}"
        rects = root.findall(".//%srect" % ns)
        if len(rects) < len(runs) // 2:
            fail("svg has %d rects for %d runs" % (len(rects), len(runs)))
        texts = "".join(t.text or "" for t in root.iter("%stext" % ns))
        for tid in workers:
            if names[tid] not in texts:
                fail("svg has no row for %s" % names[tid])
        # A process that dies before exit leaves the file cut short: the tool
        # must still read the complete events.
        with open(path) as f:
            text = f.read()
        cut = os.path.join(tmp, "cut.json")
        with open(cut, "w") as f:
            f.write(text[: text.rindex("\n", 0, len(text) // 2) + 40])
        partial = subprocess.run([sys.executable, tool, "summary", cut], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, timeout=120)
        if partial.returncode != 0 or "goroutines:" not in partial.stdout:
            fail("summary of a truncated trace failed: %s" % partial.stderr)
        print("trace ok: %d events, %d runs on %d worker tracks, %d parks, %d flows" % (
            len(events), len(runs), len(workers), len(parks), len(ends)))
        print(out, end="")


if __name__ == "__main__":
    main()

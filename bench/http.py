#!/usr/bin/env python3
"""http.py — csp's HTTP plaintext server against Go's net/http, under wrk.

    bench/http.py                       # 3 interleaved rounds, 5 s each, -t2 -c64
    bench/http.py --pin                 # server on CPU 0 (GOMAXPROCS=1), wrk -t1 on CPU 1
    bench/http.py --write               # also rewrite bench/RESULTS-http.md

Builds examples/http_server (Meson target `http_server`, release build in
build/http-release) and the Go peer bench/peers/go_http (net/http, the same
handler as shared/anchors/go-http), then, for each round, starts one server,
runs `wrk --latency` against GET /plaintext, stops it, and does the same for
the other: same connections, threads and duration, same machine, one run.
Prints `BENCH http_plaintext_<metric>_<impl> <value> <unit>` lines and a table
of medians [min–max] with the ratios csp/Go. Percentiles come from wrk's own
histogram through a small Lua `done()` hook (wrk's --latency stops at p99).

On a 2-core VM wrk and the server share the CPUs: the figures are for the
pair, not the server alone; --pin separates them onto one core each.
Needs Debian's wrk and golang-go; skips Go with a note when it is missing.
"""
import argparse
import datetime
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

LUA_PERCENTILES = """
done = function(summary, latency, requests)
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("LAT %g %d\\n", p, latency:percentile(p)))
  end
  io.write(string.format("REQS %d %d\\n", summary.requests, summary.duration))
  local e = summary.errors
  io.write(string.format("ERRS %d\\n", e.connect + e.read + e.write + e.status + e.timeout))
end
"""

METRICS = [  # (key, unit, better)
    ("rps", "req/s", "higher"),
    ("p50", "us", "lower"),
    ("p90", "us", "lower"),
    ("p99", "us", "lower"),
    ("p99.9", "us", "lower"),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def build(args):
    servers = {}
    bd = args.build_dir.resolve()  # absolute: the Go peer builds from its own directory
    if not (bd / "build.ninja").exists():
        sh(["meson", "setup", bd, "-Dbuildtype=release", "-Dtests=false", "-Dbenchmarks=false",
            "-Dexamples=true"], cwd=ROOT)
    sh(["meson", "compile", "-C", bd, "-j", str(args.jobs), "http_server"], cwd=ROOT)
    servers["csp"] = [bd / "examples" / "http_server"]
    if shutil.which("go"):
        out = bd / "go_http"
        env = dict(os.environ, GOCACHE=str(bd / "gocache"), GO111MODULE="on", GOPROXY="off",
                   GOTOOLCHAIN="local", GOFLAGS="")
        sh(["go", "build", "-o", out, "."], cwd=BENCH / "peers" / "go_http", env=env)
        servers["go"] = [out]
    else:
        log("note: `go` not found (Debian: apt-get install golang-go): skipping the Go server")
    return servers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited with status %d" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start listening on port %d" % port)


def run_once(server, args, lua):
    port = free_port()
    env = dict(os.environ)
    wrk = ["wrk", "-t%d" % args.threads]
    prefix = []
    if args.pin:
        env["GOMAXPROCS"] = "1"
        prefix = ["taskset", "-c", "0"]
        wrk = ["taskset", "-c", "1", "wrk", "-t1"]
    elif args.procs:
        env["GOMAXPROCS"] = str(args.procs)
    proc = subprocess.Popen(prefix + [str(c) for c in server] + ["-addr", "127.0.0.1:%d" % port],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        out = subprocess.run(wrk + ["-c%d" % args.connections, "-d%ds" % args.duration,
                                    "--latency", "-s", lua,
                                    "http://127.0.0.1:%d/plaintext" % port],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
    finally:
        proc.terminate()
        proc.wait()
    res = {}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    res["rps"] = float(m.group(1))
    for p, us in re.findall(r"^LAT (\S+) (\d+)$", out, re.M):
        res["p" + p] = float(us)
    res["errors"] = int(re.search(r"^ERRS (\d+)$", out, re.M).group(1))
    return res


def fmt(v):
    return "%.0f" % v if v >= 100 else "%.1f" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (without --pin)")
    ap.add_argument("--procs", type=int, default=0, help="GOMAXPROCS for both servers (default: unset)")
    ap.add_argument("--pin", action="store_true", help="server on CPU 0 with GOMAXPROCS=1, wrk -t1 on CPU 1")
    ap.add_argument("--build-dir", type=Path, default=ROOT / "build" / "http-release")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--write", action="store_true", help="rewrite bench/RESULTS-http.md")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found (Debian: apt-get install wrk)")

    servers = build(args)
    runs = {impl: [] for impl in servers}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA_PERCENTILES)
        lua = f.name
    started = datetime.datetime.utcnow()
    try:
        for rep in range(args.reps):
            for impl, server in servers.items():
                r = run_once(server, args, lua)
                runs[impl].append(r)
                for key, unit, _ in METRICS:
                    print("BENCH http_plaintext_%s_%s %s %s" % (key.replace(".", "_"), impl, fmt(r[key]), unit),
                          flush=True)
                if r["errors"]:
                    log("note: %s run %d had %d socket/status errors" % (impl, rep + 1, r["errors"]))
    finally:
        os.unlink(lua)

    setup = ("wrk -t1 on CPU 1, server on CPU 0 with GOMAXPROCS=1" if args.pin else
             "wrk -t%d, server unpinned (GOMAXPROCS %s)" % (args.threads, args.procs or "= nproc"))
    lines = ["| metric | unit | csp | Go | csp/Go | target |", "|---|---|---|---|---|---|"]
    for key, unit, better in METRICS:
        cells = {}
        for impl in servers:
            vals = [r[key] for r in runs[impl]]
            cells[impl] = (statistics.median(vals), min(vals), max(vals))
        row = ["%s" % key, unit]
        for impl in ("csp", "go"):
            if impl in cells:
                med, lo, hi = cells[impl]
                row.append("%s [%s–%s]" % (fmt(med), fmt(lo), fmt(hi)))
            else:
                row.append("—")
        if "go" in cells:
            row.append("%.2f" % (cells["csp"][0] / cells["go"][0]))
        else:
            row.append("—")
        row.append({"rps": "≥ 1.5", "p99.9": "≤ 0.5"}.get(key, ""))
        lines.append("| " + " | ".join(row) + " |")
    table = "\n".join(lines)
    cmd = "bench/http.py " + " ".join(sys.argv[1:])
    print()
    print("%d rounds, %d s each, %d connections, %s\n" % (args.reps, args.duration, args.connections, setup))
    print(table)
    if args.write:
        cpu = ""
        try:
            cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        except (OSError, StopIteration):
            pass
        go_version = subprocess.run(["go", "version"], stdout=subprocess.PIPE, text=True).stdout.strip() \
            if shutil.which("go") else "not installed"
        text = ("# HTTP plaintext: csp vs Go net/http under wrk\n\n"
                "Generated by `%s` (started %s UTC). Medians [min–max] of %d interleaved rounds; "
                "latencies in µs from wrk's histogram.\n\n"
                "- machine: %d CPUs (`nproc`), %s\n- setup: %d connections, %d s per run, %s\n"
                "- Go: %s\n\n%s\n\n"
                "wrk and the server share this machine's CPUs: the figures measure the pair.\n"
                % (cmd, started.strftime("%Y-%m-%d %H:%M"), args.reps, os.cpu_count(), cpu,
                   args.connections, args.duration, setup, go_version, table))
        path = BENCH / ("RESULTS-http-pinned.md" if args.pin else "RESULTS-http.md")
        path.write_text(text)
        log("wrote " + str(path))


if __name__ == "__main__":
    main()

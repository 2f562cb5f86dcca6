#!/usr/bin/env python3
"""Build csp's workloads and the Go and Boost.Fiber peers, run them
interleaved, and print a table of medians and ratios (bench/README.md).

    bench/run.py                      # everything, 3 reps, GOMAXPROCS 1 and 2
    bench/run.py --quick --reps 1     # smaller sizes, a quick look
    bench/run.py --only pingpong_unbuffered,chan_mpmc --reps 5
    bench/run.py --write              # also rewrite bench/RESULTS.md

Every run is a fresh process: `GOMAXPROCS=N <program> <workload> [n]`, for
ours (build/bench-release/bench/workloads), Go (bench/peers/go) and
Boost.Fiber (bench/peers/boost_fiber), in that order, for each workload and
each N, repeated --reps times. A peer that is not installed is skipped with
a note. Python 3 standard library only.

Noise guard: the machine may be shared. Before each run we wait briefly for
a quiet moment, and during it we measure the CPU time that *other*
processes used (machine busy time from /proc/stat minus the run's own CPU
time, as a fraction of all CPUs). A run above --max-foreign is retried
(--tries in all) and the quietest try is kept; the table shows the worst
kept figure per row.
"""
import argparse
import datetime
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NCPU = os.cpu_count() or 1
HZ = os.sysconf("SC_CLK_TCK")

# Workloads in table order: name -> (metrics it prints, default n, --quick n).
# Definitions: shared/anchors/go/README.md and bench/README.md.
WORKLOADS = {
    "spawn_join": (("spawn_join", "spawn_join_warm"), None, 200_000),
    "pingpong_unbuffered": (("pingpong_unbuffered",), None, 500_000),
    "chan_buffered_spsc": (("chan_buffered_spsc",), None, 2_000_000),
    "chan_mpmc": (("chan_mpmc",), None, 4_000_000),
    "chan_unbuffered_mpmc": (("chan_unbuffered_mpmc",), None, 500_000),
    "select_4": (("select_4",), None, 2_000_000),
    "select_timeout": (("select_timeout",), None, 200_000),
    "select_timeout_stop": (("select_timeout_stop",), None, 400_000),
    "mem_parked": (("mem_parked_sys", "mem_parked_rss"), None, 100_000),
    # Parked through channel, select, sleep, mutex and wait_group (issue 16).
    "mem_parked_real": (("mem_parked_real_rss",), None, 100_000),
    "mutex_contended": (("mutex_contended",), None, 200_000),
    "prime_sieve": (("prime_sieve",), None, 2_000),
    "wg_fanout": (("wg_fanout",), None, 2_000),
    "skynet": (("skynet",), None, 100_000),
    "context_switch": (("context_switch",), None, 1_000_000),
    # Program shapes of ported Go programs (the real-programs issue).
    "daisy_chain": (("daisy_chain", "daisy_chain_rss", "daisy_chain_faults"), None, 20_000),
    "spawn_from_main": (("spawn_from_main", "spawn_from_main_rss", "spawn_from_main_faults"), None, 20_000),
    "main_recv": (("main_recv_unbuffered", "main_recv_buffered"), None, 200_000),
    "doubleselect": (("doubleselect",), None, 50_000),
    "doubleselect_main": (("doubleselect_main",), None, 50_000),
    # Round trips over the netpoller (issue 20).
    "udp_pingpong": (("udp_pingpong",), None, 20_000),
    "unix_pingpong": (("unix_pingpong",), None, 20_000),
    # Where threads meet on a queue (issue 21: ConcurrentQueue or not).
    "plain_threads": (("plain_threads_spawn", "plain_threads_ready"), None, 40_000),
    "blocking_calls": (("blocking_calls",), None, 20_000),
    "idle_cpu": (("idle_cpu",), 10, 2),  # seconds; run in the first rep only
}

# Targets (issue 5's, the real-programs issue's, issue 20's): ratio ours/Go, lower is better (per _p1 and _p2).
TARGETS = {
    "pingpong_unbuffered": 0.3,
    "chan_buffered_spsc": 0.5,
    "chan_mpmc": 0.7,
    "chan_unbuffered_mpmc": 0.7,
    "select_4": 0.7,
    "select_timeout_stop": 0.5,
    "spawn_join_warm": 0.5,
    "wg_fanout": 0.5,
    "prime_sieve": 0.5,
    "skynet": 0.5,
    "mutex_contended": 1.0,
    "mem_parked_rss": 1.6,
    "mem_parked_real_rss": 1.7,  # issue 16
    # The real-programs issue's targets.
    "daisy_chain": 0.7,
    "daisy_chain_rss": 1.7,
    "spawn_from_main": 1.0,
    "main_recv_unbuffered": 1.0,
    "main_recv_buffered": 1.0,
    "doubleselect": 0.7,
    "doubleselect_main": 1.5,
    "udp_pingpong": 1.0,  # issue 20: at most Go's time; the floor is the syscalls
    "unix_pingpong": 1.0,
}
# Workloads over the netpoller: Boost.Fiber has none, so it sits them out.
NET_WORKLOADS = {"udp_pingpong", "unix_pingpong"}
# Who sits out which of the rest: Boost.Fiber has no plain-thread go() and
# no helper pool; Go has no runtime::blocking (its system calls hand their
# P off instead), so blocking_calls is csp's alone.
SITS_OUT = {"bf": {"plain_threads", "blocking_calls"}, "go": {"blocking_calls"}}
IDLE_CPU_LIMIT_MS = 10.0  # "no measurable CPU over 10 s": under 0.1% of one CPU

IMPLS = ("ours", "go", "bf")
TITLES = {"ours": "csp", "go": "Go", "bf": "Boost.Fiber"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log("+ " + " ".join(str(c) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def capture(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, check=False).stdout.strip()
    except OSError:
        return ""


# ---- building ------------------------------------------------------------

def build(args):
    """Builds what is installed; returns {impl: program path}."""
    bd = args.build_dir
    progs = {}
    if not (bd / "build.ninja").exists():
        sh(["meson", "setup", bd, "-Dbuildtype=release", "-Dtests=false", "-Dexamples=false"],
           cwd=ROOT)
    sh(["meson", "compile", "-C", bd, "-j", str(args.jobs), "workloads"], cwd=ROOT)
    progs["ours"] = bd / "bench" / "workloads"

    peers = bd / "peers"
    peers.mkdir(parents=True, exist_ok=True)
    if shutil.which("go"):
        env = dict(os.environ, GOCACHE=str(peers / "gocache"), GO111MODULE="on",
                   GOPROXY="off", GOTOOLCHAIN="local", GOFLAGS="")
        sh(["go", "build", "-o", peers / "go-peers", "."], cwd=BENCH / "peers" / "go", env=env)
        progs["go"] = peers / "go-peers"
    else:
        log("note: `go` not found (Debian: apt-get install golang-go): skipping the Go peer")

    cxx = os.environ.get("CXX", "g++")
    try:
        sh([cxx, "-O2", "-std=c++20", "-o", peers / "bf-peers",
            BENCH / "peers" / "boost_fiber" / "peers.cpp",
            "-lboost_fiber", "-lboost_context", "-pthread"], stderr=subprocess.PIPE)
        progs["bf"] = peers / "bf-peers"
    except (subprocess.CalledProcessError, OSError) as e:
        log("note: cannot build the Boost.Fiber peer (Debian: apt-get install "
            "libboost-fiber1.81-dev libboost-context1.81-dev): skipping it")
        if isinstance(e, subprocess.CalledProcessError) and e.stderr:
            log(e.stderr.decode(errors="replace")[-600:])
    return progs


def built_programs(bd):
    """The programs a previous build left in build dir bd: {impl: path}, those that exist."""
    return {k: p for k, p in (("ours", bd / "bench" / "workloads"),
                              ("go", bd / "peers" / "go-peers"),
                              ("bf", bd / "peers" / "bf-peers")) if p.exists()}


# ---- running -------------------------------------------------------------

def busy_seconds():
    """Machine-wide non-idle CPU seconds since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / HZ


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_quiet(limit_s, threshold):
    """Waits (at most limit_s) for a 0.5 s window with the machine under threshold busy."""
    deadline = time.time() + limit_s
    while True:
        b0 = busy_seconds()
        time.sleep(0.5)
        load = (busy_seconds() - b0) / (0.5 * NCPU)
        if load < threshold or time.time() >= deadline:
            return load


BENCH_LINE = re.compile(r"^BENCH (\S+)_p(\d+) (\S+) (\S+)$")


def run_once(prog, workload, n, procs, timeout):
    """Returns (rc, {metric: (value, unit)}, foreign load, wall s, stderr tail)."""
    cmd = [str(prog), workload] + ([str(n)] if n is not None else [])
    env = dict(os.environ, GOMAXPROCS=str(procs))
    b0, c0, t0 = busy_seconds(), children_cpu(), time.time()
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        rc, out, err = "timeout", "", ""
    wall = max(time.time() - t0, 1e-3)
    foreign = max(0.0, (busy_seconds() - b0) - (children_cpu() - c0)) / (wall * NCPU)
    metrics = {}
    for line in out.splitlines():
        m = BENCH_LINE.match(line.strip())
        if m and int(m.group(2)) == procs:
            metrics[m.group(1)] = (float(m.group(3)), m.group(4))
    return rc, metrics, foreign, wall, err.strip()[-300:]


def run_all(args, progs, workloads):
    """Runs everything interleaved; returns {(metric, procs, impl): [(value, foreign)]}, units, notes."""
    results, units, notes, unavailable = {}, {}, [], set()
    raw = args.build_dir / "bench-runs.tsv"
    raw.parent.mkdir(parents=True, exist_ok=True)
    with open(raw, "w") as rawf:
        rawf.write("rep\tworkload\tprocs\timpl\ttry\trc\tforeign\twall_s\tmetrics\n")
        for rep in range(1, args.reps + 1):
            log(f"== rep {rep}/{args.reps}")
            for w in workloads:
                _metrics, n_default, n_quick = WORKLOADS[w]
                if w == "idle_cpu" and rep > 1:
                    continue  # a check, not a timing: once is enough
                n = n_quick if args.quick else n_default
                for procs in args.procs:
                    for impl in IMPLS:
                        if impl not in progs or (impl, w) in unavailable:
                            continue
                        if impl == "bf" and w in NET_WORKLOADS:
                            continue
                        if w in SITS_OUT.get(impl, ()):
                            continue
                        best = None
                        for attempt in range(1, args.tries + 1):
                            wait_quiet(args.quiet_wait, args.max_foreign)
                            rc, met, foreign, wall, err = run_once(progs[impl], w, n, procs,
                                                                   args.timeout)
                            rawf.write(f"{rep}\t{w}\t{procs}\t{impl}\t{attempt}\t{rc}\t"
                                       f"{foreign:.3f}\t{wall:.2f}\t"
                                       + " ".join(f"{k}={v[0]}" for k, v in met.items()) + "\n")
                            rawf.flush()
                            if rc == 3:  # not implemented / not expressible
                                unavailable.add((impl, w))
                                notes.append(f"{TITLES[impl]}: {w}: {err.splitlines()[-1] if err else 'n/a'}")
                                break
                            if rc != 0:
                                log(f"FAILED ({rc}) {TITLES[impl]} {w} p{procs}: {err}")
                                continue
                            if best is None or foreign < best[1]:
                                best = (met, foreign, wall)
                            if foreign <= args.max_foreign:
                                break
                        if best is None:
                            continue
                        met, foreign, wall = best
                        log(f"  {TITLES[impl]:11} p{procs} {w:22} "
                            + " ".join(f"{k}={v[0]:g}" for k, v in met.items())
                            + f"   (others {foreign:.0%}, {wall:.1f}s)")
                        for k, (v, unit) in met.items():
                            results.setdefault((k, procs, impl), []).append((v, foreign))
                            units[k] = unit
    return results, units, notes


# ---- the table -----------------------------------------------------------

def fmt(v):
    if v is None:
        return "—"
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(vals):
    if not vals:
        return "—"
    xs = [v for v, _ in vals]
    if len(xs) == 1:
        return fmt(xs[0])
    return f"{fmt(statistics.median(xs))} [{fmt(min(xs))}–{fmt(max(xs))}]"


def med(vals):
    return statistics.median(v for v, _ in vals) if vals else None


def table(args, results, units, workloads, progs):
    rows = []
    head = ("| metric | unit | csp | Go | Boost.Fiber | csp/Go | target | met | csp/BF "
            "| ≤ BF | others' CPU |")
    rows.append(head)
    rows.append("|" + "---|" * 11)
    for w in workloads:
        for metric in WORKLOADS[w][0]:
            for procs in args.procs:
                got = {i: results.get((metric, procs, i), []) for i in IMPLS}
                if not any(got.values()):
                    continue
                m = {i: med(got[i]) for i in IMPLS}
                r_go = m["ours"] / m["go"] if m["ours"] is not None and m["go"] else None
                r_bf = m["ours"] / m["bf"] if m["ours"] is not None and m["bf"] else None
                target, met = "", ""
                if metric == "idle_cpu":
                    target = f"≤ {IDLE_CPU_LIMIT_MS:g} ms"
                    if m["ours"] is not None:
                        met = "yes" if m["ours"] <= IDLE_CPU_LIMIT_MS * (
                            (WORKLOADS[w][2] if args.quick else WORKLOADS[w][1]) / 10) else "**no**"
                    r_go = r_bf = None  # ratios of near-zero figures mean nothing
                elif metric in TARGETS:
                    target = f"≤ {TARGETS[metric]:g}"
                    if r_go is not None:
                        met = "yes" if r_go <= TARGETS[metric] else "**no**"
                bf_met = ""
                if r_bf is not None:
                    bf_met = "yes" if r_bf <= 1.0 else "**no**"
                noise = max((f for vals in got.values() for _, f in vals), default=0.0)
                rows.append(f"| {metric}_p{procs} | {units.get(metric, '')} | {cell(got['ours'])} "
                            f"| {cell(got['go'])} | {cell(got['bf'])} | {fmt(r_go)} | {target} "
                            f"| {met} | {fmt(r_bf)} | {bf_met} | {noise:.0%} |")
    return "\n".join(rows)


def machine_info(progs):
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    boost = "not found"
    try:
        text = open("/usr/include/boost/version.hpp").read()
        m = re.search(r'#define BOOST_LIB_VERSION "([^"]+)"', text)
        boost = m.group(1).replace("_", ".") if m else boost
    except OSError:
        pass
    cxx = os.environ.get("CXX", "g++")
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024 // 1024} GiB"
    except OSError:
        pass
    return [
        f"- machine: {NCPU} CPUs (`nproc`), {cpu}, {mem} RAM, {platform.system()} {platform.release()}",
        f"- compiler: {capture([cxx, '--version']).splitlines()[0] if shutil.which(cxx) else 'n/a'}"
        f" (csp: meson buildtype=release, -O3; peers: -O2)",
        f"- Go: {capture(['go', 'version']) if 'go' in progs else 'not installed'}",
        f"- Boost: {boost}" + ("" if "bf" in progs else " (Boost.Fiber peer not built)"),
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
    ]


KEEP_MARK = "<!-- run.py keeps everything below this line -->"


def write_results(args, text_table, notes, progs, started, elapsed):
    path = BENCH / "RESULTS.md"
    kept = ""
    if path.exists():
        old = path.read_text()
        if KEEP_MARK in old:
            kept = old.split(KEEP_MARK, 1)[1]
    cmd = "bench/run.py " + " ".join(sys.argv[1:])
    out = [
        "# Benchmark results",
        "",
        "Generated by `bench/run.py --write`; see bench/README.md for the workloads",
        "and how to read the table. Time ratios csp/Go and csp/Boost.Fiber: lower is",
        "better; the target column is the issues' (ours/Go).",
        "",
        f"Command: `{cmd}` (started {started}, took {elapsed / 60:.1f} min)",
        "",
    ] + machine_info(progs) + [
        "",
        "median [min–max] of the reps; \"others' CPU\" is the largest share of the",
        "machine that other processes used during a kept run of that row.",
        "",
        text_table,
        "",
    ]
    if notes:
        out += ["Not measured:", ""] + [f"- {n}" for n in sorted(set(notes))] + [""]
    out += [KEEP_MARK]
    path.write_text("\n".join(out) + (kept if kept else "\n"))
    log(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="runs per workload, implementation and N")
    ap.add_argument("--only", default="", help="comma-separated workloads (default: all)")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes in all)")
    ap.add_argument("--procs", default="1,2", help="GOMAXPROCS values (default 1,2)")
    ap.add_argument("--write", action="store_true", help="rewrite bench/RESULTS.md")
    ap.add_argument("--no-build", action="store_true", help="use the programs already built")
    ap.add_argument("--build-dir", type=Path, default=ROOT / "build" / "bench-release")
    ap.add_argument("--jobs", type=int, default=2, help="build parallelism")
    ap.add_argument("--max-foreign", type=float, default=0.25,
                    help="retry a run if other processes used more than this share of the machine")
    ap.add_argument("--tries", type=int, default=2, help="tries per run at most (the quietest is kept)")
    ap.add_argument("--quiet-wait", type=float, default=3.0,
                    help="seconds to wait at most for a quiet machine before each run")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run")
    args = ap.parse_args()
    args.build_dir = args.build_dir.resolve()
    args.procs = [int(p) for p in args.procs.split(",")]
    workloads = list(WORKLOADS)
    if args.only:
        workloads = [w.strip() for w in args.only.split(",") if w.strip()]
        bad = [w for w in workloads if w not in WORKLOADS]
        if bad:
            ap.error(f"unknown workload(s): {', '.join(bad)}; known: {', '.join(WORKLOADS)}")

    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    t0 = time.time()
    progs = built_programs(args.build_dir) if args.no_build else build(args)
    if "ours" not in progs:
        sys.exit("run.py: csp's workloads program is missing")
    for impl in IMPLS:
        if impl not in progs:
            log(f"note: {TITLES[impl]} is not available: its columns stay empty")

    results, units, notes = run_all(args, progs, workloads)
    text = table(args, results, units, workloads, progs)
    print(text)
    for n in sorted(set(notes)):
        print(f"- not measured: {n}")
    if args.write:
        write_results(args, text, notes, progs, started, time.time() - t0)


if __name__ == "__main__":
    main()

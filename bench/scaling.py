#!/usr/bin/env python3
"""Scaling past two cores: csp, Go and Boost.Fiber at GOMAXPROCS 1, 2, 4, 8
and 16, in one run, written to bench/RESULTS-scaling.md with a speed-up
chart per workload (bench/scaling/*.svg).

    bench/scaling.sh                     # build, then every GOMAXPROCS up to the CPUs
    bench/scaling.py --procs 1,2 --no-build --build-dir build/bench-release

Reuses run.py (its build, its interleaved runner and noise guard, its
workload table) with --quick sizes and one repetition, so that the whole
run fits in about 8 minutes on 16 cores. GOMAXPROCS values above the
machine's CPUs are dropped (a scaling curve past the cores measures the
OS's time slicing), unless --all-procs.

Speed-up is the GOMAXPROCS=1 time over the GOMAXPROCS=N time of the same
implementation, for workloads whose metric is a time per item. Python 3
standard library only.
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py)

BENCH = run.BENCH
# Workloads whose parallel part can scale: spawn and fan-out, channel
# traffic between many goroutines, select, and a mutex (the contended one,
# to show where scaling stops). ping-pong is sequential by nature; it is
# kept as the control (no speed-up expected).
SCALING_WORKLOADS = ["spawn_join", "skynet", "wg_fanout", "prime_sieve", "chan_mpmc",
                     "chan_unbuffered_mpmc", "select_4", "mutex_contended", "doubleselect",
                     "pingpong_unbuffered"]
COLORS = {"ours": "#1f77b4", "go": "#2ca02c", "bf": "#d62728"}


def svg_chart(metric, procs, series, unit):
    """A speed-up chart: x = GOMAXPROCS (log2), y = speed-up over p1; one line per implementation."""
    w, h, left, bottom, top, right = 420, 260, 48, 36, 28, 110
    xs = {p: i for i, p in enumerate(procs)}
    ymax = max([1.0] + [v for s in series.values() for v in s.values() if v is not None])
    ymax = max(2.0, ymax * 1.1)
    px = lambda p: left + (w - left - right) * (xs[p] / max(1, len(procs) - 1))
    py = lambda v: h - bottom - (h - bottom - top) * (v / ymax)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="16" font-size="12">{metric}: speed-up over GOMAXPROCS=1 ({unit})</text>',
           f'<line x1="{left}" y1="{h-bottom}" x2="{w-right}" y2="{h-bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h-bottom}" stroke="black"/>']
    for p in procs:
        out.append(f'<text x="{px(p):.0f}" y="{h-bottom+14}" text-anchor="middle">{p}</text>')
    out.append(f'<text x="{(left + w - right) / 2:.0f}" y="{h-6}" text-anchor="middle">GOMAXPROCS</text>')
    steps = 4
    for i in range(steps + 1):
        v = ymax * i / steps
        out.append(f'<text x="{left-4}" y="{py(v)+4:.0f}" text-anchor="end">{v:.1f}</text>')
        out.append(f'<line x1="{left}" y1="{py(v):.0f}" x2="{w-right}" y2="{py(v):.0f}" stroke="#ddd"/>')
    # The ideal (linear) speed-up, clipped to the chart.
    ideal = " ".join(f"{px(p):.1f},{py(min(p, ymax)):.1f}" for p in procs)
    out.append(f'<polyline points="{ideal}" fill="none" stroke="#aaa" stroke-dasharray="4,3"/>')
    for k, (impl, s) in enumerate(series.items()):
        pts = [(p, s[p]) for p in procs if s.get(p) is not None]
        if not pts:
            continue
        line = " ".join(f"{px(p):.1f},{py(v):.1f}" for p, v in pts)
        out.append(f'<polyline points="{line}" fill="none" stroke="{COLORS[impl]}" stroke-width="2"/>')
        for p, v in pts:
            out.append(f'<circle cx="{px(p):.1f}" cy="{py(v):.1f}" r="2.5" fill="{COLORS[impl]}"/>')
        ly = top + 14 * k + 6
        out.append(f'<line x1="{w-right+10}" y1="{ly}" x2="{w-right+28}" y2="{ly}" stroke="{COLORS[impl]}" stroke-width="2"/>')
        out.append(f'<text x="{w-right+32}" y="{ly+4}">{run.TITLES[impl]}</text>')
    ly = top + 14 * len(series) + 6
    out.append(f'<line x1="{w-right+10}" y1="{ly}" x2="{w-right+28}" y2="{ly}" stroke="#aaa" stroke-dasharray="4,3"/>')
    out.append(f'<text x="{w-right+32}" y="{ly+4}">linear</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--procs", default="1,2,4,8,16")
    ap.add_argument("--all-procs", action="store_true", help="keep GOMAXPROCS values above the CPU count")
    ap.add_argument("--only", default="", help="comma-separated workloads (default: the scaling set)")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--build-dir", type=Path, default=run.ROOT / "build" / "bench-release")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--out", type=Path, default=BENCH / "RESULTS-scaling.md")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per run")
    args = ap.parse_args()
    procs = [int(p) for p in args.procs.split(",")]
    if not args.all_procs:
        procs = [p for p in procs if p <= run.NCPU] or [1]
    workloads = [w.strip() for w in args.only.split(",") if w.strip()] or SCALING_WORKLOADS
    bad = [w for w in workloads if w not in run.WORKLOADS]
    if bad:
        ap.error(f"unknown workload(s): {', '.join(bad)}")

    # run.run_all's settings: quick sizes, no waiting for a quiet machine
    # (a lent machine is ours alone), one try.
    rargs = argparse.Namespace(build_dir=args.build_dir.resolve(), jobs=args.jobs, reps=args.reps,
                               quick=True, procs=procs, tries=1, quiet_wait=0.0,
                               max_foreign=1.0, timeout=args.timeout)
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    t0 = time.time()
    progs = run.built_programs(rargs.build_dir) if args.no_build else run.build(rargs)
    if "ours" not in progs:
        sys.exit("scaling.py: csp's workloads program is missing")
    results, units, notes = run.run_all(rargs, progs, workloads)
    elapsed = time.time() - t0

    impls = [i for i in run.IMPLS if i in progs]
    chart_dir = args.out.parent / "scaling"
    chart_dir.mkdir(exist_ok=True)
    lines = ["# Scaling: csp, Go and Boost.Fiber by GOMAXPROCS", "",
             f"Generated by `bench/scaling.sh` on {started} in {elapsed / 60:.1f} minutes: "
             f"{platform.node()}, {run.NCPU} CPUs, {platform.platform()}. "
             f"run.py's --quick sizes, {args.reps} run(s) per cell (median shown), "
             "every run a fresh process, interleaved. Speed-up: the implementation's own "
             "GOMAXPROCS=1 figure over its GOMAXPROCS=N figure (higher is better; "
             "the dashed line is linear). Charts: `bench/scaling/`.", ""]
    for w in workloads:
        for metric in run.WORKLOADS[w][0]:
            unit = units.get(metric, "")
            if not any((metric, p, i) in results for p in procs for i in impls):
                continue
            med = {(p, i): statistics.median(v for v, _ in results[(metric, p, i)])
                   for p in procs for i in impls if (metric, p, i) in results}
            lines += [f"## {metric} ({unit})", "",
                      "| GOMAXPROCS | " + " | ".join(f"{run.TITLES[i]} | speed-up" for i in impls) + " | csp/Go |",
                      "|---|" + "---|---|" * len(impls) + "---|"]
            series = {i: {} for i in impls}
            per_item = "ns" in unit or unit.endswith("s")
            for p in procs:
                row = [str(p)]
                for i in impls:
                    v = med.get((p, i))
                    base = med.get((procs[0], i))
                    sp = base / v if per_item and v and base else None
                    series[i][p] = sp
                    row += [run.fmt(v) if v is not None else "—", f"{sp:.2f}" if sp else "—"]
                ours, go = med.get((p, "ours")), med.get((p, "go"))
                row.append(f"{ours / go:.2f}" if ours and go else "—")
                lines.append("| " + " | ".join(row) + " |")
            if per_item:
                name = f"{metric}.svg"
                (chart_dir / name).write_text(svg_chart(metric, procs, series, unit))
                lines += ["", f"![{metric} speed-up](scaling/{name})"]
            lines.append("")
    for n in sorted(set(notes)):
        lines.append(f"- not measured: {n}")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"scaling.py: wrote {args.out} and {chart_dir}/ in {elapsed:.0f} s")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""csp_trace.py — read a CSP_TRACE file (Chrome trace-event JSON).

    csp_trace.py summary out.json               what the goroutines did
    csp_trace.py svg out.json -o timeline.svg   a timeline picture

`summary` prints the goroutines (by creation site), the number of context
switches, the time goroutines spent blocked by reason (from each park to
the ready that ended it), how long readied goroutines waited for a worker,
and each worker's utilisation (time running goroutines / traced time).

`svg` draws one row per worker (and per plain thread that blocked): a
coloured slice per goroutine run (one colour per goroutine, labelled when
wide enough), a red mark where a goroutine parked, a green one where a
goroutine was readied, and thin arrows from each ready to the run it
caused. `--from`/`--to` (microseconds) cut a window.

Python 3 standard library only. The file format is described in
docs/trace.md; a file cut short (a process that died before exit) is read
up to its last complete event.
"""
import argparse
import collections
import colorsys
import json
import re
import sys
from xml.sax.saxutils import escape

THREAD_TID = 10000  # tracks from this tid up are plain threads


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        events = json.loads(text)
    except json.JSONDecodeError:
        # No closing bracket (the process did not reach exit): keep the
        # complete lines.
        lines = text.rstrip().rstrip(",").splitlines()
        while lines:
            try:
                events = json.loads("\n".join(lines).rstrip(",") + "\n]")
                break
            except json.JSONDecodeError:
                lines.pop()
        else:
            raise SystemExit("%s: not a trace-event file" % path)
    if isinstance(events, dict):
        events = events.get("traceEvents", [])
    return events


class Trace:
    def __init__(self, events):
        self.names = {}        # tid -> track name
        self.runs = []         # (tid, ts, dur, gid, name, args)
        self.parks = []        # (tid, ts, gid, reason)
        self.readies = []      # (tid, ts, gid, reason)
        self.gos = []          # (tid, ts, gid, site)
        self.blocks = []       # (tid, ts, dur, reason)  plain threads
        self.flow_starts = {}  # id -> (tid, ts)
        self.flow_ends = {}    # id -> (tid, ts)
        self.sites = {}        # gid -> creation site
        for e in events:
            ph, cat, args = e.get("ph"), e.get("cat"), e.get("args", {})
            tid = e.get("tid", 0)
            if ph == "M" and e.get("name") == "thread_name":
                self.names[tid] = args.get("name", str(tid))
            elif ph == "X" and cat == "run":
                gid = args.get("goroutine", 0)
                self.runs.append((tid, e["ts"], e["dur"], gid, e.get("name", ""), args))
                # The full site is on the creation event; a run names file:line.
                self.sites.setdefault(gid, short_site(args.get("created_at") or e.get("name", "?").partition(" ")[2]))
            elif ph == "X" and cat == "blocked":
                self.blocks.append((tid, e["ts"], e["dur"], args.get("reason", "?")))
            elif ph == "i" and cat == "park":
                self.parks.append((tid, e["ts"], args.get("goroutine", 0), args.get("reason", "?")))
            elif ph == "i" and cat == "ready":
                self.readies.append((tid, e["ts"], args.get("goroutine", 0), args.get("reason", "?")))
            elif ph == "i" and cat == "go":
                gid = args.get("goroutine", 0)
                self.gos.append((tid, e["ts"], gid, args.get("created_at", "?")))
                self.sites[gid] = short_site(args.get("created_at", "?"))
            elif ph == "s":
                self.flow_starts[e["id"]] = (tid, e["ts"])
            elif ph == "f":
                self.flow_ends[e["id"]] = (tid, e["ts"])
        stamps = [r[1] for r in self.runs] + [r[1] + r[2] for r in self.runs]
        stamps += [p[1] for p in self.parks] + [r[1] for r in self.readies] + [g[1] for g in self.gos]
        stamps += [b[1] for b in self.blocks] + [b[1] + b[2] for b in self.blocks]
        self.start = min(stamps) if stamps else 0.0
        self.end = max(stamps) if stamps else 0.0
        for tid in {r[0] for r in self.runs} | {b[0] for b in self.blocks}:
            self.names.setdefault(tid, "worker %d" % (tid - 1) if tid < THREAD_TID else "thread %d" % tid)

    def goroutine_ids(self):
        return sorted({g for g in self.sites if g} | {r[3] for r in self.runs if r[3]})

    def blocked_by_reason(self):
        """Sum of park→ready intervals per reason; parks never ended count to the trace's end."""
        pending = {}  # gid -> (ts, reason)
        total = collections.defaultdict(float)
        count = collections.Counter()
        events = [(p[1], 0, p[2], p[3]) for p in self.parks if p[2]]
        events += [(r[1], 1, r[2], r[3]) for r in self.readies if r[2]]
        for ts, kind, gid, reason in sorted(events):
            if kind == 0:
                pending[gid] = (ts, reason)
            elif gid in pending:
                start, why = pending.pop(gid)
                total[why] += ts - start
                count[why] += 1
        still = collections.Counter()
        for gid, (start, why) in pending.items():
            total[why] += self.end - start
            count[why] += 1
            still[why] += 1
        return total, count, still

    def ready_latency(self):
        """ready → next run start, per goroutine, through the flow ids."""
        waits = []
        for fid, (_, ts_s) in self.flow_starts.items():
            if fid in self.flow_ends:
                waits.append(self.flow_ends[fid][1] - ts_s)
        return waits


def fmt_us(us):
    if us >= 1e6:
        return "%.2f s" % (us / 1e6)
    if us >= 1e3:
        return "%.2f ms" % (us / 1e3)
    return "%.1f µs" % us


def summary(tr, out=sys.stdout):
    span = tr.end - tr.start
    gids = tr.goroutine_ids()
    print("trace: %s, %d events on %d tracks" % (fmt_us(span), len(tr.runs) + len(tr.parks) + len(tr.readies)
                                                   + len(tr.gos), len(tr.names)), file=out)
    print("goroutines: %d" % len(gids), file=out)
    by_site = collections.Counter(tr.sites.get(g, "?") for g in gids)
    for site, n in by_site.most_common(10):
        print("  %6d  %s" % (n, site), file=out)
    print("context switches: %d (goroutine runs)" % len(tr.runs), file=out)
    ends = collections.Counter(r[5].get("end", "?") for r in tr.runs)
    print("runs ended by: " + ", ".join("%s %d" % kv for kv in sorted(ends.items())), file=out)
    total, count, still = tr.blocked_by_reason()
    print("time blocked by reason (park to ready):", file=out)
    if not total:
        print("  (none)", file=out)
    for why in sorted(total, key=lambda w: -total[w]):
        extra = ", %d still blocked at the end" % still[why] if still[why] else ""
        print("  %-24s %10s in %d parks%s" % (why, fmt_us(total[why]), count[why], extra), file=out)
    waits = tr.ready_latency()
    if waits:
        waits.sort()
        print("ready to running: %d wake-ups, median %s, max %s" % (
            len(waits), fmt_us(waits[len(waits) // 2]), fmt_us(waits[-1])), file=out)
    blocked_threads = collections.defaultdict(float)
    for tid, _, dur, _ in tr.blocks:
        blocked_threads[tid] += dur
    print("utilisation (time running goroutines / traced time):", file=out)
    busy = collections.defaultdict(float)
    runs = collections.Counter()
    for tid, _, dur, *_ in tr.runs:
        busy[tid] += dur
        runs[tid] += 1
    for tid in sorted(tr.names):
        if tid < THREAD_TID:
            pct = 100.0 * busy[tid] / span if span > 0 else 0.0
            print("  %-12s %5.1f%%  %d runs" % (tr.names[tid], pct, runs[tid]), file=out)
        else:
            print("  %-12s blocked %s in csp" % (tr.names[tid], fmt_us(blocked_threads[tid])), file=out)


def colour(gid):
    h = (gid * 0.61803398875) % 1.0
    r, g, b = colorsys.hls_to_rgb(h, 0.62, 0.55)
    return "#%02x%02x%02x" % (int(r * 255), int(g * 255), int(b * 255))


def short_site(site):
    """A creation site without the build directory's ../ prefix: the
    compiler records sources relative to where it ran (build/...)."""
    return re.sub(r"^(\.\./)+", "", site)


def wrap(text, chars):
    """text in lines of at most chars characters, broken at spaces."""
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > chars:
            lines.append(cur)
            cur = word
        else:
            cur = (cur + " " + word).strip()
    return lines + [cur] if cur else lines


def svg(tr, path, width=1200, t_from=None, t_to=None, title=None):
    t0 = tr.start if t_from is None else t_from
    t1 = tr.end if t_to is None else t_to
    if t1 <= t0:
        t1 = t0 + 1.0
    tids = sorted(tr.names)
    label_w, row_h, top, legend_line = 110, 34, 46, 16
    # The title wraps (14 px bold: about 8.5 px a character) instead of
    # running off the picture; each extra line moves the rest down.
    title_lines = wrap(title or "csp schedule: %s" % fmt_us(t1 - t0), int((width - 8) / 8.5))
    top += 18 * (len(title_lines) - 1)
    plot_w = width - label_w - 20
    gids = [g for g in tr.goroutine_ids() if any(r[3] == g and r[1] < t1 and r[1] + r[2] > t0 for r in tr.runs)]
    legend_rows = min(len(gids), 24)
    height = top + row_h * len(tids) + 40 + legend_line * (legend_rows + 2)
    row_of = {tid: i for i, tid in enumerate(tids)}

    def x(ts):
        return label_w + (min(max(ts, t0), t1) - t0) / (t1 - t0) * plot_w

    def y(tid):
        return top + row_of[tid] * row_h

    o = []
    o.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
             'font-size="11">' % (width, height))
    o.append('<defs><marker id="arrow" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="5" markerHeight="5" '
             'orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#555"/></marker></defs>')
    o.append('<rect width="100%" height="100%" fill="white"/>')
    for i, line in enumerate(title_lines):
        o.append('<text x="4" y="%d" font-size="14" font-weight="bold">%s</text>' % (18 + 18 * i, escape(line)))
    # time axis
    for i in range(11):
        ts = t0 + (t1 - t0) * i / 10
        xx = x(ts)
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (xx, top - 6, xx, top + row_h * len(tids)))
        o.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#666">%s</text>' % (xx, top - 9, fmt_us(ts - t0)))
    for tid in tids:
        yy = y(tid)
        o.append('<text x="4" y="%d">%s</text>' % (yy + row_h / 2 + 4, escape(tr.names[tid])))
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ccc"/>' % (label_w, yy + row_h - 4, width - 20,
                                                                           yy + row_h - 4))
    for tid, ts, dur, reason in tr.blocks:
        if ts + dur < t0 or ts > t1 or tid not in row_of:
            continue
        o.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="#eee" stroke="#bbb" stroke-width="0.5">'
                 '<title>blocked: %s (%s)</title></rect>' % (x(ts), y(tid) + 8, max(x(ts + dur) - x(ts), 0.5),
                                                             row_h - 16, escape(reason), fmt_us(dur)))
    for tid, ts, dur, gid, name, args in tr.runs:
        if ts + dur < t0 or ts > t1 or tid not in row_of:
            continue
        x0, x1 = x(ts), x(ts + dur)
        w = max(x1 - x0, 0.6)
        o.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" stroke="#333" stroke-width="0.3">'
                 '<title>%s, %s, ended by %s %s</title></rect>' % (
                     x0, y(tid) + 3, w, row_h - 10, colour(gid), escape(name), fmt_us(dur),
                     args.get("end", ""), escape(args.get("reason", ""))))
        label = "g%d" % gid
        if w > 7 * len(label):
            o.append('<text x="%.2f" y="%d" text-anchor="middle">%s</text>' % (x0 + w / 2, y(tid) + row_h / 2 + 2, label))
    arrows = 0
    for fid, (tid_e, ts_e) in tr.flow_ends.items():
        if fid not in tr.flow_starts or arrows > 3000:
            continue
        tid_s, ts_s = tr.flow_starts[fid]
        if ts_e < t0 or ts_s > t1 or tid_s not in row_of or tid_e not in row_of:
            continue
        arrows += 1
        o.append('<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="#555" stroke-width="0.6" '
                 'marker-end="url(#arrow)" opacity="0.6"/>' % (x(ts_s), y(tid_s) + row_h - 7, x(ts_e), y(tid_e) + 4))
    for tid, ts, gid, reason in tr.parks:
        if t0 <= ts <= t1 and tid in row_of:
            xx, yy = x(ts), y(tid) + row_h - 6
            o.append('<path d="M%.2f,%d l-3,5 l6,0 z" fill="#d62728"><title>g%d parks: %s</title></path>' % (
                xx, yy, gid, escape(reason)))
    for tid, ts, gid, reason in tr.readies:
        if t0 <= ts <= t1 and tid in row_of:
            o.append('<circle cx="%.2f" cy="%d" r="2.5" fill="#2ca02c"><title>ready g%d (was: %s)</title></circle>' % (
                x(ts), y(tid) + 3, gid, escape(reason)))
    # legend
    ly = top + row_h * len(tids) + 24
    o.append('<text x="4" y="%d" font-weight="bold">goroutines</text>' % ly)
    o.append('<path d="M%d,%d l-3,5 l6,0 z" fill="#d62728"/><text x="%d" y="%d">park</text>' % (
        width - 220, ly - 8, width - 212, ly))
    o.append('<circle cx="%d" cy="%d" r="2.5" fill="#2ca02c"/><text x="%d" y="%d">ready</text>' % (
        width - 170, ly - 4, width - 162, ly))
    o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" marker-end="url(#arrow)"/>'
             '<text x="%d" y="%d">woke</text>' % (width - 115, ly - 4, width - 90, ly - 4, width - 84, ly))
    for i, gid in enumerate(gids[:legend_rows]):
        yy = ly + legend_line * (i + 1)
        o.append('<rect x="4" y="%d" width="12" height="10" fill="%s" stroke="#333" stroke-width="0.3"/>' % (
            yy - 9, colour(gid)))
        o.append('<text x="22" y="%d">g%d  %s</text>' % (yy, gid, escape(tr.sites.get(gid, "?"))))
    if len(gids) > legend_rows:
        o.append('<text x="22" y="%d">... and %d more</text>' % (ly + legend_line * (legend_rows + 1),
                                                                 len(gids) - legend_rows))
    o.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(o) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("summary", help="print goroutines, switches, blocked time, utilisation")
    s.add_argument("trace")
    v = sub.add_parser("svg", help="draw a timeline")
    v.add_argument("trace")
    v.add_argument("-o", "--output", required=True)
    v.add_argument("--width", type=int, default=1200)
    v.add_argument("--from", dest="t_from", type=float, help="window start, µs from the trace's start")
    v.add_argument("--to", dest="t_to", type=float, help="window end, µs from the trace's start")
    v.add_argument("--title")
    a = ap.parse_args(argv)
    tr = Trace(load(a.trace))
    if a.cmd == "summary":
        summary(tr)
    else:
        t_from = tr.start + a.t_from if a.t_from is not None else None
        t_to = tr.start + a.t_to if a.t_to is not None else None
        svg(tr, a.output, a.width, t_from, t_to, a.title)


if __name__ == "__main__":
    main()

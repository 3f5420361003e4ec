#!/usr/bin/env python3
"""profile_overhead.py — what `--profile` costs: ingest and fit with and without it.

Runs `oocsolve ingest` on the reference workload (seed formula, 2.5M rows) and `oocsolve fit` on
the file it wrote, each --runs times plain and --runs times with --profile, alternating the two
variants in ABBA order (plain, profiled, profiled, plain, ...) so drift in machine load hits both
alike.  Both variants run with --progress off, so the difference is the profiler alone: span
recording, the counter sampler thread, writing the JSON trace and printing the summary.  Prints,
for wall time and for CPU time (user + system of the child, less sensitive to other processes
on a shared machine), the medians, the overhead of the medians (profiled / plain - 1) and the
median of the per-round ratios (each profiled run against the plain run next to it);
--update-doc writes them into the "## Profiling overhead" section of docs/BENCHMARKS.md (only
between this script's markers).

usage: .venv/bin/python bench/profile_overhead.py [--csv FILE] [--runs N] [--update-doc]
The binary is $OOC_BUILD/host/oocsolve (OOC_BUILD defaults to build/).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "BENCHMARKS.md")
HEADING = "## Profiling overhead"
BEGIN = "<!-- bench/profile_overhead.py results begin -->"
END = "<!-- bench/profile_overhead.py results end -->"
FORMULA = "y ~ 0 + a + b + c + d + d:c + a:b + a:c + C(cat1, Treatment, levels=lnames)"
TARGET_PERCENT = 3.0


def oocsolve():
    exe = os.path.join(os.environ.get("OOC_BUILD", os.path.join(ROOT, "build")), "host", "oocsolve")
    if not os.access(exe, os.X_OK):
        sys.exit(f"profile_overhead: {exe} not found; build first or set OOC_BUILD")
    return exe


def timed(cmd):
    """(wall seconds, CPU seconds) of one run of cmd, which must succeed."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"profile_overhead: {' '.join(cmd)} failed ({code}):\n{err.decode()[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime


def measure(name, base_cmd, trace, runs):
    """Alternate plain / profiled runs (ABBA); returns (plain, profiled) lists of (wall, cpu)."""
    plain, profiled = [], []
    for i in range(runs):
        order = [False, True] if i % 2 == 0 else [True, False]
        for with_profile in order:
            if with_profile:
                profiled.append(timed(base_cmd + ["--profile", trace]))
            else:
                plain.append(timed(base_cmd))
        print(f"  {name} round {i + 1}/{runs}: plain {plain[-1][0]:.3f} s "
              f"(cpu {plain[-1][1]:.3f}), --profile {profiled[-1][0]:.3f} s "
              f"(cpu {profiled[-1][1]:.3f})", file=sys.stderr)
    return plain, profiled


def summarize(plain, profiled):
    """Medians, overhead of the medians, median paired overhead and the spread of the plain
    runs (the last three in %)."""
    mp, mq = statistics.median(plain), statistics.median(profiled)
    paired = statistics.median(q / p for p, q in zip(plain, profiled))
    spread = 100.0 * (max(plain) - min(plain)) / 2.0 / mp
    return mp, mq, 100.0 * (mq / mp - 1.0), 100.0 * (paired - 1.0), spread


def spans_in(trace):
    """Number of spans in a trace file (to show what was being recorded)."""
    with open(trace) as f:
        return sum(1 for e in json.load(f)["traceEvents"] if e.get("ph") == "X")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", default=os.path.join(ROOT, "bench", "data", "seed-2500000.csv"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--update-doc", action="store_true")
    args = ap.parse_args()
    if args.runs < 1:
        sys.exit("profile_overhead: --runs must be >= 1")
    if not os.path.exists(args.csv):
        sys.exit(f"profile_overhead: {args.csv} not found (bench/run.py generates it)")
    exe = oocsolve()
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(args.csv))) as work:
        h5 = os.path.join(work, "design.h5")
        trace = os.path.join(work, "trace.json")
        ingest = [exe, "ingest", args.csv, "-f", FORMULA, "--var", "lnames=0,1,2,3,4", "-o", h5,
                  "-q", "--progress", "off"]
        fit = [exe, "fit", h5, "--json", "--device", "cpu", "--progress", "off"]
        for name, cmd in (("ingest", ingest), ("fit", fit)):
            plain, profiled = measure(name, cmd, trace, args.runs)
            nspans = spans_in(trace)
            for kind, k in (("wall", 0), ("CPU", 1)):
                rows.append((name, kind, nspans,
                             *summarize([t[k] for t in plain], [t[k] for t in profiled])))
    load_after = os.getloadavg()[0]
    table = ["| step | time | runs | median plain (s) | median --profile (s) | overhead of medians "
             "| median paired overhead | spread of plain runs | spans in trace |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, kind, nspans, mp, mq, over, paired, spread in rows:
        table.append(f"| {name} | {kind} | {args.runs} + {args.runs} | {mp:.3f} | {mq:.3f} | "
                     f"{over:+.1f}% | {paired:+.1f}% | ±{spread:.1f}% | {nspans} |")
    table.append("")
    table.append(f"Load average (1 min) before / after: {load_before:.2f} / {load_after:.2f}. "
                 f"Spread = (slowest - fastest) / 2 / median of the plain runs: differences "
                 f"smaller than it are noise.")
    text = "\n".join(table)
    print(text)
    worst = max(row[5] for row in rows if row[1] == "wall")
    print(f"worst wall-time overhead of medians {worst:+.1f}% (target < {TARGET_PERCENT:.0f}%)")
    if args.update_doc:
        update_doc(text, args)


def update_doc(table, args):
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    csv = os.path.relpath(os.path.abspath(args.csv), ROOT)
    block = (f"{BEGIN}\nRun {stamp} on {platform.machine()}, {os.cpu_count()} cores: "
             f"`.venv/bin/python bench/profile_overhead.py --csv {csv} --runs {args.runs}`. "
             f"Commands: `oocsolve ingest {csv} -f \"{FORMULA}\" --var lnames=0,1,2,3,4 -o "
             f"design.h5 -q --progress off` and `oocsolve fit design.h5 --json --device cpu "
             f"--progress off`, each with and without `--profile trace.json`, alternating "
             f"(ABBA); wall and CPU time (user + system) of the whole process, including "
             f"process start, writing the trace and printing the summary.  Overhead of medians = "
             f"profiled median / plain median - 1; paired = median over rounds of profiled / "
             f"plain run next to it, - 1.\n\n{table}\n{END}")
    text = open(DOC).read() if os.path.exists(DOC) else "# Benchmarks\n"
    if BEGIN in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    elif HEADING in text:
        at = text.index(HEADING) + len(HEADING)
        text = text[:at] + "\n\n" + block + text[at:]
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"
    with open(DOC + ".tmp", "w") as f:
        f.write(text)
    os.replace(DOC + ".tmp", DOC)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""run.py — oocsolve vs the reference pipeline, same data, same run.

Generates the workload CSV if missing (bench/gen_data.py: the bytes seed_pipeline.py gen-csv
writes), then for each step runs oocsolve and the reference pipeline (seed_pipeline.py from
../shared) alternately, --runs times each, and prints medians, ratios and peak RSS (of the
process tree's largest process, from wait4).

usage: bench/run.py [--rows N] [--runs K] [--steps ingest,fit,svd] [--update-doc]
  Run it with the project's venv: .venv/bin/python bench/run.py
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
SEED = os.path.normpath(os.path.join(ROOT, "..", "shared", "reference", "seed_pipeline.py"))
PY = sys.executable
FORMULA = "y ~ 0 + a + b + c + d + d:c + a:b + a:c + C(cat1, Treatment, levels=lnames)"


def oocsolve_bin():
    return os.environ.get("OOCSOLVE", os.path.join(ROOT, "build", "host", "oocsolve"))


def timed(cmd):
    """Run cmd; return (wall seconds, peak RSS in MB of the child). Raises on failure."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    err = p.stderr.read().decode()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err}")
    return dt, ru.ru_maxrss / 1024.0


def ensure_csv(nrows):
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"seed-{nrows}.csv")
    if not os.path.exists(path):
        print(f"generating {path} ...", file=sys.stderr)
        subprocess.run([PY, os.path.join(ROOT, "bench", "gen_data.py"), path, str(nrows)], check=True)
    return path


def bench_pair(name, ours, theirs, runs):
    """Alternate ours/theirs `runs` times; return a result row."""
    t_o, t_t, m_o, m_t = [], [], [], []
    for _ in range(runs):
        dt, rss = timed(ours)
        t_o.append(dt)
        m_o.append(rss)
        if theirs:
            dt, rss = timed(theirs)
            t_t.append(dt)
            m_t.append(rss)
    row = {"step": name, "ours_s": statistics.median(t_o), "ours_rss_mb": max(m_o), "runs": runs}
    if theirs:
        row.update(ref_s=statistics.median(t_t), ref_rss_mb=max(m_t),
                   ratio=statistics.median(t_t) / statistics.median(t_o))
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_500_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steps", default="ingest")
    ap.add_argument("--no-reference", action="store_true", help="time oocsolve only")
    args = ap.parse_args()
    csv = ensure_csv(args.rows)
    ours_h5 = os.path.join(DATA, f"seed-{args.rows}.ooc.h5")
    ref_h5 = os.path.join(DATA, f"seed-{args.rows}.ref.h5")
    exe = oocsolve_bin()
    rows = []
    for step in args.steps.split(","):
        if step == "ingest":
            ours = [exe, "ingest", csv, "-f", FORMULA, "--var", "lnames=0,1,2,3,4", "-o", ours_h5, "-q"]
            theirs = None if args.no_reference else [PY, SEED, "ingest", csv, ref_h5]
            rows.append(bench_pair("ingest", ours, theirs, args.runs))
        else:
            raise SystemExit(f"unknown step {step}")
    info = {"rows": args.rows, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "results": rows}
    print(json.dumps(info, indent=1))
    print(f"\n{'step':<10}{'oocsolve s':>12}{'reference s':>13}{'ratio':>8}{'RSS MB':>9}{'ref RSS MB':>11}")
    for r in rows:
        print(f"{r['step']:<10}{r['ours_s']:>12.2f}{r.get('ref_s', float('nan')):>13.2f}"
              f"{r.get('ratio', float('nan')):>8.1f}{r['ours_rss_mb']:>9.0f}{r.get('ref_rss_mb', float('nan')):>11.0f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""mpi_scaling.py — strong scaling of `fit` across MPI ranks on one machine (issue 15's table).

For a seed-shaped workload (W1: 2.5M rows, W2: 25M rows; the CSV is generated and ingested once
into bench/data, as bench/run.py does), runs, alternating, --runs times each:
  - `oocsolve fit FILE --method M` alone, with the machine's cores (--threads = cores);
  - `mpirun -np N oocsolve fit FILE --method M`, each of the N ranks with cores/N threads;
for N in --ranks (default 2), M in qr and normal, and prints medians and speed-ups (alone / N
ranks).  On one machine the ranks share the cores, so this measures what the split and the merge
cost, not what more machines add; docs/BENCHMARKS.md has the model for 8-64 nodes.

usage: .venv/bin/python bench/mpi_scaling.py [--workloads W1,W2] [--ranks 2] [--runs 3]
Environment: OOC_BUILD (default build/), as bench/run.py; MPIEXEC (default mpirun).
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import SEED_RHS, WORKLOADS, build_dir, ensure_csv, timed_rss  # noqa: E402


def ensure_h5(exe, rows):
    csv = ensure_csv(rows, 0)
    h5 = os.path.splitext(csv)[0] + ".ooc.h5"
    if not os.path.exists(h5):
        timed_rss([exe, "ingest", csv, "-f", "y ~ " + SEED_RHS, "--var", "lnames=0,1,2,3,4",
                   "-o", h5, "-q"])
    return h5


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", default="W1,W2")
    ap.add_argument("--ranks", default="2")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    exe = os.path.join(build_dir(), "host", "oocsolve")
    mpiexec = os.environ.get("MPIEXEC", "mpirun")
    os.environ.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cores = os.cpu_count()
    print("| workload | method | alone s | ranks | ranks s | speed-up |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.workloads.split(","):
        h5 = ensure_h5(exe, WORKLOADS[name][0])
        for method in ("qr", "normal"):
            fit = ["fit", h5, "--device", "cpu", "--method", method, "--json"]
            for n in (int(v) for v in args.ranks.split(",")):
                alone, split = [], []
                for _ in range(args.runs):
                    alone.append(timed_rss([exe, *fit, "--threads", str(cores)])[0])
                    split.append(timed_rss([mpiexec, "--oversubscribe", "-np", str(n), exe, *fit,
                                            "--threads", str(max(1, cores // n))])[0])
                a, s = statistics.median(alone), statistics.median(split)
                print(f"| {name} | {method} | {a:.2f} | {n} | {s:.2f} | {a / s:.2f}× |",
                      flush=True)
    print(f"\nmedians of {args.runs}; {cores} cores; build: {build_dir()}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""cluster.py — `oocsolve fit --cov cluster` (the cluster pass, solve/cluster.c) against the
nonrobust fit of the same file and against statsmodels' OLS(...).fit(cov_type="cluster") in
memory (issue 17's benchmark line).

Writes (once, into bench/data) an h5py file of n rows laid out as `ingest --keep` writes it:
/X = [1, 4 standard normal columns], /Y with a group effect, and /keep (n x 2 float64, attribute
column_names) holding two group columns, `g5` with 1e5 groups and `g6` with 1e6, in random row
order; chunks of ~1 MiB, shuffle + deflate 1.  Runs, --runs times each: `oocsolve fit FILE`
(CPU backend) nonrobust and with --cov cluster --groups g5 / g6, then statsmodels on the same
arrays in a child process (time of the fit alone, and the child's peak RSS), unless
--no-statsmodels.  Prints medians, the cluster pass's seconds against the fit pass, and the
largest relative difference of the standard errors.

usage: .venv/bin/python bench/cluster.py [--rows 2500000] [--runs 3] [--no-statsmodels]
Environment: OOC_BUILD (default build/), as bench/run.py.
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import DATA, build_dir, reference_cells, timed_rss  # noqa: E402

P = 5
GROUPS = {"g5": 100_000, "g6": 1_000_000}


def ensure_h5(n):
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"cluster-{n}x{P}.h5py.h5")
    if os.path.exists(path):
        return path
    import h5py
    import numpy as np
    rng = np.random.default_rng(5)
    effects = {name: rng.normal(size=g) for name, g in GROUPS.items()}
    chunk = (1 << 20) // (8 * P)
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        opts = dict(shuffle=True, compression="gzip", compression_opts=1)
        x = f.create_dataset("X", (n, P), "f8", chunks=(chunk, P), **opts)
        y = f.create_dataset("Y", (n,), "f8", chunks=(chunk,), **opts)
        k = f.create_dataset("keep", (n, len(GROUPS)), "f8", chunks=(chunk, len(GROUPS)), **opts)
        k.attrs["column_names"] = list(GROUPS)
        for s in range(0, n, 1_000_000):
            e = min(n, s + 1_000_000)
            block = rng.standard_normal((e - s, P))
            block[:, 0] = 1.0
            ids = np.column_stack([rng.integers(0, g, e - s) for g in GROUPS.values()])
            u = sum(effects[name][ids[:, j]] for j, name in enumerate(GROUPS))
            x[s:e] = block
            y[s:e] = block @ np.arange(1.0, P + 1) + u + rng.standard_normal(e - s)
            k[s:e] = ids
    os.replace(tmp, path)
    return path


STATSMODELS = r"""
import json, sys, time
import h5py, numpy as np, statsmodels.api as sm
with h5py.File(sys.argv[1]) as f:
    X, y = f["X"][:], f["Y"][:]
    g = f["keep"][:, int(sys.argv[2])].astype(np.int64)
t = time.perf_counter()
r = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": g})
print(json.dumps({"seconds": time.perf_counter() - t, "bse": list(r.bse)}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=2_500_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-statsmodels", action="store_true")
    args = ap.parse_args()
    exe = os.path.join(build_dir(), "host", "oocsolve")
    h5 = ensure_h5(args.rows)
    base = [exe, "fit", h5, "--device", "cpu", "--no-refine", "--json"]
    fit = [timed_rss(base)[:2] for _ in range(args.runs)]
    fit_s = statistics.median(s for s, _ in fit)
    print("| rows | groups | fit s (RSS MB) | fit --cov cluster s (RSS MB) | cluster pass s | "
          "statsmodels s (RSS MB) | max rel. diff of bse |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for j, (name, g) in enumerate(GROUPS.items()):
        runs, doc = [], None
        for _ in range(args.runs):
            s, rss, out = timed_rss(base + ["--cov", "cluster", "--groups", name])
            runs.append((s, rss))
            doc = json.loads(out)
        s_med = statistics.median(s for s, _ in runs)
        sm_cell, diff_cell = "–", "–"
        if not args.no_statsmodels:
            sm_cell, diff_cell = reference_cells(STATSMODELS, [h5, str(j)], doc["bse"], "bse")
        print(f"| {args.rows} | {doc['n_groups']} | {fit_s:.2f} ({max(m for _, m in fit):.0f}) | "
              f"{s_med:.2f} ({max(m for _, m in runs):.0f}) | "
              f"{doc['timings']['second_pass']:.2f} | {sm_cell} | {diff_cell} |")
    print(f"\nmedians of {args.runs}; build: {build_dir()}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""glm.py — `oocsolve glm` (IRLS, one pass per iteration) against one `fit` pass over the same
file and against statsmodels' GLM.fit() in memory (issue 17's scale numbers).

Writes (once, into bench/data) an h5py file of n rows: X = [1, 6 standard normal columns], a
0/1 response drawn from a logistic model, chunks of ~1 MiB, shuffle + deflate 1 (as bench/wide.py
writes). Runs, --runs times each: `oocsolve glm FILE --family binomial --json` and `oocsolve fit
FILE --json` (CPU backend), then statsmodels' GLM(y, X, Binomial()).fit() on the same arrays in a
child process (time of the fit alone and the child's peak RSS), unless --no-statsmodels.
Prints medians, the IRLS iterations, seconds per iteration against the fit pass, and the largest
relative difference of the coefficients.

usage: .venv/bin/python bench/glm.py [--rows 2500000] [--runs 3] [--no-statsmodels]
Environment: OOC_BUILD (default build/), as bench/run.py.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import DATA, build_dir, reference_cells, timed_rss  # noqa: E402

P = 7


def ensure_h5(n):
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"logit-{n}x{P}.h5py.h5")
    if os.path.exists(path):
        return path
    import h5py
    import numpy as np
    rng = np.random.default_rng(1)
    beta = np.array([-0.5, 0.8, -0.4, 0.3, 0.0, 0.6, -0.2])
    chunk = (1 << 20) // (8 * P)
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        x = f.create_dataset("X", (n, P), "f8", chunks=(chunk, P), shuffle=True,
                             compression="gzip", compression_opts=1)
        y = f.create_dataset("Y", (n,), "f8", chunks=(chunk,), shuffle=True,
                             compression="gzip", compression_opts=1)
        for s in range(0, n, 1_000_000):
            e = min(n, s + 1_000_000)
            block = rng.standard_normal((e - s, P))
            block[:, 0] = 1.0
            prob = 1.0 / (1.0 + np.exp(-(block @ beta)))
            x[s:e] = block
            y[s:e] = (rng.random(e - s) < prob).astype(float)
    os.replace(tmp, path)
    return path


STATSMODELS = r"""
import json, sys, time
import h5py, numpy as np, statsmodels.api as sm
with h5py.File(sys.argv[1]) as f:
    X, y = f["X"][:], f["Y"][:]
t = time.perf_counter()
r = sm.GLM(y, X, family=sm.families.Binomial()).fit()
print(json.dumps({"seconds": time.perf_counter() - t, "params": list(r.params)}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=2_500_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-statsmodels", action="store_true")
    args = ap.parse_args()
    exe = os.path.join(build_dir(), "host", "oocsolve")
    h5 = ensure_h5(args.rows)
    glm, fit = [], []
    doc = None
    for _ in range(args.runs):
        s, rss, out = timed_rss([exe, "glm", h5, "--family", "binomial", "--device", "cpu",
                                 "--json"])
        glm.append((s, rss))
        doc = json.loads(out)
        s, rss, _ = timed_rss([exe, "fit", h5, "--device", "cpu", "--json"])
        fit.append((s, rss))
    glm_s = statistics.median(s for s, _ in glm)
    fit_s = statistics.median(s for s, _ in fit)
    iters = doc["iterations"]
    print(f"| rows | glm s (RSS MB) | iterations | s per iteration | fit pass s | "
          f"statsmodels s (RSS MB) | max rel. diff of params |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    sm_cell, diff_cell = "–", "–"
    if not args.no_statsmodels:
        sm_cell, diff_cell = reference_cells(STATSMODELS, [h5], doc["params"], "params")
    # IRLS makes iterations + 1 passes (the last one computes the covariance's weights)
    print(f"| {args.rows} | {glm_s:.2f} ({max(m for _, m in glm):.0f}) | {iters} | "
          f"{glm_s / (iters + 1):.2f} | {fit_s:.2f} | {sm_cell} | {diff_cell} |")
    print(f"\nmedians of {args.runs}; build: {build_dir()}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""transforms.py — what patsy's stateful transforms cost in `oocsolve ingest`, against the same
formula without them and against pandas + patsy in memory (issue 16's numbers).

Writes (once, into bench/data) a CSV of n rows: y, x (normal, rounded to 4 decimals: ties), z
(uniform), g (3 levels). Runs, --runs times each:
  * `oocsolve ingest CSV -f "y ~ x + z + g"`                      (no transforms: one pass);
  * `oocsolve ingest CSV -f "y ~ bs(x, df=6) + cr(z, df=5) + center(x) + standardize(z) + g"`
    (the memorize pass, two sorted spills in $TMPDIR, exact quantile knots);
  * the reference: pandas.read_csv + patsy.dmatrices of the transforms' formula, in a child
    process (its wall time and peak RSS).
Prints medians of wall time and peak RSS, and the ratios.

usage: .venv/bin/python bench/transforms.py [--rows 2000000] [--runs 3]
Environment: OOC_BUILD (default build/), as bench/run.py.
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import DATA, PY, build_dir, timed_rss  # noqa: E402

PLAIN = "y ~ x + z + g"
TRANSFORMS = "y ~ bs(x, df=6) + cr(z, df=5) + center(x) + standardize(z) + g"

PATSY = r"""
import sys, pandas as pd, patsy
df = pd.read_csv(sys.argv[1])
y, X = patsy.dmatrices(sys.argv[2], df)
print(X.shape)
"""


def ensure_csv(n):
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"transforms-{n}.csv")
    if os.path.exists(path):
        return path
    import numpy as np
    rng = np.random.default_rng(3)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("y,x,z,g\n")
        for s in range(0, n, 500_000):
            m = min(n, s + 500_000) - s
            x = np.round(rng.standard_normal(m) * 3, 4)
            z = rng.uniform(0, 10, m)
            y = 0.5 * x + np.sin(z) + rng.standard_normal(m)
            g = rng.choice(["a", "b", "c"], m)
            f.writelines("%.17g,%.17g,%.17g,%s\n" % r for r in zip(y, x, z, g))
    os.replace(tmp, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    exe = os.path.join(build_dir(), "host", "oocsolve")
    csv = ensure_csv(a.rows)
    results = {}
    with tempfile.TemporaryDirectory(dir=DATA) as work:
        out = os.path.join(work, "out.h5")
        steps = [("ingest, no transforms", [exe, "ingest", csv, "-f", PLAIN, "-o", out, "-q"]),
                 ("ingest, transforms", [exe, "ingest", csv, "-f", TRANSFORMS, "-o", out, "-q"]),
                 ("pandas + patsy", [PY, "-c", PATSY, csv, TRANSFORMS])]
        for _ in range(a.runs):
            for name, cmd in steps:
                results.setdefault(name, []).append(timed_rss(cmd)[:2])
    print(f"{a.rows} rows, medians of {a.runs} runs")
    med = {}
    for name, runs in results.items():
        med[name] = (statistics.median(t for t, _ in runs), statistics.median(r for _, r in runs))
        print(f"  {name:24s} {med[name][0]:7.2f} s  {med[name][1]:8.1f} MB")
    plain, tf, ref = (med[k] for k in results)
    print(f"  transforms / no transforms: {tf[0] / plain[0]:.2f}x time")
    print(f"  pandas + patsy / oocsolve with transforms: {ref[0] / tf[0]:.2f}x time, "
          f"{ref[1] / tf[1]:.1f}x memory")


if __name__ == "__main__":
    main()

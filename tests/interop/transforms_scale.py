#!/usr/bin/env python3
"""transforms_scale.py — stateful transforms on 5 million rows (label: slow).

`oocsolve ingest` of `y ~ bs(x, df=6) + cr(x, df=5) + center(z) + standardize(z)` on a CSV of
5,000,000 rows and on its first 1,000,000, each under --profile:
  * memory is flat: peak RSS of the 5M run at most the 1M run's plus 24 MB (the values the knots
    are taken from are kept sorted on disk, in $TMPDIR, not in memory; what grows with the rows
    is one 32 KiB merge buffer per run of 2^20 values);
  * one memorize pass: the trace's CSV tokenizing covers the file's records exactly twice (the
    memorize pass and the design pass) and has "memorize" spans;
  * the knots are exact: bs's inner knots equal numpy's np.percentile over the whole column,
    bit for bit, and cr's equal np.percentile over its distinct values, as patsy takes them;
    center's mean and standardize's scale agree with numpy's long double ones to the
    rounding of a sum of n terms (n·ε relative, n = 5e6: tolerance written below).
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

OOCSOLVE = os.environ["OOCSOLVE"]
FORMULA = "y ~ bs(x, df=6) + cr(x, df=5) + center(z) + standardize(z)"


def write_csv(path, x, z, y):
    with open(path, "w") as f:
        f.write("y,x,z\n")
        step = 500000
        for i in range(0, len(x), step):
            block = np.column_stack([y[i:i + step], x[i:i + step], z[i:i + step]])
            np.savetxt(f, block, fmt="%.17g", delimiter=",")


def run(csv, out, trace):
    """Ingest with a profile; (peak RSS in MB of that process, stderr)."""
    proc = subprocess.Popen([OOCSOLVE, "ingest", csv, "-f", FORMULA, "-o", out, "-q",
                             "--profile", trace], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("ingest failed: " + stderr)
    return usage.ru_maxrss / 1024.0, stderr


def main():
    failures = []
    rng = np.random.default_rng(17)
    n = 5_000_000
    x = np.round(rng.standard_normal(n) * 3, 4)   # rounded: ties among the values
    z = rng.uniform(-2, 8, n)
    y = rng.standard_normal(n)
    with tempfile.TemporaryDirectory() as work:
        big, small = os.path.join(work, "big.csv"), os.path.join(work, "small.csv")
        write_csv(big, x, z, y)
        write_csv(small, x[:1_000_000], z[:1_000_000], y[:1_000_000])
        rss_small, _ = run(small, os.path.join(work, "small.h5"), os.path.join(work, "s.json"))
        out, trace = os.path.join(work, "big.h5"), os.path.join(work, "b.json")
        rss_big, _ = run(big, out, trace)
        print("peak RSS: 1M rows %.1f MB, 5M rows %.1f MB" % (rss_small, rss_big))
        if rss_big > rss_small + 24:
            failures.append("memory grows with the rows: %.1f MB at 1M, %.1f MB at 5M"
                            % (rss_small, rss_big))
        events = json.load(open(trace))["traceEvents"]
        tokenized = sum(e.get("args", {}).get("bytes", 0) for e in events
                        if e.get("name") == "csv tokenize")
        size = os.path.getsize(big) - len("y,x,z\n")   # the header is read once, apart
        if tokenized != 2 * size:
            failures.append("CSV tokenized %d bytes, not twice the file's %d" % (tokenized, size))
        if not any(e.get("name") == "memorize" for e in events):
            failures.append("no memorize span in the profile")
        with h5py.File(out, "r") as h5:
            state = json.loads(h5["X"].attrs["oocsolve_transforms"])
        tf = {t["call"]: t for t in state["transforms"]}
        # bs(x, df=6): 6 - 4 + 1 = 3 inner knots at patsy's quantiles 1/4, 1/2, 3/4
        inner = np.percentile(x, 100 * np.linspace(0, 1, 5)[1:-1])
        want = np.sort(np.concatenate([[x.min()] * 4, inner, [x.max()] * 4]))
        if not np.array_equal(tf["bs(x, df=6)"]["knots"], want):
            failures.append("bs knots %r != numpy's %r" % (tf["bs(x, df=6)"]["knots"], want))
        # cr(x, df=5): 3 inner knots at percentiles of the distinct values
        inner = np.percentile(np.unique(x), np.linspace(0, 100, 5)[1:-1].tolist())
        want = np.concatenate([[x.min()], inner, [x.max()]])
        if not np.array_equal(tf["cr(x, df=5)"]["knots"], want):
            failures.append("cr knots %r != numpy's %r" % (tf["cr(x, df=5)"]["knots"], want))
        # center's mean: both sums are within n·ε_ld·Σ|z| of the exact one (long double,
        # ε_ld = 2^-64), far below the double's half ulp; allow 1 ulp of the mean for the
        # final rounding's ties.
        mean = float(np.sum(z.astype(np.longdouble)) / n)
        got = tf["center(z)"]["mean"]
        if abs(got - mean) > np.spacing(abs(mean)):
            failures.append("center mean %r != numpy's %r" % (got, mean))
        scale = tf["standardize(z)"]["scale"]
        s = float(np.std(z.astype(np.longdouble)))
        if abs(sum(scale) - s) > 4 * np.spacing(s):
            failures.append("standardize scale %r != numpy's %r" % (scale, s))
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

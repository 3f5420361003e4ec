#!/usr/bin/env python3
"""formula_scale_cli.py — `oocsolve ingest` with a wide formula and a categorical of many levels.

1. Wide: a CSV of 20 000 numeric columns and 5 rows, ingested with a formula of 20 000 terms
   (y ~ c0 + c1 + ...): X has 20 001 columns, named as patsy names them, with the CSV's values.
2. Levels: a CSV of 100 000 rows, one per level of a string categorical g (levels discovered by
   the scan), with the response missing on all but 64 rows (patsy drops those rows, but their
   levels still count, as patsy's level sniffing sees every row).  The design y ~ a + g has
   100 001 columns and 64 rows.  Checked: the peak RSS of the oocsolve process (ru_maxrss from
   os.wait4) stays under a bound derived from what must be held, and X equals patsy's dmatrices
   on a sample of rows; the column names are patsy's.

With --sanitized (ASan+UBSan build) the address-space limit is not set (ASan reserves terabytes)
and the RSS bound allows for ASan's shadow memory, redzones and quarantine.
"""
import os
import resource
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
import patsy

OOCSOLVE = os.environ["OOCSOLVE"]
SANITIZED = "--sanitized" in sys.argv[1:]
from cliutil import check, exit_status, failures  # noqa: E402


def decode(names):
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def short_name(i):
    """c0, c1, ..., cz, c10, ...: base-36 names, so that 20 000 terms fit in one argument
    (Linux limits one argument to 128 KiB)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        s = digits[i % 36] + s
        i //= 36
        if i == 0:
            return "c" + s


def run_measured(cmd, limit_as=None):
    """Run cmd; return (exit status, stderr, peak RSS in MB of that process)."""
    def limit():
        if limit_as:
            resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=limit)
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err, usage.ru_maxrss / 1024.0


def test_wide(d):
    n, rows = 20000, 5
    names = [short_name(i) for i in range(n)]
    csv = os.path.join(d, "wide.csv")
    rng = np.random.default_rng(1)
    values = rng.integers(-1000, 1000, size=(rows, n + 1))
    with open(csv, "w") as f:
        f.write("y," + ",".join(names) + "\n")
        for r in range(rows):
            f.write(",".join(str(v) for v in values[r]) + "\n")
    formula = "y~" + "+".join(names)
    out = os.path.join(d, "wide.h5")
    r = subprocess.run([OOCSOLVE, "ingest", csv, "-f", formula, "-o", out],
                       capture_output=True, text=True)
    check(r.returncode == 0, "wide ingest exits 0: " + r.stderr[-2000:])
    if r.returncode != 0:
        return
    with h5py.File(out, "r") as h:
        X = h["X"][...]
        got = decode(h["X"].attrs["column_names"])
        Y = h["Y"][...].ravel()
    check(X.shape == (rows, n + 1), "wide X shape %s" % (X.shape,))
    check(got == ["Intercept"] + names, "wide column names (first differences: %s)"
          % [(i, a, b) for i, (a, b) in enumerate(zip(got, ["Intercept"] + names)) if a != b][:3])
    expected = np.hstack([np.ones((rows, 1)), values[:, 1:].astype(np.float64)])
    check(X.shape == expected.shape and np.array_equal(X, expected), "wide X values")
    check(np.array_equal(Y, values[:, 0].astype(np.float64)), "wide Y values")
    print("wide: %d terms, X %s" % (n, X.shape))


def test_levels(d):
    nlev, kept = 100000, 64
    rng = np.random.default_rng(2)
    order = rng.permutation(nlev)             # the file lists the levels in random order
    levels = ["g%05d" % i for i in order]
    a = rng.standard_normal(nlev)
    keep = np.zeros(nlev, bool)
    keep[rng.choice(nlev, kept, replace=False)] = True
    y = np.where(keep, rng.standard_normal(nlev), np.nan)
    csv = os.path.join(d, "levels.csv")
    with open(csv, "w") as f:
        f.write("y,a,g\n")
        for i in range(nlev):
            f.write("%s,%.17g,%s\n" % ("NA" if np.isnan(y[i]) else "%.17g" % y[i], a[i], levels[i]))
    out = os.path.join(d, "levels.h5")
    cmd = [OOCSOLVE, "ingest", csv, "-f", "y ~ a + g", "-o", out, "--chunk-rows", "4",
           "--threads", "2", "--max-levels", "0"]  # more than the default limit, on purpose
    # Without sanitizers, cap the address space so that a design stage that grows with
    # levels x columns (80 GB here) fails at once instead of exhausting the machine.
    status, err, rss = run_measured(cmd, None if SANITIZED else 4 << 30)
    # What must be held: the level table (texts, hash slots, sorted levels: ~100 B/level),
    # one name and one sparse part per column (~100 B/column): ~20 MB for 100 000; the
    # design stream's row blocks (6 slots of at most 4 MiB) and the writer's chunk buffers
    # (--chunk-rows 4: 3.2 MB raw + its deflated copy, per slot): ~60 MB; the process itself
    # (HDF5, OpenBLAS): ~20 MB.  About 100 MB in all; measured 83 MB on the development
    # machine (157 MB under ASan+UBSan).  The bound is 3x that for the allocator's slack;
    # under ASan, shadow memory, redzones and up to 256 MB of quarantine come on top.
    bound = 600 if SANITIZED else 300
    print("levels: %d levels, %d rows kept: exit %d, peak RSS %.0f MB (bound %d MB)"
          % (nlev, kept, status, rss, bound))
    check(status == 0, "levels ingest exits 0: " + err[-2000:])
    check(rss < bound, "levels ingest peak RSS %.0f MB >= %d MB" % (rss, bound))
    if status != 0:
        return
    with h5py.File(out, "r") as h:
        X = h["X"][...]
        Yo = h["Y"][...].ravel()
        names = decode(h["X"].attrs["column_names"])
    sorted_levels = sorted(levels)
    check(X.shape == (kept, nlev + 1), "levels X shape %s" % (X.shape,))
    # patsy's order: the terms without numeric factors first
    check(names == ["Intercept"] + ["g[T.%s]" % l for l in sorted_levels[1:]] + ["a"],
          "levels column names")
    check(np.array_equal(Yo, y[keep]), "levels Y")
    # patsy on a sample of the kept rows: its levels are the sample's plus the reference (the
    # first level overall), so its dmatrix is small; every other column of ours must be 0.
    df = pd.read_csv(csv, keep_default_na=True)
    kept_rows = df[df["y"].notna()].reset_index(drop=True)
    sample = sorted(rng.choice(kept, 8, replace=False))
    sub = kept_rows.iloc[sample].reset_index(drop=True)
    sub_levels = [sorted_levels[0]] + sorted(set(sub["g"]) - {sorted_levels[0]})
    Yp, Xp = patsy.dmatrices("y ~ a + C(g, levels=L)", sub, return_type="dataframe",
                             eval_env=patsy.EvalEnvironment([{"L": sub_levels}]))
    column = {name: j for j, name in enumerate(names)}
    ours = []
    for name in Xp.columns:
        if name.startswith("C(g, levels=L)[T."):
            name = "g[T." + name[len("C(g, levels=L)[T."):]
        ours.append(column[name])
    Xs = X[sample]
    check(np.array_equal(Xs[:, ours], Xp.to_numpy(np.float64)), "levels X vs patsy on the sample")
    rest = np.delete(Xs, ours, axis=1)
    check(not rest.any(), "levels X: columns of other levels are 0 on the sample")
    check(np.array_equal(Yo[sample], Yp.to_numpy(np.float64)[:, 0]), "levels Y vs patsy")


def main():
    with tempfile.TemporaryDirectory() as d:
        test_wide(d)
        test_levels(d)
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

"""patsyutil.py — what the patsy interop tests share (interop_patsy.py,
interop_patsy_extended.py): the oocsolve binary, pandas' default missing-value spellings, a CSV
written with missing values sprinkled in, ingest through the CLI, column-name decoding, the
ingested design read back against patsy's names and shape, and the check that a formula is
refused with the expected message and nothing left behind."""
import os
import subprocess
import sys

import h5py
import numpy as np

OOCSOLVE = os.environ.get("OOCSOLVE")
if not OOCSOLVE:
    sys.exit(f"{os.path.basename(sys.argv[0])}: set OOCSOLVE to the oocsolve binary")

NA_SPELLINGS = ["", "NA", "nan", "NaN", "null", "N/A", "NULL", "#N/A", "None", "<NA>"]


def write_csv_with_missing(path, cols, missing, rng):
    """Write cols (name -> list of texts, equal lengths) as a CSV, after setting a fraction of
    some columns' entries to pandas' missing spellings (missing: (name, fraction) pairs, rows
    drawn from rng); a text with a space is quoted."""
    n = len(next(iter(cols.values())))
    for name, frac in missing:
        for i in rng.choice(n, int(n * frac), replace=False):
            cols[name][i] = NA_SPELLINGS[i % len(NA_SPELLINGS)]
    names = list(cols)
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            f.write(",".join('"%s"' % cols[k][i] if " " in cols[k][i] else cols[k][i]
                             for k in names) + "\n")


def ingest(workdir, csv, formula, variables=None, extra=(), quiet=False):
    """`oocsolve ingest csv -f formula -o workdir/out.h5` (--var for each variable; -q when
    quiet): (CompletedProcess, output path)."""
    out = os.path.join(workdir, "out.h5")
    if os.path.exists(out):
        os.remove(out)
    cmd = [OOCSOLVE, "ingest", csv, "-f", formula, "-o", out] + (["-q"] if quiet else [])
    for name, value in (variables or {}).items():
        cmd += ["--var", "%s=%s" % (name, value)]
    cmd += list(extra)
    return subprocess.run(cmd, capture_output=True, text=True), out


def decode(names):
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def read_design(out, X):
    """oocsolve's ingested /X and /Y (None without one) from `out` and patsy's X (a DataFrame) as
    C-contiguous doubles: (Xo, Yo, Xp), or a message when the names or the shape differ."""
    with h5py.File(out, "r") as h5:
        names = decode(h5["X"].attrs["column_names"])
        Xo = np.ascontiguousarray(h5["X"][...], dtype=np.float64)
        Yo = h5["Y"][...].ravel() if "Y" in h5 else None
    if names != list(X.columns):
        return "column names differ:\n  oocsolve %s\n  patsy    %s" % (names, list(X.columns))
    Xp = np.ascontiguousarray(X.to_numpy(dtype=np.float64))
    if Xo.shape != Xp.shape:
        return "shape %s != patsy %s" % (Xo.shape, Xp.shape)
    return Xo, Yo, Xp


def expect_error(workdir, csv, formula, must_contain, extra=(), variables=None, command="ingest",
                 quiet=False):
    """None when `command` (ingest, or fit/svd/glm on the CSV) refuses the formula with a message
    holding every text of must_contain and, for ingest, no output file; else what went wrong."""
    out = None
    if command == "ingest":
        r, out = ingest(workdir, csv, formula, variables, extra, quiet)
    else:
        r = subprocess.run([OOCSOLVE, command, csv, "-f", formula] + list(extra),
                           capture_output=True, text=True)
    problems = []
    if r.returncode == 0:
        problems.append("exit code 0")
    problems += ["message lacks %r" % t for t in must_contain if t not in r.stderr]
    if out and os.path.exists(out):
        problems.append("output file left behind")
    if problems:
        return "%s: %s\n  stderr: %s" % (formula, "; ".join(problems), r.stderr.strip())
    return None


def caret_line(formula, start, length):
    """The formula and a caret line under its characters [start, start + length)."""
    return "  " + formula + "\n  " + " " * start + "^" * length

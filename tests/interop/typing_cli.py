#!/usr/bin/env python3
"""typing_cli.py — column types through the CLI: the categorical warning, --dtype,
--max-levels, --na-values / --keep-default-na, and fit's non-finite error.

1. One text value among numbers makes the column categorical, as pandas + patsy do, and a
   warning names the column, the value, its line and the levels (X as patsy's).
2. --dtype a=float,g=str pins types (pandas' spellings), for ingest, fit and svd: a non-number
   in a pinned numeric column is an error with file, line, column and the quoted value; a
   pinned str column has string levels (X as pandas dtype=str + patsy); unknown names and
   types are errors.
3. --max-levels N refuses a categorical with more levels (default 10000; 0: no limit).
4. --na-values adds to pandas' default list; --keep-default-na false uses it alone; a text that
   float() reads as NaN in a categorical is missing (patsy), in the level scan and in
   evaluation alike.
5. fit / svd from a CSV name the file and line of a non-finite value.
"""
import io
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
import patsy

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, failures  # noqa: E402


def run(*args):
    return subprocess.run([OOCSOLVE, *args], capture_output=True, text=True, timeout=120)


def X_of(path):
    with h5py.File(path, "r") as f:
        return f["X"][...]


def patsy_X(text, formula, **read_csv):
    df = pd.read_csv(io.StringIO(text), **read_csv)
    return np.asarray(patsy.dmatrices(formula, df, NA_action="drop")[1])


tmp = tempfile.mkdtemp(prefix="typing-")
mixed = "y,a,g\n" + "".join(
    f"{i % 7 + 0.5},{i * 1.5},{'abc' if i == 50 else i % 5}\n" for i in range(200))
mixed_csv = os.path.join(tmp, "mixed.csv")
open(mixed_csv, "w").write(mixed)
out = os.path.join(tmp, "out.h5")

# 1. the warning, with patsy's columns kept
r = run("ingest", mixed_csv, "-f", "y ~ a + g", "-o", out)
check(r.returncode == 0, f"mixed column: exit 0 ({r.returncode}: {r.stderr})")
check("warning" in r.stderr and "line 52" in r.stderr and "column 'g'" in r.stderr
      and '"abc"' in r.stderr and "6 levels" in r.stderr,
      f"mixed column: warning names column, value, line, levels: {r.stderr!r}")
if r.returncode == 0:
    want = patsy_X(mixed, "y ~ a + g", dtype={"g": object})
    check(X_of(out).shape == want.shape and np.array_equal(X_of(out), want),
          "mixed column: X as patsy's")
r = run("ingest", mixed_csv, "-f", "y ~ a", "-o", out)
check(r.returncode == 0 and "warning" not in r.stderr, f"unused column: no warning: {r.stderr!r}")
text_only = "y,g\n1,a\n2,b\n3,a\n4,c\n"
text_csv = os.path.join(tmp, "text.csv")
open(text_csv, "w").write(text_only)
r = run("ingest", text_csv, "-f", "y ~ g", "-o", out)
check(r.returncode == 0 and "warning" not in r.stderr, f"all-text column: no warning: {r.stderr!r}")

# 2. --dtype
for cmd in (["ingest", mixed_csv, "-o", out], ["fit", mixed_csv], ["svd", mixed_csv]):
    r = run(*cmd, "-f", "y ~ a + g", "--dtype", "a=float,g=float64")
    check(r.returncode == 1 and "mixed.csv, line 52, column 'g'" in r.stderr
          and '"abc"' in r.stderr, f"{cmd[0]} --dtype g=float: error with line: {r.stderr!r}")
    r = run(*cmd, "-f", "y ~ a + g", "--dtype", "zz=float")
    check(r.returncode == 1 and "'zz'" in r.stderr, f"{cmd[0]} --dtype unknown column: {r.stderr!r}")
    r = run(*cmd, "-f", "y ~ a + g", "--dtype", "g=decimal")
    check(r.returncode == 2 and "--dtype" in r.stderr, f"{cmd[0]} --dtype bad type: {r.stderr!r}")
ints = "y,g\n1,1\n2,2\n3,10\n4,2\n5,9\n"
ints_csv = os.path.join(tmp, "ints.csv")
open(ints_csv, "w").write(ints)
r = run("ingest", ints_csv, "-f", "y ~ g", "--dtype", "g=str", "-o", out)
check(r.returncode == 0 and "warning" not in r.stderr, f"--dtype g=str: ok {r.stderr!r}")
if r.returncode == 0:
    want = patsy_X(ints, "y ~ g", dtype={"g": object})
    check(np.array_equal(X_of(out), want), "--dtype g=str: X as pandas dtype=str + patsy")
    info = run("info", out).stdout
    check("g[T.10]" in info and "g[T.2]" in info, f"--dtype g=str: string levels: {info}")
r = run("ingest", ints_csv, "-f", "y ~ I(g + 1)", "--dtype", "g=category", "-o", out)
check(r.returncode == 1 and "'g'" in r.stderr, f"str column in arithmetic: error {r.stderr!r}")
r = run("fit", ints_csv, "-f", "y ~ g", "--dtype", "g=str", "--json")
check(r.returncode == 0, f"fit --dtype g=str: ok {r.stderr!r}")

# 3. --max-levels
many = "y,g\n" + "".join(f"{i},L{i}\n" for i in range(10001))
many_csv = os.path.join(tmp, "many.csv")
open(many_csv, "w").write(many)
r = run("ingest", many_csv, "-f", "y ~ g", "-o", out)
check(r.returncode == 1 and "10001 levels" in r.stderr and "10000 (--max-levels)" in r.stderr,
      f"default --max-levels 10000: {r.stderr!r}")
r = run("ingest", mixed_csv, "-f", "y ~ a + g", "--max-levels", "5", "-o", out)
check(r.returncode == 1 and "6 levels" in r.stderr and "limit of 5" in r.stderr,
      f"--max-levels 5: {r.stderr!r}")
for cmd in (["fit", mixed_csv], ["svd", mixed_csv]):
    r = run(*cmd, "-f", "y ~ a + g", "--max-levels", "5")
    check(r.returncode == 1 and "limit of 5" in r.stderr, f"{cmd[0]} --max-levels 5: {r.stderr!r}")
r = run("ingest", mixed_csv, "-f", "y ~ a + g", "--max-levels", "6", "-o", out)
check(r.returncode == 0, f"--max-levels 6: ok {r.stderr!r}")
r = run("ingest", "--help")
check("--max-levels" in r.stdout and "--dtype" in r.stdout and "--keep-default-na" in r.stdout,
      "ingest --help lists the options")

# 4. --na-values and NaN text in a categorical
nan_text = "y,g\n1,a\n2,nan\n3,b\n4,c\n5,XX\n6,a\n7,NaN\n8,b\n"
nan_csv = os.path.join(tmp, "nan.csv")
open(nan_csv, "w").write(nan_text)
for opts, kw in (([], {}),
                 (["--na-values", "XX"], {"na_values": ["XX"]}),
                 (["--na-values", "XX", "--keep-default-na", "false"],
                  {"na_values": ["XX"], "keep_default_na": False}),
                 (["--no-default-na"], {"keep_default_na": False})):
    r = run("ingest", nan_csv, "-f", "y ~ g", "-o", out, *opts)
    check(r.returncode == 0, f"nan in categorical {opts}: exit 0 ({r.stderr!r})")
    if r.returncode == 0:
        want = patsy_X(nan_text, "y ~ g", dtype={"g": object}, **kw)
        got = X_of(out)
        check(got.shape == want.shape and np.array_equal(got, want),
              f"nan in categorical {opts}: X {got.shape} as patsy's {want.shape}")

# 5. fit / svd from a CSV: the file and line of a non-finite value
inf_csv = os.path.join(tmp, "inf.csv")
open(inf_csv, "w").write("y,a,b\n1,1,2\n2,2,3\n3,3,1\n4,5,2\n5,1e400,1\n6,2,1\n")
for cmd in ("fit", "svd"):
    r = run(cmd, inf_csv, "-f", "y ~ a + b")
    check(r.returncode == 1 and "inf.csv, line 6" in r.stderr and '"1e400"' in r.stderr,
          f"{cmd}: non-finite value with file and line: {r.stderr!r}")

print(f"typing_cli: {len(failures)} failures")
sys.exit(1 if failures else 0)

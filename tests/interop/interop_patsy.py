#!/usr/bin/env python3
"""interop_patsy.py — `oocsolve ingest` against patsy.dmatrices as the oracle.

Generates a CSV with numeric columns, integer-coded and string categoricals,
boolean columns, float-coded levels and missing values in several spellings,
then for a corpus of formulas runs
    $OOCSOLVE ingest data.csv -f FORMULA -o out.h5 [--var NAME=VALUE]
and compares with patsy.dmatrices(formula, pandas.read_csv(data.csv),
NA_action='drop'):
  * the HDF5 attribute column_names of /X equals patsy's column names;
  * /X equals patsy's matrix bit for bit (formulas using log/exp/general
    powers: within 1 ulp, since numpy's SIMD transcendental functions may
    round differently from glibc's);
  * /Y equals patsy's response.
Error cases through the CLI: unknown column, syntax errors (caret under the
offending token), a non-numeric value in a numeric column (message names the
line and the column), a level outside the given levels, --missing error.
"""
import os
import sys
import tempfile

import numpy as np
import pandas as pd
import patsy

from patsyutil import (caret_line, expect_error, ingest, read_design,  # noqa: E402
                       write_csv_with_missing)

# Names the formulas may use as bare functions (patsy looks them up in this frame).
log, log1p, exp, sqrt = np.log, np.log1p, np.exp, np.sqrt



def gen_csv(path, n, seed=7):
    """A CSV exercising every kind of column the formula language handles."""
    rng = np.random.default_rng(seed)
    cols = {}

    def num(v):
        return "%.17g" % v

    cols["y"] = [num(v) for v in rng.standard_normal(n) * 3 + 1]
    for name in "abcd":
        cols[name] = [num(v) for v in rng.standard_normal(n)]
    cols["p"] = [num(v) for v in np.abs(rng.standard_normal(n)) * 5 + 0.1]
    cols["i1"] = [str(v) for v in rng.integers(-20, 20, n)]
    cols["cat1"] = [str(v) for v in rng.integers(0, 5, n)]
    cols["cat2"] = [str(v) for v in rng.integers(1, 4, n)]  # gets missing -> float levels
    cols["s1"] = list(rng.choice(["lo", "mid", "hi"], n))
    cols["s2"] = list(rng.choice(["alpha", "beta gamma", "Zed", "_u"], n))
    cols["flag"] = list(rng.choice(["True", "False"], n))
    cols["flag2"] = list(rng.choice(["True", "False"], n))
    cols["fl"] = list(rng.choice(["1.5", "2.0", "3.25", "-0.5"], n))
    missing = [("y", 0.01), ("b", 0.02), ("c", 0.02), ("cat2", 0.02), ("s1", 0.02),
               ("flag2", 0.02), ("p", 0.01)]
    write_csv_with_missing(path, cols, missing, rng)


SEED_FORMULA = "y ~ 0 + a + b + c + d + d:c + a:b + a:c + C(cat1, Treatment, levels=lnames)"

# (formula, {var: value}); formulas with transcendental functions or general
# powers are compared within 1 ulp (see TOLERANT), everything else bit for bit.
FORMULAS = [
    (SEED_FORMULA, {"lnames": "[0,1,2,3,4]"}),
    ("y ~ a + b", {}),
    ("y ~ a*b", {}),
    ("y ~ (a + b + c)**2", {}),
    ("y ~ (a+b+c+d)**3", {}),
    ("y ~ a + s1", {}),
    ("y ~ s1 + s2", {}),
    ("y ~ 0 + s1 + s2", {}),
    ("y ~ s1*s2", {}),
    ("y ~ 0 + a:s1", {}),
    ("y ~ C(cat1)", {}),
    ("y ~ C(cat2)", {}),
    ("y ~ C(i1)", {}),
    ("y ~ cat1 + i1", {}),
    ("y ~ flag + flag2", {}),
    ("y ~ flag:s1 + a:flag2", {}),
    ("y ~ C(flag, Treatment(True))", {}),
    ("y ~ C(cat1, Sum)", {}),
    ("y ~ 0 + C(cat1, Sum)", {}),
    ("y ~ C(cat1, Sum(omit=2)) + C(s2, Sum(omit='Zed'))", {}),
    ("y ~ C(s1, Treatment(reference='mid'))", {}),
    ("y ~ C(cat1, Treatment(3))", {}),
    ("y ~ C(cat1, Treatment(reference=-1))", {}),
    ("y ~ C(cat1, levels=[4,3,2,1,0])", {}),
    ("y ~ C(cat1, levels=range(5)) + C(cat2, levels=[1,2,3])", {}),
    ("y ~ C(cat1, levels=np.arange(5))", {}),
    ("y ~ C(cat1, Treatment, levels=lev) + a", {"lev": "list(range(5))"}),
    ("y ~ C(s2, levels=names)", {"names": "['Zed', 'alpha', 'beta gamma', '_u']"}),
    ("y ~ C(fl) + fl", {}),
    ("y ~ C(fl, Treatment(2.0))", {}),
    ("y ~ I(a*b) + I(a**2) + I(-a) + I(a/b) + I(a - 2*b + 1)", {}),
    ("y ~ I(p**0.5) + I(p**-1) + I(a**1) + I(2*a + b/3) + I(-p**2)", {}),
    ("y ~ i1 + I(i1**2) + I(i1/3)", {}),
    ("y ~ np.log(p) + log1p(p) + np.exp(a) + sqrt(p) + np.abs(a)", {}),
    ("y ~ I(np.log(p)*a) + I(p**3) + I(2**a)", {}),
    ("np.log(p) ~ a + b", {}),
    ("y ~ a + b - 1", {}),
    ("y ~ -1 + a + b", {}),
    ("y ~ a + 0 + b", {}),
    ("y ~ a - a", {}),
    ("y ~ s1 - 1 + C(cat1)", {}),
    ("y ~ a/b", {}),
    ("y ~ (a + b)/c", {}),
    ("y ~ s1/a", {}),
    ("y ~ a*b*c - a:b:c", {}),
    ("y ~ (a + s1):(b + flag)", {}),
    ("y ~ C(cat1)*C(s1)*flag", {}),
    ("y ~ a:b:s1 + a:b", {}),
    ("y ~ C(cat1, Sum) + C(s1, Sum):a", {}),
    ("y~a+b+I(a*-b)+np . exp (a)", {}),
    ("y ~ Q('a') + Q(\"s1\")", {}),
    ("a + b + s1", {}),
]
# Bit for bit where the arithmetic is exact or correctly rounded and done in the same order:
# parsing (correctly rounded), products and quotients (one IEEE rounding each; interactions such
# as (a+b+c+d)**3 multiply in patsy's order; the formula code is ISO C without FMA contraction),
# sqrt, abs, dummies.  Transcendentals and general powers (log, log1p, exp, p**3, 2**a) go
# through glibc in oocsolve (≤ 1 ulp: glibc's documented x86_64 maxima) and, in numpy, through
# the same glibc functions, except on AVX-512 CPUs, where numpy uses Intel SVML's high-accuracy
# variants (documented ≤ 1 ulp) or its own AVX512F exp/log (Tang's table-driven algorithms).
# Two results each within 1 ulp of a value that is not itself a double (a transcendental of a
# double never is, bar trivial arguments) are at most 1 ulp apart, so that is the tolerance.
# On CPUs without AVX-512 these formulas match bit for bit too.
TOLERANT = ("log", "exp", "p**3", "2**")


def check_formula(workdir, csv, df, formula, variables):
    r, out = ingest(workdir, csv, formula, variables)
    if r.returncode != 0:
        return "oocsolve failed: " + r.stderr.strip()
    env = {k: eval(v, {"np": np, "range": range, "list": list}) for k, v in variables.items()}
    env.update({"np": np, "log": log, "log1p": log1p, "exp": exp, "sqrt": sqrt})
    if "~" in formula:
        Y, X = patsy.dmatrices(formula, df, NA_action="drop", return_type="dataframe",
                               eval_env=patsy.EvalEnvironment([env]))
    else:
        X = patsy.dmatrix(formula, df, NA_action="drop", return_type="dataframe",
                          eval_env=patsy.EvalEnvironment([env]))
        Y = None
    design = read_design(out, X)
    if isinstance(design, str):
        return design
    Xo, Yo, Xp = design
    tolerant = any(t in formula for t in TOLERANT)

    def same(a, b):
        if a.tobytes() == b.tobytes():
            return True
        return tolerant and bool(np.all(np.abs(a - b) <= np.spacing(np.abs(b))))

    if not same(np.ascontiguousarray(Xo, dtype=np.float64), Xp):
        bad = np.argwhere(Xo != Xp)[0]
        return "X differs first at %s: %r vs patsy %r" % (bad, Xo[tuple(bad)], Xp[tuple(bad)])
    if Y is not None:
        if Yo is None:
            return "no /Y written"
        if not same(np.ascontiguousarray(Yo, dtype=np.float64), Y.to_numpy(np.float64)[:, 0]):
            return "Y differs"
    elif Yo is not None:
        return "/Y written for a formula without response"
    return None


def main():
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        csv = os.path.join(workdir, "data.csv")
        gen_csv(csv, 3000)
        df = pd.read_csv(csv)
        for formula, variables in FORMULAS:
            problem = check_formula(workdir, csv, df, formula, variables)
            print("%-4s %s" % ("ok" if problem is None else "FAIL", formula))
            if problem:
                failures.append("%s: %s" % (formula, problem))

        # Error cases through the CLI.
        f = "y ~ a + )"
        errors = [
            expect_error(workdir, csv, f, ["unexpected token ')'", caret_line(f, 8, 1)]),
            expect_error(workdir, csv, "y ~ a + nosuch",
                         ["unknown column 'nosuch'", caret_line("y ~ a + nosuch", 8, 6)]),
            expect_error(workdir, csv, "y ~ (a + b", ["unmatched '('", caret_line("y ~ (a + b", 4, 1)]),
            expect_error(workdir, csv, "y ~ a +", ["formula ends after '+'"]),
            expect_error(workdir, csv, "y ~ foo(a)",
                         ["unknown function 'foo'", caret_line("y ~ foo(a)", 4, 3)]),
            expect_error(workdir, csv, "y ~ C(cat1, levels=nope)",
                         ["unknown formula variable 'nope'"]),
            expect_error(workdir, csv, "y ~ C(cat1, levels=[0, 1, 2])",
                         ["column 'cat1'", "not among the given levels", "line "]),
            expect_error(workdir, csv, "y ~ a", ["missing value", "column 'y'"],
                         extra=["--missing", "error"]),
        ]
        # A non-numeric value in a numeric column: early (seen when the
        # formula is bound) and late (seen while evaluating).
        bad = os.path.join(workdir, "bad.csv")
        with open(csv) as src, open(bad, "w") as dst:
            lines = src.readlines()
            head = lines[0].split(",")
            ai = head.index("a")
            fields = lines[5].split(",")
            fields[ai] = "abc"
            lines[5] = ",".join(fields)
            dst.writelines(lines)
        errors.append(expect_error(workdir, bad, "y ~ I(a * 2)",
                                   ["line 6", "column 'a'", "\"abc\""]))
        late = os.path.join(workdir, "late.csv")
        gen_csv(late, 70000, seed=3)
        with open(late) as src:
            lines = src.readlines()
        fields = lines[69990].split(",")
        fields[head.index("b")] = "x1.5"
        lines[69990] = ",".join(fields)
        with open(late, "w") as dst:
            dst.writelines(lines)
        errors.append(expect_error(workdir, late, "y ~ a + b",
                                   ["line 69991", "column 'b'", "\"x1.5\""]))
        for e in errors:
            print("%-4s error case" % ("ok" if e is None else "FAIL"))
            if e:
                failures.append(e)
    if failures:
        print("\n".join(failures), file=sys.stderr)
        print("%d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("%d formulas and %d error cases agree with patsy" % (len(FORMULAS), len(errors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

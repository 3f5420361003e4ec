#!/usr/bin/env python3
"""interop_patsy_extended.py — the extended formula language against patsy.

`oocsolve ingest` against patsy.dmatrices(NA_action='drop') on pandas.read_csv
of the same file, for several hundred formulas generated combinatorially:
categorical factors (string, integer-coded with missing values, a boolean
column, boolean expressions, a column of numbers that pandas reads as text
because of " NA" fields) under every contrast (Treatment, Treatment(ref), Sum,
Sum(omit), Helmert, Diff, Poly, Poly(scores)), crossed with numeric
transforms (the numpy functions log10, log2, expm1, square, power, sin, cos,
floor, ceil, clip, minimum, maximum, where, and arithmetic on booleans) under
the operators + : * / with and without an intercept; then categorical x
categorical interactions under each pair of contrasts, and the formulas of the
issue (C(g, Helmert), C(x > 3), I(age > 30), np.log10(x), ...).  The data has
missing values in several spellings, NaN inside comparisons (numpy: False, the
row is kept), a level that first appears after the first 32768 records (the
block whose types are inferred), and fields " NA" / "NA " (text in pandas).

Each formula: the column names equal patsy's; X equals patsy's bit for bit,
except (tolerances derived next to TOLERANT_FUNCTIONS and poly_tolerance):
  * transcendental functions and general powers: 1 ulp;
  * Poly: n * cond(V) * 2^-53 times a bound on the other factors, from the
    conditioning of the Vandermonde matrix V that patsy's QR factors.
Error cases through the CLI: caret messages for unknown functions and wrong
arity, Poly's scores against the levels, a " NA" field in a numeric column
after the sample (the message says why), and fit refusing the -inf that
np.log10(0) puts in the design, naming the line.  And the small things:
--var with bare words, fit -q.
"""
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import patsy

from patsyutil import (OOCSOLVE, caret_line, ingest, read_design,  # noqa: E402
                       write_csv_with_missing)
from patsyutil import expect_error as refused  # noqa: E402

NROWS = 34000       # more than the 32768 records of the sample block
LATE_ROW = 33500    # where g's level 'zz' first appears
EPS = 2.0 ** -53


def gen_csv(path, seed=11):
    rng = np.random.default_rng(seed)
    n = NROWS

    def num(v):
        return "%.17g" % v

    cols = {"y": [num(v) for v in rng.standard_normal(n) * 2 + 1]}
    for name in "ab":
        cols[name] = [num(v) for v in rng.standard_normal(n)]
    cols["p"] = [num(v) for v in np.abs(rng.standard_normal(n)) * 4 + 0.05]
    cols["x"] = [num(v) for v in rng.uniform(0, 6, n)]          # gets missing values
    cols["age"] = [str(v) for v in rng.integers(18, 70, n)]
    g = rng.choice(["u", "v", "w", "x"], n).astype(object)
    g[LATE_ROW::97] = "zz"                                       # a level seen late
    cols["g"] = list(g)
    cols["h"] = [str(v) for v in rng.integers(1, 4, n)]          # gets missing: float levels
    cols["flag"] = list(rng.choice(["True", "False"], n))
    cols["s"] = list(rng.choice(["lo", "hi", " NA", "NA "], n))  # spaced NA: text in pandas
    cols["t"] = list(rng.choice(["1", "2", "3", " NA"], n))      # numbers + " NA": text
    missing = [("y", 0.01), ("a", 0.01), ("x", 0.03), ("h", 0.02), ("s", 0.01),
               ("p", 0.005)]
    write_csv_with_missing(path, cols, missing, rng)


# Functions computed by glibc in oocsolve and by numpy's SIMD code (Intel SVML's
# high-accuracy variants or numpy's own on AVX-512 CPUs), each documented within 1 ulp
# (faithful); log10 is computed in long double here (glibc's double log10 is within 2
# ulps), so correctly rounded but for rare ties.  Two faithful results of one exact value
# (never a double, bar trivial arguments) are the two doubles around it, so at most 1 ulp
# apart: that is the tolerance of such a column.  In an interaction the value is then
# multiplied by exact factors (a Diff value, a Helmert integer, a column): the 1 ulp of
# the input scales to at most 2 ulps of the product (ulp(c v) >= |c| ulp(v) / 2), and each
# side rounds its product once (1/2 ulp each), so 3 ulps.  Everything else (parsing,
# + - * /, sqrt, square, floor, ceil, comparisons, minimum / maximum / clip / where,
# Helmert and Diff) is exact or correctly rounded in the same order in both: bit for bit.
TOLERANT_FUNCTIONS = ("log", "exp", "sin", "cos", "power(", "np.e **", "**3", "** 3")


def tolerant_ulps(formula):
    """Allowed ulps for a formula with a TOLERANT_FUNCTION: 1, or 3 inside interactions."""
    rhs = formula.split("~")[-1]
    return 3 if any(op in rhs for op in (":", "*", "/")) else 1


def poly_tolerance(nlevels, scores=None):
    """Bound on |oocsolve's Poly coding - patsy's| for one factor.

    patsy's Poly is the Q of numpy's Householder QR of the n x n Vandermonde matrix V of
    the centred scores; the perturbation theory of QR (Sun 1991; Higham, Accuracy and
    Stability, 19.9) bounds the error of Q's first k+1 columns by about
    sqrt(2) * cond(V_k) * |dV| / |V| with Householder's backward error |dV| / |V| <= c n eps,
    so n * cond(V) * eps bounds every entry (measured: at most 0.6 cond(V_k) eps for n <= 15).
    oocsolve computes the exact orthonormal polynomials in long double (levels.c), within a
    few 2^-64 of them, and rounds once: its own error is below eps / 2."""
    s = np.arange(nlevels, dtype=float) if scores is None else np.asarray(scores, dtype=float)
    s = s - s.mean()
    V = s.reshape(-1, 1) ** np.arange(nlevels).reshape(1, -1)
    return nlevels * np.linalg.cond(V) * EPS + 2 * EPS


# Categorical factors with their contrasts; each with its Poly tolerance (None: exact) and
# its number of levels (for the bound on the other factors' values in a product).
def categoricals():
    out = []
    g_levels, h_levels = 5, 3
    for ref in ["Treatment", "Treatment('w')", "Treatment(reference=-1)", "Sum", "Sum(omit='v')",
                "Helmert", "Diff", "Poly", "Poly([1, 2, 4, 8, 16])"]:
        scores = [1, 2, 4, 8, 16] if "[" in ref else None
        tol = poly_tolerance(g_levels, scores) if ref.startswith("Poly") else None
        out.append(("C(g, %s)" % ref, tol, g_levels))
    for ref in ["Treatment(2.0)", "Sum", "Helmert", "Diff", "Poly", "Poly(scores=[0, 10, 11])"]:
        scores = [0, 10, 11] if "[" in ref else None
        tol = poly_tolerance(h_levels, scores) if ref.startswith("Poly") else None
        out.append(("C(h, %s)" % ref, tol, h_levels))
    out += [("flag", None, 2), ("s", None, 4), ("t", None, 4), ("x > 3", None, 2),
            ("I(age > 30)", None, 2), ("C(x > 3)", None, 2),
            ("C((a > 0) & (b < 1), Helmert)", None, 2),
            ("C(x >= 2, Poly)", poly_tolerance(2), 2), ("C(flag, Diff)", None, 2),
            ("C(~(a > 0), Sum)", None, 2), ("C(a > b, Treatment(True))", None, 2),
            ("C(x > 3, levels=[True, False])", None, 2), ("C(s, Helmert)", None, 4),
            ("I((a > 0) | (x < 1))", None, 2), ("np.logical_xor(a > 0, b > 0)", None, 2)]
    return out


NUMERIC = ["a", "np.log10(p)", "np.log2(p)", "np.expm1(a)", "np.square(b)", "np.power(p, 3)",
           "np.sin(a)", "np.cos(b)", "np.floor(a)", "np.ceil(x)", "np.clip(a, -1, 1)",
           "np.minimum(a, b)", "np.maximum(a, 0)", "np.where(a > 0, a, b)", "I((a > 0) * b)",
           "np.clip(x, None, 2.5)", "np.power(a, 2)", "I(np.pi * b - 1)"]

TEMPLATES = ["y ~ {c} + {n}", "y ~ {c}:{n}", "y ~ {c}*{n}", "y ~ 0 + {c} + {c}:{n}",
             "y ~ {n}/{c}", "y ~ 0 + {c}"]

CAT_TEMPLATES = ["y ~ {c}*{d}", "y ~ 0 + {c}:{d}", "y ~ {c}:{d} + a"]

# The formulas of the issue, and more of the documented subset.
ISSUE = ["y ~ C(g, Helmert)", "y ~ C(g, Poly)", "y ~ C(g, Diff)", "y ~ C(x > 3)",
         "y ~ I(age > 30)", "y ~ np.log10(x)", "y ~ np.square(x)", "y ~ np.power(x, 3)",
         "y ~ I((a > 0) & (b < 1))", "y ~ C((a > 0) & (b < 1))", "y ~ x > 3",
         "y ~ np.expm1(a) + np.log2(p) + np.floor(x) + np.ceil(a)",
         "y ~ np.clip(x, 1, 4) + np.minimum(a, b) + np.maximum(a, b)",
         "y ~ np.where(x > 3, x, 0) + np.where(a > 0, 1, 0)",
         "y ~ np.where((a > 0) & (b > 0), a > 0, b > 0)",
         "y ~ I(x != 3) + I(a == 0.5) + I(a <= b)", "y ~ I(~(x > 3) ^ (a > 0))",
         "y ~ np.logical_and(a > 0, x < 2) + np.logical_not(a > b)",
         "y ~ C(g, Poly):C(h, Poly)", "y ~ 0 + C(g, Diff):C(h, Helmert) + a",
         "y ~ C(g, Sum(omit='zz')) + C(g, Helmert):a", "y ~ (C(g, Diff) + np.log10(p))**2",
         "y ~ C(g, Poly) + C(g, Poly):np.square(a)", "np.log10(p) ~ C(g, Helmert) + a",
         "y ~ I(np.e ** a) + I(2 * np.pi * x)", "y ~ np.power(p, 0.5) + np.power(a, -1)",
         "y ~ I((a > 0) * 1.0 + (b > 0) * 2.0)", "y ~ I(x > 3):C(g, Diff)", "y ~ t + s",
         "y ~ C(t, Helmert) + C(s, Sum)", "y ~ np.clip(a, -0.5, None):C(x > 3)"]


def expect_error_q(workdir, csv, formula, must_contain, extra=(), command="ingest"):
    """patsyutil.expect_error, ingest run with -q."""
    return refused(workdir, csv, formula, must_contain, extra=extra, command=command, quiet=True)


def patsy_design(formula, df, env=None):
    ns = {"np": np}
    ns.update(env or {})
    with np.errstate(all="ignore"):
        if "~" in formula:
            Y, X = patsy.dmatrices(formula, df, NA_action="drop", return_type="dataframe",
                                   eval_env=patsy.EvalEnvironment([ns]))
        else:
            Y, X = None, patsy.dmatrix(formula, df, NA_action="drop", return_type="dataframe",
                                       eval_env=patsy.EvalEnvironment([ns]))
    return Y, X


def check(workdir, csv, df, formula, poly_tol=None, extra=(), env=None):
    r, out = ingest(workdir, csv, formula, extra=extra, quiet=True)
    if r.returncode != 0:
        return "oocsolve failed: " + r.stderr.strip()
    Y, X = patsy_design(formula, df, env)
    design = read_design(out, X)
    if isinstance(design, str):
        return design
    Xo, Yo, Xp = design
    tolerant = any(t in formula for t in TOLERANT_FUNCTIONS)

    def differ(a, b):
        """Entries of a not within the allowed distance of b."""
        if poly_tol is not None:
            # An entry is q * u: q a Poly value (|dq| <= poly_tol), u the product of the other
            # factors.  Each row of the full orthogonal coding has norm 1, so some column of
            # the term has |q| >= 1/sqrt(n) there, and |u| <= sqrt(n) * max|X| with n <= 5.
            bound = poly_tol * np.sqrt(5.0) * max(1.0, float(np.max(np.abs(b))))
            ulps = 2 + (tolerant_ulps(formula) if tolerant else 0)
            return ~(np.abs(a - b) <= bound + ulps * np.spacing(np.abs(b)))
        same = (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))
        if tolerant:
            same |= np.abs(a - b) <= tolerant_ulps(formula) * np.spacing(np.abs(b))
        return ~same

    bad = differ(Xo, Xp)
    if bad.any():
        i = tuple(np.argwhere(bad)[0])
        return "X differs at %s (%s): %r vs patsy %r" % (i, names[i[1]], Xo[i], Xp[i])
    if Y is not None:
        if Yo is None:
            return "no /Y written"
        if differ(np.ascontiguousarray(Yo, dtype=np.float64), Y.to_numpy(np.float64)[:, 0]).any():
            return "Y differs"
    return None


def formulas():
    cats = categoricals()
    poly_g, poly_h = poly_tolerance(5), poly_tolerance(3)
    out = [(f, None if "Poly" not in f else 5 * max(poly_g, poly_h)) for f in ISSUE]
    for (c, tol, _), template in itertools.product(cats, TEMPLATES):
        k = len(out)
        for n in (NUMERIC[k % len(NUMERIC)], NUMERIC[(k * 7 + 3) % len(NUMERIC)]):
            f = template.format(c=c, n=n)
            if (f, tol) not in out:
                out.append((f, tol))
    for (c, tc, _), (d, td, _) in itertools.combinations(cats, 2):
        if c.split(",")[0] == d.split(",")[0]:
            continue  # the same variable twice: patsy's own redundancy rules, tested elsewhere
        template = CAT_TEMPLATES[len(out) % len(CAT_TEMPLATES)]
        tols = [t for t in (tc, td) if t is not None]
        out.append((template.format(c=c, d=d), max(tols) * 5 if tols else None))
    return out


def main():
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        csv = os.path.join(workdir, "data.csv")
        gen_csv(csv)
        df = pd.read_csv(csv)
        assert df["t"].dtype != np.float64 and "zz" not in set(df["g"][:32768])
        cases = formulas()
        for formula, tol in cases:
            problem = check(workdir, csv, df, formula, tol)
            if problem:
                print("FAIL %s" % formula)
                failures.append("%s: %s" % (formula, problem))
        print("%d formulas compared with patsy" % len(cases))

        # --var with bare words: a list of strings, as a user means it.
        problem = check(workdir, csv, df, "y ~ C(g, levels=L)", None,
                        extra=["--var", "L=zz, x,w,v,u"],
                        env={"L": ["zz", "x", "w", "v", "u"]})
        if problem:
            failures.append("--var L=zz, x,w,v,u: " + problem)

        errors = [
            expect_error_q(workdir, csv, "y ~ np.nosuch(a)",
                         ["unknown function 'np.nosuch'", caret_line("y ~ np.nosuch(a)", 4, 2)]),
            expect_error_q(workdir, csv, "y ~ np.where(a > 0, a)",
                         ["np.where() takes 3 arguments", caret_line("y ~ np.where(a > 0, a)", 4, 2)]),
            expect_error_q(workdir, csv, "y ~ C(g, Poly([1, 2, 3]))",
                         ["number of levels (5) does not match number of scores (3)",
                          caret_line("y ~ C(g, Poly([1, 2, 3]))", 4, 21)]),
            expect_error_q(workdir, csv, "y ~ C(g, Diff(2))", ["Diff takes no arguments"]),
            expect_error_q(workdir, csv, "y ~ I(a > 0 or b > 0)",
                         ["Python's 'or' is not supported", "use |"]),
        ]
        # A " NA" field in a numeric column after the sample block: an error that says why.
        late = os.path.join(workdir, "late.csv")
        with open(csv) as src:
            lines = src.readlines()
        head = lines[0].rstrip("\n").split(",")
        fields = lines[33001].rstrip("\n").split(",")
        fields[head.index("b")] = '" NA"'
        lines[33001] = ",".join(fields) + "\n"
        with open(late, "w") as dst:
            dst.writelines(lines)
        errors.append(expect_error_q(workdir, late, "y ~ a + b",
                                   ["line 33002", "column 'b'", "\" NA\"",
                                    "spaces around it as text"]))
        # np.log10(0) = -inf reaches the design: fit refuses it, naming the line.
        zero = os.path.join(workdir, "zero.csv")
        with open(zero, "w") as f:
            f.write("y,z\n1,1\n2,10\n3,0\n4,100\n5,3\n")
        errors.append(expect_error_q(workdir, zero, "y ~ np.log10(z)", ["line 4", "-inf"],
                                   command="fit"))
        for e in errors:
            if e:
                failures.append(e)

        # fit -q: accepted like ingest -q; nothing but the report.
        r = subprocess.run([OOCSOLVE, "fit", csv, "-f", "y ~ C(g, Helmert) + x", "-q"],
                           capture_output=True, text=True)
        if r.returncode != 0 or "OLS Regression Results" not in r.stdout or r.stderr.strip():
            failures.append("fit -q: exit %d, stderr %r" % (r.returncode, r.stderr))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        print("%d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("%d formulas and %d error cases agree with patsy" % (len(cases) + 1, len(errors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

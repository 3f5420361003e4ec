#!/usr/bin/env python3
"""interop_patsy_strings.py — string comparisons in formulas against patsy.

`oocsolve ingest` against patsy.dmatrices(NA_action='drop') on pandas.read_csv of the same
file, for formulas crossing comparisons of a column of texts with a string literal (==, !=, the
literal on either side, Q(), escapes, a literal with a space, a level that first appears after
the 32768 records of the sample block, a literal that never occurs: a constant column, text
that pandas keeps although it looks like NaN, texts in a column of numbers that pandas reads as
text) with the contexts they are written in (bare, I(), C() with a contrast, interactions with a
number and with a categorical, & | ~ with each other and with numeric comparisons, np.where,
arithmetic on the boolean).  The texts have missing values in every pandas spelling: such a
comparison is False (!= True) and patsy keeps the row, which oocsolve must do too.  Each
formula: the column names equal patsy's and X (and Y) equal patsy's bit for bit (every value is
0, 1 or a CSV number times them: nothing is rounded).  A column pinned with --dtype NAME=str is
compared with pandas' dtype=str, and `oocsolve fit` straight from the CSV keeps the rows and
names patsy keeps.

Refusals, each with the message and a caret under the cause: a column that pandas reads as
numbers (by the sample, or pinned) or as booleans (it never equals a string there), ordering
comparisons of texts, a bytes literal, a string compared with an expression, and a malformed
escape.
"""
import itertools
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import patsy

from patsyutil import (OOCSOLVE, caret_line, expect_error, ingest,  # noqa: E402
                       read_design, write_csv_with_missing)

NROWS = 34000       # more than the 32768 records of the sample block
LATE_ROW = 33200    # where g's text 'zz' first appears


def gen_csv(path, seed=5):
    rng = np.random.default_rng(seed)
    n = NROWS
    cols = {"y": ["%.17g" % v for v in rng.standard_normal(n) * 2 + 1],
            "x": ["%.17g" % v for v in rng.uniform(0, 6, n)],
            "a": ["%.17g" % v for v in rng.standard_normal(n)]}
    g = rng.choice(["u", "v", "w", "NAN", "u "], n).astype(object)  # 'NAN', 'u ': text in pandas
    g[LATE_ROW::89] = "zz"
    cols["g"] = list(g)
    cols["h"] = list(rng.choice(["é", "São Paulo", "it's", "lo"], n))
    cols["t"] = list(rng.choice(["1", "2", "3", " NA"], n))      # numbers + " NA": text
    cols["num"] = [str(v) for v in rng.integers(0, 3, n)]
    cols["flag"] = list(rng.choice(["True", "False"], n))
    missing = [("y", 0.01), ("x", 0.02), ("g", 0.05), ("h", 0.03), ("t", 0.02)]
    write_csv_with_missing(path, cols, missing, rng)


COMPARISONS = ["g == 'u'", "g != 'v'", "'w' == g", "g == 'zz'", "g == 'nope'", "g == 'NAN'",
               "g == 'u '", "Q('g') != 'w'", "h == 'é'", "h == '\\u00e9'", "h == 'S\\xe3o Paulo'",
               "h != \"it's\"", "t == '1'", "t == ' NA'", "g == ''"]

CONTEXTS = ["y ~ {c}", "y ~ I({c})", "y ~ C({c}, Sum)", "y ~ ({c}):x", "y ~ x*({c})",
            "y ~ 0 + ({c})", "y ~ I(({c}) & (x > 2))", "y ~ I(({c}) | (a < 0))", "y ~ I(~({c}))",
            "y ~ np.where({c}, x, a)", "y ~ I(({c}) * 1.5)", "y ~ ({c}):C(h)",
            "y ~ C({c}, levels=[True, False]) + a"]

MORE = ["y ~ I((g == 'u') | (g == 'v'))", "y ~ I((g == 'u') & (h != 'é') & (x < 4))",
        "y ~ (g == 'u'):(h == 'lo')", "y ~ (g == 'u') + (g != 'u')", "y ~ g + (g == 'u')",
        "y ~ C(g == 'zz', Treatment(True)):a", "y ~ np.logical_xor(g == 'u', t == '2')",
        "y ~ (g == 'u') - (g == 'u') + x", "I(2 * x + 1) ~ (h == 'lo') * (t != '3')",
        "y ~ I(('u' == g) ^ (x > 3))"]


def formulas():
    return [t.format(c=c) for c, t in itertools.product(COMPARISONS, CONTEXTS)] + MORE


def check(workdir, csv, df, formula, extra=()):
    r, out = ingest(workdir, csv, formula, extra=extra, quiet=True)
    if r.returncode != 0:
        return "oocsolve failed: " + r.stderr.strip()
    with np.errstate(all="ignore"):
        Y, X = patsy.dmatrices(formula, df, NA_action="drop", return_type="dataframe",
                               eval_env=patsy.EvalEnvironment([{"np": np}]))
    design = read_design(out, X)
    if isinstance(design, str):
        return design
    Xo, Yo, Xp = design
    same = Xo.view(np.int64) == Xp.view(np.int64)
    if not same.all():
        i = tuple(np.argwhere(~same)[0])
        return "X differs at %s (%s): %r vs patsy %r" % (i, X.columns[i[1]], Xo[i], Xp[i])
    if not np.array_equal(Yo.view(np.int64), Y.to_numpy(np.float64)[:, 0].view(np.int64)):
        return "Y differs"
    return None


def main():
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        csv = os.path.join(workdir, "data.csv")
        gen_csv(csv)
        df = pd.read_csv(csv)
        # what the data must hold for the cases to mean something
        assert str(df["t"].dtype) in ("str", "object") and "zz" not in set(df["g"][:32768])
        assert df["g"].isna().any() and (df["g"] == "NAN").any() and df["y"].isna().any()
        cases = formulas()
        for formula in cases:
            problem = check(workdir, csv, df, formula)
            if problem:
                print("FAIL %s" % formula)
                failures.append("%s: %s" % (formula, problem))
        # --dtype num=str: compared as pandas' dtype=str compares
        df_str = pd.read_csv(csv, dtype={"num": str})
        for formula in ["y ~ num == '1'", "y ~ I((num != '0') & (g == 'u'))"]:
            problem = check(workdir, csv, df_str, formula, extra=["--dtype", "num=str"])
            if problem:
                failures.append("--dtype num=str %s: %s" % (formula, problem))
        print("%d formulas compared with patsy" % (len(cases) + 2))
        # fit straight from the CSV keeps the rows patsy keeps (a missing g is no missing row)
        formula = "y ~ I((g == 'u') | (g == 'zz')) + x"
        r = subprocess.run([OOCSOLVE, "fit", csv, "-f", formula, "--json", "-q"],
                           capture_output=True, text=True)
        _, X = patsy.dmatrices(formula, df, NA_action="drop", return_type="dataframe")
        fit = json.loads(r.stdout) if r.returncode == 0 else {}
        if fit.get("nobs") != len(X) or fit.get("names") != list(X.columns):
            failures.append("fit %s: %s %s vs patsy %d %s" % (
                formula, fit.get("nobs"), fit.get("names"), len(X), list(X.columns)) +
                (" " + r.stderr.strip() if r.returncode else ""))

        def refused(formula, text, start, length, extra=()):
            return expect_error(workdir, csv, formula, [text, caret_line(formula, start, length)],
                                extra=extra, quiet=True)

        errors = [
            refused("y ~ num == '1'", "pandas reads column 'num' as numbers", 4, 10),
            refused("y ~ x + (x != 'a')", "this would be True in every row", 9, 8),
            refused("y ~ C(num == '1')", "as numbers (--dtype)", 6, 10,
                    extra=["--dtype", "num=float"]),
            refused("y ~ flag == 'True'", "pandas reads column 'flag' as booleans", 4, 14),
            refused("y ~ g < 'v'", "only == and != compare texts", 6, 1),
            refused("y ~ I('v' >= g)", "only == and != compare texts", 10, 2),
            refused("y ~ g == b'u'", "a bytes literal never equals a text", 9, 4),
            refused("y ~ I(x + 1 == 'u')", "a string compares only with a column of texts", 12, 2),
            refused("y ~ I(g == 'u' + 'v')", "unexpected token '+'", 15, 1),
            refused("y ~ np.log('u')", "a string is supported only as a level", 11, 3),
            refused("y ~ g == '\\x7'", "bad escape in a string literal", 9, 5),
        ]
        failures += [e for e in errors if e]
    if failures:
        print("\n".join(failures), file=sys.stderr)
        print("%d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("%d formulas and %d error cases agree with patsy" % (len(cases) + 2, len(errors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

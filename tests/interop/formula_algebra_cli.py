#!/usr/bin/env python3
"""formula_algebra_cli.py — patsy's term algebra on operator chains, through `oocsolve ingest`.

The formula evaluator walks chains of operators at one level (a + b - c:d * e ...) in a loop
and keeps term lists in hash sets (removals mark terms, re-additions append them anew).  These
formulas check that the result is still patsy's, term for term and column for column: removals
and re-additions, intercept handling along a chain, nesting, interactions and '/' inside chains,
long chains, and factors used only by removed terms (patsy never evaluates those, so a missing
value in them drops no row).  Compared with patsy.dmatrices by interop_patsy.check_formula
(names, X bit for bit, Y).
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_patsy  # noqa: E402  (the oracle comparison, shared)
import pandas as pd  # noqa: E402

LONG_SUM = " + ".join(["a", "b", "c", "d", "a:b", "s1", "c:s1", "flag"] * 12)
FORMULAS = [
    "y ~ a + b - a + a",
    "y ~ a + b + c - (a + b) + a:b",
    "y ~ a + b - 1 - b + b",
    "y ~ (a + b) - 1 + 0 - 0",
    "y ~ + a + - 1",
    "y ~ (a - a) + b",
    "y ~ a*b - a*b + a",            # b only in removed terms: its missing values drop no row
    "y ~ a + b:c - b:c",
    "y ~ a:b:c:d + a",
    "y ~ a*b*c*d - a:b:c:d",
    "y ~ a * b * c / d",
    "y ~ (a + b)/(c + d)",
    "y ~ C(cat1)/a - 1 + b",
    "y ~ a + (b + (c + (d + s1)))",
    "y ~ (a + b + c)**2 - a:b + b:a",
    "y ~ a:s1 + b:s1 + c:s2 + s1:s2 + a:b:s1",
    "y ~ 0 + a + s1 + s2 + a:s1 + b + b:s2 + 1",
    "y ~ s1:s2:flag + s1 + s2:flag",
    "y ~ C(cat1, Sum):s1 + C(cat1, Sum)",
    "y ~ " + LONG_SUM,
    "y ~ " + LONG_SUM + " - a - c:s1 + c:s1 - 1",
    "y ~ " + " + ".join("a:b:c" if k % 2 else "c:b:a" for k in range(60)) + " + d",
]


def main():
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        csv = os.path.join(workdir, "data.csv")
        interop_patsy.gen_csv(csv, 1000)
        df = pd.read_csv(csv)
        for formula in FORMULAS:
            problem = interop_patsy.check_formula(workdir, csv, df, formula, {})
            print("%-4s %.100s" % ("ok" if problem is None else "FAIL", formula))
            if problem:
                failures.append("%.100s: %s" % (formula, problem))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1
    print("%d formulas agree with patsy" % len(FORMULAS))
    return 0


if __name__ == "__main__":
    sys.exit(main())

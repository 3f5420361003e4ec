"""python_formula_vars.py — names in a formula (C(g, levels=lnames)) resolved as patsy's eval_env.

Run by the python_package test venv's Python (the installed wheel).  Checks: categorical levels
from a local list (non-sorted order, one level absent from the data) give the params and names
of the same formula with the list written inline, and of patsy + statsmodels (names equal,
numbers to 1e-9 relative: κ(X) is small, as in python_package.py); ols/svd/ingest on a CSV path
and on a DataFrame; globals, eval_env=1 and an explicit vars= (which wins over the frame);
string levels with quotes and backslashes round-trip; an unknown name is the library's formula
error (oocsolve.Error, OOC_ERR_FORMULA); a value that cannot be passed is a TypeError naming it.
"""
import os
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd

RTOL = 1e-9
FORMULA = "y ~ 0 + a + b + C(cat1, Treatment, levels=lnames)"
INLINE = "y ~ 0 + a + b + C(cat1, Treatment, levels=['q', 'o\\'k', 'p\\\\q', 'absent', 'm'])"
LEVELS = ["q", "o'k", "p\\q", "absent", "m"]
glevels = ["m", "q", "p\\q", "o'k", "absent"]     # found through the module's globals
failures = []


def check(label, ok, detail=""):
    if not ok:
        failures.append(f"{label} {detail}")


def same_fit(label, res, names, params):
    """res has these names and params, but for the level absent from the data: its column of X
    is zero, so oocsolve reports it aliased (NaN) where statsmodels' pinv gives ~0."""
    check(f"{label} names", list(res.params.index) == list(names),
          f"{list(res.params.index)} != {list(names)}")
    if list(res.params.index) != list(names):
        return
    got, want = res.params.to_numpy(), np.asarray(params, dtype=float)
    absent = np.array([name.endswith("[absent]") for name in names])
    check(f"{label} absent level aliased", np.all(np.isnan(got[absent])) and
          np.all(np.abs(want[absent]) < 1e-12), f"{got[absent]} vs {want[absent]}")
    check(f"{label} params", np.allclose(got[~absent], want[~absent], rtol=RTOL, atol=0.0),
          f"{got} != {want}")


def frame(rng, n=300):
    cat1 = rng.choice([v for v in LEVELS if v != "absent"], size=n)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.uniform(-1, 1, size=n), "cat1": cat1})
    df["y"] = 1 + df.a - 2 * df.b + (df.cat1 == "m") * 0.5 + rng.normal(size=n)
    return df


def fit_with_local(oocsolve, data):
    lnames = LEVELS                 # looked up in this frame # noqa: F841
    return oocsolve.ols(FORMULA, data, device="cpu")


def fit_one_up(oocsolve, data):
    lnames = ["never used"]         # eval_env=1 skips this frame # noqa: F841
    return oocsolve.ols(FORMULA.replace("lnames", "glevels"), data, device="cpu", eval_env=1)


def main():
    import oocsolve
    import patsy
    import statsmodels.api as sm
    # the absent level's column of X is zero: both libraries warn about the rank deficiency
    warnings.filterwarnings("ignore", "Rank deficient|The smallest eigenvalue|The design matrix")
    df = frame(np.random.default_rng(21))
    lnames = LEVELS
    y, X = patsy.dmatrices(FORMULA, df, eval_env=0, return_type="dataframe")
    ref = sm.OLS(y, X).fit()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.csv")
        df.to_csv(path, index=False)
        same_fit("csv local", fit_with_local(oocsolve, path), ref.params.index, ref.params)
        same_fit("frame local", fit_with_local(oocsolve, df), ref.params.index, ref.params)
        yi, Xi = patsy.dmatrices(INLINE, df, return_type="dataframe")
        inline = oocsolve.ols(INLINE, path, device="cpu")
        same_fit("inline", inline, Xi.columns, ref.params)   # same numbers as with lnames

        for kind, value in (("tuple", tuple(LEVELS)), ("numpy", np.array(LEVELS)),
                            ("Index", pd.Index(LEVELS))):
            same_fit(f"vars {kind}", oocsolve.ols(FORMULA, df, device="cpu",
                                                  vars={"lnames": value}),
                     ref.params.index, ref.params)

        # explicit vars= wins over the frame's lnames; globals; eval_env=1
        other = list(reversed(LEVELS))
        yo, Xo = patsy.dmatrices(FORMULA, df, eval_env=patsy.EvalEnvironment([{"lnames": other}]),
                                 return_type="dataframe")
        ref_other = sm.OLS(yo, Xo).fit()
        same_fit("vars override", oocsolve.ols(FORMULA, path, device="cpu",
                                               vars={"lnames": other}),
                 ref_other.params.index, ref_other.params)
        gformula = FORMULA.replace("lnames", "glevels")
        yg, Xg = patsy.dmatrices(gformula, df, eval_env=0, return_type="dataframe")
        ref_g = sm.OLS(yg, Xg).fit()
        same_fit("globals", oocsolve.ols(gformula, path, device="cpu"), ref_g.params.index,
                 ref_g.params)
        same_fit("eval_env=1", fit_one_up(oocsolve, path), ref_g.params.index, ref_g.params)

        # svd and ingest see the same columns
        s = oocsolve.svd(path, formula=FORMULA, device="cpu")
        check("svd names", s.names == list(ref.params.index), f"{s.names}")
        want = np.linalg.svd(X.to_numpy(), compute_uv=False)
        check("svd values", np.allclose(s.s, want, rtol=RTOL, atol=RTOL * want[0]),
              f"{s.s} != {want}")
        stats = oocsolve.ingest(path, FORMULA, os.path.join(tmp, "out.h5"))
        check("ingest ncols", stats["ncols"] == X.shape[1], f"{stats}")
        same_fit("ingested", oocsolve.ols(None, os.path.join(tmp, "out.h5"), device="cpu"),
                 ref.params.index, ref.params)

        # errors: an unknown name; values that cannot be passed
        try:
            oocsolve.ols(FORMULA.replace("lnames", "nowhere"), path, device="cpu")
            check("unknown name raises", False)
        except oocsolve.Error as e:
            check("unknown name status", e.status == "OOC_ERR_FORMULA", str(e))
            check("unknown name message", "nowhere" in e.message, e.message)
        for label, value in (("numpy ints", np.array([1, 2])), ("nan", [1.0, float("nan")]),
                             ("not a list", "abc")):
            try:
                oocsolve.ols(FORMULA, path, device="cpu", vars={"lnames": value})
                check(f"{label} raises", False)
            except TypeError as e:
                check(f"{label} names the variable", "lnames" in str(e), str(e))
        lnames = np.array([1, 2])   # captured, inexpressible: TypeError once the formula needs it
        try:
            oocsolve.ols(FORMULA, path, device="cpu")
            check("captured numpy ints raise", False)
        except TypeError as e:
            check("captured numpy ints name the variable", "lnames" in str(e), str(e))
        a = np.zeros(3)             # a local shadowing a data column is not an error # noqa: F841
        same_fit("shadowed column", oocsolve.ols(FORMULA, path, device="cpu",
                                                 vars={"lnames": LEVELS}),
                 ref.params.index, ref.params)
    for failure in failures:
        print("FAIL", failure)
    print(f"python_formula_vars: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

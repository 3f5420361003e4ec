#!/usr/bin/env python3
"""interop_patsy_transforms.py — patsy's stateful transforms (center, standardize, scale, bs, cr,
cc) through `oocsolve ingest`, against patsy.

Data: 40,000 rows (more than the 32,768 records of the block whose types are inferred, so the
memorize pass spans several blocks), x with 3% missing values in pandas' spellings, z uniform,
`a` integer ages (many ties: quantiles land on repeated values), w with few distinct values (cr's
quantiles of distinct values), y with missing values of its own, g categorical.

The reference.  patsy memorizes a transform over every row of the data, also rows later dropped
for another variable's missing value; a missing value of the transform's own argument makes
patsy learn NaN and drop every row, where oocsolve leaves such values out of what it learns and
says so.  So patsy's state is learned with its incremental builder on the rows where x (the only
transform argument with missing values) is present, and the design is built on the whole frame
with NA_action='drop': that is oocsolve's rule, and where x has no missing value (the formulas
on z, a, w) it is patsy's dmatrices exactly.

Each formula (transforms × contexts: alone, without intercept, interacting with a categorical
and a numeric, next to Sum-coded g) must give patsy's column names and X bit for bit, except
where patsy's own arithmetic differs in rounding (tolerances derived in crs_tolerance):
cr/cc with constraints='center' (numpy's float64 pairwise column means and BLAS dot products
against our long double means and plain sums) and cc (numpy.linalg.solve's LU through its own
BLAS).

C() of a numeric expression with its levels given (np.floor, a division, np.minimum, a
difference, under Treatment, Sum, Helmert and Diff) equals patsy's dmatrices bit for bit.

Then: a second file built with --transforms-from the first equals patsy's
build_design_matrices with the first file's design info on the second data; fit over both files
is refused when the second learned its own knots and accepted with --transforms-from; the
learned state is in /X's attribute as JSON; a spline value outside the learned knots, bad
arguments, nested transforms, a spline inside an expression and a spline response are refused
with the message a user needs; fit straight from the CSV gives the same estimates as fit on the
ingested file.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
import patsy

from patsyutil import OOCSOLVE, ingest, read_design, write_csv_with_missing  # noqa: E402
from patsyutil import expect_error as refused  # noqa: E402

NROWS = 40000
EPS = 2.0 ** -53

TRANSFORMS = [
    "center(x)", "center(z ** 2 + 1)", "standardize(x)", "scale(z, ddof=1)",
    "standardize(a, center=False)", "standardize(x, rescale=False)", "scale(w, True, True, 2)",
    "bs(z, df=5)", "bs(x, df=4, degree=2)", "bs(a, df=6, include_intercept=True)",
    "bs(z, knots=[2, 5, 7])", "bs(z, df=4, lower_bound=-1, upper_bound=11)", "bs(w, df=5)",
    "bs(x, 3, degree=1)", "bs(np.sqrt(z), df=4)",
    "cr(z, df=5)", "cr(x, df=4)", "cr(a, df=6)", "cr(w, df=4)", "cc(z, df=4)", "cc(x, df=6)",
    "cr(z, df=4, constraints='center')", "cc(a, df=5, constraints='center')",
    "cr(z, knots=[3, 6], lower_bound=0, upper_bound=10)",
]
# C() of a numeric expression, with its levels given (their names would otherwise follow
# pandas' dtypes), against patsy's dmatrices on every row
CATEGORICAL_EXPRESSIONS = [
    "y ~ C(np.floor(z), levels=range(10))",
    "y ~ C(np.floor(z / 2), Sum, levels=[0, 1, 2, 3, 4])",
    "y ~ C(np.minimum(a, 30), levels=range(18, 31)):z",
    "y ~ 0 + C(a - 18, Helmert, levels=list(range(72)))",
    "y ~ C(np.ceil(w), Diff, levels=[1, 2, 3, 4, 8]) + x",
]
CONTEXTS = ["y ~ {t}", "y ~ 0 + {t}", "y ~ {t}:g", "y ~ {t} * g", "y ~ C(g, Sum) + {t}",
            "y ~ {t}:a + z"]


def gen_data(path, seed=5, n=NROWS, z_hi=10.0):
    rng = np.random.default_rng(seed)

    def num(v):
        return "%.17g" % v

    cols = {"y": [num(v) for v in rng.standard_normal(n)],
            "x": [num(v) for v in rng.standard_normal(n) * 2 + 1],
            "z": [num(v) for v in rng.uniform(0, z_hi, n)],
            "a": [str(v) for v in rng.integers(18, 90, n)],
            "w": [num(v) for v in rng.choice([0.5, 1.5, 2.0, 3.25, 4.0, 7.5], n)],
            "g": list(rng.choice(["p", "q", "r"], n))}
    write_csv_with_missing(path, cols, [("x", 0.03), ("y", 0.01)], rng)


def memo_frame(formula, df):
    """The rows patsy memorizes on to learn what oocsolve learns: without x's missing values
    when a transform reads x (the only transform argument with missing values; no formula here
    has transforms of x and of another column both), else every row."""
    return df[df.x.notna()] if re.search(r"\bx\b", formula) else df


def design_infos(formula, memo):
    """patsy's design infos after memorizing on the frame `memo`."""
    return patsy.incr_dbuilders(formula, lambda: iter([memo]),
                                eval_env=patsy.EvalEnvironment([{"np": np}]))


def build(infos, df):
    Y, X = patsy.build_design_matrices(list(infos), df, NA_action="drop", return_type="dataframe")
    return Y, X


def free_crs_bound(formula, df):
    """S = max over rows of sum_i |unconstrained basis_i|, k = its columns, for the formula's
    one cr()/cc() call (patsy's own helper on the knots patsy learned)."""
    from patsy.mgcv_cubic_splines import _get_free_crs_dmatrix
    column = re.search(r"c[rc]\((\w+)", formula).group(1)
    infos = design_infos(formula, memo_frame(formula, df))
    for info in infos[1].factor_infos.values():
        for obj in (info.state.get("transforms") or {}).values():
            if hasattr(obj, "_cyclic"):
                dm = _get_free_crs_dmatrix(df[column].dropna().to_numpy(), obj._all_knots,
                                           obj._cyclic)
                return float(np.max(np.sum(np.abs(dm), axis=1))), dm.shape[1]
    raise AssertionError("no cr/cc state in " + formula)


def crs_tolerance(formula, df):
    """Allowed |difference| for cr/cc columns that patsy computes through BLAS/LAPACK:
      * constraints='center': X = dm · Q[:, 1:], Q from the QR of the column means c of dm.  The
        dot product of k terms differs by at most k·ε·Σ|dm_i||q_ij| <= k·ε·S (|q| <= 1).  The
        means differ by at most log2(n)·ε·Σ|dm|/n (numpy's pairwise float64 sum against our long
        double one) <= log2(n)·ε·S; the basis of natural cubic splines sums to about 1 in each
        row, so |c| >= 1/sqrt(k) and Householder's Q moves by at most 2·|δc|/|c| <=
        2·log2(n)·sqrt(k)·ε·S, times S for X.
      * cc: F = B⁻¹D by LU; B is diagonally dominant (diagonal (h_{i-1}+h_i)/3 against
        off-diagonals summing to (h_{i-1}+h_i)/6), so cond(B) <= 3 and F moves by at most
        3·k·ε·|F|, which the basis multiplies by |c_jm| + |c_jp| <= S.
    Bound: 4·(k + 2·log2(n)·sqrt(k) + 3k)·ε·S (a factor 4 for the remaining roundings)."""
    s, k = free_crs_bound(formula, df)
    n = len(df)
    return 4 * (k + 2 * np.log2(n) * np.sqrt(k) + 3 * k) * EPS * max(s, 1.0)


def compare(workdir, csv, df, formula, extra=(), infos=None):
    r, out = ingest(workdir, csv, formula, extra=extra, quiet=True)
    if r.returncode != 0:
        return "oocsolve failed: " + r.stderr.strip(), None
    if infos is None:
        infos = design_infos(formula, memo_frame(formula, df))
    Y, X = build(infos, df)
    design = read_design(out, X)
    if isinstance(design, str):
        return design, None
    Xo, Yo, Xp = design
    tol = 0.0
    if "constraints" in formula or "cc(" in formula:
        # an interaction multiplies the basis by a (exactly, up to one rounding)
        tol = crs_tolerance(formula, df) * (df.a.max() if ":a" in formula else 1.0)
    same = (Xo.view(np.int64) == Xp.view(np.int64)) | (np.abs(Xo - Xp) <= tol)
    if not same.all():
        i = tuple(np.argwhere(~same)[0])
        return ("X differs at %s (%s): %r vs patsy %r (tolerance %g)"
                % (i, X.columns[i[1]], Xo[i], Xp[i], tol)), None
    if not np.array_equal(Yo, Y.to_numpy(np.float64)[:, 0]):
        return "Y differs", None
    return None, out


def transforms_attr(path):
    with h5py.File(path, "r") as h5:
        text = h5["X"].attrs["oocsolve_transforms"]
    return json.loads(text.decode() if isinstance(text, bytes) else text)


def check_second_file(workdir, csv, df, failures):
    """A second file built with the first's state, fitted together with the first."""
    formula = "y ~ bs(z, df=5) + center(a) + cr(a, df=4, constraints='center') + scale(z)"
    err, first = compare(workdir, csv, df, formula)
    if err:
        failures.append(formula + ": " + err)
        return
    first_path = os.path.join(workdir, "first.h5")
    os.replace(first, first_path)
    state = transforms_attr(first_path)
    calls = [t["call"] for t in state["transforms"]]
    if calls != ["bs(z, df=5)", "center(a)", "cr(a, df=4, constraints='center')", "scale(z)"]:
        failures.append("stored transforms: %r" % calls)
    knots = state["transforms"][0]["knots"]
    zs = df.z.to_numpy()
    # df=5, degree 3, no intercept: 5 - 4 + 1 = 2 inner knots, at patsy's quantiles 1/3, 2/3
    inner = np.percentile(zs, 100 * np.linspace(0, 1, 4)[1:-1])
    want = np.concatenate([[zs.min()] * 4, inner, [zs.max()] * 4])
    if not np.array_equal(np.sort(want), knots):
        failures.append("bs knots %r != numpy's percentiles %r" % (knots, np.sort(want)))
    csv2 = os.path.join(workdir, "second.csv")
    gen_data(csv2, seed=9, n=5000, z_hi=9.0)   # inside the first file's range
    df2 = pd.read_csv(csv2)
    infos = design_infos(formula, df)
    err, second = compare(workdir, csv2, df2, formula, extra=["--transforms-from", first_path],
                          infos=infos)
    if err:
        failures.append("--transforms-from: " + err)
        return
    second_path = os.path.join(workdir, "second.h5")
    os.replace(second, second_path)
    fit = subprocess.run([OOCSOLVE, "fit", first_path, second_path, "-q"], capture_output=True,
                         text=True)
    if fit.returncode != 0:
        failures.append("fit of both files refused: " + fit.stderr.strip())
    r, own = ingest(workdir, csv2, formula, quiet=True)
    own_path = os.path.join(workdir, "own.h5")
    os.replace(own, own_path)
    fit = subprocess.run([OOCSOLVE, "fit", first_path, own_path], capture_output=True, text=True)
    if fit.returncode == 0 or "--transforms-from" not in fit.stderr:
        failures.append("fit of files with different knots not refused: " + fit.stderr.strip())
    # a value beyond the learned knots: patsy refuses, so does oocsolve (naming the line)
    csv3 = os.path.join(workdir, "wide.csv")
    gen_data(csv3, seed=3, n=200, z_hi=12.0)
    problem = refused(workdir, csv3, formula, ["bs(z, df=5)", "outside the knots", "line "],
                      extra=["--transforms-from", first_path])
    if problem:
        failures.append(problem)
    problem = refused(workdir, csv2, formula.replace("df=5", "df=4"),
                      ["holds what 'bs(z, df=5)' learned", "calls 'bs(z, df=4)'"],
                      extra=["--transforms-from", first_path])
    if problem:
        failures.append(problem)


def check_errors(workdir, csv, failures):
    cases = [
        ("y ~ bs(x)", ["give df or knots"]),
        ("y ~ bs(x, df=2)", ["df=2 is too small for degree=3"]),
        ("y ~ cr(x, df=1)", ["'df'=1 must be greater than or equal to 2"]),
        ("y ~ I(bs(x, df=4))", ["a spline gives several columns"]),
        ("y ~ center(center(x))", ["inside another one's argument"]),
        ("y ~ cr(z, df=4, constraints='mean')", ["only constraints='center'"]),
        ("bs(z, df=4) ~ x", ["not a spline"]),
        ("y ~ center(x, ddof=1)", ["unknown keyword argument"]),
        ("y ~ bs(x, df=4, df=5)", ["argument given twice"]),
        ("y ~ bs(z, knots=[-5, 2])", ["outside"]),
        ("y ~ bs(z, df=4, upper_bound=-1)", ["has lower_bound > upper_bound"]),
        ("y ~ cr(z, df=4, lower_bound=20)", ["has lower_bound > upper_bound"]),
        ("y ~ standardize(z > 1)", ["needs numbers, not booleans"]),
        ("y ~ te(cr(x, df=3), cr(z, df=3))", ["te() tensor-product smooths are not supported"]),
        ("y ~ C(np.floor(z))", ["needs its levels as numbers"]),
        ("y ~ C(np.floor(z), levels=['a'])", ["needs its levels as numbers"]),
        ("y ~ C(np.floor(z), levels=[0, 1])", ["which is not among the given levels",
                                               "line "]),
    ]
    for formula, must in cases:
        problem = refused(workdir, csv, formula, must)
        if problem:
            failures.append(problem)
    const = os.path.join(workdir, "const.csv")
    with open(const, "w") as f:
        f.write("y,c\n" + "".join("%d,2.5\n" % i for i in range(50)))
    problem = refused(workdir, const, "y ~ standardize(c)", ["same value in every row"])
    if problem:
        failures.append(problem)
    problem = refused(workdir, const, "y ~ c", ["holds what 4 stateful transforms learned"],
                      extra=["--transforms-from", os.path.join(workdir, "first.h5")])
    if problem:
        failures.append(problem)
    plain = os.path.join(workdir, "plain.h5")
    subprocess.run([OOCSOLVE, "ingest", const, "-f", "y ~ c", "-o", plain, "-q"], check=True)
    problem = refused(workdir, const, "y ~ center(c)", ["holds nothing"],
                      extra=["--transforms-from", plain])
    if problem:
        failures.append(problem)


def check_note_and_csv_fit(workdir, csv, failures):
    formula = "y ~ bs(x, df=4) + g"
    r, out = ingest(workdir, csv, formula)
    if r.returncode != 0 or "left out" not in r.stderr or "patsy would learn NaN" not in r.stderr:
        failures.append("no note about x's missing values: " + r.stderr.strip())
        return
    a = subprocess.run([OOCSOLVE, "fit", out, "--json"], capture_output=True, text=True)
    b = subprocess.run([OOCSOLVE, "fit", csv, "-f", formula, "--json"], capture_output=True,
                       text=True)
    if a.returncode or b.returncode:
        failures.append("fit failed: " + a.stderr + b.stderr)
        return
    pa = np.array(json.loads(a.stdout)["params"])
    pb = np.array(json.loads(b.stdout)["params"])
    # The same rows in other blocks: two backward-stable QR fits of one X differ by at most
    # about cond(X)·p·ε relative to |β| (each is the exact fit of X + δX, |δX| <= p·ε·|X|).
    with h5py.File(out, "r") as h5:
        cond = np.linalg.cond(h5["X"][...])
    tol = 8 * len(pa) * cond * EPS * np.max(np.abs(pa))
    if np.max(np.abs(pa - pb)) > tol:
        failures.append("fit from the CSV %r != fit from the ingested file %r (tolerance %g)"
                        % (pb, pa, tol))


def main():
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        csv = os.path.join(workdir, "data.csv")
        gen_data(csv)
        df = pd.read_csv(csv)
        count = 0
        for t in TRANSFORMS:
            for context in CONTEXTS:
                formula = context.format(t=t)
                err, _ = compare(workdir, csv, df, formula)
                count += 1
                if err:
                    failures.append("%s: %s" % (formula, err))
        for formula in CATEGORICAL_EXPRESSIONS:
            err, _ = compare(workdir, csv, df, formula)
            count += 1
            if err:
                failures.append("%s: %s" % (formula, err))
        check_second_file(workdir, csv, df, failures)
        check_errors(workdir, csv, failures)
        check_note_and_csv_fit(workdir, csv, failures)
    for f in failures:
        print("FAIL", f)
    print("%d formulas against patsy; %d failures" % (count, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

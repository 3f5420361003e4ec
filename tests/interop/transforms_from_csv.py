#!/usr/bin/env python3
"""transforms_from_csv.py — `oocsolve fit|svd|glm NEW.csv -f FORMULA --transforms-from FIRST.h5`:
the formula's stateful transforms (center, standardize, bs) use what they learned when FIRST.h5
was ingested, straight from the CSV (ooc_source_options.transforms_from), against the two
independent routes to the same design:
  * `oocsolve ingest NEW.csv --transforms-from FIRST.h5` then fit / svd of that file;
  * patsy's build_design_matrices with the first data's design info on the new data, fitted by
    statsmodels (OLS, GLM logit with an offset) and numpy (singular values).
Then the errors: a value beyond the learned knots names the CSV and its line; an HDF5 input with
the option is refused (it holds its design); a formula without stateful transforms, and a file
that holds none, are refused as ingest refuses them; --u-out may not overwrite the
--transforms-from file.  A first file without /Y (a formula without a response) serves svd.

Tolerances (lsq_bounds.py's notation: γ = (p·√n + 3)·ε, ε_A = √p·γ, κ = cond(X) by numpy):
  * CSV route vs ingested file: the same rows of the same X in other blocks; two backward-stable
    QR fits of one X differ by at most about cond(X)·p·ε relative to |β| (each is the exact fit of
    X + δX with |δX| <= p·ε·|X|): 8·p·κ·ε·max|β|, as interop_patsy_transforms.py allows.
  * OLS vs statsmodels: each within eta_beta(n, p, κ, tan θ)·‖β‖ of the exact β (Higham Thm
    20.1), so their sum for two implementations.
  * singular values: each implementation within ε_A·σmax of the exact ones (Weyl), so 2·ε_A·σmax
    between any two of the three.
  * GLM: glm_statsmodels.compare, whose REL = 1e-8 is checked there to be 100× above the
    first-order bound of the last IRLS solve.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
import statsmodels.api as sm

from cliutil import check, exit_status
from glm_statsmodels import compare as glm_compare
from interop_patsy_transforms import build, design_infos
from lsq_bounds import EPS, eta_beta
from patsyutil import OOCSOLVE, expect_error

FORMULA = "y ~ bs(z, df=5) + center(a) + standardize(w) + x + C(g)"
GLM_FORMULA = "yb ~ bs(z, df=4) + center(a) + x"


def write_data(path, n, seed, z_hi):
    """n rows: z uniform on [0, z_hi) (the first file's knots span [0, 10)), a integer ages, w
    few distinct values, g categorical, x and y normal with 2% and 1% missing (plain columns, so
    patsy memorizes the transforms on every row, as oocsolve does), yb a logit draw on them, off
    an offset.  Returns the frame as pandas reads the file back."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"z": rng.uniform(0, z_hi, n), "a": rng.integers(18, 90, n),
                      "w": rng.choice([0.5, 1.5, 2.0, 3.25, 7.5], n),
                      "g": rng.choice(["p", "q", "r"], n), "x": rng.standard_normal(n)})
    d["y"] = np.sin(d.z) + 0.02 * d.a + 0.3 * d.x + rng.standard_normal(n)
    d["off"] = rng.uniform(-0.3, 0.3, n)
    eta = 0.5 * np.sin(d.z) + 0.01 * (d.a - 50) + 0.4 * d.x + d.off
    d["yb"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    d.loc[rng.choice(n, n // 50, replace=False), "x"] = np.nan
    d.loc[rng.choice(n, n // 100, replace=False), "y"] = np.nan
    d.to_csv(path, index=False)
    return pd.read_csv(path)


def run(args):
    return subprocess.run([OOCSOLVE] + args, capture_output=True, text=True)


def run_json(args):
    """oocsolve args --json -q: the parsed report, or None (failure recorded)."""
    r = run(args + ["--json", "-q"])
    check(r.returncode == 0, f"oocsolve {' '.join(args)}: {r.stderr.strip()}")
    return json.loads(r.stdout) if r.returncode == 0 else None


def near(what, got, want, tol):
    got, want = np.asarray(got, float), np.asarray(want, float)
    d = float(np.max(np.abs(got - want)))
    check(got.shape == want.shape and d <= tol,
          f"{what}: {got} vs {want}: max |diff| {d:.3g} > {tol:.3g}")


def check_ols_svd(work, first, new_csv, df1, df2):
    tf = ["--transforms-from", first]
    second = os.path.join(work, "second.h5")
    r = run(["ingest", new_csv, "-f", FORMULA, "-o", second, "-q"] + tf)
    check(r.returncode == 0, f"ingest --transforms-from: {r.stderr.strip()}")
    Y, X = build(design_infos(FORMULA, df1), df2)
    Xp, yp = X.to_numpy(np.float64), Y.to_numpy(np.float64)[:, 0]
    n, p = Xp.shape
    kappa = float(np.linalg.cond(Xp))

    csv_fit = run_json(["fit", new_csv, "-f", FORMULA] + tf)
    h5_fit = run_json(["fit", second])
    if csv_fit and h5_fit:
        check(csv_fit["names"] == list(X.columns) == h5_fit["names"],
              f"names {csv_fit['names']} / {h5_fit['names']} vs patsy {list(X.columns)}")
        check(csv_fit["nobs"] == n == h5_fit["nobs"], f"nobs {csv_fit['nobs']} vs {n}")
        beta = np.asarray(h5_fit["params"])
        near("fit from the CSV vs the ingested file", csv_fit["params"], beta,
             8 * p * kappa * EPS * np.max(np.abs(beta)))
        ref = sm.OLS(yp, Xp).fit()
        tan = float(np.linalg.norm(ref.resid) / np.linalg.norm(Xp @ ref.params))
        near("fit from the CSV vs statsmodels", csv_fit["params"], ref.params,
             2 * eta_beta(n, p, kappa, tan) * np.linalg.norm(ref.params))

    csv_svd = run_json(["svd", new_csv, "-f", FORMULA] + tf)
    h5_svd = run_json(["svd", second])
    if csv_svd and h5_svd:
        s_ref = np.linalg.svd(Xp, compute_uv=False)
        tol = 2 * math.sqrt(p) * (p * math.sqrt(n) + 3) * EPS * s_ref[0]
        near("svd from the CSV vs the ingested file", csv_svd["singular_values"],
             h5_svd["singular_values"], tol)
        near("svd from the CSV vs numpy", csv_svd["singular_values"], s_ref, tol)

    # a first file of a formula without a response (no /Y) serves as well
    rhs = FORMULA.split("~")[1]
    no_y = os.path.join(work, "first_no_y.h5")
    r = run(["ingest", os.path.join(work, "first.csv"), "-f", "~" + rhs, "-o", no_y, "-q"])
    check(r.returncode == 0, f"ingest without a response: {r.stderr.strip()}")
    rhs_svd = run_json(["svd", new_csv, "-f", "~" + rhs, "--transforms-from", no_y])
    if rhs_svd:
        # every row (y's missing values drop none here), against patsy on the same knots
        Xr = build(design_infos("y ~" + rhs, df1), df2.assign(y=0.0))[1].to_numpy(np.float64)
        s_ref = np.linalg.svd(Xr, compute_uv=False)
        near("svd of a formula without a response", rhs_svd["singular_values"], s_ref,
             2 * math.sqrt(p) * (p * math.sqrt(len(Xr)) + 3) * EPS * s_ref[0])
    return second


def check_glm(work, first_csv, new_csv, df1, df2):
    first = os.path.join(work, "first_glm.h5")
    r = run(["ingest", first_csv, "-f", GLM_FORMULA, "-o", first, "-q"])
    check(r.returncode == 0, f"ingest of the GLM formula: {r.stderr.strip()}")
    got = run_json(["glm", new_csv, "-f", GLM_FORMULA, "--family", "binomial", "--offset", "off",
                    "--transforms-from", first])
    if not got:
        return
    Y, X = build(design_infos(GLM_FORMULA, df1), df2)
    res = sm.GLM(Y.iloc[:, 0], X, family=sm.families.Binomial(),
                 offset=df2.off.loc[X.index]).fit()
    glm_compare("glm --transforms-from", got, res)


def check_errors(work, first, second_h5):
    tf = ["--transforms-from", first]
    wide = os.path.join(work, "wide.csv")
    write_data(wide, 400, 3, 12.0)        # z beyond the first file's largest value
    for command, formula, extra in (("fit", FORMULA, []), ("svd", FORMULA, []),
                                    ("glm", GLM_FORMULA, ["--family", "binomial"])):
        source = first if command != "glm" else os.path.join(work, "first_glm.h5")
        problem = expect_error(work, wide, formula,
                               [wide + ", line ", "outside the knots"],
                               extra=extra + ["--transforms-from", source], command=command)
        check(problem is None, f"{command} beyond the knots: {problem}")
    r = run(["fit", second_h5] + tf)
    check(r.returncode == 1 and "is an HDF5 file, which holds its design already" in r.stderr,
          f"HDF5 input with --transforms-from: {r.returncode} {r.stderr.strip()}")
    new_csv = os.path.join(work, "new.csv")
    problem = expect_error(work, new_csv, "y ~ x + C(g)",
                           ["holds what 3 stateful transforms learned", "has 0"], extra=tf,
                           command="fit")
    check(problem is None, f"formula without transforms: {problem}")
    plain = os.path.join(work, "plain.h5")
    r = run(["ingest", new_csv, "-f", "y ~ x", "-o", plain, "-q"])
    check(r.returncode == 0, f"plain ingest: {r.stderr.strip()}")
    problem = expect_error(work, new_csv, FORMULA, ["holds nothing"],
                           extra=["--transforms-from", plain], command="svd")
    check(problem is None, f"a file without transforms: {problem}")
    with open(first, "rb") as f:
        before = f.read()
    r = run(["svd", new_csv, "-f", FORMULA, "--u-out", first] + tf)
    with open(first, "rb") as f:
        check(r.returncode == 2 and "--transforms-from" in r.stderr and f.read() == before,
              f"--u-out onto --transforms-from: {r.returncode} {r.stderr.strip()}")


def main():
    with tempfile.TemporaryDirectory() as work:
        first_csv, new_csv = os.path.join(work, "first.csv"), os.path.join(work, "new.csv")
        df1 = write_data(first_csv, 6000, 5, 10.0)
        df2 = write_data(new_csv, 4000, 9, 9.0)   # inside the first file's range
        first = os.path.join(work, "first.h5")
        r = run(["ingest", first_csv, "-f", FORMULA, "-o", first, "-q"])
        check(r.returncode == 0, f"first ingest: {r.stderr.strip()}")
        with h5py.File(first, "r") as h5:
            check("oocsolve_transforms" in h5["X"].attrs, "first.h5 without its transforms")
        second = check_ols_svd(work, first, new_csv, df1, df2)
        check_glm(work, first_csv, new_csv, df1, df2)
        check_errors(work, first, second)
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

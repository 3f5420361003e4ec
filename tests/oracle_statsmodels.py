#!/usr/bin/env python3
"""oocsolve fit vs statsmodels OLS/WLS on random problems of several shapes: with and without
an intercept, an implicit constant (full dummy coding, no intercept), weights, and the
covariance types nonrobust / HC0 / HC1.  Data go through HDF5 files written with h5py (and one
CSV + formula case).  Every summary number must agree to 1e-9 relative; p-values below 1e-12
are compared on the log scale (1e-9 relative in log p), since they are tail probabilities whose
relative accuracy is limited by the t-statistic's own rounding (d log p / d t ≈ t).
Two tolerances follow the quantity's conditioning instead:
- R², adjusted R² and the explained sum of squares are differences (1 - ssr/tss, tss - ssr):
  they are compared to 1e-9 of their natural scale (1, tss), so an intercept-only fit's
  R² = 2e-16 vs 0 is a match;
- robust (HC) standard errors, t values and intervals are built from residuals e = y - Xb that
  carry relative rounding ~κ·eps·|y|/|e| in any double implementation: tolerance
  max(1e-9, 100·κ·eps·|y|/|e|).  In the tiny-noise WLS case (|y|/|e| ~ 1e6) statsmodels' own
  HC0 bse[0] is 1.1e-9 off the exact-rational value and oocsolve's 4.9e-11 (measured once, with
  Fractions, outside CI)."""
import json, math, os, subprocess, sys, tempfile

import h5py
import numpy as np
import statsmodels.api as sm

OOC = os.environ["OOCSOLVE"]
RTOL = 1e-9
failures = []


def close(a, b, rtol=RTOL):
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) and \
               (b is None or math.isnan(b))
    if a == b:
        return True
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def close_p(a, b):
    if a is None or b is None:
        return a is None and (b is None or math.isnan(b))
    if max(a, b) < 1e-12:
        if min(a, b) <= 0.0:
            return max(a, b) < 1e-290  # underflow on one side
        return abs(math.log(a) - math.log(b)) <= RTOL * abs(math.log(b))
    return abs(a - b) <= RTOL * max(abs(a), abs(b))


def compare(tag, got, res, model_has_weights):
    def check(name, a, b, cmp=close):
        if not cmp(a, b):
            failures.append(f"{tag}: {name}: oocsolve {a!r} vs statsmodels {b!r}")

    hc_rtol = RTOL
    if res.cov_type != "nonrobust":
        hc_rtol = max(RTOL, 100 * 2.2e-16 * got["scaled_condition_number"] *
                      math.sqrt(float(res.uncentered_tss) / float(res.ssr)))
    hc_close = lambda a, b: close(a, b, hc_rtol)
    for name in ("params", "bse", "tvalues"):
        for i, (a, b) in enumerate(zip(got[name], getattr(res, name))):
            check(f"{name}[{i}]", a, float(b), hc_close if name != "params" else close)
    for i, (a, b) in enumerate(zip(got["pvalues"], res.pvalues)):
        check(f"pvalues[{i}]", a, float(b), close_p)
    ci = res.conf_int()
    for i, (lo, hi) in enumerate(got["conf_int"]):
        check(f"conf_int[{i}][0]", lo, float(ci[i, 0]), hc_close)
        check(f"conf_int[{i}][1]", hi, float(ci[i, 1]), hc_close)
    tss = float(res.centered_tss if res.model.k_constant else res.uncentered_tss)
    for name, scale in (("rsquared", 1.0), ("rsquared_adj", 1.0), ("ess", tss)):
        check(name, got[name], float(getattr(res, name)),
              lambda a, b, scale=scale: close(a, b) or abs(a - b) <= RTOL * scale)
    for name in ("llf", "aic", "bic", "ssr", "scale",
                 "centered_tss", "uncentered_tss", "df_model", "df_resid", "nobs"):
        check(name, got[name], float(getattr(res, name)))
    # The robust F is a Wald form in the HC covariance, built from residuals e = y - Xb that
    # carry relative rounding ~eps·|y|/|e| in any double implementation (tiny-noise cases)
    f_rtol = RTOL
    if res.cov_type != "nonrobust":
        f_rtol *= max(1.0, math.sqrt(float(res.uncentered_tss) / float(res.ssr)))
    check("fvalue", got["fvalue"], float(res.fvalue), lambda a, b: close(a, b, f_rtol))
    check("f_pvalue", got["f_pvalue"], float(res.f_pvalue), close_p)
    check("k_constant", got["k_constant"], float(res.model.k_constant))
    # statsmodels takes sqrt of an eigenvalue ratio of X'X (accuracy ~ cond·eps relative)
    check("condition_number", got["condition_number"], float(res.condition_number),
          lambda a, b: close(a, b, 1e-7))


def fit_json(args):
    p = subprocess.run([OOC, "fit", "--json"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"oocsolve fit {' '.join(args)} failed:\n{p.stderr}")
    return json.loads(p.stdout)


def make(rng, n, p, kind, noise):
    if kind == "intercept":
        X = np.column_stack([np.ones(n), rng.standard_normal((n, p - 1)) * 3 + 1]) if p > 1 \
            else np.ones((n, 1))
    elif kind == "implicit":  # full dummy coding of a 3-level factor, no intercept
        g = rng.integers(0, 3, n)
        X = np.column_stack([(g == k).astype(float) for k in range(3)] +
                            [rng.standard_normal((n, p - 3))] if p > 3 else
                            [(g == k).astype(float) for k in range(3)])
    else:
        X = rng.standard_normal((n, p)) + 0.5
    beta = np.linspace(-1, 2, X.shape[1])
    y = X @ beta + noise * rng.standard_normal(n) * (1 + np.abs(X[:, -1]))
    w = rng.uniform(0.2, 3.0, n)
    return X, y, w


def check_svd(rng, tmp):
    """`oocsolve svd --vectors --u-out` vs numpy.linalg.svd: singular values, V up to sign,
    and U = X V S^-1 orthonormal and reconstructing X (tolerances ~ p·cond·eps)."""
    X = rng.standard_normal((700, 6)) @ np.diag([1, 2, 3, 4, 5, 60.0])
    path, upath = os.path.join(tmp, "svd.h5"), os.path.join(tmp, "U.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=X, chunks=(64, 6), compression="gzip", shuffle=True)
    p = subprocess.run([OOC, "svd", path, "--json", "--vectors", "--u-out", upath],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"oocsolve svd failed:\n{p.stderr}")
    got = json.loads(p.stdout)
    _, s, vt = np.linalg.svd(X, full_matrices=False)
    sv = np.array(got["singular_values"])
    if np.max(np.abs(sv - s) / s) > 1e-12:
        failures.append(f"svd: singular values {sv} vs numpy {s}")
    gvt = np.array(got["vt"])
    signs = np.sign(np.sum(gvt * vt, axis=1))
    if np.max(np.abs(gvt - signs[:, None] * vt)) > 1e-10:
        failures.append("svd: right singular vectors differ from numpy's beyond sign")
    with h5py.File(upath) as f:
        U = f["X"][:]
    if U.shape != (700, 6) or np.max(np.abs(U.T @ U - np.eye(6))) > 1e-12 or \
            np.max(np.abs(U @ np.diag(sv) @ gvt - X)) > 1e-12 * np.max(np.abs(X)) * 100:
        failures.append("svd: U is not orthonormal or U S V^T != X")


def main():
    rng = np.random.default_rng(20240611)
    cases = []
    for n, p in ((50, 1), (50, 3), (300, 5), (1000, 8), (5000, 20), (200, 12)):
        for kind in ("intercept", "none", "implicit"):
            if kind == "implicit" and p < 3:
                continue
            for weighted in (False, True):
                cases.append((n, p, kind, weighted))
    ncases = 0
    with tempfile.TemporaryDirectory() as tmp:
        for idx, (n, p, kind, weighted) in enumerate(cases):
            noise = 1e-6 if idx % 7 == 3 else 1.0  # some tiny-noise fits: extreme t, tiny p
            X, y, w = make(rng, n, p, kind, noise)
            path = os.path.join(tmp, f"c{idx}.h5")
            with h5py.File(path, "w") as f:
                f["X"] = X
                f["Y"] = y
                f["W"] = w
            model = sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)
            for cov in ("nonrobust", "HC0", "HC1"):
                res = model.fit(cov_type=cov)
                args = [path, "--cov", cov] + (["--weights", "/W"] if weighted else [])
                got = fit_json(args)
                compare(f"n={n} p={p} {kind} {'WLS' if weighted else 'OLS'} {cov}", got, res,
                        weighted)
                ncases += 1
        # straight from a CSV through a formula
        X, y, _ = make(rng, 400, 4, "none", 1.0)
        csv = os.path.join(tmp, "d.csv")
        with open(csv, "w") as f:
            f.write("a,b,c,d,y\n")
            for row, yi in zip(X, y):
                f.write(",".join(repr(float(v)) for v in row) + f",{float(yi)!r}\n")
        got = fit_json([csv, "-f", "y ~ a + b + c + d"])
        res = sm.OLS(y, sm.add_constant(X)).fit()
        compare("CSV y ~ a + b + c + d", got, res, False)
        ncases += 1
        check_svd(rng, tmp)
    print(f"{ncases} fits compared with statsmodels; svd compared with numpy")
    if failures:
        print(f"{len(failures)} mismatches:\n  " + "\n  ".join(failures[:60]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

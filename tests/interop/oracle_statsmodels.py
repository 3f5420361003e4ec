#!/usr/bin/env python3
"""oocsolve fit vs statsmodels OLS/WLS on random problems of several shapes: with and without
an intercept, an implicit constant (full dummy coding, no intercept), weights, and the
covariance types nonrobust / HC0 / HC1.  Data go through HDF5 files written with h5py (and one
CSV + formula case).

Tolerances (tests/interop/lsq_bounds.py derives them): oocsolve (Householder TSQR) and statsmodels
(pinv from LAPACK's SVD) are both backward stable, so each result is within a first-order bound
of the exact one — for β, κε_A(2 + (κ+1)tan θ) relative (Higham Thm 20.1), κ the condition number of
W^½X computed here with numpy, ε_A = √p·(p√n + 3)·ε the backward error — and the two may differ
by the sum of their bounds.  Every other summary number inherits its bound from those of β, ssr
and (XᵀWX)⁻¹ through its own conditioning (written at each check below); p-values add the accuracy
of each library's incomplete beta function (lsq_bounds.sf_accuracy).  Integers (df, nobs) must be
equal.  The margins (largest |difference| / tolerance per quantity) are printed, so a change of
CPU, BLAS kernel or FMA use that eats into them shows up before it fails."""
import json, math, os, subprocess, sys, tempfile

import h5py
import numpy as np
import scipy.stats as st
import statsmodels.api as sm

from lsq_bounds import EPS, LsqBounds, sf_accuracy, t_pvalue_abs_bound, wald_rel_bound

OOC = os.environ["OOCSOLVE"]
UNDERFLOW = 1e-290  # p-values below this are zero for every purpose; the libraries flush apart
failures = []
margins = {}


def nan_or_none(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


def compare(tag, got, res, X, y, w):
    def check(name, a, b, tol):
        """|a - b| <= tol (both NaN/None also match); records the margin |a - b| / tol."""
        b = float(b)
        if nan_or_none(a) or math.isnan(b):
            if not (nan_or_none(a) and math.isnan(b)):
                failures.append(f"{tag}: {name}: oocsolve {a!r} vs statsmodels {b!r}")
            return
        d = abs(a - b)
        key = name.split("[")[0]
        margins[key] = max(margins.get(key, 0.0), d / tol if tol > 0 else (0.0 if d == 0 else math.inf))
        if not d <= tol:
            failures.append(f"{tag}: {name}: oocsolve {a!r} vs statsmodels {b!r} "
                            f"(|diff| {d:.3g} > tolerance {tol:.3g})")

    bnd = LsqBounds(X, y, w)
    n, p = bnd.n, bnd.p
    robust = res.cov_type != "nonrobust"
    df = float(res.df_resid)
    # β: each side within bnd.params() (normwise) of the exact solution
    dbeta = bnd.params()
    for i, (a, b) in enumerate(zip(got["params"], res.params)):
        check(f"params[{i}]", a, b, 2 * dbeta)
    # standard errors: relative bounds from ssr and (XᵀWX)⁻¹ (nonrobust), or from the
    # residuals' errors through the sandwich (HC; HC1's factor n/(n-p) is exact to one rounding)
    d_bse = bnd.d_hc_bse(res.wresid) if robust else np.full(p, bnd.d_bse())
    bse = np.asarray(res.bse, dtype=float)
    for i, (a, b) in enumerate(zip(got["bse"], bse)):
        check(f"bse[{i}]", a, b, 2 * d_bse[i] * abs(b))
    # t = β/bse: |Δt| ≤ |Δβ|/bse + |t|·(relative error of bse)
    dt = 2 * dbeta / bse + 2 * np.abs(np.asarray(res.tvalues, dtype=float)) * d_bse
    for i, (a, b) in enumerate(zip(got["tvalues"], res.tvalues)):
        check(f"tvalues[{i}]", a, b, dt[i])
    # p = 2·sf(|t|): 2·pdf·Δt plus each library's incomplete-beta accuracy (t for nonrobust,
    # normal for robust covariances, as statsmodels)
    for i, (a, b) in enumerate(zip(got["pvalues"], res.pvalues)):
        check(f"pvalues[{i}]", a, b,
              t_pvalue_abs_bound(float(res.tvalues[i]), df, dt[i], use_t=not robust) + UNDERFLOW)
    # β ± q·bse: q's own accuracy is the tail's (Newton stops at 4ε)
    q = float(st.norm.ppf(0.975) if robust else st.t.ppf(0.975, df))
    d_q = sf_accuracy(0.025, 0.0 if robust else 0.5 * df + 0.5) + 4 * EPS
    ci = res.conf_int()
    for i, (lo, hi) in enumerate(got["conf_int"]):
        tol = 2 * dbeta + 2 * q * bse[i] * (d_bse[i] + d_q) + 2 * EPS * max(abs(lo), abs(hi))
        check(f"conf_int[{i}][0]", lo, ci[i, 0], tol)
        check(f"conf_int[{i}][1]", hi, ci[i, 1], tol)
    # sums of squares: Σw·y² of n positive terms to γ relative; the centered one loses
    # uncentered/centered more through the mean (relative to itself)
    ssr, utss, ctss = float(res.ssr), float(res.uncentered_tss), float(res.centered_tss)
    d_utss = bnd.d_tss(ctss, utss, False)
    d_ctss = bnd.d_tss(ctss, utss, True)
    tss, d_tss = (ctss, d_ctss) if res.model.k_constant else (utss, d_utss)
    check("ssr", got["ssr"], ssr, 2 * bnd.d_ssr * ssr)
    check("scale", got["scale"], res.scale, 2 * (bnd.d_ssr + EPS) * float(res.scale))
    check("uncentered_tss", got["uncentered_tss"], utss, 2 * d_utss * utss)
    check("centered_tss", got["centered_tss"], ctss, 2 * d_ctss * ctss)
    # R² = 1 - ssr/tss: |ΔR²| ≤ (ssr/tss)(δssr + δtss) + ε; adjusted: times (n-k)/df_resid
    dr2 = bnd.rsquared_abs(ssr, tss, d_tss)
    check("rsquared", got["rsquared"], res.rsquared, 2 * dr2)
    c_adj = (n - float(res.model.k_constant)) / df
    check("rsquared_adj", got["rsquared_adj"], res.rsquared_adj, 2 * (c_adj * dr2 + EPS))
    dess = tss * d_tss + ssr * bnd.d_ssr + EPS * float(res.ess)
    check("ess", got["ess"], res.ess, 2 * dess)
    dllf = bnd.llf_abs(ssr, w)
    check("llf", got["llf"], res.llf, 2 * dllf)
    check("aic", got["aic"], res.aic, 2 * (2 * dllf + EPS * abs(float(res.aic))))
    check("bic", got["bic"], res.bic, 2 * (2 * dllf + EPS * abs(float(res.bic))))
    for name in ("df_model", "df_resid", "nobs"):  # integers: exact
        check(name, got[name], getattr(res, name), 0.0)
    check("k_constant", got["k_constant"], res.model.k_constant, 0.0)
    # F: nonrobust (ess/df_model)/(ssr/df_resid); robust the Wald form in the HC covariance of the
    # coefficients other than the constant
    if robust:
        const_idx = res.model.data.const_idx
        sel = [j for j in range(p) if not (res.model.k_constant and j == const_idx)]
        fval = float(res.fvalue) if np.ndim(res.fvalue) == 0 else float(np.squeeze(res.fvalue))
        if sel and not math.isnan(fval):
            factor = n / df if res.cov_type == "HC1" else 1.0
            V = np.asarray(res.cov_params())[np.ix_(sel, sel)]
            d_f = wald_rel_bound(np.asarray(res.params)[sel], V, 2 * dbeta,
                                 2 * bnd.hc_cov_abs(res.wresid, factor))
        else:
            d_f = math.inf
    else:
        fval = float(res.fvalue)
        d_f = 2 * (dess / float(res.ess) + bnd.d_ssr + 3 * EPS) if res.ess > 0 else math.inf
    check("fvalue", got["fvalue"], fval, d_f * abs(fval) if not math.isnan(fval) else 0.0)
    # f_pvalue = sf_F(F): dF·pdf_F (at the nearer end) plus the incomplete beta's accuracy
    if not math.isnan(fval) and math.isfinite(d_f):
        dfm = float(len(sel)) if robust else float(res.df_model)
        dist = st.f(dfm, df)
        f_lo = max(0.0, fval * (1 - d_f))
        fp = float(dist.sf(fval))
        tol = float(dist.pdf(f_lo)) * d_f * fval + 2 * fp * sf_accuracy(fp, 0.5 * (dfm + df))
        check("f_pvalue", got["f_pvalue"], res.f_pvalue, tol + UNDERFLOW)
    else:
        check("f_pvalue", got["f_pvalue"], res.f_pvalue, math.inf)
    # σmax/σmin: each side's singular values are within ε_A·σmax (Weyl), so the ratio is within
    # ε_A(1 + κ) relative, plus a rounding
    cond = float(res.condition_number)
    check("condition_number", got["condition_number"], cond,
          2 * (bnd.eps_A * (1 + bnd.kappa) + EPS) * cond)


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
    and U = X V S^-1 orthonormal and reconstructing X.  Both SVDs are of data within ε_A·‖X‖ of X
    (oocsolve: the SVD of R from Householder TSQR; numpy: LAPACK's on X), so
    - σ_j: |Δσ_j| ≤ ε_A·σ_1 each (Weyl): relative 2ε_A·σ_1/σ_j;
    - v_j: ‖Δv_j‖ ≤ √2·ε_A·σ_1/gap_j each (Wedin's sin θ theorem), gap_j = min_k≠j |σ_j - σ_k|;
    - U = X·V·S⁻¹ from the V, S of X + ΔX: ‖UᵀU - I‖ ≤ 2κ(ε_A + p·ε) (ΔX·V·S⁻¹, and the rounding
      of the product, ≤ p·ε·σ_1/σ_j per column) plus γ for forming UᵀU in numpy;
    - U·S·Vᵀ = X·V·Vᵀ up to roundings of the products, ≤ p·ε·√p·‖x_i‖ each, and V's
      orthogonality, ≤ p·ε: |(USVᵀ - X)_ij| ≤ 4·p^1.5·ε·‖x_i‖ (no κ: the product undoes S⁻¹).
    A wrong block, column or sign changes these at O(1)."""
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
    n, k = X.shape
    eps_A = math.sqrt(k) * (k * math.sqrt(n) + 3) * EPS
    kappa = s[0] / s[-1]

    def within(name, err, tol):
        m = float(np.max(err / tol))
        margins[name] = max(margins.get(name, 0.0), m)
        if not m <= 1.0:
            failures.append(f"svd: {name}: error {float(np.max(err)):.3g} exceeds its bound "
                            f"(worst error/tolerance {m:.3g})")

    sv = np.array(got["singular_values"])
    within("svd singular values", np.abs(sv - s) / s, 2 * eps_A * s[0] / s)
    gvt = np.array(got["vt"])
    signs = np.sign(np.sum(gvt * vt, axis=1))
    gap = np.array([np.min(np.abs(np.delete(s, j) - s[j])) for j in range(k)])
    within("svd right vectors", np.max(np.abs(gvt - signs[:, None] * vt), axis=1),
           2 * math.sqrt(2) * eps_A * s[0] / gap)
    with h5py.File(upath) as f:
        U = f["X"][:]
    if U.shape != (n, k):
        failures.append(f"svd: U has shape {U.shape}")
        return
    within("svd U orthonormal", np.max(np.abs(U.T @ U - np.eye(k))),
           2 * kappa * (eps_A + k * EPS) + (k * math.sqrt(n) + 3) * EPS)
    within("svd U S Vt = X", np.abs(U @ np.diag(sv) @ gvt - X),
           4 * k ** 1.5 * EPS * np.linalg.norm(X, axis=1)[:, None])


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
                        X, y, w if weighted else None)
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
        compare("CSV y ~ a + b + c + d", got, res, sm.add_constant(X), y, None)
        ncases += 1
        check_svd(rng, tmp)
    print(f"{ncases} fits compared with statsmodels; svd compared with numpy")
    print("margins (largest |difference| / derived tolerance; 1 fails):")
    for name in sorted(margins):
        print(f"  {name:22s} {margins[name]:.2e}")
    if failures:
        print(f"{len(failures)} mismatches:\n  " + "\n  ".join(failures[:60]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

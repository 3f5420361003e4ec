#!/usr/bin/env python3
"""The cluster-robust covariance (`fit/glm --cov cluster --groups ...`, solve/cluster.c) and
`ingest --keep` against statsmodels' fit(cov_type="cluster", cov_kwds={"groups": ...,
"use_correction": ..., "df_correction": ...}): OLS, WLS and GLM (logit, poisson), one-way and
two-way (statsmodels' cov_cluster_2groups: V1 + V2 - V12; a GLM's with the observed Hessian at
the final β, so probit and cloglog too), offsets and exposure, groups of numbers and of texts, rows
not sorted by group, rows dropped for a missing value in the formula (and so for the groups),
from CSV and from a file ingested with --keep, with and without the corrections, through the CPU
backend and (when the emulated CUDA plugin was built: $OOC_PLUGIN_EMU) the GPU backend, across 2 and
3 MPI ranks in a build with MPI ($MPIEXEC: each rank's groups merged on rank 0; glm too); Grunfeld's
investment panel (statsmodels.datasets: firms and years) one- and two-way.  Then /keep read back by
h5py and PyTables, several inputs as one (numbers group across them), and the messages: a
missing group in a kept row, an unknown group column, a file without /keep, texts across several
inputs (each numbers its own), too many groups for --max-cluster-memory, one group only, --cov cluster
without --groups, a GLM link that is not canonical.

Tolerance: every number within REL = 1e-8 relative (coefficients relative to max(|value|, their
standard error); covariances relative to √(c_ii·c_jj); p-values as below).  Why it holds: both
sides form H⁻¹ (Σ_g S_g S_gᵀ) H⁻¹ · c from the same β̂, scores s_i·x_i and groups.  oocsolve does it
in R's orthonormal basis (cond(X)·ε, docs/ARCHITECTURE.md "Finalize"); statsmodels forms the meat
from x-space scores and multiplies by pinv's (XᵀX)⁻¹ (the Gram's condition κ², relative error of
its entries ≤ 2ε_A·κ², lsq_bounds.py), so the sum of the two sides' errors is at most
    4·κ²·ε_A + 2·κ·η_β/tan θ,
the second term the residuals' error from β's (‖XΔβ‖/‖r‖ ≤ κ·η_β·‖Aβ‖/‖r‖, η_β lsq_bounds'
first-order bound on β, tan θ = ‖r‖/‖Aβ‖), with κ = cond(W^½X) after scaling its columns to unit
norm (GLM: W the final IRLS weights, and η_β glm_statsmodels.py's first-order bound of the last
WLS solve).  The test computes it per case and requires it 100x below REL before comparing.
P-values (normal, statsmodels' use_t=False): |Δp| ≤ 2φ(z)|Δz| + 1e-15·p (the two libraries'
erfc).  The cluster F's p-value, F(q, G-1) tail: relative error ≤ c_F·2·REL + sf_accuracy, c_F =
|d log p/d log F| computed with scipy (lsq_bounds.sf_accuracy: the two tail implementations).
"""
import json, math, os, subprocess, sys, tempfile, warnings

import h5py
import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
import tables
from scipy import stats as st

from cliutil import check, exit_status
from lsq_bounds import EPS, eta_beta, sf_accuracy

OOC = os.environ["OOCSOLVE"]
EMU = os.environ.get("OOC_PLUGIN_EMU")
MPIEXEC = os.environ.get("MPIEXEC")   # a build with MPI: fit across ranks too
# Open MPI as tests/interop/mpi_cli.py runs it (its own allocations are not ours: no leak check)
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none",
               OMPI_MCA_rmaps_base_oversubscribe="1",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1")
REL = 1e-8
margins = {}


def run(cmd, args, expect_ok=True, env=None):
    p = subprocess.run([OOC, cmd] + args + ["-q"], capture_output=True, text=True, env=env)
    if expect_ok:
        if p.returncode != 0:
            raise SystemExit(f"oocsolve {cmd} {' '.join(args)} failed:\n{p.stderr}")
        return json.loads(p.stdout)
    return p


def codes(df, cols):
    """statsmodels' groups: integer codes of one column, or an n x 2 array of two."""
    c = [pd.factorize(df[name])[0] for name in cols]
    return c[0] if len(c) == 1 else np.column_stack(c)


def scaled_cond(A):
    return float(np.linalg.cond(A / np.linalg.norm(A, axis=0)))


def bound_ols(res):
    """4κ²ε_A + 2κη_β/tan θ for statsmodels' OLS/WLS result (see the module docstring)."""
    A = np.asarray(res.model.wexog, float)
    n, p = A.shape
    kappa = scaled_cond(A)
    r = np.asarray(res.wresid, float)
    tan = float(np.linalg.norm(r) / np.linalg.norm(A @ np.asarray(res.params, float)))
    eps_a = math.sqrt(p) * (p * math.sqrt(n) + 3.0) * EPS
    return kappa, 4 * kappa ** 2 * eps_a + 2 * kappa * eta_beta(n, p, kappa, tan) / tan


def bound_glm(res):
    """The same with GLM's final IRLS weights and working residuals."""
    X = np.asarray(res.model.exog, float)
    n, p = X.shape
    sw = np.sqrt(np.asarray(res.model.weights, float))
    A = sw[:, None] * X
    kappa = scaled_cond(A)
    mu = np.asarray(res.mu, float)
    r = sw * res.family.link.deriv(mu) * (np.asarray(res.model.endog, float) - mu)
    tan = float(np.linalg.norm(r) / np.linalg.norm(A @ np.asarray(res.params, float)))
    eps_a = math.sqrt(p) * (p * math.sqrt(n) + 3.0) * EPS
    return kappa, 4 * kappa ** 2 * eps_a + 2 * kappa * eta_beta(n, p, kappa, tan) / tan


def close(a, b, scale, rel):
    return abs(a - b) <= rel * scale


def compare(tag, got, res, groups, kappa, bound, ols=True):
    """oocsolve's JSON got against statsmodels' res (cov_type cluster; groups: the codes)."""
    check(100 * bound < REL, f"{tag}: the bound {bound:.2g} (κ = {kappa:.3g}) leaves no margin "
                             f"under {REL:g}")
    margins[tag] = bound
    check(got["cov_type"] == "cluster", f"{tag}: cov_type {got['cov_type']!r}")
    g = groups if groups.ndim == 1 else groups.T
    counts = [len(np.unique(c)) for c in ([g] if groups.ndim == 1 else g)]
    want_groups = counts[0] if len(counts) == 1 else counts
    check(got["n_groups"] == want_groups, f"{tag}: n_groups {got['n_groups']} != {want_groups}")
    adjust = res.cov_kwds.get("adjust_df", False)
    want_df = getattr(res, "df_resid_inference", None) if adjust else None
    check((got["df_resid_inference"] is None and want_df is None) or
          got["df_resid_inference"] == want_df,
          f"{tag}: df_resid_inference {got['df_resid_inference']} != {want_df}")
    check(got["cov_kwds"]["use_correction"] == res.cov_kwds["use_correction"],
          f"{tag}: use_correction {got['cov_kwds']}")
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    cov = np.asarray(res.cov_params())
    gp, gb = np.array(got["params"], float), np.array(got["bse"], float)
    gc = np.array(got["cov_params"], float)
    for j, name in enumerate(got["names"]):
        check(close(gp[j], params[j], max(abs(params[j]), bse[j]), REL),
              f"{tag}: params[{name}] {gp[j]!r} vs {params[j]!r}")
        check(close(gb[j], bse[j], bse[j], REL), f"{tag}: bse[{name}] {gb[j]!r} vs {bse[j]!r}")
        z, p = params[j] / bse[j], float(np.asarray(res.pvalues)[j])
        dp = 2 * st.norm.pdf(z) * abs(z) * 2 * REL + 1e-15 * p
        check(abs(got["pvalues"][j] - p) <= dp + 1e-300,
              f"{tag}: pvalues[{name}] {got['pvalues'][j]!r} vs {p!r}")
        ci = np.asarray(res.conf_int())[j]
        for side in range(2):
            check(close(got["conf_int"][j][side], ci[side], bse[j], 2 * REL),
                  f"{tag}: conf_int[{name}] {got['conf_int'][j]} vs {ci}")
        for k in range(len(gp)):
            check(close(gc[j][k], cov[j, k], math.sqrt(cov[j, j] * cov[k, k]), REL),
                  f"{tag}: cov_params[{j}][{k}] {gc[j][k]!r} vs {cov[j, k]!r}")
    check(got["use_t"] is False, f"{tag}: use_t should be false (statsmodels' default)")
    if ols:
        check(close(got["fvalue"], float(res.fvalue), abs(float(res.fvalue)), 2 * REL),
              f"{tag}: fvalue {got['fvalue']!r} vs {float(res.fvalue)!r}")
        q = len(gp) - 1
        dfd = want_df if want_df is not None else res.df_resid
        fv, fp = float(res.fvalue), float(res.f_pvalue)
        c_f = abs(fv * st.f.pdf(fv, q, dfd) / st.f.sf(fv, q, dfd)) if fp > 0 else 0.0
        tol = fp * (c_f * 2 * REL + sf_accuracy(fp, q + dfd))
        check(abs(got["f_pvalue"] - fp) <= tol + 1e-300,
              f"{tag}: f_pvalue {got['f_pvalue']!r} vs {fp!r} (tolerance {tol:.2g})")


def sm_ols(formula, df, groups, weights=None, use_correction=True, df_correction=True):
    kw = {"groups": groups, "use_correction": use_correction, "df_correction": df_correction}
    model = smf.wls(formula, df, weights=df[weights]) if weights else smf.ols(formula, df)
    return model.fit(cov_type="cluster", cov_kwds=kw)


def sm_glm(formula, df, family, groups, offset=None, var_weights=None):
    with warnings.catch_warnings():   # "cov_type not fully supported with var_weights"
        warnings.simplefilter("ignore")
        return smf.glm(formula, df, family=family, offset=offset,
                       var_weights=var_weights).fit(
            cov_type="cluster", cov_kwds={"groups": groups})


def make_data(path, n=4000, seed=7):
    """x1, x2 (x1 missing on some rows), a number group g (300 groups, unsorted), a text group s
    (120 groups), a second number group h (25), weights w, a 0/1 response b and counts c with
    group effects, so that clustering matters, and frequencies f (1 to 3)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    df["g"] = rng.integers(0, 300, n) * 7 - 500           # numbers, negative ones too
    si = rng.integers(0, 120, n)
    df["s"] = np.array([f"site {i:03d}" for i in si])     # texts with a space
    df["h"] = rng.integers(0, 25, n) + 0.5
    u = rng.normal(size=300)[(df["g"] + 500) // 7] + rng.normal(size=120)[si]
    df["y"] = 1 + 2 * df.x1 - df.x2 + u + rng.normal(size=n)
    df["w"] = rng.uniform(0.5, 2.0, n)
    df["b"] = (df.x1 - 0.5 * df.x2 + 0.5 * u + rng.logistic(size=n) > 0).astype(int)
    df["c"] = rng.poisson(np.exp(0.2 + 0.3 * df.x1 + 0.2 * u))
    df.loc[rng.choice(n, 40, replace=False), "x1"] = np.nan
    df["f"] = rng.integers(1, 4, n)                        # frequency weights
    df.to_csv(path, index=False)
    return df.dropna(subset=["x1"]).reset_index(drop=True)


def check_cases(tmp, df, csv):
    env_gpu = None
    if EMU:
        env_gpu = dict(os.environ, OOC_CUDA_PLUGIN=EMU)
    h5 = os.path.join(tmp, "d.h5")
    subprocess.run([OOC, "ingest", csv, "-f", "y ~ x1 + x2", "-o", h5, "--keep", "g,s",
                    "--keep", "h", "-q"], check=True)
    f = "y ~ x1 + x2"
    cases = [
        ("csv OLS g", [csv, "-f", f], ["g"], {}),
        ("csv OLS s (texts)", [csv, "-f", f], ["s"], {}),
        ("csv OLS g,h two-way", [csv, "-f", f], ["g", "h"], {}),
        ("csv OLS s,g two-way", [csv, "-f", f], ["s", "g"], {}),
        ("csv WLS s", [csv, "-f", f, "--weights", "w"], ["s"], {"weights": "w"}),
        ("csv OLS g no correction", [csv, "-f", f, "--no-cluster-correction"], ["g"],
         {"use_correction": False}),
        ("csv OLS g,s no df correction", [csv, "-f", f, "--no-df-correction"], ["g", "s"],
         {"df_correction": False}),
        ("csv OLS s normal", [csv, "-f", f, "--method", "normal"], ["s"], {}),
        ("h5 OLS s", [h5], ["s"], {}),
        ("h5 OLS g,h two-way", [h5], ["g", "h"], {}),
        ("h5 OLS h,s two-way", [h5], ["h", "s"], {}),
    ]
    for tag, args, groups, kw in cases:
        res = sm_ols(f, df, codes(df, groups), **kw)
        kappa, bound = bound_ols(res)
        got = run("fit", args + ["--cov", "cluster", "--groups", ",".join(groups), "--json"])
        compare(tag, got, res, codes(df, groups), kappa, bound)
        if MPIEXEC and tag.startswith("h5"):
            for ranks in (2, 3):   # each rank's groups merged on rank 0 (solve/cluster.c)
                p = subprocess.run([MPIEXEC, "--oversubscribe", "-np", str(ranks), OOC, "fit"] +
                                   args + ["--cov", "cluster", "--groups", ",".join(groups),
                                           "--json", "-q"],
                                   capture_output=True, text=True, env=MPI_ENV)
                check(p.returncode == 0, f"{tag} on {ranks} ranks: {p.stderr[-2000:]}")
                if p.returncode == 0:
                    compare(f"{tag} mpi {ranks}", json.loads(p.stdout), res,
                            codes(df, groups), kappa, bound)
        if env_gpu and tag in ("csv OLS s (texts)", "h5 OLS g,h two-way"):
            got = run("fit", args + ["--cov", "cluster", "--groups", ",".join(groups), "--json",
                                     "--device", "gpu"], env=env_gpu)
            check(got["backend"] != "cpu", f"{tag}: the GPU run used {got['backend']}")
            compare(tag + " gpu", got, res, codes(df, groups), kappa, bound)
    glm_cases = [
        ("csv logit s", [csv, "-f", "b ~ x1 + x2", "--family", "binomial"], "b ~ x1 + x2",
         sm.families.Binomial(), ["s"]),
        ("csv poisson g,s", [csv, "-f", "c ~ x1 + x2", "--family", "poisson"], "c ~ x1 + x2",
         sm.families.Poisson(), ["g", "s"]),
        ("csv logit g,h", [csv, "-f", "b ~ x1 + x2", "--family", "binomial"], "b ~ x1 + x2",
         sm.families.Binomial(), ["g", "h"]),
        ("csv logit var_weights s", [csv, "-f", "b ~ x1 + x2", "--family", "binomial",
                                     "--weights", "w"], "b ~ x1 + x2", sm.families.Binomial(),
         ["s"]),
        ("csv probit s", [csv, "-f", "b ~ x1 + x2", "--family", "binomial", "--link", "probit"],
         "b ~ x1 + x2", sm.families.Binomial(sm.families.links.Probit()), ["s"]),
        ("csv cloglog g", [csv, "-f", "b ~ x1 + x2", "--family", "binomial", "--link",
                           "cloglog"], "b ~ x1 + x2",
         sm.families.Binomial(sm.families.links.CLogLog()), ["g"]),
        ("csv poisson offset s", [csv, "-f", "c ~ x1", "--family", "poisson", "--offset", "x2"],
         "c ~ x1", sm.families.Poisson(), ["s"]),
        ("csv poisson exposure g", [csv, "-f", "c ~ x1", "--family", "poisson", "--exposure",
                                    "w"], "c ~ x1", sm.families.Poisson(), ["g"]),
        ("csv gamma log g,h", [csv, "-f", "w ~ x1 + x2", "--family", "gamma", "--link",
                                     "log"], "w ~ x1 + x2",
         sm.families.Gamma(sm.families.links.Log()), ["g", "h"]),
    ]
    for tag, args, formula, family, groups in glm_cases:
        offset = (df["x2"] if "--offset" in args else
                  np.log(df["w"]) if "--exposure" in args else None)
        res = sm_glm(formula, df, family, codes(df, groups), offset=offset,
                     var_weights=df["w"] if "--weights" in args else None)
        kappa, bound = bound_glm(res)
        got = run("glm", args + ["--cov", "cluster", "--groups", ",".join(groups), "--json"])
        compare(tag, got, res, codes(df, groups), kappa, bound, ols=False)
        check(got["iterations"] == res.fit_history["iteration"],
              f"{tag}: iterations {got['iterations']} vs {res.fit_history['iteration']}")
        if env_gpu and tag == "csv logit s":
            got = run("glm", args + ["--cov", "cluster", "--groups", ",".join(groups), "--json",
                                     "--device", "gpu"], env=env_gpu)
            compare(tag + " gpu", got, res, codes(df, groups), kappa, bound, ols=False)
    # frequency weights: a row counts as f rows, in the correction (n - 1)/(n - p) too, so the
    # reference is statsmodels on the expanded rows (its freq_weights keep n at the rows and warn
    # that cov_type is not fully supported with them)
    expanded = df.loc[df.index.repeat(df["f"])].reset_index(drop=True)
    for tag, y, family, groups in (
            ("csv logit freq_weights s", "b", sm.families.Binomial(), ["s"]),
            ("csv poisson freq_weights g,h", "c", sm.families.Poisson(), ["g", "h"])):
        res = sm_glm(f"{y} ~ x1 + x2", expanded, family, codes(expanded, groups))
        kappa, bound = bound_glm(res)
        got = run("glm", [csv, "-f", f"{y} ~ x1 + x2", "--family",
                          "binomial" if y == "b" else "poisson",
                          "--freq-weights", "f", "--cov", "cluster", "--groups", ",".join(groups),
                          "--json"])
        check(got["nobs"] == len(df) and got["wnobs"] == len(expanded),
              f"{tag}: nobs {got['nobs']}, wnobs {got['wnobs']}")
        compare(tag, got, res, codes(expanded, groups), kappa, bound, ols=False)
    # few groups and rows: V1 + V2 - V12 is not positive definite here, so the robust F takes
    # statsmodels' route through the covariance (ols_stats.c indefinite_wald)
    rng = np.random.default_rng(17)
    small = pd.DataFrame({"x1": rng.normal(size=400), "x2": rng.uniform(-2, 2, 400),
                          "firm": rng.integers(0, 40, 400),
                          "site": [f"s{i}" for i in rng.integers(0, 15, 400)]})
    small["y"] = 1 + 2 * small.x1 - 0.5 * small.x2 + rng.normal(size=400) * (1 + abs(small.x1))
    small_csv = os.path.join(tmp, "small.csv")
    small.to_csv(small_csv, index=False)
    g = codes(small, ["firm", "site"])
    res = sm_ols(f, small, g)
    kappa, bound = bound_ols(res)
    got = run("fit", [small_csv, "-f", f, "--cov", "cluster", "--groups", "firm,site", "--json"])
    compare("csv OLS firm,site indefinite", got, res, g, kappa, bound)
    # several inputs as one: numbers are groups across them
    both = pd.concat([df, df], ignore_index=True)
    res = sm_ols(f, both, codes(both, ["g", "h"]))
    kappa, bound = bound_ols(res)
    got = run("fit", [h5, h5, "--cov", "cluster", "--groups", "g,h", "--json"])
    compare("h5 twice g,h", got, res, codes(both, ["g", "h"]), kappa, bound)
    # the GLM from the ingested file: y on x1, x2 as gaussian (identity, canonical)
    res = sm_glm(f, df, sm.families.Gaussian(), codes(df, ["s"]))
    kappa, bound = bound_glm(res)
    got = run("glm", [h5, "--family", "gaussian", "--cov", "cluster", "--groups", "s", "--json"])
    compare("h5 gaussian s", got, res, codes(df, ["s"]), kappa, bound, ols=False)
    if MPIEXEC:   # glm across ranks: each rank's group sums merged, as fit's
        for ranks in (2, 3):
            p = subprocess.run([MPIEXEC, "--oversubscribe", "-np", str(ranks), OOC, "glm", h5,
                                "--family", "gaussian", "--cov", "cluster", "--groups", "s,g",
                                "--json", "-q"], capture_output=True, text=True, env=MPI_ENV)
            check(p.returncode == 0, f"glm on {ranks} ranks: {p.stderr[-2000:]}")
            if p.returncode == 0:
                res2 = sm_glm(f, df, sm.families.Gaussian(), codes(df, ["s", "g"]))
                kappa2, bound2 = bound_glm(res2)
                compare(f"h5 gaussian s,g mpi {ranks}", json.loads(p.stdout), res2,
                        codes(df, ["s", "g"]), kappa2, bound2, ols=False)
    return h5


def check_keep_readers(h5, df):
    """/keep and /keep_levels as h5py and PyTables read them: numbers as they were, texts as
    codes in order of first appearance with their texts."""
    with h5py.File(h5, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n)
                 for n in f["keep"].attrs["column_names"]]
        check(names == ["g", "s", "h"], f"/keep column_names {names}")
        keep = f["keep"][...]
        check(keep.shape == (len(df), 3), f"/keep shape {keep.shape}")
        check(np.array_equal(keep[:, 0], df["g"].to_numpy(float)), "/keep g differs")
        check(np.array_equal(keep[:, 2], df["h"].to_numpy(float)), "/keep h differs")
        levels = [b.decode() for b in f["keep_levels/s"][...]]
        want_codes, want_levels = pd.factorize(df["s"])
        check(levels == list(want_levels), "/keep_levels/s differs from the first-appearance order")
        check(np.array_equal(keep[:, 1], want_codes.astype(float)), "/keep s codes differ")
        check("keep_levels/g" not in f, "a column of numbers got levels")
        check(f["keep"].chunks[0] == f["X"].chunks[0], "/keep is not chunked like /X")
    with tables.open_file(h5) as t:
        check(np.array_equal(t.root.keep[:, 0], df["g"].to_numpy(float)), "PyTables /keep g")
        check([b.decode() for b in t.root.keep_levels.s[:]] == list(pd.factorize(df["s"])[1]),
              "PyTables /keep_levels/s")
    info = subprocess.run([OOC, "info", h5], capture_output=True, text=True)
    check(info.returncode == 0 and "/keep" in info.stdout and "g, s, h" in info.stdout,
          f"info does not list the kept columns:\n{info.stdout}")


def check_grunfeld(tmp):
    """Grunfeld's investment panel (statsmodels.datasets): 11 firms x 20 years, clustered by the
    firm (texts with spaces) and two-way by firm and year."""
    data = sm.datasets.grunfeld.load_pandas().data
    csv = os.path.join(tmp, "grunfeld.csv")
    data.to_csv(csv, index=False)
    f = "invest ~ value + capital"
    for groups in (["firm"], ["firm", "year"]):
        res = sm_ols(f, data, codes(data, groups))
        kappa, bound = bound_ols(res)
        got = run("fit", [csv, "-f", f, "--cov", "cluster", "--groups", ",".join(groups),
                          "--json"])
        compare("grunfeld " + ",".join(groups), got, res, codes(data, groups), kappa, bound)
    text = subprocess.run([OOC, "fit", csv, "-f", f, "--cov", "cluster", "--groups", "firm",
                           "-q"], capture_output=True, text=True).stdout
    check("Covariance Type:              cluster" in text, "the summary's Covariance Type")
    check("robust to cluster correlation (CRV1): 11 groups" in text,
          f"the summary's note on the groups:\n{text}")
    text = subprocess.run([OOC, "glm", csv, "-f", "invest ~ value + capital", "--family",
                           "gaussian", "--cov", "cluster", "--groups", "firm,year", "-q"],
                          capture_output=True, text=True).stdout
    check("Covariance Type:              cluster" in text and
          "(CRV1), two-way: 11 and 20 groups." in text, f"the GLM summary:\n{text}")


def check_errors(tmp, csv, h5):
    def fails(cmd, args, words, rc=1):
        p = run(cmd, args, expect_ok=False)
        check(p.returncode == rc and all(w in p.stderr for w in words),
              f"{cmd} {' '.join(args)}: exit {p.returncode}, {p.stderr.strip()!r}, wanted "
              f"{words}")
    bad = os.path.join(tmp, "bad.csv")
    with open(bad, "w") as f:
        f.write("y,x,g\n1,2,a\n2,3,b\n3,,\n4,5,\n5,6,c\n")
    # line 4 misses x and its group: dropped, no error; line 5 misses only its group
    fails("fit", [bad, "-f", "y ~ x", "--cov", "cluster", "--groups", "g"],
          ["bad.csv, line 5, column 'g'", "missing group value"])
    fails("fit", [csv, "-f", "y ~ x1", "--cov", "cluster", "--groups", "nosuch"],
          ["unknown column 'nosuch'"])
    fails("fit", [h5, "--cov", "cluster", "--groups", "nosuch"],
          ["kept column 'nosuch'", "'/keep'"])
    plain = os.path.join(tmp, "plain.h5")
    subprocess.run([OOC, "ingest", csv, "-f", "y ~ x1", "-o", plain, "-q"], check=True)
    fails("fit", [plain, "--cov", "cluster", "--groups", "g"], ["no kept columns", "--keep g"])
    many = os.path.join(tmp, "many.csv")   # 60000 groups of 2 values: about 2 MiB of tables
    rng = np.random.default_rng(3)
    pd.DataFrame({"y": rng.normal(size=60000), "x": rng.normal(size=60000),
                  "id": np.arange(60000)}).to_csv(many, index=False)
    fails("fit", [many, "-f", "y ~ x", "--cov", "cluster", "--groups", "id",
                  "--max-cluster-memory", "1"], ["MiB", "groups of 'id'", "--max-cluster-memory"])
    p = run("fit", [many, "-f", "y ~ x", "--cov", "cluster", "--groups", "id",
                    "--max-cluster-memory", "16", "--json"], expect_ok=False)
    check(p.returncode == 0 and json.loads(p.stdout)["n_groups"] == 60000,
          f"60000 groups within 16 MiB: {p.returncode} {p.stderr}")
    fails("fit", [csv, csv, "-f", "y ~ x1", "--cov", "cluster", "--groups", "s"],
          ["group column 's' holds texts", "2 inputs"])
    fails("fit", [h5, h5, "--cov", "cluster", "--groups", "g,s"],
          ["group column 's' holds texts", "2 inputs"])
    late = os.path.join(tmp, "late.csv")   # numbers in the first records, then a text
    with open(late, "w") as f:
        f.write("y,x,g\n" + "".join(f"{i % 7},{i % 5},{i % 11}\n" for i in range(40000)))
        f.write("1,2,zz\n")
    fails("fit", [late, "-f", "y ~ x", "--cov", "cluster", "--groups", "g"],
          ["late.csv, line 40002, column 'g'", "expected a number", "--dtype NAME=str", '"zz"'])
    p = run("fit", [late, "-f", "y ~ x", "--cov", "cluster", "--groups", "g", "--dtype", "g=str",
                    "--json"], expect_ok=False)
    check(p.returncode == 0 and json.loads(p.stdout)["n_groups"] == 12,
          f"--dtype g=str: texts, 11 numbers and 'zz': {p.returncode} {p.stderr}")
    one = os.path.join(tmp, "one.csv")
    with open(one, "w") as f:
        f.write("y,x,g\n1,2,7\n2,3,7\n3,5,7\n")
    fails("fit", [one, "-f", "y ~ x", "--cov", "cluster", "--groups", "g"], ["1 group"])
    fails("fit", [csv, "-f", "y ~ x1", "--cov", "cluster"], ["--groups"], rc=2)
    fails("fit", [csv, "-f", "y ~ x1", "--groups", "g"], ["--cov cluster"], rc=2)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "d.csv")
        df = make_data(csv)
        h5 = check_cases(tmp, df, csv)
        check_keep_readers(h5, df)
        check_grunfeld(tmp)
        check_errors(tmp, csv, h5)
    worst = max(margins.values())
    print(f"{len(margins)} comparisons; largest bound {worst:.2g} (REL {REL:g})")
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

"""python_package.py — the Python package (pyproject.toml, host/python/oocsolve) as users get it.

  python_package.py setup SOURCE_DIR WORK_DIR   (run by the project's .venv Python)
      builds the wheel with `pip wheel` (scikit-build-core from .venv, no build isolation, so no
      network; its CMake build folder WORK_DIR/wheel-build is kept, so later runs are
      incremental), checks its tag (py3-none-<platform>) and contents, and installs it into a
      fresh venv WORK_DIR/venv that sees .venv's packages (numpy, pandas, statsmodels, scipy)
      through a .pth file.
  python_package.py check                       (run by WORK_DIR/venv's Python)
      compares oocsolve.ols with statsmodels OLS/WLS (nonrobust, HC0, HC1, cluster one- and
      two-way) on random data and on
      NIST's Longley; a DataFrame, the same data as chunks and as a CSV path give identical
      results; oocsolve.Error carries status and message; the Accumulator, resume=, svd and
      ingest (deflate and codec="blosc:lz4") agree with ols / numpy, ols and svd with
      transforms_from= (an ingested file's knots) agree with statsmodels / numpy on patsy's
      design of the new rows; progress= reports each
      phase's rows (see check_progress).
      Ctrl-C (SIGINT) stops a fit in a child Python promptly, leaving no temporary files
      (check_interrupt); progress=True draws a real tqdm bar when tqdm is installed (check_tqdm).

Tolerances.  Random data: κ(X) < 10 and n = 400, so lsq_bounds' first-order bounds on every
statistic are below 1e-12 relative; 1e-9 relative is the requested check and leaves a margin of
over 1000.  Longley: κ ≈ 4.9e9 and a tiny residual, so a comparison of two implementations
(oocsolve's QR, statsmodels' pinv/SVD) allows the sum of their two bounds from lsq_bounds.py
(each within its bound of the exact answer): β per component 2·η_β‖β‖, bse 2·d_bse relative,
ssr 2·d_ssr relative; llf = -n/2·(log(2π·ssr/n) + 1), so |Δllf| ≤ n/2·2·d_ssr, and aic, bic
move as much (× 2); R² = 1 - ssr/tss moves by ≤ (ssr/tss)·2·d_ssr.  Each tolerance is the
larger of that bound and 1e-9 relative.  statsmodels' pinv (SVD) has a normwise backward error,
so the unscaled κ enters and those bounds are loose on Longley; oocsolve's own β, bse, residual
sd and R² are therefore also checked against NIST's certified values with the column-scaled κ
(see check_longley).
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL = 1e-9
SCALARS = ("rsquared", "rsquared_adj", "fvalue", "f_pvalue", "llf", "aic", "bic", "df_model",
           "df_resid", "condition_number", "ssr", "ess", "centered_tss", "scale")
failures = []


def check(name, got, want, atol=0.0, rtol=RTOL):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if np.any(bad):
        failures.append(f"{name}: got {got[bad]}, want {want[bad]} (rtol {rtol}, atol {atol})")


# ------------------------------------------------------------------------------------- setup --
def setup(source_dir, work):
    wheels = os.path.join(work, "wheel")
    for old in glob.glob(os.path.join(wheels, "*.whl")):
        os.remove(old)
    subprocess.run([sys.executable, "-m", "pip", "wheel", source_dir, "-w", wheels, "--no-deps",
                    "--no-build-isolation", "-q", "-C", f"build-dir={work}/wheel-build"],
                   check=True)
    (wheel,) = glob.glob(os.path.join(wheels, "*.whl"))
    name = os.path.basename(wheel)
    assert "-py3-none-" in name, f"wheel tag is not py3-none-<platform>: {name}"
    files = zipfile.ZipFile(wheel).namelist()
    assert "oocsolve/liboocsolve.so" in files and "oocsolve/__init__.py" in files, files
    built_plugin = bool(glob.glob(os.path.join(work, "wheel-build", "**", "oocsolve_cuda.so"),
                                  recursive=True))
    assert built_plugin == ("oocsolve/oocsolve/oocsolve_cuda.so" in files), files
    venv = os.path.join(work, "venv")
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                    "--no-deps", "--no-index", wheel], check=True)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    ours = [p for p in sys.path if p.endswith("site-packages")]
    with open(os.path.join(site, "oocsolve_test_deps.pth"), "w") as pth:
        pth.write("\n".join(ours) + "\n")
    print(f"installed {name} ({len(files)} files) into {venv}")


# ------------------------------------------------------------------------------------- check --
def random_frame(rng, n=400):
    import pandas as pd
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.uniform(-2, 2, size=n),
                       "g": rng.choice(["a", "b", "c"], size=n)})
    df["y"] = 1.0 + 2.0 * df.x1 - 0.5 * df.x2 + (df.g == "b") + rng.normal(size=n) * (
        1 + np.abs(df.x1))
    df["w"] = rng.uniform(0.5, 2.0, size=n)
    return df


def compare_statsmodels(label, res, ref, tol=None):
    """Every number of res against a statsmodels result; tol: {name: (atol, rtol)}."""
    tol = tol or {}
    names = list(ref.params.index)
    assert list(res.params.index) == names, (list(res.params.index), names)
    for name in ("params", "bse", "tvalues", "pvalues"):
        atol, rtol = tol.get(name, (0.0, RTOL))
        check(f"{label} {name}", getattr(res, name)[names], getattr(ref, name), atol, rtol)
    atol, rtol = tol.get("params", (0.0, RTOL))
    check(f"{label} conf_int", res.conf_int().loc[names], ref.conf_int(), atol, rtol)
    check(f"{label} conf_int(0.1)", res.conf_int(0.1).loc[names], ref.conf_int(0.1), atol, rtol)
    atol, rtol = tol.get("cov_params", (0.0, RTOL))
    check(f"{label} cov_params", res.cov_params().loc[names, names], ref.cov_params(), atol, rtol)
    check(f"{label} nobs", res.nobs, ref.nobs, 0.0, 0.0)
    for name in SCALARS:
        atol, rtol = tol.get(name, (0.0, RTOL))
        check(f"{label} {name}", getattr(res, name), getattr(ref, name), atol, rtol)


def check_random_vs_statsmodels(oocsolve, rng):
    import statsmodels.formula.api as smf
    df = random_frame(rng)
    for cov in ("nonrobust", "HC0", "HC1"):
        for method in ("qr", "normal"):
            res = oocsolve.ols("y ~ x1 + x2 + C(g)", df, cov_type=cov, method=method,
                               device="cpu")
            compare_statsmodels(f"OLS {cov} {method}", res,
                                smf.ols("y ~ x1 + x2 + C(g)", df).fit(cov_type=cov))
        res = oocsolve.ols("y ~ x1 + x2 + C(g)", df, weights=df.w.values, cov_type=cov,
                           device="cpu")
        ref = smf.wls("y ~ x1 + x2 + C(g)", df, weights=df.w).fit(cov_type=cov)
        compare_statsmodels(f"WLS {cov}", res, ref)
    assert "WLS Regression Results" in res.summary() and "HC1" in res.summary(), res.summary()
    json.dumps(res.to_dict())
    assert repr(res).startswith("<oocsolve WLS results: y ~ x1 + x2 + C(g)"), repr(res)


def check_cluster(oocsolve, rng):
    """cov_type="cluster": one-way on a column outside the formula, two-way (numbers and
    texts), without the corrections, against statsmodels' cov_kwds (the same random data: κ < 10,
    so 1e-9 relative leaves the same margin as above)."""
    import pandas as pd
    import statsmodels.formula.api as smf
    df = random_frame(rng)
    df["firm"] = rng.integers(0, 40, size=len(df))
    df["site"] = np.array([f"s{i}" for i in rng.integers(0, 15, size=len(df))])
    formula = "y ~ x1 + x2 + C(g)"
    codes = {name: pd.factorize(df[name])[0] for name in ("firm", "site")}
    for groups, kw in ((["firm"], {}), (["firm", "site"], {}),
                       (["site"], {"use_correction": False, "df_correction": False})):
        res = oocsolve.ols(formula, df, cov_type="cluster",
                           groups=groups[0] if len(groups) == 1 else groups, device="cpu", **kw)
        g = codes[groups[0]] if len(groups) == 1 else np.column_stack([codes[n] for n in groups])
        ref = smf.ols(formula, df).fit(cov_type="cluster", cov_kwds={"groups": g, **kw})
        compare_statsmodels(f"cluster {groups} {kw}", res, ref)
        want = [len(np.unique(codes[n])) for n in groups]
        assert res.n_groups == (want[0] if len(want) == 1 else tuple(want)), res.n_groups
        assert res.cov_type == "cluster" and "cluster" in res.summary(), res.summary()
    try:
        oocsolve.ols(formula, df, cov_type="cluster", device="cpu")
    except ValueError as e:
        assert "groups" in str(e), e
    else:
        raise AssertionError("cov_type='cluster' without groups was accepted")


def check_longley(oocsolve):
    import pandas as pd
    import statsmodels.api as sm
    from lsq_bounds import LsqBounds
    path = os.path.join(os.environ["OOC_NIST"], "Longley.csv")
    df = pd.read_csv(path)
    formula = "y ~ x1 + x2 + x3 + x4 + x5 + x6"
    X = sm.add_constant(df[["x1", "x2", "x3", "x4", "x5", "x6"]]).rename(columns={"const": "Intercept"})
    ref = sm.OLS(df.y, X).fit()
    bounds = LsqBounds(X.values, df.y.values)
    n, tss = len(df), float(ref.centered_tss)
    d_llf = n / 2 * 2 * bounds.d_ssr
    d_bse = 2 * bounds.d_bse()
    tol = {"params": (2 * bounds.params(), RTOL), "bse": (0.0, max(RTOL, d_bse)),
           "cov_params": (0.0, max(RTOL, 2 * d_bse)), "ssr": (0.0, max(RTOL, 2 * bounds.d_ssr)),
           "scale": (0.0, max(RTOL, 2 * bounds.d_ssr)), "llf": (d_llf, RTOL),
           "aic": (2 * d_llf, RTOL), "bic": (2 * d_llf, RTOL),
           "rsquared": (ref.ssr / tss * 2 * bounds.d_ssr, RTOL),
           "rsquared_adj": ((n - 1) / ref.df_resid * ref.ssr / tss * 2 * bounds.d_ssr, RTOL),
           "ess": (ref.ssr * 2 * bounds.d_ssr, RTOL),
           "condition_number": (0.0, max(RTOL, 2 * bounds.d_sv2))}
    # t = β/bse and the F statistic inherit β's and bse's relative errors; their p-values
    # (certified-digit values ~1e-3..1e-6) move by at most t·Δt·pdf: covered by the same rtol.
    rel_t = 2 * bounds.eta_beta * float(np.linalg.norm(bounds.beta)) / float(
        np.min(np.abs(bounds.beta))) + d_bse
    tol["tvalues"] = (0.0, max(RTOL, rel_t))
    tol["pvalues"] = (0.0, max(RTOL, 10 * rel_t * float(np.max(np.abs(ref.tvalues))) ** 2))
    tol["fvalue"] = (0.0, max(RTOL, 2 * bounds.d_ssr * ref.ess / ref.ssr))
    tol["f_pvalue"] = (0.0, max(RTOL, tol["fvalue"][1] * float(ref.fvalue)))
    res = oocsolve.ols(formula, path, device="cpu")
    compare_statsmodels("Longley", res, ref, tol)
    # Against NIST's certified values, oocsolve alone: Householder QR's backward error is
    # columnwise, so its bounds hold with the column-scaled κ (A·D, D = diag(1/‖a_j‖)):
    # |Δβ_j| ≤ η_β(κ_s)·‖β'‖/‖a_j‖ with β' = β/D; bse and ssr are relative, hence the same as
    # the scaled problem's; NIST prints 15 digits (5e-15 relative for their rounding).
    norms = np.linalg.norm(X.values, axis=0)
    scaled = LsqBounds(X.values / norms, df.y.values)
    cert = json.load(open(os.path.join(os.environ["OOC_NIST"], "certified.json")))["Longley"]
    check("Longley β vs NIST", res.params.values, cert["beta"],
          scaled.params() / norms + 5e-15 * np.abs(cert["beta"]), 0.0)
    check("Longley bse vs NIST", res.bse.values, cert["sd"], 0.0, scaled.d_bse() + 5e-15)
    check("Longley resid sd vs NIST", np.sqrt(res.scale), cert["resid_sd"], 0.0,
          scaled.d_ssr / 2 + 5e-15)
    check("Longley R² vs NIST", res.rsquared, cert["r2"],
          res.ssr / res.centered_tss * scaled.d_ssr + 5e-15, 0.0)
    print(f"Longley: κ = {bounds.kappa:.3g} (scaled {scaled.kappa:.3g}); β bound vs "
          f"statsmodels {2 * bounds.eta_beta:.2g}, vs NIST {scaled.eta_beta:.2g} (scaled)")
    # refine=: True runs at least one extended-precision pass and stays within the same NIST
    # bound (refinement only shrinks the error); False runs none; a bad value is a ValueError.
    always = oocsolve.ols(formula, path, device="cpu", refine=True, max_refine=2)
    never = oocsolve.ols(formula, path, device="cpu", refine=False)
    if not (1 <= always.refine_passes <= 2 and never.refine_passes == 0):
        failures.append(f"refine: passes {always.refine_passes} (True, at most 2) and "
                        f"{never.refine_passes} (False)")
    check("Longley refined β vs NIST", always.params.values, cert["beta"],
          scaled.params() / norms + 5e-15 * np.abs(cert["beta"]), 0.0)
    try:
        oocsolve.ols(formula, path, device="cpu", refine="yes")
        failures.append("refine='yes' was accepted")
    except ValueError:
        pass


def check_frame_routes(oocsolve, rng, tmp):
    import pandas as pd
    df = random_frame(rng)
    path = os.path.join(tmp, "routes.csv")
    df.to_csv(path, index=False)
    formula = "y ~ x1 + x2 + C(g)"
    results = {
        "DataFrame": oocsolve.ols(formula, df, weights="w", cov_type="HC1", device="cpu"),
        "chunks": oocsolve.ols(formula, (df.iloc[i:i + 64] for i in range(0, len(df), 64)),
                               weights="w", cov_type="HC1", device="cpu"),
        "read_csv chunks": oocsolve.ols(formula, pd.read_csv(path, chunksize=50,
                                                             float_precision="round_trip"),
                                        weights="w", cov_type="HC1", device="cpu"),
        "CSV path": oocsolve.ols(formula, path, weights="w", cov_type="HC1", device="cpu"),
    }
    want = results["CSV path"].to_dict()
    for label, res in results.items():
        got = res.to_dict()
        if got != want:
            failures.append(f"{label} differs from the CSV path: " + ", ".join(
                k for k in want if got[k] != want[k]))


def check_errors(oocsolve, rng, tmp):
    def expect(status, words, function, *args, **kwargs):
        try:
            function(*args, **kwargs)
        except oocsolve.Error as e:
            if e.status != status or not all(w in e.message for w in words):
                failures.append(f"expected {status} mentioning {words}, got {e.status}: {e}")
            return
        failures.append(f"expected {status}, nothing raised")

    missing = os.path.join(tmp, "missing.csv")
    expect("OOC_ERR_IO", [missing], oocsolve.ols, "y ~ x", missing, device="cpu")
    df = random_frame(rng)
    expect("OOC_ERR_FORMULA", ["nosuch"], oocsolve.ols, "y ~ nosuch", df, device="cpu")
    state = os.path.join(tmp, "err_state.h5")
    oocsolve.ols("y ~ x1", df, device="cpu").save_state(state)
    expect("OOC_ERR_UNSUPPORTED", [], oocsolve.ols, "y ~ x1", df, resume=state, cov_type="HC0",
           device="cpu")
    expect("OOC_ERR_INVALID_ARG", [], oocsolve.ols, "y ~ x1", df, device="nosuch")
    acc = oocsolve.Accumulator(["a", "b"])
    X = np.ones((3, 2))
    X[1, 1] = np.nan
    expect("OOC_ERR_DATA", [], acc.push, X, np.zeros(3))
    assert acc.nobs == 0
    assert oocsolve.Error(5, "m").status == "OOC_ERR_DATA"


def check_accumulator_resume(oocsolve, rng, tmp):
    df = random_frame(rng)
    formula = "y ~ x1 + x2"
    full = oocsolve.ols(formula, df, weights=df.w.values, device="cpu")
    X = np.column_stack([np.ones(len(df)), df.x1, df.x2])
    half = len(df) // 2
    with oocsolve.Accumulator(["Intercept", "x1", "x2"], weighted=True) as acc:
        acc.push(X[:half], df.y.values[:half], df.w.values[:half])           # C order, in place
        acc.save(os.path.join(tmp, "acc.h5"))
    with oocsolve.Accumulator.load(os.path.join(tmp, "acc.h5")) as acc:
        acc.push(np.asfortranarray(X[half:]), df.y.values[half:], df.w.values[half:])
        assert acc.nobs == len(df)
        pushed = acc.fit()
    strided = np.zeros((len(df), 5))
    strided[:, :3] = X                                                       # ldx = 5
    with oocsolve.Accumulator(3, weighted=True) as acc:
        acc.push(strided[:, :3], df.y.values, df.w.values)
        check("Accumulator ldx params", acc.fit().params.values, full.params.values)
    first = oocsolve.ols(formula, df.iloc[:half], weights=df.w.values[:half], device="cpu")
    state = os.path.join(tmp, "state.h5")
    first.save_state(state)
    resumed = oocsolve.ols(formula, df.iloc[half:], weights=df.w.values[half:], resume=state,
                           device="cpu")
    for label, res in (("Accumulator", pushed), ("resume", resumed)):
        for name in ("params", "bse", "tvalues", "pvalues"):
            check(f"{label} {name}", getattr(res, name).values, getattr(full, name).values)
        for name in SCALARS:
            check(f"{label} {name}", getattr(res, name), getattr(full, name))
        check(f"{label} nobs", res.nobs, full.nobs, 0.0, 0.0)


def check_svd_ingest(oocsolve, rng, tmp):
    import patsy
    df = random_frame(rng)
    formula = "y ~ x1 + x2 + C(g)"
    X = np.asarray(patsy.dmatrices(formula, df)[1])
    s_ref = np.linalg.svd(X, compute_uv=False)
    out = oocsolve.svd(df, formula=formula, vectors=True, device="cpu")
    check("svd s", out.s, s_ref, atol=RTOL * s_ref[0])
    check("svd condition_number", out.condition_number, s_ref[0] / s_ref[-1])
    check("svd Vᵀ orthonormal", out.vt.values @ out.vt.values.T, np.eye(len(s_ref)), atol=1e-12)
    csv, h5 = os.path.join(tmp, "ingest.csv"), os.path.join(tmp, "ingest.h5")
    df.to_csv(csv, index=False)
    stats = oocsolve.ingest(csv, formula, h5)
    assert stats["rows_written"] == len(df) and stats["ncols"] == X.shape[1], stats
    from_h5 = oocsolve.ols(None, h5, cov_type="HC0", device="cpu").to_dict()
    from_csv = oocsolve.ols(formula, csv, cov_type="HC0", device="cpu").to_dict()
    for name in ("params", "bse", "rsquared", "llf"):
        check(f"ingest {name}", from_h5[name], from_csv[name])
    # codec=: a blosc file (PyTables' filter) fits to the same numbers as the deflate one, bit
    # for bit (same rows in the same chunks and blocks), and PyTables sees its compressor.
    import tables
    blosc = os.path.join(tmp, "ingest_lz4.h5")
    oocsolve.ingest(csv, formula, blosc, codec="blosc:lz4")
    from_blosc = oocsolve.ols(None, blosc, cov_type="HC0", device="cpu").to_dict()
    for name in ("params", "bse", "rsquared", "llf"):
        check(f"ingest blosc:lz4 {name}", from_blosc[name], from_h5[name], 0.0, 0.0)
    with tables.open_file(blosc) as t:
        assert t.root.X.filters.complib == "blosc:lz4", t.root.X.filters
    try:
        oocsolve.ingest(csv, formula, os.path.join(tmp, "bad_codec.h5"), codec="lz4")
        failures.append("ingest(codec='lz4') did not raise")
    except oocsolve.Error as e:
        assert e.status == "OOC_ERR_INVALID_ARG" and "blosc:lz4" in e.message, e
    assert not os.path.exists(os.path.join(tmp, "bad_codec.h5"))
    # transforms_from= and keep=: a second file built with the first's knots (the same design
    # for the same rows, bit for bit) and the group column beside it, used by a cluster fit
    import h5py
    spline = "y ~ bs(x1, df=4) + center(x2)"
    first, second = os.path.join(tmp, "first.h5"), os.path.join(tmp, "second.h5")
    oocsolve.ingest(csv, spline, first)
    oocsolve.ingest(csv, spline, second, transforms_from=first, keep="g")
    with h5py.File(first, "r") as a, h5py.File(second, "r") as b:
        assert np.array_equal(a["X"][...], b["X"][...]), "transforms_from gave another design"
        assert "keep" in b and b["keep"].shape == (len(df), 1), list(b)
    res = oocsolve.ols(None, second, cov_type="cluster", groups="g", device="cpu")
    assert res.cov_type == "cluster", res.cov_type
    # transforms_from= of ols and svd: new rows (a DataFrame, inside the first data's range of
    # x1: bs's knots) with the first file's knots and centre, against statsmodels and numpy on
    # patsy's design of the new rows from the first data's design info.  Tolerances:
    # lsq_bounds.py, the sum of two implementations' bounds (β: eta_beta·‖β‖ each; σ: ε_A·σmax
    # each, ε_A = √p·(p·√n + 3)·ε).
    import statsmodels.api as sm
    from lsq_bounds import EPS, eta_beta
    new = random_frame(rng, n=300)
    new = new[(new.x1 > df.x1.min()) & (new.x1 < df.x1.max())]
    Y, X = patsy.build_design_matrices(patsy.incr_dbuilders(spline, lambda: iter([df])), new,
                                       return_type="dataframe")
    ref = sm.OLS(Y.iloc[:, 0], X).fit()
    n, p = X.shape
    kappa = np.linalg.cond(X.values)
    tan = np.linalg.norm(ref.resid) / np.linalg.norm(X.values @ ref.params.values)
    res = oocsolve.ols(spline, new, transforms_from=first, device="cpu")
    assert list(res.params.index) == list(X.columns), (list(res.params.index), list(X.columns))
    check("ols transforms_from params", res.params.values, ref.params.values,
          atol=2 * eta_beta(n, p, kappa, tan) * np.linalg.norm(ref.params.values), rtol=0.0)
    s_ref = np.linalg.svd(X.values, compute_uv=False)
    out = oocsolve.svd(new, formula=spline, transforms_from=first, device="cpu")
    check("svd transforms_from s", out.s, s_ref,
          atol=2 * np.sqrt(p) * (p * np.sqrt(n) + 3) * EPS * s_ref[0], rtol=0.0)
    try:
        oocsolve.ols(None, second, transforms_from=first, device="cpu")
        failures.append("ols(HDF5 file, transforms_from=) did not raise")
    except oocsolve.Error as e:
        assert e.status == "OOC_ERR_INVALID_ARG" and "holds its design" in e.message, e


def check_progress(oocsolve, rng, tmp):
    """progress=: a callable sees each phase's rows grow and the last state's rows equal nobs
    (HDF5: totals known); a tqdm-like class gets one bar per phase; an exception from the
    display stops the call; bad values are refused."""
    import importlib.util
    import warnings
    n = 200_000
    df = random_frame(rng, n)
    csv, h5 = os.path.join(tmp, "progress.csv"), os.path.join(tmp, "progress.h5")
    df.to_csv(csv, index=False)
    formula = "y ~ x1 + x2 + C(g)"
    states = []
    oocsolve.ingest(csv, formula, h5, progress=states.append)
    res = oocsolve.ols(None, h5, device="cpu", progress=states.append)
    assert states and res.nobs == n, (len(states), res.nobs)
    for before, after in zip(states, states[1:]):
        assert after["phase"] != before["phase"] or after["rows"] >= before["rows"], \
            f"rows went back within a phase: {before} -> {after}"
    # C(g)'s levels are scanned first: the scan's phase shows when the display is sampled
    # during it (on a loaded machine), and always before ingest's writing
    phases = [st["phase"] for st in states]
    first_write = phases.index("writing") if "writing" in phases else -1
    assert first_write >= 0 and all(p == "scanning levels" for p in phases[:first_write]), \
        phases[:first_write + 1]
    last = states[-1]
    assert last["phase"] == "accumulate" or last["phase"].startswith("residual pass"), last
    assert last["rows"] == res.nobs and last["total_rows"] == res.nobs, last

    class Bar:   # the part of tqdm's interface a bar uses
        made = []

        def __init__(self, desc, total, unit, unit_scale):
            self.desc, self.total, self.n, self.closed = desc, total, 0, False
            Bar.made.append(self)

        def update(self, k):
            self.n += k

        def close(self):
            self.closed = True
    oocsolve.ols(formula, csv, device="cpu", progress=Bar)
    assert Bar.made and all(bar.closed for bar in Bar.made), Bar.made
    assert [bar.n for bar in Bar.made if bar.desc == "accumulate"] == [n], \
        [vars(bar) for bar in Bar.made]

    def fail(state):
        raise ValueError("display failed")
    try:
        oocsolve.ols(None, h5, device="cpu", progress=fail)
        failures.append("an exception from progress= did not reach the caller")
    except ValueError:
        pass
    try:
        oocsolve.ols(None, h5, device="cpu", progress="yes")
        failures.append("progress='yes' was accepted")
    except TypeError:
        pass
    check("progress=False", oocsolve.ols(None, h5, device="cpu", progress=False).params,
          res.params)
    if importlib.util.find_spec("tqdm") is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            oocsolve.ols(None, h5, device="cpu", progress=True)
        assert any("tqdm" in str(w.message) for w in caught), [str(w.message) for w in caught]


INTERRUPT_CHILD = """
import signal, sys, time
import oocsolve
signal.signal(signal.SIGINT, signal.default_int_handler)   # even if SIGINT came in ignored
print("started", flush=True)
try:
    oocsolve.ols(sys.argv[1], sys.argv[2], cov_type="HC1", device="cpu")
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
print("finished", flush=True)
"""


def check_interrupt(oocsolve, rng, tmp):
    """Ctrl-C: SIGINT to a child Python fitting a large CSV makes ols raise KeyboardInterrupt
    (the child prints "interrupted", exits 3) in well under half the uninterrupted fit's time,
    and leaves nothing in its temporary folder (TMPDIR: the state folder, a DataFrame's CSV).
    Sent at several points of the fit (the level scan, the first pass, the HC pass): ols
    must not return before the library has stopped (Thread.join did, on Python 3.11, and the
    child crashed with SIGSEGV on a source freed under the running fit)."""
    import signal
    import time
    formula = "y ~ C(g) * (x1 + x2 + I(x1**2) + I(x2**2) + I(x1*x2))"
    block = random_frame(rng, 20_000).to_csv(index=False)
    header, body = block.split("\n", 1)
    csv = os.path.join(tmp, "interrupt.csv")
    with open(csv, "w") as out:                 # 2.4M rows: the block repeated
        out.write(header + "\n" + body * 120)
    start = time.perf_counter()
    oocsolve.ols(formula, csv, cov_type="HC1", device="cpu")
    full = time.perf_counter() - start
    for i, fraction in enumerate((0.05, 0.15, 0.3, 0.45, 0.6)):   # the child may be faster
        what = f"interrupt at {fraction:.0%} of the fit"
        child_tmp = os.path.join(tmp, f"interrupt-tmp-{i}")
        os.mkdir(child_tmp)
        child = subprocess.Popen([sys.executable, "-c", INTERRUPT_CHILD, formula, csv],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, TMPDIR=child_tmp, PYTHONFAULTHANDLER="1"))
        first = child.stdout.readline().strip()
        time.sleep(fraction * full)
        child.send_signal(signal.SIGINT)
        sent = time.perf_counter()
        try:
            rest, errors = child.communicate(timeout=full)
        except subprocess.TimeoutExpired:
            child.kill()
            rest, errors = child.communicate()
        stopped = time.perf_counter() - sent
        print(f"{what}: full fit {full:.2f} s, stopped {stopped:.2f} s after SIGINT")
        if first != "started" or child.returncode != 3 or "interrupted" not in rest:
            failures.append(f"{what}: child printed {first!r}, {rest!r}, exit "
                            f"{child.returncode}, stderr {errors[-2000:]!r}")
        if stopped >= full / 2:
            failures.append(f"{what}: stopped {stopped:.2f} s after SIGINT, the full fit takes "
                            f"{full:.2f} s (want stopping in under half of it)")
        if os.listdir(child_tmp):
            failures.append(f"{what}: left behind in TMPDIR: {os.listdir(child_tmp)}")


def check_second_interrupt(oocsolve):
    """A second Ctrl-C while the first one waits for the library to stop does not cut the wait
    short.  A C call that ignores the cancel flag (libc usleep, 0.3 s) run through the
    package's Call; SIGINT to the main thread at 20 ms and again at 40 ms: KeyboardInterrupt
    must come out only once the call has returned (after ≥ 0.3 s)."""
    import ctypes
    import signal
    import threading
    import time
    from oocsolve._call import Call
    if threading.current_thread() is not threading.main_thread():
        return
    libc = ctypes.CDLL(None)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    main = threading.main_thread().ident       # to this thread: the worker's usleep runs on
    timers = [threading.Timer(t, signal.pthread_kill, (main, signal.SIGINT)) for t in (0.02, 0.04)]
    start = time.perf_counter()
    try:
        for timer in timers:
            timer.start()
        Call().run(libc.usleep, ctypes.c_uint(300_000))
        failures.append("second interrupt: no KeyboardInterrupt")
    except KeyboardInterrupt:
        waited = time.perf_counter() - start
        if waited < 0.3:
            failures.append(f"second interrupt: KeyboardInterrupt after {waited:.3f} s, "
                            "before the 0.3 s call returned")
    finally:
        for timer in timers:
            timer.join()
        signal.signal(signal.SIGINT, previous)


def check_tqdm(oocsolve, rng, tmp):
    """progress=True with tqdm installed: a real bar on stderr shows the phase and the final
    row count (HDF5 input: total known).  The bars are made while ols polls, after the
    redirect, so tqdm's file=sys.stderr default is the redirected stream."""
    import contextlib
    import io
    try:
        from tqdm import tqdm
    except ImportError:
        print("tqdm check skipped: tqdm is not installed")
        return
    n = 30_000
    csv, h5 = os.path.join(tmp, "tqdm.csv"), os.path.join(tmp, "tqdm.h5")
    random_frame(rng, n).to_csv(csv, index=False)
    oocsolve.ingest(csv, "y ~ x1 + x2 + C(g)", h5, progress=False)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        oocsolve.ols(None, h5, device="cpu", progress=True)
    shown = stderr.getvalue()
    rows = f"{tqdm.format_sizeof(n)}/{tqdm.format_sizeof(n)}"
    if "accumulate" not in shown or rows not in shown:
        failures.append(f"tqdm bar: no 'accumulate' or {rows!r} in {shown!r}")


def run_checks():
    import oocsolve
    assert os.path.realpath(oocsolve.__file__).startswith(os.path.realpath(sys.prefix)), \
        f"oocsolve imported from {oocsolve.__file__}, not the test venv {sys.prefix}"
    rng = np.random.default_rng(13)
    with tempfile.TemporaryDirectory() as tmp:
        check_random_vs_statsmodels(oocsolve, rng)
        check_cluster(oocsolve, np.random.default_rng(17))
        check_longley(oocsolve)
        check_frame_routes(oocsolve, rng, tmp)
        check_errors(oocsolve, rng, tmp)
        check_accumulator_resume(oocsolve, rng, tmp)
        check_svd_ingest(oocsolve, rng, tmp)
        check_progress(oocsolve, np.random.default_rng(14), tmp)
        check_interrupt(oocsolve, np.random.default_rng(15), tmp)
        check_second_interrupt(oocsolve)
        check_tqdm(oocsolve, np.random.default_rng(16), tmp)
    for failure in failures:
        print("FAIL", failure)
    print(f"python_package: {len(failures)} failure(s); oocsolve {oocsolve.__version__}")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["setup"]:
        setup(sys.argv[2], sys.argv[3])
    else:
        sys.exit(run_checks())

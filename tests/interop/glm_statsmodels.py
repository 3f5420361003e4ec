#!/usr/bin/env python3
"""oocsolve glm vs statsmodels' GLM.fit() (IRLS): every family with its default (canonical) link,
logit / probit / cloglog for binomial, a two-level categorical binomial response, proportions,
offsets, exposure, var_weights and freq_weights (each family with either and both: statsmodels
multiplies them), on random data (CSV + formula, and HDF5 from `oocsolve ingest`) and on the data
sets statsmodels ships (spector: binary; cpunish and randhie: counts; scotland: gamma).  Then the
messages: a response outside the family's range, a zero weight, a negative frequency weight or
all of them 0, an exposure <= 0, perfect separation (errors naming the row or the reason),
quasi-separation and non-convergence (warnings; the numbers still statsmodels' at that
iteration).

Tolerance: every number within REL = 1e-8 relative (parameters and standard errors relative to
max(|value|, its standard error): a coefficient far inside its standard error is zero to every
purpose; covariances relative to √(c_ii·c_jj); the Cox-Snell R², which is O(1), absolute).
Why 1e-8 holds: both programs run the same iteration, β_{j+1} = WLS(W(μ_j), z(μ_j)) from the
same starting μ, with the same stopping test on the same (scaled) deviance history, so they stop
at the same j (checked: iterations equal) and compare the same iterate.  Each WLS solve is
backward stable (oocsolve: Householder TSQR of [√W X, √W z]; statsmodels: LAPACK lstsq / pinv),
so each side's β_{j+1} is within about κε(2 + (κ+1)tan θ) (Higham Thm 20.1; κ the condition
number of √W X after scaling its columns to unit norm, which is what componentwise-by-column
accuracy depends on for Householder QR) of the exact WLS solution of its own inputs; an
error in β_j moves β_{j+1} by the IRLS map's Jacobian, whose spectral radius at the solution is
< 1 (Fisher scoring; 0 for canonical links), so the differences do not grow across iterations and
the final ones are of that order.  The statistics are smooth functions of β with modest
condition (the deviance is even stationary at the optimum).  The test computes that bound for every case
from statsmodels' final weights (first_order_bound) and requires it 100× below REL before
comparing (the largest here: cpunish, κ ≈ 600, bound ≈ 4e-12).  P-values: from z
(relative error ≤ 2·REL), |Δp| ≤ 2φ(z)|Δz| plus 1e-15·p for the two libraries' erfc.

--method normal (Gram + Cholesky) loses about 2pκ²ε more per solve: added to its bound.
"""
import json, math, os, subprocess, sys, tempfile, warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats as st

from cliutil import check, exit_status

OOC = os.environ.get("OOCSOLVE")  # the command (python_glm.py imports compare() alone)
EPS = np.finfo(float).eps
REL = 1e-8
F = sm.families
L = sm.families.links
margins = {}


def run(args, expect_ok=True):
    p = subprocess.run([OOC, "glm"] + args, capture_output=True, text=True)
    if expect_ok:
        if p.returncode != 0:
            raise SystemExit(f"oocsolve glm {' '.join(args)} failed:\n{p.stderr}")
        return json.loads(p.stdout) if "--json" in args else p.stdout
    return p


def first_order_bound(res, method):
    """The first-order bound on the relative error of one WLS solve of the last iteration:
    κε(2 + (κ+1)·tan θ) for a backward-stable QR (Higham Thm 20.1), κ = cond(√W X) with its
    columns scaled to unit norm (what Householder QR's column-wise backward error sees), W
    statsmodels' last IRLS weights, tan θ = ‖√W·g'(μ)(y - μ)‖ / ‖√W Xβ‖ (the working
    response's residual against its fit); method normal (Gram + Cholesky) adds 2pκ²ε."""
    X = np.asarray(res.model.exog, dtype=float)
    sw = np.sqrt(np.asarray(res.model.weights, dtype=float))
    A = sw[:, None] * X
    kappa = float(np.linalg.cond(A / np.linalg.norm(A, axis=0)))
    y = np.asarray(res.model.endog, dtype=float)
    mu = np.asarray(res.mu, dtype=float)
    resid = sw * res.family.link.deriv(mu) * (y - mu)
    tan = float(np.linalg.norm(resid) / np.linalg.norm(A @ np.asarray(res.params, float)))
    bound = kappa * EPS * (2 + (kappa + 1) * tan)
    if method == "normal":
        bound += 2 * X.shape[1] * kappa ** 2 * EPS
    return kappa, bound


def compare(tag, got, res, rel=REL, method="qr"):
    """Every number of got (oocsolve's JSON) against res (statsmodels' GLMResults)."""
    kappa, bound = first_order_bound(res, method)
    check(100 * bound < rel, f"{tag}: the first-order bound {bound:.2g} (κ = {kappa:.3g}) leaves "
          f"the tolerance {rel:g} less than a 100× margin")

    def near(name, a, b, scale):
        if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
            check((a is None) == (b is None or math.isnan(b)), f"{tag}: {name}: {a!r} vs {b!r}")
            return
        d = abs(a - b)
        tol = rel * scale
        key = name.split("[")[0]
        margins[key] = max(margins.get(key, 0.0), d / tol if tol > 0 else 0.0)
        check(d <= tol, f"{tag}: {name}: oocsolve {a!r} vs statsmodels {b!r} "
              f"(|diff| {d:.3g} > {tol:.3g})")

    check(got["iterations"] == res.fit_history["iteration"],
          f"{tag}: iterations {got['iterations']} vs statsmodels {res.fit_history['iteration']}")
    check(got["converged"] == bool(res.converged), f"{tag}: converged {got['converged']}")
    check(got["nobs"] == int(res.nobs), f"{tag}: nobs {got['nobs']} vs {res.nobs}")
    for k in ("df_model", "df_resid"):
        check(got[k] == float(getattr(res, k)), f"{tag}: {k} {got[k]} vs {getattr(res, k)}")
    check(got["names"] == list(res.model.exog_names),
          f"{tag}: names {got['names']} vs {res.model.exog_names}")
    params, bse = np.asarray(res.params, float), np.asarray(res.bse, float)
    z, pv = np.asarray(res.tvalues, float), np.asarray(res.pvalues, float)
    ci, cov = np.asarray(res.conf_int(), float), np.asarray(res.cov_params(), float)
    q = st.norm.ppf(0.975)
    for i in range(len(params)):
        s = max(abs(params[i]), bse[i])
        near(f"params[{i}]", got["params"][i], params[i], s)
        near(f"bse[{i}]", got["bse"][i], bse[i], bse[i])
        near(f"tvalues[{i}]", got["tvalues"][i], z[i], 2 * max(abs(z[i]), 1.0))
        tol_p = (2 * st.norm.pdf(z[i]) * 2 * max(abs(z[i]), 1.0) * rel + 1e-15 * pv[i] + 1e-300)
        d = abs(got["pvalues"][i] - pv[i])
        margins["pvalues"] = max(margins.get("pvalues", 0.0), d / tol_p)
        check(d <= tol_p, f"{tag}: pvalues[{i}]: {got['pvalues'][i]!r} vs {pv[i]!r}")
        for side in (0, 1):
            near(f"conf_int[{i}]", got["conf_int"][i][side], ci[i, side], s + q * bse[i])
        for j in range(len(params)):
            near(f"cov_params[{i}]", got["cov_params"][i][j], cov[i, j],
                 math.sqrt(cov[i, i] * cov[j, j]))
    for k in ("deviance", "pearson_chi2", "scale", "llf", "aic", "bic", "bic_deviance",
              "null_deviance", "llnull"):
        b = float(getattr(res, k))
        near(k, got[k], b, abs(b))
    near("pseudo_rsquared", got["pseudo_rsquared"], float(res.pseudo_rsquared(kind="cs")), 1.0)
    hist = res.fit_history["deviance"][1:]
    check(len(got["fit_history"]["deviance"]) == len(hist), f"{tag}: fit_history length")
    for i, (a, b) in enumerate(zip(got["fit_history"]["deviance"], hist)):
        near(f"fit_history[{i}]", a, float(b), abs(float(b)))
    print(f"{tag}: κ {kappa:.3g}, bound {bound:.2g}, {got['iterations']} iterations, "
          f"{got['passes']} passes")


def sm_fit(formula, data, family, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DomainWarning for non-canonical links
        fit_kw = {k: kw.pop(k) for k in ("maxiter",) if k in kw}
        return smf.glm(formula, data, family=family, **kw).fit(**fit_kw)


def random_data(tmp, n=3000, seed=7):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"x1": rng.standard_normal(n), "x2": rng.uniform(-1, 1, n),
                      "g": rng.choice(["a", "b", "c"], n)})
    eta = 0.3 + 0.8 * d.x1 - 0.5 * d.x2 + np.where(d.g == "b", 0.4, 0.0)
    d["ybin"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    d["yes_no"] = np.where(d.ybin == 1, "yes", "no")
    d["prop"] = rng.beta(2, 3, n)
    d["expo"] = rng.uniform(0.5, 4.0, n)
    d["off"] = rng.uniform(-0.3, 0.3, n)
    d["count"] = rng.poisson(np.exp(0.2 + 0.4 * d.x1 - 0.3 * d.x2 + np.log(d.expo) + d.off))
    d["ygauss"] = 1.0 + 2.0 * d.x1 - d.x2 + rng.standard_normal(n)
    mu_g = 1.0 / (0.5 + 0.1 * d.x1 ** 2 + 0.1 * (d.x2 + 1))  # inverse link, η > 0
    d["ygamma"] = rng.gamma(4.0, mu_g / 4.0)
    mu_ig = (0.5 + 0.1 * d.x1 ** 2 + 0.1 * (d.x2 + 1)) ** -0.5  # inverse-squared link
    d["yig"] = rng.wald(mu_ig, 8.0)
    d["w"] = rng.uniform(0.5, 2.0, n)
    d["fw"] = rng.integers(0, 5, n).astype(float)  # counts, some rows 0 (no observation)
    path = os.path.join(tmp, "random.csv")
    d.to_csv(path, index=False)
    return d, path


def test_random(tmp):
    d, path = random_data(tmp)
    rhs = "x1 + x2 + C(g)"
    cases = [
        ("binomial logit", f"ybin ~ {rhs}", F.Binomial(), ["--family", "binomial"], {}),
        ("binomial probit", f"ybin ~ {rhs}", F.Binomial(L.Probit()),
         ["--family", "binomial", "--link", "probit"], {}),
        ("binomial cloglog", f"ybin ~ {rhs}", F.Binomial(L.CLogLog()),
         ["--family", "binomial", "--link", "cloglog"], {}),
        ("binomial categorical response", f"yes_no ~ {rhs}", F.Binomial(),
         ["--family", "binomial"], {}),
        ("binomial proportions, var_weights", f"prop ~ {rhs}", F.Binomial(),
         ["--family", "binomial", "--weights", "w"], {"var_weights": d.w}),
        ("poisson offset + exposure", f"count ~ {rhs}", F.Poisson(),
         ["--family", "poisson", "--offset", "off", "--exposure", "expo"],
         {"offset": d.off, "exposure": d.expo}),
        ("poisson exposure, var_weights", f"count ~ {rhs}", F.Poisson(),
         ["--family", "poisson", "--exposure", "expo", "--weights", "w"],
         {"exposure": d.expo, "var_weights": d.w}),
        ("gaussian identity", f"ygauss ~ {rhs}", F.Gaussian(), ["--family", "gaussian"], {}),
        ("gaussian identity, var_weights", f"ygauss ~ {rhs}", F.Gaussian(),
         ["--family", "gaussian", "--weights", "w"], {"var_weights": d.w}),
        ("gamma inverse_power", f"ygamma ~ {rhs}", F.Gamma(), ["--family", "gamma"], {}),
        ("gamma log, var_weights", f"ygamma ~ {rhs}", F.Gamma(L.Log()),
         ["--family", "gamma", "--link", "log", "--weights", "w"], {"var_weights": d.w}),
        ("inverse_gaussian inverse_squared", f"yig ~ {rhs}", F.InverseGaussian(),
         ["--family", "inverse_gaussian"], {}),
        ("inverse_gaussian log, offset", f"yig ~ {rhs}", F.InverseGaussian(L.Log()),
         ["--family", "inverse_gaussian", "--link", "log", "--offset", "off"],
         {"offset": d.off}),
    ]
    for tag, formula, family, args, kw in cases:
        res = sm_fit(formula, d, family, **kw)
        got = run([path, "-f", formula, "--json"] + args)
        compare(tag, got, res)
    # the categorical response: its first level (patsy's order) is the success
    got = run([path, "-f", f"yes_no ~ {rhs}", "--family", "binomial", "--json"])
    check(got["dep_variable"] == "yes_no[no]", f"dep_variable {got['dep_variable']!r}")
    # HDF5 from ingest: the offset and exposure as columns of X, the weights a column
    h5 = os.path.join(tmp, "random.h5")
    p = subprocess.run([OOC, "ingest", path, "-f", f"count ~ {rhs} + off + expo + w + fw", "-o",
                        h5], capture_output=True, text=True)
    check(p.returncode == 0, f"ingest: {p.stderr}")
    res = sm_fit(f"count ~ {rhs}", d, F.Poisson(), offset=d.off, exposure=d.expo,
                 var_weights=d.w, freq_weights=d.fw)
    got = run([h5, "--family", "poisson", "--offset", "off", "--exposure", "expo", "--weights",
               "w", "--freq-weights", "fw", "--json"])
    compare("HDF5 poisson offset + exposure + var and freq weights", got, res)
    # freq_weights (--freq-weights) against var_weights (--weights): each family with its
    # canonical link, with either and with both (statsmodels' iweights f·v; df_resid from Σf)
    families = [("binomial", "ybin", F.Binomial()), ("poisson", "count", F.Poisson()),
                ("gaussian", "ygauss", F.Gaussian()), ("gamma", "ygamma", F.Gamma()),
                ("inverse_gaussian", "yig", F.InverseGaussian())]
    for fam, y, family in families:
        for kind, args, kw in (("freq_weights", ["--freq-weights", "fw"], {"freq_weights": d.fw}),
                               ("var_weights", ["--weights", "w"], {"var_weights": d.w}),
                               ("freq + var weights", ["--freq-weights", "fw", "--weights", "w"],
                                {"freq_weights": d.fw, "var_weights": d.w})):
            res = sm_fit(f"{y} ~ {rhs}", d, family, **kw)
            got = run([path, "-f", f"{y} ~ {rhs}", "--family", fam, "--json"] + args)
            compare(f"{fam}, {kind}", got, res)
            check(got["wnobs"] == float(res.model.wnobs) and
                  got["freq_weights"] == ("fw" if "freq_weights" in kw else None),
                  f"{fam}, {kind}: wnobs {got['wnobs']} vs {res.model.wnobs}")
    # with an offset: the null model (a constant and the offset) is fitted with them too
    res = sm_fit(f"count ~ {rhs}", d, F.Poisson(), offset=d.off, freq_weights=d.fw,
                 var_weights=d.w)
    got = run([path, "-f", f"count ~ {rhs}", "--family", "poisson", "--offset", "off",
               "--freq-weights", "fw", "--weights", "w", "--json"])
    compare("poisson offset, freq + var weights", got, res)
    # the text summary names them
    text = run([path, "-f", f"count ~ {rhs}", "--family", "poisson", "--freq-weights", "fw"])
    check(f"Frequency weights (statsmodels' freq_weights): fw; they sum to {d.fw.sum():g}"
          in text, f"summary notes: {text[-400:]!r}")
    # a formula that uses the frequency-weight column as a regressor too: the weights are the
    # column, the regressor stays
    res = sm_fit(f"count ~ {rhs} + fw", d, F.Poisson(), freq_weights=d.fw)
    got = run([path, "-f", f"count ~ {rhs} + fw", "--family", "poisson", "--freq-weights", "fw",
               "--json"])
    compare("poisson, fw a regressor and the freq_weights", got, res)

    # --method normal: the Gram's κ² ε per solve
    res = sm_fit(f"ybin ~ {rhs}", d, F.Binomial())
    got = run([path, "-f", f"ybin ~ {rhs}", "--family", "binomial", "--method", "normal",
               "--json"])
    compare("binomial logit, method normal", got, res, method="normal")


def test_real(tmp):
    ds = sm.datasets
    spector = ds.spector.load_pandas().data
    cpunish = ds.cpunish.load_pandas().data
    scotland = ds.scotland.load_pandas().data
    randhie = ds.randhie.load_pandas().data
    cases = [
        ("spector logit", spector, "GRADE ~ GPA + TUCE + PSI", F.Binomial(), ["binomial"]),
        ("spector probit", spector, "GRADE ~ GPA + TUCE + PSI", F.Binomial(L.Probit()),
         ["binomial", "--link", "probit"]),
        ("cpunish poisson", cpunish,
         "EXECUTIONS ~ np.log(INCOME) + PERPOVERTY + PERBLACK + np.log(VC100k96) + SOUTH + DEGREE",
         F.Poisson(), ["poisson"]),
        ("scotland gamma", scotland,
         "YES ~ COUTAX + UNEMPF + MOR + ACT + GDP + AGE + COUTAX_FEMALEUNEMP", F.Gamma(),
         ["gamma"]),
        ("randhie poisson", randhie,
         "mdvis ~ lncoins + idp + lpi + fmde + physlm + disea + hlthg + hlthf + hlthp",
         F.Poisson(), ["poisson"]),
    ]
    for tag, data, formula, family, args in cases:
        path = os.path.join(tmp, tag.split()[0] + ".csv")
        data.to_csv(path, index=False)
        res = sm_fit(formula, data, family)
        compare(tag, run([path, "-f", formula, "--json", "--family"] + args), res)


def test_messages(tmp):
    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def fails(tag, args, *words):
        p = run(args, expect_ok=False)
        check(p.returncode == 1, f"{tag}: exit status {p.returncode}, expected 1")
        for wd in words:
            check(wd in p.stderr, f"{tag}: {wd!r} not in the message {p.stderr!r}")
        check("Traceback" not in p.stderr and p.stdout == "", f"{tag}: output {p.stdout!r}")

    neg = write("neg.csv", "y,x\n1,0.5\n2,0.1\n-1,0.3\n")
    fails("negative count", [neg, "-f", "y ~ x", "--family", "poisson"],
          "neg.csv", "row 3", "-1", "poisson", ">= 0")
    out = write("out01.csv", "y,x\n1,0.5\n0,0.1\n1.5,0.3\n")
    fails("y outside [0, 1]", [out, "-f", "y ~ x", "--family", "binomial"],
          "out01.csv", "row 3", "1.5", "[0, 1]")
    fails("gamma y <= 0", [neg, "-f", "y ~ x", "--family", "gamma"], "row 3", "> 0")
    zw = write("zw.csv", "y,x,w\n1,0.5,1\n0,0.1,2\n1,0.3,0\n0,0.2,1\n")
    fails("zero weight", [zw, "-f", "y ~ x", "--family", "binomial", "--weights", "w"],
          "row 3", "weight 0")
    ze = write("ze.csv", "y,x,e\n1,0.5,1\n0,0.1,2\n1,0.3,0\n0,0.2,1\n")
    fails("exposure <= 0", [ze, "-f", "y ~ x", "--family", "poisson", "--exposure", "e"],
          "row 3", "exposure is 0")
    nf = write("nf.csv", "y,x,f\n1,0.5,1\n0,0.1,2\n1,0.3,-2\n0,0.2,1\n")
    fails("negative frequency weight",
          [nf, "-f", "y ~ x", "--family", "binomial", "--freq-weights", "f"],
          "nf.csv", "row 3", "invalid frequency weight -2")
    fails("unknown frequency-weight column",
          [nf, "-f", "y ~ x", "--family", "binomial", "--freq-weights", "nope"], "nope")
    z0 = write("z0.csv", "y,x,f\n1,0.5,0\n0,0.1,0\n")
    fails("frequency weights all 0",
          [z0, "-f", "y ~ x", "--family", "binomial", "--freq-weights", "f"],
          "frequency weights of all 2 rows are 0")
    fails("exposure without the log link",
          [ze, "-f", "y ~ x", "--family", "poisson", "--link", "identity", "--exposure", "e"],
          "log link")
    fails("a link the family refuses", [zw, "-f", "y ~ x", "--family", "poisson", "--link",
                                          "logit"], "logit", "poisson")
    sep = write("sep.csv", "y,x\n0,-3\n0,-2\n0,-1\n1,1\n1,2\n1,3\n")
    fails("perfect separation", [sep, "-f", "y ~ x", "--family", "binomial"],
          "perfect separation", "do not exist")
    three = write("three.csv", "y,x\na,1\nb,2\nc,3\na,4\nb,0\n")
    fails("three-level response", [three, "-f", "y ~ x", "--family", "binomial"],
          "3 levels", "exactly 2")

    # usage errors: exit status 2 before any work
    for tag, args, word in (("no --family", [neg, "-f", "y ~ x"], "--family"),
                            ("unknown family", [neg, "--family", "tweedie"], "tweedie"),
                            ("--profile is the input",
                             [neg, "-f", "y ~ x", "--family", "poisson", "--profile", neg],
                             "--profile")):
        p = run(args, expect_ok=False)
        check(p.returncode == 2 and word in p.stderr, f"{tag}: {p.returncode} {p.stderr!r}")

    # quasi-complete separation: x > 0 always 1, x <= 0 mixed; a warning naming the first row
    rng = np.random.default_rng(3)
    x = np.r_[rng.uniform(0.1, 2, 40), rng.uniform(-2, 0, 60)]
    y = np.r_[np.ones(40), (rng.random(60) < 0.5).astype(float)]
    q = pd.DataFrame({"y": y, "x": x, "pos": (x > 0).astype(float)})
    qpath = os.path.join(tmp, "quasi.csv")
    q.to_csv(qpath, index=False)
    got = run([qpath, "-f", "y ~ x + pos", "--family", "binomial", "--json"])
    check(any("40 rows have fitted probabilities within 1e-8 of their 0/1 response (the first "
              "is row 1)" in wn and "'pos' (by 1)" in wn for wn in got["warnings"]),
          f"quasi-separation: warnings {got['warnings']}")

    # not converging in --maxiter: a warning, the numbers those of statsmodels' maxiter
    spector = sm.datasets.spector.load_pandas().data
    path = os.path.join(tmp, "spector2.csv")
    spector.to_csv(path, index=False)
    got = run([path, "-f", "GRADE ~ GPA + TUCE + PSI", "--family", "binomial", "--maxiter", "2",
               "--json"])
    check(not got["converged"] and any("did not converge in 2 iterations" in wn
                                       for wn in got["warnings"]),
          f"maxiter 2: converged {got['converged']}, warnings {got['warnings']}")
    res = sm_fit("GRADE ~ GPA + TUCE + PSI", spector, F.Binomial(), maxiter=2)
    compare("spector logit, maxiter 2", got, res)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_random(tmp)
        test_real(tmp)
        test_messages(tmp)
    print("margins (largest |difference| / tolerance):",
          ", ".join(f"{k} {v:.2g}" for k, v in sorted(margins.items())))
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""python_glm.py — oocsolve.glm (the Python package) against statsmodels' smf.glm(...).fit().

Run by the package's venv (tests/python_package.cmake, after python_package_wheel).  The same
comparison as glm_statsmodels.py (its compare(): every number within 1e-8 relative, with the
first-order bound of each case checked 100× below that; the reasoning is in its docstring), on
GLMResults.to_dict(), whose names are the CLI JSON's:
  - each family with its canonical link, logit/probit/cloglog for binomial, from a CSV path with
    offset, exposure, freq_weights and var_weights as column names, and from a DataFrame with
    them as values (the same numbers, bit for bit, as the path: the same CSV text is read);
  - family and link given as statsmodels objects; a two-level categorical response;
  - an HDF5 file from oocsolve.ingest, the columns named as columns of X;
  - transforms_from=: new rows with the knots and centre an ingest of other rows learned,
    against statsmodels' GLM on patsy's design of them from the other rows' design info;
  - the statsmodels-named API: tvalues/zvalues, conf_int(alpha) (alpha 0.1 needs scipy),
    pseudo_rsquared("mcf"), fit_history, converged, summary();
  - errors as oocsolve.Error (status and a message naming the row), a bad family name as
    ValueError; progress= callbacks see the IRLS iterations' phases.
"""
import os
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

import oocsolve
from cliutil import check, exit_status

warnings.simplefilter("ignore", RuntimeWarning)  # the DomainWarnings of non-canonical links
from glm_statsmodels import F, L, REL, compare, random_data, sm_fit


def check_random(tmp):
    d, path = random_data(tmp, n=1500, seed=11)
    rhs = "x1 + x2 + C(g)"
    cases = [
        ("binomial logit", "ybin", "binomial", None, {}),
        ("binomial probit, freq_weights", "ybin", "binomial", "probit", {"freq_weights": "fw"}),
        ("binomial cloglog", "ybin", "binomial", "cloglog", {}),
        ("poisson offset + exposure + freq + var weights", "count", "poisson", None,
         {"offset": "off", "exposure": "expo", "freq_weights": "fw", "var_weights": "w"}),
        ("gaussian, var_weights", "ygauss", "gaussian", None, {"var_weights": "w"}),
        ("gamma, freq + var weights", "ygamma", "gamma", None,
         {"freq_weights": "fw", "var_weights": "w"}),
        ("inverse_gaussian, freq_weights", "yig", "inverse_gaussian", None,
         {"freq_weights": "fw"}),
    ]
    sm_family = {"binomial": F.Binomial, "poisson": F.Poisson, "gaussian": F.Gaussian,
                 "gamma": F.Gamma, "inverse_gaussian": F.InverseGaussian}
    sm_link = {"probit": L.Probit(), "cloglog": L.CLogLog()}
    for tag, y, family, link, cols in cases:
        formula = f"{y} ~ {rhs}"
        family_obj = sm_family[family](sm_link[link]) if link else sm_family[family]()
        ref = sm_fit(formula, d, family_obj, **{k: d[v] for k, v in cols.items()})
        by_path = oocsolve.glm(formula, path, family=family, link=link, **cols)
        compare(f"path: {tag}", by_path.to_dict(), ref)
        by_frame = oocsolve.glm(formula, d, family=family_obj,
                                **{k: d[v].to_numpy() for k, v in cols.items()})
        a, b = by_path.to_dict(), by_frame.to_dict()
        for key in ("params", "bse", "cov_params", "deviance", "llf", "fit_history"):
            check(a[key] == b[key], f"{tag}: {key} from the path and from the DataFrame differ")
        for key in ("offset", "exposure", "freq_weights"):
            check(b[key] == (key if key in cols else None),
                  f"{tag}: {key} named {b[key]!r} (values given)")
    # the statsmodels-named API on one of them
    res = oocsolve.glm(f"ybin ~ {rhs}", path, family=sm.families.Binomial())
    ref = sm_fit(f"ybin ~ {rhs}", d, F.Binomial())
    check(res.zvalues is res.tvalues and res.use_t is False, "zvalues / use_t")
    check(np.allclose(res.conf_int(alpha=0.1).values, np.asarray(ref.conf_int(alpha=0.1)),
                      rtol=REL, atol=0), "conf_int(alpha=0.1)")
    check(abs(res.pseudo_rsquared("mcf") - ref.pseudo_rsquared(kind="mcf")) <= REL,
          "pseudo_rsquared('mcf')")
    check(res.converged and res.fit_history["iteration"] == ref.fit_history["iteration"]
          and res.iterations == ref.fit_history["iteration"], "converged / fit_history")
    check(list(res.cov_params().columns) == list(ref.params.index), "cov_params columns")
    text = res.summary()
    check("Generalized Linear Model Regression Results" in text and "Binomial" in text
          and "ybin" in text, f"summary: {text[:300]!r}")
    # a two-level categorical response: its first level is the success, as statsmodels has it
    res = oocsolve.glm(f"yes_no ~ {rhs}", d, family="binomial")
    compare("categorical response", res.to_dict(), sm_fit(f"yes_no ~ {rhs}", d, F.Binomial()))
    check(res.endog_name == "yes_no[no]", f"endog_name {res.endog_name!r}")
    # HDF5 from ingest: the offset, exposure and weights as columns of X, named
    h5 = os.path.join(tmp, "random.h5")
    oocsolve.ingest(path, f"count ~ {rhs} + off + expo + w + fw", h5)
    res = oocsolve.glm(None, h5, family="poisson", offset="off", exposure="expo",
                       var_weights="w", freq_weights="fw")
    compare("HDF5 poisson, offset + exposure + var and freq weights", res.to_dict(),
            sm_fit(f"count ~ {rhs}", d, F.Poisson(), offset=d.off, exposure=d.expo,
                   var_weights=d.w, freq_weights=d.fw))
    # transforms_from=: a binomial logit of new rows (inside the first rows' range of x1) with
    # the knots and centre an ingest of the first rows learned, against statsmodels' GLM on
    # patsy's design of the new rows from the first rows' design info
    import patsy
    spline = "ybin ~ bs(x1, df=4) + center(x2) + C(g)"
    first = os.path.join(tmp, "spline.h5")
    oocsolve.ingest(d.iloc[:1000], spline, first)
    new = d.iloc[1000:]
    new = new[(new.x1 > d.x1[:1000].min()) & (new.x1 < d.x1[:1000].max())]
    Y, X = patsy.build_design_matrices(
        patsy.incr_dbuilders(spline, lambda: iter([d.iloc[:1000]])), new,
        return_type="dataframe")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.GLM(Y.iloc[:, 0], X, family=F.Binomial()).fit()
    compare("transforms_from", oocsolve.glm(spline, new, family="binomial",
                                            transforms_from=first).to_dict(), ref)
    # progress: a callable sees the IRLS iterations' phases (polled: at least the last)
    phases = []
    oocsolve.glm(f"ygauss ~ {rhs}", path, family="gaussian",
                 progress=lambda state: phases.append(state["phase"]))
    check(any(p.startswith("IRLS iteration") for p in phases),
          f"progress phases {sorted(set(phases))}")


def check_errors(tmp):
    path = os.path.join(tmp, "neg.csv")
    pd.DataFrame({"y": [1.0, 2.0, -1.0, 0.0], "x": [0.5, 0.1, 0.3, 0.2]}).to_csv(path,
                                                                                  index=False)
    try:
        oocsolve.glm("y ~ x", path, family="poisson")
        check(False, "a negative count raised nothing")
    except oocsolve.Error as exc:
        check(exc.status == "OOC_ERR_DATA" and "row 3" in str(exc) and "poisson" in str(exc),
              f"negative count: {exc.status} {exc}")
    sep = pd.DataFrame({"y": [0.0, 0, 0, 1, 1, 1], "x": [-3.0, -2, -1, 1, 2, 3]})
    try:
        oocsolve.glm("y ~ x", sep, family="binomial")
        check(False, "perfect separation raised nothing")
    except oocsolve.Error as exc:
        check(exc.status == "OOC_ERR_NUMERIC" and "perfect separation" in str(exc),
              f"separation: {exc}")
    for bad in ({"family": "tweedie"}, {"family": "poisson", "link": "logitt"},
                {"family": "binomial", "maxiter": 0}):
        try:
            oocsolve.glm("y ~ x", sep, **bad)
            check(False, f"{bad}: nothing raised")
        except ValueError:
            pass
    try:
        oocsolve.glm("y ~ x", [path], family="poisson", offset=np.zeros(4))
        check(False, "offset values with files: nothing raised")
    except TypeError as exc:
        check("need a DataFrame" in str(exc), f"offset values with files: {exc}")
    # not converging: a warning, converged False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spector = sm.datasets.spector.load_pandas().data
        res = oocsolve.glm("GRADE ~ GPA + TUCE + PSI", spector, family="binomial", maxiter=2)
    check(not res.converged and any("did not converge" in str(w.message) for w in caught),
          f"maxiter 2: converged {res.converged}, warnings {[str(w.message) for w in caught]}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check_random(tmp)
        check_errors(tmp)
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

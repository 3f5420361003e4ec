"""results.py — RegressionResults and GLMResults: a fit's statistics as pandas objects, named
like statsmodels' RegressionResults and GLMResults, copied out of an ooc_fit_result or an
ooc_glm_result."""
import ctypes

import numpy as np
import pandas as pd

from . import _capi
from .errors import Error

_SCALARS = ("ssr", "centered_tss", "uncentered_tss", "ess", "rsquared", "rsquared_adj",
            "fvalue", "f_pvalue", "llf", "aic", "bic", "df_model", "df_resid", "scale",
            "condition_number", "min_eigenvalue", "scaled_condition_number")


def _strings(pointer, n):
    return [pointer[i].decode("utf-8", "replace") for i in range(n)]


def _array(pointer, n):
    return np.ctypeslib.as_array(pointer, shape=(n,)).copy() if n else np.empty(0)



def _coefficient_dict(res, out):
    """Add res's coefficient table (params, bse, tvalues, pvalues, conf_int, cov_params) to the
    dict out, as lists: what OLS and GLM results' to_dict share."""
    for name in ("params", "bse", "tvalues", "pvalues"):
        out[name] = getattr(res, name).tolist()
    out["conf_int"] = res._conf.values.tolist()
    out["cov_params"] = res._cov.values.tolist()


def _coefficient_tables(res, r, p):
    """Set res's aliased, params, bse, tvalues, pvalues (Series over exog_names), the
    confidence limits and the covariance (DataFrames) from the C result r of p columns: the
    fields OLS and GLM results share."""
    res.aliased = pd.Series(np.ctypeslib.as_array(r.aliased, shape=(p,)).astype(bool),
                            index=res.exog_names, name="aliased")
    index = pd.Index(res.exog_names)
    for field in ("params", "bse", "tvalues", "pvalues"):
        setattr(res, field, pd.Series(_array(getattr(r, field), p), index=index, name=field))
    res._conf = pd.DataFrame({0: _array(r.conf_lower, p), 1: _array(r.conf_upper, p)},
                             index=index)
    res._cov = pd.DataFrame(_array(r.cov_params, p * p).reshape(p, p), index=index,
                            columns=index)

class RegressionResults:
    """Results of oocsolve.ols / Accumulator.fit.

    params, bse, tvalues, pvalues: Series indexed by the design's column names (NaN for an
    aliased column); conf_int(alpha), cov_params(): DataFrames; the scalars rsquared,
    rsquared_adj, fvalue, f_pvalue, llf, aic, bic, nobs, df_model, df_resid, scale, ssr, ess,
    centered_tss, uncentered_tss, condition_number; with cov_type "cluster", n_groups and
    df_resid_inference; summary(): the CLI's text report.
    """

    def __init__(self, c_result, state=None):
        r = c_result.contents
        p = r.p
        self.exog_names = _strings(r.names, p)
        self.endog_name = r.y_name.decode() if r.y_name else None
        self.formula = r.formula.decode() if r.formula else None
        self.method = "normal" if r.method == _capi.METHODS["normal"] else "qr"
        self.cov_type = [k for k, v in _capi.COV_TYPES.items() if v == r.cov][0]
        self.weighted = bool(r.weighted)
        self.nobs = int(r.nobs)
        self.rank = int(r.rank)
        self.use_t = bool(r.use_t)
        self.k_constant = int(r.k_constant)
        _coefficient_tables(self, r, p)
        self.singular_values = _array(r.singular_values, p)
        for name in _SCALARS:
            setattr(self, name, float(getattr(r, name)))
        self.warnings = _strings(r.warnings, r.nwarnings)
        self.refine_passes = int(r.refine_passes)
        c = r.cluster   # statsmodels' n_groups (a tuple for two-way) and df_resid_inference
        self.n_groups = (None if c.ndims == 0 else int(c.n_groups[0]) if c.ndims == 1
                         else (int(c.n_groups[0]), int(c.n_groups[1])))
        self.df_resid_inference = float(c.df_resid_inference) if c.ndims else None
        self._summary = _summary_text(c_result)
        self._state = state

    def conf_int(self, alpha=0.05):
        """Confidence intervals (columns 0 and 1), t or normal as use_t says.  alpha other
        than 0.05 needs scipy for the quantile."""
        if alpha == 0.05:
            return self._conf.copy()
        from scipy import stats
        q = stats.t.ppf(1 - alpha / 2, self.df_resid) if self.use_t else stats.norm.ppf(
            1 - alpha / 2)
        return pd.DataFrame({0: self.params - q * self.bse, 1: self.params + q * self.bse})

    def cov_params(self):
        """The p x p covariance of params (DataFrame, rows and columns named)."""
        return self._cov.copy()

    def summary(self):
        """The text summary `oocsolve fit` prints (statsmodels' layout)."""
        return self._summary

    def save_state(self, path):
        """Write the accumulated state of this fit (an HDF5 file, ooc_accumulator_save's
        format) to path: ols(..., resume=path) then fits these rows and new ones together."""
        if self._state is None:
            raise ValueError("this result has no saved state (fitted with resume=, or from an "
                             "Accumulator: use Accumulator.save)")
        with open(path, "wb") as out:
            out.write(self._state)

    def to_dict(self):
        """Every statistic as plain Python values (lists by column, in exog_names' order)."""
        out = {name: getattr(self, name) for name in _SCALARS}
        out.update(nobs=self.nobs, rank=self.rank, method=self.method, cov_type=self.cov_type,
                   weighted=self.weighted, use_t=self.use_t, exog_names=list(self.exog_names),
                   endog_name=self.endog_name, formula=self.formula,
                   warnings=list(self.warnings), aliased=self.aliased.tolist())
        _coefficient_dict(self, out)
        return out

    def __repr__(self):
        kind = "WLS" if self.weighted else "OLS"
        return (f"<oocsolve {kind} results: {self.formula or self.endog_name}, "
                f"nobs={self.nobs}, p={len(self.exog_names)}, R²={self.rsquared:.6g}, "
                f"cov_type={self.cov_type}, method={self.method}>")


def _summary_text(c_result, summary=None):
    """The text of summary (ooc_fit_result_summary, or ooc_glm_result_summary) for c_result."""
    summary = summary or _capi.lib.ooc_fit_result_summary
    err = _capi.Error()
    length = ctypes.c_size_t()
    buffer = ctypes.create_string_buffer(8192)
    for _ in range(2):
        status = summary(c_result, buffer, len(buffer), ctypes.byref(length), ctypes.byref(err))
        if status != 0 or length.value < len(buffer):
            break
        buffer = ctypes.create_string_buffer(length.value + 1)
    if status != 0:
        raise Error(status, err.message.decode("utf-8", "replace"))
    return buffer.value.decode("utf-8", "replace")


_GLM_SCALARS = ("deviance", "pearson_chi2", "scale", "llf", "aic", "bic", "bic_deviance",
                "df_model", "df_resid", "null_deviance", "llnull", "wnobs")


class GLMResults:
    """Results of oocsolve.glm, named like statsmodels' GLMResults.

    params, bse, tvalues (z statistics, as statsmodels' GLM), pvalues: Series indexed by the
    regressors' names (NaN for an aliased column); conf_int(alpha), cov_params(): DataFrames;
    the scalars deviance, pearson_chi2, scale, llf, aic, bic (bic_llf), bic_deviance,
    null_deviance, llnull, df_model, df_resid, nobs (rows), wnobs (their frequency weights'
    sum), converged, iterations and fit_history ({"deviance": [...], "iteration": n});
    pseudo_rsquared(kind); family and link names; warnings; summary(): the CLI's text report.
    """

    def __init__(self, c_result, renamed=None):
        r = c_result.contents
        p = r.p
        renamed = renamed or {}

        def name(pointer):
            text = pointer.decode() if pointer else None
            return renamed.get(text, text)

        self.exog_names = _strings(r.names, p)
        self.endog_name = r.y_name.decode() if r.y_name else None
        self.formula = r.formula.decode() if r.formula else None
        self.family = _capi.lib.ooc_glm_family_name(r.family).decode()
        self.link = _capi.lib.ooc_glm_link_name(r.link).decode()
        self.method = "IRLS"
        self.solver = "normal" if r.method == _capi.METHODS["normal"] else "qr"
        self.offset_name, self.exposure_name = name(r.offset_name), name(r.exposure_name)
        self.freq_weights_name = name(r.freq_weights_name)
        self.var_weights = bool(r.weighted)
        self.nobs = int(r.nobs)
        self.rank = int(r.rank)
        self.use_t = bool(r.use_t)
        self.cov_type = "nonrobust"
        _coefficient_tables(self, r, p)
        for field in _GLM_SCALARS:
            setattr(self, field, float(getattr(r, field)))
        self.bic_llf = self.bic
        self._prsq_cs = float(r.pseudo_rsquared)
        self.converged = bool(r.converged)
        self.iterations = int(r.iterations)
        self.fit_history = {"deviance": _array(r.deviance_history, self.iterations + 1).tolist(),
                            "iteration": self.iterations}
        self.passes = int(r.passes)
        self.warnings = _strings(r.warnings, r.nwarnings)
        text = _summary_text(c_result, _capi.lib.ooc_glm_result_summary)
        for column, key in renamed.items():   # values given in Python: statsmodels' names
            text = text.replace(column, key)
        self._summary = text

    @property
    def zvalues(self):
        """The z statistics (tvalues, as statsmodels names them for GLMs too)."""
        return self.tvalues

    def pseudo_rsquared(self, kind="cs"):
        """Cox-Snell ("cs", the default, as statsmodels') or McFadden ("mcf") pseudo R²."""
        kind = kind.lower()
        if kind.startswith("mcf"):
            return 1 - self.llf / self.llnull
        if kind.startswith("cox") or kind in ("cs", "lr"):
            return self._prsq_cs
        raise ValueError("only McFadden and Cox-Snell are available")

    def conf_int(self, alpha=0.05):
        """Confidence intervals (columns 0 and 1) from the normal distribution.  alpha other
        than 0.05 needs scipy for the quantile."""
        if alpha == 0.05:
            return self._conf.copy()
        from scipy import stats
        q = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame({0: self.params - q * self.bse, 1: self.params + q * self.bse})

    def cov_params(self):
        """The p x p covariance of params (DataFrame, rows and columns named)."""
        return self._cov.copy()

    def summary(self):
        """The text summary `oocsolve glm` prints (statsmodels' GLM layout)."""
        return self._summary

    def to_dict(self):
        """Every statistic as plain Python values, under the names of `oocsolve glm --json`
        (lists by column, in exog_names' order)."""
        out = {name: getattr(self, name) for name in _GLM_SCALARS}
        out.update(bic_llf=self.bic, pseudo_rsquared=self._prsq_cs, nobs=self.nobs,
                   rank=self.rank, family=self.family, link=self.link, solver=self.solver,
                   names=list(self.exog_names), dep_variable=self.endog_name,
                   formula=self.formula, offset=self.offset_name, exposure=self.exposure_name,
                   freq_weights=self.freq_weights_name, var_weights=self.var_weights,
                   use_t=self.use_t, converged=self.converged, iterations=self.iterations,
                   fit_history=dict(self.fit_history), passes=self.passes,
                   warnings=list(self.warnings), aliased=self.aliased.tolist())
        _coefficient_dict(self, out)
        return out

    def __repr__(self):
        return (f"<oocsolve GLM results: {self.formula or self.endog_name}, {self.family} "
                f"({self.link}), nobs={self.nobs}, p={len(self.exog_names)}, "
                f"deviance={self.deviance:.6g}, iterations={self.iterations}>")

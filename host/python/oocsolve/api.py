"""api.py — the functions: ols (OLS/WLS fits), glm (generalized linear models by out-of-core
IRLS), svd, ingest (CSV + formula -> HDF5)."""
import ctypes
import os
import tempfile
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import pandas as pd

from . import _capi
from ._call import Call
from ._formula_vars import FormulaVars, caller_namespace
from ._handles import Backend, Source
from ._inputs import Inputs
from ._progress import Progress
from .results import GLMResults, RegressionResults


def _option(table, value, what):
    if value not in table:
        raise ValueError(f"{what} must be one of {', '.join(map(str, table))}, not {value!r}")
    return table[value]


def ols(formula, data, weights=None, cov_type="nonrobust", method="qr", device="auto",
        progress=None, resume=None, dtype=None, na_values=None, keep_default_na=True, sep=",",
        vars=None, eval_env=0, refine="auto", max_refine=3, groups=None, use_correction=True,
        df_correction=True, transforms_from=None):
    """Fit a least-squares model out of core, with statsmodels' statistics.

    formula: patsy-style "y ~ terms" (used for CSV files and DataFrames; HDF5 files already
    hold X and Y).  data: a CSV or HDF5 path, a list of them (their rows in order), a pandas
    DataFrame or an iterable of DataFrames (e.g. pd.read_csv(path, chunksize=...)).
    weights: a column name (HDF5: a column of X, or a dataset such as '/W'), or values when
    data is a DataFrame (WLS).  cov_type: "nonrobust", "HC0", "HC1" or "cluster" (statsmodels'
    CRV1 with groups: one column name, or two for two-way clustering; the columns of a CSV or
    DataFrame, in the formula or not, or those `ingest --keep` stored; use_correction and
    df_correction as statsmodels' cov_kwds).  method: "qr" (stable)
    or "normal" (Gram + Cholesky, faster).  device: "auto", "cpu", "gpu", "gpu:N".
    resume: a state saved by RegressionResults.save_state / Accumulator.save: the result is
    that of its rows and data's together (nonrobust only).  dtype, na_values,
    keep_default_na, sep: as pandas.read_csv, for CSV input.
    progress: None (a tqdm bar when stderr is a terminal and tqdm is installed), True, False,
    a tqdm-like class or a callable given a dict per update (phase, rows, bytes, total_rows,
    total_bytes).  Ctrl-C stops the fit (KeyboardInterrupt).  Raises oocsolve.Error on failure.
    vars: a mapping of names the formula uses (C(g, levels=lnames)) to lists of levels; other
    names are looked up as patsy's eval_env does: eval_env frames above the caller of ols
    (0: the caller), its locals then its globals.  Lists, tuples, ranges, numpy arrays and
    pandas Index of Python str/int/float/bool are passed (TypeError for one that cannot be).
    refine: "auto" (refinement passes in extended precision when the first pass's error bound
    asks for them), True (always) or False (never); max_refine: at most that many passes.
    transforms_from: an HDF5 file ingested with the same formula (ingest): the formula's
    stateful transforms (center, standardize, scale, bs, cr, cc) use the centres and knots
    they learned there instead of learning them from data (a CSV or DataFrame, not HDF5).
    """
    formula_vars = FormulaVars(formula, vars, caller_namespace(eval_env, 1))
    counter = Progress(progress)
    call = Call(counter)
    options = _capi.FitOptions()
    _capi.lib.ooc_fit_options_init(ctypes.byref(options))
    options.method = _option(_capi.METHODS, method, "method")
    options.cov = _option(_capi.COV_TYPES, cov_type, "cov_type")
    keep = [groups] if isinstance(groups, str) else list(groups or ())
    if (cov_type == "cluster") != bool(keep) or len(keep) > 2:
        raise ValueError("cov_type='cluster' needs groups: one column name or two (and groups "
                         f"is only for it), got cov_type={cov_type!r}, groups={groups!r}")
    group_names = (ctypes.c_char_p * max(len(keep), 1))(*[g.encode() for g in keep])
    options.cluster.groups, options.cluster.ngroups = group_names, len(keep)
    options.cluster.no_correction = not use_correction
    options.cluster.no_df_correction = not df_correction
    options.refine = _option(_capi.REFINE_MODES, refine, "refine")
    if int(max_refine) < 1:
        raise ValueError(f"max_refine must be at least 1, got {max_refine!r}")
    options.max_refine = int(max_refine)
    options.cancel, options.log = call.cancel, call.log
    with formula_vars, counter, \
            Inputs(data, weights, dtype, na_values, keep_default_na, sep) as inputs, \
            tempfile.TemporaryDirectory(prefix="oocsolve-state-") as state_dir, \
            Backend(device, call) as backend, \
            Source(inputs, formula, formula_vars, backend, call, need_y=True,
                   keep=keep, transforms_from=transforms_from) as source:
        options.progress = counter.handle
        state_path = os.path.join(state_dir, "state.h5")
        options.save_state = state_path.encode()
        options.resume_state = os.fsencode(resume) if resume is not None else None
        result = ctypes.POINTER(_capi.FitResult)()
        call.run(_capi.lib.ooc_fit, source.handle, backend.handle, ctypes.byref(options),
                 ctypes.byref(result))
        try:
            with open(state_path, "rb") as state:
                return RegressionResults(result, state.read())
        finally:
            _capi.lib.ooc_fit_result_free(result)


def _glm_name(parse, value, what, choices):
    """A family or link as ooc_glm_family_parse / ooc_glm_link_parse read it: a name
    ("binomial", "cloglog"), or a statsmodels family or link object (its class name)."""
    text = value if isinstance(value, str) else type(value).__name__
    code = ctypes.c_int()
    if not parse(text.encode(), ctypes.byref(code)):
        raise ValueError(f"{what} must be one of {choices}, or a statsmodels {what} object, "
                         f"not {value!r}")
    return code.value


_GLM_COLUMNS = {"offset": "__oocsolve_offset__", "exposure": "__oocsolve_exposure__",
                "freq_weights": "__oocsolve_freq_weights__"}


def glm(formula, data, family="binomial", link=None, offset=None, exposure=None,
        freq_weights=None, var_weights=None, method="qr", maxiter=100, tol=1e-8, device="auto",
        progress=None, dtype=None, na_values=None, keep_default_na=True, sep=",", vars=None,
        eval_env=0, transforms_from=None):
    """Fit a generalized linear model out of core by IRLS (one pass over data per iteration),
    as statsmodels' smf.glm(formula, data, family, ...).fit(): same starting values,
    convergence test (the deviance changing by at most tol, at most maxiter iterations),
    covariance and statistics.

    family: "binomial", "poisson", "gaussian", "gamma", "inverse_gaussian", or a statsmodels
    family object (sm.families.Poisson()), whose link is used when link is None.  link: None
    (the family's), or "logit", "probit", "cloglog", "loglog", "cauchy", "log", "identity",
    "inverse_power", "inverse_squared", "sqrt", or a statsmodels link object.  A binomial
    response may be 0/1, a proportion, or a two-level categorical (its first level is the
    success, as patsy's two-column response gives statsmodels).
    offset, exposure (> 0, log link), freq_weights (>= 0: statsmodels' freq_weights) and
    var_weights (statsmodels' var_weights): column names (of the CSV, or of X in HDF5; HDF5
    var_weights may also be a dataset such as '/W'), or values when data is a DataFrame.
    data, method, device, progress, dtype, na_values, keep_default_na, sep, vars, eval_env,
    transforms_from: as for ols.  Returns GLMResults; raises oocsolve.Error on failure (a message naming the row for
    a response outside the family's range, perfect separation, ...).
    """
    formula_vars = FormulaVars(formula, vars, caller_namespace(eval_env, 1))
    counter = Progress(progress)
    call = Call(counter)
    options = _capi.GlmOptions()
    _capi.lib.ooc_glm_options_init(ctypes.byref(options))
    families = "binomial, poisson, gaussian, gamma, inverse_gaussian"
    options.family = _glm_name(_capi.lib.ooc_glm_family_parse, family, "family", families)
    if link is None and not isinstance(family, str) and getattr(family, "link", None) is not None:
        link = family.link
    if link is not None:
        options.link = _glm_name(_capi.lib.ooc_glm_link_parse, link, "link",
                                 "logit, probit, cloglog, loglog, cauchy, log, identity, "
                                 "inverse_power, inverse_squared, sqrt")
    options.method = _option(_capi.METHODS, method, "method")
    if int(maxiter) < 1 or not float(tol) > 0:
        raise ValueError(f"maxiter must be >= 1 and tol > 0, got {maxiter!r} and {tol!r}")
    options.max_iter, options.tol = int(maxiter), float(tol)
    options.cancel, options.log = call.cancel, call.log
    columns, extra = {}, {}
    for key, value in (("offset", offset), ("exposure", exposure),
                       ("freq_weights", freq_weights)):
        if isinstance(value, str):
            columns[key] = value
        elif value is not None:   # values: a column of the DataFrame's temporary CSV
            extra[_GLM_COLUMNS[key]] = value
            columns[key] = _GLM_COLUMNS[key]
    names = {key: value.encode() for key, value in columns.items()}
    options.offset_column = names.get("offset")
    options.exposure_column = names.get("exposure")
    options.freq_weights_column = names.get("freq_weights")
    with formula_vars, counter, \
            Inputs(data, var_weights, dtype, na_values, keep_default_na, sep, extra) as inputs, \
            Backend(device, call) as backend, \
            Source(inputs, formula, formula_vars, backend, call, need_y=True,
                   glm=options, transforms_from=transforms_from) as source:
        options.progress = counter.handle
        result = ctypes.POINTER(_capi.GlmResult)()
        call.run(_capi.lib.ooc_glm, source.handle, backend.handle, ctypes.byref(options),
                 ctypes.byref(result))
        try:
            return GLMResults(result, {column: key for key, column in columns.items()
                                       if column in extra})
        finally:
            _capi.lib.ooc_glm_result_free(result)


@dataclass
class SVDResult:
    """Singular values s (descending), Vᵀ (k x p DataFrame, columns named; None unless
    vectors or u_out), numpy's condition number over all min(nrows, p) values, the rows,
    the column names and where U was written (None unless u_out)."""
    s: np.ndarray
    vt: Optional[pd.DataFrame]
    condition_number: float
    nrows: int
    names: List[str]
    u_path: Optional[str]


def svd(data, k=None, vectors=False, u_out=None, formula=None, weights=None, method="qr",
        device="auto", progress=None, dtype=None, na_values=None, keep_default_na=True,
        sep=",", vars=None, eval_env=0, transforms_from=None):
    """SVD of the design matrix X of data (as for ols; y is ignored; formula "terms" or
    "y ~ terms" needed for CSV and DataFrames): all min(rows, p) singular values, or the k
    largest; vectors: compute Vᵀ; u_out: write U (rows x k) as /X of this new HDF5 file.
    progress, vars, eval_env, transforms_from: as for ols."""
    formula_vars = FormulaVars(formula, vars, caller_namespace(eval_env, 1))
    counter = Progress(progress)
    call = Call(counter)
    options = _capi.SvdOptions()
    _capi.lib.ooc_svd_options_init(ctypes.byref(options))
    options.method = _option(_capi.METHODS, method, "method")
    options.k = k or 0
    options.vectors = vectors
    options.u_out = os.fsencode(u_out) if u_out is not None else None
    options.cancel, options.log = call.cancel, call.log
    with formula_vars, counter, \
            Inputs(data, weights, dtype, na_values, keep_default_na, sep) as inputs, \
            Backend(device, call) as backend, \
            Source(inputs, formula, formula_vars, backend, call, need_y=False,
                   transforms_from=transforms_from) as source:
        options.progress = counter.handle
        result = ctypes.POINTER(_capi.SvdResult)()
        call.run(_capi.lib.ooc_svd, source.handle, backend.handle, ctypes.byref(options),
                 ctypes.byref(result))
        try:
            r = result.contents
            names = [r.names[j].decode() for j in range(r.p)]
            s = np.ctypeslib.as_array(r.s, shape=(r.k,)).copy() if r.k else np.empty(0)
            vt = None
            if r.vt and r.k:
                vt = pd.DataFrame(np.ctypeslib.as_array(r.vt, shape=(r.k, r.p)).copy(),
                                  columns=names)
            return SVDResult(s, vt, float(r.condition_number), int(r.nrows), names,
                             r.u_path.decode() if r.u_path else None)
        finally:
            _capi.lib.ooc_svd_result_free(result)


def ingest(csv, formula, out, compression_level=1, chunk_rows=0, nthreads=0, durable=False,
           dtype=None, na_values=None, keep_default_na=True, sep=",", progress=None, vars=None,
           eval_env=0, codec="deflate", transforms_from=None, keep=None):
    """Evaluate formula on a CSV file (or a DataFrame / chunks, as for ols) and write the design matrix (/X, and /Y when the
    formula has a response) to the HDF5 file out, replaced atomically.  Returns the
    statistics (rows_read, rows_written, rows_dropped, ncols, bytes_in, bytes_out, seconds)
    as a dict.  codec: "deflate" (readable by any HDF5 reader) or "blosc:lz4", "blosc:zstd",
    "blosc:blosclz", "blosc:lz4hc", "blosc:zlib" (PyTables' blosc filter: read by PyTables, or
    by h5py after `import hdf5plugin`), compressed at compression_level.  progress, vars,
    eval_env: as for ols.  transforms_from: an HDF5 file ingested with the same formula whose
    stateful transforms' centres and knots (center, standardize, bs, cr, cc) are used instead
    of learning them from this CSV.  keep: CSV column names stored besides X as /keep (group
    columns for a later ols(..., cov_type="cluster", groups=...))."""
    formula_vars = FormulaVars(formula, vars, caller_namespace(eval_env, 1))
    counter = Progress(progress)
    call = Call(counter)
    options = _capi.IngestOptions()
    _capi.lib.ooc_ingest_options_init(ctypes.byref(options))
    stats = _capi.IngestStats()
    with formula_vars, counter, \
            Inputs(csv, None, dtype, na_values, keep_default_na, sep) as inputs:
        if len(inputs.paths) != 1:
            raise ValueError("ingest reads one CSV file")
        options.csv_path = os.fsencode(inputs.paths[0])
        options.formula = formula.encode()
        options.output_path = os.fsencode(out)
        options.vars, options.nvars = formula_vars.array, formula_vars.count
        options.csv = inputs.csv_settings()
        options.compression_level = compression_level
        options.codec = codec.encode() if codec else None
        options.chunk_rows = chunk_rows
        options.nthreads = nthreads
        options.durable = durable
        options.cancel, options.log = call.cancel, call.log
        options.progress = counter.handle
        options.transforms_from = os.fsencode(transforms_from) if transforms_from else None
        keep = [keep] if isinstance(keep, str) else list(keep or [])
        kept = (ctypes.c_char_p * max(len(keep), 1))(*[k.encode() for k in keep])
        options.keep_columns, options.n_keep = kept, len(keep)
        call.run(_capi.lib.ooc_ingest, ctypes.byref(options), ctypes.byref(stats))
    return {name: getattr(stats, name) for name, _ in _capi.IngestStats._fields_}

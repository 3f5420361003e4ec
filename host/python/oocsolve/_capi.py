"""_capi.py — ctypes mirror of host/include/oocsolve.h and the loaded liboocsolve.so.

Every structure here lists the C fields in the header's order with the header's types; a
change to a public structure in oocsolve.h needs the same change here.  ``lib`` is the loaded
library with argtypes/restype set for each function used by the package.
"""
import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_int,
                    c_long, c_size_t, c_uint64, c_void_p)

LOG_FN = CFUNCTYPE(None, c_void_p, c_int, c_char_p)
LOG_WARNING = 2


class Error(Structure):
    _fields_ = [("status", c_int), ("message", c_char * 1536)]


class LogSink(Structure):
    _fields_ = [("fn", LOG_FN), ("user_data", c_void_p)]


class FormulaVar(Structure):
    _fields_ = [("name", c_char_p), ("value", c_char_p)]


class ColumnDtype(Structure):
    _fields_ = [("column", c_char_p), ("type", c_int)]


COLUMN_NUMERIC, COLUMN_CATEGORICAL = 1, 2


class CsvSettings(Structure):
    _fields_ = [("delimiter", c_char), ("na_values", POINTER(c_char_p)),
                ("n_na_values", c_size_t), ("no_default_na", c_bool),
                ("missing_is_error", c_bool), ("dtypes", POINTER(ColumnDtype)),
                ("ndtypes", c_size_t)]


class IngestStats(Structure):
    _fields_ = [("rows_read", c_uint64), ("rows_written", c_uint64),
                ("rows_dropped", c_uint64), ("ncols", c_size_t), ("bytes_in", c_uint64),
                ("bytes_out", c_uint64), ("seconds", c_double)]


class IngestOptions(Structure):
    _fields_ = [("csv_path", c_char_p), ("formula", c_char_p), ("output_path", c_char_p),
                ("vars", POINTER(FormulaVar)), ("nvars", c_size_t), ("csv", CsvSettings),
                ("compression_level", c_int), ("shuffle", c_bool), ("chunk_rows", c_size_t),
                ("nthreads", c_int), ("max_levels", c_size_t), ("durable", c_bool),
                ("cancel", POINTER(c_int)), ("log", LogSink), ("trace", c_void_p),
                ("progress", c_void_p), ("codec", c_char_p), ("collective", c_void_p),
                ("transforms_from", c_char_p),
                ("keep_columns", POINTER(c_char_p)), ("n_keep", c_size_t)]


class Allocator(Structure):
    _fields_ = [("alloc", c_void_p), ("free", c_void_p), ("ctx", c_void_p)]


class SourceOptions(Structure):
    _fields_ = [("x_dataset", c_char_p), ("y_dataset", c_char_p), ("y_column", c_char_p),
                ("w_dataset", c_char_p), ("w_column", c_char_p), ("need_y", c_bool),
                ("row_begin", c_uint64), ("row_end", c_uint64),
                ("formula", c_char_p), ("vars", POINTER(FormulaVar)), ("nvars", c_size_t),
                ("csv", CsvSettings), ("weights_name", c_char_p), ("max_levels", c_size_t),
                ("block_rows", c_size_t), ("ring_size", c_int), ("nthreads", c_int),
                ("allocator", Allocator), ("cancel", POINTER(c_int)), ("log", LogSink),
                ("trace", c_void_p), ("progress", c_void_p),
                ("keep_columns", POINTER(c_char_p)), ("n_keep", c_size_t),
                ("transforms_from", c_char_p)]


class BackendOptions(Structure):
    _fields_ = [("cpu_threads", c_int), ("log", LogSink), ("cpu_gram_blas", c_char_p)]


METHODS = {"qr": 0, "normal": 1}
COV_TYPES = {"nonrobust": 0, "HC0": 1, "HC1": 2, "cluster": 3}


class ClusterOptions(Structure):
    _fields_ = [("groups", POINTER(c_char_p)), ("ngroups", c_size_t),
                ("no_correction", c_bool), ("no_df_correction", c_bool),
                ("max_bytes", c_size_t)]


class ClusterInfo(Structure):
    _fields_ = [("ndims", c_size_t), ("n_groups", c_uint64 * 2), ("use_correction", c_bool),
                ("df_resid_inference", c_double)]


REFINE_MODES = {"auto": 0, True: 1, False: 2}   # ooc_refine_mode


class FitOptions(Structure):
    _fields_ = [("method", c_int), ("refine", c_int), ("max_refine", c_int), ("cov", c_int),
                ("save_state", c_char_p), ("resume_state", c_char_p),
                ("cancel", POINTER(c_int)), ("log", LogSink), ("trace", c_void_p),
                ("progress", c_void_p), ("collective", c_void_p), ("cluster", ClusterOptions)]


class FitResult(Structure):
    _fields_ = [("p", c_size_t), ("names", POINTER(c_char_p)), ("y_name", c_char_p),
                ("formula", c_char_p), ("method", c_int), ("cov", c_int),
                ("weighted", c_bool), ("nobs", c_uint64), ("rank", c_size_t),
                ("aliased", POINTER(c_bool)), ("n_aliased", c_size_t)]
    _fields_ += [(name, POINTER(c_double)) for name in (
        "params", "bse", "tvalues", "pvalues", "conf_lower", "conf_upper", "cov_params",
        "singular_values")]
    _fields_ += [(name, c_double) for name in (
        "ssr", "centered_tss", "uncentered_tss", "ess", "rsquared", "rsquared_adj", "fvalue",
        "f_pvalue", "llf", "aic", "bic", "df_model", "df_resid", "scale", "condition_number",
        "min_eigenvalue", "scaled_condition_number")]
    _fields_ += [("use_t", c_bool), ("k_constant", c_int), ("const_idx", c_long),
                 ("error_estimate", c_double), ("refined_automatically", c_bool),
                 ("refine_passes", c_int), ("refine_last_step", c_double),
                 ("warnings", POINTER(c_char_p)), ("nwarnings", c_size_t),
                 ("seconds_accumulate", c_double), ("seconds_refine", c_double),
                 ("seconds_second_pass", c_double), ("seconds_finalize", c_double),
                 ("cluster", ClusterInfo)]


class SvdOptions(Structure):
    _fields_ = [("method", c_int), ("k", c_size_t), ("vectors", c_bool), ("u_out", c_char_p),
                ("nthreads", c_int), ("cancel", POINTER(c_int)), ("log", LogSink),
                ("trace", c_void_p), ("progress", c_void_p), ("collective", c_void_p)]


class SvdResult(Structure):
    _fields_ = [("p", c_size_t), ("k", c_size_t), ("names", POINTER(c_char_p)),
                ("nrows", c_uint64), ("s", POINTER(c_double)), ("vt", POINTER(c_double)),
                ("condition_number", c_double), ("u_path", c_char_p),
                ("seconds_accumulate", c_double), ("seconds_u", c_double)]


class GlmOptions(Structure):
    _fields_ = [("family", c_int), ("link", c_int), ("method", c_int), ("max_iter", c_int),
                ("tol", c_double), ("response_column", c_char_p), ("y_name", c_char_p),
                ("offset_column", c_char_p), ("exposure_column", c_char_p),
                ("freq_weights_column", c_char_p), ("cancel", POINTER(c_int)), ("log", LogSink),
                ("trace", c_void_p), ("progress", c_void_p), ("collective", c_void_p),
                ("cov", c_int), ("cluster", ClusterOptions)]


class GlmResult(Structure):
    _fields_ = [("p", c_size_t), ("names", POINTER(c_char_p)), ("y_name", c_char_p),
                ("formula", c_char_p), ("offset_name", c_char_p), ("exposure_name", c_char_p),
                ("freq_weights_name", c_char_p), ("family", c_int), ("link", c_int),
                ("method", c_int), ("weighted", c_bool), ("nobs", c_uint64),
                ("wnobs", c_double), ("rank", c_size_t), ("aliased", POINTER(c_bool)),
                ("n_aliased", c_size_t)]
    _fields_ += [(name, POINTER(c_double)) for name in (
        "params", "bse", "tvalues", "pvalues", "conf_lower", "conf_upper", "cov_params")]
    _fields_ += [("use_t", c_bool)]
    _fields_ += [(name, c_double) for name in (
        "deviance", "pearson_chi2", "scale", "llf", "aic", "bic", "bic_deviance", "df_model",
        "df_resid", "null_deviance", "llnull", "pseudo_rsquared")]
    _fields_ += [("iterations", c_int), ("converged", c_bool),
                 ("deviance_history", POINTER(c_double)), ("passes", c_int),
                 ("warnings", POINTER(c_char_p)), ("nwarnings", c_size_t),
                 ("seconds_passes", c_double), ("seconds_finalize", c_double),
                 ("cov", c_int), ("cluster", ClusterInfo)]


class AccumulatorOptions(Structure):
    _fields_ = [("p", c_size_t), ("column_names", POINTER(c_char_p)), ("y_name", c_char_p),
                ("formula", c_char_p), ("weighted", c_bool), ("method", c_int),
                ("log", LogSink)]


ROW_MAJOR, COL_MAJOR = 0, 1


class Rows(Structure):
    _fields_ = [("nrows", c_size_t), ("x", c_void_p), ("ldx", c_size_t), ("order", c_int),
                ("y", c_void_p), ("w", c_void_p)]


class ProgressState(Structure):
    _fields_ = [("phase", c_char * 64), ("rows", c_uint64), ("bytes", c_uint64),
                ("total_rows", c_uint64), ("total_bytes", c_uint64)]


def _load():
    """liboocsolve.so beside this file (the wheel's layout), or $OOCSOLVE_LIBRARY."""
    path = os.environ.get("OOCSOLVE_LIBRARY") or os.path.join(os.path.dirname(__file__),
                                                               "liboocsolve.so")
    library = ctypes.CDLL(path)
    err = POINTER(Error)
    signatures = {
        "ooc_strerror": (c_char_p, [c_int]),
        "ooc_version": (c_char_p, []),
        "ooc_ingest_options_init": (None, [POINTER(IngestOptions)]),
        "ooc_ingest": (c_int, [POINTER(IngestOptions), POINTER(IngestStats), err]),
        "ooc_source_options_init": (None, [POINTER(SourceOptions)]),
        "ooc_source_open_files": (c_int, [POINTER(c_char_p), c_size_t, POINTER(SourceOptions),
                                          POINTER(c_void_p), err]),
        "ooc_source_free": (None, [c_void_p]),
        "ooc_backend_create": (c_int, [c_char_p, POINTER(BackendOptions), POINTER(c_void_p),
                                       err]),
        "ooc_backend_name": (c_char_p, [c_void_p]),
        "ooc_backend_allocator": (Allocator, [c_void_p]),
        "ooc_backend_free": (None, [c_void_p]),
        "ooc_fit_options_init": (None, [POINTER(FitOptions)]),
        "ooc_fit": (c_int, [c_void_p, c_void_p, POINTER(FitOptions), POINTER(POINTER(FitResult)),
                            err]),
        "ooc_fit_result_free": (None, [POINTER(FitResult)]),
        "ooc_fit_result_summary": (c_int, [POINTER(FitResult), c_char_p, c_size_t,
                                           POINTER(c_size_t), err]),
        "ooc_svd_options_init": (None, [POINTER(SvdOptions)]),
        "ooc_svd": (c_int, [c_void_p, c_void_p, POINTER(SvdOptions), POINTER(POINTER(SvdResult)),
                            err]),
        "ooc_svd_result_free": (None, [POINTER(SvdResult)]),
        "ooc_glm_options_init": (None, [POINTER(GlmOptions)]),
        "ooc_glm_family_parse": (c_bool, [c_char_p, POINTER(c_int)]),
        "ooc_glm_link_parse": (c_bool, [c_char_p, POINTER(c_int)]),
        "ooc_glm_family_name": (c_char_p, [c_int]),
        "ooc_glm_link_name": (c_char_p, [c_int]),
        "ooc_glm_source_open": (c_int, [POINTER(c_char_p), c_size_t, POINTER(SourceOptions),
                                        POINTER(GlmOptions), POINTER(c_void_p), err]),
        "ooc_glm": (c_int, [c_void_p, c_void_p, POINTER(GlmOptions), POINTER(POINTER(GlmResult)),
                            err]),
        "ooc_glm_result_free": (None, [POINTER(GlmResult)]),
        "ooc_glm_result_summary": (c_int, [POINTER(GlmResult), c_char_p, c_size_t,
                                           POINTER(c_size_t), err]),
        "ooc_accumulator_options_init": (None, [POINTER(AccumulatorOptions)]),
        "ooc_accumulator_create": (c_int, [POINTER(AccumulatorOptions), c_void_p,
                                           POINTER(c_void_p), err]),
        "ooc_accumulator_push": (c_int, [c_void_p, POINTER(Rows), err]),
        "ooc_accumulator_rows": (c_uint64, [c_void_p]),
        "ooc_accumulator_fit": (c_int, [c_void_p, POINTER(FitOptions), POINTER(POINTER(FitResult)),
                                        err]),
        "ooc_accumulator_save": (c_int, [c_void_p, c_char_p, err]),
        "ooc_accumulator_load": (c_int, [c_char_p, c_void_p, POINTER(c_void_p), err]),
        "ooc_accumulator_free": (None, [c_void_p]),
        "ooc_progress_counter_create": (c_int, [POINTER(c_void_p), err]),
        "ooc_progress_read": (None, [c_void_p, POINTER(ProgressState)]),
        "ooc_progress_free": (None, [c_void_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes
    return library


lib = _load()

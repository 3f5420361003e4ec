"""oocsolve — out-of-core least squares, GLMs and SVD with statsmodels' statistics.

    import oocsolve
    res = oocsolve.ols("y ~ x1 + C(g)", "data.csv", cov_type="HC1")
    print(res.summary()); res.params; res.conf_int()
    logit = oocsolve.glm("y ~ x1 + C(g)", "data.csv", family="binomial")

ctypes over liboocsolve's C API (oocsolve.h), which the wheel carries beside this file.
"""
from ._capi import lib as _lib
from .accumulator import Accumulator
from .api import SVDResult, glm, ingest, ols, svd
from .errors import Error
from .results import GLMResults, RegressionResults

__version__ = _lib.ooc_version().decode()
__all__ = ["Accumulator", "Error", "GLMResults", "RegressionResults", "SVDResult", "glm", "ingest",
           "ols", "svd"]

"""accumulator.py — Accumulator: rows pushed from numpy, fits that grow (ooc_accumulator)."""
import ctypes

import numpy as np

from . import _capi
from ._call import Call
from ._handles import Backend
from .results import RegressionResults

_DOUBLE = 8


def _x_layout(x):
    """(array, order, ldx) for a 2-D float64 array whose rows or columns are contiguous: no
    copy; anything else is copied to C order once."""
    if x.dtype == np.float64 and x.strides[1] == _DOUBLE and x.strides[0] % _DOUBLE == 0 \
            and x.strides[0] >= x.shape[1] * _DOUBLE:
        return x, _capi.ROW_MAJOR, x.strides[0] // _DOUBLE
    if x.dtype == np.float64 and x.strides[0] == _DOUBLE and x.strides[1] % _DOUBLE == 0 \
            and x.strides[1] >= x.shape[0] * _DOUBLE:
        return x, _capi.COL_MAJOR, x.strides[1] // _DOUBLE
    x = np.ascontiguousarray(x, dtype=np.float64)
    return x, _capi.ROW_MAJOR, x.shape[1]


def _vector(v, n, what):
    v = np.ascontiguousarray(v, dtype=np.float64)
    if v.shape != (n,):
        raise ValueError(f"{what} must have {n} values, has shape {v.shape}")
    return v


class Accumulator:
    """The state of a least-squares fit, O(p²) whatever the rows: push() rows, fit() any
    time, save() to an HDF5 file and load() it later to grow the fit.

    columns: the number of columns of X or their names; y_name, formula: recorded with the
    state; weighted: rows carry weights; method: "qr" or "normal"; device: as for ols.
    """

    def __init__(self, columns, y_name="y", formula=None, weighted=False, method="qr",
                 device="cpu"):
        names = [f"x{j}" for j in range(columns)] if isinstance(columns, int) else \
            [str(c) for c in columns]
        self._call = Call()
        self._backend = Backend(device, self._call)
        options = _capi.AccumulatorOptions()
        _capi.lib.ooc_accumulator_options_init(ctypes.byref(options))
        options.p = len(names)
        c_names = (ctypes.c_char_p * len(names))(*[n.encode() for n in names])
        options.column_names = c_names
        options.y_name = y_name.encode() if y_name else None
        options.formula = formula.encode() if formula else None
        options.weighted = weighted
        options.method = _capi.METHODS[method]
        options.log = self._call.log
        self._handle = ctypes.c_void_p()
        self._adopt(_capi.lib.ooc_accumulator_create(ctypes.byref(options),
                                                     self._backend.handle,
                                                     ctypes.byref(self._handle),
                                                     ctypes.byref(self._call.err)))

    @classmethod
    def load(cls, path, device="cpu"):
        """An Accumulator holding the state saved in path (by save, or by ols' save_state)."""
        self = cls.__new__(cls)
        self._call = Call()
        self._backend = Backend(device, self._call)
        self._handle = ctypes.c_void_p()
        self._adopt(_capi.lib.ooc_accumulator_load(str(path).encode(), self._backend.handle,
                                                   ctypes.byref(self._handle),
                                                   ctypes.byref(self._call.err)))
        return self

    def _adopt(self, status):
        if status != 0:
            self._backend.close()
            self._call.check(status)

    def push(self, X, y, w=None):
        """Add rows: X (n x p; a C- or Fortran-ordered float64 array is read in place), y
        (n), w (n weights >= 0, for a weighted accumulator).  A NaN/Inf or a negative weight
        raises Error(OOC_ERR_DATA) and adds nothing of the block."""
        x, order, ldx = _x_layout(np.asarray(X))
        n = x.shape[0]
        yv = _vector(y, n, "y")
        wv = _vector(w, n, "w") if w is not None else None
        rows = _capi.Rows(n, x.ctypes.data, ldx, order, yv.ctypes.data,
                          wv.ctypes.data if wv is not None else None)
        self._call.check(_capi.lib.ooc_accumulator_push(self._handle, ctypes.byref(rows),
                                                        ctypes.byref(self._call.err)))

    @property
    def nobs(self):
        """Rows accumulated so far."""
        return int(_capi.lib.ooc_accumulator_rows(self._handle))

    def fit(self):
        """RegressionResults of the rows so far (nonrobust covariance: no row is kept)."""
        options = _capi.FitOptions()
        _capi.lib.ooc_fit_options_init(ctypes.byref(options))
        options.cancel, options.log = self._call.cancel, self._call.log
        result = ctypes.POINTER(_capi.FitResult)()
        self._call.run(_capi.lib.ooc_accumulator_fit, self._handle, ctypes.byref(options),
                       ctypes.byref(result))
        try:
            return RegressionResults(result)
        finally:
            _capi.lib.ooc_fit_result_free(result)

    def save(self, path):
        """Write the state to a new HDF5 file (replaced atomically)."""
        self._call.run(_capi.lib.ooc_accumulator_save, self._handle, str(path).encode())

    def close(self):
        """Free the accumulator and its backend (also on exit of a with block)."""
        if self._handle:
            _capi.lib.ooc_accumulator_free(self._handle)
            self._handle = ctypes.c_void_p()
            self._backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None):
            self.close()

    def __repr__(self):
        return f"<oocsolve Accumulator: {self.nobs} rows>"

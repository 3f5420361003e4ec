"""_handles.py — the library's backends and sources as Python context managers."""
import ctypes
import os

from . import _capi


class Backend:
    """ooc_backend_create(device); freed on exit (or close())."""

    def __init__(self, device, call):
        self.handle = ctypes.c_void_p()
        options = _capi.BackendOptions(0, call.log)
        call.check(_capi.lib.ooc_backend_create((device or "auto").encode(),
                                                ctypes.byref(options),
                                                ctypes.byref(self.handle), ctypes.byref(call.err)))

    @property
    def name(self):
        return _capi.lib.ooc_backend_name(self.handle).decode()

    def close(self):
        _capi.lib.ooc_backend_free(self.handle)
        self.handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Source:
    """ooc_source_open_files over inputs (an _inputs.Inputs) for backend; freed on exit.

    formula: required for CSV inputs; formula_vars: its named values (a
    _formula_vars.FormulaVars, which must outlive the source); need_y: fail without a response;
    glm: the _capi.GlmOptions of a GLM, whose columns (offset, exposure, frequency weights, a
    categorical binomial response) ooc_glm_source_open adds to a CSV's formula.
    keep: column names delivered with the rows as group keys (CSV columns, or ingest --keep's).
    transforms_from: an HDF5 file ingested with the same formula whose stateful transforms'
    state a CSV's formula uses (ooc_source_options.transforms_from), or None.
    """

    def __init__(self, inputs, formula, formula_vars, backend, call, need_y, glm=None, keep=(),
                 transforms_from=None):
        options = _capi.SourceOptions()
        _capi.lib.ooc_source_options_init(ctypes.byref(options))
        options.need_y = need_y
        options.formula = formula.encode() if formula else None
        options.vars, options.nvars = formula_vars.array, formula_vars.count
        options.csv = inputs.csv_settings()
        if inputs.weights_name:
            name = inputs.weights_name.encode()
            if inputs.weights_name.startswith("/"):
                options.w_dataset = name
            else:
                options.w_column = name        # HDF5: a named column of X
                options.weights_name = name    # CSV: a column of the file
        options.allocator = _capi.lib.ooc_backend_allocator(backend.handle)
        options.cancel = call.cancel
        options.log = call.log
        if call.progress is not None:
            options.progress = call.progress.handle   # CSV: the level scan
        kept = (ctypes.c_char_p * max(len(keep), 1))(*[k.encode() for k in keep])
        options.keep_columns, options.n_keep = kept, len(keep)
        options.transforms_from = os.fsencode(transforms_from) if transforms_from else None
        paths = (ctypes.c_char_p * len(inputs.paths))(*[p.encode() for p in inputs.paths])
        self._keep = (options, paths, kept)   # the source may point into them while open
        self.handle = ctypes.c_void_p()
        if glm is None:
            call.run(_capi.lib.ooc_source_open_files, paths, len(inputs.paths),
                     ctypes.byref(options), ctypes.byref(self.handle))
        else:
            call.run(_capi.lib.ooc_glm_source_open, paths, len(inputs.paths),
                     ctypes.byref(options), ctypes.byref(glm), ctypes.byref(self.handle))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _capi.lib.ooc_source_free(self.handle)

"""_inputs.py — what ``data`` may be, turned into files the library opens.

Paths (CSV or HDF5, one or a list) are passed as they are.  A pandas DataFrame, or an
iterable of them (``pd.read_csv(path, chunksize=...)``), is streamed chunk by chunk into one
temporary CSV, so memory stays bounded by a chunk and the data go through the same formula
engine (and categorical level scan) as a CSV file; the columns' pandas dtypes are pinned
(numeric, or categorical for object/string/category/bool columns).  Floats are written with
Python's shortest round-trip repr, so the file holds exactly the DataFrame's values.
"""
import ctypes
import os
import tempfile

import pandas as pd

from . import _capi

WEIGHTS_COLUMN = "__oocsolve_weights__"


class Inputs:
    """Files for ``data``, and what the CSV reader needs; a context manager (removes the
    temporary CSV)."""

    def __init__(self, data, weights=None, dtype=None, na_values=None, keep_default_na=True,
                 sep=",", extra=None):
        """extra: {column name: values} written beside a DataFrame's columns (a GLM's offset,
        exposure and frequency weights given as values)."""
        self._tempdir = None
        self._extra = dict(extra or {})
        if self._extra and not isinstance(data, pd.DataFrame):
            raise TypeError("values for " + ", ".join(self._extra) + " need a DataFrame as data; "
                            "with files or chunks name a column")
        self._keep = []                      # ctypes arrays the options point into
        self.weights_name = None
        self.dtypes = dict(dtype or {})
        if isinstance(data, (str, os.PathLike)):
            self.paths = [os.fspath(data)]
        elif isinstance(data, pd.DataFrame):
            self.paths = [self._write_frames([data], weights)]
        elif isinstance(data, (list, tuple)) and data and all(
                isinstance(d, (str, os.PathLike)) for d in data):
            self.paths = [os.fspath(d) for d in data]
        elif hasattr(data, "__iter__"):
            self.paths = [self._write_frames(data, weights)]
        else:
            raise TypeError("data must be a CSV/HDF5 path, a list of paths, a DataFrame or an "
                            f"iterable of DataFrames, not {type(data).__name__}")
        if isinstance(weights, str):
            self.weights_name = weights
        elif weights is not None and not isinstance(data, pd.DataFrame):
            raise TypeError("weights as values need a DataFrame; with files or chunks name a "
                            "column (or an HDF5 dataset such as '/W')")
        self.na_values = list(na_values or [])
        self.keep_default_na = keep_default_na
        self.sep = sep

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def _write_frames(self, frames, weights):
        self._tempdir = tempfile.TemporaryDirectory(prefix="oocsolve-")
        path = os.path.join(self._tempdir.name, "data.csv")
        columns = None
        with open(path, "w", newline="") as out:
            for frame in frames:
                if not isinstance(frame, pd.DataFrame):
                    raise TypeError("an iterable given as data must yield DataFrames, not "
                                    f"{type(frame).__name__}")
                if weights is not None and not isinstance(weights, str):
                    frame = frame.assign(**{WEIGHTS_COLUMN: pd.Series(
                        weights, index=frame.index, dtype="float64")})
                    self.weights_name = WEIGHTS_COLUMN
                if self._extra:
                    frame = frame.assign(**{name: pd.Series(values, index=frame.index,
                                                            dtype="float64")
                                            for name, values in self._extra.items()})
                if columns is None:
                    columns = list(frame.columns)
                    for name in columns:
                        self.dtypes.setdefault(str(name), _pinned_type(frame[name]))
                elif list(frame.columns) != columns:
                    raise ValueError(f"a chunk has columns {list(frame.columns)}, the first "
                                     f"had {columns}")
                frame.to_csv(out, index=False, header=out.tell() == 0)
        if columns is None:
            raise ValueError("data yielded no DataFrame")
        return path

    def csv_settings(self):
        """The ooc_csv_settings for these inputs (arrays kept alive by self)."""
        settings = _capi.CsvSettings()
        settings.delimiter = self.sep.encode()
        if self.na_values:
            values = (ctypes.c_char_p * len(self.na_values))(*[v.encode() for v in self.na_values])
            self._keep.append(values)
            settings.na_values, settings.n_na_values = values, len(self.na_values)
        settings.no_default_na = not self.keep_default_na
        if self.dtypes:
            pins = (_capi.ColumnDtype * len(self.dtypes))(*[
                _capi.ColumnDtype(name.encode(), _column_type(kind))
                for name, kind in self.dtypes.items()])
            self._keep.append(pins)
            settings.dtypes, settings.ndtypes = pins, len(self.dtypes)
        return settings


def _pinned_type(column):
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        return "category"
    return "float"


def _column_type(kind):
    """pandas' dtype= spellings: numeric (float, int, ...) or categorical (str, category, ...)."""
    text = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    if text in ("str", "object", "category", "string", "bool"):
        return _capi.COLUMN_CATEGORICAL
    return _capi.COLUMN_NUMERIC


"""_progress.py — the progress= argument: a library counter polled from the waiting thread.

The counter is liboocsolve's silent ooc_progress (ooc_progress_counter_create): the library
counts rows and bytes into it per phase ("scanning levels", "writing", "accumulate",
"residual pass (refine)", ...) and prints nothing.  Call.run polls it every ~0.1 s while the C
call runs in its worker thread, and once more when the call returns, and hands each changed
state to what progress= asked for:

    None      a tqdm bar when stderr is a terminal and tqdm is installed; otherwise nothing
    True      a tqdm bar (tqdm.auto: a widget in notebooks); a warning if tqdm is missing
    False     nothing (no counter)
    a class   tqdm-like (e.g. tqdm.notebook.tqdm): one bar per phase, made as
              cls(desc=phase, total=total_rows or None, unit="rows", unit_scale=True)
    callable  called with the state dict: phase, rows, bytes, total_rows, total_bytes (the
              counts of the current phase; totals 0 when unknown, as for CSV input)
"""
import ctypes
import sys
import warnings

from . import _capi
from .errors import Error


class _Bars:
    """One tqdm-like bar per phase; rows as the count, total_rows as the total when known."""

    def __init__(self, factory):
        self._factory = factory
        self._bar = None
        self._phase = None

    def __call__(self, state):
        if state["phase"] != self._phase:
            self.close()
            self._phase = state["phase"]
            self._bar = self._factory(desc=self._phase, total=state["total_rows"] or None,
                                      unit="rows", unit_scale=True)
        self._bar.update(state["rows"] - self._bar.n)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _tqdm(asked):
    """tqdm.auto's bar class, or None (with a warning when progress=True asked for it)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if asked:
            warnings.warn("progress=True needs tqdm (pip install tqdm); no progress shown",
                          RuntimeWarning, stacklevel=4)
        return None
    return tqdm


def _display(progress):
    """What progress= shows each state with, or None for no progress."""
    if progress is False:
        return None
    if progress is None or progress is True:
        if progress is None and not sys.stderr.isatty():
            return None
        factory = _tqdm(asked=progress is True)
        return _Bars(factory) if factory else None
    if isinstance(progress, type):
        return _Bars(progress)
    if callable(progress):
        return progress
    raise TypeError(f"progress must be None, True, False, a callable or a tqdm-like class, "
                    f"not {progress!r}")


class Progress:
    """The counter of one ols/svd/ingest and its display; ``handle`` (NULL when off) goes
    into the options of each library call.  A context manager: the counter exists inside
    the with block (which must enclose the source that reports into it); on exit the last
    bar is closed and the counter freed."""

    def __init__(self, progress):
        self._display = _display(progress)
        self._last = None
        self.handle = ctypes.c_void_p()

    def poll(self):
        """Read the counter; show the state if it changed since the last poll."""
        if not self.handle:
            return
        raw = _capi.ProgressState()
        _capi.lib.ooc_progress_read(self.handle, ctypes.byref(raw))
        state = {"phase": raw.phase.decode("utf-8", "replace"), "rows": raw.rows,
                 "bytes": raw.bytes, "total_rows": raw.total_rows,
                 "total_bytes": raw.total_bytes}
        if state["phase"] and state != self._last:
            self._last = state
            self._display(state)

    def __enter__(self):
        if self._display is not None:
            err = _capi.Error()
            status = _capi.lib.ooc_progress_counter_create(ctypes.byref(self.handle),
                                                           ctypes.byref(err))
            if status != 0:
                raise Error(int(status), err.message.decode("utf-8", "replace"))
        return self

    def __exit__(self, *exc):
        if isinstance(self._display, _Bars):
            self._display.close()
        _capi.lib.ooc_progress_free(self.handle)
        self.handle = ctypes.c_void_p()

"""_call.py — running one library call: error struct, cancel flag, log sink, Ctrl-C.

The C call runs in a worker thread (ctypes releases the GIL) while the main thread waits in
short joins, so KeyboardInterrupt arrives; it then raises the cancel flag the call was given,
waits for the library to stop (OOC_ERR_INTERRUPTED) and re-raises KeyboardInterrupt.  Between
joins (every ~0.1 s) and once the call returns it polls the progress counter, if any; an
exception from the progress display stops the call the same way.
Warnings the library logs are re-issued as Python warnings once the call returns.
"""
import ctypes
import threading
import warnings

from . import _capi
from .errors import Error


class Call:
    """The context of library calls: ``cancel``, ``log`` and ``progress.handle`` go into
    their options.  progress: a _progress.Progress (its owner frees it) or None."""

    def __init__(self, progress=None):
        self.progress = progress
        self.err = _capi.Error()
        self._flag = ctypes.c_int(0)
        self.cancel = ctypes.pointer(self._flag)
        self._messages = []
        self._log_fn = _capi.LOG_FN(self._on_log)   # kept alive as long as the call
        self.log = _capi.LogSink(self._log_fn, None)

    def _on_log(self, _user, level, message):
        if level >= _capi.LOG_WARNING:
            self._messages.append(message.decode("utf-8", "replace"))

    def check(self, status):
        """Raise Error for a failing status (the message from the error struct)."""
        if status != 0:
            raise Error(int(status), self.err.message.decode("utf-8", "replace"))

    def run(self, function, *args):
        """function(*args, byref(err)) in a worker thread; raise Error when it fails."""
        outcome = {}

        def work():
            try:
                outcome["status"] = function(*args, ctypes.byref(self.err))
            except BaseException as exc:   # a ctypes argument error: raised in the caller
                outcome["exception"] = exc

        worker = threading.Thread(target=work, name="oocsolve call", daemon=True)
        worker.start()
        try:
            running = True
            while running:              # the last poll sees the finished call's counts
                worker.join(0.1)
                running = worker.is_alive()
                self._poll()
        except BaseException:   # Ctrl-C, or the progress display failed
            self._flag.value = 1
            worker.join()
            raise
        finally:
            for message in self._messages:
                warnings.warn(message, RuntimeWarning, stacklevel=3)
            self._messages.clear()
        if "exception" in outcome:
            raise outcome["exception"]
        self.check(outcome["status"])

    def _poll(self):
        """Show the progress counter's state (no-op without one)."""
        if self.progress is not None:
            self.progress.poll()

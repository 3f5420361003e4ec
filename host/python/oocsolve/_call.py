"""_call.py — running one library call: error struct, cancel flag, log sink, Ctrl-C.

The C call runs in a worker thread (ctypes releases the GIL) while the main thread waits in
short waits on a lock the worker releases when the call returns, so KeyboardInterrupt arrives; it
then raises the cancel flag the call was given, waits for the library to stop
(OOC_ERR_INTERRUPTED), and only then re-raises KeyboardInterrupt: the handles the call uses are
freed by the caller's with-blocks, so the call must have returned.  That last wait ignores
further Ctrl-C (the library stops within milliseconds of the flag).  Not Thread.join: CPython
3.11's join, interrupted by KeyboardInterrupt, can mark a thread that is still running as
stopped, and a later join then returns at once (that freed a source under a running fit).
Between waits (every ~0.1 s) and once the call returns it polls the progress counter, if any;
an exception from the progress display stops the call the same way.
Warnings the library logs are re-issued as Python warnings once the call returns.
"""
import ctypes
import signal
import threading
import time
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
        finished = threading.Lock()     # held until the call returns; the worker releases it
        finished.acquire()

        def work():
            try:
                outcome["status"] = function(*args, ctypes.byref(self.err))
            except BaseException as exc:   # a ctypes argument error: raised in the caller
                outcome["exception"] = exc
            finally:
                outcome["done"] = True
                finished.release()

        worker = threading.Thread(target=work, name="oocsolve call", daemon=True)
        started = False
        sigint = _DeferredSigint()   # a Ctrl-C during start() is raised in the try below
        try:
            worker.start()
            started = True
            sigint.restore()
            done = False
            while not done:             # the last poll sees the finished call's counts
                done = finished.acquire(timeout=0.1)
                self._poll()
        except BaseException:   # Ctrl-C, or the progress display failed
            sigint.restore(deliver=False)
            if started:
                self._flag.value = 1
                _wait_through_interrupts(outcome)
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


def _wait_through_interrupts(outcome):
    """Sleep in short steps until the worker has marked outcome done; a further Ctrl-C meanwhile
    is dropped (the first one is being raised).  Plain sleeps and a flag, not Event.wait: a
    KeyboardInterrupt inside threading's Condition can leave its lock in a broken state."""
    while "done" not in outcome:
        try:
            time.sleep(0.002)
        except KeyboardInterrupt:
            pass


class _DeferredSigint:
    """Holds SIGINT back while a worker starts: from construction to restore(), a SIGINT is
    recorded instead of raising KeyboardInterrupt, so the caller knows whether its worker runs
    when the interrupt arrives.  restore() puts the previous handler back and re-delivers a
    recorded SIGINT to it (deliver=False: drops it, an exception is already on its way).
    Outside the main thread there is nothing to hold back: signals are handled there only; nor
    when the handler was not installed from Python (getsignal gives None: it cannot be put back)."""

    def __init__(self):
        self._previous = None
        self._pending = False
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGINT) is not None:
            self._previous = signal.signal(signal.SIGINT, self._record)

    def _record(self, _signum, _frame):
        self._pending = True

    def restore(self, deliver=True):
        if self._previous is None:
            return
        previous, self._previous = self._previous, None
        signal.signal(signal.SIGINT, previous)
        if deliver and self._pending:
            signal.raise_signal(signal.SIGINT)

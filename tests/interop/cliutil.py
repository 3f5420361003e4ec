"""cliutil.py — the check helper the Python tests share: a failed check is recorded in `failures`
(one list, shared by every module that imports it) and printed at once on stderr, so a test runs
all its checks and reports every failure before it exits non-zero."""
import sys

failures = []


def check(cond, what):
    """Record `what` as a failure unless `cond` holds."""
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def exit_status():
    """The test's exit status: 1, with the failure count on stderr, when a check failed; else 0."""
    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("ok")
    return 0

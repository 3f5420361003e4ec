#!/usr/bin/env python3
"""cli_signals.py — every way a run can be stopped leaves nothing behind.

An ingest of a CSV big enough to be still running (600k rows, one thread, deflate level 9) gets each
terminating signal once its temporary file exists: SIGHUP (an ssh session dropping), SIGINT, SIGQUIT,
SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGXCPU.  Each must exit with 128 + the signal, print
why, and leave neither the output nor a temporary file.  The same for svd --u-out (its second writer)
and fit from a CSV piped into standard input.  SIGKILL cannot be caught: the file it leaves must be
easy to recognise, OUT.h5.oocsolve-partial-XXXXXX next to the output (not hidden).  Output names of
250 and 255 bytes (the longest a name can be), also in multi-byte UTF-8, must work: the temporary
name is shortened to fit.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, failures  # noqa: E402
PARTIAL = re.compile(r"\.oocsolve-partial-[a-z0-9]{6}$")


def entries(d):
    return sorted(os.listdir(d))


def wait_for_new_file(d, before, proc, timeout=60.0):
    """The first new entry of d (hidden or not) while proc runs, or None."""
    t0 = time.time()
    while time.time() - t0 < timeout and proc.poll() is None:
        new = [e for e in os.listdir(d) if e not in before]
        if new:
            return new[0]
        time.sleep(0.005)
    return None


def stop_run(argv, d, sig, what, delay=0.05):
    """Start argv, send sig `delay` s after a new file appears in d; returns (returncode, stderr,
    the new file's name), or (None, "", None) when the run ended first (a failed check)."""
    before = set(os.listdir(d))
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = wait_for_new_file(d, before, p)
    if seen is None:
        p.kill()
        p.communicate()
        check(False, f"{what}: the run finished (or no temporary file appeared) before {sig.name} "
                     "could be sent; the test data must be bigger")
        return None, "", None
    time.sleep(delay)  # inside the run: chunks are being written
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    return p.returncode, err, seen


with tempfile.TemporaryDirectory() as d:
    big = os.path.join(d, "big.csv")
    rng = np.random.default_rng(7)
    with open(big, "w") as f:
        f.write("y,a,b,c\n")
        for _ in range(6):
            np.savetxt(f, rng.standard_normal((100_000, 4)), delimiter=",", fmt="%.17g")
    out_dir = os.path.join(d, "out")
    os.mkdir(out_dir)
    out = os.path.join(out_dir, "out.h5")
    ingest = [OOCSOLVE, "ingest", big, "-f", "y ~ a*b*c", "-o", out, "--threads", "1", "--level", "9"]

    sigs = [signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGALRM, signal.SIGTERM,
            signal.SIGUSR1, signal.SIGUSR2, signal.SIGXCPU]
    for sig in sigs:
        rc, err, seen = stop_run(ingest, out_dir, sig, f"ingest + {sig.name}")
        if rc is None:
            continue
        check(seen is not None and PARTIAL.search(seen) and not seen.startswith("."),
              f"{sig.name}: the temporary file is visible and recognisable: {seen!r}")
        check(rc == 128 + sig, f"{sig.name}: exit status {128 + sig}, got {rc}: {err!r}")
        check(sig.name in err, f"{sig.name}: the message names the signal: {err!r}")
        check(entries(out_dir) == [], f"{sig.name}: nothing left behind: {entries(out_dir)}")

    # svd --u-out: U is written in a second pass, under a temporary name too.
    h5 = os.path.join(d, "big.h5")
    r = subprocess.run([OOCSOLVE, "ingest", big, "-f", "y ~ a*b*c", "-o", h5, "-q"], capture_output=True, text=True)
    check(r.returncode == 0, f"ingest of the big file: {r.stderr}")
    u = os.path.join(out_dir, "u.h5")
    rc, err, seen = stop_run([OOCSOLVE, "svd", h5, "--u-out", u, "--threads", "1"], out_dir, signal.SIGHUP,
                             "svd --u-out + SIGHUP", delay=0)
    if rc is not None:
        check(rc == 128 + signal.SIGHUP, f"svd --u-out SIGHUP: exit 129, got {rc}: {err!r}")
        check(entries(out_dir) == [], f"svd --u-out SIGHUP: nothing left: {entries(out_dir)}")

    # fit from a CSV piped into standard input, stopped by SIGTERM (no file: the exit status).
    with open(big, "rb") as f:
        p = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
        q = subprocess.Popen([OOCSOLVE, "fit", "-", "-f", "y ~ a*b*c", "--threads", "1"], stdin=p.stdout,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        p.stdout.close()
        time.sleep(0.3)
        q.send_signal(signal.SIGTERM)
        _, err = q.communicate(timeout=120)
        p.wait()
    if q.returncode == 0:
        print("note: fit from stdin finished before SIGTERM; not exercised", file=sys.stderr)
    else:
        check(q.returncode == 128 + signal.SIGTERM, f"fit - + SIGTERM: exit 143, got {q.returncode}: {err!r}")

    # SIGKILL: the leftover is next to the output, named for what it is.
    rc, err, seen = stop_run(ingest, out_dir, signal.SIGKILL, "ingest + SIGKILL")
    if rc is not None:
        left = entries(out_dir)
        check(rc == -signal.SIGKILL, f"SIGKILL kills: {rc}")
        check(len(left) == 1 and left[0].startswith("out.h5.oocsolve-partial-") and PARTIAL.search(left[0]),
              f"SIGKILL leaves one recognisable partial file: {left}")
        for e in left:
            os.remove(os.path.join(out_dir, e))

    # Long names: the temporary name must fit the directory's limit (255 bytes here).
    small = os.path.join(d, "small.csv")
    with open(small, "w") as f:
        f.write("y,a\n1,2\n2,3\n3,5\n")
    for name in ["n" * 247 + ".h5", "n" * 252 + ".h5", "é" * 124 + ".h5", "x" * 200 + "é" * 26 + ".h5"]:
        target = os.path.join(out_dir, name)
        r = subprocess.run([OOCSOLVE, "ingest", small, "-f", "y ~ a", "-o", target, "-q"],
                           capture_output=True, text=True)
        size = len(name.encode())
        check(r.returncode == 0, f"an output name of {size} bytes works: {r.stderr}")
        check(entries(out_dir) == ([name] if r.returncode == 0 else []),
              f"{size}-byte name: only the output is there: {entries(out_dir)}")
        if os.path.exists(target):
            os.remove(target)

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("cli_signals: all checks passed")

#!/usr/bin/env python3
"""ingest_cli.py — end-to-end behaviour of `oocsolve ingest` on good and bad input.

Checks: output values, missing-value handling (drop count, --missing error), the error messages for
bad CSV/formula input (file, line, column, quoted text, non-zero exit), that a failed or interrupted
ingest leaves no output and no temporary file and never clobbers an existing file.
"""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, failures  # noqa: E402


def run(*args, **kw):
    return subprocess.run([OOCSOLVE, *args], capture_output=True, text=True, **kw)


def write(path, text):
    with open(path, "w", newline="") as f:
        f.write(text)


def leftovers(d):
    return [p for p in os.listdir(d) if ".tmp" in p or ".oocsolve-partial-" in p]


with tempfile.TemporaryDirectory() as d:
    csv = os.path.join(d, "data.csv")
    out = os.path.join(d, "out.h5")

    # Good input, with missing values in several spellings and a quoted field.
    write(csv, 'y,a,b\n1.5,2,"3"\n2.5,NA,4\n3.5, 5 ,\n4.5,6,7\r\n5.5,nan,8\n')
    r = run("ingest", csv, "-f", "y ~ a + b", "-o", out, "--json")
    check(r.returncode == 0, f"good ingest exits 0: {r.stderr}")
    if r.returncode == 0:
        stats = json.loads(r.stdout)
        check(stats["rows_read"] == 5 and stats["rows_written"] == 2 and stats["rows_dropped"] == 3,
              f"row counts: {stats}")
        with h5py.File(out) as h:
            check(np.array_equal(h["X"][:], [[1, 2, 3], [1, 6, 7]]), f"X values {h['X'][:]}")
            check(np.array_equal(h["Y"][:], [1.5, 4.5]), "Y values")

    # fit and svd straight from the CSV report the same counts (fit's nobs, svd's nrows: used).
    for cmd, used in (("fit", "nobs"), ("svd", "nrows")):
        r = run(cmd, csv, "-f", "y ~ a + b", "--json")
        check(r.returncode == 0, f"{cmd} --json on the CSV: {r.stderr}")
        if r.returncode == 0:
            stats = json.loads(r.stdout)
            check(stats["rows_read"] == 5 and stats[used] == 2 and stats["rows_dropped"] == 3,
                  f"{cmd} --json row counts: {stats['rows_read']} {stats[used]} "
                  f"{stats['rows_dropped']}")

    # --fsync (durable output) writes the same file.
    r = run("ingest", csv, "-f", "y ~ a + b", "-o", out + "s", "--fsync", "-q")
    check(r.returncode == 0, f"--fsync ingest exits 0: {r.stderr}")
    if r.returncode == 0:
        with h5py.File(out + "s") as h:
            check(np.array_equal(h["X"][:], [[1, 2, 3], [1, 6, 7]]), "X values with --fsync")

    # --missing error names the row and column.
    r = run("ingest", csv, "-f", "y ~ a + b", "-o", out + "2", "--missing", "error")
    check(r.returncode != 0 and "line 3" in r.stderr and "'a'" in r.stderr,
          f"--missing error message: {r.stderr}")
    check(not os.path.exists(out + "2"), "no output after failure")

    # Bad inputs: (csv text, formula, expected fragments of the message)
    # Types are inferred from the first block (32768 records), as pandas infers a chunk's dtypes:
    # a later non-numeric value in a numeric variable is an error naming its line.
    numeric_then_text = "y,a\n" + "1,2\n" * 40000 + "2,abc\n"
    cases = [
        (numeric_then_text, "y ~ a", ["data.csv", "line 40002", "'a'", '"abc"']),
        ("y,a\n1,2\n2,3,4\n", "y ~ a", ["data.csv", "line 3", "expected 2 fields"]),
        ('y,a\n1,2\n2,"3\n', "y ~ a", ["data.csv", "line 3", "quote"]),
        ("y,a\n1,2\n", "y ~ a + nosuch", ["nosuch", "^"]),
        ("y,a\n1,2\n", "y ~ a + (", ["^"]),
        ("y,cat\n1,a\n2,b\n3,zz\n", "y ~ C(cat, levels=['a','b'])", ["line 4", "'cat'", "zz"]),
    ]
    for text, formula, fragments in cases:
        write(csv, text)
        write(out, "precious")
        r = run("ingest", csv, "-f", formula, "-o", out)
        check(r.returncode != 0, f"non-zero exit for {text!r} / {formula}")
        for frag in fragments:
            check(frag in r.stderr, f"message for {text!r} / {formula} lacks {frag!r}: {r.stderr!r}")
        check(open(out).read() == "precious", f"existing output untouched for {formula}")
        check(not leftovers(d), f"no temporary files left for {formula}: {leftovers(d)}")
        check("Traceback" not in r.stderr and r.returncode < 128, "no crash")

    # Missing input file.
    r = run("ingest", os.path.join(d, "nope.csv"), "-f", "y ~ a", "-o", out)
    check(r.returncode != 0 and "nope.csv" in r.stderr, f"missing file message: {r.stderr}")

    # SIGINT in the middle of a large ingest: exit 130, nothing left behind.
    big = os.path.join(d, "big.csv")
    rng = np.random.default_rng(1)
    with open(big, "w") as f:
        f.write("y,a,b,c\n")
        block = rng.standard_normal((200_000, 4))
        for _ in range(15):
            np.savetxt(f, block, delimiter=",", fmt="%.17g")
    os.remove(out)
    p = subprocess.Popen([OOCSOLVE, "ingest", big, "-f", "y ~ a*b*c", "-o", out, "--threads", "1"],
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    if p.returncode == 0:
        print("note: ingest finished before SIGINT arrived; interruption not exercised", file=sys.stderr)
        check(os.path.exists(out), "completed ingest produced the file")
    else:
        check(p.returncode == 130, f"SIGINT exit code 130, got {p.returncode}: {err}")
        check(not os.path.exists(out), "no output after SIGINT")
        check(not leftovers(d), f"no temporary files after SIGINT: {leftovers(d)}")

print(f"{len(failures)} failed" if failures else "ingest_cli: all checks passed")
sys.exit(1 if failures else 0)

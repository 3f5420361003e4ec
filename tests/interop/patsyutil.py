"""patsyutil.py — what the patsy interop tests share (interop_patsy.py, interop_patsy_extended.py):
the oocsolve binary, pandas' default missing-value spellings, ingest through the CLI, column-name
decoding, and the check that a formula is refused with the expected message and nothing left
behind."""
import os
import subprocess
import sys

OOCSOLVE = os.environ.get("OOCSOLVE")
if not OOCSOLVE:
    sys.exit(f"{os.path.basename(sys.argv[0])}: set OOCSOLVE to the oocsolve binary")

NA_SPELLINGS = ["", "NA", "nan", "NaN", "null", "N/A", "NULL", "#N/A", "None", "<NA>"]


def ingest(workdir, csv, formula, variables=None, extra=(), quiet=False):
    """`oocsolve ingest csv -f formula -o workdir/out.h5` (--var for each variable; -q when
    quiet): (CompletedProcess, output path)."""
    out = os.path.join(workdir, "out.h5")
    if os.path.exists(out):
        os.remove(out)
    cmd = [OOCSOLVE, "ingest", csv, "-f", formula, "-o", out] + (["-q"] if quiet else [])
    for name, value in (variables or {}).items():
        cmd += ["--var", "%s=%s" % (name, value)]
    cmd += list(extra)
    return subprocess.run(cmd, capture_output=True, text=True), out


def decode(names):
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def expect_error(workdir, csv, formula, must_contain, extra=(), variables=None, command="ingest",
                 quiet=False):
    """None when `command` (ingest, or fit/svd/glm on the CSV) refuses the formula with a message
    holding every text of must_contain and, for ingest, no output file; else what went wrong."""
    out = None
    if command == "ingest":
        r, out = ingest(workdir, csv, formula, variables, extra, quiet)
    else:
        r = subprocess.run([OOCSOLVE, command, csv, "-f", formula] + list(extra),
                           capture_output=True, text=True)
    problems = []
    if r.returncode == 0:
        problems.append("exit code 0")
    problems += ["message lacks %r" % t for t in must_contain if t not in r.stderr]
    if out and os.path.exists(out):
        problems.append("output file left behind")
    if problems:
        return "%s: %s\n  stderr: %s" % (formula, "; ".join(problems), r.stderr.strip())
    return None


def caret_line(formula, start, length):
    """The formula and a caret line under its characters [start, start + length)."""
    return "  " + formula + "\n  " + " " * start + "^" * length

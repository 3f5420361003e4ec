#!/usr/bin/env python3
"""cli_small.py — small CLI promises: `--delimiter '"'` says the quote character cannot be the
delimiter; an unknown column's message lists a bounded part of the header; a repeated `--var NAME=...` is refused (exit 2) instead of the first silently winning;
every write to standard output is checked (stdout on /dev/full or closed: exit 1 and "cannot write
to standard output: <reason>", for every command that prints); every --help documents the exit
status; and a reader of stdout that goes away (`| head`) ends the run quietly with 128+SIGPIPE.
"""
import os
import signal
import subprocess
import sys
import tempfile

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, failures  # noqa: E402


def run(*args, **kw):
    return subprocess.run([OOCSOLVE, *args], capture_output=True, text=True, errors="replace", **kw)


with tempfile.TemporaryDirectory() as d:
    csv = os.path.join(d, "data.csv")
    with open(csv, "w") as f:
        f.write("y,a,g\n" + "".join(f"{i * 0.5 + (i % 3)},{i},{'xyz'[i % 3]}\n" for i in range(50)))
    h5 = os.path.join(d, "d.h5")
    r = run("ingest", csv, "-f", "y ~ a + C(g)", "-o", h5, "-q")
    check(r.returncode == 0, f"ingest: {r.stderr}")

    # --delimiter '"'
    for cmd in (["ingest", csv, "-o", os.path.join(d, "x.h5")], ["fit", csv]):
        r = run(*cmd, "-f", "y ~ a", "--delimiter", '"')
        check(r.returncode == 2 and "quote character" in r.stderr and "one character" not in r.stderr,
              f"{cmd[0]} --delimiter '\"': {r.returncode} {r.stderr!r}")
    r = run("fit", csv, "-f", "y ~ a", "--delimiter", ";;")
    check(r.returncode == 2 and "one character" in r.stderr, f"--delimiter ';;': {r.stderr!r}")

    # A repeated --var.
    for cmd in (["ingest", csv, "-o", os.path.join(d, "x.h5")], ["fit", csv], ["svd", csv]):
        r = run(*cmd, "-f", "y ~ a + C(g, levels=L)", "--var", "L=x,y,z", "--var", "L=z,y,x")
        check(r.returncode == 2 and "--var L" in r.stderr and "twice" in r.stderr,
              f"{cmd[0]}: repeated --var: {r.returncode} {r.stderr!r}")
    check(not os.path.exists(os.path.join(d, "x.h5")), "no output after a refused --var")

    # An unknown column: the header's names are listed within bounds, whatever the header
    # (one 10 MB name; 100 000 names).
    wide = os.path.join(d, "wide.csv")
    with open(wide, "w") as f:
        f.write("x" * 10_000_000 + ",y\n1,2\n")
    many = os.path.join(d, "many.csv")
    with open(many, "w") as f:
        f.write(",".join(f"c{i}" for i in range(100_000)) + ",y\n" + ",".join("1" * 100_001) + "\n")
    for path, fragments in ((wide, ['"xxxxxxxx', '...", "y"']), (many, ['"c0", "c1"', "(100001 columns)"])):
        r = run("ingest", path, "-f", "y ~ nosuch", "-o", os.path.join(d, "w.h5"))
        check(r.returncode == 1 and "unknown column 'nosuch'" in r.stderr and len(r.stderr) < 2000
              and "has columns: ," not in r.stderr and all(f in r.stderr for f in fragments),
              f"unknown column in {os.path.basename(path)}: {r.stderr[:600]!r}")

    # Every command that prints checks its writes to standard output.
    printing = [
        ["ingest", csv, "-f", "y ~ a", "-o", os.path.join(d, "j.h5"), "--json", "-q"],
        ["info", h5], ["info", h5, "--json"],
        ["fit", h5], ["fit", h5, "--json"], ["fit", csv, "-f", "y ~ a"],
        ["svd", h5], ["svd", h5, "--json"],
        ["devices"], ["devices", "--json"],
        ["--help"], ["--version"], ["ingest", "--help"], ["fit", "--help"],
    ]
    with open("/dev/full", "w") as full:
        for cmd in printing:
            r = subprocess.run([OOCSOLVE, *cmd], stdout=full, stderr=subprocess.PIPE, text=True)
            check(r.returncode == 1 and "No space left on device" in r.stderr and "error" in r.stderr,
                  f"{' '.join(cmd[:2])} > /dev/full: exit 1 with the reason, got {r.returncode} {r.stderr!r}")
    r = subprocess.run([OOCSOLVE, "info", h5], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    check(r.returncode == 0 and r.stderr == "", f"info > /dev/null is fine: {r.stderr!r}")
    r = subprocess.run([OOCSOLVE, "info", h5], stderr=subprocess.PIPE, text=True,
                       preexec_fn=lambda: os.close(1))
    check(r.returncode == 1 and "cannot write to standard output: Bad file descriptor" in r.stderr,
          f"info with stdout closed: {r.returncode} {r.stderr!r}")
    # ingest --json > /dev/full: the exact message of the report.
    with open("/dev/full", "w") as full:
        r = subprocess.run([OOCSOLVE, *printing[0]], stdout=full, stderr=subprocess.PIPE, text=True)
    check("cannot write to standard output: No space left on device" in r.stderr, f"message: {r.stderr!r}")

    # A reader that goes away: fit's report into a pipe closed at once.
    rfd, wfd = os.pipe()
    os.close(rfd)
    r = subprocess.run([OOCSOLVE, "fit", h5], stdout=wfd, stderr=subprocess.PIPE, text=True)
    os.close(wfd)
    check(r.returncode == 128 + signal.SIGPIPE and "error" not in r.stderr,
          f"fit | (closed): exit 141 quietly, got {r.returncode} {r.stderr!r}")

    # Exit status in every --help.
    for cmd in (["--help"], ["ingest", "--help"], ["info", "--help"], ["fit", "--help"], ["svd", "--help"],
                ["devices", "--help"], ["profile-svg", "--help"], ["profile-summary", "--help"]):
        r = run(*cmd)
        check(r.returncode == 0 and "exit status" in r.stdout and "128+N" in r.stdout and "2 usage" in r.stdout,
              f"{' '.join(cmd)} documents the exit status")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("cli_small: all checks passed")

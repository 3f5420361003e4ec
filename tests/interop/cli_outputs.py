#!/usr/bin/env python3
"""cli_outputs.py — an output never destroys an input or a special file.

Every output option (ingest -o and --profile, fit --profile, svd --u-out, profile-svg -o) is refused,
with a message and a non-zero exit, when it names an input (the same path, a symbolic link, a hard
link, a relative path through another directory, standard input redirected from it), another output,
or an existing file that is not regular (a FIFO, a character device — made with mknod when root —,
a socket, a directory).  After each refusal the input is byte-identical and a special file is still
what it was.  Controls: the same commands with a fresh name succeed.
"""
import os
import socket
import stat
import subprocess
import sys
import tempfile

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, failures  # noqa: E402


def run(*args, **kw):
    return subprocess.run([OOCSOLVE, *args], capture_output=True, text=True, errors="replace", **kw)


def snapshot(path):
    with open(path, "rb") as f:
        return f.read()


with tempfile.TemporaryDirectory() as d:
    os.chdir(d)
    os.mkdir("sub")
    csv = os.path.join(d, "data.csv")
    with open(csv, "w") as f:
        f.write("y,a,b\n" + "".join(f"{i * 0.5},{i},{(i * 7) % 5}\n" for i in range(200)))
    formula = ["-f", "y ~ a + b"]
    h5 = os.path.join(d, "d.h5")
    r = run("ingest", csv, *formula, "-o", h5, "-q")
    check(r.returncode == 0, f"control: ingest to a new name works: {r.stderr}")
    trace = os.path.join(d, "run.json")
    r = run("fit", h5, "--profile", trace)
    check(r.returncode == 0, f"control: fit --profile to a new name works: {r.stderr}")
    r = run("svd", h5, "--u-out", os.path.join(d, "u.h5"))
    check(r.returncode == 0, f"control: svd --u-out to a new name works: {r.stderr}")
    r = run("ingest", csv, *formula, "-o", h5, "-q")
    check(r.returncode == 0, f"control: ingest replaces an existing regular output: {r.stderr}")

    os.symlink(csv, "link.csv")
    os.link(csv, "hard.csv")
    os.symlink(h5, "link.h5")
    os.link(h5, "hard.h5")

    # (description, argv, the file that must stay byte-identical, fragments of the message)
    same_file = [
        ("ingest -o the input", ["ingest", csv, *formula, "-o", csv], csv, ["-o", "same file", "input"]),
        ("ingest -o a symlink to the input", ["ingest", csv, *formula, "-o", "link.csv"], csv, ["same file"]),
        ("ingest -o a hard link to the input", ["ingest", csv, *formula, "-o", "hard.csv"], csv, ["same file"]),
        ("ingest -o a relative path to the input",
         ["ingest", "data.csv", *formula, "-o", "sub/../data.csv"], csv, ["same file"]),
        ("ingest through a symlinked input", ["ingest", "link.csv", *formula, "-o", csv], csv, ["same file"]),
        ("ingest --profile the input", ["ingest", csv, *formula, "-o", "new.h5", "--profile", csv], csv,
         ["--profile", "same file"]),
        ("svd --u-out the input", ["svd", h5, "--u-out", h5], h5, ["--u-out", "same file"]),
        ("svd --u-out a symlink to the input", ["svd", h5, "--u-out", "link.h5"], h5, ["same file"]),
        ("svd --u-out a hard link to the input", ["svd", "hard.h5", "--u-out", h5], h5, ["same file"]),
        ("fit --profile the input", ["fit", h5, "--profile", h5], h5, ["--profile", "same file"]),
        ("fit from CSV --profile the input", ["fit", csv, *formula, "--profile", "link.csv"], csv, ["same file"]),
        ("profile-svg -o the trace", ["profile-svg", trace, "-o", trace], trace, ["-o", "same file"]),
        ("ingest -o and --profile the same new file",
         ["ingest", csv, *formula, "-o", "twice.h5", "--profile", "sub/../twice.h5"], csv, ["same file"]),
    ]
    for what, argv, keep, fragments in same_file:
        before = snapshot(keep)
        r = run(*argv)
        check(r.returncode != 0, f"{what}: non-zero exit, got {r.returncode}")
        check(snapshot(keep) == before, f"{what}: {keep} is byte-identical afterwards")
        for frag in fragments:
            check(frag in r.stderr, f"{what}: message lacks {frag!r}: {r.stderr!r}")
    check(not os.path.exists("twice.h5") and not os.path.exists("new.h5"), "refused runs wrote nothing")

    # Standard input redirected from the output file.
    before = snapshot(csv)
    with open(csv) as f:
        r = subprocess.run([OOCSOLVE, "ingest", "-", *formula, "-o", csv], stdin=f,
                           capture_output=True, text=True)
    check(r.returncode != 0 and "same file" in r.stderr, f"ingest - -o X < X: {r.returncode} {r.stderr!r}")
    check(snapshot(csv) == before, "ingest - -o X < X: X byte-identical")

    # Special files: each must still be what it was.
    specials = []
    os.mkfifo("fifo")
    specials.append(("fifo", stat.S_ISFIFO, "FIFO"))
    os.mkdir("adir")
    specials.append(("adir", stat.S_ISDIR, "directory"))
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(os.path.join(d, "sock"))
    specials.append(("sock", stat.S_ISSOCK, "socket"))
    if os.geteuid() == 0:
        os.mknod("null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null of our own
        specials.append(("null", stat.S_ISCHR, "character device"))
    else:
        print("note: not root: the character-device case (mknod) is skipped", file=sys.stderr)
    for name, is_kind, word in specials:
        for argv in (["ingest", csv, *formula, "-o", name], ["ingest", csv, *formula, "-o", "ok.h5", "--profile", name],
                     ["svd", h5, "--u-out", name], ["fit", h5, "--profile", name],
                     ["profile-svg", trace, "-o", name]):
            r = run(*argv, timeout=60)
            what = " ".join(argv[:1] + argv[-2:])
            check(r.returncode != 0, f"{what}: non-zero exit, got {r.returncode}")
            check(word in r.stderr and "regular file" in r.stderr, f"{what}: message {r.stderr!r}")
            check(is_kind(os.lstat(name).st_mode), f"{what}: {name} is still a {word}")
    sock.close()
    check(not os.path.exists("ok.h5"), "no output when --profile is refused")

    # "-" is not an output.
    r = run("ingest", csv, *formula, "-o", "-")
    check(r.returncode != 0 and "not standard output" in r.stderr, f"-o -: {r.stderr!r}")
    check(not os.path.exists("-"), "-o - created no file named '-'")

    # The refusals exit with the usage status, and the help says what it means.
    r = run("ingest", csv, *formula, "-o", csv)
    check(r.returncode == 2, f"a refused output exits 2, got {r.returncode}")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("cli_outputs: all checks passed")

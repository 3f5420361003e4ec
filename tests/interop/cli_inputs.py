#!/usr/bin/env python3
"""cli_inputs.py — CSV input as people have it: standard input, a FIFO, a process substitution
(/dev/fd/N), and files compressed with gzip (also several members), bzip2, xz and zstd, chosen by the
extension (any case).  Each ingest must give X and Y identical to the plain file's, with categorical
levels given and with levels to discover (a second pass: in memory for a small pipe, spooled to
$TMPDIR with a note for one over 16 MiB, and a clear error when $TMPDIR has no room).  fit from a
pipe and from a .gz with --cov HC1 (several passes) must match the plain file's coefficients.  Errors
inside a compressed file or a pipe name the line and column exactly as for the plain file; a
truncated .gz and gzip data under a plain name get their own messages.  With every level given,
ingest reads a pipe in one pass: nothing is kept, so a $TMPDIR without room does not matter.  Formats this build lacks
(`oocsolve --version`) or that no local tool can make are skipped with a message.
"""
import bz2
import gzip
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import h5py
import numpy as np

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, failures  # noqa: E402


def run(*args, **kw):
    return subprocess.run([OOCSOLVE, *args], capture_output=True, **kw)


def make_csv(n, seed):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, 3))
    g = rng.choice(["p", "q", "r"], n)
    lines = ["y,a,b,g"]
    for i in range(n):
        a = "NA" if i % 997 == 5 else repr(float(v[i, 1]))
        gi = f'"{g[i]}"' if i % 11 == 0 else g[i]
        lines.append(f"{float(v[i, 0])!r},{a},{float(v[i, 2])!r},{gi}")
    return ("\n".join(lines) + "\n").encode()


def read_h5(path):
    with h5py.File(path) as h:
        return h["X"][:], h["Y"][:]


def feed_fifo(path, data):
    def writer():
        with open(path, "wb") as f:
            f.write(data)
    t = threading.Thread(target=writer)
    t.start()
    return t


# `oocsolve --version` lists the compressed formats this build reads ("compressed CSV input: ...");
# a binary that does not say is expected to read them all.
version = run("--version").stdout.decode()
said = [line.split(":", 1)[1].split() for line in version.splitlines() if line.startswith("compressed CSV input:")]
formats = said[0] if said else ["gzip", "zstd", "bzip2", "xz"]
print("formats this build reads:", formats or "none")

GIVEN = "y ~ a + b + C(g, levels=['p','q','r'])"
DISCOVER = "y ~ a + b + C(g)"

with tempfile.TemporaryDirectory() as d:
    data = make_csv(60_000, 1)  # more than one 32768-record block
    plain = os.path.join(d, "data.csv")
    with open(plain, "wb") as f:
        f.write(data)
    ref = {}
    for formula in (GIVEN, DISCOVER):
        r = run("ingest", plain, "-f", formula, "-o", os.path.join(d, "ref.h5"), "-q")
        check(r.returncode == 0, f"plain ingest: {r.stderr}")
        ref[formula] = read_h5(os.path.join(d, "ref.h5"))

    def same_as_plain(what, args, formula, **kw):
        out = os.path.join(d, "out.h5")
        if os.path.exists(out):
            os.remove(out)
        r = run("ingest", *args, "-f", formula, "-o", out, "-q", **kw)
        check(r.returncode == 0, f"{what} [{formula}]: exit 0, got {r.returncode}: {r.stderr.decode()!r}")
        if r.returncode == 0:
            X, Y = read_h5(out)
            check(np.array_equal(X, ref[formula][0]) and np.array_equal(Y, ref[formula][1]),
                  f"{what} [{formula}]: X and Y identical to the plain file's")
        return r

    # Standard input ("-"), a FIFO, and a process substitution's /dev/fd/N.
    fifo = os.path.join(d, "fifo.csv")
    os.mkfifo(fifo)
    for formula in (GIVEN, DISCOVER):
        same_as_plain("stdin", ["-"], formula, input=data)
        t = feed_fifo(fifo, data)
        same_as_plain("FIFO", [fifo], formula)
        t.join()
        rfd, wfd = os.pipe()  # as bash's <(cat data.csv) makes
        p = subprocess.Popen(["cat", plain], stdout=wfd)
        os.close(wfd)
        same_as_plain("/dev/fd/N", [f"/dev/fd/{rfd}"], formula, pass_fds=(rfd,))
        os.close(rfd)
        p.wait()

    # Compressed files, by extension.
    makers = {
        "gzip": (".gz", gzip.compress),
        "bzip2": (".bz2", bz2.compress),
        "xz": (".xz", lambda b: lzma.compress(b, format=lzma.FORMAT_XZ)),
    }
    try:
        import zstandard
        makers["zstd"] = (".zst", lambda b: zstandard.ZstdCompressor().compress(b))
    except ImportError:
        if shutil.which("zstd"):
            makers["zstd"] = (".zst", lambda b: subprocess.run(["zstd", "-q", "-c"], input=b,
                                                               stdout=subprocess.PIPE, check=True).stdout)
        else:
            print("note: neither the zstandard module nor the zstd tool: .zst skipped", file=sys.stderr)
    made = {}
    for fmt, (ext, compress) in makers.items():
        if fmt not in formats:
            print(f"note: this build does not read {fmt}: {ext} skipped", file=sys.stderr)
            continue
        path = os.path.join(d, "data.csv" + ext)
        with open(path, "wb") as f:
            f.write(compress(data))
        made[fmt] = path
        for formula in (GIVEN, DISCOVER):
            same_as_plain(fmt, [path], formula)
    if "gzip" in made:
        # Several members (as `cat a.gz b.gz` makes) and an upper-case extension.
        cut = data.index(b"\n", len(data) // 3) + 1
        multi = os.path.join(d, "multi.CSV.GZ")
        with open(multi, "wb") as f:
            f.write(gzip.compress(data[:cut]) + gzip.compress(data[cut:]))
        same_as_plain("gzip, two members, .CSV.GZ", [multi], DISCOVER)
        # gzip through a FIFO whose name says .gz.
        gzfifo = os.path.join(d, "fifo.csv.gz")
        os.mkfifo(gzfifo)
        t = feed_fifo(gzfifo, gzip.compress(data))
        same_as_plain("gzip through a FIFO", [gzfifo], DISCOVER)
        t.join()

    # fit: several passes (HC1) from a pipe and from a .gz give the plain file's numbers.
    def fit_json(args, **kw):
        r = run("fit", *args, "-f", DISCOVER, "--cov", "HC1", "--json", **kw)
        check(r.returncode == 0, f"fit {args[0]}: {r.stderr.decode()!r}")
        return json.loads(r.stdout) if r.returncode == 0 else None

    ref_fit = fit_json([plain])
    for what, args, kw in [("stdin", ["-"], {"input": data})] + \
                          ([("gzip", [made["gzip"]], {})] if "gzip" in made else []):
        got = fit_json(args, **kw)
        if ref_fit and got:
            check(got["params"] == ref_fit["params"] and got["bse"] == ref_fit["bse"],
                  f"fit --cov HC1 from {what}: same params and standard errors")

    # A pipe bigger than what is kept in memory (16 MiB), with levels to discover: spooled to
    # $TMPDIR, nothing left there afterwards; without room in $TMPDIR, a clear error.
    big = make_csv(300_000, 2)
    check(len(big) > 16 << 20, f"the big CSV is over 16 MiB ({len(big)} bytes)")
    bigfile = os.path.join(d, "big.csv")
    with open(bigfile, "wb") as f:
        f.write(big)
    r = run("ingest", bigfile, "-f", DISCOVER, "-o", os.path.join(d, "bigref.h5"), "-q")
    check(r.returncode == 0, f"big plain ingest: {r.stderr}")
    spool_dir = os.path.join(d, "spool")
    os.mkdir(spool_dir)
    env = dict(os.environ, TMPDIR=spool_dir)
    out = os.path.join(d, "bigpipe.h5")
    r = run("ingest", "-", "-f", DISCOVER, "-o", out, input=big, env=env)
    err = r.stderr.decode()
    check(r.returncode == 0, f"big pipe with levels to discover: {err!r}")
    check("note:" in err and "temporary file" in err and spool_dir in err, f"the spool is announced: {err!r}")
    check(os.listdir(spool_dir) == [], f"nothing left in TMPDIR: {os.listdir(spool_dir)}")
    if r.returncode == 0:
        X, Y = read_h5(out)
        X0, Y0 = read_h5(os.path.join(d, "bigref.h5"))
        check(np.array_equal(X, X0) and np.array_equal(Y, Y0), "big pipe: X and Y identical")
    env = dict(os.environ, TMPDIR=os.path.join(d, "no-such-dir"))
    r = run("ingest", "-", "-f", DISCOVER, "-o", out + "2", input=big, env=env)
    err = r.stderr.decode()
    check(r.returncode == 1 and "no-such-dir" in err and "TMPDIR" in err, f"no room to spool: {err!r}")
    check(not os.path.exists(out + "2"), "no output when the spool fails")
    # With every level given, ingest reads the pipe once: nothing is kept, so $TMPDIR does not matter.
    r = run("ingest", "-", "-f", GIVEN, "-o", out + "3", input=big, env=env)
    err = r.stderr.decode()
    check(r.returncode == 0 and "temporary file" not in err, f"one pass when nothing is to discover: {err!r}")

    # Errors: the same message (line, column, text) for the plain file, its compressed forms and
    # a pipe; only the name differs.
    bad = data[:4000].replace(b"\n", b"\n1,2,3\n", 1)  # a ragged row at line 2
    badplain = os.path.join(d, "bad.csv")
    with open(badplain, "wb") as f:
        f.write(bad)
    r = run("ingest", badplain, "-f", GIVEN, "-o", os.path.join(d, "bad.h5"))
    expect = r.stderr.decode().replace(badplain, "NAME")
    check(r.returncode == 1 and "line 2" in expect and "expected 4 fields" in expect, f"plain error: {expect!r}")
    variants = [("stdin", "-", "/dev/stdin", {"input": bad})]
    for fmt, (ext, compress) in makers.items():
        if fmt in made:
            path = badplain + ext
            with open(path, "wb") as f:
                f.write(compress(bad))
            variants.append((fmt, path, path, {}))
    for what, arg, name, kw in variants:
        r = run("ingest", arg, "-f", GIVEN, "-o", os.path.join(d, "bad.h5"), **kw)
        got = r.stderr.decode().replace(name, "NAME")
        check(r.returncode == 1 and got == expect, f"{what}: the plain file's message: {got!r} vs {expect!r}")
    if "gzip" in made:
        trunc = os.path.join(d, "trunc.csv.gz")
        with open(made["gzip"], "rb") as f:
            whole = f.read()
        with open(trunc, "wb") as f:
            f.write(whole[: len(whole) // 2])
        r = run("ingest", trunc, "-f", GIVEN, "-o", os.path.join(d, "t.h5"))
        err = r.stderr.decode()
        check(r.returncode == 1 and "trunc.csv.gz" in err and "end early" in err, f"truncated .gz: {err!r}")
        check(not os.path.exists(os.path.join(d, "t.h5")), "no output from a truncated .gz")
        misnamed = os.path.join(d, "really-gzip.csv")
        shutil.copy(made["gzip"], misnamed)
        r = run("ingest", misnamed, "-f", GIVEN, "-o", os.path.join(d, "m.h5"))
        err = r.stderr.decode()
        check(r.returncode == 1 and "gzip-compressed" in err and "line 1" in err and "NUL" not in err,
              f"gzip under a plain name: {err!r}")
        r = run("ingest", "-", "-f", GIVEN, "-o", os.path.join(d, "m.h5"), input=whole)
        err = r.stderr.decode()
        check(r.returncode == 1 and "gzip-compressed" in err, f"gzip piped into stdin: {err!r}")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("cli_inputs: all checks passed")

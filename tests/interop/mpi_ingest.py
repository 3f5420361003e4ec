#!/usr/bin/env python3
"""mpi_ingest.py — `mpirun -np N oocsolve ingest` (tests/mpi.cmake; built with OOC_MPI).

The CSV has what makes splitting it hard: quoted fields holding commas, doubled quotes, LF and
CR LF; a '"' inside unquoted fields (literal); LF and CR LF line ends and empty lines; missing
values (rows dropped); categoricals with levels only in the first or the last records (so only
on some ranks).  For N = 1..4 the joined file's X and Y, read by h5py through the virtual
datasets (and by PyTables), equal the one-process ingest's bit for bit, with the same column
names and formula; each part is a file of its own; `info` lists the parts; `fit` of the joined
file, alone and across 2 ranks, gives the one-process file's fit within the rounding bound
(lsq_bounds.py: both are exact fits of rows perturbed by γ, in another block order).  Also: a
file of 2 records on 4 ranks (ranks with none), blosc parts (read through the parts' chunks),
--profile per rank, a part gone (fit refuses, naming it), and the failures: a bad value and a
ragged row in the last rank's records (every rank exits non-zero with the one-process message,
no file is left, no rank hangs), a formula error (reported once), compressed input (refused);
stateful transforms refused across ranks, and with --transforms-from a serial ingest equal to it.
Environment: OOCSOLVE (set by ctest), MPIEXEC (mpirun, from CMake's FindMPI).
"""
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import tables

from cliutil import check, exit_status
from lsq_bounds import LsqBounds

OOCSOLVE = os.environ["OOCSOLVE"]
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_btl_vader_single_copy_mechanism="none", OMPI_MCA_rmaps_base_oversubscribe="1")
TIMEOUT = 120  # a hang is a failure, not a stuck CI run
FORMULA = "y ~ a + b + C(g) + C(h) + a:b"


def run(args, np_ranks=None):
    """oocsolve with args, alone (np_ranks None) or under mpirun -np np_ranks."""
    cmd = ([MPIEXEC, "--oversubscribe", "-np", str(np_ranks)] if np_ranks else []) + [OOCSOLVE]
    cmd += args
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        check(False, f"timed out (a rank waits for another?): {cmd}")
        return subprocess.CompletedProcess(cmd, 124, "", "")


class Literal(str):
    """A field written as it is: a '"' inside an unquoted field is a literal character."""


def field(v):
    """v as a CSV field: quoted (quotes doubled) when it holds a comma, quote or line end."""
    t = str(v)
    if isinstance(v, Literal) or not any(c in t for c in ',"\r\n'):
        return t
    return '"' + t.replace('"', '""') + '"'


def write_csv(path, n, rng, tail=None):
    """n records; `tail` (a list of fields) replaces the last one."""
    texts = ["plain", "with,comma", 'say "hi"', "two\nlines", "cr\r\nlf", Literal('5" inch')]
    lines = ["id,a,b,g,h,note,y\n"]
    for i in range(n):
        a = rng.standard_normal()
        b = "" if i % 37 == 11 else ("NA" if i % 53 == 7 else repr(rng.standard_normal()))
        g = "first-only" if i < 3 else "last-only" if i >= n - 3 else texts[i % len(texts)]
        h = 99 if i >= n - 2 else i % 4
        note = random.Random(i).choice([Literal('x"y'), 'q,"r', "a\nb", "", "plain"])
        y = 0.5 + 2 * a + rng.standard_normal()
        fields = tail if tail is not None and i == n - 1 else [i, repr(a), b, g, h, note, repr(y)]
        lines.append(",".join(field(v) for v in fields) + ("\r\n" if i % 3 == 0 else "\n"))
        if i % 41 == 0:
            lines.append("\n")  # an empty line
    with open(path, "w", newline="") as f:
        f.write("".join(lines))


def read_h5(path):
    with h5py.File(path, "r") as f:
        return (f["X"][:], f["Y"][:], [str(c) for c in f["X"].attrs["column_names"]],
                f["X"].attrs["formula"])


def leftovers(tmp, stem):
    return sorted(p for p in os.listdir(tmp) if p.startswith(stem) or "oocsolve-partial" in p)


def test_equal(tmp, csv_path):
    ser = os.path.join(tmp, "serial.h5")
    r = run(["ingest", csv_path, "-f", FORMULA, "-o", ser, "--chunk-rows", "100", "--json"])
    check(r.returncode == 0, f"serial ingest: {r.stderr}")
    X, Y, names, formula = read_h5(ser)
    serial_stats = json.loads(r.stdout)
    check(any(n.startswith("C(g)[T.last-only]") for n in names) and "C(h)[T.99]" in names,
          f"levels seen only in the last records: {names}")
    check(serial_stats["rows_dropped"] > 0, f"rows dropped: {serial_stats}")
    for n in (1, 2, 3, 4):
        out = os.path.join(tmp, f"out{n}.h5")
        m = run(["ingest", csv_path, "-f", FORMULA, "-o", out, "--chunk-rows", "100", "--json"],
                n)
        check(m.returncode == 0, f"np={n}: {m.stderr[-800:]}")
        if m.returncode != 0:
            continue
        stats = json.loads(m.stdout)  # rank 0 alone prints, the sums over the ranks
        for key in ("rows_read", "rows_written", "rows_dropped", "ncols", "bytes_in"):
            check(stats[key] == serial_stats[key], f"np={n}: {key} {stats[key]} vs "
                  f"{serial_stats[key]}")
        x, y, nm, fo = read_h5(out)
        check(x.dtype == X.dtype and x.shape == X.shape and
              np.array_equal(x.view(np.uint64), X.view(np.uint64)), f"np={n}: X differs")
        check(np.array_equal(y.view(np.uint64), Y.view(np.uint64)), f"np={n}: Y differs")
        check(nm == names and fo == formula, f"np={n}: attributes {nm} {fo}")
        with tables.open_file(out) as t:  # PyTables reads the virtual datasets too
            check(np.array_equal(t.root.X[:].view(np.uint64), X.view(np.uint64)),
                  f"np={n}: PyTables' X differs")
        parts = [os.path.join(tmp, f"out{n}.part-{k + 1}-of-{n}.h5") for k in range(n)]
        expect = sorted(os.path.basename(p) for p in ([out] + parts if n > 1 else [out]))
        check(leftovers(tmp, f"out{n}.") == expect, f"np={n}: files {leftovers(tmp, f'out{n}.')}")
        if n > 1:
            rows = 0
            for p in parts:
                with h5py.File(p, "r") as f:  # each part is a file like the serial one
                    check(f["X"].chunks == (100, X.shape[1]), f"{p}: chunks {f['X'].chunks}")
                    check(np.array_equal(f["X"][:].view(np.uint64),
                                         X[rows:rows + len(f["X"])].view(np.uint64)),
                          f"{p}: its rows of X")
                    rows += len(f["X"])
            info = run(["info", "--json", out])
            check(info.returncode == 0, f"info np={n}: {info.stderr}")
            if info.returncode == 0:
                xobj = json.loads(info.stdout)["objects"][0]
                check(xobj["layout"] == "virtual" and
                      [os.path.realpath(q["file"]) for q in xobj["parts"]] ==
                      [os.path.realpath(p) for p in parts]
                      and sum(q["rows"] for q in xobj["parts"]) == len(X),
                      f"info np={n}: {xobj}")
    return X, Y


def fit_json(path, np_ranks=None):
    r = run(["fit", path, "--json", "--device", "cpu"], np_ranks)
    check(r.returncode == 0, f"fit {path} np={np_ranks}: {r.stderr[-500:]}")
    return json.loads(r.stdout) if r.returncode == 0 else None


def test_fit(tmp, X, Y):
    serial = fit_json(os.path.join(tmp, "serial.h5"))
    bounds = LsqBounds(X, Y)
    for np_ranks in (None, 2):
        got = fit_json(os.path.join(tmp, "out3.h5"), np_ranks)
        if serial and got:
            check(got["nobs"] == len(X), f"fit np={np_ranks}: nobs {got['nobs']}")
            # both are within their bound of the exact result: twice the bound between them
            dp = np.abs(np.array(got["params"]) - serial["params"])
            check(np.all(dp <= 2 * bounds.params()),
                  f"fit np={np_ranks}: params differ by {dp.max():.3g}")


def test_missing_part(tmp):
    """A part gone (HDF5 would read fill values in its place): fit refuses, naming it; info
    says so."""
    part = os.path.join(tmp, "out3.part-2-of-3.h5")
    os.rename(part, part + ".away")
    r = run(["fit", os.path.join(tmp, "out3.h5")])
    check(r.returncode == 1 and "out3.part-2-of-3.h5" in r.stderr and "missing" in r.stderr,
          f"fit with a part missing: {r.returncode} {r.stderr}")
    i = run(["info", "--json", os.path.join(tmp, "out3.h5")])
    check(i.returncode == 0 and "missing" in (json.loads(i.stdout)["objects"][0]["parts_problem"]
                                               or ""), f"info with a part missing: {i.stdout}")
    os.rename(part + ".away", part)


def test_blosc_and_profile(tmp, csv_path):
    """blosc parts: fit reads them through the parts' chunks (HDF5 here has no blosc filter
    to read the virtual dataset with); --profile writes one trace per rank."""
    out, trace = os.path.join(tmp, "bl.h5"), os.path.join(tmp, "tr.json")
    r = run(["ingest", csv_path, "-f", FORMULA, "-o", out, "--codec", "blosc:lz4",
             "--profile", trace, "-q"], 2)
    check(r.returncode == 0, f"blosc np=2: {r.stderr[-500:]}")
    got = fit_json(out)
    check(got is not None and got["nobs"] > 0, "fit of blosc parts")
    for path in (trace, trace + ".rank-1"):
        check(os.path.exists(path) and any(e.get("name") == "formula eval" for e in
                                           json.load(open(path))["traceEvents"]),
              f"{path}: a trace with the rank's spans")


def test_few_records(tmp):
    path = os.path.join(tmp, "two.csv")
    with open(path, "w") as f:
        f.write('a,g,y\n1.5,"x\ny",2\n-1,z,0.5\n')
    ser, out = os.path.join(tmp, "two_s.h5"), os.path.join(tmp, "two.h5")
    check(run(["ingest", path, "-f", "y ~ a + g", "-o", ser]).returncode == 0, "2 records")
    r = run(["ingest", path, "-f", "y ~ a + g", "-o", out], 4)
    check(r.returncode == 0, f"2 records on 4 ranks: {r.stderr[-500:]}")
    if r.returncode == 0:
        check(all(np.array_equal(p, q) for p, q in zip(read_h5(out)[:2], read_h5(ser)[:2])),
              "2 records on 4 ranks: X and Y")
        rows = [len(h5py.File(os.path.join(tmp, f"two.part-{k}-of-4.h5"), "r")["X"])
                for k in (1, 2, 3, 4)]
        check(sum(rows) == 2 and rows.count(0) >= 2, f"2 records on 4 ranks: rows {rows}")


def serial_error(csv_path, extra):
    r = run(["ingest", csv_path, "-f", FORMULA, "-o", os.path.join(os.path.dirname(csv_path),
                                                                  "bad_s.h5")] + extra)
    check(r.returncode == 1, f"serial ingest of a bad file fails: {r.returncode} {r.stderr}")
    return r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "?"


def test_failures(tmp, rng):
    # a bad value in the last record (a pinned numeric column), and a ragged last record in a
    # file longer than the sample that types the columns (so only the last rank meets it)
    cases = [("badvalue", 500, [499, "oops", "1", "plain", 1, "", "1"], ["--dtype", "a=float"]),
             ("ragged", 40000, [39999, "1", "1", "plain", 1, "", "1", "extra"], [])]
    for name, n, tail, extra in cases:
        path = os.path.join(tmp, f"{name}.csv")
        write_csv(path, n, rng, tail)
        message = serial_error(path, extra)
        check("line" in message and "column" in message, f"{name}: serial message {message}")
        for np_ranks in (2, 4):
            stem = f"{name}{np_ranks}"
            r = run(["ingest", path, "-f", FORMULA, "-o", os.path.join(tmp, stem + ".h5")] +
                    extra, np_ranks)
            check(r.returncode not in (0, 124) and message in r.stderr,
                  f"{name} np={np_ranks}: the one-process message: {r.stderr[-1200:]}")
            check(f"stopped because process {np_ranks - 1} of {np_ranks} failed" in r.stderr,
                  f"{name} np={np_ranks}: rank 0 says who failed: {r.stderr[-800:]}")
            check(leftovers(tmp, stem) == [], f"{name} np={np_ranks}: left "
                  f"{leftovers(tmp, stem)}")
    csv_path = os.path.join(tmp, "ok.csv")
    f = run(["ingest", csv_path, "-f", "y ~ a + nope", "-o", os.path.join(tmp, "f.h5")], 3)
    check(f.returncode != 0 and f.stderr.count("unknown column 'nope'") == 1,
          f"formula error reported once: {f.stderr}")
    gz = os.path.join(tmp, "ok.csv.gz")
    with open(csv_path, "rb") as src, gzip.open(gz, "wb") as dst:
        dst.write(src.read())
    z = run(["ingest", gz, "-f", FORMULA, "-o", os.path.join(tmp, "z.h5")], 2)
    check(z.returncode != 0 and z.stderr.count("cannot split") == 1,
          f"compressed input refused: {z.stderr}")
    check(leftovers(tmp, "f.") == [] and leftovers(tmp, "z.") == [], "no output after refusals")


def test_transforms(tmp, csv_path):
    """Stateful transforms learn from the whole file: refused across ranks, unless what they
    learned comes from a serial ingest (--transforms-from), which then gives the serial X."""
    formula = "y ~ bs(a, df=5) + center(a) + C(g)"
    part = os.path.join(tmp, "tf-mpi.h5")
    r = run(["ingest", csv_path, "-f", formula, "-o", part], np_ranks=2)
    check(r.returncode != 0 and "--transforms-from" in r.stderr and not os.path.exists(part),
          f"transforms across ranks not refused: {r.returncode} {r.stderr}")
    ser = os.path.join(tmp, "tf-serial.h5")
    r = run(["ingest", csv_path, "-f", formula, "-o", ser, "--chunk-rows", "100"])
    check(r.returncode == 0, f"serial ingest with transforms: {r.stderr}")
    r = run(["ingest", csv_path, "-f", formula, "-o", part, "--chunk-rows", "100",
             "--transforms-from", ser], np_ranks=3)
    check(r.returncode == 0, f"ingest across ranks with --transforms-from: {r.stderr}")
    if r.returncode == 0:
        Xs, Ys, names_s, _ = read_h5(ser)
        Xp, Yp, names_p, _ = read_h5(part)
        check(names_s == names_p and np.array_equal(Xs, Xp) and np.array_equal(Ys, Yp),
              "ingest across ranks with the serial file's transforms differs from it")
        with h5py.File(part, "r") as f, h5py.File(ser, "r") as g:
            check(f["X"].attrs["oocsolve_transforms"] == g["X"].attrs["oocsolve_transforms"],
                  "the joined file does not carry the transforms' state")


def main():
    rng = np.random.default_rng(15)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = os.path.join(tmp, "ok.csv")
        write_csv(csv_path, 3000, rng)
        X, Y = test_equal(tmp, csv_path)
        test_fit(tmp, X, Y)
        test_missing_part(tmp)
        test_blosc_and_profile(tmp, csv_path)
        test_few_records(tmp)
        test_transforms(tmp, csv_path)
        test_failures(tmp, rng)
    sys.exit(exit_status())


if __name__ == "__main__":
    main()

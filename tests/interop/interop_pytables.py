#!/usr/bin/env python3
"""Interop of oocsolve's HDF5 files with PyTables, h5py and h5dump.

usage: interop_pytables.py TEST_H5WRITE   (the test program; `--write-sample F`
writes a deterministic file: X[i, j] = (i*p + j) * 0.5 - 3, Y[i] = i / 4).

Checks: PyTables opens /X and /Y as EArray objects with CLASS/EXTDIM right and
reads the same values as h5py (and as the formula above, exactly); column_names
and formula are readable by both; h5dump dumps the file; `oocsolve info`
($OOCSOLVE) describes our file and a file PyTables wrote itself.
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import tables

from cliutil import check, failures  # noqa: E402


def main():
    with tempfile.TemporaryDirectory(prefix="interop_pytables_") as tmp:
        run_checks(sys.argv[1], os.environ.get("OOCSOLVE"), tmp)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("interop_pytables: all checks passed")
    return 0


def run_checks(writer, oocsolve, tmp):
    ours = os.path.join(tmp, "ours.h5")
    subprocess.run([writer, "--write-sample", ours], check=True)

    n, p = 1000, 4
    expect_x = (np.arange(n * p, dtype=np.float64) * 0.5 - 3).reshape(n, p)
    expect_y = np.arange(n, dtype=np.float64) / 4
    names = ["Intercept", "a", "C(g)[T.b]", "a:b"]

    with tables.open_file(ours, "r") as t:
        X, Y = t.root.X, t.root.Y
        check(isinstance(X, tables.EArray), f"/X is {type(X)}, not EArray")
        check(isinstance(Y, tables.EArray), f"/Y is {type(Y)}, not EArray")
        check(X.shape == (n, p) and Y.shape == (n,), f"shapes {X.shape} {Y.shape}")
        check(X.extdim == 0 and Y.extdim == 0, "extdim")
        check(X.attrs.CLASS == "EARRAY" and X.attrs.EXTDIM == 0, "CLASS/EXTDIM attrs")
        check(X.chunkshape == (300, p), f"chunkshape {X.chunkshape}")
        check(X.filters.complib == "zlib" and X.filters.complevel == 1 and X.filters.shuffle,
              f"filters {X.filters}")
        xt, yt = X[:], Y[:]
        check(np.array_equal(xt, expect_x), "PyTables X values")
        check(np.array_equal(yt, expect_y), "PyTables Y values")
        check(X.attrs.formula == "y ~ a + C(g) + a:b", f"formula {X.attrs.formula!r}")
        cn = [str(s) for s in X.attrs.column_names]
        check(cn == names, f"PyTables column_names {cn}")
        check(t.root._v_attrs.CLASS == "GROUP", "root CLASS")
    # Appending with PyTables works too (the file is a real EArray file).
    with tables.open_file(ours, "a") as t:
        t.root.X.append(np.ones((2, p)))
        t.root.Y.append(np.ones(2))
    with h5py.File(ours, "r") as h:
        xh, yh = h["X"][:], h["Y"][:]
        check(np.array_equal(xh[:n], expect_x) and np.array_equal(xh[n:], np.ones((2, p))),
              "h5py X values after PyTables append")
        check(np.array_equal(yh[:n], expect_y), "h5py Y values")
        check(h["X"].compression == "gzip" and h["X"].shuffle, "h5py sees gzip+shuffle")
        cn = [s.decode() if isinstance(s, bytes) else s for s in h["X"].attrs["column_names"]]
        check(cn == names, f"h5py column_names {cn}")
        check(h["X"].attrs["CLASS"] in (b"EARRAY", "EARRAY"), "h5py CLASS")

    # A fresh copy for h5dump and info, independent of the append above.
    subprocess.run([writer, "--write-sample", ours], check=True)
    dump = subprocess.run(["h5dump", "-p", "-H", ours], capture_output=True, text=True)
    check(dump.returncode == 0, f"h5dump failed: {dump.stderr[:400]}")
    check("SHUFFLE" in dump.stdout and "DEFLATE { LEVEL 1 }" in dump.stdout, "h5dump filters")
    data = subprocess.run(["h5dump", "-d", "/Y", "-s", "999", "-c", "1", ours],
                          capture_output=True, text=True)
    check(data.returncode == 0 and "249.75" in data.stdout, "h5dump reads Y[999] = 249.75")

    if oocsolve and os.path.exists(oocsolve):
        pt = os.path.join(tmp, "pytables.h5")
        with tables.open_file(pt, "w") as t:
            f = tables.Filters(complevel=1, complib="zlib")
            ex = t.create_earray(t.root, "X", tables.Float64Atom(), shape=(0, 12), filters=f)
            ex.append(np.random.default_rng(0).standard_normal((5000, 12)))
            ey = t.create_earray(t.root, "Y", tables.Float64Atom(), shape=(0,), filters=f)
            ey.append(np.zeros(5000))
            t.create_group(t.root, "meta")
        r = subprocess.run([oocsolve, "info", pt], capture_output=True, text=True)
        check(r.returncode == 0, f"info on PyTables file: {r.stderr}")
        check("/X" in r.stdout and "(5000, 12)" in r.stdout and "EARRAY" in r.stdout
              and "deflate(level=1)" in r.stdout and "/meta  group" in r.stdout,
              f"info text:\n{r.stdout}")
        r = subprocess.run([oocsolve, "info", "--json", pt], capture_output=True, text=True)
        check(r.returncode == 0, f"info --json: {r.stderr}")
        info = json.loads(r.stdout)
        objs = {o["name"]: o for o in info["objects"]}
        with h5py.File(pt, "r") as h:
            xd = h["X"]
            check(objs["/X"]["shape"] == list(xd.shape), "json shape")
            check(objs["/X"]["chunks"] == list(xd.chunks), f"json chunks vs h5py {xd.chunks}")
            check(objs["/X"]["nchunks"] == xd.id.get_num_chunks(), "json nchunks")
            check(objs["/X"]["stored_bytes"] == xd.id.get_storage_size(), "json stored bytes")
            check([f["name"] for f in objs["/X"]["filters"]] == ["shuffle", "deflate"],
                  "json filters")
        check(info["pytables_format_version"] == "2.1", "json PyTables version")
        check(objs["/meta"]["type"] == "group", "json group")
        r = subprocess.run([oocsolve, "info", "--json", ours], capture_output=True, text=True)
        info = json.loads(r.stdout)
        x = [o for o in info["objects"] if o["name"] == "/X"][0]
        check(x["column_names"] == names and x["formula"] == "y ~ a + C(g) + a:b",
              "info json of our file")
        # h5py file: float32, gzip + fletcher32, fixed-length names, lzf, scalar, group.
        hp = os.path.join(tmp, "h5py.h5")
        with h5py.File(hp, "w") as h:
            d = h.create_dataset("X", data=np.ones((100, 3), dtype="f4"), chunks=(7, 2),
                                 compression="gzip", compression_opts=4, fletcher32=True)
            d.attrs["column_names"] = np.array([b"a", b"bb", b"ccc"])
            h.create_dataset("lzf", data=np.arange(1000), compression="lzf")
            h.create_dataset("scalar", data=3.5)
            h.create_group("grp")
        r = subprocess.run([oocsolve, "info", "--json", hp], capture_output=True, text=True)
        check(r.returncode == 0, f"info on h5py file: {r.stderr}")
        objs = {o["name"]: o for o in json.loads(r.stdout)["objects"]}
        x = objs["/X"]
        check(x["dtype"] == "float32" and x["chunks"] == [7, 2] and x["nchunks"] == 30,
              f"h5py X: {x}")
        check([f["name"] for f in x["filters"]] == ["deflate", "fletcher32"]
              and x["filters"][0]["params"] == [4], f"h5py X filters {x['filters']}")
        check(x["column_names"] == ["a", "bb", "ccc"] and x["class"] is None, "h5py names")
        check([f["name"] for f in objs["/lzf"]["filters"]] == ["lzf"], "lzf filter named")
        check(objs["/scalar"]["shape"] == [] and objs["/scalar"]["layout"] == "contiguous",
              "scalar dataset")
        check(objs["/grp"]["type"] == "group", "h5py group")
        bad = os.path.join(tmp, "not.h5")
        with open(bad, "w") as fh:
            fh.write("a,b\n1,2\n")
        r = subprocess.run([oocsolve, "info", bad], capture_output=True, text=True)
        check(r.returncode == 1 and "not an HDF5 file" in r.stderr, f"info on CSV: {r.stderr}")
    else:
        check(False, "OOCSOLVE not set or missing: cannot test `oocsolve info`")


if __name__ == "__main__":
    sys.exit(main())

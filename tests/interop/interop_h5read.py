#!/usr/bin/env python3
"""interop_h5read.py — the HDF5 block source reads files written by h5py and
PyTables exactly as numpy sees them.

Each file is dumped through tests/unit/dump_source.c ($OOC_DUMP_SOURCE), which
writes the source's blocks as raw doubles; the dump must equal
numpy.column_stack([X, y(, w)]) bit for bit (float32/int data widened to
float64 by numpy's own conversion).  Filters the C library cannot decode
(h5py's lzf) must fail with a message naming the filter; PyTables' blosc is
decoded without an HDF5 plugin.
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import tables

DUMP = os.environ.get("OOC_DUMP_SOURCE")
from cliutil import check, failures  # noqa: E402


def dump(path, *args):
    """Run dump_source; returns (matrix or None, stdout lines, stderr)."""
    out = path + ".bin"
    r = subprocess.run([DUMP, path, out, *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        return None, [], r.stderr.strip()
    head = r.stdout.splitlines()
    fields = dict(kv.split("=") for kv in head[0].split())
    m = np.fromfile(out, dtype=np.float64).reshape(int(fields["nrows"]), int(fields["ncols"]))
    os.remove(out)
    return m, head, r.stderr


def expect_same(label, path, expected, *args):
    m, head, err = dump(path, *args)
    check(m is not None, f"{label}: dump failed: {err}")
    if m is None:
        return head
    check(m.shape == expected.shape, f"{label}: shape {m.shape} != {expected.shape}")
    if m.shape == expected.shape:
        same = np.array_equal(m.view(np.uint64), expected.view(np.uint64))
        if not same:
            bad = np.argwhere(m.view(np.uint64) != expected.view(np.uint64))
            print(label, "first differences at", bad[:3].tolist(), file=sys.stderr)
        check(same, f"{label}: values differ")
    return head


def expect_error(label, path, needles, *args):
    m, _, err = dump(path, *args)
    check(m is None, f"{label}: expected an error")
    for needle in needles:
        check(needle in err, f"{label}: message {err!r} lacks {needle!r}")


def main():
    if not DUMP:
        print("OOC_DUMP_SOURCE is not set", file=sys.stderr)
        return 2
    rng = np.random.default_rng(7)
    tmp = tempfile.mkdtemp(prefix="interop_h5read_")
    n, p = 5003, 12
    X = rng.standard_normal((n, p))
    X[:, 0] = 1.0
    X[:, 9:] = (rng.integers(0, 2, (n, 3))).astype(float)
    y = X @ np.linspace(0, 1, p) + rng.standard_normal(n)
    ref = np.column_stack([X, y])

    # h5py: filters and chunk shapes.
    configs = [
        ("gzip1 shuffle", dict(compression="gzip", compression_opts=1, shuffle=True),
         (1000, 5), (640,)),
        ("gzip4", dict(compression="gzip", compression_opts=4), (77, 12), (77,)),
        ("gzip9 shuffle fletcher32", dict(compression="gzip", compression_opts=9, shuffle=True,
                                          fletcher32=True), (500, 12), (4096,)),
        ("fletcher32 only", dict(fletcher32=True), (333, 7), (1000,)),
        ("shuffle only", dict(shuffle=True), (64, 12), (100,)),
        ("auto chunks gzip", dict(compression="gzip", chunks=True), None, None),
    ]
    for label, kw, xchunks, ychunks in configs:
        path = os.path.join(tmp, "h5py.h5")
        with h5py.File(path, "w") as f:
            kx = dict(kw)
            ky = dict(kw)
            if xchunks:
                kx["chunks"] = xchunks
                ky["chunks"] = ychunks
            f.create_dataset("X", data=X, **kx)
            f.create_dataset("Y", data=y, **ky)
        expect_same(f"h5py {label}", path, ref)
        expect_same(f"h5py {label} (blocks of 999 rows, 1 thread)", path, ref,
                    "--block-rows", 999, "--threads", 1)

    # float32 X, int64 weights, big-endian Y, Y stored n x 1.
    path = os.path.join(tmp, "types.h5")
    X32 = X.astype(np.float32)
    w = rng.integers(1, 5, n)
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=X32, chunks=(256, 6), compression="gzip", shuffle=True)
        f.create_dataset("Y", data=y.astype(">f8").reshape(n, 1), chunks=(300, 1),
                         compression="gzip")
        f.create_dataset("W", data=w, chunks=(1000,), compression="gzip", shuffle=True)
    expect_same("h5py float32/int/big-endian", path,
                np.column_stack([X32.astype(np.float64), y, w.astype(np.float64)]), "--w", "/W")

    # Contiguous datasets and the scaleoffset filter go through H5Dread.
    path = os.path.join(tmp, "fallback.h5")
    Xi = rng.integers(-1000, 1000, (n, 4))
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=Xi, chunks=(100, 4), scaleoffset=0)
        f.create_dataset("Y", data=y)  # contiguous
    with h5py.File(path, "r") as f:
        expected = np.column_stack([f["X"][...].astype(np.float64), f["Y"][...]])
    expect_same("h5py scaleoffset + contiguous", path, expected)

    # Column names (h5py writes a list of str as variable-length strings),
    # response and weights taken from columns.
    path = os.path.join(tmp, "names.h5")
    names = [f"c{j}" for j in range(p)]
    with h5py.File(path, "w") as f:
        d = f.create_dataset("X", data=X, chunks=(100, 12), compression="gzip")
        d.attrs["column_names"] = names
        d.attrs["formula"] = "c3 ~ c0 + c1"
    keep = [j for j in range(p) if j not in (3, 5)]
    m_head = expect_same("h5py y/w columns", path, np.column_stack([X[:, keep], X[:, 3], X[:, 5]]),
                         "--y-column", "c3", "--w-column", "c5")
    check(m_head[1:] == [names[j] for j in keep], f"column names {m_head[1:]}")
    with h5py.File(path, "a") as f:
        f["X"].attrs["column_names"] = np.array([s.encode() for s in names], dtype="S8")
    expect_same("h5py fixed-length column names", path, np.column_stack([X[:, 1:], X[:, 0]]),
                "--y-column", "c0")

    # lzf: h5py's own filter, unknown to the C library -> clear error.
    path = os.path.join(tmp, "lzf.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=X, chunks=(100, 12), compression="lzf")
        f.create_dataset("Y", data=y)
    expect_error("h5py lzf", path, ["lzf", "'/X'", "32000"])

    # NaN in Y -> error naming the dataset and row.
    path = os.path.join(tmp, "nan.h5")
    y_nan = y.copy()
    y_nan[4321] = np.nan
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=X, chunks=(100, 12), compression="gzip")
        f.create_dataset("Y", data=y_nan, chunks=(100,), compression="gzip")
    expect_error("NaN in Y", path, ["'/Y'", "row 4321", "NaN"])

    # PyTables, the reference pipeline's layout: EArrays, zlib level 1.
    path = os.path.join(tmp, "pytables.h5")
    with tables.open_file(path, "w") as h5:
        filt = tables.Filters(complevel=1, complib="zlib")
        ex = h5.create_earray(h5.root, "X", tables.Float64Atom(), shape=(0, p), filters=filt)
        ey = h5.create_earray(h5.root, "Y", tables.Float64Atom(), shape=(0,), filters=filt)
        for start in range(0, n, 2000):
            ex.append(X[start:start + 2000])
            ey.append(y[start:start + 2000])
        chunkshape = ex.chunkshape
    head = expect_same("PyTables zlib1", path, ref)
    expect_same("PyTables zlib1 (3 threads, ring 3)", path, ref, "--threads", 3, "--ring", 3)
    print("PyTables chunks", chunkshape, "->", head[0] if head else "")

    # PyTables blosc (its default compressor, blosclz): decoded by the library itself.
    path = os.path.join(tmp, "blosc.h5")
    with tables.open_file(path, "w") as h5:
        filt = tables.Filters(complevel=5, complib="blosc")
        h5.create_array(h5.root, "dummy", [1])
        ex = h5.create_carray(h5.root, "X", tables.Float64Atom(), shape=(n, p), filters=filt)
        ex[:] = X
        ey = h5.create_carray(h5.root, "Y", tables.Float64Atom(), shape=(n,), filters=filt)
        ey[:] = y
    expect_same("PyTables blosc CArray", path, ref)
    expect_same("PyTables blosc CArray (blocks of 999 rows, 1 thread)", path, ref,
                "--block-rows", 999, "--threads", 1)

    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("interop_h5read: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

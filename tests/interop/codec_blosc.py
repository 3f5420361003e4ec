#!/usr/bin/env python3
"""codec_blosc.py — `oocsolve ingest --codec`: blosc files as PyTables writes and reads them.

One CSV (seed-like: numbers, a categorical, products) is ingested with each of deflate, blosc:lz4
and blosc:zstd.  Checks:
  - the blosc files declare filter 32001 alone (no HDF5 shuffle under it) with PyTables'
    parameters, and `oocsolve info` names the codec;
  - PyTables (tables) opens them as EArrays with complib blosc:lz4 / blosc:zstd and reads exactly
    the X and Y that plain h5py reads from the deflate file (read before hdf5plugin is imported:
    deflate needs no plugin); h5py reads them too once `import hdf5plugin` registered the filter;
  - `oocsolve fit --json` and `svd --json` on each blosc file give every number of the deflate
    file's output, bit for bit (same rows, same chunks, same blocks: the same arithmetic);
  - EArrays written by PyTables with Filters(complib='blosc:lz4', shuffle=True) and 'blosc:zstd'
    (appended in pieces, as users write them) are read by `oocsolve fit`, whose numbers equal
    those of our deflate file bit for bit.  Blocks follow chunk heights by default and the
    rounding of the accumulation depends on how rows are grouped, so these fits run with one
    --block-rows for all files;
  - a damaged blosc chunk (a byte of its header, or of its first block's offset) stops fit with
    exit status 1 and one line naming the file, '/X', the chunk (index and rows) and what is
    wrong, and nothing else on stderr;
  - an unknown --codec is a usage error (exit 2) listing the codecs; --level 0 stores chunks
    uncompressed whatever the codec (no blosc filter: any reader reads it).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import tables

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, exit_status  # noqa: E402

ROWS = 30_000
FORMULA = "y ~ a + b + c + a:b + C(g)"
CHUNK_ROWS = "4000"  # 8 chunks: the damaged one is in the middle
BLOCK_ROWS = "4096"
NOISE = ("HDF5-DIAG", "#000:", "AddressSanitizer", "LeakSanitizer", "runtime error:",
         "infinite loop closing library")


def run(*args):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    return subprocess.run([OOCSOLVE, *args], capture_output=True, text=True, env=env)


def numbers(doc, path=""):
    """{path: repr(number)} for every number in a JSON document except the timings, the CPU
    description and the input's name (which differ between runs and files)."""
    out = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            if path == "" and key in ("timings", "cpu", "input", "seconds"):
                continue
            out.update(numbers(value, f"{path}/{key}"))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out.update(numbers(value, f"{path}[{i}]"))
    elif isinstance(doc, (int, float)) and not isinstance(doc, bool):
        out[path] = repr(doc)
    return out


def command_json(label, *args):
    r = run(*args, "--json")
    check(r.returncode == 0, f"{label}: exit {r.returncode}: {r.stderr}")
    return json.loads(r.stdout) if r.returncode == 0 else {}


def same_numbers(label, got, want):
    a, b = numbers(got), numbers(want)
    check(len(b) > 5 and a.keys() == b.keys(), f"{label}: fields differ: {set(a) ^ set(b)}")
    diff = [k for k in b if a.get(k) != b[k]]
    check(not diff, f"{label}: {len(diff)} numbers differ, e.g. "
          + ", ".join(f"{k}: {a.get(k)} vs {b[k]}" for k in diff[:3]))


def write_csv(path):
    rng = np.random.default_rng(14)
    a, b, c = rng.standard_normal((3, ROWS))
    g = rng.integers(0, 5, ROWS)
    y = 1 + 2 * a - b + 0.5 * a * b + 0.1 * g + rng.standard_normal(ROWS)
    with open(path, "w") as f:
        f.write("y,a,b,c,g\n")
        for row in zip(y, a, b, c, g):
            f.write(f"{float(row[0])!r},{float(row[1])!r},{float(row[2])!r},"
                    f"{float(row[3])!r},{int(row[4])}\n")


def check_blosc_dcpl(label, path, compressor_code):
    with h5py.File(path, "r") as f:
        for name, width in (("X", 8 * f["X"].shape[1]), ("Y", 8)):
            plist = f[name].id.get_create_plist()
            filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
            check(len(filters) == 1 and filters[0][0] == 32001,
                  f"{label} /{name}: pipeline {filters}")
            if filters and filters[0][0] == 32001:
                flags, params = filters[0][1], tuple(filters[0][2])
                chunk_bytes = f[name].chunks[0] * width
                check(flags & 1, f"{label} /{name}: blosc not declared optional ({flags})")
                check(params == (2, 2, 8, chunk_bytes, 1, 1, compressor_code),
                      f"{label} /{name}: cd_values {params}")


def main():
    work = tempfile.mkdtemp(prefix="codec_blosc_", dir=os.getcwd())
    try:
        csv = os.path.join(work, "d.csv")
        write_csv(csv)
        files = {}
        for codec in ("deflate", "blosc:lz4", "blosc:zstd"):
            files[codec] = os.path.join(work, codec.replace(":", "_") + ".h5")
            r = run("ingest", csv, "-f", FORMULA, "-o", files[codec], "--codec", codec,
                    "--chunk-rows", CHUNK_ROWS, "-q")
            check(r.returncode == 0, f"ingest --codec {codec}: {r.stderr}")
        if not all(os.path.exists(p) for p in files.values()):
            return exit_status()

        # Plain h5py (no plugin imported yet) reads the deflate file: the reference X, Y.
        with h5py.File(files["deflate"], "r") as f:
            X, Y = f["X"][...], f["Y"][...]
            check(X.shape == (ROWS, 9) and Y.shape == (ROWS,), f"deflate shapes {X.shape}")

        for codec, code in (("blosc:lz4", 1), ("blosc:zstd", 5)):
            path = files[codec]
            check_blosc_dcpl(codec, path, code)
            info = command_json(f"info {codec}", "info", path)
            codecs = {o["name"]: o.get("codec") for o in info.get("objects", [])}
            check(codecs == {"/X": codec, "/Y": codec}, f"info {codec}: codecs {codecs}")
            text = run("info", path).stdout
            check(f"codec: {codec}\n" in text, f"info {codec} text: {text}")
            with tables.open_file(path, "r") as t:
                x, y = t.root.X, t.root.Y
                check(isinstance(x, tables.EArray), f"{codec}: PyTables sees {type(x).__name__}")
                check(x.filters.complib == codec and x.filters.complevel == 1
                      and x.filters.shuffle, f"{codec}: PyTables filters {x.filters}")
                check(np.array_equal(x[:].view(np.uint64), X.view(np.uint64)),
                      f"{codec}: PyTables X differs from h5py's deflate X")
                check(np.array_equal(y[:].view(np.uint64), Y.view(np.uint64)),
                      f"{codec}: PyTables Y differs")
        info = command_json("info deflate", "info", files["deflate"])
        check([o.get("codec") for o in info.get("objects", [])] == ["deflate", "deflate"],
              f"info deflate: {info}")

        import hdf5plugin  # noqa: F401  registers the blosc filter with h5py's HDF5
        for codec in ("blosc:lz4", "blosc:zstd"):
            with h5py.File(files[codec], "r") as f:
                check(np.array_equal(f["X"][...].view(np.uint64), X.view(np.uint64))
                      and np.array_equal(f["Y"][...].view(np.uint64), Y.view(np.uint64)),
                      f"{codec}: h5py + hdf5plugin reads other values")

        # fit and svd on our blosc files: every number of the deflate file's.
        fit_ref = command_json("fit deflate", "fit", files["deflate"])
        svd_ref = command_json("svd deflate", "svd", files["deflate"])
        for codec in ("blosc:lz4", "blosc:zstd"):
            same_numbers(f"fit {codec}", command_json(f"fit {codec}", "fit", files[codec]),
                         fit_ref)
            same_numbers(f"svd {codec}", command_json(f"svd {codec}", "svd", files[codec]),
                         svd_ref)
        fit_hc = command_json("fit deflate HC1", "fit", files["deflate"], "--cov", "HC1")
        same_numbers("fit blosc:lz4 HC1 (second pass)",
                     command_json("fit lz4 HC1", "fit", files["blosc:lz4"], "--cov", "HC1"),
                     fit_hc)

        # EArrays written by PyTables with blosc, read by oocsolve fit.
        fit_ref = command_json("fit deflate (fixed blocks)", "fit", files["deflate"],
                               "--block-rows", BLOCK_ROWS)
        for complib in ("blosc:lz4", "blosc:zstd"):
            path = os.path.join(work, "pytables_" + complib.replace(":", "_") + ".h5")
            with tables.open_file(path, "w") as t:
                filters = tables.Filters(complevel=5, complib=complib, shuffle=True)
                ex = t.create_earray(t.root, "X", tables.Float64Atom(), shape=(0, X.shape[1]),
                                     filters=filters)
                ey = t.create_earray(t.root, "Y", tables.Float64Atom(), shape=(0,),
                                     filters=filters)
                for start in range(0, ROWS, 7000):
                    ex.append(X[start:start + 7000])
                    ey.append(Y[start:start + 7000])
            info = command_json(f"info PyTables {complib}", "info", path)
            check([o.get("codec") for o in info.get("objects", [])] == [complib, complib],
                  f"info PyTables {complib}: {info}")
            same_numbers(f"fit PyTables {complib}",
                         command_json(f"fit PyTables {complib}", "fit", path, "--block-rows",
                                      BLOCK_ROWS), fit_ref)

        # A damaged chunk: /X chunk 2, a byte of its header or of its first block's offset.
        with h5py.File(files["blosc:lz4"], "r") as f:
            chunk_rows = f["X"].chunks[0]
            where = f["X"].id.get_chunk_info(2).byte_offset
        data = open(files["blosc:lz4"], "rb").read()
        for at, says in ((5, "blosc header declares"), (13, "compressed bytes"),
                         (19, "does not decompress")):
            bad = os.path.join(work, f"damaged_{at}.h5")
            damaged = bytearray(data)
            damaged[where + at] ^= 0x5A
            open(bad, "wb").write(damaged)
            r = run("fit", bad)
            label = f"damaged byte {at}"
            check(r.returncode == 1, f"{label}: exit {r.returncode}: {r.stderr}")
            check(len(r.stderr.strip().splitlines()) == 1, f"{label}: stderr {r.stderr!r}")
            rows = f"rows {2 * chunk_rows}..{3 * chunk_rows - 1}"
            for needle in (bad, "'/X'", "chunk 2,", rows, says):
                check(needle in r.stderr, f"{label}: message lacks {needle!r}: {r.stderr!r}")
            for noise in NOISE:
                check(noise not in r.stderr, f"{label}: stderr has {noise!r}")

        # Usage errors and level 0.
        r = run("ingest", csv, "-f", FORMULA, "-o", os.path.join(work, "x.h5"), "--codec",
                "blosc:snappy")
        check(r.returncode == 2 and "blosc:snappy" in r.stderr and "blosc:zstd" in r.stderr
              and not os.path.exists(os.path.join(work, "x.h5")), f"bad codec: {r.stderr}")
        level0 = os.path.join(work, "level0.h5")
        r = run("ingest", csv, "-f", FORMULA, "-o", level0, "--codec", "blosc:lz4", "--level",
                "0", "-q")
        check(r.returncode == 0, f"level 0: {r.stderr}")
        if r.returncode == 0:
            info = command_json("info level 0", "info", level0)
            check([[f["name"] for f in o["filters"]] for o in info["objects"]]
                  == [["shuffle"], ["shuffle"]], f"level 0 filters: {info}")
            check([o["codec"] for o in info["objects"]] == ["none", "none"],
                  f"level 0 codec: {info}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

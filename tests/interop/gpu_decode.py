"""Decoding chunks on the GPU (--gpu-decode), through the emulated CUDA plugin (tests/cuda.cmake:
gpu_decode_emulated).  The emulated plugin runs backend_cuda.c's decoder with the CPU twins of its
kernels (tests/cuda_emu/decode_emu.c over device/decode_kernels.h) and an nvCOMP stand-in that
inflates with libdeflate (tests/cuda_emu/nvcomp.c).

- the data path bit for bit: for the same file, device and method, `--gpu-decode on` and `off`
  feed the same rows into the same emulated update, so fit's and svd's JSON reports are equal
  as text (shortest round-trip numbers: equal text is equal bits), but for "decode" ("gpu" and
  "host") and the timings.  Files: h5py with shuffle + deflate and deflate alone, chunks that
  split the columns, a partial last chunk, a chunk never written (the fill value) and one stored
  without its shuffle (filter mask), both decoded by the host, a weights dataset; oocsolve ingest's output; PyTables' (zlib + shuffle CArrays);
  qr and normal; svd with --vectors;
- auto decodes on the GPU when the plugin can; a file the decoder cannot take (blosc, the
  response taken from a column of X) falls back to the host, with a note for `on`;
- damaged chunks (a bad zlib header, a flipped Adler-32 trailer, a corrupted deflate stream, an
  nvCOMP failure injected in the stand-in) end with a message naming the dataset, the chunk and
  the file, a non-zero exit and no crash; a non-finite value names its row and column;
- only compressed bytes cross "PCIe": the emulator counts every copy's bytes (OOC_EMU_TRAFFIC);
  decoding on the GPU uploads the chunks' stored bytes plus a chunk table, and downloads a scan
  vector per block (backend/block_scan.h) and the final triangle, never the decoded rows; a
  block with a bad value (NaN, a negative weight) brings its rows back for the message;
- `--gpu-decode on` where the backend cannot decode (the CPU, two GPUs) is an error.
Environment: OOCSOLVE, OOC_PLUGIN_EMU (set by ctest).
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

OOC = os.environ["OOCSOLVE"]
PLUGIN_EMU = os.environ["OOC_PLUGIN_EMU"]
from cliutil import check, exit_status  # noqa: E402


def run(args, extra_env=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OOC_CUDA_PLUGIN", "OOC_EMU_DEVICE_COUNT", "OOC_EMU_NVCOMP_FAIL")}
    env["OOC_CUDA_PLUGIN"] = PLUGIN_EMU
    env.update(extra_env or {})
    return subprocess.run([OOC] + args, capture_output=True, text=True, env=env)


def report(args, decode, extra_env=None):
    """The JSON report of `args --gpu-decode decode --json` (and the run), timings removed."""
    r = run(args + ["--gpu-decode", decode, "--json"], extra_env)
    check(r.returncode == 0, f"{args} --gpu-decode {decode}: exit {r.returncode}: {r.stderr}")
    if r.returncode != 0:
        return None, r
    doc = json.loads(r.stdout)
    doc.pop("timings", None)
    doc.pop("total", None)
    return doc, r


def same_bits(args, label):
    """on and off give the same report but for "decode"; on says gpu, off host."""
    on, _ = report(args, "on")
    off, _ = report(args, "off")
    if on is None or off is None:
        return
    check(on.pop("decode") == "gpu", f"{label}: --gpu-decode on did not decode on the GPU")
    check(off.pop("decode") == "host", f"{label}: --gpu-decode off did not decode on the host")
    check(json.dumps(on) == json.dumps(off), f"{label}: GPU-decoded report differs from host's:\n"
          f"{json.dumps(on)[:600]}\n{json.dumps(off)[:600]}")


def design(n, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * np.logspace(0, 3, p)
    X[:, 0] = 1.0
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    w = rng.uniform(0.25, 4.0, size=n)
    return X, y, w


def write_h5py(path, X, y, w, xchunks, shuffle, ychunks=(700,)):
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=X, chunks=xchunks, compression="gzip", shuffle=shuffle)
        f.create_dataset("Y", data=y, chunks=ychunks, compression="gzip", compression_opts=1)
        f.create_dataset("W", data=w, chunks=(min(1000, len(w)),), compression="gzip",
                         shuffle=True)


def test_h5py_files(tmp):
    X, y, w = design(5003, 7, 1)
    cases = [("shuffle+deflate, partial last chunk", (300, 7), True),
             ("deflate alone", (512, 7), False),
             ("chunks splitting the columns", (256, 3), True)]
    for i, (label, chunks, shuffle) in enumerate(cases):
        path = os.path.join(tmp, f"h5py{i}.h5")
        write_h5py(path, X, y, w, chunks, shuffle)
        for method in ("qr", "normal"):
            same_bits(["fit", path, "--device", "gpu", "--method", method], f"{label}, {method}")
        same_bits(["fit", path, "--device", "gpu", "--weights", "/W"], f"{label}, weighted")
        same_bits(["svd", path, "--device", "gpu", "--vectors"], f"{label}, svd")
    # small blocks: many blocks, chunks straddling them
    same_bits(["fit", os.path.join(tmp, "h5py0.h5"), "--device", "gpu", "--block-rows", "450",
               "--weights", "/W"], "blocks of 450 rows")


def test_host_decoded_chunks(tmp):
    """A chunk never written reads as the fill value, and one stored without its shuffle (filter
    mask 1) is inflated by the host: both reach the GPU as values (OOC_RAW_PLAIN)."""
    import zlib
    path = os.path.join(tmp, "holes.h5")
    X, y, _ = design(2000, 4, 2)
    with h5py.File(path, "w") as f:
        dx = f.create_dataset("X", shape=X.shape, dtype="f8", chunks=(250, 4), compression="gzip",
                              shuffle=True, fillvalue=0.5)
        for r0 in range(0, 2000, 250):
            if r0 == 1250:
                dx.id.write_direct_chunk((r0, 0), zlib.compress(X[r0:r0 + 250].tobytes()),
                                         filter_mask=1)
            elif r0 != 750:
                dx[r0:r0 + 250] = X[r0:r0 + 250]
        f.create_dataset("Y", data=y, chunks=(250,), compression="gzip")
    with h5py.File(path, "r") as f:
        check(np.array_equal(f["X"][1250:1500], X[1250:1500]), "h5py reads the masked chunk back")
    same_bits(["fit", path, "--device", "gpu"], "chunks decoded by the host")


def test_ingest_and_pytables(tmp):
    X, y, _ = design(3001, 4, 3)
    csv = os.path.join(tmp, "d.csv")
    with open(csv, "w") as f:
        f.write("y,a,b,c\n")
        for i in range(len(y)):
            f.write(",".join(repr(float(v)) for v in (y[i], X[i, 1], X[i, 2], X[i, 3])) + "\n")
    ingested = os.path.join(tmp, "ingested.h5")
    r = subprocess.run([OOC, "ingest", csv, "-f", "y ~ a + b + c", "-o", ingested,
                        "--chunk-rows", "400"], capture_output=True, text=True)
    check(r.returncode == 0, f"ingest: {r.stderr}")
    same_bits(["fit", ingested, "--device", "gpu"], "oocsolve ingest's file")
    import tables
    pt = os.path.join(tmp, "pytables.h5")
    filters = tables.Filters(complevel=5, complib="zlib", shuffle=True)
    with tables.open_file(pt, "w") as f:
        f.create_carray("/", "X", obj=X, filters=filters, chunkshape=(333, 4))
        f.create_carray("/", "Y", obj=y, filters=filters, chunkshape=(1000,))
    same_bits(["fit", pt, "--device", "gpu"], "PyTables' file")


def test_auto_and_fallbacks(tmp):
    X, y, _ = design(1500, 3, 4)
    path = os.path.join(tmp, "auto.h5")
    write_h5py(path, X, y, np.ones(len(y)), (200, 3), True)
    r = run(["fit", path, "--device", "gpu", "--json"])
    check(r.returncode == 0 and json.loads(r.stdout)["decode"] == "gpu",
          f"auto with the decoder: {r.returncode} {r.stdout[:200]} {r.stderr}")
    # blosc: the host decodes, with a note when asked for
    import hdf5plugin
    blosc = os.path.join(tmp, "blosc.h5")
    with h5py.File(blosc, "w") as f:
        f.create_dataset("X", data=X, chunks=(200, 3), **hdf5plugin.Blosc(cname="lz4"))
        f.create_dataset("Y", data=y, chunks=(200,), **hdf5plugin.Blosc(cname="lz4"))
    r = run(["fit", blosc, "--device", "gpu", "--gpu-decode", "on"])
    check(r.returncode == 0, f"blosc with --gpu-decode on: exit {r.returncode}: {r.stderr}")
    check("is not compressed with deflate" in r.stderr and "decoded on the host" in r.stderr,
          f"blosc with --gpu-decode on: no note: {r.stderr!r}")
    r = run(["fit", blosc, "--device", "gpu", "--json"])
    check(r.returncode == 0 and json.loads(r.stdout)["decode"] == "host" and r.stderr == "",
          f"blosc with auto: {r.returncode} {r.stderr!r}")
    # the response from a column of X: its columns are not side by side in the rows
    r = run(["fit", path, "--device", "gpu", "--gpu-decode", "on", "--y-column", "x1", "--json"])
    check(r.returncode == 0 and json.loads(r.stdout)["decode"] == "host"
          and "response or the weights from columns of X" in r.stderr,
          f"--y-column with --gpu-decode on: {r.returncode} {r.stderr!r}")


def test_cannot_decode(tmp):
    X, y, _ = design(600, 3, 5)
    path = os.path.join(tmp, "small.h5")
    write_h5py(path, X, y, np.ones(len(y)), (100, 3), True, (100,))
    r = run(["fit", path, "--device", "cpu", "--gpu-decode", "on"])
    check(r.returncode == 2 and "--gpu-decode on needs a GPU backend" in r.stderr,
          f"--gpu-decode on with the CPU: {r.returncode} {r.stderr!r}")
    r = run(["fit", path, "--gpu-decode", "sometimes"])
    check(r.returncode == 2 and "--gpu-decode must be auto, on or off" in r.stderr,
          f"--gpu-decode sometimes: {r.returncode} {r.stderr!r}")
    two = {"OOC_EMU_DEVICE_COUNT": "2"}
    r = run(["fit", path, "--device", "gpu:0,1", "--gpu-decode", "on"], two)
    check(r.returncode != 0 and "decoding on the GPU uses one GPU" in r.stderr,
          f"--gpu-decode on with two GPUs: {r.returncode} {r.stderr!r}")
    r = run(["fit", path, "--device", "gpu:0,1", "--json"], two)
    check(r.returncode == 0 and json.loads(r.stdout)["decode"] == "host",
          f"auto with two GPUs: {r.returncode} {r.stderr!r}")


def damage(path, dataset, index, how):
    """Change the stored bytes of chunk `index` of `dataset` in place."""
    with h5py.File(path, "r") as f:
        info = f[dataset].id.get_chunk_info(index)
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset)
        data = bytearray(fh.read(info.size))
        how(data)
        fh.seek(info.byte_offset)
        fh.write(data)


def expect_chunk_error(path, args, wants, label, extra_env=None):
    r = run(["fit", path, "--device", "gpu", "--gpu-decode", "on"] + args, extra_env)
    check(0 < r.returncode < 128, f"{label}: exit {r.returncode} (a crash is negative or >= 128)")
    for want in ["'/X' chunk at row 200, column 0", os.path.basename(path)] + wants:
        check(want in r.stderr, f"{label}: {want!r} not in {r.stderr!r}")


def test_damaged_chunks(tmp):
    X, y, _ = design(800, 3, 6)
    cases = [
        ("bad zlib header", lambda d: d.__setitem__(0, 0x00), ["bad zlib header 00",
                                                                "not deflate (CM != 8)"]),
        ("header check bits", lambda d: d.__setitem__(1, d[1] ^ 0x01), ["FCHECK"]),
        ("Adler-32 trailer", lambda d: d.__setitem__(len(d) - 1, d[-1] ^ 0xff),
         ["Adler-32 mismatch"]),
        ("corrupted stream", lambda d: d.__setitem__(slice(10, 40), bytes(range(30))),
         ["decoded on the GPU"]),
    ]
    for i, (label, how, wants) in enumerate(cases):
        path = os.path.join(tmp, f"damaged{i}.h5")
        write_h5py(path, X, y, np.ones(len(y)), (100, 3), True, (400,))
        damage(path, "X", 2, how)
        expect_chunk_error(path, [], wants, label)
    path = os.path.join(tmp, "nvcomp_fails.h5")
    write_h5py(path, X, y, np.ones(len(y)), (100, 3), True, (400,))
    # the block of 800 rows holds /X's 8 chunks then /Y's 2: chunk 2 of the batch is /X's third
    expect_chunk_error(path, [], ["nvCOMP cannot inflate", "nvcompErrorCannotDecompress"],
                       "nvCOMP failure", {"OOC_EMU_NVCOMP_FAIL": "2"})
    # a value that is not finite, decoded on the GPU: checked on the host, row and column named
    bad = X.copy()
    bad[345, 1] = np.nan
    path = os.path.join(tmp, "nan.h5")
    write_h5py(path, bad, y, np.ones(len(y)), (100, 3), True, (400,))
    r = run(["fit", path, "--device", "gpu", "--gpu-decode", "on"])
    check(0 < r.returncode < 128 and "non-finite value nan in column 'x1' at row 346" in r.stderr,
          f"NaN decoded on the GPU: {r.returncode} {r.stderr!r}")


def traffic(args, decode, tmp):
    """The bytes the emulator copied each way for `args --gpu-decode decode`, and the report."""
    out = os.path.join(tmp, f"traffic-{decode}.json")
    r = run(args + ["--gpu-decode", decode, "--json"], {"OOC_EMU_TRAFFIC": out})
    check(r.returncode == 0, f"{args} --gpu-decode {decode}: exit {r.returncode}: {r.stderr}")
    with open(out) as f:
        return json.load(f), json.loads(r.stdout)


def test_pcie_traffic(tmp):
    n, p, block = 200_000, 8, 20_000
    rng = np.random.default_rng(7)
    X = np.round(rng.normal(size=(n, p)) * 100, 2)   # prices: shuffle + deflate squeeze them
    X[:, 0] = 1.0
    y = np.round(X @ rng.normal(size=p) + rng.normal(size=n), 2)
    path = os.path.join(tmp, "traffic.h5")
    write_h5py(path, X, y, np.ones(n), (10_000, p), True, (10_000,))
    stored = nchunks = 0
    with h5py.File(path, "r") as f:
        for name in ("X", "Y"):
            for i in range(f[name].id.get_num_chunks()):
                stored += f[name].id.get_chunk_info(i).size
                nchunks += 1
    rows_bytes = n * (p + 1) * 8
    check(stored < rows_bytes * 0.75, f"the test file compresses: {stored} of {rows_bytes} bytes")
    args = ["fit", path, "--device", "gpu", "--block-rows", str(block)]
    on, rep_on = traffic(args, "on", tmp)
    off, rep_off = traffic(args, "off", tmp)
    check(rep_on["decode"] == "gpu" and rep_off["decode"] == "host", "decoded where asked")
    nblocks = n // block
    # up: each chunk's deflate payload (its stored bytes less the 6 of the zlib wrapper, padded
    # to 8) and its row of the chunk table (ooc_gpu_chunk and nvCOMP's four arrays: 88 bytes)
    check(on["h2d_bytes"] <= stored + 96 * nchunks + 4096,
          f"GPU decode uploads {on['h2d_bytes']} bytes for {stored} stored in {nchunks} chunks")
    # down: nvCOMP's sizes and statuses, the Adler-32s (24 bytes a chunk), a scan vector of
    # 4p + 8 doubles a block, the triangle and the solve's small results
    small = 24 * nchunks + nblocks * (4 * p + 8) * 8 + 64 * 1024
    check(on["d2h_bytes"] <= small,
          f"GPU decode downloads {on['d2h_bytes']} bytes (at most {small}; the rows are "
          f"{rows_bytes})")
    check(on["nvcomp_chunks"] == nchunks, f"nvCOMP inflated {on['nvcomp_chunks']} chunks")
    check(off["h2d_bytes"] >= rows_bytes and off["nvcomp_chunks"] == 0,
          f"host decode uploads the rows: {off['h2d_bytes']} bytes of {rows_bytes}")
    rep_on.pop("decode"), rep_off.pop("decode")
    for doc in (rep_on, rep_off):
        doc.pop("timings", None), doc.pop("total", None)
    check(rep_on == rep_off, "the traffic run's reports differ")


def test_bad_weight(tmp):
    """A negative weight found by the GPU's scan: the block comes back for the message."""
    X, y, w = design(900, 3, 8)
    w[612] = -1.5
    path = os.path.join(tmp, "negw.h5")
    write_h5py(path, X, y, w, (100, 3), True, (300,))
    r = run(["fit", path, "--device", "gpu", "--gpu-decode", "on", "--weights", "/W"])
    check(0 < r.returncode < 128 and "invalid weight -1.5 at row 613" in r.stderr,
          f"negative weight decoded on the GPU: {r.returncode} {r.stderr!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_h5py_files(tmp)
        test_host_decoded_chunks(tmp)
        test_ingest_and_pytables(tmp)
        test_auto_and_fallbacks(tmp)
        test_cannot_decode(tmp)
        test_damaged_chunks(tmp)
        test_pcie_traffic(tmp)
        test_bad_weight(tmp)
    sys.exit(exit_status())


if __name__ == "__main__":
    main()

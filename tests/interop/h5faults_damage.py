"""h5faults_damage.py — damaged HDF5 files: `oocsolve fit`, `svd` and `info`
on a file from `oocsolve ingest` with bytes flipped in its chunk index
(version 1 B-tree nodes, found by their "TREE" signature and matched to /X
and /Y through h5py's chunk addresses) or in a chunk.

Each command that reads the damaged part must exit with status 1, on one
line of stderr naming the file, the dataset and, where a chunk is at fault,
the chunk (its index and rows) with sizes that are that dataset's own (a bad
/Y chunk must not quote /X's chunk size); and stderr must carry nothing else:
no HDF5 error stack, no "infinite loop closing library" (ids or error-stack
references left behind), no sanitizer report.  The oocsolve under test is
$OOCSOLVE (the ASan build's when the suite runs there; leak detection is on
unless ASAN_OPTIONS says otherwise).

`info` describes metadata and reads no chunk, so it fails on a damaged index
node and lists the file when only a chunk's address or bytes are bad; `svd`
reads /X only.
"""
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import h5py

OOCSOLVE = os.environ["OOCSOLVE"]
ROWS, CHUNK_ROWS = 20_000, 1000
X_CHUNK_BYTES, Y_CHUNK_BYTES = CHUNK_ROWS * 3 * 8, CHUNK_ROWS * 8  # y ~ a + b: 3 columns
NOISE = ("infinite loop closing library", "HDF5-DIAG", "#000:", "#001:", "AddressSanitizer",
         "LeakSanitizer", "runtime error:")

from cliutil import check, failures  # noqa: E402


def run(args):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    return subprocess.run([OOCSOLVE] + args, capture_output=True, text=True, env=env)


def clean_stderr(label, err):
    for noise in NOISE:
        check(noise not in err, f"{label}: stderr has {noise!r}: {err!r}")


def expect_error(label, args, path, needles, absent=()):
    r = run(args)
    err = r.stderr
    check(r.returncode == 1, f"{label}: exit status {r.returncode} (want 1); stderr: {err!r}")
    check(len(err.strip().splitlines()) == 1, f"{label}: expected one line on stderr: {err!r}")
    check(path in err, f"{label}: message does not name the file: {err!r}")
    for needle in needles:
        check(needle in err, f"{label}: message lacks {needle!r}: {err!r}")
    for word in absent:
        check(re.search(word, err) is None, f"{label}: message has {word!r}: {err!r}")
    clean_stderr(label, err)


def expect_ok(label, args):
    r = run(args)
    check(r.returncode == 0, f"{label}: exit status {r.returncode} (want 0); stderr: {r.stderr!r}")
    clean_stderr(label, r.stderr)


def btree_nodes(data, h5path):
    """{'/X': (node offset, key size), '/Y': ...}: the v1 B-tree node whose
    child 0 is the dataset's chunk 0."""
    first = {}
    with h5py.File(h5path, "r") as f:
        for name in ("X", "Y"):
            first["/" + name] = f[name].id.get_chunk_info(0).byte_offset
    nodes = {}
    for m in re.finditer(b"TREE", data):
        at = m.start()
        if data[at + 4] != 1:  # node type 1: raw data chunks
            continue
        for name, rank in (("/X", 2), ("/Y", 1)):
            key = 8 + 8 * (rank + 1)  # chunk size, filter mask, rank + 1 offsets
            child0 = struct.unpack_from("<Q", data, at + 24 + key)[0]
            if child0 == first[name]:
                nodes[name] = (at, key)
    return nodes


def variant(work, base, name, edit):
    path = os.path.join(work, name + ".h5")
    data = bytearray(open(base, "rb").read())
    edit(data)
    open(path, "wb").write(data)
    return path


def main():
    with tempfile.TemporaryDirectory(dir=os.getcwd(), prefix="h5faults_damage_") as work:
        rng = random.Random(3)
        csv = os.path.join(work, "d.csv")
        with open(csv, "w") as f:
            f.write("a,b,y\n")
            for _ in range(ROWS):
                a, b = rng.gauss(0, 1), rng.gauss(0, 1)
                f.write(f"{a!r},{b!r},{a - b + rng.gauss(0, 1)!r}\n")
        base = os.path.join(work, "good.h5")
        r = run(["ingest", csv, "-f", "y ~ a + b", "-o", base, "--chunk-rows", str(CHUNK_ROWS),
                 "-q"])
        check(r.returncode == 0, f"ingest: {r.returncode} {r.stderr!r}")
        for cmd in ("fit", "svd", "info"):
            expect_ok(f"{cmd} on the intact file", [cmd, base])

        data = open(base, "rb").read()
        nodes = btree_nodes(data, base)
        check(sorted(nodes) == ["/X", "/Y"], f"B-tree nodes of /X and /Y not found: {nodes}")
        if failures:
            return 1
        x_node, x_key = nodes["/X"]
        y_node, y_key = nodes["/Y"]

        def child(node, key, i):  # offset of the address of child i
            return node + 24 + key + i * (key + 8)

        def key_at(node, key, i):  # offset of key i (chunk size, mask, offsets)
            return node + 24 + i * (key + 8)

        # 1. /X's index node unreadable (signature flipped).
        p = variant(work, base, "x_node", lambda d: d.__setitem__(x_node, d[x_node] ^ 0xFF))
        for cmd in ("fit", "svd"):
            expect_error(f"{cmd}, /X index node", [cmd, p], p, ["'/X'", "chunk 0,", "chunk index"])
        expect_error("info, /X index node", ["info", p], p, ["'/X'", "chunk index"])

        # 2. /Y's index node: fit and info fail; svd does not read /Y.
        p = variant(work, base, "y_node", lambda d: d.__setitem__(y_node, d[y_node] ^ 0xFF))
        expect_error("fit, /Y index node", ["fit", p], p, ["'/Y'", "chunk 0,", "chunk index"])
        expect_error("info, /Y index node", ["info", p], p, ["'/Y'", "chunk index"])
        expect_ok("svd, /Y index node", ["svd", p])

        # 3. The address of /X's chunk 1 points past the end of the file.
        def far_address(d):
            at = child(x_node, x_key, 1)
            struct.pack_into("<Q", d, at, struct.unpack_from("<Q", d, at)[0] + (1 << 40))
        p = variant(work, base, "x_address", far_address)
        for cmd in ("fit", "svd"):
            expect_error(f"{cmd}, /X chunk address", [cmd, p], p,
                         ["'/X'", "chunk 1,", "rows 1000..1999"])
        expect_ok("info, /X chunk address", ["info", p])

        # 4. The offset in /X's key 1 flipped: chunk 1 vanishes from the index,
        #    which must not read as an unwritten chunk (zeros).
        def offset_key(d):
            at = key_at(x_node, x_key, 1) + 8  # first offset: the chunk's row
            d[at + 1] ^= 0x10
        p = variant(work, base, "x_offset", offset_key)
        for cmd in ("fit", "svd"):
            expect_error(f"{cmd}, /X chunk offset", [cmd, p], p,
                         ["'/X'", "chunk 1,", "rows 1000..1999", "missing from the chunk index"])

        # 5. /Y's chunk 3 damaged inside its deflate stream: the message quotes
        #    /Y's 8000-byte chunks, not /X's 24000 (or /X's buffer, 24064).
        with h5py.File(base, "r") as f:
            y3 = f["Y"].id.get_chunk_info(3)
        def damage_y3(d):
            for k in range(40, 60):
                d[y3.byte_offset + k] ^= 0x5A
        p = variant(work, base, "y_stream", damage_y3)
        expect_error("fit, /Y chunk 3 stream", ["fit", p], p,
                     ["'/Y'", "chunk 3,", "rows 3000..3999", str(Y_CHUNK_BYTES)],
                     absent=[str(X_CHUNK_BYTES), r"2406\d"])

        # 6. /Y's chunk 5 replaced by a valid stream that inflates to more than
        #    /X's chunk (written with h5py: consistent index, bad content).
        p = os.path.join(work, "y_big.h5")
        shutil.copy(base, p)
        with h5py.File(p, "r+") as f:
            f["Y"].id.write_direct_chunk((5 * CHUNK_ROWS,), zlib.compress(bytes(30000)), 0)
        expect_error("fit, /Y chunk 5 too large", ["fit", p], p,
                     ["'/Y'", "chunk 5,", "rows 5000..5999", str(Y_CHUNK_BYTES)],
                     absent=[str(X_CHUNK_BYTES), r"2406\d"])
    return 1 if failures else 0


if __name__ == "__main__":
    code = main()
    if code:
        print(f"{len(failures)} check(s) failed")
    sys.exit(code)

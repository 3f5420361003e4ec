"""h5faults_disk_full.py — writing HDF5 onto a full disk: `oocsolve ingest` and
`oocsolve svd --u-out` into a 2 MiB tmpfs, with the disk filled to several
levels beforehand so that the write fails at different points (creating the
file, a chunk, the metadata written at close).

Each run must exit with status 1 (not a signal), say "No space left on device"
and name the output, leave the directory exactly as it was (no temporary file;
a previous output of the same name byte-identical), and print nothing from
HDF5 or the sanitizers.  The oocsolve under test is $OOCSOLVE (the ASan build's
when the suite runs there; leak detection is on unless ASAN_OPTIONS says
otherwise).

Mounting needs root: where it is not permitted the test says so and exits 77,
which ctest reports as skipped.  The tmpfs is unmounted on every path.
"""
import os
import random
import subprocess
import sys
import tempfile

OOCSOLVE = os.environ["OOCSOLVE"]
MIB = 1 << 20
TMPFS_BYTES = 2 * MIB
ROWS = 150_000  # X is 150k x 3 doubles (3.6 MB raw): more than the tmpfs holds
NOISE = ("infinite loop closing library", "HDF5-DIAG", "#000:", "AddressSanitizer",
         "LeakSanitizer", "runtime error:")

from cliutil import check, failures  # noqa: E402


def run(args):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    return subprocess.run([OOCSOLVE] + args, capture_output=True, text=True, env=env)


def write_csv(path, rows, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("a,b,y\n")
        for _ in range(rows):
            a, b = rng.gauss(0, 1), rng.gauss(0, 1)
            f.write(f"{a!r},{b!r},{a + 2 * b + rng.gauss(0, 1)!r}\n")


def listing(d):
    return {name: open(os.path.join(d, name), "rb").read() for name in sorted(os.listdir(d))}


def fill_to(d, free_bytes):
    """Leave about free_bytes free on the tmpfs (one filler file)."""
    filler = os.path.join(d, "filler")
    if os.path.exists(filler):
        os.remove(filler)
    st = os.statvfs(d)
    avail = st.f_bavail * st.f_frsize
    if avail > free_bytes:
        with open(filler, "wb") as f:
            f.write(b"\0" * (avail - free_bytes))


def expect_disk_full(label, args, mnt, output):
    """Run args (writing `output` in mnt) and check the failure is clean."""
    before = listing(mnt)
    r = run(args)
    err = r.stderr
    check(r.returncode == 1, f"{label}: exit status {r.returncode} (want 1); stderr: {err!r}")
    check("No space left on device" in err, f"{label}: no 'No space left on device': {err!r}")
    check(output in err, f"{label}: message does not name {output}: {err!r}")
    for noise in NOISE:
        check(noise not in err, f"{label}: stderr has {noise!r}: {err!r}")
    check(len(err.strip().splitlines()) == 1, f"{label}: expected one line on stderr: {err!r}")
    after = listing(mnt)
    check(sorted(after) == sorted(before),
          f"{label}: directory changed: {sorted(before)} -> {sorted(after)}")
    for name, data in before.items():
        check(after.get(name) == data, f"{label}: {name} is not byte-identical")


def main():
    if os.geteuid() != 0:
        print("skipped: mounting a tmpfs needs root")
        return 77
    with tempfile.TemporaryDirectory(dir=os.getcwd(), prefix="h5faults_disk_") as work:
        mnt = os.path.join(work, "mnt")
        os.mkdir(mnt)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", mnt],
                           capture_output=True, text=True)
        if m.returncode != 0:
            print(f"skipped: cannot mount a tmpfs: {m.stderr.strip()}")
            return 77
        try:
            return scenarios(work, mnt)
        finally:
            u = subprocess.run(["umount", mnt], capture_output=True, text=True)
            if u.returncode != 0:
                subprocess.run(["umount", "-l", mnt])


def scenarios(work, mnt):
    big = os.path.join(work, "big.csv")
    small = os.path.join(work, "small.csv")
    write_csv(big, ROWS, 1)
    write_csv(small, 50, 2)
    formula = "y ~ a + b"

    # The design fits where it is written; U, as tall as X, does not fit in mnt.
    design = os.path.join(work, "design.h5")
    r = run(["ingest", big, "-f", formula, "-o", design, "-q"])
    check(r.returncode == 0, f"ingest to the roomy disk: {r.returncode} {r.stderr!r}")
    r = run(["svd", design, "--u-out", os.path.join(work, "U_roomy.h5")])
    check(r.returncode == 0, f"svd --u-out to the roomy disk: {r.returncode} {r.stderr!r}")
    check(os.path.getsize(os.path.join(work, "U_roomy.h5")) > TMPFS_BYTES,
          "U is not larger than the tmpfs: the test would prove nothing")
    check(os.path.getsize(design) > TMPFS_BYTES,
          "the design is not larger than the tmpfs: the test would prove nothing")

    # Previous outputs of the same names, which a failed write must not touch.
    out = os.path.join(mnt, "out.h5")
    u_out = os.path.join(mnt, "U.h5")
    r = run(["ingest", small, "-f", formula, "-o", out, "-q"])
    check(r.returncode == 0, f"previous output: {r.returncode} {r.stderr!r}")
    r = run(["svd", out, "--u-out", u_out])
    check(r.returncode == 0, f"previous U: {r.returncode} {r.stderr!r}")

    # Free space from "all of it" down to "almost none": the write fails in
    # the middle of the chunks, near the end (metadata at close), or at once.
    for free in (TMPFS_BYTES, 1536 * 1024, 1024 * 1024, 256 * 1024, 64 * 1024, 16 * 1024, 4096):
        fill_to(mnt, free)
        for threads in ("1", "2"):
            expect_disk_full(f"ingest, {free} bytes free, {threads} thread(s)",
                             ["ingest", big, "-f", formula, "-o", out, "-q",
                              "--threads", threads], mnt, out)
        expect_disk_full(f"svd --u-out, {free} bytes free",
                         ["svd", design, "--u-out", u_out], mnt, u_out)
    return 1 if failures else 0


if __name__ == "__main__":
    code = main()
    if code == 1:
        print(f"{len(failures)} check(s) failed")
    sys.exit(code)

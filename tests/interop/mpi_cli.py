#!/usr/bin/env python3
"""mpi_cli.py — `mpirun -np N oocsolve fit|svd|glm` (tests/mpi.cmake; built with OOC_MPI).

Three h5py files of unequal sizes (3001, 17 and 2500 rows) are one design.  For N = 1..4 ranks,
fit (qr, normal, weighted, HC1, refined) and svd equal the one-process run within the sum of two
implementations' rounding bounds (lsq_bounds.py: the ranks' triangles are merged in another order,
each result is exact for data perturbed by γ).  Also: more ranks than rows (ranks with none), a
non-finite value on the last rank's rows (its message names the row; every rank stops, none
hangs), --profile writing one trace per rank, a missing file on one rank (MPMD launch), a CSV
refused, and svd --u-out across ranks (a part per rank joined by one file) equal to one process's U.
glm on 1-4 ranks (binomial with an offset, freq and var weights; gamma as well, whose
log-likelihood takes a pass of its own; poisson with an offset, whose null model iterates along)
against statsmodels (glm_statsmodels.compare: 1e-8 relative) and against one process (each run
within the first-order bound of the exact iterate: glm_statsmodels.first_order_bound, so twice
it between two runs, ×2 for the terms a first-order bound leaves out); a bad response on the
last rank's rows (named, every rank stops) and perfect separation (met by every rank alike:
reported once, by rank 0).
Environment: OOCSOLVE (set by ctest), MPIEXEC (mpirun, from CMake's FindMPI).
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from cliutil import check, failures
from lsq_bounds import LsqBounds
from glm_statsmodels import F, L, compare, first_order_bound

OOCSOLVE = os.environ["OOCSOLVE"]
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_btl_vader_single_copy_mechanism="none", OMPI_MCA_rmaps_base_oversubscribe="1")
SIZES = (3001, 17, 2500)
TIMEOUT = 120  # a hang is a failure, not a stuck CI run


def run(args, np_ranks=None, mpmd=None):
    """oocsolve with args, alone (np_ranks None) or under mpirun; mpmd: per-rank argument lists."""
    if mpmd:
        cmd = [MPIEXEC, "--oversubscribe"]
        for i, a in enumerate(mpmd):
            cmd += ([":"] if i else []) + ["-np", "1", OOCSOLVE] + a
    elif np_ranks:
        cmd = [MPIEXEC, "--oversubscribe", "-np", str(np_ranks), OOCSOLVE] + args
    else:
        cmd = [OOCSOLVE] + args
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        check(False, f"timed out (a rank waits for another?): {cmd}")
        return subprocess.CompletedProcess(cmd, 124, "", "")


def write_files(tmp):
    rng = np.random.default_rng(7)
    n = sum(SIZES)
    X = rng.standard_normal((n, 5))
    X[:, 0] = 1.0
    X[:, 2] += 0.8 * X[:, 1]  # some collinearity: κ of a few
    y = X @ np.array([1.0, -2.0, 0.5, 3.0, 0.25]) + rng.standard_normal(n)
    w = rng.uniform(0.5, 2.0, n)
    paths, start = [], 0
    for k, size in enumerate(SIZES):
        path = os.path.join(tmp, f"part{k}.h5")
        with h5py.File(path, "w") as f:
            f.create_dataset("X", data=X[start:start + size], chunks=(min(size, 256), 5),
                             compression="gzip", shuffle=True)
            f.create_dataset("Y", data=y[start:start + size], chunks=(min(size, 256),))
            f.create_dataset("W", data=w[start:start + size], chunks=(min(size, 256),))
        paths.append(path)
        start += size
    return paths, X, y, w


def fit_json(args, np_ranks=None):
    r = run(["fit", *args, "--json", "--device", "cpu"], np_ranks)
    check(r.returncode == 0, f"fit {args} np={np_ranks}: {r.returncode} {r.stderr[-500:]}")
    return json.loads(r.stdout) if r.returncode == 0 else None


def test_fits(paths, X, y, w):
    variants = {"qr": ["--method", "qr"], "normal": ["--method", "normal"],
                "weighted": ["--weights", "/W"], "HC1": ["--cov", "HC1"], "refined": ["--refine"]}
    for name, extra in variants.items():
        weighted = name == "weighted"
        bounds = LsqBounds(X, y, w if weighted else None,
                           method="normal" if name == "normal" else "qr")
        serial = fit_json(paths + extra)
        if not serial:
            continue
        resid = (y - X @ np.array(serial["params"])) * (np.sqrt(w) if weighted else 1.0)
        d_bse = bounds.d_hc_bse(resid) if name == "HC1" else np.full(5, bounds.d_bse())
        for n in (1, 2, 3, 4):
            got = fit_json(paths + extra, n)
            if not got:
                continue
            check(got["nobs"] == sum(SIZES), f"{name} np={n}: nobs {got['nobs']}")
            if name == "refined":
                check(got["refine_passes"] >= 1, f"{name} np={n}: refined {got['refine_passes']}")
            # both are within their bound of the exact result: twice the bound between them
            dp = np.abs(np.array(got["params"]) - serial["params"])
            check(np.all(dp <= 2 * bounds.params()),
                  f"{name} np={n}: params differ by {dp.max():.3g} > {2 * bounds.params():.3g}")
            rel = np.abs(np.array(got["bse"]) / serial["bse"] - 1.0)
            check(np.all(rel <= 2 * d_bse), f"{name} np={n}: bse differ by {rel.max():.3g}")


def test_svd(paths, X):
    bounds = LsqBounds(X, np.ones(len(X)))
    r = run(["svd", *paths, "--json", "--device", "cpu"])
    check(r.returncode == 0, f"svd: {r.stderr}")
    serial = np.array(json.loads(r.stdout)["singular_values"]) if r.returncode == 0 else None
    for n in (2, 4):
        m = run(["svd", *paths, "--json", "--device", "cpu"], n)
        check(m.returncode == 0, f"svd np={n}: {m.stderr[-500:]}")
        if m.returncode == 0 and serial is not None:
            got = np.array(json.loads(m.stdout)["singular_values"])
            # Weyl: each within ε_A·σmax of the exact values
            check(np.all(np.abs(got - serial) <= 2 * bounds.eps_A * serial[0]),
                  f"svd np={n}: {got} vs {serial}")
    # U across ranks: one part per rank joined by U.h5 (virtual /X), equal to one process's U
    # column by column up to sign: a singular vector moves by at most ε_A·σmax/gap_j (Wedin),
    # and U's column j = X v_j / σ_j inherits that (plus ε_A for σ_j): 4× for two runs and slack
    tmp = os.path.dirname(paths[0])
    one = os.path.join(tmp, "u1.h5")
    r = run(["svd", *paths, "-k", "3", "--u-out", one, "--device", "cpu"])
    check(r.returncode == 0, f"svd --u-out alone: {r.stderr}")
    if r.returncode == 0 and serial is not None:
        with h5py.File(one) as f:
            u_ref = f["X"][:]
        s = serial
        for n in (2, 3):
            out = os.path.join(tmp, f"u{n}.h5")
            m = run(["svd", *paths, "-k", "3", "--u-out", out, "--device", "cpu"], n)
            check(m.returncode == 0, f"svd --u-out np={n}: {m.stderr[-500:]}")
            parts = sorted(p for p in os.listdir(tmp) if p.startswith(f"u{n}.part-"))
            check(len(parts) == n, f"np={n}: one part per rank: {parts}")
            if m.returncode != 0:
                continue
            with h5py.File(out) as f:
                u = f["X"][:]
            check(u.shape == u_ref.shape, f"np={n}: U shape {u.shape}")
            for j in range(3):
                gap = min(abs(s[j] - s[i]) for i in range(len(s)) if i != j)
                tol = 4 * bounds.eps_A * (s[0] / gap + 1.0)
                sign = 1.0 if u[:, j] @ u_ref[:, j] >= 0 else -1.0
                diff = float(np.max(np.abs(sign * u[:, j] - u_ref[:, j])))
                check(diff <= tol * float(np.max(np.abs(u_ref[:, j]))),
                      f"np={n}: U column {j} differs by {diff:.3g} (tol {tol:.3g})")


def test_profile(tmp, paths):
    """--profile across 2 ranks: rank 0's trace at FILE, rank 1's at FILE.rank-1, each a
    Chrome trace with its own accumulate spans."""
    trace = os.path.join(tmp, "run.json")
    r = run(["fit", *paths, "--profile", trace, "--json"], 2)
    check(r.returncode == 0, f"--profile on 2 ranks: {r.stderr[-500:]}")
    for path in (trace, trace + ".rank-1"):
        check(os.path.exists(path), f"{path} written")
        if os.path.exists(path):
            events = json.load(open(path))["traceEvents"]
            check(any(e.get("name") == "accumulate" for e in events), f"{path}: accumulate spans")


def test_few_rows(tmp):
    """3 rows over 4 ranks: the last rank reads none; the result is the one-process result."""
    path = os.path.join(tmp, "tiny.h5")
    with h5py.File(path, "w") as f:
        f["X"] = np.array([[1.0, 0.5], [1.0, -1.0], [1.0, 2.0]])
        f["Y"] = np.array([1.0, 0.0, 3.5])
    serial, four = fit_json([path]), fit_json([path], 4)
    if serial and four:
        check(four["nobs"] == 3 and np.allclose(four["params"], serial["params"], rtol=1e-12,
                                                 atol=0),
              f"3 rows on 4 ranks: {four['params']} vs {serial['params']}")
    s1 = run(["svd", path, "--json"], 4)
    check(s1.returncode == 0 and len(json.loads(s1.stdout)["singular_values"]) == 2,
          f"svd, 3 rows on 4 ranks: {s1.stderr}")


def test_failures(tmp, paths):
    # a NaN in the last file's last row: the last of 3 ranks fails, the others stop
    bad = os.path.join(tmp, "bad.h5")
    with h5py.File(paths[2], "r") as f, h5py.File(bad, "w") as g:
        x = f["X"][:]
        x[-1, 3] = np.nan
        g["X"] = x
        g["Y"] = f["Y"][:]
    r = run(["fit", paths[0], paths[1], bad], 3)
    check(r.returncode != 0 and "is NaN" in r.stderr, f"NaN on the last rank: {r.stderr[-800:]}")
    check(f"row {SIZES[2] - 1} (0-based) of '{bad}'" in r.stderr,
          f"NaN on the last rank: the row is named: {r.stderr[-800:]}")
    check("stopped because process 2 of 3 failed" in r.stderr,
          f"NaN on the last rank: rank 0 says who failed: {r.stderr[-800:]}")
    # a file missing on rank 1 only
    m = run([], mpmd=[["fit", *paths], ["fit", os.path.join(tmp, "missing.h5")], ["fit", *paths]])
    check(m.returncode != 0 and "missing.h5" in m.stderr and
          "stopped because MPI rank 1 of 3 failed" in m.stderr, f"missing file: {m.stderr[-800:]}")
    # CSV inputs cannot be split by rows
    csv = os.path.join(tmp, "d.csv")
    with open(csv, "w") as f:
        f.write("y,a\n1,2\n3,4\n5,7\n")
    c = run(["fit", csv, "-f", "y ~ a"], 2)
    check(c.returncode == 2 and "oocsolve ingest" in c.stderr, f"CSV under MPI: {c.stderr}")


GLM_NAMES = ["Intercept", "x1", "x2", "x3", "off", "fw"]


def write_glm_files(tmp, bad_last=False):
    """The SIZES split of one GLM design: X = [Intercept x1 x2 x3 off fw] (named), /Y a 0/1
    response (bad_last: 2.0 in the last row), /C a count, /G a gamma response, /W var weights."""
    import pandas as pd
    rng = np.random.default_rng(17)
    n = sum(SIZES)
    X = np.c_[np.ones(n), rng.standard_normal((n, 3))]
    off = rng.uniform(-0.3, 0.3, n)
    fw = rng.integers(0, 4, n).astype(float)
    eta = X @ np.array([0.2, 0.8, -0.5, 0.3])
    ybin = (rng.random(n) < 1 / (1 + np.exp(-eta - off))).astype(float)
    count = rng.poisson(np.exp(0.3 * eta + off)).astype(float)
    ygam = rng.gamma(4.0, np.exp(0.2 * eta) / 4.0)
    w = rng.uniform(0.5, 2.0, n)
    if bad_last:
        ybin[-1] = 2.0
    paths, start = [], 0
    for k, size in enumerate(SIZES):
        path = os.path.join(tmp, f"glm{'bad' if bad_last else ''}{k}.h5")
        sl = slice(start, start + size)
        with h5py.File(path, "w") as f:
            f.create_dataset("X", data=np.c_[X, off, fw][sl], chunks=(min(size, 256), 6),
                             compression="gzip")
            f["X"].attrs["column_names"] = np.array([c.encode() for c in GLM_NAMES])
            for name, col in (("Y", ybin), ("C", count), ("G", ygam), ("W", w)):
                f.create_dataset(name, data=col[sl], chunks=(min(size, 256),))
        paths.append(path)
        start += size
    frame = pd.DataFrame(X, columns=GLM_NAMES[:4])
    return paths, frame, dict(ybin=ybin, count=count, ygam=ygam, off=off, fw=fw, w=w)


def test_glm(tmp):
    import statsmodels.api as sm
    paths, X, d = write_glm_files(tmp)
    cases = [
        ("binomial, offset + freq + var weights", "Y", F.Binomial(), d["ybin"],
         ["--family", "binomial", "--offset", "off", "--freq-weights", "fw", "--weights", "/W"],
         dict(offset=d["off"], freq_weights=d["fw"], var_weights=d["w"])),
        ("gamma log, offset + freq + var weights", "G", F.Gamma(L.Log()), d["ygam"],
         ["--family", "gamma", "--link", "log", "--weights", "/W", "--freq-weights", "fw",
          "--offset", "off"],
         dict(var_weights=d["w"], freq_weights=d["fw"], offset=d["off"])),
        ("poisson, offset + freq weights", "C", F.Poisson(), d["count"],
         ["--family", "poisson", "--offset", "off", "--freq-weights", "fw"],
         dict(offset=d["off"], freq_weights=d["fw"])),
    ]
    for tag, ydata, family, y, args, kw in cases:
        ref = sm.GLM(y, X, family=family, **kw).fit()
        _, bound = first_order_bound(ref, "qr")
        serial = None
        for n in (1, 2, 3, 4):
            r = run(["glm", *paths, "--y-dataset", "/" + ydata, *args, "--json",
                     "--device", "cpu"], n if n > 1 else None)
            check(r.returncode == 0 and r.stderr == "",
                  f"glm {tag} np={n}: {r.returncode} {r.stderr[-500:]}")
            if r.returncode != 0:
                continue
            got = json.loads(r.stdout)
            compare(f"glm {tag}, np={n}", got, ref)
            if serial is None:
                serial = got
                continue
            check(got["iterations"] == serial["iterations"] and got["passes"] == serial["passes"],
                  f"glm {tag} np={n}: {got['iterations']} iterations, {got['passes']} passes")
            scale = np.maximum(np.abs(serial["params"]), serial["bse"])
            dp = np.abs(np.array(got["params"]) - serial["params"])
            check(np.all(dp <= 4 * bound * scale),
                  f"glm {tag} np={n}: params differ from one process's by {dp.max():.3g} "
                  f"(bound {4 * bound:.3g} relative)")
            dl = abs(got["llf"] - serial["llf"])
            check(dl <= 4 * bound * abs(serial["llf"]), f"glm {tag} np={n}: llf differs by {dl}")

    # a response outside [0, 1] in the last row of the last file: rank 2 of 3 names it
    bad, _, _ = write_glm_files(tmp, bad_last=True)
    r = run(["glm", *bad, "--family", "binomial", "--device", "cpu"], 3)
    check(r.returncode == 1 and f"row {sum(SIZES)}: the response" in r.stderr and
          "stopped because process 2 of 3 failed" in r.stderr,
          f"glm, a bad response on the last rank: {r.returncode} {r.stderr[-800:]}")
    # perfect separation: every rank meets it at once; rank 0 reports it, once
    sep = os.path.join(tmp, "sep.h5")
    with h5py.File(sep, "w") as f:
        x = np.linspace(-3, 3, 40)
        f["X"] = np.c_[np.ones(40), x]
        f["Y"] = (x > 0).astype(float)
    r = run(["glm", sep, "--family", "binomial", "--device", "cpu"], 3)
    check(r.returncode == 1 and r.stderr.count("perfect separation") == 1 and
          r.stderr.count("oocsolve: error:") == 1,
          f"glm, perfect separation on 3 ranks: {r.returncode} {r.stderr[-800:]}")
    # more ranks than rows: 3 rows on 4 ranks, the one-process result
    tiny = os.path.join(tmp, "tiny_glm.h5")
    with h5py.File(tiny, "w") as f:
        f["X"] = np.array([[1.0, 0.5], [1.0, -1.0], [1.0, 2.0]])
        f["Y"] = np.array([1.0, 0.0, 3.5])
    one = run(["glm", tiny, "--family", "gaussian", "--json"])
    four = run(["glm", tiny, "--family", "gaussian", "--json"], 4)
    check(one.returncode == 0 and four.returncode == 0, f"glm 3 rows on 4 ranks: {four.stderr}")
    if one.returncode == 0 and four.returncode == 0:
        a, b = json.loads(one.stdout), json.loads(four.stdout)
        check(b["nobs"] == 3 and np.allclose(a["params"], b["params"], rtol=1e-12, atol=0),
              f"glm 3 rows on 4 ranks: {b['params']} vs {a['params']}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_glm(tmp)
        paths, X, y, w = write_files(tmp)
        test_fits(paths, X, y, w)
        test_svd(paths, X)
        test_profile(tmp, paths)
        test_few_rows(tmp)
        test_failures(tmp, paths)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("mpi_cli: fit, svd and glm on 1-4 ranks equal one process; failures stop every rank")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""ingest_reference.py — oocsolve against the reference pipeline, bench/reference/seed_pipeline.py
(pandas + patsy + PyTables + dask, what the benchmarks compare against), on the same small data:

1. bench/gen_data.py writes exactly the bytes of `seed_pipeline.py gen-csv`;
2. `oocsolve ingest` writes the same /X and /Y, bit for bit, as `seed_pipeline.py ingest`, with
   patsy's column names, and PyTables opens ours;
3. the reference's dask stages (solve, lstsq, svd) run, print their one JSON line, and agree with
   `oocsolve fit --json` (params) and `oocsolve svd --json` (singular_values) within an error
   bound derived below;
4. `--profile` writes the dask profilers' records (JSON, and the .html variant without bokeh),
   and `--progress` keeps stdout to the one JSON line.

Environment (set by ctest): OOCSOLVE, the oocsolve binary; OOC_TESTS, the tests/ folder."""
import filecmp
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import tables

OOCSOLVE = os.environ["OOCSOLVE"]
ROOT = os.path.dirname(os.path.abspath(os.environ["OOC_TESTS"]))
SEED = os.path.join(ROOT, "bench", "reference", "seed_pipeline.py")
FORMULA = "y ~ 0 + a + b + c + d + d:c + a:b + a:c + C(cat1, Treatment, levels=lnames)"
EPS = np.finfo(np.float64).eps


def reference(*args):
    """Run a reference stage; return (its JSON line as a dict, its stderr)."""
    r = subprocess.run([sys.executable, SEED, *args], capture_output=True, text=True)
    assert r.returncode == 0, f"seed_pipeline.py {' '.join(args)} failed:\n{r.stderr}"
    lines = r.stdout.splitlines()
    assert len(lines) == 1, f"seed_pipeline.py {args[0]}: expected one line on stdout, got {lines!r}"
    line = json.loads(lines[0])
    assert set(line) == {"cmd", "seconds", "result"} and line["cmd"] == args[0], line
    assert isinstance(line["seconds"], float) and line["seconds"] >= 0, line
    return line, r.stderr


def oocsolve_json(*args):
    r = subprocess.run([OOCSOLVE, *args, "--json", "--progress", "off"], capture_output=True,
                       text=True)
    assert r.returncode == 0, f"oocsolve {' '.join(args)} failed:\n{r.stderr}"
    return json.loads(r.stdout)


def check_profile(path, cmd):
    with open(path) as f:
        prof = json.load(f)
    assert prof["cmd"] == cmd and prof["seconds"] > 0, prof.get("cmd")
    tasks = prof["tasks"]
    assert tasks and all(0 <= t["start"] <= t["end"] for t in tasks), tasks[:3]
    assert prof["summary"]["tasks"] == len(tasks)
    assert prof["cache"] and all(c["cached"] <= c["freed"] and c["nbytes"] >= 0
                                 for c in prof["cache"]), prof["cache"][:3]
    try:
        import psutil  # noqa: F401  (dask's ResourceProfiler needs it; tests/requirements.txt)
    except ImportError:
        assert prof["resources"] is None and "psutil" in prof["resources_missing"]
    else:
        res = prof["resources"]
        assert res and all(r["mem_mb"] > 0 for r in res), res[:3]
    return prof


with tempfile.TemporaryDirectory() as d:
    # 1. The data: gen_data.py (numpy + pandas) and the reference's gen-csv (patsy) agree.
    csv, ref_csv = os.path.join(d, "w.csv"), os.path.join(d, "ref.csv")
    n = 120_000
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_data.py"), csv, str(n), "7"],
                   check=True)
    reference("gen-csv", ref_csv, str(n), "7")
    assert filecmp.cmp(csv, ref_csv, shallow=False), "gen_data.py differs from seed_pipeline.py gen-csv"

    # 2. Ingest: the same /X and /Y, bit for bit.
    ours, theirs = os.path.join(d, "ours.h5"), os.path.join(d, "ref.h5")
    reference("ingest", csv, theirs)
    r = subprocess.run([OOCSOLVE, "ingest", csv, "-f", FORMULA, "--var", "lnames=0,1,2,3,4", "-o", ours],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with tables.open_file(theirs) as t, tables.open_file(ours) as o:
        assert isinstance(o.root.X, tables.EArray) and isinstance(o.root.Y, tables.EArray)
        Xr, Yr, Xo, Yo = t.root.X[:], t.root.Y[:], o.root.X[:], o.root.Y[:]
    assert Xo.shape == Xr.shape == (n, 12), (Xo.shape, Xr.shape)
    assert np.array_equal(Xo.view(np.uint64), Xr.view(np.uint64)), "X differs from the reference pipeline's"
    assert np.array_equal(Yo.view(np.uint64), Yr.view(np.uint64)), "Y differs from the reference pipeline's"
    with h5py.File(ours) as h:
        names = [s.decode() if isinstance(s, bytes) else s for s in h["X"].attrs["column_names"]]
    from patsy import dmatrix
    import pandas as pd
    lnames = [0, 1, 2, 3, 4]  # what --var lnames=0,1,2,3,4 means (np.arange would print np.int64(0))
    expect = dmatrix(FORMULA.split("~")[1], pd.read_csv(csv, nrows=10)).design_info.column_names
    assert names == expect, (names, expect)

    # 3. The dask stages against oocsolve, both on the reference's own PyTables file.
    #
    # Error bound.  With kappa = cond2(X) and eps the unit roundoff, the normal equations (dask
    # solve, oocsolve --method normal) give a relative coefficient error of at most
    # c*kappa^2*eps, and a backward-stable QR (dask's TSQR lstsq, oocsolve's default qr) at most
    # c*eps*(kappa + kappa^2*tan(theta)) <= c*kappa^2*eps here, whatever the residual.  c holds
    # the growth of rounding over sums of n = 120 000 rows; blocked and tree reductions keep it
    # far below the worst case n.  Two solutions each within the bound differ by at most twice
    # it.  Singular values: both SVDs are of a triangle R with X + dX = QR, ||dX|| <= c*eps*||X||,
    # so by Weyl's theorem |dsigma_i| <= c*eps*sigma_1, i.e. relative to sigma_i at most
    # c*kappa*eps.  We take c = 1e3 (measured on this data: about 8 kappa^2 eps for the
    # coefficients, 3 kappa eps for the singular values).
    kappa = np.linalg.cond(Xr)
    assert kappa < 10, f"the seed design should be well conditioned, cond(X) = {kappa}"
    tol_beta = 2 * 1e3 * kappa**2 * EPS
    tol_sigma = 2 * 1e3 * kappa * EPS
    prof_json = os.path.join(d, "solve-profile.json")
    solve, _ = reference("solve", theirs, "--profile", prof_json)
    lstsq, progress_err = reference("lstsq", theirs, "--progress")
    assert "100% Completed" in progress_err, progress_err[-500:]
    prof_html = os.path.join(d, "svd-profile.html")
    svd, svd_err = reference("svd", theirs, "--profile", prof_html)

    for method in ("qr", "normal"):
        fit = oocsolve_json("fit", theirs, "--method", method)
        assert fit["nobs"] == n and len(fit["params"]) == 12, (fit["nobs"], fit["params"])
        params = np.array(fit["params"])
        for stage in (solve, lstsq):
            beta = np.array(stage["result"])
            assert beta.shape == params.shape, (stage["cmd"], beta.shape, params.shape)
            err = np.linalg.norm(beta - params) / np.linalg.norm(params)
            assert err <= tol_beta, (f"dask {stage['cmd']} vs oocsolve fit --method {method}: "
                                     f"relative error {err:.3g} > {tol_beta:.3g} (cond {kappa:.3g})")
    sv = oocsolve_json("svd", theirs)["singular_values"]
    sigma, ref_sigma = np.array(sv), np.array(svd["result"])
    assert sigma.shape == ref_sigma.shape == (12,), (sigma.shape, ref_sigma.shape)
    err = np.max(np.abs(ref_sigma - sigma) / sigma)
    assert err <= tol_sigma, f"dask svd vs oocsolve svd: relative error {err:.3g} > {tol_sigma:.3g}"

    # 4. Profiles: the JSON, and with .html the JSON beside it (plus the plot only with bokeh).
    check_profile(prof_json, "solve")
    check_profile(prof_html[:-len(".html")] + ".json", "svd")
    try:
        import bokeh  # noqa: F401
    except ImportError:
        assert "bokeh is not installed" in svd_err and not os.path.exists(prof_html), svd_err
    else:
        assert os.path.getsize(prof_html) > 0
    leftovers = [f for f in os.listdir(d) if f.endswith(".partial")]
    assert not leftovers, leftovers
print(f"ingest_reference: X, Y and column names equal the reference pipeline's; dask solve, lstsq "
      f"and svd agree with oocsolve (cond {kappa:.2f}; tolerances {tol_beta:.1e}, {tol_sigma:.1e}); "
      f"profiles written")

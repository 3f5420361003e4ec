#!/usr/bin/env python3
"""ingest_reference.py — on the same CSV, `oocsolve ingest` writes the same /X and /Y as the
reference pipeline (`seed_pipeline.py ingest`: pandas + patsy + PyTables), and PyTables opens ours.
Also checks bench/gen_data.py writes exactly the bytes of `seed_pipeline.py gen-csv`."""
import filecmp
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import tables

OOCSOLVE = os.environ["OOCSOLVE"]
SHARED = os.environ["OOC_SHARED"]
ROOT = os.path.dirname(os.environ["OOC_TESTS"])
SEED = os.path.join(SHARED, "reference", "seed_pipeline.py")
FORMULA = "y ~ 0 + a + b + c + d + d:c + a:b + a:c + C(cat1, Treatment, levels=lnames)"

with tempfile.TemporaryDirectory() as d:
    csv, ref_csv = os.path.join(d, "w.csv"), os.path.join(d, "ref.csv")
    n = 120_000
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_data.py"), csv, str(n), "7"], check=True)
    subprocess.run([sys.executable, SEED, "gen-csv", ref_csv, str(n), "7"], check=True, capture_output=True)
    assert filecmp.cmp(csv, ref_csv, shallow=False), "gen_data.py differs from seed gen-csv"

    ours, theirs = os.path.join(d, "ours.h5"), os.path.join(d, "ref.h5")
    subprocess.run([sys.executable, SEED, "ingest", csv, theirs], check=True, capture_output=True)
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
print("ingest_reference: X, Y and column names equal the reference pipeline's")

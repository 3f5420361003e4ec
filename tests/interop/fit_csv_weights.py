#!/usr/bin/env python3
"""fit_csv_weights.py — `oocsolve fit data.csv -f F --weights w` (WLS straight from CSV, the weights
a column of the file, rows with a missing weight dropped) equals statsmodels' WLS on patsy's design,
and equals fitting the ingested file with the weights taken from a named column of X.

Tolerances (tests/interop/lsq_bounds.py): each fit is backward stable, so it is within a first-order
bound of the exact WLS solution of patsy's design — β to κε_A(2 + (κ+1)tan θ)·‖β‖ (Higham
Thm 20.1; κ of W^½X from numpy here, ε_A = √p(p√n + 3)ε), bse to ½(δssr + δ(XᵀWX)⁻¹), R² to
(ssr/tss)(δssr + δtss) — and any two of them differ by at most the sum of their bounds.  The
margins are printed."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm

from lsq_bounds import EPS, LsqBounds

OOCSOLVE = os.environ["OOCSOLVE"]
rng = np.random.default_rng(5)
n = 3000
d = pd.DataFrame({"a": rng.standard_normal(n), "g": rng.choice(list("xyz"), n),
                  "w": rng.uniform(0.2, 3.0, n)})
d["y"] = 1 + 2 * d.a + (d.g == "y") + rng.standard_normal(n) / np.sqrt(d.w)
d.loc[[3, 70, 2999], "w"] = np.nan
formula = "y ~ a + C(g) + a:C(g)"

with tempfile.TemporaryDirectory() as tmp:
    csv = os.path.join(tmp, "d.csv")
    d.to_csv(csv, index=False)
    r = subprocess.run([OOCSOLVE, "fit", csv, "-f", formula, "--weights", "w", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ours = json.loads(r.stdout)
    h5 = os.path.join(tmp, "d.h5")
    r = subprocess.run([OOCSOLVE, "ingest", csv, "-f", formula + " + w", "-o", h5, "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([OOCSOLVE, "fit", h5, "--weights", "w", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    via_h5 = json.loads(r.stdout)

dd = d.dropna()
y, X = patsy.dmatrices(formula, dd, return_type="dataframe")
ref = sm.WLS(y, X, weights=dd.w).fit()
assert ours["names"] == list(X.columns), (ours["names"], list(X.columns))
assert ours["nobs"] == len(dd) == via_h5["nobs"], (ours["nobs"], len(dd))
bnd = LsqBounds(X.to_numpy(), y.to_numpy()[:, 0], dd.w.to_numpy())
tss = float(ref.centered_tss)
d_tss = bnd.gamma * float(ref.uncentered_tss) / tss
tols = {"params": 2 * bnd.params() * np.ones(bnd.p),
        "bse": 2 * bnd.d_bse() * np.abs(ref.bse.values),
        "rsquared": 2 * ((float(ref.ssr) / tss) * (bnd.d_ssr + d_tss) + EPS)}
wants = {"params": ref.params.values, "bse": ref.bse.values, "rsquared": float(ref.rsquared)}
for key, want in wants.items():
    for label, got in (("CSV", ours), ("HDF5", via_h5)):
        err = np.abs(np.array(got[key]) - want)
        margin = float(np.max(err / tols[key]))
        print(f"{key:8s} {label:4s} vs statsmodels: max |diff| {float(np.max(err)):.3g}, "
              f"margin {margin:.2e}")
        assert margin <= 1.0, (key, label, err, tols[key])
    err = np.abs(np.array(ours[key]) - np.array(via_h5[key]))
    assert np.all(err <= tols[key]), (key, "CSV vs HDF5", err, tols[key])
print("fit_csv_weights: WLS from CSV and from HDF5 equal statsmodels")

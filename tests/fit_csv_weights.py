#!/usr/bin/env python3
"""fit_csv_weights.py — `oocsolve fit data.csv -f F --weights w` (WLS straight from CSV, the weights
a column of the file, rows with a missing weight dropped) equals statsmodels' WLS on patsy's design,
and equals fitting the ingested file with the weights taken from a named column of X."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm

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
for key, want in [("params", ref.params.values), ("bse", ref.bse.values)]:
    for got in (ours[key], via_h5[key]):
        rel = np.max(np.abs(np.array(got) - want) / np.abs(want))
        assert rel < 1e-9, (key, rel)
for got in (ours, via_h5):
    assert abs(got["rsquared"] - ref.rsquared) < 1e-9 * abs(ref.rsquared), (got["rsquared"], ref.rsquared)
print("fit_csv_weights: WLS from CSV and from HDF5 equal statsmodels")

#!/usr/bin/env python3
"""formula_nonfinite_cli.py — numbers that overflow, through `oocsolve ingest`.

A CSV number beyond double's range (1e400, -1e999, a 400-digit integer) and expressions that
overflow (I(a/b) with b = 0, I(a**1000), a product of large factors) are stored as ±inf, as
pandas reads them and patsy keeps them, and ingest exits 0; each column of X (or y) that has
any is named in a warning on stderr with the line of its first, the value, the CSV text or the
expression (and its inputs) it came from, and the column's count.  X (read with h5py) holds the
infinities where pandas + patsy put them.
"""
import io
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
import patsy

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, exit_status, failures  # noqa: E402


BIG = "9" * 400
CSV = ("y,a,b,x\n"
       "1,2,1,3\n"              # line 2
       "2,3,1,1e400\n"          # line 3: x = inf; x:a = inf
       "3,2,0,4\n"              # line 4: I(a / b) = inf
       "4,3,1," + BIG + "\n"    # line 5: x = inf (400 digits)
       "5,1,1,-1e999\n"         # line 6: x = -inf
       "6,1e200,1,1e200\n"      # line 7: x:a = 1e400 = inf, from finite factors
       "7,1,1,5\n")             # line 8: nothing
FORMULA = "y ~ x + I(a / b) + I(a ** 1000) + x:a"


def main():
    with tempfile.TemporaryDirectory() as d:
        csv = os.path.join(d, "data.csv")
        out = os.path.join(d, "out.h5")
        with open(csv, "w") as f:
            f.write(CSV)
        r = subprocess.run([OOCSOLVE, "ingest", csv, "-f", FORMULA, "-o", out],
                           capture_output=True, text=True)
        print(r.stderr, end="")
        check(r.returncode == 0, "exit status %d" % r.returncode)
        warnings = [l for l in r.stderr.splitlines() if l.startswith("oocsolve: warning: ")]
        expected = [
            "%s, line 3: column 'x' of X is inf, from \"1e400\" in CSV column 'x' "
            "(3 non-finite values in this column)" % csv,
            "%s, line 3: column 'I(a ** 1000)' of X is inf, from I(a ** 1000) with a = \"3\" "
            "(3 non-finite values in this column)" % csv,
            "%s, line 3: column 'x:a' of X is inf, from \"1e400\" in CSV column 'x' "
            "(4 non-finite values in this column)" % csv,
            "%s, line 4: column 'I(a / b)' of X is inf, from I(a / b) with a = \"2\", b = \"0\" "
            "(1 non-finite value in this column)" % csv,
        ]
        check(len(warnings) == len(expected), "%d warnings" % len(warnings))
        for w, e in zip(warnings, expected):
            check(w == "oocsolve: warning: " + e, "warning\n  got      %s\n  expected %s" % (w, e))
        if r.returncode != 0:
            return 1
        with h5py.File(out, "r") as h:
            X = h["X"][...]
        df = pd.read_csv(io.StringIO(CSV))
        check(np.isinf(df["x"]).sum() == 3, "pandas reads the three out-of-range numbers as ±inf")
        # patsy computes I(a ** 1000) on int64 columns (wrapping); compare with float columns.
        Xp = patsy.dmatrix(FORMULA.split("~")[1], df.astype(float), return_type="dataframe")
        check(X.shape == Xp.shape, "X shape %s vs patsy %s" % (X.shape, Xp.shape))
        if X.shape == Xp.shape:
            check(np.array_equal(X, Xp.to_numpy(np.float64), equal_nan=True), "X equals patsy's")
        check(X[1, 1] == np.inf and X[3, 1] == np.inf and X[4, 1] == -np.inf,
              "X holds ±inf for x: %s" % X[:, 1])
        check(X[2, 2] == np.inf and X[5, 4] == np.inf, "X holds inf for I(a / b) and x:a")
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

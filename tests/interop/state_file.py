#!/usr/bin/env python3
"""state_file.py — a fit that grows: `oocsolve fit A.h5 --save-state S1.h5`, then
`oocsolve fit B.h5 --resume S1.h5 --save-state S2.h5`, then `oocsolve fit C.h5 --resume S2.h5`.

Checks:
  - every step equals `oocsolve fit` of its files given together (several inputs read as one matrix)
    and statsmodels OLS / WLS on the concatenated data (numbers from --json), unweighted and with
    weights from a /W dataset; a CSV input may resume a state saved from HDF5;
  - the state file opens with h5py (datasets R, colmin, colmax, xw, sums, counts; attributes
    column_names, method) and with PyTables, and its R satisfies RᵀR ≈ [X y]ᵀ[X y] of A; the
    column extremes, Xᵀw and the row count are those of A;
  - an incompatible resume (other columns, --method normal on a qr state, --cov HC1, --refine,
    weights on an unweighted state) exits 1 with a message naming what differs, and writes no
    --save-state file;
  - the state is written atomically: when its folder is not writable nothing is left there and an
    existing state is untouched (skipped as root, who can write anywhere).

Tolerances (lsq_bounds.py): oocsolve's QR and statsmodels' pinv are backward stable, each result
within a first-order bound of the exact one — β to κε_A(2 + (κ+1)tan θ)·‖β‖ (Higham Thm 20.1,
ε_A = √p·γ, γ = (p√n + 3)ε), ssr to δssr, bse to ½(δssr + δ(XᵀWX)⁻¹) — so two of them differ by at
most the sum of their bounds (2× the bound).  The triangle: Householder QR is exact for columns
perturbed by ‖Δa_j‖ ≤ γ‖a_j‖, so |RᵀR - G|_ab ≤ (2γ + γ²)‖a_a‖‖a_b‖ with γ for the p+1 columns of
[X y] (lsq_bounds.h's gram_tol); G is formed here in long double (error ~n·2⁻⁶⁴‖a_a‖‖a_b‖,
negligible).  A lost or repeated block moves these by ~1/n relative, far above the bounds.  The
margins (largest |difference| / tolerance per quantity) are printed."""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
import tables

from cliutil import check, exit_status
from lsq_bounds import EPS, LsqBounds

OOC = os.environ["OOCSOLVE"]
FORMULA = "y ~ x1 + x2 + C(g)"
SIZES = {"a": 3000, "b": 2000, "c": 1500}
margins = {}


def run(*args):
    """oocsolve with args: (exit status, stdout, stderr)."""
    p = subprocess.run([OOC] + [str(a) for a in args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def fit_json(*args):
    code, out, err = run("fit", "--json", *args)
    check(code == 0, f"fit {' '.join(map(str, args))}: exit {code}: {err.strip()}")
    return json.loads(out) if code == 0 else None


def close(tag, name, got, want, tol):
    """|got - want| <= tol; records the margin."""
    d = abs(float(got) - float(want))
    key = name.split("[")[0]
    margins[key] = max(margins.get(key, 0.0), d / tol if tol > 0 else (0.0 if d == 0 else math.inf))
    check(d <= tol, f"{tag}: {name}: {got!r} vs {want!r} (|diff| {d:.3g} > tolerance {tol:.3g})")


def same_fit(tag, got, want, bnd, want_bse=None):
    """Two results of the rows bnd describes, each within its bound: β, ssr, bse within twice the
    bound; the counts equal.  want: another --json result, or a statsmodels result (want_bse)."""
    if got is None or want is None:
        check(False, f"{tag}: a result is missing")
        return
    if isinstance(want, dict):
        params, ssr, bse = want["params"], want["ssr"], want["bse"]
        nobs, df_resid = want["nobs"], want["df_resid"]
    else:
        params, ssr, bse = want.params.values, want.ssr, want.bse.values
        nobs, df_resid = want.nobs, want.df_resid
    check(got["nobs"] == nobs and got["df_resid"] == df_resid,
          f"{tag}: nobs {got['nobs']} vs {nobs}, df_resid {got['df_resid']} vs {df_resid}")
    for j, (a, b) in enumerate(zip(got["params"], params)):
        close(tag, f"params[{j}]", a, b, 2 * bnd.params())
    close(tag, "ssr", got["ssr"], ssr, 2 * bnd.d_ssr * float(ssr))
    for j, (a, b) in enumerate(zip(got["bse"], bse)):
        close(tag, f"bse[{j}]", a, b, 2 * bnd.d_bse() * abs(float(b)))


def make_data(rng):
    """One DataFrame per file; every file holds the three levels of g (same columns)."""
    parts = {}
    for name, n in SIZES.items():
        g = rng.choice(list("abc"), n)
        g[:3] = list("abc")
        x1 = rng.uniform(-2, 2, n)
        x2 = rng.standard_normal(n) + 0.5 * x1
        w = rng.uniform(0.2, 3.0, n)
        y = 1 + 0.5 * x1 - 2 * x2 + 0.3 * (g == "b") - 0.7 * (g == "c") + rng.standard_normal(n) / np.sqrt(w)
        parts[name] = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g, "w": w})
    return parts


def check_state_file(path, X, y, names):
    """The state of the rows (X, y), unweighted, read with h5py and PyTables."""
    n, p = X.shape
    with h5py.File(path, "r") as f:
        for ds in ("R", "colmin", "colmax", "xw", "sums", "counts"):
            check(ds in f, f"{path}: no dataset /{ds}")
        cols = [c.decode() if isinstance(c, bytes) else str(c) for c in f.attrs["column_names"]]
        check(cols == names, f"{path}: column_names {cols} vs {names}")
        method = f.attrs["method"]
        method = method.decode() if isinstance(method, bytes) else str(method)
        check(method == "qr", f"{path}: method {method!r}")
        R = f["R"][...]
        check(R.shape == (p + 1, p + 1) and np.all(np.tril(R, -1) == 0),
              f"{path}: /R is not a {p + 1}x{p + 1} upper triangle")
        check(np.array_equal(f["colmin"][...], X.min(axis=0)) and
              np.array_equal(f["colmax"][...], X.max(axis=0)), f"{path}: column extremes")
        counts = f["counts"][...]
        check(list(counts) == [n, 0], f"{path}: counts {list(counts)} vs [{n}, 0]")
        # Xᵀw with w = 1: column sums, each of n terms within γ·Σ|x| (as the Gram's entries)
        xw = f["xw"][...]
        gamma = (p * math.sqrt(n) + 3) * EPS
        for j in range(p):
            close(path, "xw", xw[j, 0] + xw[j, 1], X[:, j].sum(dtype=np.longdouble),
                  gamma * np.abs(X[:, j]).sum())
        sums = f["sums"][...]
        check(sums[0] + sums[1] == n, f"{path}: Σw {sums[0] + sums[1]} vs {n}")
    with tables.open_file(path, "r") as t:
        check(np.array_equal(t.root.R.read(), R), f"{path}: PyTables' /R differs from h5py's")
    # RᵀR = [X y]ᵀ[X y] to (2γ + γ²)‖a_a‖‖a_b‖, γ for the p+1 columns of [X y]
    A = np.column_stack([X, y]).astype(np.longdouble)
    G = A.T @ A
    gamma = ((p + 1) * math.sqrt(n) + 3) * EPS
    d = np.sqrt(np.diag(G).astype(float))
    tol = (2 * gamma + gamma * gamma) * np.outer(d, d)
    err = np.abs((R.T @ R).astype(np.longdouble) - G).astype(float)
    margins["RᵀR"] = max(margins.get("RᵀR", 0.0), float(np.max(err / tol)))
    check(np.all(err <= tol), f"{path}: RᵀR differs from [X y]ᵀ[X y] by {np.max(err / tol):.3g} × the bound")


def check_refused(tag, args, texts, tmp):
    """fit with args exits 1 naming every text, and writes no --save-state file."""
    leftover = os.path.join(tmp, "refused_state.h5")
    code, _, err = run("fit", *args, "--save-state", leftover)
    check(code == 1, f"{tag}: exit {code} (want 1): {err.strip()}")
    for text in texts:
        check(text in err, f"{tag}: message lacks {text!r}: {err.strip()}")
    check(not os.path.exists(leftover), f"{tag}: a refused fit wrote {leftover}")


def check_atomic(tmp, h5, state):
    """A state saved into a folder that is not writable: the fit fails, nothing is added to the
    folder, and a state already there keeps its bytes."""
    if os.geteuid() == 0:
        print("atomic write: skipped (root can write into a read-only folder)")
        return
    ro = os.path.join(tmp, "read_only")
    os.mkdir(ro)
    target = os.path.join(ro, "state.h5")
    shutil.copy(state, target)
    before = open(target, "rb").read()
    os.chmod(ro, 0o555)
    try:
        code, _, err = run("fit", h5, "--save-state", target)
        check(code == 1, f"save into a read-only folder: exit {code}: {err.strip()}")
        check(ro in err, f"save into a read-only folder: message does not name it: {err.strip()}")
        check(os.listdir(ro) == ["state.h5"], f"read-only folder holds {os.listdir(ro)}")
        check(open(target, "rb").read() == before, "the existing state was changed")
        code, _, err = run("fit", h5, "--save-state", os.path.join(ro, "new.h5"))
        check(code == 1 and os.listdir(ro) == ["state.h5"],
              f"new state in a read-only folder: exit {code}, folder holds {os.listdir(ro)}")
    finally:
        os.chmod(ro, 0o755)


def main():
    rng = np.random.default_rng(20240611)
    parts = make_data(rng)
    with tempfile.TemporaryDirectory() as tmp:
        h5, h5w, csv = {}, {}, {}
        for name, df in parts.items():
            csv[name] = os.path.join(tmp, f"{name}.csv")
            h5[name] = os.path.join(tmp, f"{name}.h5")
            h5w[name] = os.path.join(tmp, f"{name}_w.h5")
            df.drop(columns="w").to_csv(csv[name], index=False, float_format="%.17g")
            code, _, err = run("ingest", csv[name], "-f", FORMULA, "-o", h5[name], "-q")
            check(code == 0, f"ingest {name}: {err.strip()}")
            shutil.copy(h5[name], h5w[name])
            with h5py.File(h5w[name], "a") as f:
                f["W"] = df.w.to_numpy()
        if not all(os.path.exists(h5[k]) for k in SIZES):
            return exit_status()

        # designs as patsy builds them, for the references
        def design(keys):
            d = pd.concat([parts[k] for k in keys], ignore_index=True)
            y, X = patsy.dmatrices(FORMULA, d, return_type="dataframe")
            return X, y.to_numpy()[:, 0], d.w.to_numpy()

        s1, s2 = os.path.join(tmp, "s1.h5"), os.path.join(tmp, "s2.h5")
        s1w, s2w = os.path.join(tmp, "s1w.h5"), os.path.join(tmp, "s2w.h5")
        for weighted in (False, True):
            files = h5w if weighted else h5
            wargs = ["--weights", "/W"] if weighted else []
            st1, st2 = (s1w, s2w) if weighted else (s1, s2)
            kind = "WLS" if weighted else "OLS"
            steps = [
                (["a"], [files["a"], "--save-state", st1]),
                (["a", "b"], [files["b"], "--resume", st1, "--save-state", st2]),
                (["a", "b", "c"], [files["c"], "--resume", st2]),
            ]
            for keys, args in steps:
                tag = f"{kind} {'+'.join(keys)} by resume"
                got = fit_json(*args, *wargs)
                together = fit_json(*[files[k] for k in keys], *wargs)
                X, y, w = design(keys)
                if got is not None:
                    check(got["names"] == list(X.columns), f"{tag}: names {got['names']} vs {list(X.columns)}")
                bnd = LsqBounds(X.to_numpy(), y, w if weighted else None)
                ref = (sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)).fit()
                same_fit(f"{tag} vs fit of the files together", got, together, bnd)
                same_fit(f"{tag} vs statsmodels {kind}", got, ref, bnd)
            if not weighted:
                X, y, _ = design(["a"])
                check_state_file(s1, X.to_numpy(), y, list(X.columns))

        # a CSV input resumes a state saved from HDF5
        X, y, _ = design(["a", "b"])
        got = fit_json(csv["b"], "-f", FORMULA, "--resume", s1)
        same_fit("CSV b resuming a", got, sm.OLS(y, X).fit(), LsqBounds(X.to_numpy(), y))

        # incompatible resumes
        other = os.path.join(tmp, "other.h5")
        run("ingest", csv["b"], "-f", "y ~ x2 + x1 + C(g)", "-o", other, "-q")
        check_refused("other columns", [other, "--resume", s1], ["x1", "x2", "column"], tmp)
        check_refused("other formula (fewer columns)", [csv["b"], "-f", "y ~ x1 + C(g)", "--resume", s1],
                      ["4 columns", "5"], tmp)
        check_refused("--method normal on a qr state", [h5["b"], "--resume", s1, "--method", "normal"],
                      ["normal", "qr"], tmp)
        check_refused("--cov HC1", [h5["b"], "--resume", s1, "--cov", "HC1"], ["HC"], tmp)
        check_refused("--refine", [h5["b"], "--resume", s1, "--refine"], ["refine"], tmp)
        check_refused("weights on an unweighted state", [h5w["b"], "--weights", "/W", "--resume", s1],
                      ["weighted", "unweighted"], tmp)
        check_refused("no weights on a weighted state", [h5["b"], "--resume", s1w],
                      ["weighted", "unweighted"], tmp)
        check_refused("a design file as the state", [h5["b"], "--resume", h5["a"]],
                      ["not an oocsolve state"], tmp)

        check_atomic(tmp, h5["a"], s1)

    print("margins (largest |difference| / tolerance):",
          ", ".join(f"{k} {v:.3g}" for k, v in sorted(margins.items())))
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

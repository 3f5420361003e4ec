#!/usr/bin/env python3
"""Reference-size numerics check on the machine it runs on (DESIGN.md: Debian's OpenBLAS gave
wrong single-call QR answers at 2.5M x 12).  A seed-like design (2.5M x 12: a, b, c, d, d:c,
a:b, a:c and five full dummies, no intercept) is generated deterministically with numpy and
written with h5py (chunked, shuffle + gzip like the seed's PyTables files).  `oocsolve fit`
(qr and normal) and `oocsolve svd` must agree with an independent reference: the Gram matrix
[X y]'[X y] accumulated in extended precision (numpy longdouble, unit 2^-64) and solved by a
long-double Cholesky, singular values from the eigenvalues of that Gram.

Tolerances (tests/interop/lsq_bounds.py): κ from the reference Gram's eigenvalues and tan θ from
its residual, both computed here.  Each fit is within its first-order bound of the exact β — qr:
κε_A(2 + (κ+1)tan θ), normal: pγκ²(1 + 1/cos θ), γ = (p√n + 3)ε, ε_A = √p·γ — and the reference
within the normal-equations bound evaluated with ε = 2^-63; the check allows their sum (normwise
for β).  Singular values: qr's σ_j are within ε_A·σ_1 (Weyl), normal's σ_j² within pγ·σ_1²; the
reference rounds the Gram to double before eigvalsh, ≤ (p+1)ε·σ_1² on σ_j².  At this size the
bounds are 2e-10 (qr) and 6e-10 (normal) — looser than the 1e-10 this test used before, which no
bound justified — while a lost or repeated 8192-row block moves β by ~1e-4 and one repeated row
by 1e-6 to 3e-6 relative (measured with numpy on this data), so a broken BLAS/LAPACK or a
block-boundary bug still fails by three orders of magnitude; the margins are printed."""
import json, os, subprocess, sys, tempfile, time

import h5py
import numpy as np

from lsq_bounds import EPS, eta_beta

OOC = os.environ["OOCSOLVE"]
N, NCAT = 2_500_000, 5


def design(rng, n):
    a, b, c, d = rng.standard_normal((4, n))
    cat = rng.integers(0, NCAT, n)
    cols = [a, b, c, d, d * c, a * b, a * c] + [(cat == k).astype(float) for k in range(NCAT)]
    return np.column_stack(cols)


def ld_cholesky_solve(g, h):
    k = g.shape[0]
    L = np.zeros_like(g)
    for j in range(k):
        s = g[j, j] - np.sum(L[j, :j] ** 2)
        L[j, j] = np.sqrt(s)
        for i in range(j + 1, k):
            L[i, j] = (g[i, j] - np.sum(L[i, :j] * L[j, :j])) / L[j, j]
    z = np.zeros(k, dtype=g.dtype)
    for i in range(k):
        z[i] = (h[i] - np.sum(L[i, :i] * z[:i])) / L[i, i]
    x = np.zeros(k, dtype=g.dtype)
    for i in reversed(range(k)):
        x[i] = (z[i] - np.sum(L[i + 1:, i] * x[i + 1:])) / L[i, i]
    return x


def main():
    rng = np.random.default_rng(12345)
    X = design(rng, N)
    beta = np.arange(0, 1, 1.0 / X.shape[1])
    y = X @ beta + rng.standard_normal(N)
    # extended-precision Gram in slices (numpy longdouble: 64-bit mantissa on x86-64)
    G = np.zeros((12, 12), dtype=np.longdouble)
    h = np.zeros(12, dtype=np.longdouble)
    for s in range(0, N, 250_000):
        xs = X[s:s + 250_000].astype(np.longdouble)
        G += xs.T @ xs
        h += xs.T @ y[s:s + 250_000].astype(np.longdouble)
    yy = np.sum(y.astype(np.longdouble) ** 2)
    beta_ref = ld_cholesky_solve(G, h)
    ev = np.sort(np.linalg.eigvalsh(G.astype(float)))[::-1]
    sv_ref = np.sqrt(ev)
    k = X.shape[1]
    ssr = float(yy - 2 * beta_ref @ h + beta_ref @ G @ beta_ref)
    kappa, tan = float(sv_ref[0] / sv_ref[-1]), float(np.sqrt(ssr / (float(yy) - ssr)))
    eta_ref = eta_beta(N, k, kappa, tan, "normal", eps=2.0 ** -63)
    eps_A = np.sqrt(k) * (k * np.sqrt(N) + 3) * EPS  # svd runs qr (its default)
    sv_tol = eps_A * sv_ref[0] / sv_ref + 0.5 * (k + 1) * EPS * (sv_ref[0] / sv_ref) ** 2
    print(f"kappa {kappa:.3g}, tan(theta) {tan:.3g}; reference's own beta bound {eta_ref:.2e}")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ref.h5")
        with h5py.File(path, "w") as f:
            f.create_dataset("X", data=X, chunks=(8192, 12), shuffle=True, compression="gzip",
                             compression_opts=1)
            f.create_dataset("Y", data=y, chunks=(8192,), shuffle=True, compression="gzip",
                             compression_opts=1)
        del X
        for method in ("qr", "normal"):
            t = time.perf_counter()
            p = subprocess.run([OOC, "fit", path, "--json", "--method", method],
                               capture_output=True, text=True)
            dt = time.perf_counter() - t
            if p.returncode != 0:
                raise SystemExit(f"fit --method {method} failed:\n{p.stderr}")
            res = json.loads(p.stdout)
            b = np.array(res["params"], dtype=np.longdouble)
            err = float(np.linalg.norm((b - beta_ref).astype(float)) /
                        np.linalg.norm(beta_ref.astype(float)))
            tol = eta_beta(N, k, kappa, tan, method) + eta_ref
            print(f"fit {method:6s}: {dt:6.2f} s wall, relative beta error {err:.2e}, "
                  f"bound {tol:.2e} (margin {err / tol:.1e}), k_constant {res['k_constant']}")
            if not err <= tol:
                failures.append(f"fit {method}: beta relative error {err:.3g} > bound {tol:.3g}")
            if res["nobs"] != N or res["k_constant"] != 1:
                failures.append(f"fit {method}: nobs {res['nobs']}, k_constant {res['k_constant']}")
        p = subprocess.run([OOC, "svd", path, "--json"], capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"svd failed:\n{p.stderr}")
        sv = np.array(json.loads(p.stdout)["singular_values"])
        serr = np.abs(sv - sv_ref) / sv_ref
        margin = float(np.max(serr / sv_tol))
        print(f"svd: max relative singular value error {float(np.max(serr)):.2e} "
              f"(margin {margin:.1e})")
        if not margin <= 1.0:
            failures.append(f"svd: singular values relative errors {serr} exceed their bounds "
                            f"{sv_tol}")
    if failures:
        print("FAILURES:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""hc_exact.py — `oocsolve fit --cov HC0/HC1` (standard errors, the covariance and the robust Wald
F) against exact rational arithmetic, on designs where the textbook sandwich loses digits: the
NIST / statsmodels Longley data (scaled condition number κ_s ≈ 4e4), a design with κ_s ≈ 1e9, and
21 correlated columns with HC1, unweighted and weighted; each also with --block-rows 4 (another
fold order, another triangle) and with --refine.  The reference takes the doubles oocsolve reads
as exact rationals (integers after scaling by powers of two, fraction-free Gauss-Jordan): β, the
residuals and the covariance exactly; W = β_Lᵀ V_LL⁻¹ β_L from the exact V_LL by elimination in
250-digit decimal arithmetic (error ≤ k·κ(V_LL)·1e-249 < 1e-200, where exact rationals of
~200 000 bits took minutes).  So only oocsolve's own rounding is measured.

Notation: A = W^½X (n × k), b = W^½y, β the exact solution, ẽ = b - Aβ (exact weighted
residuals), P = A⁺ = (AᵀA)⁻¹Aᵀ with rows p_jᵀ, V = P diag(ẽ²) Pᵀ (HC0; HC1 multiplies by
n/(n-k)).  Column scaling A_s = A·D⁻¹ (unit columns) changes none of the relative errors below;
π = 1/σ_min(A_s) ≤ κ_s.  ρ_j = ‖ẽ‖_∞‖p_j‖/√V_jj ≥ 1 measures how unevenly the residuals weigh
coefficient j.  ε = 2^-52, γ_m = mε/(1 - mε).

What oocsolve computes (host/src/fit.c): R from a QR pass over [A b], which is the exact R of
[A+ΔA, b+Δb] with ‖Δa_j‖ ≤ γ‖a_j‖ per column, γ = ((k+1)√n + 3)ε (the probabilistic constant of
Higham & Mary 2019: λ = 2√(k+1) standard deviations, plus 3ε for the roundings that do not grow
with n), so ‖ΔA_s‖ ≤ ε_A = √k·γ; β̂ (reported); residuals e_i = y_i - x_iᵀβ̂ in long double; the
rows t_i = (w_i e_i x_i)·R⁻¹ (one triangular solve per block); M = Σ t_i t_iᵀ; cov = R⁻¹MR⁻ᵀ by
two triangular solves.  In exact arithmetic that is B̂·(Σ ẽ_i² a_i a_iᵀ)·B̂ with B̂ = (R̂ᵀR̂)⁻¹.

First-order bounds on the relative error of V_jj, one term per source (each a Cauchy-Schwarz
bound; Σ_i‖q_i‖² = k for the rows q_i of Q = AR⁻¹, ‖M‖ ≤ ‖ẽ‖²_∞):
  R's backward error   B̂ - B = -B δG B, δG = ΔAᵀA + AᵀΔA; both halves of e_jᵀBδGVe_j are
                       ≤ π ε_A ‖p_j‖ ‖ẽ‖_∞ √V_jj (A·P is a projector), so      4·π·ε_A·ρ_j
  the rows t_i         (R+δR_i)ᵀ-solves, |δR_i| ≤ γ_k|R|, and 3 roundings in w·e·x:
                                                                         2·π·k·(γ_k + 3ε)·ρ_j
  the sum M            |ΔM| ≤ γ_n Σ|t_i||t_i|ᵀ:                                    k·γ_n·ρ_j²
  R⁻¹MR⁻ᵀ              left solve (per column)  k·γ_k·π·ρ_j², right solve (row j)  √k·γ_k·π·ρ_j
  the residuals        |Δẽ_i| ≤ ψ_i = |a_iᵀ(β̂ - β)| (exact, from the reported β̂) plus the long
                       double dot product's (k+1)·2^-64·(|b_i| + |a_i|ᵀ|β̂|):
                                                      Σ_i (2|ẽ_i|ψ_i + ψ_i²)·P_ji² / V_jj
  plus 4ε (HC1's factor, symmetrising).  bse_j = √V_jj: half of it, plus ε.
The textbook form (AᵀA)⁻¹(Σ ẽ_i² a_i a_iᵀ)(AᵀA)⁻¹ instead rounds the meat relative to
|a_i||a_i|ᵀ, which the two inverses amplify by π²: its error is ~κ_s²ε (1e-8 on Longley, the
bug these tests were written for).

The whole matrix, normwise at the natural scale N = π²‖ẽ‖²_∞ (scaled: D·cov·D):
  max_ij |ΔV_s,ij| ≤ N·[π(4ε_A + 2k^1.5(γ_k + 3ε) + 2kγ_k) + kγ_n + max_i c_i/‖ẽ‖²_∞ + 4ε],
  c_i = 2|ẽ_i|ψ_i + ψ_i² (the same terms with unit vectors for e_j; ‖P_s‖ = π).

The robust Wald statistic W = β_Lᵀ V_LL⁻¹ β_L (L: all columns but the constant c; F = W/|L|)
is formed as ‖u - (uᵀv/vᵀv)v‖², u = C⁻¹z, v = C⁻¹r_c, CCᵀ = M, z = Rβ̂ (the Schur complement of
V⁻¹ = RᵀM⁻¹R; fit.c robust_f_test).  With m = z - t*·r_c (t* the minimiser), W = ‖M^-½m‖², and
λ_min, κ_M of the exact meat M = QᵀE²Q, first order:
  β̂ (through z)         2ζ/√(W·λ_min), ζ = ‖A(β̂ - β)‖ + γ_k√k‖Dβ̂‖ + 4ε‖Aβ‖ (the solve for
                       β̂, z's updates during refinement)
  R's backward error   V's error is R⁻¹[(Δ̃+Δ̃ᵀ)M + M(Δ̃+Δ̃ᵀ)]R⁻ᵀ with ‖Δ̃‖ ≤ π ε_A, so
                                                                          4·π·ε_A·√κ_M
  M's errors           ‖ΔM‖/λ_min, ‖ΔM‖ ≤ max_i c_i + 2π·k^1.5·(γ_k + 3ε)‖ẽ‖²_∞ + k·γ_n‖ẽ‖²_∞
  Cholesky, two solves 3·k·γ_(k+1)·κ_M
  the projection       4kε·W_full/W (W_full = ‖u‖², cancellation when u is near v's line)
  plus 4ε (HC1's factor, the division by |L|).
Solving with V_LL instead (the old code) multiplies V's error by κ(V_LL) ≈ κ_s²·κ_M.

The bounds are first order; the second-order remainders are below the square of the first-order
bound, negligible since every bound here is < 1e-3 (asserted).  The script prints the measured
errors and how far each is below its bound.
"""
import csv, decimal, json, math, os, subprocess, sys, tempfile
from fractions import Fraction

import h5py
import numpy as np

OOC = os.environ.get("OOCSOLVE", "oocsolve")
NIST = os.environ.get("OOC_NIST", os.path.join(os.path.dirname(__file__), "..", "data", "nist-strd"))
EPS = 2.0 ** -52
failures = []


def gamma(m):
    return m * EPS / (1.0 - m * EPS)


# ---- exact reference -------------------------------------------------------------------------

def gauss_jordan(a, b):
    """Solve a·Z = d·b exactly for integer matrices (a: k × k nonsingular, b: k × m) by
    fraction-free Gauss-Jordan elimination: returns (d, Z), d = ±det(a), all integers."""
    k = len(a)
    rows = [list(a[i]) + list(b[i]) for i in range(k)]
    prev = 1
    for c in range(k):
        piv = next(r for r in range(c, k) if rows[r][c] != 0)
        rows[c], rows[piv] = rows[piv], rows[c]
        pc = rows[c][c]
        for r in range(k):
            if r != c:
                f = rows[r][c]
                rows[r] = [(pc * x - f * y) // prev for x, y in zip(rows[r], rows[c])]
        prev = pc
    return prev, [row[k:] for row in rows]


def decimal_solve(a, b):
    """a⁻¹b (a: k × k, b: k) in 250-digit decimal arithmetic, Gaussian elimination with partial
    pivoting: relative error ≲ k·κ(a)·1e-249."""
    k = len(a)
    with decimal.localcontext() as ctx:
        ctx.prec = 250
        rows = [[decimal.Decimal(v) for v in a[i]] + [decimal.Decimal(b[i])] for i in range(k)]
        for c in range(k):
            piv = max(range(c, k), key=lambda r: abs(rows[r][c]))
            rows[c], rows[piv] = rows[piv], rows[c]
            for r in range(c + 1, k):
                f = rows[r][c] / rows[c][c]
                rows[r] = [x - f * y for x, y in zip(rows[r], rows[c])]
        u = [decimal.Decimal(0)] * k
        for i in reversed(range(k)):
            u[i] = (rows[i][k] - sum(rows[i][j] * u[j] for j in range(i + 1, k))) / rows[i][i]
        return u


def dyadic_scale(values):
    """Exponent s with v·2^s an integer for every double v."""
    return max(int(Fraction(v).denominator).bit_length() - 1 for v in values)


class Exact:
    """Exact weighted least squares and its HC0 covariance for the doubles X, y, w."""

    def __init__(self, X, y, w, const_col):
        n, k = X.shape
        self.n, self.k = n, k
        w = np.ones(n) if w is None else w
        sx = [dyadic_scale(X[:, j]) for j in range(k)]
        sy, sw = dyadic_scale(y), dyadic_scale(w)
        Xi = [[int(Fraction(X[i, j]) * 2 ** sx[j]) for j in range(k)] for i in range(n)]
        yi = [int(Fraction(y[i]) * 2 ** sy) for i in range(n)]
        wi = [int(Fraction(w[i]) * 2 ** sw) for i in range(n)]
        G = [[sum(wi[i] * Xi[i][a] * Xi[i][c] for i in range(n)) for c in range(k)]
             for a in range(k)]
        rhs = [[sum(wi[i] * Xi[i][a] * yi[i] for i in range(n))] + [wi[i] * Xi[i][a]
                                                                     for i in range(n)]
               for a in range(k)]
        d, Z = gauss_jordan(G, rhs)   # Z[:,0] = d·β', Z[:,1+i] = d·G⁻¹x_i w_i
        zb = [Z[a][0] for a in range(k)]
        # d·e'_i (residuals of the scaled problem, times d)
        de = [d * yi[i] - sum(Xi[i][a] * zb[a] for a in range(k)) for i in range(n)]
        # S = Σ (d e'_i)² (d G⁻¹x_i w_i)(...)ᵀ = d⁴·V' (V' the HC0 covariance of β')
        S = [[0] * k for _ in range(k)]
        for i in range(n):
            e2 = de[i] * de[i]
            col = [Z[a][1 + i] for a in range(k)]
            for a in range(k):
                ca = e2 * col[a]
                for c in range(a, k):
                    S[a][c] += ca * col[c]
        for a in range(k):
            for c in range(a):
                S[a][c] = S[c][a]
        # undo the scalings: β_j = β'_j·2^(sx_j - sy), V_ac = V'_ac·2^(sx_a + sx_c - 2sy)
        d4 = d ** 4
        self.beta = [Fraction(zb[a], d) * Fraction(2) ** (sx[a] - sy) for a in range(k)]
        self.V = [[Fraction(S[a][c], d4) * Fraction(2) ** (sx[a] + sx[c] - 2 * sy)
                   for c in range(k)] for a in range(k)]
        self.Vf = np.array([[float(v) for v in row] for row in self.V])
        # the Wald form over L (scale-invariant, so in the scaled problem):
        # W = (zb_L/d)ᵀ (S_LL/d⁴)⁻¹ (zb_L/d) = d²·zb_Lᵀ S_LL⁻¹ zb_L
        L = [a for a in range(k) if a != const_col]
        u = decimal_solve([[S[a][c] for c in L] for a in L], [zb[a] for a in L])
        with decimal.localcontext() as ctx:
            ctx.prec = 250
            self.wald = float(decimal.Decimal(d * d) * sum(decimal.Decimal(zb[a]) * u[i]
                                                           for i, a in enumerate(L)))
        self.q = len(L)
        self.resid = [Fraction(de[i], d) * Fraction(2) ** -sy for i in range(n)]
        self.X, self.y, self.w = X, y, w


# ---- the bounds ------------------------------------------------------------------------------

def bounds(ex, beta_hat):
    """Relative bounds on each bse_j and on W, and the normwise bound on D·cov·D with its scale,
    for the reported β̂ (module docstring)."""
    n, k, X, w = ex.n, ex.k, ex.X, ex.w
    sw = np.sqrt(w)
    A, b = X * sw[:, None], ex.y * sw
    dcol = np.linalg.norm(A, axis=0)
    sv = np.linalg.svd(A / dcol, compute_uv=False)
    pi = 1.0 / sv[-1]
    eps_A = math.sqrt(k) * ((k + 1) * math.sqrt(n) + 3.0) * EPS
    gk, gn, gk1 = gamma(k), gamma(n), gamma(k + 1)
    et = np.array([float(r) for r in ex.resid]) * sw           # ẽ
    einf = float(np.max(np.abs(et)))
    # ψ_i: a_iᵀ(β̂ - β) from the exact difference, in double (+ its rounding, kε|a_i|ᵀ|β̂ - β|)
    dbeta = np.array([float(Fraction(bh) - bx) for bh, bx in zip(beta_hat, ex.beta)])
    psi = sw * (np.abs(X @ dbeta) + k * EPS * (np.abs(X) @ np.abs(dbeta)))
    psi += (k + 1) * 2.0 ** -64 * sw * (np.abs(ex.y) + np.abs(X) @ np.abs(beta_hat))
    c = 2.0 * np.abs(et) * psi + psi ** 2
    P = np.linalg.pinv(A)
    Vd = np.diag(ex.Vf)
    rho = einf * np.linalg.norm(P, axis=1) / np.sqrt(Vd)
    dV = (rho * pi * (4 * eps_A + 2 * k * (gk + 3 * EPS) + math.sqrt(k) * gk) +
          rho ** 2 * (k * gk * pi + k * gn) + (P ** 2 @ c) / Vd + 4 * EPS)
    d_bse = 0.5 * dV + EPS
    norm_scale = pi * pi * einf * einf
    d_norm = (pi * (4 * eps_A + 2 * k ** 1.5 * (gk + 3 * EPS) + 2 * k * gk) + k * gn +
              float(np.max(c)) / einf ** 2 + 4 * EPS)
    # Wald
    Q = np.linalg.qr(A)[0]
    M = (Q * (et ** 2)[:, None]).T @ Q
    lam = np.linalg.eigvalsh(M)
    lmin, kM = float(lam[0]), float(lam[-1] / lam[0])
    bx = np.array([float(v) for v in ex.beta])
    zeta = (float(np.linalg.norm(A @ dbeta)) +
            gk * math.sqrt(k) * float(np.linalg.norm(dcol * np.asarray(beta_hat))) +
            4 * EPS * float(np.linalg.norm(A @ bx)))
    W = ex.wald
    z = Q.T @ (A @ bx)
    W_full = float(z @ np.linalg.solve(M, z))
    dM = float(np.max(c)) + 2 * pi * k ** 1.5 * (gk + 3 * EPS) * einf ** 2 + k * gn * einf ** 2
    d_wald = (2 * zeta / math.sqrt(W * lmin) + 4 * pi * eps_A * math.sqrt(kM) + dM / lmin +
              3 * k * gk1 * kM + 4 * k * EPS * W_full / W + 4 * EPS)
    return dict(d_bse=d_bse, norm_scale=norm_scale, d_norm=d_norm, dcol=dcol, d_wald=d_wald,
                kappa_s=float(sv[0] / sv[-1]), rho=float(np.max(rho)), kappa_M=kM)


# ---- oocsolve --------------------------------------------------------------------------------

def fit(args):
    p = subprocess.run([OOC, "fit", "--json"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"oocsolve fit {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return json.loads(p.stdout)


def check(tag, ex, got, cov):
    """Compare one fit with the exact reference and report the margins.  The differences are
    taken in double from the correctly rounded exact values: ≤ 2ε relative noise on errors that
    the bounds (≥ 1e-9 here) allow."""
    k, n = ex.k, ex.n
    factor = n / (n - k) if cov == "HC1" else 1.0
    bnd = bounds(ex, got["params"])
    worst = []

    def within(name, err, tol):
        if not tol < 1e-3:
            failures.append(f"{tag}: {name}: bound {tol:.3g} is not small; first order fails")
        elif not err <= tol:  # NaN too
            failures.append(f"{tag}: {name}: error {err:.3g} exceeds the bound {tol:.3g}")
        worst.append((err / tol, name, err, tol))

    for j in range(k):
        exact = math.sqrt(ex.Vf[j, j] * factor)
        within(f"bse[{j}]", abs(got["bse"][j] - exact) / exact, float(bnd["d_bse"][j]))
    dc = bnd["dcol"]
    err = np.max(np.abs(np.array(got["cov_params"]) - ex.Vf * factor) * np.outer(dc, dc))
    within("cov (scaled, max entry)", float(err) / (bnd["norm_scale"] * factor), bnd["d_norm"])
    F = ex.wald / factor / ex.q
    within("F", abs(got["fvalue"] - F) / F if got["fvalue"] is not None else math.inf,
           bnd["d_wald"])
    ratio, name, e, t = max(worst)
    print(f"{tag}: κ_s {bnd['kappa_s']:.2g} ρ {bnd['rho']:.2g} κ_M {bnd['kappa_M']:.2g}; "
          f"bse err {max(w[2] for w in worst if w[1].startswith('bse')):.2g}, "
          f"F err {worst[-1][2]:.2g} (bound {worst[-1][3]:.2g}); tightest: {name} "
          f"{e:.2g} = {ratio:.2g} of its bound")


def longley():
    with open(os.path.join(NIST, "Longley.csv")) as f:
        rows = list(csv.reader(f))[1:]
    X = np.array([[1.0] + [float(v) for v in r[:6]] for r in rows])
    y = np.array([float(r[6]) for r in rows])
    return X, y


def write_h5(path, X, y, w=None):
    with h5py.File(path, "w") as f:
        f["X"] = X
        f["Y"] = y
        if w is not None:
            f["W"] = w


def main():
    rng = np.random.default_rng(20240611)
    with tempfile.TemporaryDirectory() as tmp:
        designs = []
        # NIST Longley (statsmodels' longley: TOTEMP ~ GNPDEFL + GNP + UNEMP + ARMED + POP + YEAR)
        X, y = longley()
        designs.append(("Longley", X, y, None,
                        [os.path.join(NIST, "Longley.csv"), "-f",
                         "y ~ x1 + x2 + x3 + x4 + x5 + x6"]))
        # κ_s ≈ 1e9: two columns 1e-9 apart, heteroscedastic noise
        n = 60
        t = rng.uniform(0.0, 1.0, n)
        X = np.column_stack([np.ones(n), t, t + 1e-9 * rng.standard_normal(n),
                             rng.standard_normal(n)])
        y = 1.0 + 2.0 * t + 3.0 * X[:, 2] - X[:, 3] + (0.5 + t) * rng.standard_normal(n)
        path = os.path.join(tmp, "cond1e9.h5")
        write_h5(path, X, y)
        designs.append(("cond 1e9", X, y, None, [path]))
        # 20 correlated regressors + intercept, unweighted and weighted (dyadic weights)
        n = 120
        zc = rng.standard_normal(n)
        X = np.column_stack([np.ones(n)] + [zc + 0.005 * rng.standard_normal(n) for _ in range(20)])
        y = X @ rng.standard_normal(21) + (1.0 + np.abs(zc)) * rng.standard_normal(n)
        w = rng.integers(1, 33, n) / 8.0
        path = os.path.join(tmp, "wide.h5")
        write_h5(path, X, y, w)
        designs.append(("21 columns", X, y, None, [path]))
        designs.append(("21 columns, weighted", X, y, w, [path, "--weights", "/W"]))
        for name, X, y, w, args in designs:
            ex = Exact(X, y, w, const_col=0)
            for cov in ("HC0", "HC1"):
                for extra in ([], ["--block-rows", "4"], ["--refine"]):
                    got = fit(args + ["--cov", cov] + extra)
                    tag = f"{name} {cov}{' ' if extra else ''}{' '.join(extra)}"
                    check(tag, ex, got, cov)
    if failures:
        print("\n".join(["FAILED:"] + failures))
        sys.exit(1)
    print("hc_exact: all within their bounds")


if __name__ == "__main__":
    main()

"""lsq_bounds.py — rounding-error bounds for weighted least-squares results, from which the Python
tests derive their tolerances (project rule: a tolerance is conditioning × ε with its constant
explained, never the digits one CPU happened to give).  Imported by oracle_statsmodels.py,
fit_csv_weights.py, reference_size.py and test_cuda_plugin_cli.py.

Notation: ε = DBL_EPSILON = 2^-52; A = W^½X (n × p), b = W^½y, β the exact solution, r = b - Aβ,
κ = κ₂(A) = σmax/σmin from numpy's SVD of the data (independent of oocsolve; the bounds need κ
to about one digit), tan θ = ‖r‖/‖Aβ‖.

Backward error.  Householder QR (oocsolve's TSQR in any fold and merge order, cuSOLVER's geqrf),
the SVD behind numpy's/statsmodels' pinv, and the normal equations' Gram + Cholesky each return
results that are exact for data perturbed by ‖Δa_j‖ ≤ γ‖a_j‖ per column (QR, SVD; the Gram:
|ΔG_jk| ≤ γ‖a_j‖‖a_k‖).  The worst-case constant is c·n·p·u (Higham, Accuracy and Stability of
Numerical Algorithms, 2nd ed., Thm 19.4 and §20.2); with rounding errors of random sign it grows
like λ·√(n·p)·u instead (Higham & Mary, SIAM J. Sci. Comput. 41(5), 2019).  We take
    γ = (p·√n + 3)·ε,
i.e. λ = 2√p standard deviations (ε = 2u) plus 3ε for the roundings that do not grow with n
(√w·x, the reflector's norm and division, the triangular solve).  Normwise, ‖ΔA‖₂ ≤ ‖ΔA‖_F ≤
γ‖A‖_F ≤ √p·γ‖A‖₂, so ε_A = √p·γ.

First-order bounds for ONE implementation (a comparison of two independent implementations allows
the sum of their bounds; each is within its bound of the exact answer):
  β, QR / SVD:   ‖Δβ‖/‖β‖ ≤ κε_A(2 + (κ+1)·tan θ)/(1 - κε_A)          (Higham Thm 20.1)
  β, normal:     ‖Δβ‖/‖β‖ ≤ pγκ²(1 + 1/cos θ)   (‖ΔG‖ ≤ pγ‖A‖², ‖Δ(Aᵀb)‖ ≤ √pγ‖A‖‖b‖)
  ssr:           ρ = (‖b‖ + ‖A‖_F‖β‖)/‖r‖ measures how much larger the data are than the residual:
                 QR's ‖r‖ = |R_yy| moves by ≤ γ(‖b‖ + Σ‖a_j‖|β_j|) ≤ γρ‖r‖; residuals formed as
                 b - Aβ̂ add ‖AΔβ‖² (second order); normal: |Δssr| ≤ γ(‖b‖ + ‖A‖_F‖β‖)² = γρ²·ssr
  (AᵀA)⁻¹_jj:    relative ≤ ‖ΔG‖/σmin² = e_G·κ² with e_G = ‖ΔG‖/‖A‖² (QR: 2ε_A, normal: pγ)
  σ_j:           QR: |Δσ_j| ≤ ε_A·σmax (Weyl); normal: |Δσ_j²| ≤ pγ·σmax²
A wrong answer (a lost or repeated block, a wrong weight, a wrong triangle) moves these results
by far more than the bounds: the tests also print the margins they leave.
"""
import math

import numpy as np

EPS = float(np.finfo(float).eps)


def sf_accuracy(p, a_plus_b):
    """Relative accuracy of a t/F tail probability p = I_x(a, b) from either implementation.
    oocsolve's (host/src/stats.c) is exp(log prefactor) × continued fraction: the exponential turns
    the prefactor's absolute rounding error (≈ ε·|ln p|) into relative error, and the continued
    fraction's first denominator 1 - (a+b)x/(a+1) is bounded below only by 2/(a+b+2) on the side
    it is used, a cancellation of up to ε·(a+b+2)/2.  scipy (Boost's ibeta) is at least as
    accurate on these arguments except near t = 0 with one degree of freedom, where Boost is off by
    ~170ε (checked against 1 - 2·atan(t)/π).  The factor 64 covers the remaining O(ε) roundings
    of the continued fraction's converged terms and that corner; it is the one constant here not
    derived from a condition number (a library accuracy, not a conditioning)."""
    return 64.0 * EPS * (a_plus_b + 2.0 + abs(math.log(p)) if p > 0 else 1.0)


def eta_beta(n, p, kappa, tan, method="qr", eps=EPS):
    """The relative bound on ‖Δβ‖/‖β‖ above for an n × p problem (eps: the unit of the arithmetic,
    2^-63 for a long-double reference)."""
    gamma = (p * math.sqrt(n) + 3.0) * eps
    if method == "normal":
        return p * gamma * kappa * kappa * (1.0 + math.sqrt(1.0 + tan * tan))
    eps_A = math.sqrt(p) * gamma
    return kappa * eps_A * (2.0 + (kappa + 1.0) * tan) / (1.0 - kappa * eps_A)


class LsqBounds:
    """Bounds for the weighted least-squares problem (X, y, w) solved by `method` ('qr' or
    'normal'); X must be the design actually fitted (full column rank)."""

    def __init__(self, X, y, w=None, method="qr"):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        sw = np.ones(len(y)) if w is None else np.sqrt(np.asarray(w, dtype=float))
        A, b = X * sw[:, None], y * sw
        self.A, self.b = A, b
        self.n, self.p = n, p = A.shape
        self.method = method
        self.gamma = (p * math.sqrt(n) + 3.0) * EPS
        self.eps_A = math.sqrt(p) * self.gamma
        s = np.linalg.svd(A, compute_uv=False)
        self.kappa = float(s[0] / s[-1])
        self.beta = np.linalg.lstsq(A, b, rcond=None)[0]
        r = b - A @ self.beta
        self.rnorm = float(np.linalg.norm(r))
        fitted = float(np.linalg.norm(A @ self.beta))
        self.tan = self.rnorm / fitted if fitted > 0 else math.inf
        self.cos = 1.0 / math.sqrt(1.0 + self.tan ** 2)
        bnorm, Afro = float(np.linalg.norm(b)), float(np.linalg.norm(A))
        self.rho = (bnorm + Afro * float(np.linalg.norm(self.beta))) / self.rnorm
        k, g, eA = self.kappa, self.gamma, self.eps_A
        self.eta_beta = eta_beta(n, p, k, self.tan, method)
        if method == "normal":
            self.e_G = p * g
            self.d_ssr = g * self.rho ** 2
            self.d_sv2 = p * g * k * k  # relative error of σ_j² for every j
        else:
            self.e_G = 2.0 * eA + eA * eA
            self.d_ssr = 2.0 * g * self.rho + (g * self.rho) ** 2
            self.d_sv2 = 2.0 * eA * k + (eA * k) ** 2
        self.d_ssr += (self.eta_beta * self.rho) ** 2  # residuals formed from an inexact β̂
        self.d_bread = self.e_G * k * k  # diagonal of (AᵀA)⁻¹ (and its normwise error)

    # ---- one implementation's bounds (absolute unless named d_*) ----
    def params(self):
        """Per-component absolute bound on β̂: ‖Δβ‖ ≤ η·‖β‖."""
        return self.eta_beta * float(np.linalg.norm(self.beta))

    def d_bse(self):
        """Relative bound on a nonrobust standard error sqrt(scale·(AᵀA)⁻¹_jj)."""
        return 0.5 * (self.d_ssr + self.d_bread) + 2.0 * EPS

    def _hc(self, resid):
        """B = (AᵀA)⁻¹, M = Σ ẽ_i² a_i a_iᵀ (ẽ = `resid`, the weighted residuals W^½(y - Xβ̂)) and
        ψ_i ≥ |Δẽ_i| = ‖a_i‖·‖Δβ‖ + γ(|b_i| + |a_i|ᵀ|β|) (β̂'s error plus forming b_i - a_iᵀβ̂)."""
        A, e = self.A, np.asarray(resid, dtype=float)
        B = np.linalg.inv(A.T @ A)
        M = (A * (e ** 2)[:, None]).T @ A
        psi = np.linalg.norm(A, axis=1) * self.params() + self.gamma * (
            np.abs(self.b) + np.abs(A) @ np.abs(self.beta))
        return A, e, B, M, psi

    def d_hc_bse(self, resid):
        """Relative bounds on the HC standard errors sqrt((BMB)_jj): to first order
            |Δ(BMB)_jj| ≤ 2‖Δb_j‖·‖M‖^½·(b_jᵀMb_j)^½ + Σ_i (2|ẽ_i|ψ_i + ψ_i²)(a_iᵀb_j)²,
        b_j = Be_j with ‖Δb_j‖ ≤ d_bread·‖b_j‖.  (HC1's factor n/(n-p) is one more rounding.)"""
        A, e, B, M, psi = self._hc(resid)
        Mnorm = float(np.linalg.norm(M, 2))
        AB = A @ B  # column j: a_iᵀ b_j
        w = 2.0 * np.abs(e) * psi + psi ** 2
        out = []
        for j in range(self.p):
            bj = B[:, j]
            v = float(bj @ M @ bj)
            dv = 2.0 * self.d_bread * float(np.linalg.norm(bj)) * math.sqrt(Mnorm * v) + \
                float(np.sum(w * AB[:, j] ** 2))
            out.append(0.5 * dv / v + 3.0 * EPS)
        return np.array(out)

    def hc_cov_abs(self, resid, factor=1.0):
        """Normwise bound on the error of the HC covariance factor·BMB:
        ‖Δ(BMB)‖ ≤ 2·d_bread·‖B‖²‖M‖ + ‖B‖²·Σ_i (2|ẽ_i|ψ_i + ψ_i²)‖a_i‖²."""
        A, e, B, M, psi = self._hc(resid)
        Bn, Mn = float(np.linalg.norm(B, 2)), float(np.linalg.norm(M, 2))
        dM = float(np.sum((2.0 * np.abs(e) * psi + psi ** 2) * np.sum(A * A, axis=1)))
        return factor * (2.0 * self.d_bread * Bn * Bn * Mn + Bn * Bn * dM)

    def sv_abs(self, s):
        """Per-value absolute bounds on the singular values s (descending) of A: qr |Δσ_j| ≤ ε_A·σ_1
        (Weyl); normal |Δσ_j²| ≤ pγ·σ_1², i.e. |Δσ_j| ≤ pγ·σ_1²/(2σ_j)."""
        s = np.asarray(s, dtype=float)
        if self.method == "normal":
            return self.p * self.gamma * s[0] ** 2 / (2.0 * s)
        return self.eps_A * s[0] * np.ones_like(s)

    def llf_abs(self, ssr, w=None):
        """llf = -n/2·log ssr - n/2·(1 + log(2π/n)) + ½Σlog w: n/2·δssr, plus the roundings of
        the logs and of the n-term sum Σlog w (γ relative to the sum of magnitudes)."""
        slw = 0.0 if w is None else float(np.sum(np.abs(np.log(w))))
        n = self.n
        return 0.5 * n * self.d_ssr + self.gamma * (
            0.5 * n * (abs(math.log(ssr)) + 1.0 + abs(math.log(2.0 * math.pi / n))) + 0.5 * slw)

    def d_tss(self, centered_tss, uncentered_tss, centered):
        """Relative bound on a total sum of squares: Σw·y² sums n positive terms (γ); the centered
        one also carries the weighted mean's error, uncentered/centered times more."""
        if not centered:
            return self.gamma
        return self.gamma * uncentered_tss / centered_tss if centered_tss > 0 else math.inf

    def rsquared_abs(self, ssr, tss, d_tss):
        """R² = 1 - ssr/tss: |ΔR²| ≤ (ssr/tss)(δssr + δtss) + ε."""
        return (ssr / tss) * (self.d_ssr + d_tss) + EPS

    def cov_abs(self, scale):
        """Normwise bound on the error of the nonrobust covariance scale·(AᵀA)⁻¹."""
        Bn = float(np.linalg.norm(np.linalg.inv(self.A.T @ self.A), 2))
        return scale * Bn * (self.d_ssr + self.d_bread + 2.0 * EPS)


def wald_rel_bound(beta_L, V, dbeta_abs, dV_abs):
    """Relative bound on a Wald statistic W = β_Lᵀ V⁻¹ β_L when ‖Δβ_L‖ ≤ dbeta_abs and
    ‖ΔV‖ ≤ dV_abs: ΔW ≤ 2√W·‖Δβ_L‖/√λmin(V) + W·‖ΔV‖/λmin(V) (first order)."""
    lam_min = float(np.linalg.eigvalsh(V)[0])
    W = float(beta_L @ np.linalg.solve(V, beta_L))
    return 2.0 * dbeta_abs / math.sqrt(W * lam_min) + dV_abs / lam_min


def t_pvalue_abs_bound(t, df, dt, use_t=True):
    """Absolute bound on a two-sided p-value 2·sf(|t|) whose t is off by ≤ dt: 2·pdf·dt (the
    conditioning, evaluated at the nearer end of [|t| - dt, |t| + dt]) plus each library's
    evaluation error (sf_accuracy)."""
    import scipy.stats as st  # late: test_cuda_plugin_cli measures a child forked before it
    dist = st.t(df) if use_t else st.norm()
    t = abs(t)
    lo = max(0.0, t - dt)
    p = 2.0 * float(dist.sf(t))
    ab = (0.5 * df + 0.5) if use_t else 0.0
    return 2.0 * float(dist.pdf(lo)) * dt + 2.0 * p * sf_accuracy(p, ab)

/* lsq_bounds.h — the rounding-error bounds the C tests share (the Python tests'
 * twin is lsq_bounds.py).
 *
 * Per-column backward error γ of reducing n rows of p columns to a triangle.
 * Householder QR (rows kernel or LAPACK, any panel, fold and merge order)
 * returns the exact R of rows perturbed by ‖Δa_j‖ ≤ γ‖a_j‖; the normal
 * method's Gram (syrk) and Cholesky give RᵀR = G + ΔG with
 * |ΔG_ab| ≤ γ‖a_a‖‖a_b‖.  Worst case γ is c·n·p·u (Higham, Accuracy and
 * Stability, 2nd ed., Thm 19.4; (n + p + 1)·u for syrk + Cholesky, Thms 3.5
 * and 10.3); with rounding errors of random sign it grows like λ·√(n·p)·u
 * instead (Higham & Mary, SIAM J. Sci. Comput. 41, 2019).  We take
 * γ = (p·√n + 3)·ε: λ = 2√p (ε = 2u), plus 3ε for the roundings that do not
 * grow with n (√w·x, the reflector's norm and division). */
#ifndef OOC_LSQ_BOUNDS_H
#define OOC_LSQ_BOUNDS_H
#include <float.h>
#include <math.h>
#include <stddef.h>

static inline double gamma_np(size_t n, size_t p)
{
    return ((double)p * sqrt((double)n) + 3.0) * DBL_EPSILON;
}

/* |RᵀR - G|_ab ≤ (2γ + γ²)·‖a_a‖‖a_b‖ ≤ (2γ + γ²)·max|G| (Cauchy–Schwarz,
 * ‖a_a‖² = G_aa); a long-double reference adds ~n·2⁻⁶⁴, negligible.  A lost,
 * repeated or wrongly weighted row moves G by about max|G|/n, a wrong
 * triangle by O(1): far above 2γ at the tests' sizes (≤ 1.7e-12). */
static inline double gram_tol(size_t n, size_t p)
{
    double g = gamma_np(n, p);
    return 2.0 * g + g * g;
}

#endif

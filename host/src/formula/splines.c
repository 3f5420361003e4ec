/*
 * splines.c — the arithmetic of patsy's spline bases, row by row: bs()'s
 * B-splines as scipy's splev evaluates them (FITPACK's fpbspl, the de Boor-Cox
 * recursion, operations in its order, so the columns equal patsy's bit for
 * bit), and cr()/cc()'s cubic regression splines (patsy's
 * mgcv_cubic_splines.py: the second-derivative map from LAPACK's tridiagonal
 * or general solver, the basis expression summed in numpy's order, the null
 * space of a centering constraint from LAPACK's QR).  Nothing here allocates
 * per row; errors are LAPACK failures.
 */
#include "base/error.h"
#include "formula/formula_internal.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ooc_bspline_basis(const double *t, size_t n, size_t degree, double x, double *out)
{
    const size_t k = degree, nb = n - k - 1;
    /* splev's interval: the largest l in [k, n-k-2] with t[l] <= x */
    size_t l = n - k - 2;
    while (l > k && !(t[l] <= x))
        l--;
    double h[64], hh[64]; /* degree <= 62: checked by ooc_transform_check */
    h[0] = 1.0;
    for (size_t j = 1; j <= k; j++) {
        memcpy(hh, h, j * sizeof *h);
        h[0] = 0.0;
        for (size_t i = 1; i <= j; i++) {
            size_t li = l + i, lj = li - j;
            if (t[li] == t[lj]) {
                h[i] = 0.0;
                continue;
            }
            double f = hh[i - 1] / (t[li] - t[lj]);
            h[i - 1] = h[i - 1] + f * (t[li] - x);
            h[i] = f * (x - t[lj]);
        }
    }
    for (size_t i = 0; i < nb; i++)
        out[i] = 0.0;
    for (size_t j = 0; j <= k; j++)
        out[l - k + j] = h[j];
}

/* patsy's _get_natural_f: F = [0; B⁻¹D; 0] with B tridiagonal, solved as
 * scipy's solve_banded((1, 1), ...) does, by LAPACK's dgtsv. */
static ooc_status natural_map(const double *knots, size_t n, double *f, ooc_error *err)
{
    ooc_status status = OOC_OK;
    memset(f, 0, n * n * sizeof *f);
    if (n < 3)
        return OOC_OK;
    size_t m = n - 2;
    double *h = malloc((n - 1) * sizeof *h), *dl = malloc(m * sizeof *dl);
    double *d = malloc(m * sizeof *d), *du = malloc(m * sizeof *du);
    double *rhs = malloc(m * n * sizeof *rhs);
    OOC_FAIL_IF(!h || !dl || !d || !du || !rhs, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i + 1 < n; i++)
        h[i] = knots[i + 1] - knots[i];
    for (size_t i = 0; i < m; i++) {
        d[i] = (h[i] + h[i + 1]) / 3.0;
        if (i + 1 < m)
            dl[i] = du[i] = h[i + 1] / 6.0;
    }
    memset(rhs, 0, m * n * sizeof *rhs); /* row-major m x n */
    for (size_t i = 0; i < m; i++) {
        double a = 1.0 / h[i], c = 1.0 / h[i + 1];
        rhs[i * n + i] = a;
        rhs[i * n + i + 2] = c;
        rhs[i * n + i + 1] = -a - c;
    }
    lapack_int info = LAPACKE_dgtsv(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, dl, d, du, rhs,
                                    (lapack_int)n);
    OOC_FAIL_IF(info != 0, err, OOC_ERR_DATA,
                "the natural cubic spline's system for these knots is singular (dgtsv info %d)",
                (int)info);
    memcpy(f + n, rhs, m * n * sizeof *rhs);
out:
    free(h);
    free(dl);
    free(d);
    free(du);
    free(rhs);
    return status;
}

/* patsy's _get_cyclic_f: B⁻¹D for the cyclic spline's n - 1 values, by
 * LAPACK's dgesv as numpy.linalg.solve. */
static ooc_status cyclic_map(const double *knots, size_t nk, double *f, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t n = nk - 1;
    double *h = malloc(n * sizeof *h), *b = calloc(n * n, sizeof *b);
    lapack_int *piv = malloc(n * sizeof *piv);
    OOC_FAIL_IF(!h || !b || !piv, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        h[i] = knots[i + 1] - knots[i];
    memset(f, 0, n * n * sizeof *f);
    b[0] = (h[n - 1] + h[0]) / 3.0;
    b[n - 1] = h[n - 1] / 6.0;
    b[(n - 1) * n] = h[n - 1] / 6.0;
    f[0] = -1.0 / h[0] - 1.0 / h[n - 1];
    f[n - 1] = 1.0 / h[n - 1];
    f[(n - 1) * n] = 1.0 / h[n - 1];
    for (size_t i = 1; i < n; i++) {
        b[i * n + i] = (h[i - 1] + h[i]) / 3.0;
        b[i * n + i - 1] = h[i - 1] / 6.0;
        b[(i - 1) * n + i] = h[i - 1] / 6.0;
        f[i * n + i] = -1.0 / h[i - 1] - 1.0 / h[i];
        f[i * n + i - 1] = 1.0 / h[i - 1];
        f[(i - 1) * n + i] = 1.0 / h[i - 1];
    }
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, b,
                                    (lapack_int)n, piv, f, (lapack_int)n);
    OOC_FAIL_IF(info != 0, err, OOC_ERR_DATA,
                "the cyclic cubic spline's system for these knots is singular (dgesv info %d)",
                (int)info);
out:
    free(h);
    free(b);
    free(piv);
    return status;
}

ooc_status ooc_crs_second_derivative_map(const double *knots, size_t n, bool cyclic, double *f,
                                         ooc_error *err)
{
    return cyclic ? cyclic_map(knots, n, f, err) : natural_map(knots, n, f, err);
}

void ooc_crs_basis(const double *knots, size_t n, bool cyclic, const double *f, double x,
                   double *out)
{
    const double lo = knots[0], hi = knots[n - 1];
    size_t nb = cyclic ? n - 1 : n;
    if (cyclic) { /* patsy's _map_cyclic (numpy's % of positive operands: fmod) */
        if (x > hi)
            x = lo + fmod(x - hi, hi - lo);
        else if (x < lo)
            x = hi - fmod(lo - x, hi - lo);
    }
    /* _find_knots_lower_bounds: searchsorted(knots, x) - 1, clamped to [0, n-2] */
    size_t j = 0;
    while (j < n && knots[j] < x)
        j++;
    j = j == 0 ? 0 : j - 1;
    if (j == n - 1)
        j = n - 2;
    double hj = knots[j + 1] - knots[j];
    double xj1_x = knots[j + 1] - x, x_xj = x - knots[j];
    double ajm = xj1_x / hj, ajp = x_xj / hj;
    double cjm_3 = x > hi ? 0.0 : xj1_x * xj1_x * xj1_x / (6.0 * hj);
    double cjm = cjm_3 - hj * xj1_x / 6.0;
    double cjp_3 = x < lo ? 0.0 : x_xj * x_xj * x_xj / (6.0 * hj);
    double cjp = cjp_3 - hj * x_xj / 6.0;
    size_t j1 = j + 1;
    if (cyclic && j1 == nb)
        j1 = 0;
    /* ajm*I[j] + ajp*I[j1] + cjm*F[j] + cjp*F[j1], left to right as numpy adds them */
    for (size_t c = 0; c < nb; c++)
        out[c] = ajm * (c == j ? 1.0 : 0.0) + ajp * (c == j1 ? 1.0 : 0.0) + cjm * f[j * nb + c] +
                 cjp * f[j1 * nb + c];
}

ooc_status ooc_constraint_null_space(const double *c, size_t k, double *q, ooc_error *err)
{
    ooc_status status = OOC_OK;
    double *a = malloc(k * k * sizeof *a), tau;
    OOC_FAIL_IF(!a, err, OOC_ERR_NOMEM, "out of memory");
    memset(a, 0, k * k * sizeof *a);
    for (size_t i = 0; i < k; i++) /* column-major k x k, c in column 0 */
        a[i] = c[i];
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)k, 1, a, (lapack_int)k, &tau);
    if (info == 0)
        info = LAPACKE_dorgqr(LAPACK_COL_MAJOR, (lapack_int)k, (lapack_int)k, 1, a,
                              (lapack_int)k, &tau);
    OOC_FAIL_IF(info != 0, err, OOC_ERR_DATA, "the centering constraint's QR failed (info %d)",
                (int)info);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 1; j < k; j++)
            q[i * (k - 1) + j - 1] = a[j * k + i];
out:
    free(a);
    return status;
}

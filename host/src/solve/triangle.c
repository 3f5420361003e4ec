/*
 * triangle.c — dense work on the small triangle R_aug after a pass: its
 * nonzero rows, singular values, aliased columns, re-triangularisation of
 * the kept columns, and the memory check before any of it is allocated.
 * See triangle.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "solve/triangle.h"

#include "base/error.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rows of the p x p upper triangle r (row-major, leading dimension ld) up to
 * its last nonzero row; from there on R is zero, so its rank is at most this.
 * The CPU backend (its lapack qr kernel, the one wide designs use) leaves
 * exactly zero the rows a design with fewer rows than columns never filled,
 * and the dense steps below then work on the m x p trapezoid: O(m²p) instead
 * of O(p³). */
size_t ooc_triangle_rows(const double *r, size_t ld, size_t p)
{
    size_t m = p;
    while (m > 0) {
        const double *row = r + (m - 1) * ld;
        size_t j = m - 1;
        while (j < p && row[j] == 0.0)
            j++;
        if (j < p)
            break;
        m--;
    }
    return m;
}

/* Singular values (descending) of the p x p upper triangle R stored row-major
 * with leading dimension ld, zero from row m on (triangle_rows); columns
 * scaled to unit norm when `scaled`.  s gets p values, zero after the first
 * m; vt, when not NULL, the first m rows of Vᵀ (m x p row-major).  The full
 * triangle (m = p) goes to the backend's svd_triangle when it has one, else
 * to LAPACK's dgesdd here; a trapezoid (m < p) always to dgesdd here,
 * O(m²p). */
ooc_status ooc_triangle_singular_values(ooc_backend *be, const double *r, size_t ld, size_t p,
                                           size_t m, bool scaled, double *s, double *vt,
                                           ooc_error *err)
{
    ooc_status status = OOC_OK;
    double *a = malloc((m ? m : 1) * p * sizeof(double));
    OOC_FAIL_IF(!a, err, OOC_ERR_NOMEM, "out of memory for the SVD of a %zux%zu triangle", m, p);
    for (size_t i = m; i < p; i++)
        s[i] = 0.0;
    if (m == 0)
        goto out;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < p; j++)
            a[i * p + j] = j >= i ? r[i * ld + j] : 0.0;
    if (scaled) {
        for (size_t j = 0; j < p; j++) {
            double nrm = 0.0;
            for (size_t i = 0; i <= j && i < m; i++)
                nrm = hypot(nrm, a[i * p + j]);
            if (nrm > 0.0)
                for (size_t i = 0; i <= j && i < m; i++)
                    a[i * p + j] /= nrm;
        }
    }
    status = ooc_backend_svd_triangle(be, a, m, p, p, s, vt, err);
out:
    free(a);
    return status;
}

/* ---- memory of the dense steps --------------------------------------------- */

/* Bytes the system can give this process now: MemAvailable from
 * /proc/meminfo, else the free physical pages; 0 when neither is known. */
static double available_memory(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb = 0;
        bool found = false;
        while (!found && fgets(line, sizeof line, f))
            found = sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
        fclose(f);
        if (found)
            return 1024.0 * (double)kb;
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0.0;
}

/* Bytes of triangle_singular_values on an m x p trapezoid: the copy, and
 * dgesdd's documented minimal workspace and iwork (with vectors also U' and
 * V', and the workspace of jobz 'S'). */
static double svd_bytes(size_t m, size_t p, bool vectors)
{
    double M = (double)m, P = (double)p;
    double work = vectors ? P * M + M * M + 3.0 * M * M + fmax(P, 4.0 * M * M + 4.0 * M)
                          : 3.0 * M + fmax(P, 7.0 * M);
    return 8.0 * (M * P + work) + 8.0 * M * (double)sizeof(lapack_int);
}

/* Refuse, before allocating them, the dense arrays of `what` ("fit" / "svd")
 * that cannot fit in the memory available now: the p_aug x p_aug triangle
 * (0: already held), the p_cov x p_cov covariance (fit's cov_params; 0:
 * none), the SVD of the triangle's m x p nonzero rows, and the k_vt x p Vᵀ an
 * svd with vectors keeps (0: none).  Errors: OOC_ERR_NOMEM, naming each size. */
ooc_status ooc_check_dense_memory(const char *what, size_t p_aug, size_t p_cov, size_t p,
                                     size_t m, size_t k_vt, ooc_error *err)
{
    const double gb = 1e9;
    double tri = 8.0 * (double)p_aug * (double)p_aug;
    double cov = 8.0 * (double)p_cov * (double)p_cov;
    double svd = svd_bytes(m, p, k_vt > 0) + 8.0 * (double)k_vt * (double)p;
    double need = tri + cov + svd, avail = available_memory();
    if (avail <= 0.0 || need <= avail)
        return OOC_OK;
    char parts[256] = "";
    size_t used = 0;
    if (p_aug > 0)
        used += (size_t)snprintf(parts, sizeof parts, "the %zux%zu triangle %.3g GB, ", p_aug,
                                 p_aug, tri / gb);
    if (p_cov > 0)
        used += (size_t)snprintf(parts + used, sizeof parts - used,
                                 "the %zux%zu covariance %.3g GB, ", p_cov, p_cov, cov / gb);
    snprintf(parts + used, sizeof parts - used, "the SVD of its %zu nonzero rows%s %.3g GB", m,
             k_vt > 0 ? " with vectors" : "", svd / gb);
    return OOC_FAIL(err, OOC_ERR_NOMEM,
                    "%s of %zu columns needs %.3g GB for its dense arrays (%s), but %.3g GB of "
                    "memory is available: use fewer columns or a machine with more memory",
                    what, p, need / gb, parts, avail / gb);
}

/* Aliased columns: go through the columns of R (row-major, ld; zero from row
 * m on) in order, keeping a Householder QR of the kept ones; column j is
 * aliased when its part orthogonal to them is <= tol times its norm.  At most
 * m columns are kept, so the reflectors take m x m doubles. */
ooc_status ooc_find_aliased(const double *r, size_t ld, size_t p, size_t m, double tol,
                               bool *aliased, size_t *rank, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t m1 = m ? m : 1;
    double *col = malloc(m1 * sizeof(double));
    double *v = calloc(m1 * m1, sizeof(double)); /* reflector h in v[h*m .. ] (rows h..m-1) */
    double *tau = calloc(m1, sizeof(double));
    OOC_FAIL_IF(!col || !v || !tau, err, OOC_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t j = 0; j < p; j++) {
        for (size_t i = 0; i < m; i++)
            col[i] = i <= j ? r[i * ld + j] : 0.0;
        double norm0 = cblas_dnrm2((int)m, col, 1);
        for (size_t h = 0; h < k; h++) {
            /* tau 0: the identity.  Until a column is aliased every reflector is
             * (R is triangular, so the kept column has nothing below its
             * diagonal): a full-rank R costs O(p²) here, not O(p³). */
            if (tau[h] == 0.0)
                continue;
            double dot = cblas_ddot((int)(m - h), v + h * m + h, 1, col + h, 1);
            cblas_daxpy((int)(m - h), -tau[h] * dot, v + h * m + h, 1, col + h, 1);
        }
        double resid = k < m ? cblas_dnrm2((int)(m - k), col + k, 1) : 0.0;
        if (norm0 == 0.0 || resid <= tol * norm0) {
            aliased[j] = true;
            continue;
        }
        aliased[j] = false;
        double alpha = col[k];
        double t = 0.0;
        LAPACKE_dlarfg((lapack_int)(m - k), &alpha, col + k + 1, 1, &t);
        v[k * m + k] = 1.0;
        for (size_t i = k + 1; i < m; i++)
            v[k * m + i] = col[i];
        tau[k] = t;
        k++;
    }
    *rank = k;
out:
    free(col);
    free(v);
    free(tau);
    return status;
}

/* QR of the kept columns of R_aug (plus the y column): rk is (k+1)x(k+1)
 * row-major upper with a non-negative diagonal. */
ooc_status ooc_retriangularize(const double *r_aug, size_t p_aug, const bool *aliased,
                                  size_t k, double *rk, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t kc = k + 1, c = 0;
    double *a = malloc(p_aug * kc * sizeof(double)); /* column-major p_aug x kc */
    double *tau = malloc(kc * sizeof(double));
    OOC_FAIL_IF(!a || !tau, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < p_aug; j++) {
        if (j + 1 < p_aug && aliased[j])
            continue;
        for (size_t i = 0; i < p_aug; i++)
            a[c * p_aug + i] = r_aug[i * p_aug + j];
        c++;
    }
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)p_aug, (lapack_int)kc, a,
                                     (lapack_int)p_aug, tau);
    OOC_FAIL_IF(info != 0, err, OOC_ERR_NUMERIC, "dgeqrf failed (info %d)", (int)info);
    for (size_t i = 0; i < kc; i++) {
        double sign = a[i * p_aug + i] < 0.0 ? -1.0 : 1.0;
        for (size_t j = 0; j < kc; j++)
            rk[i * kc + j] = j >= i ? sign * a[j * p_aug + i] : 0.0;
    }
out:
    free(a);
    free(tau);
    return status;
}

/*
 * backend.c — what every caller and every backend of backend.h shares:
 * calling a backend with its optional operations resolved (the backend's op
 * when it has one, else the host default with BLAS/LAPACK), freeing a
 * backend, and the two triangle helpers both accumulators use (merging two
 * upper triangles, writing R in backend.h's output form).
 *
 * Compiled into liboocsolve_core and into the CUDA plugin (device/), so it
 * uses nothing but error.c, OpenBLAS/LAPACKE and libc.
 */
#include "backend/backend.h"

#include "base/error.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ooc_backend_free(ooc_backend *be)
{
    if (!be)
        return;
    if (be->ops && be->ops->destroy)
        be->ops->destroy(be);
    free(be);
}

/* ---- optional operations -------------------------------------------------- */

/* Host default for project: out = (W^½ X_rows) · m, p = lay->p_aug.
 * Weighted rows are scaled into `scratch` (nrows x p) first. */
static void host_project(const ooc_backend_layout *lay, const double *rows, size_t nrows,
                         const double *m, size_t k, double *out, double *scratch)
{
    const size_t p = lay->p_aug;
    const double *x = rows;
    int ldx = (int)lay->ld;
    if (lay->weight_col >= 0) {
        for (size_t i = 0; i < nrows; i++) {
            const double *row = rows + i * lay->ld;
            double s = sqrt(row[lay->weight_col]);
            for (size_t j = 0; j < p; j++)
                scratch[i * p + j] = row[j] * s;
        }
        x = scratch;
        ldx = (int)p;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nrows, (int)k, (int)p, 1.0, x, ldx,
                m, (int)k, 0.0, out, (int)k);
}

ooc_status ooc_backend_project(ooc_backend *be, const double *rows, size_t nrows, const double *m,
                               size_t k, double *out, ooc_error *err)
{
    if (be->ops->project)
        return be->ops->project(be, rows, nrows, m, k, out, err);
    double *scratch = NULL;
    if (be->layout.weight_col >= 0 && nrows > 0) {
        scratch = malloc(nrows * be->layout.p_aug * sizeof(double));
        if (!scratch)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory projecting %zu weighted rows",
                            nrows);
    }
    host_project(&be->layout, rows, nrows, m, k, out, scratch);
    free(scratch);
    return OOC_OK;
}

ooc_status ooc_backend_accumulate_raw(ooc_backend *be, const ooc_raw_block *raw, size_t nrows,
                                      const ooc_scan_spec *spec, double *scan_out,
                                      double *rows_out, ooc_error *err)
{
    if (!be->ops->accumulate_raw || !be->caps.raw_codecs)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED, "backend '%s' does not decode chunks",
                        be->caps.name);
    return be->ops->accumulate_raw(be, raw, nrows, spec, scan_out, rows_out, err);
}

ooc_status ooc_backend_solve_triangle(ooc_backend *be, const double *r, size_t k, size_t ld,
                                      double *rhs_inout, ooc_error *err)
{
    if (k == 0)
        return OOC_OK;
    if (be->ops->solve_triangle)
        return be->ops->solve_triangle(be, r, k, ld, rhs_inout, err);
    cblas_dtrsv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)k, r, (int)ld,
                rhs_inout, 1);
    return OOC_OK;
}

ooc_status ooc_backend_svd_triangle(ooc_backend *be, double *a, size_t m, size_t p, size_t ld,
                                    double *sigma, double *vt, ooc_error *err)
{
    ooc_status status = OOC_OK;
    double *u = NULL;
    for (size_t i = m; i < p; i++)
        sigma[i] = 0.0;
    if (m == 0)
        return OOC_OK;
    if (m == p && be->ops->svd_triangle)
        return be->ops->svd_triangle(be, a, p, ld, sigma, vt, err);
    for (size_t i = 1; i < m; i++)
        memset(a + i * ld, 0, i * sizeof(double));
    /* The row-major m x p trapezoid is, column-major, its transpose Aᵀ (p x m)
     * = U'ΣV'ᵀ; A has the same singular values and Vᵀ = U'ᵀ, which is U'
     * (leading dimension p) read row-major. */
    lapack_int info;
    if (vt) {
        u = malloc(m * m * sizeof(double));
        OOC_FAIL_IF(!u, err, OOC_ERR_NOMEM, "out of memory for the SVD of a %zux%zu triangle", m,
                    p);
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)p, (lapack_int)m, a,
                              (lapack_int)ld, sigma, vt, (lapack_int)p, u, (lapack_int)m);
    } else {
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)p, (lapack_int)m, a,
                              (lapack_int)ld, sigma, NULL, 1, NULL, 1);
    }
    OOC_FAIL_IF(info == LAPACK_WORK_MEMORY_ERROR, err, OOC_ERR_NOMEM,
                "out of memory for the workspace of the SVD of a %zux%zu triangle", m, p);
    OOC_FAIL_IF(info > 0, err, OOC_ERR_NUMERIC,
                "SVD of the %zux%zu triangle did not converge (dgesdd info %d)", m, p, (int)info);
    OOC_FAIL_IF(info != 0, err, OOC_ERR_INTERNAL, "dgesdd: bad argument %d", (int)-info);
out:
    free(u);
    return status;
}

/* ---- triangle helpers ----------------------------------------------------- */

/* Write the upper triangle of the p x p matrix whose element (i, j) is
 * a[i * rs + j * cs] row-major into out (leading dimension ldo), each row
 * negated where its diagonal is negative, zeros below the diagonal; rows from
 * nr on are written as zeros without reading a.  out may be a itself when a
 * is row-major with leading dimension ldo (rs = ldo, cs = 1). */
static void write_nonneg(const double *a, size_t rs, size_t cs, size_t p, size_t nr, double *out,
                         size_t ldo)
{
    for (size_t i = 0; i < nr; i++) {
        double sign = a[i * rs + i * cs] < 0.0 ? -1.0 : 1.0;
        for (size_t j = 0; j < p; j++)
            out[i * ldo + j] = j >= i ? sign * a[i * rs + j * cs] : 0.0;
    }
    for (size_t i = nr; i < p; i++)
        memset(out + i * ldo, 0, p * sizeof(double));
}

void ooc_triangle_emit_nonneg(const double *a, size_t lda, size_t p, size_t nr, double *out,
                              size_t ldo)
{
    write_nonneg(a, 1, lda, p, nr, out, ldo);
}

/* dtpqrt's block size for p columns (at most p, as it requires). */
static size_t tpqrt_block(size_t p)
{
    return p < 64 ? p : 64;
}

/* The merge of triangles that together have at least p rows, by dtpqrt:
 * R1 (zero rows past m1) is the triangle A, R2 the trapezoid B whose m2 rows
 * are all in its triangular part (L = m2).  ~(2/3)p³ flops where dgeqrf on
 * the stack takes ~(10/3)p³.  The merged R has p rows, as the contract asks
 * when m1 + m2 >= p. */
static ooc_status merge_by_tpqrt(double *r, size_t ldr, size_t m1, const double *r2, size_t ld2,
                                 size_t m2, size_t p, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t nb = tpqrt_block(p);
    double *a = malloc(p * p * sizeof(double)), *b = malloc(m2 * p * sizeof(double)),
           *t = malloc(nb * p * sizeof(double));
    OOC_FAIL_IF(!a || !b || !t, err, OOC_ERR_NOMEM,
                "merging triangles: out of memory for %zu columns", p);
    for (size_t j = 0; j < p; j++) {
        for (size_t i = 0; i < p; i++)
            a[j * p + i] = i <= j && i < m1 ? r[i * ldr + j] : 0.0;
        for (size_t i = 0; i < m2; i++)
            b[j * m2 + i] = i <= j ? r2[i * ld2 + j] : 0.0;
    }
    lapack_int info = LAPACKE_dtpqrt(LAPACK_COL_MAJOR, (lapack_int)m2, (lapack_int)p,
                                     (lapack_int)m2, (lapack_int)nb, a, (lapack_int)p, b,
                                     (lapack_int)m2, t, (lapack_int)nb);
    OOC_FAIL_IF(info == LAPACK_WORK_MEMORY_ERROR, err, OOC_ERR_NOMEM,
                "merging triangles: out of memory for the workspace of %zu columns", p);
    OOC_FAIL_IF(info != 0, err, OOC_ERR_INTERNAL,
                "merging triangles: dtpqrt failed on %zu and %zu rows of %zu columns (info %d)",
                m1, m2, p, (int)info);
    write_nonneg(a, 1, p, p, p, r, ldr);
out:
    free(a);
    free(b);
    free(t);
    return status;
}

ooc_status ooc_triangle_merge(double *r, size_t ldr, size_t m1, const double *r2, size_t ld2,
                              size_t m2, size_t p, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t m = m1 + m2, nr = m < p ? m : p;
    double *stack = NULL, *tau = NULL;
    OOC_FAIL_IF(m1 > p || m2 > p || ldr < p || ld2 < p, err, OOC_ERR_INVALID_ARG,
                "merging triangles: bad shape (%zu and %zu rows of %zu columns, leading "
                "dimensions %zu and %zu)",
                m1, m2, p, ldr, ld2);
    if (m2 == 0) {
        write_nonneg(r, ldr, 1, p, m1, r, ldr);
        goto out;
    }
    if (m >= p) {
        status = merge_by_tpqrt(r, ldr, m1, r2, ld2, m2, p, err);
        goto out;
    }
    /* [R1; R2], column-major m x p; the upper triangle of its QR is the merge */
    stack = malloc(m * p * sizeof(double));
    tau = malloc(nr * sizeof(double));
    OOC_FAIL_IF(!stack || !tau, err, OOC_ERR_NOMEM, "merging triangles: out of memory for %zu columns",
                p);
    for (size_t j = 0; j < p; j++) {
        for (size_t i = 0; i < m1; i++)
            stack[j * m + i] = i <= j ? r[i * ldr + j] : 0.0;
        for (size_t i = 0; i < m2; i++)
            stack[j * m + m1 + i] = i <= j ? r2[i * ld2 + j] : 0.0;
    }
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)p, stack,
                                     (lapack_int)m, tau);
    OOC_FAIL_IF(info == LAPACK_WORK_MEMORY_ERROR, err, OOC_ERR_NOMEM,
                "merging triangles: out of memory for the workspace of %zu columns", p);
    OOC_FAIL_IF(info != 0, err, OOC_ERR_INTERNAL,
                "merging triangles: dgeqrf failed on the stacked %zux%zu matrix (info %d)", m, p,
                (int)info);
    write_nonneg(stack, 1, m, p, nr, r, ldr);
out:
    free(stack);
    free(tau);
    return status;
}

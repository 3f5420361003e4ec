/*
 * cublas.c — the CUDA emulator's cuBLAS part (see cuda_emu_internal.h): the
 * handle calls and the level-2/3 routines backend_cuda.c uses (dsyrk, dgeam,
 * ddgmm, dtrmm, dtrsv), their arguments checked as cuBLAS documents them,
 * queued on the handle's stream and executed lazily with OpenBLAS.
 */
#include "cuda_emu_internal.h"

#include <cblas.h>

#include <stdlib.h>
#include <string.h>

struct cublasContext {
    int device;
    cudaStream_t stream;
};

/* ------------------------------------------------------------ execution -- */

/* Column-major element (i, j) with leading dimension ld. */
#define AT(a, i, j, ld) ((a)[(size_t)(j) * (size_t)(ld) + (size_t)(i)])

static void run_geam(emu_op *op)
{
    /* C = alpha op(A) + beta op(B); m = iarg[2], n = iarg[3] */
    int ta = op->iarg[0], tb = op->iarg[1], m = op->iarg[2], n = op->iarg[3];
    int lda = op->iarg[4], ldb = op->iarg[5], ldc = op->iarg[6];
    const double *a = op->src, *b = op->src2;
    double *c = op->dst;
    double *tmp = malloc((size_t)m * (size_t)n * sizeof(double) + 1);
    if (!tmp)
        abort();
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double av = ta == CUBLAS_OP_N ? AT(a, i, j, lda) : AT(a, j, i, lda);
            double v = op->alpha * av;
            if (op->beta != 0.0)
                v += op->beta * (tb == CUBLAS_OP_N ? AT(b, i, j, ldb) : AT(b, j, i, ldb));
            tmp[(size_t)j * (size_t)m + (size_t)i] = v;
        }
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
            AT(c, i, j, ldc) = tmp[(size_t)j * (size_t)m + (size_t)i];
    free(tmp);
}

static void run_dgmm(emu_op *op)
{
    int side = op->iarg[0], m = op->iarg[1], n = op->iarg[2];
    int lda = op->iarg[3], incx = op->iarg[4], ldc = op->iarg[5];
    const double *a = op->src, *x = op->src2;
    double *c = op->dst;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = side == CUBLAS_SIDE_LEFT ? x[(size_t)i * (size_t)incx]
                                                : x[(size_t)j * (size_t)incx];
            AT(c, i, j, ldc) = AT(a, i, j, lda) * s;
        }
}

static void run_trmm(emu_op *op)
{
    int side = op->iarg[0], uplo = op->iarg[1], trans = op->iarg[2], diag = op->iarg[3];
    int m = op->iarg[4], n = op->iarg[5], lda = op->iarg[6], ldb = op->iarg[7];
    int ldc = (int)op->larg[0];
    const double *b = op->src2;
    double *c = op->dst;
    if (c != b)
        for (int j = 0; j < n; j++)
            memmove(&AT(c, 0, j, ldc), &AT(b, 0, j, ldb), (size_t)m * sizeof(double));
    cblas_dtrmm(CblasColMajor, side == CUBLAS_SIDE_LEFT ? CblasLeft : CblasRight,
                uplo == CUBLAS_FILL_MODE_UPPER ? CblasUpper : CblasLower,
                trans == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                diag == CUBLAS_DIAG_UNIT ? CblasUnit : CblasNonUnit, m, n, op->alpha, op->src, lda,
                c, ldc);
}

/* See cuda_emu_internal.h. */
void emu_execute_blas(emu_op *op)
{
    switch (op->kind) {
    case OP_SYRK:
        cblas_dsyrk(CblasColMajor, op->iarg[0] == CUBLAS_FILL_MODE_UPPER ? CblasUpper : CblasLower,
                    op->iarg[1] == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, op->iarg[2],
                    op->iarg[3], op->alpha, op->src, op->iarg[4], op->beta, op->dst, op->iarg[5]);
        break;
    case OP_GEAM:
        run_geam(op);
        break;
    case OP_DGMM:
        run_dgmm(op);
        break;
    case OP_TRMM:
        run_trmm(op);
        break;
    case OP_TRSV:
        cblas_dtrsv(CblasColMajor, op->iarg[0] == CUBLAS_FILL_MODE_UPPER ? CblasUpper : CblasLower,
                    op->iarg[1] == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                    op->iarg[2] == CUBLAS_DIAG_UNIT ? CblasUnit : CblasNonUnit, op->iarg[3],
                    op->src, op->iarg[4], op->dst, op->iarg[5]);
        break;
    default:
        abort();   /* not a cuBLAS operation: the runtime's dispatch is wrong */
    }
}

/* --------------------------------------------------------------- cuBLAS -- */

const char *cublasGetStatusName(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_<unknown>";
    }
}

const char *cublasGetStatusString(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    default: return "unknown error";
    }
}

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    emu_init();
    if (!handle)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (emu.device_count == 0)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    struct cublasContext *h = calloc(1, sizeof *h);
    if (!h)
        return CUBLAS_STATUS_ALLOC_FAILED;
    h->device = emu.current;
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    free(handle);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = streamId;
    return CUBLAS_STATUS_SUCCESS;
}

/* Common checks: handle, current device; returns the handle's stream or NULL. */
static struct CUstream_st *blas_stream(cublasHandle_t handle, const char *what)
{
    if (!handle) {
        emu_diagnose("%s: NULL handle", what);
        return NULL;
    }
    return emu_handle_stream(handle->device, handle->stream, what);
}

static cublasStatus_t blas_invalid(const char *what, const char *why)
{
    emu_diagnose("%s: %s", what, why);
    return CUBLAS_STATUS_INVALID_VALUE;
}

static bool valid_op(cublasOperation_t t)
{
    return t == CUBLAS_OP_N || t == CUBLAS_OP_T || t == CUBLAS_OP_C;
}

cublasStatus_t cublasDsyrk_v2(cublasHandle_t handle, cublasFillMode_t uplo,
                              cublasOperation_t trans, int n, int k, const double *alpha,
                              const double *A, int lda, const double *beta, double *C, int ldc)
{
    const char *what = "cublasDsyrk";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if (!emu_valid_fill(uplo) || !valid_op(trans))
        return blas_invalid(what, "bad uplo or trans");
    if (n < 0 || k < 0)
        return blas_invalid(what, "negative dimension");
    int arows = trans == CUBLAS_OP_N ? n : k, acols = trans == CUBLAS_OP_N ? k : n;
    if (lda < emu_imax1(arows) || ldc < emu_imax1(n))
        return blas_invalid(what, "leading dimension too small");
    if (!alpha || !beta)
        return blas_invalid(what, "NULL alpha or beta");
    if (!emu_device_range_ok(A, emu_matrix_bytes(arows, acols, lda), s->device, what) ||
        !emu_device_range_ok(C, emu_matrix_bytes(n, n, ldc), s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = emu_new_op(OP_SYRK);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = uplo;
    op->iarg[1] = trans;
    op->iarg[2] = n;
    op->iarg[3] = k;
    op->iarg[4] = lda;
    op->iarg[5] = ldc;
    op->alpha = *alpha;   /* host pointer mode: read at call time */
    op->beta = *beta;
    op->src = A;
    op->dst = C;
    emu_enqueue(s, op);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDgeam(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, const double *alpha,
                           const double *A, int lda, const double *beta, const double *B, int ldb,
                           double *C, int ldc)
{
    const char *what = "cublasDgeam";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_op(transa) || !valid_op(transb))
        return blas_invalid(what, "bad transa or transb");
    if (m < 0 || n < 0)
        return blas_invalid(what, "negative dimension");
    int arows = transa == CUBLAS_OP_N ? m : n, acols = transa == CUBLAS_OP_N ? n : m;
    int brows = transb == CUBLAS_OP_N ? m : n, bcols = transb == CUBLAS_OP_N ? n : m;
    if (lda < emu_imax1(arows) || ldb < emu_imax1(brows) || ldc < emu_imax1(m))
        return blas_invalid(what, "leading dimension too small");
    if (!alpha || !beta)
        return blas_invalid(what, "NULL alpha or beta");
    /* in-place rules of cublas<t>geam */
    if ((C == A && (transa != CUBLAS_OP_N || lda != ldc)) ||
        (C == B && (transb != CUBLAS_OP_N || ldb != ldc)))
        return blas_invalid(what, "in-place operand must be untransposed with ld equal to ldc");
    if (!emu_device_range_ok(A, emu_matrix_bytes(arows, acols, lda), s->device, what) ||
        !emu_device_range_ok(B, emu_matrix_bytes(brows, bcols, ldb), s->device, what) ||
        !emu_device_range_ok(C, emu_matrix_bytes(m, n, ldc), s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = emu_new_op(OP_GEAM);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = transa;
    op->iarg[1] = transb;
    op->iarg[2] = m;
    op->iarg[3] = n;
    op->iarg[4] = lda;
    op->iarg[5] = ldb;
    op->iarg[6] = ldc;
    op->alpha = *alpha;
    op->beta = *beta;
    op->src = A;
    op->src2 = B;
    op->dst = C;
    emu_enqueue(s, op);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDdgmm(cublasHandle_t handle, cublasSideMode_t mode, int m, int n,
                           const double *A, int lda, const double *x, int incx, double *C, int ldc)
{
    const char *what = "cublasDdgmm";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != CUBLAS_SIDE_LEFT && mode != CUBLAS_SIDE_RIGHT)
        return blas_invalid(what, "bad side mode");
    if (m < 0 || n < 0)
        return blas_invalid(what, "negative dimension");
    if (lda < emu_imax1(m) || ldc < emu_imax1(m))
        return blas_invalid(what, "leading dimension too small");
    if (incx <= 0)
        return blas_invalid(what, "the emulator supports incx > 0 only");
    if (C == A && lda != ldc)
        return blas_invalid(what, "in-place requires lda == ldc");
    int xlen = mode == CUBLAS_SIDE_LEFT ? m : n;
    size_t xbytes = xlen > 0 ? ((size_t)(xlen - 1) * (size_t)incx + 1) * sizeof(double) : 0;
    if (!emu_device_range_ok(A, emu_matrix_bytes(m, n, lda), s->device, what) ||
        !emu_device_range_ok(x, xbytes, s->device, what) ||
        !emu_device_range_ok(C, emu_matrix_bytes(m, n, ldc), s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = emu_new_op(OP_DGMM);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = mode;
    op->iarg[1] = m;
    op->iarg[2] = n;
    op->iarg[3] = lda;
    op->iarg[4] = incx;
    op->iarg[5] = ldc;
    op->src = A;
    op->src2 = x;
    op->dst = C;
    emu_enqueue(s, op);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDtrmm_v2(cublasHandle_t handle, cublasSideMode_t side, cublasFillMode_t uplo,
                              cublasOperation_t trans, cublasDiagType_t diag, int m, int n,
                              const double *alpha, const double *A, int lda, const double *B,
                              int ldb, double *C, int ldc)
{
    const char *what = "cublasDtrmm";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if ((side != CUBLAS_SIDE_LEFT && side != CUBLAS_SIDE_RIGHT) || !emu_valid_fill(uplo) ||
        !valid_op(trans) || (diag != CUBLAS_DIAG_UNIT && diag != CUBLAS_DIAG_NON_UNIT))
        return blas_invalid(what, "bad side, uplo, trans or diag");
    if (m < 0 || n < 0)
        return blas_invalid(what, "negative dimension");
    int ka = side == CUBLAS_SIDE_LEFT ? m : n;
    if (lda < emu_imax1(ka) || ldb < emu_imax1(m) || ldc < emu_imax1(m))
        return blas_invalid(what, "leading dimension too small");
    if (!alpha)
        return blas_invalid(what, "NULL alpha");
    if (C == B && ldb != ldc)
        return blas_invalid(what, "in-place requires ldb == ldc");
    if (!emu_device_range_ok(A, emu_matrix_bytes(ka, ka, lda), s->device, what) ||
        !emu_device_range_ok(B, emu_matrix_bytes(m, n, ldb), s->device, what) ||
        !emu_device_range_ok(C, emu_matrix_bytes(m, n, ldc), s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = emu_new_op(OP_TRMM);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = side;
    op->iarg[1] = uplo;
    op->iarg[2] = trans;
    op->iarg[3] = diag;
    op->iarg[4] = m;
    op->iarg[5] = n;
    op->iarg[6] = lda;
    op->iarg[7] = ldb;
    op->larg[0] = ldc;
    op->alpha = *alpha;
    op->src = A;
    op->src2 = B;
    op->dst = C;
    emu_enqueue(s, op);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDtrsv_v2(cublasHandle_t handle, cublasFillMode_t uplo,
                              cublasOperation_t trans, cublasDiagType_t diag, int n,
                              const double *A, int lda, double *x, int incx)
{
    const char *what = "cublasDtrsv";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if (!emu_valid_fill(uplo) || !valid_op(trans) ||
        (diag != CUBLAS_DIAG_UNIT && diag != CUBLAS_DIAG_NON_UNIT))
        return blas_invalid(what, "bad uplo, trans or diag");
    if (n < 0)
        return blas_invalid(what, "negative dimension");
    if (lda < emu_imax1(n))
        return blas_invalid(what, "leading dimension too small");
    if (incx == 0)
        return blas_invalid(what, "incx is 0");
    size_t step = (size_t)(incx > 0 ? incx : -(int64_t)incx);
    size_t xbytes = n > 0 ? ((size_t)(n - 1) * step + 1) * sizeof(double) : 0;
    if (!emu_device_range_ok(A, emu_matrix_bytes(n, n, lda), s->device, what) ||
        !emu_device_range_ok(x, xbytes, s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = emu_new_op(OP_TRSV);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = uplo;
    op->iarg[1] = trans;
    op->iarg[2] = diag;
    op->iarg[3] = n;
    op->iarg[4] = lda;
    op->iarg[5] = incx;
    op->src = A;
    op->dst = x;
    emu_enqueue(s, op);
    emu.stats.trsv_calls++;
    return CUBLAS_STATUS_SUCCESS;
}

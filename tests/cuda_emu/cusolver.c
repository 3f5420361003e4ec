/*
 * cusolver.c — the CUDA emulator's cuSOLVER part (see cuda_emu_internal.h):
 * the handle and params calls and the dense routines backend_cuda.c uses
 * (Xgeqrf, Xpotrf, Xgesvd and their workspace queries), their arguments
 * checked as cuSOLVER documents them, queued on the handle's stream and
 * executed lazily with LAPACKE (devInfo written with LAPACK's info).
 */
#include "cuda_emu_internal.h"

#include <cusolverDn.h>
#include <lapacke.h>

#include <stdlib.h>

struct cusolverDnContext {
    int device;
    cudaStream_t stream;
};

struct cusolverDnParams {
    int unused;
};

/* ------------------------------------------------------------ execution -- */

/* See cuda_emu_internal.h. */
void emu_execute_solver(emu_op *op)
{
    switch (op->kind) {
    case OP_GEQRF: {
        /* the device workspace is LAPACK's work array */
        size_t lwork = op->width / sizeof(double);
        lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)op->larg[0],
                                              (lapack_int)op->larg[1], op->dst,
                                              (lapack_int)op->larg[2], op->aux, op->work,
                                              (lapack_int)lwork);
        *op->info = (int)info;
        break;
    }
    case OP_POTRF: {
        lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR,
                                              op->iarg[0] == CUBLAS_FILL_MODE_UPPER ? 'U' : 'L',
                                              (lapack_int)op->larg[0], op->dst,
                                              (lapack_int)op->larg[2]);
        *op->info = (int)info;
        break;
    }
    case OP_GESVD: {
        /* A is overwritten, as by cuSOLVER; the device workspace is LAPACK's work array */
        size_t lwork = op->width / sizeof(double);
        lapack_int info = LAPACKE_dgesvd_work(
            LAPACK_COL_MAJOR, (char)op->iarg[0], (char)op->iarg[1], (lapack_int)op->larg[0],
            (lapack_int)op->larg[1], op->dst, (lapack_int)op->larg[2], op->aux, op->u,
            (lapack_int)op->larg[3], op->vt, (lapack_int)op->iarg[2], op->work,
            (lapack_int)lwork);
        *op->info = (int)info;
        break;
    }
    default:
        abort();   /* not a cuSOLVER operation: the runtime's dispatch is wrong */
    }
}

/* ------------------------------------------------------------- cuSOLVER -- */

cusolverStatus_t cusolverDnCreate(cusolverDnHandle_t *handle)
{
    emu_init();
    if (!handle)
        return CUSOLVER_STATUS_INVALID_VALUE;
    if (emu.device_count == 0)
        return CUSOLVER_STATUS_NOT_INITIALIZED;
    struct cusolverDnContext *h = calloc(1, sizeof *h);
    if (!h)
        return CUSOLVER_STATUS_ALLOC_FAILED;
    h->device = emu.current;
    *handle = h;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnDestroy(cusolverDnHandle_t handle)
{
    if (!handle)
        return CUSOLVER_STATUS_NOT_INITIALIZED;
    free(handle);
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnSetStream(cusolverDnHandle_t handle, cudaStream_t streamId)
{
    if (!handle)
        return CUSOLVER_STATUS_NOT_INITIALIZED;
    handle->stream = streamId;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnCreateParams(cusolverDnParams_t *params)
{
    if (!params)
        return CUSOLVER_STATUS_INVALID_VALUE;
    *params = calloc(1, sizeof **params);
    return *params ? CUSOLVER_STATUS_SUCCESS : CUSOLVER_STATUS_ALLOC_FAILED;
}

cusolverStatus_t cusolverDnDestroyParams(cusolverDnParams_t params)
{
    if (!params)
        return CUSOLVER_STATUS_INVALID_VALUE;
    free(params);
    return CUSOLVER_STATUS_SUCCESS;
}

/* Common checks: handle, current device; returns the handle's stream or NULL. */
static struct CUstream_st *solver_stream(cusolverDnHandle_t handle, const char *what)
{
    if (!handle) {
        emu_diagnose("%s: NULL handle", what);
        return NULL;
    }
    return emu_handle_stream(handle->device, handle->stream, what);
}

static cusolverStatus_t solver_invalid(const char *what, const char *why)
{
    emu_diagnose("%s: %s", what, why);
    return CUSOLVER_STATUS_INVALID_VALUE;
}

/* dgeqrf's LAPACK workspace for an m x n problem, in bytes. */
static size_t geqrf_work_bytes(int64_t m, int64_t n, int64_t lda)
{
    double query = 0.0;
    double dummy = 0.0;
    lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, &dummy,
                                          (lapack_int)lda, &dummy, &query, -1);
    size_t words = info == 0 && query > 1.0 ? (size_t)query : 1;
    if (words < (size_t)(n > 1 ? n : 1))
        words = (size_t)(n > 1 ? n : 1);
    return words * sizeof(double);
}

cusolverStatus_t cusolverDnXgeqrf_bufferSize(cusolverDnHandle_t handle, cusolverDnParams_t params,
                                             int64_t m, int64_t n, cudaDataType dataTypeA,
                                             const void *A, int64_t lda, cudaDataType dataTypeTau,
                                             const void *tau, cudaDataType computeType,
                                             size_t *workspaceInBytesOnDevice,
                                             size_t *workspaceInBytesOnHost)
{
    const char *what = "cusolverDnXgeqrf_bufferSize";
    emu_init();
    if (!solver_stream(handle, what))
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!params || !workspaceInBytesOnDevice || !workspaceInBytesOnHost)
        return solver_invalid(what, "NULL params or size pointer");
    if (m < 0 || n < 0 || lda < emu_imax1(m) || m > INT32_MAX || n > INT32_MAX)
        return solver_invalid(what, "bad m, n or lda");
    if (dataTypeA != CUDA_R_64F || dataTypeTau != CUDA_R_64F || computeType != CUDA_R_64F) {
        emu_diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    (void)A;
    (void)tau;
    *workspaceInBytesOnDevice = geqrf_work_bytes(m, n, lda);
    *workspaceInBytesOnHost = 0;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnXgeqrf(cusolverDnHandle_t handle, cusolverDnParams_t params, int64_t m,
                                  int64_t n, cudaDataType dataTypeA, void *A, int64_t lda,
                                  cudaDataType dataTypeTau, void *tau, cudaDataType computeType,
                                  void *bufferOnDevice, size_t workspaceInBytesOnDevice,
                                  void *bufferOnHost, size_t workspaceInBytesOnHost, int *info)
{
    const char *what = "cusolverDnXgeqrf";
    emu_init();
    struct CUstream_st *s = solver_stream(handle, what);
    if (!s)
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!params)
        return solver_invalid(what, "NULL params");
    if (m < 0 || n < 0 || lda < emu_imax1(m) || m > INT32_MAX || n > INT32_MAX)
        return solver_invalid(what, "bad m, n or lda");
    if (dataTypeA != CUDA_R_64F || dataTypeTau != CUDA_R_64F || computeType != CUDA_R_64F) {
        emu_diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    size_t need = geqrf_work_bytes(m, n, lda);
    if (workspaceInBytesOnDevice < need)
        return solver_invalid(what, "device workspace smaller than cusolverDnXgeqrf_bufferSize");
    (void)bufferOnHost;
    (void)workspaceInBytesOnHost;
    int64_t k = m < n ? m : n;
    if (!emu_device_range_ok(A, emu_matrix_bytes(m, n, lda), s->device, what) ||
        !emu_device_range_ok(tau, (size_t)k * sizeof(double), s->device, what) ||
        !emu_device_range_ok(bufferOnDevice, workspaceInBytesOnDevice, s->device, what) ||
        !emu_device_range_ok(info, sizeof(int), s->device, what))
        return CUSOLVER_STATUS_INVALID_VALUE;
    emu_op *op = emu_new_op(OP_GEQRF);
    if (!op)
        return CUSOLVER_STATUS_ALLOC_FAILED;
    op->larg[0] = m;
    op->larg[1] = n;
    op->larg[2] = lda;
    op->dst = A;
    op->work = bufferOnDevice;
    op->width = workspaceInBytesOnDevice;
    op->info = info;
    op->aux = tau;
    emu_enqueue(s, op);
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnXpotrf_bufferSize(cusolverDnHandle_t handle, cusolverDnParams_t params,
                                             cublasFillMode_t uplo, int64_t n,
                                             cudaDataType dataTypeA, const void *A, int64_t lda,
                                             cudaDataType computeType,
                                             size_t *workspaceInBytesOnDevice,
                                             size_t *workspaceInBytesOnHost)
{
    const char *what = "cusolverDnXpotrf_bufferSize";
    emu_init();
    if (!solver_stream(handle, what))
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!params || !workspaceInBytesOnDevice || !workspaceInBytesOnHost)
        return solver_invalid(what, "NULL params or size pointer");
    if (!emu_valid_fill(uplo) || n < 0 || lda < emu_imax1(n) || n > INT32_MAX)
        return solver_invalid(what, "bad uplo, n or lda");
    if (dataTypeA != CUDA_R_64F || computeType != CUDA_R_64F) {
        emu_diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    (void)A;
    *workspaceInBytesOnDevice = sizeof(double);
    *workspaceInBytesOnHost = 0;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnXpotrf(cusolverDnHandle_t handle, cusolverDnParams_t params,
                                  cublasFillMode_t uplo, int64_t n, cudaDataType dataTypeA,
                                  void *A, int64_t lda, cudaDataType computeType,
                                  void *bufferOnDevice, size_t workspaceInBytesOnDevice,
                                  void *bufferOnHost, size_t workspaceInBytesOnHost, int *info)
{
    const char *what = "cusolverDnXpotrf";
    emu_init();
    struct CUstream_st *s = solver_stream(handle, what);
    if (!s)
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!params)
        return solver_invalid(what, "NULL params");
    if (!emu_valid_fill(uplo) || n < 0 || lda < emu_imax1(n) || n > INT32_MAX)
        return solver_invalid(what, "bad uplo, n or lda");
    if (dataTypeA != CUDA_R_64F || computeType != CUDA_R_64F) {
        emu_diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    if (workspaceInBytesOnDevice < sizeof(double))
        return solver_invalid(what, "device workspace smaller than cusolverDnXpotrf_bufferSize");
    (void)bufferOnHost;
    (void)workspaceInBytesOnHost;
    if (!emu_device_range_ok(A, emu_matrix_bytes(n, n, lda), s->device, what) ||
        !emu_device_range_ok(bufferOnDevice, workspaceInBytesOnDevice, s->device, what) ||
        !emu_device_range_ok(info, sizeof(int), s->device, what))
        return CUSOLVER_STATUS_INVALID_VALUE;
    emu_op *op = emu_new_op(OP_POTRF);
    if (!op)
        return CUSOLVER_STATUS_ALLOC_FAILED;
    op->iarg[0] = uplo;
    op->larg[0] = n;
    op->larg[2] = lda;
    op->dst = A;
    op->info = info;
    emu_enqueue(s, op);
    return CUSOLVER_STATUS_SUCCESS;
}

/* gesvd's job characters, as LAPACK reads them (either case). */
static bool valid_svd_job(signed char job)
{
    switch (job) {
    case 'A': case 'a': case 'S': case 's': case 'O': case 'o': case 'N': case 'n':
        return true;
    default:
        return false;
    }
}

static bool job_is(signed char job, char upper)
{
    return job == upper || job == upper - 'A' + 'a';
}

/* The argument rules of cusolverDnXgesvd(_bufferSize), LAPACK's dgesvd plus
 * cuSOLVER's m >= n; NULL (with a diagnostic) when they hold, else the
 * status to return. */
static cusolverStatus_t check_gesvd(const char *what, cusolverDnParams_t params, signed char jobu,
                                    signed char jobvt, int64_t m, int64_t n, cudaDataType ta,
                                    int64_t lda, cudaDataType ts, cudaDataType tu, int64_t ldu,
                                    cudaDataType tvt, int64_t ldvt, cudaDataType tc)
{
    if (!params)
        return solver_invalid(what, "NULL params");
    if (!valid_svd_job(jobu) || !valid_svd_job(jobvt))
        return solver_invalid(what, "jobu and jobvt must be one of 'A', 'S', 'O', 'N'");
    if (job_is(jobu, 'O') && job_is(jobvt, 'O'))
        return solver_invalid(what, "jobu and jobvt cannot both be 'O'");
    if (m < 0 || n < 0 || m > INT32_MAX || n > INT32_MAX)
        return solver_invalid(what, "bad m or n");
    if (m < n)
        return solver_invalid(what, "gesvd supports m >= n only");
    if (lda < emu_imax1(m))
        return solver_invalid(what, "lda < max(1, m)");
    if (ldu < 1 || ((job_is(jobu, 'A') || job_is(jobu, 'S')) && ldu < m) || ldu > INT32_MAX)
        return solver_invalid(what, "ldu < m for jobu 'A'/'S' (or < 1)");
    int64_t kmin = m < n ? m : n;
    if (ldvt < 1 || (job_is(jobvt, 'A') && ldvt < n) || (job_is(jobvt, 'S') && ldvt < kmin) ||
        ldvt > INT32_MAX)
        return solver_invalid(what, "ldvt < n for jobvt 'A', < min(m, n) for 'S' (or < 1)");
    if (ta != CUDA_R_64F || ts != CUDA_R_64F || tu != CUDA_R_64F || tvt != CUDA_R_64F ||
        tc != CUDA_R_64F) {
        emu_diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    return CUSOLVER_STATUS_SUCCESS;
}

/* dgesvd's LAPACK workspace for the problem, in bytes. */
static size_t gesvd_work_bytes(signed char jobu, signed char jobvt, int64_t m, int64_t n,
                               int64_t lda, int64_t ldu, int64_t ldvt)
{
    double query = 0.0, dummy = 0.0;
    lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, (char)jobu, (char)jobvt,
                                          (lapack_int)m, (lapack_int)n, &dummy, (lapack_int)lda,
                                          &dummy, &dummy, (lapack_int)ldu, &dummy,
                                          (lapack_int)ldvt, &query, -1);
    int64_t kmin = m < n ? m : n, kmax = m < n ? n : m;
    /* LAPACK's minimum, max(1, 3 min(m,n) + max(m,n), 5 min(m,n)) */
    int64_t minimum = 3 * kmin + kmax > 5 * kmin ? 3 * kmin + kmax : 5 * kmin;
    size_t words = info == 0 && query > 1.0 ? (size_t)query : 1;
    if (words < (size_t)(minimum > 1 ? minimum : 1))
        words = (size_t)(minimum > 1 ? minimum : 1);
    return words * sizeof(double);
}

cusolverStatus_t cusolverDnXgesvd_bufferSize(
    cusolverDnHandle_t handle, cusolverDnParams_t params, signed char jobu, signed char jobvt,
    int64_t m, int64_t n, cudaDataType dataTypeA, const void *A, int64_t lda,
    cudaDataType dataTypeS, const void *S, cudaDataType dataTypeU, const void *U, int64_t ldu,
    cudaDataType dataTypeVT, const void *VT, int64_t ldvt, cudaDataType computeType,
    size_t *workspaceInBytesOnDevice, size_t *workspaceInBytesOnHost)
{
    const char *what = "cusolverDnXgesvd_bufferSize";
    emu_init();
    if (!solver_stream(handle, what))
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!workspaceInBytesOnDevice || !workspaceInBytesOnHost)
        return solver_invalid(what, "NULL size pointer");
    cusolverStatus_t rc = check_gesvd(what, params, jobu, jobvt, m, n, dataTypeA, lda, dataTypeS,
                                      dataTypeU, ldu, dataTypeVT, ldvt, computeType);
    if (rc != CUSOLVER_STATUS_SUCCESS)
        return rc;
    (void)A;   /* sizes depend on the shape only */
    (void)S;
    (void)U;
    (void)VT;
    *workspaceInBytesOnDevice = gesvd_work_bytes(jobu, jobvt, m, n, lda, ldu, ldvt);
    *workspaceInBytesOnHost = 0;
    emu.stats.gesvd_size_queries++;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnXgesvd(cusolverDnHandle_t handle, cusolverDnParams_t params,
                                  signed char jobu, signed char jobvt, int64_t m, int64_t n,
                                  cudaDataType dataTypeA, void *A, int64_t lda,
                                  cudaDataType dataTypeS, void *S, cudaDataType dataTypeU, void *U,
                                  int64_t ldu, cudaDataType dataTypeVT, void *VT, int64_t ldvt,
                                  cudaDataType computeType, void *bufferOnDevice,
                                  size_t workspaceInBytesOnDevice, void *bufferOnHost,
                                  size_t workspaceInBytesOnHost, int *info)
{
    const char *what = "cusolverDnXgesvd";
    emu_init();
    struct CUstream_st *s = solver_stream(handle, what);
    if (!s)
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    cusolverStatus_t rc = check_gesvd(what, params, jobu, jobvt, m, n, dataTypeA, lda, dataTypeS,
                                      dataTypeU, ldu, dataTypeVT, ldvt, computeType);
    if (rc != CUSOLVER_STATUS_SUCCESS)
        return rc;
    if (workspaceInBytesOnDevice < gesvd_work_bytes(jobu, jobvt, m, n, lda, ldu, ldvt))
        return solver_invalid(what, "device workspace smaller than cusolverDnXgesvd_bufferSize");
    (void)bufferOnHost;
    (void)workspaceInBytesOnHost;
    int64_t kmin = m < n ? m : n;
    /* U: m x m ('A') or m x min(m,n) ('S'); VT: n x n ('A') or min(m,n) x n ('S') */
    int64_t ucols = job_is(jobu, 'A') ? m : job_is(jobu, 'S') ? kmin : 0;
    int64_t vtrows = job_is(jobvt, 'A') ? n : job_is(jobvt, 'S') ? kmin : 0;
    if (!emu_device_range_ok(A, emu_matrix_bytes(m, n, lda), s->device, what) ||
        !emu_device_range_ok(S, (size_t)kmin * sizeof(double), s->device, what) ||
        !emu_device_range_ok(U, emu_matrix_bytes(m, ucols, ldu), s->device, what) ||
        !emu_device_range_ok(VT, emu_matrix_bytes(vtrows, n, ldvt), s->device, what) ||
        !emu_device_range_ok(bufferOnDevice, workspaceInBytesOnDevice, s->device, what) ||
        !emu_device_range_ok(info, sizeof(int), s->device, what))
        return CUSOLVER_STATUS_INVALID_VALUE;
    emu_op *op = emu_new_op(OP_GESVD);
    if (!op)
        return CUSOLVER_STATUS_ALLOC_FAILED;
    op->iarg[0] = jobu;
    op->iarg[1] = jobvt;
    op->iarg[2] = (int)ldvt;
    op->larg[0] = m;
    op->larg[1] = n;
    op->larg[2] = lda;
    op->larg[3] = ldu;
    op->dst = A;
    op->aux = S;
    op->u = ucols ? U : NULL;
    op->vt = vtrows ? VT : NULL;
    op->work = bufferOnDevice;
    op->width = workspaceInBytesOnDevice;
    op->info = info;
    emu_enqueue(s, op);
    emu.stats.gesvd_calls++;
    return CUSOLVER_STATUS_SUCCESS;
}

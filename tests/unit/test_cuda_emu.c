/*
 * test_cuda_emu.c — the CUDA emulator's own strictness: device memory is
 * inaccessible to the host (a dereference faults, seen from a forked child),
 * stream work runs lazily at synchronisation points (so a missing
 * cudaStreamWaitEvent or an early host-buffer reuse gives a wrong result),
 * copy kinds and cuBLAS/cuSOLVER arguments are checked (also of the finalize
 * calls cublasDtrsv and cusolverDnXgesvd(_bufferSize)), devInfo is written by
 * execution, OOM and device-count knobs work, and the numerical kernels agree
 * with naive loops.
 */
#include "cuda_emu.h"
#include "testutil.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusolverDn.h>

#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Host dereference of device memory must fault (checked in a child). */
static void test_prot_none(void)
{
    double *d = NULL;
    CHECK(cudaMalloc((void **)&d, 4096) == cudaSuccess);
    CHECK(ooc_emu_is_device_pointer(d));
    double h = 3.5;
    CHECK(cudaMemcpy(d, &h, sizeof h, cudaMemcpyHostToDevice) == cudaSuccess);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);   /* not a sanitizer's handler: die by the signal */
        volatile double *vd = d;
        double v = *vd;   /* must fault */
        _exit(v == 3.5 ? 0 : 1);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
              "child reading device memory was not killed by SIGSEGV (status %d)", st);
    double back = 0.0;
    CHECK(cudaMemcpy(&back, d, sizeof back, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(back == 3.5);
    CHECK(cudaFree(d) == cudaSuccess);
}

/* Async copies read their source when executed; waits order streams. */
static void test_lazy_and_waits(void)
{
    double *h = NULL, *d = NULL;
    cudaStream_t a, b;
    cudaEvent_t ev;
    CHECK(cudaHostAlloc((void **)&h, 4 * sizeof(double), cudaHostAllocPortable) == cudaSuccess);
    CHECK(cudaMalloc((void **)&d, 4 * sizeof(double)) == cudaSuccess);
    CHECK(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming) == cudaSuccess);
    CHECK(cudaMemsetAsync(d, 0, 4 * sizeof(double), a) == cudaSuccess);
    CHECK(cudaStreamSynchronize(a) == cudaSuccess);

    /* 1. lazy: the copy sees the value written after it was enqueued */
    h[0] = 1.0;
    CHECK(cudaMemcpyAsync(d, h, sizeof(double), cudaMemcpyHostToDevice, a) == cudaSuccess);
    CHECK(ooc_emu_pending_ops() == 1);
    h[0] = 2.0;
    CHECK(cudaStreamSynchronize(a) == cudaSuccess);
    CHECK(ooc_emu_pending_ops() == 0);
    double back = 0.0;
    CHECK(cudaMemcpy(&back, d, sizeof back, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK_MSG(back == 2.0, "async copy read the host buffer at enqueue time (%g)", back);

    /* 2. missing wait: stream b reads d before stream a's copy ran */
    h[1] = 7.0;
    double *hb = h + 2;
    *hb = -1.0;
    CHECK(cudaMemcpyAsync(d + 1, h + 1, sizeof(double), cudaMemcpyHostToDevice, a) == cudaSuccess);
    CHECK(cudaMemcpyAsync(hb, d + 1, sizeof(double), cudaMemcpyDeviceToHost, b) == cudaSuccess);
    CHECK(cudaStreamSynchronize(b) == cudaSuccess);
    CHECK_MSG(*hb == 0.0, "unordered streams: b saw %g, expected the old 0", *hb);
    CHECK(cudaStreamSynchronize(a) == cudaSuccess);

    /* 3. with cudaStreamWaitEvent the same sequence is right */
    h[1] = 9.0;
    CHECK(cudaMemcpyAsync(d + 1, h + 1, sizeof(double), cudaMemcpyHostToDevice, a) == cudaSuccess);
    CHECK(cudaEventRecord(ev, a) == cudaSuccess);
    CHECK(cudaStreamWaitEvent(b, ev, 0) == cudaSuccess);
    CHECK(cudaMemcpyAsync(hb, d + 1, sizeof(double), cudaMemcpyDeviceToHost, b) == cudaSuccess);
    CHECK(ooc_emu_pending_ops() == 4);
    CHECK(cudaStreamSynchronize(b) == cudaSuccess);
    CHECK_MSG(*hb == 9.0, "wait event: b saw %g", *hb);

    /* 4. cudaEventSynchronize runs exactly up to the event */
    h[0] = 5.0;
    CHECK(cudaMemcpyAsync(d, h, sizeof(double), cudaMemcpyHostToDevice, a) == cudaSuccess);
    CHECK(cudaEventRecord(ev, a) == cudaSuccess);
    CHECK(cudaMemsetAsync(d + 3, 0, sizeof(double), a) == cudaSuccess);
    CHECK(cudaEventSynchronize(ev) == cudaSuccess);
    CHECK(ooc_emu_pending_ops() == 1);
    h[0] = 6.0;   /* the copy already ran: this must not reach the device */
    CHECK(cudaStreamSynchronize(a) == cudaSuccess);
    CHECK(cudaMemcpy(&back, d, sizeof back, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(back == 5.0);

    CHECK(cudaEventDestroy(ev) == cudaSuccess);
    CHECK(cudaStreamDestroy(a) == cudaSuccess);
    CHECK(cudaStreamDestroy(b) == cudaSuccess);
    CHECK(cudaFree(d) == cudaSuccess);
    CHECK(cudaFreeHost(h) == cudaSuccess);
}

static void test_copy_checks_and_stats(void)
{
    double *d = NULL, *pinned = NULL;
    double pageable[8] = {0};
    CHECK(cudaMalloc((void **)&d, 8 * sizeof(double)) == cudaSuccess);
    CHECK(cudaHostAlloc((void **)&pinned, 8 * sizeof(double), 0) == cudaSuccess);
    CHECK(cudaMemcpy(d, pageable, sizeof pageable, cudaMemcpyDeviceToHost) ==
          cudaErrorInvalidMemcpyDirection);
    CHECK(cudaGetLastError() == cudaErrorInvalidMemcpyDirection);
    CHECK(cudaGetLastError() == cudaSuccess);
    CHECK(cudaMemcpy(pageable, pinned, sizeof pageable, cudaMemcpyHostToDevice) ==
          cudaErrorInvalidMemcpyDirection);
    CHECK(cudaMemcpy(d + 1, pageable, sizeof pageable, cudaMemcpyHostToDevice) ==
          cudaErrorInvalidValue);   /* overruns the allocation */
    CHECK(cudaMemcpy2DAsync(d, 8, pageable, 16, 16, 2, cudaMemcpyHostToDevice, NULL) ==
          cudaErrorInvalidPitchValue);
    CHECK(cudaFree(pageable) == cudaErrorInvalidValue);
    ooc_emu_reset_stats();
    CHECK(cudaMemcpy(d, pageable, sizeof pageable, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cudaMemcpy(d, pinned, 4 * sizeof(double), cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cudaMemcpy(pinned, d, 2 * sizeof(double), cudaMemcpyDeviceToHost) == cudaSuccess);
    ooc_emu_stats s;
    ooc_emu_get_stats(&s);
    CHECK(s.pageable_copies == 1 && s.pageable_bytes == sizeof pageable);
    CHECK(s.pinned_copies == 2 && s.pinned_bytes == 6 * sizeof(double));
    CHECK(cudaFree(d) == cudaSuccess);
    CHECK(cudaFreeHost(pinned) == cudaSuccess);
    CHECK(cudaFreeHost(pageable) == cudaErrorInvalidValue);
}

static void test_knobs(void)
{
    int n = -1;
    ooc_emu_set_device_count(0);
    CHECK(cudaGetDeviceCount(&n) == cudaErrorNoDevice && n == 0);
    ooc_emu_set_device_count(2);
    CHECK(cudaGetDeviceCount(&n) == cudaSuccess && n == 2);
    CHECK(cudaSetDevice(2) == cudaErrorInvalidDevice);
    struct cudaDeviceProp prop;
    CHECK(cudaGetDeviceProperties(&prop, 1) == cudaSuccess);
    CHECK_STREQ(prop.name, "oocsolve CUDA emulator");
    ooc_emu_set_device_memory((size_t)1 << 20);
    void *p = NULL, *q = NULL;
    CHECK(cudaMalloc(&p, (size_t)3 << 19) == cudaErrorMemoryAllocation && p == NULL);
    CHECK(cudaMalloc(&p, (size_t)1 << 19) == cudaSuccess);
    CHECK(cudaMalloc(&q, (size_t)1 << 19) == cudaSuccess);
    CHECK(cudaFree(q) == cudaSuccess);
    size_t fr = 0, tot = 0;
    CHECK(cudaMemGetInfo(&fr, &tot) == cudaSuccess && tot == ((size_t)1 << 20) &&
          fr == ((size_t)1 << 19));
    CHECK(cudaFree(p) == cudaSuccess);
    ooc_emu_set_pinned_available(false);
    CHECK(cudaHostAlloc(&p, 64, 0) == cudaErrorMemoryAllocation);
    ooc_emu_set_pinned_available(true);
    ooc_emu_set_device_memory((size_t)8 << 30);
    (void)cudaGetLastError();
}

/* cuBLAS: argument checks like the library, results against naive loops. */
static void test_cublas(void)
{
    enum { N = 5, K = 7 };
    double ha[N * K], hc[N * N], ref[N * N];
    for (int i = 0; i < N * K; i++)
        ha[i] = sin(1.0 + i);
    double *da = NULL, *dc = NULL, *dt = NULL, *dx = NULL;
    cublasHandle_t h = NULL;
    cudaStream_t s;
    CHECK(cudaSetDevice(0) == cudaSuccess);
    CHECK(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cublasSetStream(h, s) == CUBLAS_STATUS_SUCCESS);
    CHECK(cudaMalloc((void **)&da, sizeof ha) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dc, sizeof hc) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dt, sizeof ha) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dx, K * sizeof(double)) == cudaSuccess);
    CHECK(cudaMemcpy(da, ha, sizeof ha, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cudaMemsetAsync(dc, 0, sizeof hc, s) == cudaSuccess);
    const double one = 1.0, zero = 0.0;
    /* A is N x K column-major (lda N) */
    CHECK(cublasDsyrk(h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, N, K, &one, da, N - 1, &zero, dc,
                      N) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDsyrk(h, (cublasFillMode_t)7, CUBLAS_OP_N, N, K, &one, da, N, &zero, dc, N) ==
          CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDsyrk(h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, N, K, &one, ha, N, &zero, dc, N) ==
          CUBLAS_STATUS_INVALID_VALUE);   /* host pointer */
    CHECK(cublasDsyrk(h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, N, K + 1, &one, da, N, &zero, dc,
                      N) == CUBLAS_STATUS_INVALID_VALUE);   /* overrun */
    CHECK(cublasDsyrk(NULL, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, N, K, &one, da, N, &zero, dc,
                      N) == CUBLAS_STATUS_NOT_INITIALIZED);
    CHECK(cublasDsyrk(h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, N, K, &one, da, N, &zero, dc, N) ==
          CUBLAS_STATUS_SUCCESS);
    CHECK(cudaStreamSynchronize(s) == cudaSuccess);
    CHECK(cudaMemcpy(hc, dc, sizeof hc, cudaMemcpyDeviceToHost) == cudaSuccess);
    /* Each entry is a K-term dot product; summed in any order (with or without FMA)
     * it is within γ_K·Σ_k|a_ki||a_kj| of the exact value, γ_K ≤ K·u (Higham,
     * Accuracy and Stability, §3.1), so BLAS and the naive loop differ by at most
     * K·ε·Σ_k|a_ki||a_kj| (≤ 1.1e-14 here); a wrong operand or transpose is O(1). */
    double maxerr = 0.0;
    for (int j = 0; j < N; j++)
        for (int i = 0; i <= j; i++) {
            double v = 0.0, mag = 0.0;
            for (int k = 0; k < K; k++) {
                v += ha[k * N + i] * ha[k * N + j];
                mag += fabs(ha[k * N + i] * ha[k * N + j]);
            }
            maxerr = fmax(maxerr, fabs(v - hc[j * N + i]) / (K * DBL_EPSILON * mag));
        }
    CHECK_MSG(maxerr <= 1.0, "syrk error %g of its bound", maxerr);
    /* geam transpose: T (K x N, ld K) = A^T */
    CHECK(cublasDgeam(h, CUBLAS_OP_T, CUBLAS_OP_N, K, N, &one, da, N, &zero, dt, K - 1, dt, K) ==
          CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDgeam(h, CUBLAS_OP_T, CUBLAS_OP_N, K, N, &one, da, N, &zero, dt, K, dt, K) ==
          CUBLAS_STATUS_SUCCESS);
    /* dgmm: scale rows of T by x_i = i + 1 */
    double hx[K];
    for (int i = 0; i < K; i++)
        hx[i] = i + 1.0;
    CHECK(cudaMemcpy(dx, hx, sizeof hx, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cublasDdgmm(h, CUBLAS_SIDE_LEFT, K, N, dt, K, dx, 1, dt, K - 1) ==
          CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDdgmm(h, CUBLAS_SIDE_LEFT, K, N, dt, K, dx, 1, dt, K) == CUBLAS_STATUS_SUCCESS);
    double ht[N * K];
    /* s is non-blocking: a blocking cudaMemcpy does not wait for it */
    CHECK(cudaMemcpy(ht, dt, sizeof ht, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK_MSG(ht[0] == 0.0, "D2H copy saw un-synchronised stream work");
    CHECK(cudaStreamSynchronize(s) == cudaSuccess);
    CHECK(cudaMemcpy(ht, dt, sizeof ht, cudaMemcpyDeviceToHost) == cudaSuccess);
    /* exact: geam with beta = 0 copies, dgmm is one correctly rounded product per
     * entry, the same one the reference computes */
    maxerr = 0.0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < N; j++)
            maxerr = fmax(maxerr, fabs(ht[j * K + i] - (i + 1.0) * ha[i * N + j]));
    CHECK_MSG(maxerr == 0.0, "geam/dgmm error %g", maxerr);
    /* trmm with B = I extracts the upper triangle of A's leading N x N block */
    double eye[N * N] = {0};
    for (int i = 0; i < N; i++)
        eye[i * N + i] = 1.0;
    double *de = NULL;
    CHECK(cudaMalloc((void **)&de, sizeof eye) == cudaSuccess);
    CHECK(cudaMemcpy(de, eye, sizeof eye, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cublasDtrmm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                      CUBLAS_DIAG_NON_UNIT, N, N, &one, da, N, de, N, dc, N) ==
          CUBLAS_STATUS_SUCCESS);
    CHECK(cudaStreamSynchronize(s) == cudaSuccess);
    CHECK(cudaMemcpy(hc, dc, sizeof hc, cudaMemcpyDeviceToHost) == cudaSuccess);
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++)
            ref[j * N + i] = i <= j ? ha[j * N + i] : 0.0;
    /* exact: each entry is one a·1 plus products with 0 */
    CHECK(memcmp(hc, ref, sizeof hc) == 0);
    /* a handle of device 0 used while device 1 is current */
    ooc_emu_set_device_count(2);
    CHECK(cudaSetDevice(1) == cudaSuccess);
    CHECK(cublasDsyrk(h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, N, K, &one, da, N, &zero, dc, N) !=
          CUBLAS_STATUS_SUCCESS);
    CHECK(cudaSetDevice(0) == cudaSuccess);
    CHECK(cudaFree(de) == cudaSuccess);
    CHECK(cudaFree(da) == cudaSuccess);
    CHECK(cudaFree(dc) == cudaSuccess);
    CHECK(cudaFree(dt) == cudaSuccess);
    CHECK(cudaFree(dx) == cudaSuccess);
    CHECK(cudaStreamDestroy(s) == cudaSuccess);
    CHECK(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}

/* cuSOLVER: argument checks, workspace check, devInfo written at execution. */
static void test_cusolver(void)
{
    enum { N = 4 };
    cusolverDnHandle_t h = NULL;
    cusolverDnParams_t prm = NULL;
    cudaStream_t s;
    CHECK(cusolverDnCreate(&h) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cusolverDnCreateParams(&prm) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cusolverDnSetStream(h, s) == CUSOLVER_STATUS_SUCCESS);
    /* an indefinite symmetric matrix: potrf must report info = 2 */
    double a[N * N] = {4, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    double *da = NULL, *dtau = NULL;
    int *dinfo = NULL;
    void *dwork = NULL;
    CHECK(cudaMalloc((void **)&da, sizeof a) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dtau, N * sizeof(double)) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dinfo, sizeof(int)) == cudaSuccess);
    CHECK(cudaMemcpy(da, a, sizeof a, cudaMemcpyHostToDevice) == cudaSuccess);
    int info0 = 12345;
    CHECK(cudaMemcpy(dinfo, &info0, sizeof info0, cudaMemcpyHostToDevice) == cudaSuccess);
    size_t wd = 0, wh = 0;
    CHECK(cusolverDnXpotrf_bufferSize(h, prm, CUBLAS_FILL_MODE_UPPER, N, CUDA_R_64F, da, N,
                                      CUDA_R_64F, &wd, &wh) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cudaMalloc(&dwork, wd + 4096) == cudaSuccess);
    CHECK(cusolverDnXpotrf(h, prm, CUBLAS_FILL_MODE_UPPER, N, CUDA_R_64F, da, N - 1, CUDA_R_64F,
                           dwork, wd, NULL, 0, dinfo) == CUSOLVER_STATUS_INVALID_VALUE);
    CHECK(cusolverDnXpotrf(h, prm, CUBLAS_FILL_MODE_UPPER, N, CUDA_R_32F, da, N, CUDA_R_64F,
                           dwork, wd, NULL, 0, dinfo) == CUSOLVER_STATUS_NOT_SUPPORTED);
    CHECK(cusolverDnXpotrf(h, prm, CUBLAS_FILL_MODE_UPPER, N, CUDA_R_64F, da, N, CUDA_R_64F,
                           dwork, wd, NULL, 0, dinfo) == CUSOLVER_STATUS_SUCCESS);
    int info = 0;
    CHECK(cudaMemcpyAsync(&info, dinfo, sizeof info, cudaMemcpyDeviceToHost, s) == cudaSuccess);
    CHECK(info == 0);   /* not executed yet */
    CHECK(cudaStreamSynchronize(s) == cudaSuccess);
    CHECK_MSG(info == 2, "potrf devInfo %d, expected 2", info);
    /* geqrf: workspace from bufferSize, too-small workspace rejected */
    CHECK(cudaMemcpy(da, a, sizeof a, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cusolverDnXgeqrf_bufferSize(h, prm, N, N, CUDA_R_64F, da, N, CUDA_R_64F, dtau,
                                      CUDA_R_64F, &wd, &wh) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cusolverDnXgeqrf(h, prm, N, N, CUDA_R_64F, da, N, CUDA_R_64F, dtau, CUDA_R_64F, dwork,
                           wd / 2, NULL, 0, dinfo) == CUSOLVER_STATUS_INVALID_VALUE);
    CHECK(cusolverDnXgeqrf(h, prm, N + 1, N, CUDA_R_64F, da, N, CUDA_R_64F, dtau, CUDA_R_64F,
                           dwork, wd, NULL, 0, dinfo) == CUSOLVER_STATUS_INVALID_VALUE);
    CHECK(cusolverDnXgeqrf(h, prm, N, N, CUDA_R_64F, da, N, CUDA_R_64F, dtau, CUDA_R_64F, dwork,
                           wd, NULL, 0, dinfo) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cudaStreamSynchronize(s) == cudaSuccess);
    CHECK(cudaMemcpy(&info, dinfo, sizeof info, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(info == 0);
    double r[N * N];
    CHECK(cudaMemcpy(r, da, sizeof r, cudaMemcpyDeviceToHost) == cudaSuccess);
    /* a is diagonal: |R| diagonal equals |a| diagonal exactly (each column's part below
     * the diagonal is zero, so dlarfg returns tau = 0 and leaves the column as it is) */
    for (int i = 0; i < N; i++)
        CHECK(fabs(r[i * N + i]) == fabs(a[i * N + i]));
    CHECK(cusolverDnDestroyParams(prm) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cusolverDnDestroy(h) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cudaStreamDestroy(s) == cudaSuccess);
    CHECK(cudaFree(da) == cudaSuccess);
    CHECK(cudaFree(dtau) == cudaSuccess);
    CHECK(cudaFree(dinfo) == cudaSuccess);
    CHECK(cudaFree(dwork) == cudaSuccess);
}

/* The finalize calls: cublasDtrsv and cusolverDnXgesvd(_bufferSize) — their
 * argument rules (enums, jobu/jobvt, m >= n, leading dimensions, data types,
 * workspace size, device pointers), lazy execution, devInfo, and results
 * against the definition (residual of the solve, reconstruction U·Σ·Vᵀ). */
static void test_finalize_calls(void)
{
    enum { N = 4 };
    cublasHandle_t bh = NULL;
    cusolverDnHandle_t h = NULL;
    cusolverDnParams_t prm = NULL;
    cudaStream_t s;
    CHECK(cudaSetDevice(0) == cudaSuccess);
    CHECK(cublasCreate(&bh) == CUBLAS_STATUS_SUCCESS);
    CHECK(cusolverDnCreate(&h) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cusolverDnCreateParams(&prm) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cublasSetStream(bh, s) == CUBLAS_STATUS_SUCCESS);
    CHECK(cusolverDnSetStream(h, s) == CUSOLVER_STATUS_SUCCESS);
    /* column-major A with a dominant diagonal (lower triangle used by trsv) */
    double a[N * N], b[N], x[N];
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++)
            a[j * N + i] = i == j ? 3.0 + i : sin(1.0 + i + 5.0 * j);
    for (int i = 0; i < N; i++)
        b[i] = cos(2.0 + i);
    double *da = NULL, *dx = NULL, *ds = NULL, *du = NULL, *dvt = NULL;
    int *dinfo = NULL;
    void *dwork = NULL;
    CHECK(cudaMalloc((void **)&da, sizeof a) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dx, sizeof b) == cudaSuccess);
    CHECK(cudaMalloc((void **)&ds, N * sizeof(double)) == cudaSuccess);
    CHECK(cudaMalloc((void **)&du, sizeof a) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dvt, sizeof a) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dinfo, sizeof(int)) == cudaSuccess);
    CHECK(cudaMemcpy(da, a, sizeof a, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cudaMemcpy(dx, b, sizeof b, cudaMemcpyHostToDevice) == cudaSuccess);
    ooc_emu_reset_stats();

    /* trsv: bad enums, n, lda, incx, host pointer, overrun */
    CHECK(cublasDtrsv(bh, (cublasFillMode_t)9, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT, N, da, N, dx,
                      1) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDtrsv(bh, CUBLAS_FILL_MODE_LOWER, (cublasOperation_t)9, CUBLAS_DIAG_NON_UNIT, N,
                      da, N, dx, 1) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDtrsv(bh, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, (cublasDiagType_t)9, N, da, N, dx,
                      1) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDtrsv(bh, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT, -1, da, N,
                      dx, 1) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDtrsv(bh, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT, N, da, N - 1,
                      dx, 1) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDtrsv(bh, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT, N, da, N, dx,
                      0) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasDtrsv(bh, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT, N, a, N, dx,
                      1) == CUBLAS_STATUS_INVALID_VALUE);   /* host matrix */
    CHECK(cublasDtrsv(bh, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT, N, da, N, dx,
                      2) == CUBLAS_STATUS_INVALID_VALUE);   /* x overrun */
    CHECK(cublasDtrsv(NULL, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT, N, da, N,
                      dx, 1) == CUBLAS_STATUS_NOT_INITIALIZED);
    ooc_emu_stats st;
    ooc_emu_get_stats(&st);
    CHECK(st.argument_errors == 9 && st.trsv_calls == 0);
    /* Lᵀx = b with L the lower triangle of A */
    CHECK(cublasDtrsv(bh, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT, N, da, N, dx,
                      1) == CUBLAS_STATUS_SUCCESS);
    CHECK(cudaMemcpy(x, dx, sizeof x, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK_MSG(memcmp(x, b, sizeof b) == 0, "trsv ran before a synchronisation point");
    CHECK(cudaStreamSynchronize(s) == cudaSuccess);
    CHECK(cudaMemcpy(x, dx, sizeof x, cudaMemcpyDeviceToHost) == cudaSuccess);
    /* A triangular solve is backward stable componentwise, (T + ΔT)x = b with
     * |ΔT| ≤ γ_N|T| (Higham Thm 8.5), so |b - Tx|_i ≤ γ_N(|T||x|)_i; forming the
     * residual here adds γ_{N+1}((|T||x|)_i + |b_i|): bound 2(N+1)u(|T||x| + |b|)_i.
     * A wrong triangle, transpose or diagonal gives an O(1) residual. */
    double resid = 0.0;
    for (int i = 0; i < N; i++) {
        double v = -b[i], mag = fabs(b[i]);
        for (int k = i; k < N; k++) {
            v += a[i * N + k] * x[k];   /* (Lᵀ)_ik = L_ki = a[col i][row k] */
            mag += fabs(a[i * N + k] * x[k]);
        }
        resid = fmax(resid, fabs(v) / ((N + 1) * DBL_EPSILON * mag));
    }
    CHECK_MSG(resid <= 1.0, "trsv residual at %g of its bound", resid);

    /* gesvd_bufferSize / gesvd: argument rules */
    size_t wd = 0, wh = 0;
    CHECK(cusolverDnXgesvd_bufferSize(h, prm, 'X', 'N', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds,
                                      CUDA_R_64F, du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, &wd,
                                      &wh) == CUSOLVER_STATUS_INVALID_VALUE);
    CHECK(cusolverDnXgesvd_bufferSize(h, prm, 'O', 'O', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds,
                                      CUDA_R_64F, du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, &wd,
                                      &wh) == CUSOLVER_STATUS_INVALID_VALUE);
    CHECK(cusolverDnXgesvd_bufferSize(h, prm, 'N', 'N', N - 1, N, CUDA_R_64F, da, N, CUDA_R_64F,
                                      ds, CUDA_R_64F, du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, &wd,
                                      &wh) == CUSOLVER_STATUS_INVALID_VALUE);   /* m < n */
    CHECK(cusolverDnXgesvd_bufferSize(h, prm, 'S', 'N', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds,
                                      CUDA_R_64F, du, N - 1, CUDA_R_64F, dvt, N, CUDA_R_64F, &wd,
                                      &wh) == CUSOLVER_STATUS_INVALID_VALUE);   /* ldu < m */
    CHECK(cusolverDnXgesvd_bufferSize(h, prm, 'N', 'A', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds,
                                      CUDA_R_64F, du, N, CUDA_R_64F, dvt, N - 1, CUDA_R_64F, &wd,
                                      &wh) == CUSOLVER_STATUS_INVALID_VALUE);   /* ldvt < n */
    CHECK(cusolverDnXgesvd_bufferSize(h, prm, 'N', 'N', N, N, CUDA_R_32F, da, N, CUDA_R_64F, ds,
                                      CUDA_R_64F, du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, &wd,
                                      &wh) == CUSOLVER_STATUS_NOT_SUPPORTED);
    CHECK(cusolverDnXgesvd_bufferSize(h, NULL, 'N', 'N', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds,
                                      CUDA_R_64F, du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, &wd,
                                      &wh) == CUSOLVER_STATUS_INVALID_VALUE);
    CHECK(cusolverDnXgesvd_bufferSize(h, prm, 'S', 'S', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds,
                                      CUDA_R_64F, du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, &wd,
                                      &wh) == CUSOLVER_STATUS_SUCCESS);
    CHECK(wd >= 5 * N * sizeof(double));
    CHECK(cudaMalloc(&dwork, wd) == cudaSuccess);
    CHECK(cusolverDnXgesvd(h, prm, 'S', 'S', N, N, CUDA_R_64F, da, N - 1, CUDA_R_64F, ds,
                           CUDA_R_64F, du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, dwork, wd, NULL, 0,
                           dinfo) == CUSOLVER_STATUS_INVALID_VALUE);   /* lda < m */
    CHECK(cusolverDnXgesvd(h, prm, 'S', 'S', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds, CUDA_R_64F,
                           du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, dwork, wd - 8, NULL, 0,
                           dinfo) == CUSOLVER_STATUS_INVALID_VALUE);   /* small workspace */
    CHECK(cusolverDnXgesvd(h, prm, 'S', 'S', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds, CUDA_R_64F,
                           a, N, CUDA_R_64F, dvt, N, CUDA_R_64F, dwork, wd, NULL, 0,
                           dinfo) == CUSOLVER_STATUS_INVALID_VALUE);   /* host U */
    CHECK(cusolverDnXgesvd(h, prm, 'S', 'S', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds, CUDA_R_64F,
                           du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, dwork, wd, NULL, 0,
                           NULL) == CUSOLVER_STATUS_INVALID_VALUE);   /* no devInfo */
    ooc_emu_get_stats(&st);
    CHECK(st.gesvd_size_queries == 1 && st.gesvd_calls == 0);
    int sentinel = 12345, info = -7;
    CHECK(cudaMemcpy(dinfo, &sentinel, sizeof sentinel, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cusolverDnXgesvd(h, prm, 'S', 'S', N, N, CUDA_R_64F, da, N, CUDA_R_64F, ds, CUDA_R_64F,
                           du, N, CUDA_R_64F, dvt, N, CUDA_R_64F, dwork, wd, NULL, 0,
                           dinfo) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cudaMemcpyAsync(&info, dinfo, sizeof info, cudaMemcpyDeviceToHost, s) == cudaSuccess);
    CHECK(info == -7);   /* not executed yet: still the host's initial value */
    CHECK(cudaStreamSynchronize(s) == cudaSuccess);
    CHECK_MSG(info == 0, "gesvd devInfo %d", info);
    double sv[N], u[N * N], vt[N * N];
    CHECK(cudaMemcpy(sv, ds, sizeof sv, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(cudaMemcpy(u, du, sizeof u, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(cudaMemcpy(vt, dvt, sizeof vt, cudaMemcpyDeviceToHost) == cudaSuccess);
    /* LAPACK's SVD is exact for A + E, ‖E‖₂ ≤ p(m,n)·ε·‖A‖₂ with p(m,n) "a modestly
     * growing function" (LAPACK Users' Guide §4.9): we take m·n = N²; the product
     * U·S·Vᵀ formed here adds N·u·Σ_k|u_ik|σ_k|v_jk| ≤ N·u·σ_1·N (unit vectors).  So
     * |USVᵀ - A|_ij ≤ 2N²·ε·‖A‖₂ (‖A‖₂ ≤ ‖A‖_F), 7e-14 here; a wrong U, S or V is O(1). */
    double recon = 0.0, afro = 0.0;
    for (int j = 0; j < N * N; j++)
        afro += a[j] * a[j];
    afro = sqrt(afro);
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++) {
            double v = 0.0;
            for (int k = 0; k < N; k++)
                v += u[k * N + i] * sv[k] * vt[j * N + k];
            recon = fmax(recon, fabs(v - a[j * N + i]));
        }
    CHECK_MSG(recon <= 2.0 * N * N * DBL_EPSILON * afro && sv[0] >= sv[N - 1] && sv[N - 1] > 0.0,
              "gesvd: |U S VT - A| = %g > %g", recon, 2.0 * N * N * DBL_EPSILON * afro);
    ooc_emu_get_stats(&st);
    CHECK(st.gesvd_calls == 1 && st.trsv_calls == 1 && st.argument_errors == 20);

    CHECK(cusolverDnDestroyParams(prm) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cusolverDnDestroy(h) == CUSOLVER_STATUS_SUCCESS);
    CHECK(cublasDestroy(bh) == CUBLAS_STATUS_SUCCESS);
    CHECK(cudaStreamDestroy(s) == cudaSuccess);
    void *bufs[] = {da, dx, ds, du, dvt, dinfo, dwork};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        CHECK(cudaFree(bufs[i]) == cudaSuccess);
}

int main(void)
{
    test_prot_none();
    test_lazy_and_waits();
    test_copy_checks_and_stats();
    test_knobs();
    test_cublas();
    test_cusolver();
    test_finalize_calls();
    ooc_emu_stats s;
    ooc_emu_get_stats(&s);
    CHECK(s.device_bytes_in_use == 0);
    CHECK(ooc_emu_pending_ops() == 0);
    if (!test_failures)
        printf("test_cuda_emu: all checks passed\n");
    return TEST_EXIT();
}

/*
 * decode_emu.c — the CPU twins of the GPU decoder's kernels
 * (device/decode_launch.h): each launch queues an OP_FUNCTION on the stream
 * (cuda_emu_internal.h) that loops, when the stream runs, over the same
 * functions of device/decode_kernels.h the CUDA kernels call per thread.  So
 * the emulated tests check the kernels' arithmetic, bit for bit, against the
 * host decoder.
 *
 * Strictness: the launch's pointers must be device memory of the current
 * device (else cudaErrorInvalidValue with a diagnostic, as the emulator
 * rejects other calls); when a twin runs, every value it writes or reads
 * through the chunk table must lie in one allocation, or the emulator stops
 * the test (a kernel on a GPU would fault: cudaErrorIllegalAddress).
 */
#include "cuda_emu_internal.h"
#include "decode_launch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct kernel_args {
    const ooc_gpu_chunk *chunks;
    size_t nchunks;
    double *rows;
    uint64_t ld;
    uint32_t *sums, *adler;
    const double *col_src;
    uint64_t col, nrows;
    double *out;
    ooc_scan_spec spec;
    double *seg;
} kernel_args;

/* A device range a running twin touches: inside one allocation, or stop. */
static void must_be_device(const void *p, size_t nbytes, const char *what)
{
    if (!emu_device_range_ok(p, nbytes, -1, what)) {
        fprintf(stderr, "cuda_emu: kernel fault: %s\n", ooc_emu_last_diagnostic());
        abort();   /* the emulator cannot keep its guarantees: stop the test */
    }
}

/* The launch's pointer arguments are device memory of the current device. */
static bool args_on_device(const void *const *ptrs, size_t n, const char *what)
{
    int dev = 0;
    (void)cudaGetDevice(&dev);
    for (size_t i = 0; i < n; i++)
        if (!emu_device_range_ok(ptrs[i], 1, dev, what))
            return false;
    return true;
}

static cudaError_t launch(cudaStream_t stream, void (*run)(emu_op *), const kernel_args *a)
{
    kernel_args *copy = malloc(sizeof *copy);
    if (!copy)
        return cudaErrorMemoryAllocation;
    *copy = *a;
    return emu_enqueue_function(stream, run, copy);
}

static void run_scatter(emu_op *op)
{
    const kernel_args *a = op->arg;
    must_be_device(a->chunks, a->nchunks * sizeof *a->chunks, "scatter: chunk table");
    for (size_t i = 0; i < a->nchunks; i++) {
        const ooc_gpu_chunk *c = &a->chunks[i];
        must_be_device((const void *)(uintptr_t)c->src, c->nbytes, "scatter: chunk bytes");
        uint64_t last = (uint64_t)(c->block_row + c->rows - 1) * a->ld + c->dest_col + c->cols;
        if (c->rows && c->cols)
            must_be_device(a->rows, last * sizeof(double), "scatter: block rows");
        for (uint64_t k = 0; k < (uint64_t)c->rows * c->cols; k++)
            ooc_scatter_value(c, a->rows, a->ld, k);
    }
}

cudaError_t ooc_gpu_scatter(const ooc_gpu_chunk *chunks, size_t nchunks, uint64_t max_values,
                            double *rows, uint64_t ld, cudaStream_t stream)
{
    (void)max_values;
    if (nchunks == 0)
        return cudaSuccess;
    const void *ptrs[] = {chunks, rows};
    if (nchunks > 65535 || !args_on_device(ptrs, 2, "ooc_gpu_scatter"))
        return cudaErrorInvalidValue;
    return launch(stream, run_scatter, &(kernel_args){.chunks = chunks, .nchunks = nchunks,
                                                      .rows = rows, .ld = ld});
}

static void run_adler(emu_op *op)
{
    const kernel_args *a = op->arg;
    must_be_device(a->chunks, a->nchunks * sizeof *a->chunks, "adler: chunk table");
    must_be_device(a->adler, a->nchunks * sizeof *a->adler, "adler: results");
    for (size_t i = 0; i < a->nchunks; i++) {
        const ooc_gpu_chunk *c = &a->chunks[i];
        a->adler[i] = 0;
        if (!c->check_adler)
            continue;
        uint64_t nseg = ooc_adler_segments(c->nbytes);
        must_be_device((const void *)(uintptr_t)c->src, c->nbytes, "adler: chunk bytes");
        must_be_device(a->sums + 2 * c->seg_base, 2 * nseg * sizeof *a->sums, "adler: sums");
        for (uint64_t s = 0; s < nseg; s++)
            ooc_adler_segment(c, s, &a->sums[2 * (c->seg_base + s)],
                              &a->sums[2 * (c->seg_base + s) + 1]);
        a->adler[i] = ooc_adler_combine(a->sums + 2 * c->seg_base, nseg, c->nbytes);
    }
}

cudaError_t ooc_gpu_adler(const ooc_gpu_chunk *chunks, size_t nchunks, uint64_t max_segments,
                          uint32_t *sums, uint32_t *adler, cudaStream_t stream)
{
    (void)max_segments;
    if (nchunks == 0)
        return cudaSuccess;
    const void *ptrs[] = {chunks, sums, adler};
    if (nchunks > 65535 || !args_on_device(ptrs, 3, "ooc_gpu_adler"))
        return cudaErrorInvalidValue;
    return launch(stream, run_adler, &(kernel_args){.chunks = chunks, .nchunks = nchunks,
                                                    .sums = sums, .adler = adler});
}

/* The two scan kernels as the GPU runs them: every (segment, column)
 * thread's ooc_scan_column, then every entry's merge over the segments. */
static void run_scan(emu_op *op)
{
    const kernel_args *a = op->arg;
    const ooc_scan_spec *sp = &a->spec;
    const uint64_t p = sp->p, width = OOC_SCAN_WIDTH(p), n = a->nrows;
    const uint64_t step = ooc_scan_segment_rows(n), nseg = ooc_scan_segments(n);
    const uint64_t ncol = ooc_scan_columns(sp);
    if (n > 0)
        must_be_device(a->col_src, n * a->ld * sizeof(double), "scan: rows");
    must_be_device(a->seg, (nseg ? nseg : 1) * width * sizeof(double), "scan: segments");
    must_be_device(a->out, width * sizeof(double), "scan: total");
    const double shift = ooc_scan_shift(a->col_src, sp, n);
    for (uint64_t t = 0; t < nseg * ncol; t++) {
        const uint64_t s = t / ncol, i0 = s * step;
        ooc_scan_column(a->col_src, a->ld, sp, t % ncol, i0, n - i0 < step ? n : i0 + step,
                        shift, a->seg + s * width);
    }
    for (uint64_t e = 0; e < width; e++) {
        double t = ooc_scan_initial(p, e);
        if (ooc_scan_entry_used(sp, e))
            for (uint64_t s = 0; s < nseg; s++)
                t = ooc_scan_merge_value(p, e, t, a->seg[s * width + e]);
        a->out[e] = e == OOC_SCAN_SHIFT(p) ? shift : t;
    }
}

cudaError_t ooc_gpu_scan(const double *rows, uint64_t ld, ooc_scan_spec spec, uint64_t nrows,
                         double *seg, double *total, cudaStream_t stream)
{
    const void *ptrs[] = {rows, seg, total};
    if (!args_on_device(ptrs, 3, "ooc_gpu_scan"))
        return cudaErrorInvalidValue;
    return launch(stream, run_scan, &(kernel_args){.col_src = rows, .ld = ld, .spec = spec,
                                                   .nrows = nrows, .seg = seg, .out = total});
}

static void run_sqrt(emu_op *op)
{
    const kernel_args *a = op->arg;
    must_be_device(a->col_src, ((a->nrows - 1) * a->ld + a->col + 1) * sizeof(double),
                   "sqrt: rows");
    must_be_device(a->out, a->nrows * sizeof(double), "sqrt: out");
    for (uint64_t i = 0; i < a->nrows; i++)
        a->out[i] = sqrt(a->col_src[i * a->ld + a->col]);
}

cudaError_t ooc_gpu_sqrt_column(const double *rows, uint64_t ld, uint64_t col, uint64_t nrows,
                                double *out, cudaStream_t stream)
{
    if (nrows == 0)
        return cudaSuccess;
    const void *ptrs[] = {rows, out};
    if (!args_on_device(ptrs, 2, "ooc_gpu_sqrt_column"))
        return cudaErrorInvalidValue;
    return launch(stream, run_sqrt, &(kernel_args){.col_src = rows, .ld = ld, .col = col,
                                                   .nrows = nrows, .out = out});
}

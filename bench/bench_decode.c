/*
 * bench_decode.c — the "measured limit" of reading an HDF5 design matrix, and
 * how close the HDF5 block source (h5source.c) comes to it.
 *
 * usage: bench_decode FILE.h5 [THREADS] [PASSES]
 *
 *  1. read: every chunk of /X and /Y, raw (H5Dget_chunk_storage_size +
 *     H5Dread_chunk on one thread, as the source's producer does), in batches
 *     of ~64 MiB of stored bytes;
 *  2. decode: the same batches decompressed (zlib or blosc) and unshuffled on THREADS
 *     threads (default: online CPUs), nothing else — and the decoded bytes
 *     checked to be exactly one chunk each;
 *  3. pipelined: the same reads on one thread, in batches of ~4 MiB handed to
 *     THREADS decode threads as they fill, so reading and decoding run at the
 *     same time on the same cores: the measured limit of a read + decode
 *     pipeline (max(read, decode) above is the ideal one, which assumes the
 *     reading costs the decoders no CPU);
 *  4. source: full passes of ooc_h5_source (next/release doing nothing);
 *  5. raw source: the same passes in raw mode (set_raw, deflate files only),
 *     each block's stored chunk bytes copied once into one buffer as the CUDA
 *     backend packs them into pinned memory: all the host does per row when
 *     the GPU decodes and scans (--gpu-decode), its floor on any GPU.
 * Prints seconds and MB/s of decoded bytes (MB = 1e6 bytes) for each (best
 * of PASSES; the pipelined limit as the median of PASSES, like the bench's
 * other timings, with its best beside it): the source overlaps reading with decoding, so its wall time
 * should approach the pipelined limit.  Also the CPU seconds of all threads,
 * limit (read + decode) versus source, which is robust against other load
 * on the machine: the difference is the source's own overhead (scatter
 * into [X y] rows, NaN check, chunks that straddle blocks, thread handoffs).
 * The reference workload's file (PyTables EArrays, zlib level 1, 2.5M x 12
 * doubles in 682 x 12 chunks, y in 8192-row chunks):
 *     python bench/gen_data.py data.csv 2500000
 *     python bench/reference/seed_pipeline.py ingest data.csv seed.h5
 *     build/bench/bench_decode seed.h5
 */
#include "base/error.h"
#include "stream/source.h"
#include "hdf5/zcodec.h"

#include <hdf5.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_NBYTES ((size_t)64 << 20)
#define MAX_FILTERS 32

typedef struct raw_chunk {
    size_t offset; /* into the batch buffer */
    size_t nbytes;
    unsigned mask;
    int dataset;
} raw_chunk;

typedef struct dataset_info {
    const char *name;
    hid_t dset;
    int rank;
    hsize_t dims[2];
    hsize_t chunk[2];
    size_t chunk_nbytes;
    size_t elem_size;
    int nfilters;
    H5Z_filter_t filters[MAX_FILTERS];
} dataset_info;

typedef struct batch {
    unsigned char *bytes;
    size_t used, cap;
    raw_chunk *chunks;
    size_t nchunks, cap_chunks;
} batch;

typedef struct decode_task {
    const batch *b;
    const dataset_info *ds;
    size_t first, step; /* chunks first, first+step, ... */
    size_t decoded_nbytes;
    int failed;
} decode_task;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU seconds used by all threads of the process so far. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int open_dataset(hid_t file, const char *name, dataset_info *ds)
{
    memset(ds, 0, sizeof *ds);
    ds->name = name;
    ds->dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (ds->dset < 0)
        return 1;
    hid_t space = H5Dget_space(ds->dset);
    hid_t dcpl = H5Dget_create_plist(ds->dset);
    hid_t type = H5Dget_type(ds->dset);
    ds->rank = H5Sget_simple_extent_ndims(space);
    int rc = ds->rank < 1 || ds->rank > 2 || H5Pget_layout(dcpl) != H5D_CHUNKED;
    if (!rc) {
        H5Sget_simple_extent_dims(space, ds->dims, NULL);
        H5Pget_chunk(dcpl, ds->rank, ds->chunk);
        if (ds->rank == 1)
            ds->dims[1] = ds->chunk[1] = 1;
        ds->elem_size = H5Tget_size(type);
        ds->chunk_nbytes = (size_t)(ds->chunk[0] * ds->chunk[1]) * ds->elem_size;
        ds->nfilters = H5Pget_nfilters(dcpl);
        for (int i = 0; i < ds->nfilters && i < MAX_FILTERS; i++) {
            unsigned flags;
            size_t ncd = 0;
            ds->filters[i] = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, NULL, 0, NULL, NULL);
            if (ds->filters[i] != H5Z_FILTER_DEFLATE && ds->filters[i] != H5Z_FILTER_SHUFFLE &&
                ds->filters[i] != OOC_H5Z_FILTER_BLOSC)
                rc = 1;
        }
    }
    H5Tclose(type);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (rc)
        fprintf(stderr, "%s: needs a chunked 1-D/2-D dataset with only shuffle/deflate/blosc\n",
                name);
    return rc;
}

/* Largest decoded chunk of the datasets. */
static size_t max_chunk_nbytes(const dataset_info *ds)
{
    return ds[0].chunk_nbytes > ds[1].chunk_nbytes ? ds[0].chunk_nbytes : ds[1].chunk_nbytes;
}

/* Decode chunks first, first+step, ... of a batch with one decompressor and
 * two scratch buffers of cap bytes; adds the decoded bytes to *decoded.
 * Returns non-zero on failure. */
static int decode_chunks(const batch *bt, const dataset_info *ds, size_t first, size_t step,
                         ooc_zlib_decompressor *d, unsigned char *a, unsigned char *b, size_t cap,
                         size_t *decoded)
{
    for (size_t k = first; k < bt->nchunks; k += step) {
        const raw_chunk *c = &bt->chunks[k];
        const dataset_info *cds = &ds[c->dataset];
        const unsigned char *cur = bt->bytes + c->offset;
        size_t n = c->nbytes;
        for (int f = cds->nfilters - 1; f >= 0; f--) {
            if (c->mask & (1u << f))
                continue;
            unsigned char *dst = cur == a ? b : a;
            if (cds->filters[f] == H5Z_FILTER_DEFLATE) {
                if (ooc_zlib_decompress(d, cur, n, dst, cap, &n, NULL) != OOC_OK)
                    return 1;
            } else if (cds->filters[f] == OOC_H5Z_FILTER_BLOSC) {
                /* blosc is the last filter applied (nothing under it changes
                 * the size): its frame decodes to exactly one chunk */
                if (ooc_blosc_decompress(cur, n, dst, cds->chunk_nbytes, NULL) != OOC_OK)
                    return 1;
                n = cds->chunk_nbytes;
            } else {
                ooc_unshuffle(cur, dst, n, cds->elem_size);
            }
            cur = dst;
        }
        if (n != cds->chunk_nbytes)
            return 1;
        *decoded += n;
    }
    return 0;
}

static void *decode_main(void *arg)
{
    decode_task *t = arg;
    ooc_zlib_decompressor *d = NULL;
    size_t cap = max_chunk_nbytes(t->ds);
    unsigned char *a = malloc(cap), *b = malloc(cap);
    if (ooc_zlib_decompressor_new(&d, NULL) != OOC_OK || !a || !b)
        t->failed = 1;
    else
        t->failed = decode_chunks(t->b, t->ds, t->first, t->step, d, a, b, cap,
                                  &t->decoded_nbytes);
    ooc_zlib_decompressor_free(d);
    free(a);
    free(b);
    return NULL;
}

static int add_chunk(batch *b, size_t nbytes, unsigned mask, int dataset, size_t *offset)
{
    if (b->used + nbytes > b->cap) {
        size_t cap = b->cap ? b->cap : BATCH_NBYTES;
        while (cap < b->used + nbytes)
            cap *= 2;
        unsigned char *grown = realloc(b->bytes, cap);
        if (!grown)
            return 1;
        b->bytes = grown;
        b->cap = cap;
    }
    if (b->nchunks == b->cap_chunks) {
        size_t cap = b->cap_chunks ? 2 * b->cap_chunks : 1024;
        raw_chunk *grown = realloc(b->chunks, cap * sizeof *grown);
        if (!grown)
            return 1;
        b->chunks = grown;
        b->cap_chunks = cap;
    }
    *offset = b->used;
    b->chunks[b->nchunks++] = (raw_chunk){b->used, nbytes, mask, dataset};
    b->used += nbytes;
    return 0;
}

/* Decode one batch on nthreads threads; returns non-zero on failure. */
static int decode_batch(const batch *b, const dataset_info *ds, int nthreads, size_t *decoded)
{
    pthread_t tids[64];
    decode_task tasks[64];
    int rc = 0;
    for (int i = 0; i < nthreads; i++) {
        tasks[i] = (decode_task){b, ds, (size_t)i, (size_t)nthreads, 0, 0};
        if (pthread_create(&tids[i], NULL, decode_main, &tasks[i]) != 0)
            return 1;
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tids[i], NULL);
        rc |= tasks[i].failed;
        *decoded += tasks[i].decoded_nbytes;
    }
    return rc;
}

static int measure_limit(const char *path, int nthreads, double *read_s, double *decode_s,
                         size_t *decoded_nbytes, size_t *stored_nbytes)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return 1;
    dataset_info ds[2];
    int rc = open_dataset(file, "/X", &ds[0]) | open_dataset(file, "/Y", &ds[1]);
    batch b = {0};
    *read_s = *decode_s = 0;
    *decoded_nbytes = *stored_nbytes = 0;
    for (int d = 0; d < 2 && !rc; d++) {
        for (hsize_t r = 0; r < ds[d].dims[0] && !rc; r += ds[d].chunk[0]) {
            double t0 = now();
            for (hsize_t c = 0; c < ds[d].dims[1] && !rc; c += ds[d].chunk[1]) {
                hsize_t offset[2] = {r, c};
                unsigned mask = 0;
                hsize_t size = 0;
                size_t at;
                rc = H5Dget_chunk_storage_size(ds[d].dset, offset, &size) < 0 ||
                     add_chunk(&b, (size_t)size, mask, d, &at) ||
                     H5Dread_chunk(ds[d].dset, H5P_DEFAULT, offset, &mask, b.bytes + at) < 0;
                b.chunks[b.nchunks - 1].mask = mask;
                *stored_nbytes += (size_t)size;
            }
            *read_s += now() - t0;
            bool last = r + ds[d].chunk[0] >= ds[d].dims[0];
            if (!rc && (b.used >= BATCH_NBYTES || last)) {
                double t1 = now();
                rc = decode_batch(&b, ds, nthreads, decoded_nbytes);
                *decode_s += now() - t1;
                b.used = 0;
                b.nchunks = 0;
            }
        }
    }
    free(b.bytes);
    free(b.chunks);
    for (int d = 0; d < 2; d++)
        if (ds[d].dset >= 0)
            H5Dclose(ds[d].dset);
    H5Fclose(file);
    return rc;
}

/* ---- pipelined: reading and decoding at the same time ------------------- */

/* One full pass of the HDF5 source (raw mode: its chunks copied into one
 * buffer per block, as the CUDA backend packs them), keeping the best wall
 * and CPU seconds and the decoded bytes delivered.  Returns 0, 1 on an
 * error (printed), 2 when raw mode was asked for and the file cannot. */
static int source_pass(const char *path, const ooc_source_options *o, bool raw, double *best,
                       double *best_cpu, size_t *nbytes, size_t *packed)
{
    ooc_source *src = NULL;
    ooc_error err = {0};
    unsigned char *pack = NULL;
    size_t pack_cap = 0;
    double t0 = now(), c0 = cpu_now();
    ooc_status st = ooc_h5_source_open(path, o, &src, &err);
    if (st == OOC_OK && raw && !(src->set_raw && src->set_raw(src, OOC_RAW_ZLIB, false))) {
        ooc_source_free(src);
        return 2;
    }
    ooc_block *blk;
    *nbytes = *packed = 0;
    while (st == OOC_OK && (st = src->vt->next(src, &blk, &err)) == OOC_OK && blk) {
        *nbytes += blk->nrows * blk->ncols * sizeof(double);
        for (size_t i = 0, at = 0; blk->raw && i < blk->raw->nchunks; i++) {
            const ooc_raw_chunk *k = &blk->raw->chunks[i];
            if (at + k->nbytes > pack_cap) {
                size_t cap = 2 * (at + k->nbytes);
                unsigned char *grown = realloc(pack, cap);
                if (!grown) {
                    st = OOC_FAIL(&err, OOC_ERR_NOMEM, "out of memory packing chunks");
                    break;
                }
                pack = grown;
                pack_cap = cap;
            }
            memcpy(pack + at, k->bytes, k->nbytes);
            at += (k->nbytes + 7) / 8 * 8;
            *packed += k->nbytes;
        }
        src->vt->release(src, blk);
    }
    double t = now() - t0;
    ooc_source_free(src);
    free(pack);
    if (cpu_now() - c0 < *best_cpu)
        *best_cpu = cpu_now() - c0;
    if (st != OOC_OK) {
        fprintf(stderr, "%s: %s\n", raw ? "raw source" : "source", err.message);
        return 1;
    }
    if (t < *best)
        *best = t;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define PIPE_BATCH_NBYTES ((size_t)4 << 20)
#define PIPE_SLOTS 4

typedef struct pipeline {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch slots[PIPE_SLOTS];
    bool full[PIPE_SLOTS];
    size_t filled, taken; /* batches handed to the decoders / taken by one */
    bool done;
    int failed;
    const dataset_info *ds;
    size_t decoded;
} pipeline;

/* A decoder: takes full batches in order, decodes each alone, frees the slot. */
static void *pipe_decoder(void *arg)
{
    pipeline *pl = arg;
    ooc_zlib_decompressor *d = NULL;
    size_t cap = max_chunk_nbytes(pl->ds), decoded = 0;
    unsigned char *a = malloc(cap), *b = malloc(cap);
    int failed = ooc_zlib_decompressor_new(&d, NULL) != OOC_OK || !a || !b;
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        while (pl->taken == pl->filled && !pl->done)
            pthread_cond_wait(&pl->cv, &pl->mu);
        if (pl->taken == pl->filled)
            break;
        size_t slot = pl->taken++ % PIPE_SLOTS;
        pthread_mutex_unlock(&pl->mu);
        if (!failed)
            failed = decode_chunks(&pl->slots[slot], pl->ds, 0, 1, d, a, b, cap, &decoded);
        pthread_mutex_lock(&pl->mu);
        pl->slots[slot].used = pl->slots[slot].nchunks = 0;
        pl->full[slot] = false;
        pthread_cond_broadcast(&pl->cv);
    }
    pl->failed |= failed;
    pl->decoded += decoded;
    pthread_mutex_unlock(&pl->mu);
    ooc_zlib_decompressor_free(d);
    free(a);
    free(b);
    return NULL;
}

/* Hand the batch being filled to the decoders and wait for the next free slot. */
static size_t pipe_hand_over(pipeline *pl, size_t slot)
{
    pthread_mutex_lock(&pl->mu);
    pl->full[slot] = true;
    pl->filled++;
    pthread_cond_broadcast(&pl->cv);
    size_t next = pl->filled % PIPE_SLOTS;
    while (pl->full[next])
        pthread_cond_wait(&pl->cv, &pl->mu);
    pthread_mutex_unlock(&pl->mu);
    return next;
}

/* Every chunk read on this thread (as the source's producer reads them) into
 * batches of ~4 MiB, decoded by nthreads threads as the batches fill: the wall
 * time of reading and decompressing in parallel, nothing else. */
static int measure_pipelined(const char *path, int nthreads, double *wall_s)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return 1;
    dataset_info ds[2];
    int rc = open_dataset(file, "/X", &ds[0]) | open_dataset(file, "/Y", &ds[1]);
    pipeline pl = {.ds = ds};
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);
    pthread_t tids[64];
    int started = 0;
    double t0 = now();
    for (; !rc && started < nthreads; started++)
        rc = pthread_create(&tids[started], NULL, pipe_decoder, &pl) != 0;
    size_t slot = 0;
    for (int d = 0; d < 2 && !rc; d++)
        for (hsize_t r = 0; r < ds[d].dims[0] && !rc; r += ds[d].chunk[0])
            for (hsize_t c = 0; c < ds[d].dims[1] && !rc; c += ds[d].chunk[1]) {
                batch *bt = &pl.slots[slot];
                hsize_t offset[2] = {r, c};
                unsigned mask = 0;
                hsize_t size = 0;
                size_t at;
                rc = H5Dget_chunk_storage_size(ds[d].dset, offset, &size) < 0 ||
                     add_chunk(bt, (size_t)size, mask, d, &at) ||
                     H5Dread_chunk(ds[d].dset, H5P_DEFAULT, offset, &mask, bt->bytes + at) < 0;
                bt->chunks[bt->nchunks - 1].mask = mask;
                if (!rc && bt->used >= PIPE_BATCH_NBYTES)
                    slot = pipe_hand_over(&pl, slot);
            }
    pthread_mutex_lock(&pl.mu);
    if (!rc && pl.slots[slot].nchunks > 0) {
        pl.full[slot] = true;
        pl.filled++;
    }
    pl.done = true;
    pthread_cond_broadcast(&pl.cv);
    pthread_mutex_unlock(&pl.mu);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    *wall_s = now() - t0;
    rc |= pl.failed;
    for (int i = 0; i < PIPE_SLOTS; i++) {
        free(pl.slots[i].bytes);
        free(pl.slots[i].chunks);
    }
    pthread_mutex_destroy(&pl.mu);
    pthread_cond_destroy(&pl.cv);
    for (int d = 0; d < 2; d++)
        if (ds[d].dset >= 0)
            H5Dclose(ds[d].dset);
    H5Fclose(file);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.h5 [THREADS] [PASSES]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int nthreads = argc > 2 ? atoi(argv[2]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int passes = argc > 3 ? atoi(argv[3]) : 3;
    if (nthreads < 1 || nthreads > 64 || passes < 1) {
        fprintf(stderr, "THREADS must be 1..64 and PASSES >= 1\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    double best_read = 1e30, best_decode = 1e30, best_limit_cpu = 1e30;
    size_t decoded = 0, stored = 0;
    for (int pass = 0; pass < passes; pass++) {
        double r, d;
        double c0 = cpu_now();
        int failed = measure_limit(path, nthreads, &r, &d, &decoded, &stored);
        if (cpu_now() - c0 < best_limit_cpu)
            best_limit_cpu = cpu_now() - c0;
        if (failed) {
            fprintf(stderr, "%s: reading/decoding the chunks failed\n", path);
            return 1;
        }
        if (r < best_read)
            best_read = r;
        if (d < best_decode)
            best_decode = d;
    }
    const double mb = (double)decoded / 1e6;
    printf("file %s: %.1f MB decoded from %.1f MB stored (ratio %.3f), %d thread(s), best of %d\n",
           path, mb, (double)stored / 1e6, (double)stored / (double)decoded, nthreads, passes);
    printf("read   (1 HDF5 thread)      %7.3f s  %8.1f MB/s\n", best_read, mb / best_read);
    printf("decode (%d thread(s))        %7.3f s  %8.1f MB/s\n", nthreads, best_decode,
           mb / best_decode);
    double bound = best_read > best_decode ? best_read : best_decode;
    printf("limit  overlapped max(r,d)  %7.3f s  %8.1f MB/s   sequential r+d %7.3f s  %8.1f MB/s\n",
           bound, mb / bound, best_read + best_decode, mb / (best_read + best_decode));
    double pipe[64];
    int npipe = passes < 64 ? passes : 64;
    for (int pass = 0; pass < npipe; pass++) {
        if (measure_pipelined(path, nthreads, &pipe[pass])) {
            fprintf(stderr, "%s: pipelined reading/decoding failed\n", path);
            return 1;
        }
    }
    qsort(pipe, (size_t)npipe, sizeof pipe[0], cmp_double);
    double pipe_median = npipe % 2 ? pipe[npipe / 2] : 0.5 * (pipe[npipe / 2 - 1] + pipe[npipe / 2]);
    printf("limit  pipelined read+decode %7.3f s  %8.1f MB/s   (measured, median of %d; best %.3f s)\n",
           pipe_median, mb / pipe_median, npipe, pipe[0]);

    ooc_source_options o;
    ooc_source_options_init(&o);
    o.nthreads = nthreads;
    o.need_y = false;
    double best_source = 1e30, best_source_cpu = 1e30;
    size_t source_nbytes = 0, packed = 0;
    for (int pass = 0; pass < passes; pass++)
        if (source_pass(path, &o, false, &best_source, &best_source_cpu, &source_nbytes, &packed))
            return 1;
    printf("source (open + full pass)   %7.3f s  %8.1f MB/s   (%.0f%% of the overlapped limit)\n",
           best_source, (double)source_nbytes / 1e6 / best_source, 100.0 * bound / best_source);
    printf("cpu seconds (all threads): limit read+decode %.3f s, source pass %.3f s (+%.0f%%)\n",
           best_limit_cpu, best_source_cpu, 100.0 * (best_source_cpu / best_limit_cpu - 1.0));
    double best_raw = 1e30, best_raw_cpu = 1e30;
    size_t raw_nbytes = 0;
    for (int pass = 0; pass < passes; pass++) {
        int rc = source_pass(path, &o, true, &best_raw, &best_raw_cpu, &raw_nbytes, &packed);
        if (rc == 2) {
            printf("raw source: not a deflate file (the GPU decoder takes deflate only)\n");
            return 0;
        }
        if (rc)
            return 1;
    }
    printf("raw source (GPU decodes)    %7.3f s  %8.1f MB/s   cpu %.3f s, %.1f MB packed: the "
           "host's floor with --gpu-decode\n",
           best_raw, (double)raw_nbytes / 1e6 / best_raw, best_raw_cpu, (double)packed / 1e6);
    return 0;
}

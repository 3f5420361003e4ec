/*
 * h5write.c — the PyTables-compatible HDF5 design-matrix writer (h5write.h).
 *
 * Pipeline (an ordered pool, base/ordered_pool.h): the caller's thread
 * claims a chunk slot and copies appended rows into it; a full slot is
 * submitted; the pool's workers encode chunks (shuffle, then zlib stream,
 * exactly as HDF5's own shuffle and deflate filters would; or one blosc
 * frame, as PyTables' blosc filter would, zcodec.h); the caller's
 * thread takes encoded chunks back strictly in order and writes them with
 * H5Dwrite_chunk, growing the datasets with H5Dset_extent first.  Only the
 * caller's thread calls libhdf5.  Chunk k lives in slot k % nslots, so the
 * ring bounds memory: when the slot for the next chunk is still busy the
 * caller writes (waiting for) the oldest chunk first.
 *
 * When a chunk does not shrink under deflate it is stored shuffled only and
 * the deflate filter's bit is set in the chunk's filter mask, which every
 * HDF5 reader honours (the filter is skipped for that chunk).  A chunk that
 * does not shrink under blosc is stored as it is with the blosc filter's bit
 * set, as HDF5 stores one when PyTables' filter declines it.
 *
 * Blosc datasets: this libhdf5 has no blosc filter, and none is registered
 * (chunks are compressed here and written with H5Dwrite_chunk, which runs no
 * filter).  HDF5 1.10 refuses to create a dataset whose pipeline has a
 * mandatory filter it cannot find ("required filter was not located", from
 * H5Dcreate2), but skips an optional one it lacks; so the filter is declared
 * with H5Z_FLAG_OPTIONAL, which is also how PyTables and h5py declare it.
 * Its parameters are complete as written (blosc's set_local callback would
 * fill in the type and chunk sizes: ooc_blosc_cd_values does).
 *
 * /Y uses the same chunk_rows as /X: chunk k of both covers the same rows,
 * so a reader can decode them together into one block, and 8*chunk_rows
 * bytes (~87 KB for 12 columns) is already well above deflate's 32 KiB window.
 * `column_names` is a 1-D attribute of variable-length UTF-8 strings: h5py
 * and PyTables both read it as an array of str (fixed-length strings would
 * need a width and come back as bytes).
 *
 * Write errors (a full disk): the file goes through the writer's own HDF5
 * file driver, which keeps the first error instead of failing HDF5's calls,
 * so that every HDF5 id can still be closed (see "the writer's file driver");
 * the failing call reports "'OUT': cannot write /X chunk 3 (rows ...): No
 * space left on device", and the temporary file is deleted.
 */
#include "hdf5/h5write.h"

#include "base/error.h"
#include "base/ordered_pool.h"
#include "base/outfile.h"
#include "hdf5/h5attr.h"
#include "hdf5/h5util.h"
#include "profile/trace.h"
#include "hdf5/zcodec.h"

#include <blosc.h>
#include <errno.h>
#include <hdf5.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Target size of one chunk of X when chunk_rows is automatic. */
#define AUTO_CHUNK_NBYTES ((size_t)1 << 20)
/* HDF5 limits a chunk to less than 4 GiB. */
#define MAX_CHUNK_NBYTES ((size_t)UINT32_MAX)
#define MAX_THREADS 64

/* One dataset's part of a chunk: raw values, encoded result. */
typedef struct chunk_part {
    double *raw;                /* chunk-sized, row-major */
    unsigned char *encoded_buf; /* output of shuffle/deflate; NULL when there are no filters */
    const void *encoded;        /* what to store: raw or encoded_buf */
    size_t encoded_nbytes;
    unsigned filter_mask;       /* HDF5 filter mask: bit i set = filter i skipped */
} chunk_part;

typedef struct chunk_slot {
    uint64_t index;  /* chunk number (row offset / chunk_rows) */
    size_t nrows;    /* rows of data (the rest is zero padding) */
    chunk_part x, y, k; /* y unused without /Y, k without /keep */
} chunk_slot;

typedef struct encode_worker {
    ooc_zlib_compressor *compressor; /* deflate only (NULL when level == 0 or blosc) */
    unsigned char *scratch;          /* shuffled bytes before deflate */
} encode_worker;

struct ooc_h5_writer {
    char *path;      /* final name */
    ooc_outfile out; /* the temporary file; its fd is the driver's, kept open to fsync it */
    size_t p;
    size_t chunk_rows;
    bool with_y;
    int level;
    bool shuffle;
    ooc_codec codec;
    bool blosc;    /* the blosc filter alone (codec.blosc and level > 0) */
    bool durable;  /* fsync before rename */
    size_t nkeep;  /* columns of /keep (0: none) */
    size_t x_chunk_nbytes, y_chunk_nbytes, k_chunk_nbytes;
    unsigned compress_skip_mask; /* filter-mask bit of the deflate or blosc filter */

    hid_t file, dset_x, dset_y, dset_k; /* H5I_INVALID_HID when not open */
    int io_errno;               /* first write error the driver met (sink driver); 0: none */
    ooc_trace *trace;           /* may be NULL */

    size_t nworkers;
    encode_worker *workers; /* the pool's worker i uses workers[i] */
    size_t nslots;
    chunk_slot *slots;
    ooc_ordered_pool *pool;
    chunk_slot *filling;  /* slot being filled (claimed from the pool), or NULL */

    ooc_h5_write_stats stats;
    bool failed;          /* a call failed; `failure` holds its error */
    ooc_error failure;
};

/* ---- encoding (worker threads) ---------------------------------------- */

/* Encode one chunk part of nbytes bytes (see the file comment).  Errors:
 * blosc's (ooc_blosc_compress). */
static ooc_status encode_part(const ooc_h5_writer *w, encode_worker *wk, chunk_part *part,
                              size_t nbytes, ooc_error *err)
{
    part->filter_mask = 0;
    if (!w->shuffle && w->level == 0) {
        part->encoded = part->raw;
        part->encoded_nbytes = nbytes;
        return OOC_OK;
    }
    if (w->level == 0) {
        ooc_shuffle(part->raw, part->encoded_buf, nbytes, sizeof(double));
        part->encoded = part->encoded_buf;
        part->encoded_nbytes = nbytes;
        return OOC_OK;
    }
    if (w->blosc) {
        size_t z = 0;
        ooc_status st = ooc_blosc_compress(&w->codec, w->level, w->shuffle, sizeof(double),
                                           part->raw, nbytes, part->encoded_buf, nbytes - 1, &z,
                                           err);
        if (st != OOC_OK)
            return st;
        if (z > 0) {
            part->encoded = part->encoded_buf;
            part->encoded_nbytes = z;
        } else { /* incompressible: stored as it is, blosc skipped for this chunk */
            part->filter_mask = w->compress_skip_mask;
            part->encoded = part->raw;
            part->encoded_nbytes = nbytes;
        }
        return OOC_OK;
    }
    const void *input = part->raw;
    if (w->shuffle) {
        ooc_shuffle(part->raw, wk->scratch, nbytes, sizeof(double));
        input = wk->scratch;
    }
    size_t z = ooc_zlib_compress(wk->compressor, input, nbytes, part->encoded_buf, nbytes - 1);
    if (z > 0) {
        part->encoded = part->encoded_buf;
        part->encoded_nbytes = z;
        return OOC_OK;
    }
    /* Incompressible: store the (shuffled) bytes and skip deflate for this chunk. */
    part->filter_mask = w->compress_skip_mask;
    part->encoded_nbytes = nbytes;
    if (w->shuffle) {
        memcpy(part->encoded_buf, wk->scratch, nbytes);
        part->encoded = part->encoded_buf;
    } else {
        part->encoded = part->raw;
    }
    return OOC_OK;
}

/* The pool's worker start: name the thread's trace lane. */
static void name_encoder(void *ctx, int worker)
{
    const ooc_h5_writer *w = ctx;
    char lane[32];
    snprintf(lane, sizeof lane, "compress %d", worker + 1);
    ooc_trace_name_thread(w->trace, lane);
}

/* The pool's job: encode the chunk in a slot. */
static ooc_status encode_slot(void *ctx, int worker, int slot, uint64_t seq, ooc_error *err)
{
    ooc_h5_writer *w = ctx;
    encode_worker *wk = &w->workers[worker];
    chunk_slot *s = &w->slots[slot];
    (void)seq;
    ooc_trace_token span = ooc_trace_begin(w->trace, OOC_STAGE_COMPRESS);
    ooc_status status = encode_part(w, wk, &s->x, w->x_chunk_nbytes, err);
    if (status == OOC_OK && w->with_y)
        status = encode_part(w, wk, &s->y, w->y_chunk_nbytes, err);
    if (status == OOC_OK && w->nkeep)
        status = encode_part(w, wk, &s->k, w->k_chunk_nbytes, err);
    ooc_trace_end_bytes(w->trace, span,
                        w->x_chunk_nbytes + (w->with_y ? w->y_chunk_nbytes : 0) +
                            (w->nkeep ? w->k_chunk_nbytes : 0));
    if (status != OOC_OK)
        ooc_error_prefix(err, "'%s': cannot compress chunk %llu", w->path,
                         (unsigned long long)s->index);
    return status;
}

/* Stop and join the encode workers (idempotent). */
static void stop_workers(ooc_h5_writer *w)
{
    ooc_ordered_pool_free(w->pool);
    w->pool = NULL;
}

/* ---- the writer's file driver (caller's thread) ------------------------ */

/*
 * HDF5 1.10 tears a file's state down when the flush inside H5Fclose fails
 * (a full disk), yet keeps its id, and closes that dangling id again when the
 * library shuts down at exit: SIGSEGV in H5F__close_cb.  A failing H5Dclose
 * leaves a dangling dataset id the same way.  So the writer writes through
 * its own driver, which never reports a failed write or truncation to HDF5:
 * it stores the first errno in the writer's io_errno and drops every later
 * write, and the writer checks io_errno after each HDF5 call that may write
 * (writer_fail).  Every close then releases its id, whatever the state of the
 * disk, and the writer reports the error and deletes the temporary file.
 * Otherwise it is HDF5's sec2 driver: pread/pwrite on the writer's descriptor
 * of the temporary file, the same feature flags, nothing in the superblock
 * (any reader opens the result with the default driver).  Reads fail
 * normally; past the end of the file they read zeros.
 */

/* Driver info in the file access property list (copied by HDF5). */
typedef struct sink_info {
    int fd;        /* the writer's out.fd; the driver never closes it */
    int *io_errno; /* where the first failure goes */
} sink_info;

typedef struct sink_file {
    H5FD_t pub; /* HDF5's part; must come first */
    sink_info info;
    haddr_t eoa, eof;
} sink_file;

#define SINK_MAXADDR ((haddr_t)INT64_MAX)

static H5FD_t *sink_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
    (void)name; /* the writer opened it: out.fd */
    const sink_info *info = H5Pget_driver_info(fapl);
    struct stat st;
    if (!info || maxaddr == 0 || maxaddr > SINK_MAXADDR)
        return NULL;
    if ((flags & H5F_ACC_TRUNC) && ftruncate(info->fd, 0) != 0)
        return NULL;
    if (fstat(info->fd, &st) != 0)
        return NULL;
    sink_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->info = *info;
    f->eof = (haddr_t)st.st_size;
    return &f->pub;
}

static herr_t sink_close(H5FD_t *file)
{
    free(file);
    return 0;
}

static herr_t sink_query(const H5FD_t *file, unsigned long *flags)
{
    (void)file;
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA | H5FD_FEAT_POSIX_COMPAT_HANDLE;
    return 0;
}

static haddr_t sink_get_eoa(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const sink_file *)file)->eoa;
}

static herr_t sink_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr)
{
    (void)type;
    if (addr > SINK_MAXADDR)
        return -1;
    ((sink_file *)file)->eoa = addr;
    return 0;
}

static haddr_t sink_get_eof(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const sink_file *)file)->eof;
}

static herr_t sink_get_handle(H5FD_t *file, hid_t fapl, void **handle)
{
    (void)fapl;
    *handle = &((sink_file *)file)->info.fd;
    return 0;
}

static herr_t sink_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                        void *buf)
{
    (void)type;
    (void)dxpl;
    const sink_file *f = (const sink_file *)file;
    unsigned char *p = buf;
    if (addr > SINK_MAXADDR || size > SINK_MAXADDR - addr)
        return -1;
    while (size > 0) {
        ssize_t n = pread(f->info.fd, p, size, (off_t)addr);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) { /* past the end of the file */
            memset(p, 0, size);
            break;
        }
        p += n;
        addr += (haddr_t)n;
        size -= (size_t)n;
    }
    return 0;
}

/* Record the first I/O failure; every later write is dropped. */
static void sink_fail(sink_file *f, int error)
{
    if (*f->info.io_errno == 0)
        *f->info.io_errno = error ? error : EIO;
}

static herr_t sink_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                         const void *buf)
{
    (void)type;
    (void)dxpl;
    sink_file *f = (sink_file *)file;
    if (addr > SINK_MAXADDR || size > SINK_MAXADDR - addr)
        return -1;
    if (addr + size > f->eof)
        f->eof = addr + size;
    const unsigned char *p = buf;
    while (size > 0 && *f->info.io_errno == 0) {
        ssize_t n = pwrite(f->info.fd, p, size, (off_t)addr);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            sink_fail(f, n < 0 ? errno : EIO);
            break;
        }
        p += n;
        addr += (haddr_t)n;
        size -= (size_t)n;
    }
    return 0;
}

static herr_t sink_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    (void)dxpl;
    (void)closing;
    sink_file *f = (sink_file *)file;
    if (f->eoa == f->eof)
        return 0;
    if (*f->info.io_errno == 0 && ftruncate(f->info.fd, (off_t)f->eoa) != 0)
        sink_fail(f, errno);
    f->eof = f->eoa;
    return 0;
}

static const H5FD_class_t sink_class = {
    .name = "oocsolve-writer",
    .maxaddr = SINK_MAXADDR,
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(sink_info),
    .open = sink_open,
    .close = sink_close,
    .query = sink_query,
    .get_eoa = sink_get_eoa,
    .set_eoa = sink_set_eoa,
    .get_eof = sink_get_eof,
    .get_handle = sink_get_handle,
    .read = sink_read,
    .write = sink_write,
    .truncate = sink_truncate,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

/* The driver's id, registered once per library lifetime (again if the
 * application shut HDF5 down with H5close in between); -1 on failure. */
static hid_t sink_driver(void)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static hid_t id = H5I_INVALID_HID;
    pthread_mutex_lock(&mu);
    if (id < 0 || H5Iis_valid(id) <= 0)
        id = H5FDregister(&sink_class);
    hid_t result = id;
    pthread_mutex_unlock(&mu);
    return result;
}

/* Record a failed write step: OOC_ERR_IO with "CONTEXT: strerror" when the
 * driver met an I/O error (the cause, whatever HDF5 said after it), else
 * HDF5's explanation (ooc_h5_fail_at).  Returns the status. */
static ooc_status writer_fail(const ooc_h5_writer *w, ooc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ooc_status writer_fail(const ooc_h5_writer *w, ooc_error *err, const char *fmt, ...)
{
    char context[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    if (!w->io_errno)
        return OOC_H5_FAIL(err, "%s", context);
    (void)ooc_h5_error_detail(); /* clears the stack */
    return OOC_FAIL(err, OOC_ERR_IO, "%s: %s", context, strerror(w->io_errno));
}

/* When an HDF5 step failed (cond) or the driver met an I/O error during it,
 * record writer_fail's message and jump to `out` with `status` set. */
#define WRITE_FAIL_IF(cond, w, err, ...)                                                           \
    do {                                                                                           \
        if ((cond) || (w)->io_errno) {                                                             \
            status = writer_fail((w), (err), __VA_ARGS__);                                         \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* ---- writing (caller's thread) ---------------------------------------- */

/* Record a failure so later calls on the writer report it again. */
static ooc_status remember_failure(ooc_h5_writer *w, ooc_status status, const ooc_error *err)
{
    w->failed = true;
    if (err)
        w->failure = *err;
    else
        ooc_error_set(&w->failure, status, __FILE__, __LINE__, "HDF5 writer failed");
    w->failure.status = status;
    return status;
}

/* Grow a dataset to `nrows` rows. */
static ooc_status set_rows(ooc_h5_writer *w, hid_t dset, const char *name, uint64_t nrows,
                           size_t ncols, ooc_error *err)
{
    hsize_t dims[2] = {(hsize_t)nrows, (hsize_t)ncols};
    if (H5Dset_extent(dset, dims) < 0 || w->io_errno)
        return writer_fail(w, err, "'%s': cannot extend %s to %llu rows", w->path, name,
                           (unsigned long long)nrows);
    return OOC_OK;
}

/* Write one dataset's part of the chunk of rows [first_row, end_row) (chunk
 * `index`), `ncols` columns and raw_nbytes before encoding; counted in the
 * writer's statistics. */
static ooc_status write_part(ooc_h5_writer *w, hid_t dset, const char *name, size_t ncols,
                             const chunk_part *part, size_t raw_nbytes, uint64_t index,
                             uint64_t first_row, uint64_t end_row, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hsize_t offset[2] = {(hsize_t)first_row, 0};
    OOC_CHECK(set_rows(w, dset, name, end_row, ncols, err));
    WRITE_FAIL_IF(H5Dwrite_chunk(dset, H5P_DEFAULT, part->filter_mask, offset,
                                 part->encoded_nbytes, part->encoded) < 0,
                  w, err, "'%s': cannot write %s chunk %llu (rows %llu..%llu)", w->path, name,
                  (unsigned long long)index, (unsigned long long)first_row,
                  (unsigned long long)end_row - 1);
    w->stats.raw_bytes += raw_nbytes;
    w->stats.stored_bytes += part->encoded_nbytes;
out:
    return status;
}

/* Write the encoded chunk in slot s to every dataset (one "chunk write"
 * span with the stored byte count). */
static ooc_status write_slot(ooc_h5_writer *w, const chunk_slot *s, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_trace_token span = ooc_trace_begin(w->trace, OOC_STAGE_CHUNK_WRITE);
    uint64_t first_row = s->index * (uint64_t)w->chunk_rows;
    uint64_t end_row = first_row + s->nrows;
    OOC_CHECK(write_part(w, w->dset_x, "/X", w->p, &s->x, w->x_chunk_nbytes, s->index, first_row,
                         end_row, err));
    if (w->with_y)
        OOC_CHECK(write_part(w, w->dset_y, "/Y", 1, &s->y, w->y_chunk_nbytes, s->index,
                             first_row, end_row, err));
    if (w->nkeep)
        OOC_CHECK(write_part(w, w->dset_k, "/keep", w->nkeep, &s->k, w->k_chunk_nbytes,
                             s->index, first_row, end_row, err));
    w->stats.nrows = end_row;
    ooc_trace_end_bytes(w->trace, span,
                        s->x.encoded_nbytes + (w->with_y ? s->y.encoded_nbytes : 0) +
                            (w->nkeep ? s->k.encoded_nbytes : 0));
out:
    return status;
}

/* Write the oldest chunk if it is encoded (or, with `wait`, once it is).
 * *wrote tells whether a chunk was written; with `wait`, false only when
 * every chunk was written and the pass ended (commit). */
static ooc_status write_next(ooc_h5_writer *w, bool wait, bool *wrote, ooc_error *err)
{
    *wrote = false;
    int slot;
    ooc_status status = ooc_ordered_pool_next(w->pool, wait, &slot, NULL, err);
    if (status != OOC_OK || slot < 0)
        return status;
    status = write_slot(w, &w->slots[slot], err);
    ooc_ordered_pool_release(w->pool, slot);
    *wrote = status == OOC_OK;
    return status;
}

/* Claim the slot for the next chunk, writing older chunks as needed. */
static ooc_status acquire_slot(ooc_h5_writer *w, ooc_error *err)
{
    int slot;
    uint64_t index;
    for (;;) {
        ooc_status status = ooc_ordered_pool_claim(w->pool, false, &slot, &index, err);
        if (status != OOC_OK)
            return status;
        if (slot >= 0)
            break;
        bool wrote;
        status = write_next(w, true, &wrote, err);
        if (status != OOC_OK)
            return status;
        if (!wrote)
            return OOC_FAIL(err, OOC_ERR_INTERNAL, "'%s': chunk ring stalled", w->path);
    }
    chunk_slot *s = &w->slots[slot];
    s->index = index;
    s->nrows = 0;
    w->filling = s;
    return OOC_OK;
}

/* Hand the filling slot to the workers (zero-padding a partial chunk), then
 * write whatever is already encoded without waiting. */
static ooc_status queue_filling(ooc_h5_writer *w, ooc_error *err)
{
    chunk_slot *s = w->filling;
    if (s->nrows < w->chunk_rows) {
        size_t pad_rows = w->chunk_rows - s->nrows;
        memset(s->x.raw + s->nrows * w->p, 0, pad_rows * w->p * sizeof(double));
        if (w->with_y)
            memset(s->y.raw + s->nrows, 0, pad_rows * sizeof(double));
        if (w->nkeep)
            memset(s->k.raw + s->nrows * w->nkeep, 0, pad_rows * w->nkeep * sizeof(double));
    }
    w->filling = NULL;
    ooc_ordered_pool_submit(w->pool, (int)(s - w->slots), OOC_OK, NULL);
    bool wrote = true;
    while (wrote) {
        ooc_status status = write_next(w, false, &wrote, err);
        if (status != OOC_OK)
            return status;
    }
    return OOC_OK;
}

ooc_status ooc_h5w_append(ooc_h5_writer *w, const double *X, const double *y, size_t nrows,
                          ooc_error *err)
{
    return ooc_h5w_append_kept(w, X, y, NULL, nrows, err);
}

ooc_status ooc_h5w_append_kept(ooc_h5_writer *w, const double *X, const double *y,
                               const double *keep, size_t nrows, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_quiet quiet = {0};
    if (!w)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_h5w_append: no writer");
    if (w->failed) {
        if (err)
            *err = w->failure;
        return w->failure.status;
    }
    if (nrows == 0)
        return OOC_OK;
    if (!X || (w->with_y && !y) || (w->nkeep && !keep))
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "'%s': append of %zu rows without %s", w->path,
                        nrows, !X ? "X values" : keep || !w->nkeep ? "y values" : "kept values");
    ooc_h5_quiet_begin(&quiet);
    while (nrows > 0) {
        if (!w->filling)
            OOC_CHECK(acquire_slot(w, err));
        chunk_slot *s = w->filling;
        size_t take = w->chunk_rows - s->nrows;
        if (take > nrows)
            take = nrows;
        memcpy(s->x.raw + s->nrows * w->p, X, take * w->p * sizeof(double));
        X += take * w->p;
        if (w->with_y) {
            memcpy(s->y.raw + s->nrows, y, take * sizeof(double));
            y += take;
        }
        if (w->nkeep) {
            memcpy(s->k.raw + s->nrows * w->nkeep, keep, take * w->nkeep * sizeof(double));
            keep += take * w->nkeep;
        }
        s->nrows += take;
        nrows -= take;
        if (s->nrows == w->chunk_rows)
            OOC_CHECK(queue_filling(w, err));
    }
out:
    ooc_h5_quiet_end(&quiet);
    if (status != OOC_OK)
        remember_failure(w, status, err);
    return status;
}

ooc_status ooc_h5w_put_levels(ooc_h5_writer *w, const char *name, const char *const *texts,
                              const size_t *lens, size_t n, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_quiet quiet = {0};
    hid_t group = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID,
          dset = H5I_INVALID_HID;
    char *buf = NULL;
    if (!w || w->file < 0)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_h5w_put_levels: no open writer");
    if (w->failed) {
        if (err)
            *err = w->failure;
        return w->failure.status;
    }
    size_t width = 1;
    for (size_t i = 0; i < n; i++)
        width = lens[i] > width ? lens[i] : width;
    OOC_FAIL_IF(n && width > SIZE_MAX / n, err, OOC_ERR_NOMEM, "too many level texts");
    buf = calloc(n ? n * width : 1, 1);
    OOC_FAIL_IF(!buf, err, OOC_ERR_NOMEM, "out of memory for %zu level texts", n);
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * width, texts[i], lens[i]);
    ooc_h5_quiet_begin(&quiet);
    htri_t exists = H5Lexists(w->file, "keep_levels", H5P_DEFAULT);
    group = exists > 0 ? H5Gopen2(w->file, "keep_levels", H5P_DEFAULT)
                       : H5Gcreate2(w->file, "keep_levels", H5P_DEFAULT, H5P_DEFAULT,
                                    H5P_DEFAULT);
    WRITE_FAIL_IF(exists < 0 || group < 0, w, err, "'%s': cannot create /keep_levels", w->path);
    type = H5Tcopy(H5T_C_S1);
    hsize_t dims[1] = {(hsize_t)n};
    space = H5Screate_simple(1, dims, NULL);
    OOC_H5_FAIL_IF(type < 0 || H5Tset_size(type, width) < 0 ||
                       H5Tset_strpad(type, H5T_STR_NULLPAD) < 0 || space < 0,
                   err, "'%s': cannot set up the type of /keep_levels/%s", w->path, name);
    dset = H5Dcreate2(group, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    WRITE_FAIL_IF(dset < 0, w, err, "'%s': cannot create /keep_levels/%s", w->path, name);
    WRITE_FAIL_IF(n && H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0, w, err,
                  "'%s': cannot write /keep_levels/%s", w->path, name);
out:
    status = ooc_h5_close(&dset, status, err);
    status = ooc_h5_close(&space, status, err);
    status = ooc_h5_close(&type, status, err);
    status = ooc_h5_close(&group, status, err);
    ooc_h5_quiet_end(&quiet);
    free(buf);
    if (status != OOC_OK)
        remember_failure(w, status, err);
    return status;
}

/* ---- creation ---------------------------------------------------------- */

/* Attributes that make PyTables see an EArray. */
static ooc_status put_earray_attrs(const ooc_h5_obj *dset, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const int32_t extdim = 0;
    OOC_CHECK(ooc_h5_attr_put_string(dset, "CLASS", "EARRAY", H5T_CSET_ASCII, err));
    OOC_CHECK(ooc_h5_attr_put_string(dset, "VERSION", "1.1", H5T_CSET_ASCII, err));
    OOC_CHECK(ooc_h5_attr_put_string(dset, "TITLE", "", H5T_CSET_ASCII, err));
    OOC_CHECK(ooc_h5_attr_put_number(dset, "EXTDIM", OOC_H5_INT32, &extdim, err));
out:
    return status;
}

/* Attributes that make PyTables see the root group. */
static ooc_status put_root_attrs(const ooc_h5_obj *root, ooc_error *err)
{
    ooc_status status = OOC_OK;
    OOC_CHECK(ooc_h5_attr_put_string(root, "CLASS", "GROUP", H5T_CSET_UTF8, err));
    OOC_CHECK(ooc_h5_attr_put_string(root, "PYTABLES_FORMAT_VERSION", "2.1", H5T_CSET_UTF8, err));
    OOC_CHECK(ooc_h5_attr_put_string(root, "TITLE", "", H5T_CSET_UTF8, err));
    OOC_CHECK(ooc_h5_attr_put_string(root, "VERSION", "1.0", H5T_CSET_UTF8, err));
out:
    return status;
}

/* The outcome of attribute writes that reported into attr_err: when the
 * driver met an I/O error meanwhile, writer_fail's message ("'OUT': cannot
 * write WHAT: No space left on device": the cause, whatever HDF5 said after
 * it), else attr_err's own failure, else OOC_OK. */
static ooc_status attrs_written(const ooc_h5_writer *w, ooc_status status,
                                const ooc_error *attr_err, const char *what, ooc_error *err)
{
    if (w->io_errno)
        return writer_fail(w, err, "'%s': cannot write %s", w->path, what);
    if (status != OOC_OK && err && err->status == OOC_OK)
        *err = *attr_err;
    return status;
}

/* Add the writer's filters to dcpl for chunks of chunk_nbytes bytes: shuffle
 * and deflate, or blosc alone, declared optional (see the file comment). */
static herr_t set_filters(const ooc_h5_writer *w, hid_t dcpl, size_t chunk_nbytes)
{
    if (w->blosc) {
        unsigned cd_values[OOC_BLOSC_NPARAMS];
        ooc_blosc_cd_values(&w->codec, w->level, w->shuffle, sizeof(double), chunk_nbytes,
                            cd_values);
        return H5Pset_filter(dcpl, OOC_H5Z_FILTER_BLOSC, H5Z_FLAG_OPTIONAL, OOC_BLOSC_NPARAMS,
                             cd_values);
    }
    if (w->shuffle && H5Pset_shuffle(dcpl) < 0)
        return -1;
    return w->level > 0 ? H5Pset_deflate(dcpl, (unsigned)w->level) : 0;
}

/* Create /X (rank 2) or /Y (rank 1) with `nrows` rows (unlimited rows when
 * `extendible`), the creation properties dcpl, and PyTables' EArray
 * attributes. */
static ooc_status create_dataset(ooc_h5_writer *w, const char *name, int rank, hsize_t nrows,
                                 size_t ncols, bool extendible, hid_t dcpl, hid_t *out,
                                 ooc_error *err)
{
    ooc_status status = OOC_OK;
    hsize_t dims[2] = {nrows, (hsize_t)ncols};
    hsize_t maxdims[2] = {extendible ? H5S_UNLIMITED : nrows, (hsize_t)ncols};
    hid_t space = H5I_INVALID_HID;
    *out = H5I_INVALID_HID;

    space = H5Screate_simple(rank, dims, maxdims);
    OOC_H5_FAIL_IF(space < 0, err, "'%s': cannot create the dataspace of /%s", w->path, name);
    *out = H5Dcreate2(w->file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    WRITE_FAIL_IF(*out < 0, w, err, "'%s': cannot create dataset /%s", w->path, name);
    char what[40], obj_name[16];
    snprintf(what, sizeof what, "the attributes of /%s", name);
    snprintf(obj_name, sizeof obj_name, "/%s", name);
    const ooc_h5_obj dset = {*out, obj_name, w->path};
    ooc_error attr_err = {0};
    OOC_CHECK(attrs_written(w, put_earray_attrs(&dset, &attr_err), &attr_err, what, err));
out:
    return ooc_h5_close(&space, status, err);
}

/* Create /X (rank 2, p columns), /Y (rank 1) or /keep (rank 2, nkeep
 * columns), empty, with the writer's chunking and filters. */
static ooc_status create_chunked(ooc_h5_writer *w, const char *name, int rank, size_t ncols,
                                 hid_t *out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hsize_t chunk[2] = {(hsize_t)w->chunk_rows, (hsize_t)ncols};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    OOC_H5_FAIL_IF(dcpl < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0 ||
                       set_filters(w, dcpl, w->chunk_rows * (rank == 2 ? ncols : 1) *
                                                sizeof(double)) < 0 ||
                       H5Pset_obj_track_times(dcpl, 0) < 0,
                   err, "'%s': cannot set up chunking and filters of /%s", w->path, name);
    OOC_CHECK(create_dataset(w, name, rank, 0, ncols, true, dcpl, out, err));
out:
    return ooc_h5_close(&dcpl, status, err);
}

/* Create w->out's temporary file through the writer's driver, with
 * PyTables' root attributes, as w->file. */
static ooc_status create_file(ooc_h5_writer *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    /* The writer's driver (see "the writer's file driver").  SEMI: H5Fclose
     * fails instead of silently deferring if an object is still open, so a
     * successful close means the file is complete.  Format 1.8+ lets
     * attributes larger than 64 KiB (many column names) go to dense
     * storage. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    sink_info sink = {.fd = w->out.fd, .io_errno = &w->io_errno};
    hid_t driver = sink_driver();
    OOC_H5_FAIL_IF(fapl < 0 || driver < 0 || H5Pset_driver(fapl, driver, &sink) < 0 ||
                       H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI) < 0 ||
                       H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0,
                   err, "'%s': cannot set up file access properties", w->path);
    w->file = H5Fcreate(w->out.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    WRITE_FAIL_IF(w->file < 0, w, err, "cannot create HDF5 file '%s' (temporary for '%s')",
                  w->out.tmp_path, w->path);
    const ooc_h5_obj root = {w->file, "/", w->path};
    ooc_error attr_err = {0};
    OOC_CHECK(attrs_written(w, put_root_attrs(&root, &attr_err), &attr_err,
                            "the root group's attributes", err));
out:
    return ooc_h5_close(&fapl, status, err);
}

/* The attributes of dataset `name` (/X or /keep): the formula, ncols column
 * names, what the formula's stateful transforms learned (each may be NULL). */
static ooc_status put_names(ooc_h5_writer *w, hid_t dset, const char *name, const char *formula,
                            const char *const *column_names, size_t ncols,
                            const char *transforms, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const ooc_h5_obj x = {dset, name, w->path};
    ooc_error attr_err = {0};
    char what[64];
    snprintf(what, sizeof what, "the formula attribute of %s", name);
    if (formula)
        OOC_CHECK(attrs_written(
            w, ooc_h5_attr_put_string(&x, "formula", formula, H5T_CSET_UTF8, &attr_err),
            &attr_err, what, err));
    if (column_names) {
        for (size_t j = 0; j < ncols; j++)
            OOC_FAIL_IF(!column_names[j], err, OOC_ERR_INVALID_ARG,
                        "'%s': column name %zu of %s is missing", w->path, j, name);
        snprintf(what, sizeof what, "the column_names attribute of %s", name);
        OOC_CHECK(attrs_written(
            w, ooc_h5_attr_put_strings(&x, "column_names", column_names, ncols, &attr_err),
            &attr_err, what, err));
    }
    if (transforms)
        OOC_CHECK(attrs_written(w,
                                ooc_h5_attr_put_string(&x, OOC_H5_TRANSFORMS_ATTR, transforms,
                                                       H5T_CSET_UTF8, &attr_err),
                                &attr_err, "the " OOC_H5_TRANSFORMS_ATTR " attribute of /X",
                                err));
out:
    return status;
}

/* Allocate the slot ring and start the encode workers. */
static ooc_status start_pipeline(ooc_h5_writer *w, int nthreads, ooc_error *err)
{
    ooc_status status = OOC_OK;
    bool filters = w->shuffle || w->level > 0;
    w->nworkers = (size_t)nthreads;
    w->nslots = 2 * w->nworkers + 1; /* workers busy, caller filling, one being written */
    w->workers = calloc(w->nworkers, sizeof *w->workers);
    w->slots = calloc(w->nslots, sizeof *w->slots);
    OOC_FAIL_IF(!w->workers || !w->slots, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < w->nslots; i++) {
        chunk_slot *s = &w->slots[i];
        s->x.raw = malloc(w->x_chunk_nbytes);
        OOC_FAIL_IF(!s->x.raw, err, OOC_ERR_NOMEM, "out of memory allocating chunk buffers");
        if (filters) {
            s->x.encoded_buf = malloc(w->x_chunk_nbytes);
            OOC_FAIL_IF(!s->x.encoded_buf, err, OOC_ERR_NOMEM,
                        "out of memory allocating chunk buffers");
        }
        chunk_part *parts[2] = {w->with_y ? &s->y : NULL, w->nkeep ? &s->k : NULL};
        size_t nbytes[2] = {w->y_chunk_nbytes, w->k_chunk_nbytes};
        for (int j = 0; j < 2; j++) {
            if (!parts[j])
                continue;
            parts[j]->raw = malloc(nbytes[j]);
            OOC_FAIL_IF(!parts[j]->raw, err, OOC_ERR_NOMEM,
                        "out of memory allocating chunk buffers");
            if (filters) {
                parts[j]->encoded_buf = malloc(nbytes[j]);
                OOC_FAIL_IF(!parts[j]->encoded_buf, err, OOC_ERR_NOMEM,
                            "out of memory allocating chunk buffers");
            }
        }
    }
    for (size_t i = 0; i < w->nworkers; i++) {
        encode_worker *wk = &w->workers[i];
        if (w->level > 0 && !w->blosc) {
            OOC_CHECK(ooc_zlib_compressor_new(w->level, &wk->compressor, err));
            if (w->shuffle) {
                size_t most = w->x_chunk_nbytes > w->y_chunk_nbytes ? w->x_chunk_nbytes
                                                                    : w->y_chunk_nbytes;
                wk->scratch = malloc(most > w->k_chunk_nbytes ? most : w->k_chunk_nbytes);
                OOC_FAIL_IF(!wk->scratch, err, OOC_ERR_NOMEM, "out of memory");
            }
        }
    }
    ooc_ordered_pool_config pc = {
        .nslots = (int)w->nslots,
        .nworkers = nthreads,
        .ctx = w,
        .worker_begin = name_encoder,
        .process = encode_slot,
    };
    OOC_CHECK(ooc_ordered_pool_create(&pc, &w->pool, err));
out:
    return status;
}

/* Close the datasets, then the file.  Used on failure paths and by abort,
 * where nothing can be reported; through the writer's driver no close fails
 * on I/O, so every id is released. */
static void discard_hdf5(ooc_h5_writer *w)
{
    ooc_status status = OOC_OK;
    status = ooc_h5_close(&w->dset_x, status, NULL);
    status = ooc_h5_close(&w->dset_y, status, NULL);
    status = ooc_h5_close(&w->dset_k, status, NULL);
    (void)ooc_h5_close(&w->file, status, NULL);
}

/* Free everything the writer owns (workers must be stopped, HDF5 closed). */
static void free_writer(ooc_h5_writer *w)
{
    if (w->workers) {
        for (size_t i = 0; i < w->nworkers; i++) {
            ooc_zlib_compressor_free(w->workers[i].compressor);
            free(w->workers[i].scratch);
        }
    }
    if (w->slots) {
        for (size_t i = 0; i < w->nslots; i++) {
            free(w->slots[i].x.raw);
            free(w->slots[i].x.encoded_buf);
            free(w->slots[i].y.raw);
            free(w->slots[i].y.encoded_buf);
            free(w->slots[i].k.raw);
            free(w->slots[i].k.encoded_buf);
        }
    }
    free(w->workers);
    free(w->slots);
    free(w->path);
    free(w);
}

ooc_status ooc_h5w_create(const ooc_h5_writer_options *opts, ooc_h5_writer **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_writer *w = NULL;
    ooc_h5_quiet quiet = {0};

    *out = NULL;
    OOC_FAIL_IF(!opts || !opts->path || !*opts->path, err, OOC_ERR_INVALID_ARG,
                "HDF5 writer: no output path");
    OOC_FAIL_IF(opts->ncols == 0, err, OOC_ERR_INVALID_ARG, "'%s': X needs at least one column",
                opts->path);
    OOC_FAIL_IF(opts->level < 0 || opts->level > 9, err, OOC_ERR_INVALID_ARG,
                "'%s': deflate level must be 0..9, got %d", opts->path, opts->level);
    OOC_FAIL_IF(opts->nthreads < 0, err, OOC_ERR_INVALID_ARG,
                "'%s': thread count must be >= 0, got %d", opts->path, opts->nthreads);
    OOC_FAIL_IF(opts->ncols > MAX_CHUNK_NBYTES / sizeof(double), err, OOC_ERR_INVALID_ARG,
                "'%s': %zu columns do not fit in one HDF5 chunk", opts->path, opts->ncols);

    w = calloc(1, sizeof *w);
    OOC_FAIL_IF(!w, err, OOC_ERR_NOMEM, "out of memory");
    w->file = w->dset_x = w->dset_y = w->dset_k = H5I_INVALID_HID;
    w->path = strdup(opts->path);
    OOC_FAIL_IF(!w->path, err, OOC_ERR_NOMEM, "out of memory");
    w->p = opts->ncols;
    w->with_y = opts->with_y;
    w->nkeep = opts->nkeep;
    w->level = opts->level;
    w->shuffle = opts->shuffle;
    w->codec = opts->codec;
    w->blosc = opts->codec.blosc && opts->level > 0;
    w->durable = opts->durable;
    w->trace = opts->trace;
    /* The compression filter's place in the pipeline: after HDF5's shuffle
     * for deflate; blosc is alone. */
    w->compress_skip_mask = 1u << (opts->shuffle && !w->blosc ? 1 : 0);
    w->chunk_rows = opts->chunk_rows;
    if (w->chunk_rows == 0) {
        size_t row_nbytes = w->p * sizeof(double);
        w->chunk_rows = (AUTO_CHUNK_NBYTES + row_nbytes / 2) / row_nbytes;
        if (w->chunk_rows == 0)
            w->chunk_rows = 1;
    }
    OOC_FAIL_IF(w->chunk_rows > MAX_CHUNK_NBYTES / (w->p * sizeof(double)), err,
                OOC_ERR_INVALID_ARG,
                "'%s': chunks of %zu rows x %zu columns exceed HDF5's 4 GiB chunk limit",
                w->path, w->chunk_rows, w->p);
    OOC_FAIL_IF(w->blosc && w->chunk_rows > (size_t)BLOSC_MAX_BUFFERSIZE / (w->p * sizeof(double)),
                err, OOC_ERR_INVALID_ARG,
                "'%s': chunks of %zu rows x %zu columns exceed blosc's limit of %d bytes",
                w->path, w->chunk_rows, w->p, BLOSC_MAX_BUFFERSIZE);
    w->x_chunk_nbytes = w->chunk_rows * w->p * sizeof(double);
    w->y_chunk_nbytes = w->chunk_rows * sizeof(double);
    OOC_FAIL_IF(w->nkeep && w->chunk_rows > MAX_CHUNK_NBYTES / (w->nkeep * sizeof(double)), err,
                OOC_ERR_INVALID_ARG, "'%s': chunks of %zu rows x %zu kept columns are too large",
                w->path, w->chunk_rows, w->nkeep);
    w->k_chunk_nbytes = w->chunk_rows * w->nkeep * sizeof(double);
    w->stats.chunk_rows = w->chunk_rows;

    int nthreads = ooc_ordered_pool_default_threads(opts->nthreads);
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;

    OOC_CHECK(ooc_outfile_begin(&w->out, w->path, err));
    OOC_CHECK(start_pipeline(w, nthreads, err));

    ooc_h5_quiet_begin(&quiet);
    OOC_CHECK(create_file(w, err));
    OOC_CHECK(create_chunked(w, "X", 2, w->p, &w->dset_x, err));
    OOC_CHECK(put_names(w, w->dset_x, "/X", opts->formula, opts->column_names, w->p,
                        opts->transforms, err));
    if (w->with_y)
        OOC_CHECK(create_chunked(w, "Y", 1, 1, &w->dset_y, err));
    if (w->nkeep) {
        OOC_CHECK(create_chunked(w, "keep", 2, w->nkeep, &w->dset_k, err));
        OOC_CHECK(put_names(w, w->dset_k, "/keep", NULL, opts->keep_names, w->nkeep, NULL, err));
    }
    *out = w;
    w = NULL;
out:
    ooc_h5w_abort(w);
    ooc_h5_quiet_end(&quiet);
    return status;
}

/* ---- commit / abort ---------------------------------------------------- */

/* Close the datasets, then the file, reporting a failure.  Datasets before
 * the file; a failed close is never retried (it may have freed its object).
 * Closing the file writes the metadata: a full disk shows in io_errno, and
 * abort deletes the file. */
static ooc_status close_file(ooc_h5_writer *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    herr_t rc_x = H5Dclose(w->dset_x);
    w->dset_x = H5I_INVALID_HID;
    WRITE_FAIL_IF(rc_x < 0, w, err, "'%s': cannot close /X", w->path);
    if (w->dset_y >= 0) {
        herr_t rc_y = H5Dclose(w->dset_y);
        w->dset_y = H5I_INVALID_HID;
        WRITE_FAIL_IF(rc_y < 0, w, err, "'%s': cannot close /Y", w->path);
    }
    if (w->dset_k >= 0) {
        herr_t rc_k = H5Dclose(w->dset_k);
        w->dset_k = H5I_INVALID_HID;
        WRITE_FAIL_IF(rc_k < 0, w, err, "'%s': cannot close /keep", w->path);
    }
    herr_t rc_f = H5Fclose(w->file);
    w->file = H5I_INVALID_HID;
    WRITE_FAIL_IF(rc_f < 0, w, err, "cannot write HDF5 file '%s' (temporary for '%s')",
                  w->out.tmp_path, w->path);
out:
    return status;
}

ooc_status ooc_h5w_finish(ooc_h5_writer *w, ooc_h5_write_stats *stats, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_quiet quiet = {0};
    if (!w)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_h5w_finish: no writer");
    if (w->failed) {
        if (err)
            *err = w->failure;
        return w->failure.status;
    }
    if (w->file < 0) /* finished before */
        goto done;
    ooc_h5_quiet_begin(&quiet);
    if (w->filling && w->filling->nrows > 0)
        OOC_CHECK(queue_filling(w, err));
    w->filling = NULL;
    ooc_ordered_pool_end(w->pool); /* an empty filling slot goes back unused */
    for (bool wrote = true; wrote;)
        OOC_CHECK(write_next(w, true, &wrote, err));
    stop_workers(w);
    OOC_CHECK(close_file(w, err));
done:
    if (stats)
        *stats = w->stats;
out:
    ooc_h5_quiet_end(&quiet);
    if (status != OOC_OK)
        remember_failure(w, status, err);
    return status;
}

ooc_status ooc_h5w_commit(ooc_h5_writer *w, ooc_h5_write_stats *stats, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (!w)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_h5w_commit: no writer");
    OOC_CHECK(ooc_h5w_finish(w, stats, err));
    OOC_CHECK(ooc_outfile_commit(&w->out, w->durable, err)); /* removes it on failure */
out:
    ooc_h5w_abort(w);
    return status;
}

void ooc_h5w_abort(ooc_h5_writer *w)
{
    if (!w)
        return;
    ooc_h5_quiet quiet;
    ooc_h5_quiet_begin(&quiet);
    stop_workers(w);
    discard_hdf5(w);
    ooc_h5_quiet_end(&quiet);
    ooc_outfile_abort(&w->out);
    free_writer(w);
}

/* ---- the joining file (several processes' parts as one design) --------- */

/* `name` as the file name of a virtual dataset's source: HDF5 reads '%' there
 * as a printf-like pattern, so it is doubled.  Returns a malloc'ed string or
 * NULL. */
static char *vds_file_name(const char *name)
{
    size_t n = strlen(name), extra = 0;
    for (size_t i = 0; i < n; i++)
        extra += name[i] == '%';
    char *out = malloc(n + extra + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        *o++ = name[i];
        if (name[i] == '%')
            *o++ = '%';
    }
    *o = '\0';
    return out;
}

/* The creation properties of /X (rank 2) or /Y (rank 1) as a virtual dataset
 * of the parts' datasets of the same name, one after the other, into *dcpl. */
static ooc_status virtual_dcpl(ooc_h5_writer *w, const ooc_h5_join_options *o, const char *name,
                               int rank, hid_t *dcpl, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t vspace = H5I_INVALID_HID, src = H5I_INVALID_HID;
    char *file = NULL, dset[8];
    snprintf(dset, sizeof dset, "/%s", name);
    uint64_t total = 0;
    for (size_t k = 0; k < o->nparts; k++)
        total += o->part_rows[k];
    *dcpl = H5Pcreate(H5P_DATASET_CREATE);
    OOC_H5_FAIL_IF(*dcpl < 0 || H5Pset_obj_track_times(*dcpl, 0) < 0, err,
                   "'%s': cannot set up the mapping of /%s", w->path, name);
    hsize_t dims[2] = {(hsize_t)total, (hsize_t)w->p};
    vspace = H5Screate_simple(rank, dims, NULL);
    OOC_H5_FAIL_IF(vspace < 0, err, "'%s': cannot create the dataspace of /%s", w->path, name);
    uint64_t at = 0;
    for (size_t k = 0; k < o->nparts; k++) {
        if (o->part_rows[k] == 0)
            continue; /* a part without rows maps nothing */
        hsize_t start[2] = {(hsize_t)at, 0}, count[2] = {1, 1};
        hsize_t block[2] = {(hsize_t)o->part_rows[k], (hsize_t)w->p};
        free(file);
        file = vds_file_name(o->part_names[k]);
        OOC_FAIL_IF(!file, err, OOC_ERR_NOMEM, "out of memory");
        src = H5Screate_simple(rank, block, NULL);
        OOC_H5_FAIL_IF(src < 0 ||
                           H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start, NULL, count,
                                               block) < 0 ||
                           H5Pset_virtual(*dcpl, vspace, file, dset, src) < 0,
                       err, "'%s': cannot map rows %llu..%llu of /%s to '%s'", w->path,
                       (unsigned long long)at, (unsigned long long)(at + o->part_rows[k] - 1),
                       name, o->part_names[k]);
        OOC_CHECK(ooc_h5_close(&src, OOC_OK, err));
        at += o->part_rows[k];
    }
out:
    free(file);
    status = ooc_h5_close(&src, status, err);
    return ooc_h5_close(&vspace, status, err);
}

ooc_status ooc_h5_join_write(const ooc_h5_join_options *o, ooc_outfile *out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_quiet quiet = {0};
    hid_t dcpl = H5I_INVALID_HID;
    /* a writer without a pipeline: its path, shape, file and driver state */
    ooc_h5_writer w = {.path = (char *)o->path, .p = o->ncols, .with_y = o->with_y,
                       .file = H5I_INVALID_HID, .dset_x = H5I_INVALID_HID,
                       .dset_y = H5I_INVALID_HID, .dset_k = H5I_INVALID_HID};
    OOC_FAIL_IF(o->ncols == 0, err, OOC_ERR_INVALID_ARG, "'%s': X needs at least one column",
                o->path);
    OOC_CHECK(ooc_outfile_begin(&w.out, o->path, err));
    ooc_h5_quiet_begin(&quiet);
    OOC_CHECK(create_file(&w, err));
    uint64_t total = 0;
    for (size_t k = 0; k < o->nparts; k++)
        total += o->part_rows[k];
    for (int rank = 2; rank >= (o->with_y ? 1 : 2); rank--) {
        const char *name = rank == 2 ? "X" : "Y";
        hid_t *dset = rank == 2 ? &w.dset_x : &w.dset_y;
        OOC_CHECK(virtual_dcpl(&w, o, name, rank, &dcpl, err));
        OOC_CHECK(create_dataset(&w, name, rank, (hsize_t)total, rank == 2 ? w.p : 1, false,
                                 dcpl, dset, err));
        OOC_CHECK(ooc_h5_close(&dcpl, OOC_OK, err));
    }
    OOC_CHECK(put_names(&w, w.dset_x, "/X", o->formula, o->column_names, w.p, o->transforms,
                        err));
    OOC_CHECK(close_file(&w, err));
    *out = w.out;
    w.out = (ooc_outfile){0};
out:
    status = ooc_h5_close(&dcpl, status, err);
    discard_hdf5(&w);
    ooc_h5_quiet_end(&quiet);
    ooc_outfile_abort(&w.out);
    return status;
}

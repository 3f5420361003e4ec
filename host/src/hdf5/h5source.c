/*
 * h5source.c — ooc_source over an HDF5 design matrix (/X, /Y, optional
 * weights), read with direct chunk reads and decoded on worker threads.
 *
 * Pipeline (one block = block_rows consecutive rows of [X y w]):
 *   producer thread (the only thread that calls libhdf5 during a pass): for
 *     every chunk of every input dataset intersecting the block's rows,
 *     H5Dget_chunk_storage_size + H5Dread_chunk copy the raw (still filtered)
 *     bytes and the chunk's filter mask into the slot's staging buffer.
 *     Datasets whose filters we do not decode ourselves (szip, plugins),
 *     contiguous/compact datasets and other special layouts are read with
 *     H5Dread of the block's hyperslab instead (HDF5 decodes them).
 *   worker threads: undo each chunk's filters in reverse pipeline order
 *     (fletcher32 verify+strip, deflate, blosc, shuffle; a set bit i in the
 *     chunk's filter mask means filter i was skipped), convert the elements
 *     to double and scatter them into the block's row-major [X y w] buffer,
 *     then check every value is finite.
 *   consumer: receives blocks in row order through the ring (ring.h).
 * Raw mode (set_raw, for a pass): when every dataset is deflate or shuffle +
 * deflate float64 read by direct chunk reads, laid out in the rows as
 * stored, the workers only list the block's chunks (ooc_raw_block: the
 * stored zlib streams; a chunk that skipped a filter or was never written is
 * decoded here and listed as values) and the backend decodes them
 * (backend.h accumulate_raw, on the GPU).
 *
 * A file whose X (and Y, weights) are virtual datasets joining whole datasets
 * of other files one after the other (a parallel ingest's output, h5join.h)
 * is opened as those files (ooc_source_open_files): direct chunk reads on
 * the parts instead of H5Dread through the mapping, and a part that is
 * missing or of another shape is an error rather than fill values.
 *
 * All rows are 0-based in messages.  A chunk is named by its dataset, first
 * row and column, the file, its index and its rows ("'/Y' chunk at row 3000,
 * column 0 of 'f.h5' (chunk 3, rows 3000..3999)"), and sizes quoted are that
 * dataset's own.
 *
 * Damaged files: every HDF5 failure becomes a message naming the dataset (and
 * chunk); the producer thread leaves its HDF5 error stack empty after one
 * (ooc_h5_error_detail), since a thread that ends with a non-empty stack keeps
 * HDF5 1.10 from shutting down.  A chunk missing from an index that lists as
 * many chunks as the dataset has is damage (an index entry with a flipped
 * offset), not an unwritten chunk, and is reported rather than read as the
 * fill value.
 *
 * During a pass the producer thread calls libhdf5 while the caller's thread
 * may too (e.g. to write results): that relies on the thread-safe libhdf5
 * build (Debian's serial package is one, H5_HAVE_THREADSAFE); the source
 * itself never calls HDF5 from two of its threads at once.
 *
 * ooc_h5_read_transforms (source.h) opens a file as this source to take what
 * its formula's stateful transforms learned (ingest's and the CSV source's
 * transforms_from).
 *
 * Profiling (options.trace): the producer records "chunk read" spans (one
 * per H5Dread_chunk or H5Dread, with the stored bytes) on its lane "hdf5
 * reader"; workers ("decode N") record "decompress" and "unshuffle" spans
 * per chunk.  Two counters are sampled: the ring buffers in use and the
 * rate of stored bytes read.
 */
#include "stream/source.h"

#include "base/error.h"
#include "hdf5/h5attr.h"
#include "hdf5/h5join.h"
#include "hdf5/h5write.h"
#include "hdf5/h5util.h"
#include "stream/ring.h"
#include "profile/trace.h"
#include "hdf5/zcodec.h"

#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Automatic block size: about this many bytes of [X y w] per block.  Small
 * enough that the ring (nworkers + 2 blocks plus their staging) stays near
 * 50 MB: every buffer is touched for the first time during the pass, and
 * first touches cost CPU time the decoders need (2.5M-row seed file: 4 MiB
 * blocks and 6 slots 0.48 s, 2 MiB and 4 slots 0.46 s; 84 vs 47 MB RSS). */
#define AUTO_BLOCK_NBYTES ((size_t)2 << 20)
/* ... raised up to this size when chunks are tall (see build_pipeline). */
#define MAX_AUTO_BLOCK_NBYTES ((size_t)64 << 20)
/* Filters we decode ourselves; anything else goes through H5Dread. */
#define FILTER_DEFLATE H5Z_FILTER_DEFLATE
#define FILTER_SHUFFLE H5Z_FILTER_SHUFFLE
#define FILTER_FLETCHER32 H5Z_FILTER_FLETCHER32
/* Blosc (PyTables' filter, or hdf5plugin's) with any compressor libblosc
 * has; decoded here without an HDF5 plugin (zcodec.h). */
#define FILTER_BLOSC OOC_H5Z_FILTER_BLOSC
#define FLETCHER32_NBYTES 4
#define MAX_FILTERS 32
/* Chunk cache of datasets read with H5Dread (a prime number of hash slots). */
#define LIBRARY_CACHE_NBYTES ((size_t)32 << 20)
#define LIBRARY_CACHE_SLOTS 10007
/* Slack after a decoded chunk so a corrupt stream that inflates larger than
 * the chunk is reported as a size mismatch rather than an overflow. */
#define DECODE_SLACK 64

/* X, Y, weights, kept columns. */
#define MAX_INPUTS 4

/* How a stored element is converted to double. */
typedef struct elem_format {
    bool is_float;  /* IEEE float (size 4 or 8) else integer */
    bool is_signed; /* integers */
    bool big_endian;
    size_t size; /* bytes per element */
} elem_format;

/* One input dataset and where its columns go in the block. */
typedef struct h5_input {
    const char *role; /* "X", "Y" or "weights" (for messages) */
    char *name;       /* dataset path as given */
    hid_t dset;
    hsize_t nrows;
    hsize_t ncols; /* 1 for 1-D datasets */
    int rank;
    bool direct;        /* direct chunk reads; false: H5Dread of hyperslabs */
    hsize_t chunk_rows; /* chunk shape (direct reads only) */
    hsize_t chunk_cols;
    size_t chunk_nbytes; /* decoded bytes of one chunk */
    int nfilters;
    H5Z_filter_t filters[MAX_FILTERS];
    elem_format fmt;
    double fill;          /* value of unallocated chunks */
    int index_complete;   /* the chunk index lists every chunk of the dataset: 1 yes, 0 no,
                             -1 not known yet (index_is_complete; producer thread) */
    int *dest_col;        /* ncols entries: block column of each dataset column */
    bool dest_contiguous; /* dest_col[j] == dest_col[0] + j for all j */
} h5_input;

/* Raw bytes of one chunk (or one H5Dread hyperslab) staged for a worker. */
typedef struct chunk_ref {
    int input;
    uint64_t row0; /* first dataset row of the chunk (or hyperslab) */
    uint64_t col0; /* first dataset column of the chunk */
    size_t offset; /* into the slot's staging buffer */
    size_t nbytes; /* stored bytes; 0: unallocated chunk (fill value) */
    uint32_t filter_mask;
    bool dense; /* H5Dread doubles for the block's rows x all columns */
} chunk_ref;

typedef struct h5_source h5_source;

/* Everything the producer prepared for one block. */
typedef struct slot_job {
    const h5_source *owner;
    uint64_t first_row;
    size_t nrows;
    unsigned char *staging;
    size_t staging_cap;
    size_t staging_used;
    chunk_ref *chunks;
    size_t nchunks;
    size_t chunks_cap;
    /* raw pass: chunk i of `chunks` as raw_chunks[i], its bytes at raw_offset[i] of staging */
    ooc_raw_chunk *raw_chunks;
    size_t *raw_offset;
    size_t raw_cap;
    ooc_raw_block raw;
} slot_job;

/* Per worker thread: zlib decompressor and two ping-pong decode buffers. */
typedef struct worker_scratch {
    ooc_zlib_decompressor *inflater;
    unsigned char *buf[2];
    double *converted; /* chunk converted to double (non-native element types) */
} worker_scratch;

struct h5_source {
    ooc_source pub;              /* pub.nrows: the rows of the range read */
    uint64_t row_begin;          /* first dataset row read (options' row_begin) */
    char *path;
    hid_t file;
    h5_input inputs[MAX_INPUTS]; /* X, then Y, the weights, /keep as asked for */
    size_t width;         /* doubles per row in the ring: ncols, then /keep's columns */
    size_t *key_col;      /* pub.nkeys: the block column of each key */
    uint64_t **keys;      /* per slot: block_rows x nkeys */
    int ninputs;
    int *col_input;      /* block column -> input index */
    hsize_t *col_source; /* block column -> dataset column */
    size_t decode_cap;   /* bytes of each worker decode buffer */
    size_t max_chunk_elems;
    int nworkers;
    worker_scratch *scratch;
    int nslots;
    slot_job *jobs;
    ooc_block *blocks;
    ooc_ring *ring;
    bool pass_started;
    ooc_trace *trace;                /* may be NULL */
    atomic_uint_least64_t bytes_read; /* stored bytes staged by the producer (all passes) */
    int counter_in_use, counter_bytes; /* trace counter ids, -1 when not registered */
    ooc_log_sink log;
    bool raw_next;                   /* set_raw: the next pass delivers raw blocks */
    bool raw_pass;                   /* this pass does (read by the ring's threads) */
};

/* Producer thread start: no HDF5 error printing, and its trace lane name. */
static void producer_begin(void *ctx)
{
    const h5_source *s = ctx;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ooc_trace_name_thread(s->trace, "hdf5 reader");
}

/* Worker thread start: its trace lane name ("decode 1", ...). */
static void worker_begin(void *ctx, int worker)
{
    const h5_source *s = ctx;
    char lane[32];
    snprintf(lane, sizeof lane, "decode %d", worker + 1);
    ooc_trace_name_thread(s->trace, lane);
}

/* Trace counter readers (called by the sampler thread). */
static double read_ring_in_use(void *ctx)
{
    const h5_source *s = ctx;
    return (double)ooc_ring_slots_in_use(s->ring);
}

static double read_bytes_read(void *ctx)
{
    h5_source *s = ctx;
    return (double)atomic_load_explicit(&s->bytes_read, memory_order_relaxed);
}

/* ----------------------------------------------------------- element formats */

static uint64_t load_uint(const unsigned char *p, size_t size, bool big_endian)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++) {
        size_t k = big_endian ? i : size - 1 - i;
        v = (v << 8) | p[k];
    }
    return v;
}

/* One stored element as double. */
static double load_elem(const unsigned char *p, const elem_format *f)
{
    uint64_t bits = load_uint(p, f->size, f->big_endian);
    if (f->is_float) {
        if (f->size == 8) {
            double d;
            memcpy(&d, &bits, sizeof d);
            return d;
        }
        uint32_t b32 = (uint32_t)bits;
        float x;
        memcpy(&x, &b32, sizeof x);
        return (double)x;
    }
    if (f->is_signed && f->size < 8 && (bits >> (8 * f->size - 1)) & 1)
        bits |= ~(uint64_t)0 << (8 * f->size);
    return f->is_signed ? (double)(int64_t)bits : (double)bits;
}

static bool is_native_double(const elem_format *f)
{
    static const union {
        uint16_t u;
        unsigned char c[2];
    } probe = {1};
    return f->is_float && f->size == 8 && f->big_endian == (probe.c[0] == 0);
}

/* --------------------------------------------------------------- fletcher32 */

/* HDF5's Fletcher-32 over 16-bit big-endian words (odd trailing byte as the
 * high byte of a last word), sums folded to 16 bits. */
static uint32_t fletcher32(const unsigned char *data, size_t nbytes)
{
    uint32_t sum1 = 0, sum2 = 0;
    size_t words = nbytes / 2;
    while (words) {
        size_t run = words > 360 ? 360 : words; /* keeps sum2 below 2^32 */
        words -= run;
        for (size_t i = 0; i < run; i++, data += 2) {
            sum1 += ((uint32_t)data[0] << 8) | data[1];
            sum2 += sum1;
        }
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    if (nbytes % 2) {
        sum1 += (uint32_t)data[0] << 8;
        sum2 += sum1;
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return (sum2 << 16) | sum1;
}

/* The stored checksum (little-endian, last 4 bytes) matches the data, or its
 * byte-pair-swapped form that HDF5 before 1.6.3 wrote and still accepts. */
static bool fletcher32_ok(const unsigned char *data, size_t nbytes)
{
    const unsigned char *c = data + nbytes - FLETCHER32_NBYTES;
    uint32_t stored =
        (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
    uint32_t sum = fletcher32(data, nbytes - FLETCHER32_NBYTES);
    uint32_t swapped = ((sum & 0x00ff00ffu) << 8) | ((sum >> 8) & 0x00ff00ffu);
    return stored == sum || stored == swapped;
}

/* ------------------------------------------------------------------ workers */

/* Name of filter `id` in messages ("deflate", ...). */
static const char *filter_label(H5Z_filter_t id)
{
    const char *name = ooc_h5_filter_name(id);
    return name ? name : "unregistered filter";
}

/* "'/Y' chunk at row 3000, column 0 of 'f.h5' (chunk 3, rows 3000..3999)":
 * how messages name the chunk of `in` that starts at (row0, col0). */
static void describe_chunk(const h5_source *s, const h5_input *in, uint64_t row0, uint64_t col0,
                           char *dst, size_t cap)
{
    uint64_t last_row = row0 + in->chunk_rows - 1;
    if (last_row >= in->nrows)
        last_row = in->nrows - 1;
    int n = snprintf(dst, cap,
                     "'%s' chunk at row %llu, column %llu of '%s' (chunk %llu, rows %llu..%llu",
                     in->name, (unsigned long long)row0, (unsigned long long)col0, s->path,
                     (unsigned long long)(row0 / in->chunk_rows), (unsigned long long)row0,
                     (unsigned long long)last_row);
    if (n < 0 || (size_t)n >= cap)
        return;
    if (in->chunk_cols < in->ncols) {
        uint64_t last_col = col0 + in->chunk_cols - 1;
        if (last_col >= in->ncols)
            last_col = in->ncols - 1;
        snprintf(dst + n, cap - (size_t)n, ", columns %llu..%llu)", (unsigned long long)col0,
                 (unsigned long long)last_col);
    } else {
        snprintf(dst + n, cap - (size_t)n, ")");
    }
}

/* Record OOC_ERR_CORRUPT in err: the chunk of `in` at (row0, col0) as
 * describe_chunk names it, then the printf-style reason.  Returns the status. */
static ooc_status chunk_error(const h5_source *s, const h5_input *in, uint64_t row0, uint64_t col0,
                              ooc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static ooc_status chunk_error(const h5_source *s, const h5_input *in, uint64_t row0, uint64_t col0,
                              ooc_error *err, const char *fmt, ...)
{
    char where[768], reason[768];
    describe_chunk(s, in, row0, col0, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return OOC_FAIL(err, OOC_ERR_CORRUPT, "%s: %s", where, reason);
}

/* Undo the filters of one stored chunk; *out points at chunk_nbytes decoded
 * bytes (inside the staging buffer or a scratch buffer).  No filter output
 * may exceed this dataset's chunk size plus DECODE_SLACK (a fletcher32
 * checksum inside deflate), whatever the other inputs' chunk sizes; blosc's
 * must be the chunk exactly (open_input sends a pipeline where it would not
 * be to H5Dread). */
static ooc_status decode_chunk(const h5_source *s, const h5_input *in, const chunk_ref *c,
                               unsigned char *raw, worker_scratch *ws, const unsigned char **out,
                               ooc_error *err)
{
    unsigned char *cur = raw;
    size_t n = c->nbytes;
    int next_buf = 0;
    for (int i = in->nfilters - 1; i >= 0; i--) {
        if (c->filter_mask & (1u << i))
            continue;
        switch (in->filters[i]) {
        case FILTER_FLETCHER32:
            if (n < FLETCHER32_NBYTES || !fletcher32_ok(cur, n))
                return OOC_FAIL(err, OOC_ERR_CORRUPT, "fletcher32 checksum mismatch");
            n -= FLETCHER32_NBYTES;
            break;
        case FILTER_DEFLATE: {
            size_t produced = 0;
            ooc_trace_token span = ooc_trace_begin(s->trace, OOC_STAGE_DECOMPRESS);
            /* No err: the codec's text quotes its buffer, not the chunk's size. */
            ooc_status st = ooc_zlib_decompress(ws->inflater, cur, n, ws->buf[next_buf],
                                                in->chunk_nbytes + DECODE_SLACK, &produced, NULL);
            ooc_trace_end_bytes(s->trace, span, produced);
            if (st != OOC_OK)
                return OOC_FAIL(err, st,
                                "deflate stream of %zu stored bytes does not inflate to the "
                                "chunk's %zu bytes (corrupt data, Adler-32 mismatch or too much "
                                "output)",
                                n, in->chunk_nbytes);
            cur = ws->buf[next_buf];
            next_buf ^= 1;
            n = produced;
            break;
        }
        case FILTER_BLOSC: {
            ooc_trace_token span = ooc_trace_begin(s->trace, OOC_STAGE_DECOMPRESS);
            ooc_status st = ooc_blosc_decompress(cur, n, ws->buf[next_buf], in->chunk_nbytes, err);
            ooc_trace_end_bytes(s->trace, span, st == OOC_OK ? in->chunk_nbytes : 0);
            if (st != OOC_OK)
                return st;
            cur = ws->buf[next_buf];
            next_buf ^= 1;
            n = in->chunk_nbytes;
            break;
        }
        case FILTER_SHUFFLE: {
            if (n > in->chunk_nbytes + DECODE_SLACK)
                return OOC_FAIL(err, OOC_ERR_CORRUPT,
                                "shuffled data of %zu bytes exceeds the chunk's %zu bytes", n,
                                in->chunk_nbytes);
            ooc_trace_token span = ooc_trace_begin(s->trace, OOC_STAGE_UNSHUFFLE);
            ooc_unshuffle(cur, ws->buf[next_buf], n, in->fmt.size);
            ooc_trace_end_bytes(s->trace, span, n);
            cur = ws->buf[next_buf];
            next_buf ^= 1;
            break;
        }
        default:
            return OOC_FAIL(err, OOC_ERR_INTERNAL, "filter %d (%s) reached the direct decoder",
                            (int)in->filters[i], filter_label(in->filters[i]));
        }
    }
    if (n != in->chunk_nbytes)
        return OOC_FAIL(err, OOC_ERR_CORRUPT, "decoded chunk has %zu bytes, not the chunk's %zu",
                        n, in->chunk_nbytes);
    *out = cur;
    return OOC_OK;
}

/* The part of chunk c of `in` that lands in the job's block: dataset rows
 * [*r_begin, *r_end) and columns [c->col0, *c_end). */
static void chunk_span(const h5_input *in, const chunk_ref *c, const slot_job *job,
                       uint64_t *r_begin, uint64_t *r_end, uint64_t *c_end)
{
    *r_begin = c->row0 > job->first_row ? c->row0 : job->first_row;
    *r_end = c->row0 + in->chunk_rows;
    if (*r_end > job->first_row + job->nrows)
        *r_end = job->first_row + job->nrows;
    *c_end = c->col0 + in->chunk_cols < in->ncols ? c->col0 + in->chunk_cols : in->ncols;
}

/* decode_chunk with the chunk named in the error (describe_chunk). */
static ooc_status decode_named(const h5_source *s, const h5_input *in, const chunk_ref *c,
                               unsigned char *raw, worker_scratch *ws, const unsigned char **out,
                               ooc_error *err)
{
    ooc_status st = decode_chunk(s, in, c, raw, ws, out, err);
    if (st != OOC_OK) {
        char where[768];
        describe_chunk(s, in, c->row0, c->col0, where, sizeof where);
        ooc_error_prefix(err, "%s", where);
    }
    return st;
}

/* 1 when v is NaN or infinite (all exponent bits set), else 0; branch-free so
 * the copy loops can accumulate it. */
static inline unsigned nonfinite(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull;
}

/* Copy the part of a decoded chunk (chunk_rows x chunk_cols elements, row-major)
 * that falls in the block into the block's columns.  Returns non-zero when a
 * copied value is not finite. */
static unsigned scatter_chunk(const h5_source *s, const h5_input *in, const chunk_ref *c,
                              const slot_job *job, const unsigned char *chunk, worker_scratch *ws,
                              double *block)
{
    const size_t ncols = s->width;
    uint64_t r_begin, r_end, c_end;
    chunk_span(in, c, job, &r_begin, &r_end, &c_end);
    const size_t width = (size_t)(c_end - c->col0);
    const int *dest = in->dest_col + c->col0;

    const double *values;
    if (is_native_double(&in->fmt)) {
        values = (const double *)(const void *)chunk;
    } else {
        const size_t first = (size_t)(r_begin - c->row0) * in->chunk_cols;
        const size_t count = (size_t)(r_end - c->row0) * in->chunk_cols;
        for (size_t k = first; k < count; k++)
            ws->converted[k] = load_elem(chunk + k * in->fmt.size, &in->fmt);
        values = ws->converted;
    }
    unsigned bad = 0;
    if (in->dest_contiguous) {
        /* Columns land side by side (the usual [X y] layout): a plain copy
         * the compiler vectorises, NaN check included. */
        for (uint64_t r = r_begin; r < r_end; r++) {
            const double *src = values + (size_t)(r - c->row0) * in->chunk_cols;
            double *dst = block + (size_t)(r - job->first_row) * ncols + dest[0];
            for (size_t j = 0; j < width; j++) {
                dst[j] = src[j];
                bad |= nonfinite(src[j]);
            }
        }
        return bad;
    }
    for (uint64_t r = r_begin; r < r_end; r++) {
        const double *src = values + (size_t)(r - c->row0) * in->chunk_cols;
        double *dst = block + (size_t)(r - job->first_row) * ncols;
        for (size_t j = 0; j < width; j++) {
            dst[dest[j]] = src[j];
            bad |= nonfinite(src[j]);
        }
    }
    return bad;
}

/* Set the block cells of an unallocated chunk to the dataset's fill value. */
static void fill_chunk(const h5_source *s, const h5_input *in, const chunk_ref *c,
                       const slot_job *job, double *block)
{
    uint64_t r_begin, r_end, c_end;
    chunk_span(in, c, job, &r_begin, &r_end, &c_end);
    for (uint64_t r = r_begin; r < r_end; r++)
        for (uint64_t j = c->col0; j < c_end; j++)
            block[(size_t)(r - job->first_row) * s->width + (size_t)in->dest_col[j]] = in->fill;
}

/* Copy H5Dread doubles (the block's rows x all dataset columns) into the
 * block.  Returns non-zero when a value is not finite. */
static unsigned scatter_dense(const h5_source *s, const h5_input *in, const double *values,
                              const slot_job *job, double *block)
{
    unsigned bad = 0;
    for (size_t r = 0; r < job->nrows; r++)
        for (hsize_t j = 0; j < in->ncols; j++) {
            double v = values[r * in->ncols + j];
            block[r * s->width + (size_t)in->dest_col[j]] = v;
            bad |= nonfinite(v);
        }
    return bad;
}

/* Name of block column k for messages: "'/X' column 'b'" or "'/Y'". */
static void describe_column(const h5_source *s, size_t k, char *dst, size_t cap)
{
    const h5_input *in = &s->inputs[s->col_input[k]];
    if (in->ncols == 1)
        snprintf(dst, cap, "'%s'", in->name);
    else if (k < s->pub.p)
        snprintf(dst, cap, "'%s' column %llu ('%s')", in->name,
                 (unsigned long long)s->col_source[k], s->pub.column_names[k]);
    else
        snprintf(dst, cap, "'%s' column %llu", in->name, (unsigned long long)s->col_source[k]);
}

/* Report the first non-finite value of the block in row order (only called
 * once the copy loops have seen one). */
static ooc_status report_nonfinite(const h5_source *s, const slot_job *job, const double *block,
                                   ooc_error *err)
{
    const size_t ncols = s->width;
    const size_t total = job->nrows * ncols;
    for (size_t i = 0; i < total; i++) {
        if (isfinite(block[i]))
            continue;
        char where[512];
        describe_column(s, i % ncols, where, sizeof where);
        return OOC_FAIL(err, OOC_ERR_DATA, "%s row %llu (0-based) of '%s' is %s", where,
                        (unsigned long long)(job->first_row + i / ncols), s->path,
                        isnan(block[i]) ? "NaN" : "infinite");
    }
    return OOC_OK;
}

static ooc_status staging_reserve(slot_job *job, size_t nbytes, size_t *offset, ooc_error *err);

/* raw->describe for the chunks of a raw block (ctx: its slot_job). */
static void describe_raw_chunk(const void *ctx, size_t i, char *buf, size_t size)
{
    const slot_job *job = ctx;
    const chunk_ref *c = &job->chunks[i];
    describe_chunk(job->owner, &job->owner->inputs[c->input], c->row0, c->col0, buf, size);
}

/* A raw pass's block (set_raw): each chunk's stored zlib stream handed over
 * as it is, or, for a chunk that skipped a filter or was never written, its
 * elements decoded here (OOC_RAW_PLAIN, appended to the staging buffer).
 * The rows are left to the backend's decoder (block->raw). */
static ooc_status process_raw(h5_source *s, slot_job *job, worker_scratch *ws, ooc_block *block,
                              ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (job->nchunks > job->raw_cap) {
        ooc_raw_chunk *chunks = realloc(job->raw_chunks, job->nchunks * sizeof *chunks);
        if (chunks)
            job->raw_chunks = chunks;
        size_t *offsets = realloc(job->raw_offset, job->nchunks * sizeof *offsets);
        if (offsets)
            job->raw_offset = offsets;
        OOC_FAIL_IF(!chunks || !offsets, err, OOC_ERR_NOMEM, "out of memory listing %zu chunks",
                    job->nchunks);
        job->raw_cap = job->nchunks;
    }
    for (size_t i = 0; i < job->nchunks; i++) {
        const chunk_ref *c = &job->chunks[i];
        const h5_input *in = &s->inputs[c->input];
        uint64_t r_begin, r_end, c_end;
        chunk_span(in, c, job, &r_begin, &r_end, &c_end);
        ooc_raw_chunk *rc = &job->raw_chunks[i];
        *rc = (ooc_raw_chunk){.kind = OOC_RAW_ZLIB,
                              .shuffled = in->nfilters == 2,
                              .nbytes = c->nbytes,
                              .chunk_rows = (size_t)in->chunk_rows,
                              .chunk_cols = (size_t)in->chunk_cols,
                              .row_skip = (size_t)(r_begin - c->row0),
                              .rows = (size_t)(r_end - r_begin),
                              .block_row = (size_t)(r_begin - job->first_row),
                              .cols = (size_t)(c_end - c->col0),
                              .dest_col = (size_t)in->dest_col[c->col0]};
        job->raw_offset[i] = c->offset;
        if (c->nbytes > 0 && c->filter_mask == 0)
            continue;
        /* decoded here: reserve first (the staging buffer may move), then decode */
        size_t at = 0;
        OOC_CHECK(staging_reserve(job, in->chunk_nbytes, &at, err));
        rc->kind = OOC_RAW_PLAIN;
        rc->shuffled = 0;
        rc->nbytes = in->chunk_nbytes;
        job->raw_offset[i] = at;
        double *plain = (double *)(void *)(job->staging + at);
        if (c->nbytes == 0) {
            for (size_t k = 0; k < in->chunk_nbytes / sizeof(double); k++)
                plain[k] = in->fill;
            continue;
        }
        const unsigned char *decoded = NULL;
        OOC_CHECK(decode_named(s, in, c, job->staging + c->offset, ws, &decoded, err));
        memcpy(plain, decoded, in->chunk_nbytes);
    }
    for (size_t i = 0; i < job->nchunks; i++)
        job->raw_chunks[i].bytes = job->staging + job->raw_offset[i];
    job->raw = (ooc_raw_block){.chunks = job->raw_chunks, .nchunks = job->nchunks,
                               .describe = describe_raw_chunk, .describe_ctx = job};
    block->raw = &job->raw;
out:
    return status;
}

static ooc_status process_block(void *ctx, int worker, int slot, uint64_t seq, void *buffer,
                                ooc_error *err)
{
    (void)seq;
    h5_source *s = ctx;
    slot_job *job = &s->jobs[slot];
    worker_scratch *ws = &s->scratch[worker];
    double *block = buffer;
    unsigned bad = 0;
    s->blocks[slot].raw = NULL;
    if (s->raw_pass)
        return process_raw(s, job, ws, &s->blocks[slot], err);
    for (size_t i = 0; i < job->nchunks; i++) {
        const chunk_ref *c = &job->chunks[i];
        const h5_input *in = &s->inputs[c->input];
        if (c->dense) {
            bad |= scatter_dense(s, in, (const double *)(const void *)(job->staging + c->offset),
                                 job, block);
        } else if (c->nbytes == 0) {
            fill_chunk(s, in, c, job, block);
            bad |= nonfinite(in->fill);
        } else {
            const unsigned char *decoded = NULL;
            ooc_status st = decode_named(s, in, c, job->staging + c->offset, ws, &decoded, err);
            if (st != OOC_OK)
                return st;
            bad |= scatter_chunk(s, in, c, job, decoded, ws, block);
        }
    }
    return bad ? report_nonfinite(s, job, block, err) : OOC_OK;
}

/* ----------------------------------------------------------------- producer */

/* Reserve nbytes (8-byte aligned) in the staging buffer; returns the offset. */
static ooc_status staging_reserve(slot_job *job, size_t nbytes, size_t *offset, ooc_error *err)
{
    size_t at = (job->staging_used + 7) & ~(size_t)7;
    if (at + nbytes > job->staging_cap) {
        size_t cap = job->staging_cap ? job->staging_cap : 1 << 16;
        while (cap < at + nbytes)
            cap *= 2;
        unsigned char *grown = realloc(job->staging, cap);
        if (!grown)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory staging %zu bytes of chunks", cap);
        job->staging = grown;
        job->staging_cap = cap;
    }
    job->staging_used = at + nbytes;
    *offset = at;
    return OOC_OK;
}

static ooc_status add_ref(slot_job *job, const chunk_ref *ref, ooc_error *err)
{
    if (job->nchunks == job->chunks_cap) {
        size_t cap = job->chunks_cap ? 2 * job->chunks_cap : 64;
        chunk_ref *grown = realloc(job->chunks, cap * sizeof *grown);
        if (!grown)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory listing chunks");
        job->chunks = grown;
        job->chunks_cap = cap;
    }
    job->chunks[job->nchunks++] = *ref;
    return OOC_OK;
}

/* Whether the chunk index of `in` lists as many chunks as the dataset has,
 * so that a chunk missing from it is a damaged entry, not a chunk never
 * written.  Asked when a chunk is first found missing: counting walks the
 * whole index (about 4 us a chunk in HDF5 1.10, 0.1 s for 25k chunks). */
static ooc_status index_is_complete(const h5_source *s, h5_input *in, bool *complete,
                                    ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t space = H5I_INVALID_HID;
    if (in->index_complete < 0) {
        hsize_t allocated = 0;
        space = H5Dget_space(in->dset);
        OOC_H5_FAIL_IF(space < 0 || H5Dget_num_chunks(in->dset, space, &allocated) < 0, err,
                       "'%s' of '%s': cannot count the chunks in its index", in->name, s->path);
        hsize_t total = ((in->nrows + in->chunk_rows - 1) / in->chunk_rows) *
                        ((in->ncols + in->chunk_cols - 1) / in->chunk_cols);
        in->index_complete = total > 0 && allocated >= total;
    }
    *complete = in->index_complete > 0;
out:
    return ooc_h5_close(&space, status, err);
}

/* Stage the raw chunks of `in` that intersect the job's rows (a "chunk
 * read" span per chunk: index lookup and read). */
static ooc_status stage_chunks(h5_source *s, int index, slot_job *job, ooc_error *err)
{
    ooc_status status = OOC_OK;
    h5_input *in = &s->inputs[index];
    const uint64_t first = job->first_row / in->chunk_rows;
    const uint64_t last = (job->first_row + job->nrows - 1) / in->chunk_rows;
    for (uint64_t ci = first; ci <= last; ci++) {
        for (hsize_t col0 = 0; col0 < in->ncols; col0 += in->chunk_cols) {
            hsize_t offset[2] = {ci * in->chunk_rows, col0};
            chunk_ref ref = {.input = index, .row0 = offset[0], .col0 = col0};
            hsize_t stored = 0;
            ooc_trace_token span = ooc_trace_begin(s->trace, OOC_STAGE_CHUNK_READ);
            /* H5Dget_chunk_storage_size is an index lookup; it fails for a
             * chunk that was never written.  H5Dget_chunk_info_by_coord tells
             * the two cases apart, but scans all chunks in HDF5 1.10, so it
             * is only asked after a failure. */
            if (H5Dget_chunk_storage_size(in->dset, offset, &stored) < 0) {
                ooc_h5_detail lookup = ooc_h5_error_detail();
                haddr_t addr = 0;
                unsigned mask = 0;
                stored = 0;
                if (H5Dget_chunk_info_by_coord(in->dset, offset, &mask, &addr, &stored) < 0) {
                    status = chunk_error(s, in, offset[0], col0, err,
                                         "cannot look it up in the chunk index: %s",
                                         ooc_h5_error_detail().text);
                    goto out;
                }
                if (addr != HADDR_UNDEF) {
                    status = chunk_error(s, in, offset[0], col0, err,
                                         "the chunk index lists it, but its size cannot be "
                                         "read: %s",
                                         lookup.text);
                    goto out;
                }
                bool complete = false;
                OOC_CHECK(index_is_complete(s, in, &complete, err));
                if (complete) {
                    status = chunk_error(s, in, offset[0], col0, err,
                                         "missing from the chunk index, which lists as many "
                                         "chunks as the dataset has (a damaged index entry)");
                    goto out;
                }
                stored = 0; /* never written: the fill value */
            }
            /* Deflate output can exceed its input only by a few bytes per
             * block, blosc's by its 16-byte header; anything larger is
             * damaged metadata, not a chunk. */
            if (stored > in->chunk_nbytes + in->chunk_nbytes / 16 + 1024) {
                status = chunk_error(s, in, offset[0], col0, err,
                                     "stored size %llu is implausible for the dataset's "
                                     "%zu-byte chunks",
                                     (unsigned long long)stored, in->chunk_nbytes);
                goto out;
            }
            if (stored > 0) {
                OOC_CHECK(staging_reserve(job, (size_t)stored, &ref.offset, err));
                ref.nbytes = (size_t)stored;
                if (H5Dread_chunk(in->dset, H5P_DEFAULT, offset, &ref.filter_mask,
                                  job->staging + ref.offset) < 0) {
                    status = chunk_error(s, in, offset[0], col0, err,
                                         "cannot read its %llu stored bytes (truncated or damaged "
                                         "file?): %s",
                                         (unsigned long long)stored, ooc_h5_error_detail().text);
                    goto out;
                }
                atomic_fetch_add_explicit(&s->bytes_read, stored, memory_order_relaxed);
            }
            ooc_trace_end_bytes(s->trace, span, stored);
            OOC_CHECK(add_ref(job, &ref, err));
        }
    }
out:
    return status;
}

/* Read the job's rows of `in` with H5Dread (HDF5 decodes and converts; one
 * "chunk read" span with the bytes delivered). */
static ooc_status stage_hyperslab(h5_source *s, int index, slot_job *job, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_trace_token span = ooc_trace_begin(s->trace, OOC_STAGE_CHUNK_READ);
    const h5_input *in = &s->inputs[index];
    hid_t file_space = H5I_INVALID_HID, mem_space = H5I_INVALID_HID;
    chunk_ref ref = {.input = index, .row0 = job->first_row, .dense = true};
    OOC_CHECK(
        staging_reserve(job, job->nrows * (size_t)in->ncols * sizeof(double), &ref.offset, err));
    hsize_t start[2] = {job->first_row, 0};
    hsize_t count[2] = {job->nrows, in->ncols};
    file_space = H5Dget_space(in->dset);
    mem_space = H5Screate_simple(in->rank, count, NULL);
    OOC_H5_FAIL_IF(file_space < 0 || mem_space < 0 ||
                       H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL) <
                           0,
                   err, "'%s' of '%s': cannot select rows %llu..%llu", in->name, s->path,
                   (unsigned long long)start[0], (unsigned long long)(start[0] + count[0] - 1));
    OOC_FAIL_IF(H5Dread(in->dset, H5T_NATIVE_DOUBLE, mem_space, file_space, H5P_DEFAULT,
                        job->staging + ref.offset) < 0,
                err, OOC_ERR_CORRUPT, "'%s' rows %llu..%llu of '%s': H5Dread failed: %s", in->name,
                (unsigned long long)start[0], (unsigned long long)(start[0] + count[0] - 1),
                s->path, ooc_h5_error_detail().text);
    uint64_t delivered = (uint64_t)job->nrows * in->ncols * sizeof(double);
    atomic_fetch_add_explicit(&s->bytes_read, delivered, memory_order_relaxed);
    ooc_trace_end_bytes(s->trace, span, delivered);
    OOC_CHECK(add_ref(job, &ref, err));
out:
    status = ooc_h5_close(&mem_space, status, err);
    return ooc_h5_close(&file_space, status, err);
}

static ooc_status produce_block(void *ctx, int slot, uint64_t seq, void *buffer, bool *end,
                                ooc_error *err)
{
    (void)buffer;
    h5_source *s = ctx;
    slot_job *job = &s->jobs[slot];
    /* Blocks start at multiples of block_rows in the dataset (a multiple of
     * X's chunk height), also when a row range starts inside one: the first
     * block is then shorter, and no chunk straddles two blocks and is
     * decoded twice. */
    const uint64_t rows = s->pub.block_rows, row_end = s->row_begin + s->pub.nrows;
    const uint64_t aligned = (s->row_begin / rows + seq) * rows;
    const uint64_t first_row = aligned > s->row_begin ? aligned : s->row_begin;
    if (first_row >= row_end) {
        *end = true;
        return OOC_OK;
    }
    job->owner = s;
    job->first_row = first_row;
    job->nrows = (size_t)((aligned + rows < row_end ? aligned + rows : row_end) - first_row);
    job->staging_used = 0;
    job->nchunks = 0;
    for (int i = 0; i < s->ninputs; i++) {
        ooc_status st =
            s->inputs[i].direct ? stage_chunks(s, i, job, err) : stage_hyperslab(s, i, job, err);
        if (st != OOC_OK)
            return st;
    }
    ooc_block *b = &s->blocks[slot];
    b->data = buffer;
    b->nrows = job->nrows;
    b->ncols = s->pub.ncols;
    b->first_row = job->first_row;
    b->slot = slot;
    return OOC_OK;
}

/* ------------------------------------------------------------------- vtable */

static ooc_status h5_next(ooc_source *src, ooc_block **blk, ooc_error *err)
{
    h5_source *s = (h5_source *)src;
    *blk = NULL;
    if (!s->pass_started) {
        s->raw_pass = s->raw_next; /* before the ring's threads start: they read it */
        ooc_status st = ooc_ring_start(s->ring, err);
        if (st != OOC_OK)
            return st;
        s->pass_started = true;
    }
    int slot = -1;
    ooc_status st = ooc_ring_next(s->ring, &slot, NULL, err);
    if (st != OOC_OK || slot < 0)
        return st;
    ooc_block *b = &s->blocks[slot];
    s->pub.raw_blocks += b->raw != NULL;
    const size_t nk = s->pub.nkeys, nc = s->pub.ncols;
    if (nk) { /* rows [X y w kept...] → [X y w] and the keys (-0 as +0); never raw */
        uint64_t *keys = s->keys[slot];
        for (size_t i = 0; i < b->nrows; i++) {
            const double *row = b->data + i * s->width;
            for (size_t k = 0; k < nk; k++) {
                double v = row[s->key_col[k]];
                v = v == 0.0 ? 0.0 : v;
                memcpy(&keys[i * nk + k], &v, sizeof v);
            }
            memmove(b->data + i * nc, row, nc * sizeof(double));
        }
        b->keys = keys;
    }
    *blk = b;
    return OOC_OK;
}

/* Why input `in` cannot be handed over raw to a decoder of `codecs`, or NULL. */
static const char *raw_refusal(const h5_input *in, unsigned codecs)
{
    if (!(codecs & OOC_RAW_ZLIB))
        return "cannot be decoded by the backend";
    if (!in->direct)
        return "is read through the HDF5 library (H5Dread), not by direct chunk reads";
    if (!is_native_double(&in->fmt))
        return "does not hold little-endian float64 values";
    bool deflate_alone = in->nfilters == 1 && in->filters[0] == FILTER_DEFLATE;
    bool shuffle_deflate = in->nfilters == 2 && in->filters[0] == FILTER_SHUFFLE &&
                           in->filters[1] == FILTER_DEFLATE;
    if (!deflate_alone && !shuffle_deflate)
        return "is not compressed with deflate alone or shuffle + deflate";
    if (!in->dest_contiguous)
        return "gives the response or the weights from columns of X";
    if (in->chunk_nbytes > ((size_t)1 << 30))
        return "has chunks over 1 GiB";
    return NULL;
}

static bool h5_set_raw(ooc_source *src, unsigned codecs, bool requested)
{
    h5_source *s = (h5_source *)src;
    s->raw_next = false;
    if (!codecs)
        return false;
    if (s->pub.nkeys) {
        ooc_log(&s->log, requested ? OOC_LOG_NOTE : OOC_LOG_DEBUG,
                "'%s': the group keys of /keep are read with the rows, so its chunks are "
                "decoded on the host, not the GPU",
                s->path);
        return false;
    }
    for (int i = 0; i < s->ninputs; i++) {
        const char *why = raw_refusal(&s->inputs[i], codecs);
        if (why) {
            ooc_log(&s->log, requested ? OOC_LOG_NOTE : OOC_LOG_DEBUG,
                    "'%s' in '%s' %s: its chunks are decoded on the host, not the GPU",
                    s->inputs[i].name, s->path, why);
            return false;
        }
    }
    s->raw_next = true;
    return true;
}

static void h5_release(ooc_source *src, ooc_block *blk)
{
    h5_source *s = (h5_source *)src;
    if (blk)
        ooc_ring_release(s->ring, blk->slot);
}

static ooc_status h5_rewind(ooc_source *src, ooc_error *err)
{
    h5_source *s = (h5_source *)src;
    ooc_ring_stop(s->ring);
    s->pass_started = false;
    (void)err;
    return OOC_OK;
}

static void h5_destroy(ooc_source *src)
{
    h5_source *s = (h5_source *)src;
    ooc_trace_counter_remove(s->trace, s->counter_in_use);
    ooc_trace_counter_remove(s->trace, s->counter_bytes);
    ooc_ring_free(s->ring);
    if (s->scratch) {
        for (int i = 0; i < s->nworkers; i++) {
            ooc_zlib_decompressor_free(s->scratch[i].inflater);
            free(s->scratch[i].buf[0]);
            free(s->scratch[i].buf[1]);
            free(s->scratch[i].converted);
        }
        free(s->scratch);
    }
    if (s->jobs) {
        for (int i = 0; i < s->nslots; i++) {
            free(s->jobs[i].staging);
            free(s->jobs[i].chunks);
            free(s->jobs[i].raw_chunks);
            free(s->jobs[i].raw_offset);
        }
        free(s->jobs);
    }
    free(s->blocks);
    if (s->keys)
        for (int i = 0; i < s->nslots; i++)
            free(s->keys[i]);
    free(s->keys);
    free(s->key_col);
    /* Datasets before the file.  Nothing to report to: a read-only close
     * writes nothing, and an error would only leave the stack to clear. */
    ooc_h5_quiet quiet;
    ooc_h5_quiet_begin(&quiet);
    for (int i = 0; i < MAX_INPUTS; i++) { /* also a failed, half-opened input */
        (void)ooc_h5_close(&s->inputs[i].dset, OOC_OK, NULL);
        free(s->inputs[i].name);
        free(s->inputs[i].dest_col);
    }
    (void)ooc_h5_close(&s->file, OOC_OK, NULL);
    ooc_h5_quiet_end(&quiet);
    ooc_source_free_description(&s->pub);
    free(s->col_input);
    free(s->col_source);
    free(s->path);
    free(s);
}

static const ooc_source_vtable h5_vtable = {h5_next, h5_release, h5_rewind, h5_destroy};

/* --------------------------------------------------------------------- open */

static const char *type_class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_STRING: return "strings";
    case H5T_COMPOUND: return "compound records";
    case H5T_ENUM: return "enum values";
    case H5T_ARRAY: return "array elements";
    case H5T_VLEN: return "variable-length sequences";
    case H5T_REFERENCE: return "references";
    case H5T_BITFIELD: return "bitfields";
    case H5T_OPAQUE: return "opaque data";
    case H5T_TIME: return "time values";
    default: return "values of an unknown class";
    }
}

/* True for the element types decoded here: IEEE binary32/binary64 and plain
 * 1..8-byte integers, either byte order.  Anything exotic (half floats, VAX
 * order, padded integers) is converted by HDF5 instead. */
static bool decodable_type(hid_t type)
{
    H5T_order_t order = H5Tget_order(type);
    if (order != H5T_ORDER_LE && order != H5T_ORDER_BE)
        return false;
    size_t size = H5Tget_size(type);
    if (H5Tget_class(type) == H5T_FLOAT)
        return H5Tequal(type, H5T_IEEE_F32LE) > 0 || H5Tequal(type, H5T_IEEE_F32BE) > 0 ||
               H5Tequal(type, H5T_IEEE_F64LE) > 0 || H5Tequal(type, H5T_IEEE_F64BE) > 0;
    return size >= 1 && size <= 8 && H5Tget_precision(type) == 8 * size && H5Tget_offset(type) == 0;
}

/* Open dataset `name` as input `in` (shape, type, layout, filters). */
static ooc_status open_input(h5_source *s, h5_input *in, const char *role, const char *name,
                             ooc_log_sink *log, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t space = H5I_INVALID_HID, type = H5I_INVALID_HID, dcpl = H5I_INVALID_HID,
          dapl = H5I_INVALID_HID;
    in->role = role;
    in->name = strdup(name);
    OOC_FAIL_IF(!in->name, err, OOC_ERR_NOMEM, "out of memory");
    htri_t exists = H5Lexists(s->file, name, H5P_DEFAULT);
    OOC_H5_FAIL_IF(exists < 0, err, "dataset '%s' (%s) not found in '%s'", name, role, s->path);
    OOC_FAIL_IF(exists == 0, err, OOC_ERR_HDF5, "dataset '%s' (%s) not found in '%s'", name, role,
                s->path);
    /* A chunk cache big enough for a block's worth of chunks, for datasets
     * read through H5Dread (direct chunk reads bypass it). */
    dapl = H5Pcreate(H5P_DATASET_ACCESS);
    OOC_H5_FAIL_IF(dapl < 0 || H5Pset_chunk_cache(dapl, LIBRARY_CACHE_SLOTS, LIBRARY_CACHE_NBYTES,
                                                  H5D_CHUNK_CACHE_W0_DEFAULT) < 0,
                   err, "'%s' in '%s': cannot set up its chunk cache", name, s->path);
    in->dset = H5Dopen2(s->file, name, dapl);
    OOC_H5_FAIL_IF(in->dset < 0, err, "'%s' in '%s' is not a readable dataset", name, s->path);

    space = H5Dget_space(in->dset);
    OOC_FAIL_IF(space < 0, err, OOC_ERR_HDF5, "'%s' in '%s': no dataspace", name, s->path);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[H5S_MAX_RANK];
    OOC_FAIL_IF(rank < 0 || H5Sget_simple_extent_dims(space, dims, NULL) < 0, err, OOC_ERR_HDF5,
                "'%s' in '%s': cannot read its shape", name, s->path);
    in->rank = rank;
    if (strcmp(role, "X") == 0 || strcmp(role, "kept columns") == 0) { /* X, /keep: n x m */
        OOC_FAIL_IF(rank != 2, err, OOC_ERR_HDF5,
                    "'%s' in '%s' has %d dimension(s); the design matrix X must be 2-D (n x p)",
                    name, s->path, rank);
        OOC_FAIL_IF(dims[1] == 0, err, OOC_ERR_HDF5, "'%s' in '%s' has no columns", name, s->path);
    } else {
        OOC_FAIL_IF(rank != 1 && !(rank == 2 && dims[1] == 1), err, OOC_ERR_HDF5,
                    "'%s' (%s) in '%s' must be 1-D or n x 1, but has %d dimension(s)%s", name, role,
                    s->path, rank, rank == 2 ? " with more than one column" : "");
    }
    in->nrows = dims[0];
    in->ncols = rank == 2 ? dims[1] : 1;

    type = H5Dget_type(in->dset);
    OOC_FAIL_IF(type < 0, err, OOC_ERR_HDF5, "'%s' in '%s': no datatype", name, s->path);
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    H5T_order_t order = H5Tget_order(type);
    OOC_FAIL_IF(cls != H5T_FLOAT && cls != H5T_INTEGER, err, OOC_ERR_HDF5,
                "'%s' in '%s' holds %s; expected float64, float32 or integer values", name, s->path,
                type_class_name(cls));
    in->fmt.is_float = cls == H5T_FLOAT;
    in->fmt.is_signed = cls == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_2;
    in->fmt.big_endian = order == H5T_ORDER_BE;
    in->fmt.size = size;
    const bool simple_type = decodable_type(type);
    dcpl = H5Dget_create_plist(in->dset);
    OOC_FAIL_IF(dcpl < 0, err, OOC_ERR_HDF5, "'%s' in '%s': no creation property list", name,
                s->path);
    H5D_fill_value_t fill_state;
    in->fill = 0.0;
    if (H5Pfill_value_defined(dcpl, &fill_state) >= 0 && fill_state != H5D_FILL_VALUE_UNDEFINED)
        OOC_H5_FAIL_IF(H5Pget_fill_value(dcpl, H5T_NATIVE_DOUBLE, &in->fill) < 0, err,
                       "'%s' in '%s': cannot read its fill value", name, s->path);

    const char *why_library = NULL;
    if (H5Pget_layout(dcpl) != H5D_CHUNKED) {
        why_library = "not chunked";
    } else {
        hsize_t chunk[H5S_MAX_RANK];
        unsigned opts = 0;
        OOC_FAIL_IF(H5Pget_chunk(dcpl, rank, chunk) != rank || H5Pget_chunk_opts(dcpl, &opts) < 0,
                    err, OOC_ERR_HDF5, "'%s' in '%s': cannot read its chunk shape", name, s->path);
        in->chunk_rows = chunk[0];
        in->chunk_cols = rank == 2 ? chunk[1] : 1;
        int nfilters = H5Pget_nfilters(dcpl);
        OOC_FAIL_IF(nfilters < 0 || nfilters > MAX_FILTERS, err, OOC_ERR_HDF5,
                    "'%s' in '%s': cannot read its filter pipeline", name, s->path);
        in->nfilters = nfilters;
        bool resized = false, blosc = false; /* a filter so far changes the size; blosc seen */
        for (int i = 0; i < nfilters; i++) {
            unsigned flags = 0;
            size_t ncd = 0;
            char fname[64] = "";
            unsigned config = 0;
            in->filters[i] =
                H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, NULL, sizeof fname, fname, &config);
            H5Z_filter_t id = in->filters[i];
            OOC_FAIL_IF(id < 0, err, OOC_ERR_HDF5, "'%s' in '%s': cannot read filter %d", name,
                        s->path, i);
            if (id == FILTER_BLOSC && resized)
                why_library = "applies blosc to data another filter resized";
            blosc |= id == FILTER_BLOSC;
            resized |= id == FILTER_BLOSC || id == FILTER_DEFLATE || id == FILTER_FLETCHER32;
            if (id == FILTER_DEFLATE || id == FILTER_SHUFFLE || id == FILTER_FLETCHER32 ||
                id == FILTER_BLOSC)
                continue;
            why_library = "uses a filter decoded by the HDF5 library";
            htri_t avail = H5Zfilter_avail(id);
            OOC_FAIL_IF(avail <= 0, err, OOC_ERR_UNSUPPORTED,
                        "'%s' in '%s' is compressed with filter %d ('%s'), which this HDF5 library "
                        "cannot decode (no plugin found; see HDF5_PLUGIN_PATH)",
                        name, s->path, (int)id, fname[0] ? fname : filter_label(id));
        }
        if (opts & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS)
            why_library = "leaves partial edge chunks unfiltered";
        if (!simple_type)
            why_library = "has an element type HDF5 must convert";
        /* Blosc is decoded here on direct chunk reads only; H5Dread needs a
         * blosc plugin in HDF5, which this library does not register. */
        OOC_FAIL_IF(blosc && why_library && H5Zfilter_avail(FILTER_BLOSC) <= 0, err,
                    OOC_ERR_UNSUPPORTED,
                    "'%s' in '%s' is blosc-compressed and %s, so only the HDF5 library could "
                    "read it, and it has no blosc filter (no plugin found; see "
                    "HDF5_PLUGIN_PATH)",
                    name, s->path, why_library);
    }
    in->direct = why_library == NULL;
    if (in->direct) {
        in->chunk_nbytes = (size_t)(in->chunk_rows * in->chunk_cols) * size;
        in->index_complete = -1;
        ooc_log(log, OOC_LOG_DEBUG,
                "%s '%s': %llu x %llu, %zu-byte %s, chunks %llu x %llu, %d filter(s): direct chunk "
                "reads",
                role, name, (unsigned long long)in->nrows, (unsigned long long)in->ncols, size,
                in->fmt.is_float ? "float" : "integer", (unsigned long long)in->chunk_rows,
                (unsigned long long)in->chunk_cols, in->nfilters);
    } else {
        ooc_log(log, OOC_LOG_DEBUG, "%s '%s' %s: reading it with H5Dread", role, name, why_library);
    }
    in->dest_col = calloc((size_t)in->ncols, sizeof *in->dest_col);
    OOC_FAIL_IF(!in->dest_col, err, OOC_ERR_NOMEM, "out of memory");
out:
    status = ooc_h5_close(&dapl, status, err);
    status = ooc_h5_close(&dcpl, status, err);
    status = ooc_h5_close(&type, status, err);
    return ooc_h5_close(&space, status, err);
}

/* Index of `name` among the X column names, or -1. */
static long find_column(char *const *names, size_t count, const char *name)
{
    for (size_t j = 0; j < count; j++)
        if (strcmp(names[j], name) == 0)
            return (long)j;
    return -1;
}

static ooc_status column_not_found(const h5_source *s, const char *what, const char *name,
                                   const char *dataset, char *const *names, size_t count,
                                   ooc_error *err)
{
    char list[512] = "";
    size_t used = 0;
    for (size_t j = 0; j < count && used + 4 < sizeof list; j++) {
        int n = snprintf(list + used, sizeof list - used, "%s'%s'", j ? ", " : "", names[j]);
        if (n < 0 || (size_t)n >= sizeof list - used) {
            snprintf(list + used, sizeof list - used, ", ...");
            break;
        }
        used += (size_t)n;
    }
    return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "%s column '%s' is not a column of '%s' in '%s' (%s)",
                    what, name, dataset, s->path, list);
}

/* Text before '~' of a formula, trimmed; NULL when there is none. */
static char *formula_response(const char *formula)
{
    const char *tilde = strchr(formula, '~');
    if (!tilde)
        return NULL;
    const char *b = formula, *e = tilde;
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (b == e)
        return NULL;
    char *name = malloc((size_t)(e - b) + 1);
    if (name) {
        memcpy(name, b, (size_t)(e - b));
        name[e - b] = '\0';
    }
    return name;
}

/* Decide block rows, ring size and allocate the ring with its per-slot and
 * per-worker state. */
static ooc_status build_pipeline(h5_source *s, const ooc_source_options *o, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t row_nbytes = s->width * sizeof(double);
    size_t rows = o->block_rows;
    if (rows == 0) {
        rows = AUTO_BLOCK_NBYTES / row_nbytes;
        /* A chunk that straddles two blocks is read and decoded for both:
         * keep blocks several times taller than the tallest chunk (e.g. a
         * 1-D /Y with long chunks) unless that makes blocks huge.  Twice is
         * enough when every input's chunk height divides the tallest (blocks
         * then start on chunk boundaries of every input: nothing straddles),
         * four times otherwise. */
        size_t tallest = 0;
        for (int i = 0; i < s->ninputs; i++)
            if (s->inputs[i].direct && s->inputs[i].chunk_rows > tallest)
                tallest = (size_t)s->inputs[i].chunk_rows;
        size_t times = 2;
        for (int i = 0; i < s->ninputs; i++)
            if (s->inputs[i].direct && tallest % (size_t)s->inputs[i].chunk_rows != 0)
                times = 4;
        if (tallest <= MAX_AUTO_BLOCK_NBYTES / row_nbytes / times && rows < times * tallest)
            rows = times * tallest;
        const h5_input *x = &s->inputs[0];
        if (x->direct && x->chunk_rows > 0) {
            size_t per = (size_t)x->chunk_rows;
            rows = (rows + per / 2) / per * per;
            if (rows == 0)
                rows = per;
        }
        if (rows == 0)
            rows = 1;
        if (rows > s->pub.nrows && s->pub.nrows > 0)
            rows = (size_t)s->pub.nrows;
    }
    OOC_FAIL_IF(rows > SIZE_MAX / row_nbytes, err, OOC_ERR_INVALID_ARG,
                "block_rows %zu is too large", rows);
    s->pub.block_rows = rows;

    s->nworkers = ooc_ring_default_threads(o->nthreads);
    /* a block per worker being decoded, one being read, one with the consumer */
    s->nslots = o->ring_size > 0 ? o->ring_size : s->nworkers + 2;

    s->decode_cap = DECODE_SLACK;
    for (int i = 0; i < s->ninputs; i++) {
        const h5_input *in = &s->inputs[i];
        if (!in->direct)
            continue;
        if (in->chunk_nbytes + DECODE_SLACK > s->decode_cap)
            s->decode_cap = in->chunk_nbytes + DECODE_SLACK;
        size_t elems = (size_t)(in->chunk_rows * in->chunk_cols);
        if (elems > s->max_chunk_elems)
            s->max_chunk_elems = elems;
    }
    s->scratch = calloc((size_t)s->nworkers, sizeof *s->scratch);
    OOC_FAIL_IF(!s->scratch, err, OOC_ERR_NOMEM, "out of memory");
    for (int w = 0; w < s->nworkers; w++) {
        worker_scratch *ws = &s->scratch[w];
        OOC_CHECK(ooc_zlib_decompressor_new(&ws->inflater, err));
        ws->buf[0] = malloc(s->decode_cap);
        ws->buf[1] = malloc(s->decode_cap);
        ws->converted = malloc((s->max_chunk_elems ? s->max_chunk_elems : 1) * sizeof(double));
        OOC_FAIL_IF(!ws->buf[0] || !ws->buf[1] || !ws->converted, err, OOC_ERR_NOMEM,
                    "out of memory for decode buffers (%zu bytes)", s->decode_cap);
    }
    s->jobs = calloc((size_t)s->nslots, sizeof *s->jobs);
    s->blocks = calloc((size_t)s->nslots, sizeof *s->blocks);
    s->keys = calloc((size_t)s->nslots, sizeof *s->keys);
    OOC_FAIL_IF(!s->jobs || !s->blocks || !s->keys, err, OOC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < s->nslots && s->pub.nkeys; i++) {
        s->keys[i] = malloc(rows * s->pub.nkeys * sizeof(uint64_t));
        OOC_FAIL_IF(!s->keys[i], err, OOC_ERR_NOMEM, "out of memory for the group keys");
    }
    /* Staging sized for a block's chunks stored uncompressed, plus one more
     * chunk per input for chunks that straddle the block's ends, so it rarely
     * grows (staging_reserve reallocates when it must). */
    size_t staging_nbytes = 0;
    for (int i = 0; i < s->ninputs; i++) {
        const h5_input *in = &s->inputs[i];
        staging_nbytes += rows * (size_t)in->ncols * in->fmt.size + in->chunk_nbytes;
    }
    for (int i = 0; i < s->nslots; i++) {
        s->jobs[i].staging = ooc_alloc_huge(staging_nbytes);
        OOC_FAIL_IF(!s->jobs[i].staging, err, OOC_ERR_NOMEM,
                    "out of memory for chunk staging (%zu bytes)", staging_nbytes);
        s->jobs[i].staging_cap = staging_nbytes;
    }

    ooc_ring_config rc = {
        .nslots = s->nslots,
        .nworkers = s->nworkers,
        .slot_nbytes = rows * row_nbytes,
        .allocator = o->allocator,
        .cancel = o->cancel,
        .ctx = s,
        .producer_begin = producer_begin,
        .worker_begin = worker_begin,
        .produce = produce_block,
        .process = process_block,
    };
    OOC_CHECK(ooc_ring_create(&rc, &s->ring, err));
    s->counter_in_use = ooc_trace_counter_add(s->trace, "ring buffers in use", "buffers",
                                              OOC_COUNTER_VALUE, 1.0, read_ring_in_use, s);
    s->counter_bytes = ooc_trace_counter_add(s->trace, "bytes read", "MB/s", OOC_COUNTER_RATE,
                                             1e-6, read_bytes_read, s);
    ooc_log(&o->log, OOC_LOG_DEBUG,
            "'%s': %llu rows, blocks of %zu rows, ring of %d x %zu bytes, %d threads", s->path,
            (unsigned long long)s->pub.nrows, rows, s->nslots, rows * row_nbytes, s->nworkers);
out:
    return status;
}

/* Open /keep (ingest --keep's columns) as input `in` and find the kept
 * columns o->keep_columns among its column_names: s->key_col and the
 * source's key names.  Errors: OOC_ERR_HDF5 (no /keep, a 1-D one),
 * OOC_ERR_INVALID_ARG (a name /keep does not have, naming those it has),
 * OOC_ERR_NOMEM. */
static ooc_status open_kept(h5_source *s, const ooc_source_options *o, h5_input *in,
                            ooc_log_sink *log, ooc_error *err)
{
    ooc_status status = OOC_OK;
    char **names = NULL;
    size_t nnames = 0;
    htri_t exists = H5Lexists(s->file, "/keep", H5P_DEFAULT);
    OOC_FAIL_IF(exists <= 0, err, OOC_ERR_HDF5,
                "'%s' has no kept columns (/keep): ingest it with --keep %s", s->path,
                o->keep_columns[0] ? o->keep_columns[0] : "COL");
    OOC_CHECK(open_input(s, in, "kept columns", "/keep", log, err));
    OOC_FAIL_IF(in->nrows != s->inputs[0].nrows, err, OOC_ERR_HDF5,
                "row count mismatch in '%s': '%s' has %llu rows but '/keep' has %llu", s->path,
                s->inputs[0].name, (unsigned long long)s->inputs[0].nrows,
                (unsigned long long)in->nrows);
    const ooc_h5_obj obj = {in->dset, in->name, s->path};
    OOC_CHECK(ooc_h5_attr_read_strings(&obj, "column_names", &names, &nnames, err));
    OOC_FAIL_IF(nnames != in->ncols, err, OOC_ERR_HDF5,
                "'/keep' of '%s' has %zu column_names for %llu columns", s->path, nnames,
                (unsigned long long)in->ncols);
    s->key_col = calloc(o->n_keep, sizeof *s->key_col);
    OOC_FAIL_IF(!s->key_col, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < o->n_keep; k++) {
        long j = find_column(names, nnames, o->keep_columns[k] ? o->keep_columns[k] : "");
        if (j < 0)
            OOC_CHECK(column_not_found(s, "kept", o->keep_columns[k] ? o->keep_columns[k] : "",
                                       "/keep", names, nnames, err));
        s->key_col[k] = (size_t)j; /* of /keep, made a block column by the caller */
    }
    OOC_CHECK(ooc_source_set_key_names(&s->pub, o->keep_columns, o->n_keep, err));
    /* a column of texts is stored as this file's codes, its texts in /keep_levels */
    htri_t levels = H5Lexists(s->file, "/keep_levels", H5P_DEFAULT);
    for (size_t k = 0; k < o->n_keep && levels > 0; k++) {
        char path[1100];
        snprintf(path, sizeof path, "/keep_levels/%s", o->keep_columns[k]);
        s->pub.key_local[k] = H5Lexists(s->file, path, H5P_DEFAULT) > 0;
    }
out:
    ooc_h5_strings_free(names, nnames);
    return status;
}

/* Open the datasets, validate shapes and types, map columns. */
static ooc_status open_datasets(h5_source *s, const ooc_source_options *o, ooc_error *err)
{
    ooc_status status = OOC_OK;
    char **names = NULL;
    size_t nnames = 0;
    ooc_log_sink log = o->log;
    h5_input *x = &s->inputs[0];
    s->ninputs = 1;
    OOC_CHECK(open_input(s, x, "X", o->x_dataset ? o->x_dataset : "/X", &log, err));
    const size_t p_file = (size_t)x->ncols;
    const uint64_t row_end = o->row_end ? o->row_end : x->nrows;
    OOC_FAIL_IF(o->row_begin > row_end || row_end > x->nrows, err, OOC_ERR_INVALID_ARG,
                "rows %llu to %llu asked of '%s' in '%s', which has %llu",
                (unsigned long long)o->row_begin, (unsigned long long)row_end, x->name, s->path,
                (unsigned long long)x->nrows);
    s->row_begin = o->row_begin;
    s->pub.nrows = row_end - o->row_begin;

    const ooc_h5_obj x_obj = {x->dset, x->name, s->path};
    OOC_CHECK(ooc_h5_attr_read_strings(&x_obj, "column_names", &names, &nnames, err));
    if (names && nnames != p_file) {
        ooc_log(&log, OOC_LOG_WARNING,
                "'%s' in '%s' has %zu column_names for %zu columns; using x0, x1, ...", x->name,
                s->path, nnames, p_file);
        ooc_h5_strings_free(names, nnames);
        names = NULL;
        nnames = 0;
    }
    if (!names) {
        /* Generic names, usable as y_column/w_column too. */
        names = calloc(p_file, sizeof *names);
        OOC_FAIL_IF(!names, err, OOC_ERR_NOMEM, "out of memory");
        nnames = p_file;
        for (size_t j = 0; j < p_file; j++) {
            char generic[32];
            snprintf(generic, sizeof generic, "x%zu", j);
            names[j] = strdup(generic);
            OOC_FAIL_IF(!names[j], err, OOC_ERR_NOMEM, "out of memory");
        }
    }
    char **formula = NULL;
    size_t nformula = 0;
    OOC_CHECK(ooc_h5_attr_read_strings(&x_obj, "formula", &formula, &nformula, err));
    if (nformula > 0) { /* the first string */
        s->pub.formula = formula[0];
        formula[0] = NULL;
    }
    ooc_h5_strings_free(formula, nformula);
    OOC_CHECK(ooc_h5_attr_read_string(&x_obj, OOC_H5_TRANSFORMS_ATTR, &s->pub.transforms, err));

    long y_col = -1, w_col = -1;
    if (o->y_column) {
        y_col = find_column(names, nnames, o->y_column);
        if (y_col < 0)
            OOC_CHECK(column_not_found(s, "response", o->y_column, x->name, names, nnames, err));
    }
    if (o->w_column) {
        w_col = find_column(names, nnames, o->w_column);
        if (w_col < 0)
            OOC_CHECK(column_not_found(s, "weights", o->w_column, x->name, names, nnames, err));
        OOC_FAIL_IF(w_col == y_col, err, OOC_ERR_INVALID_ARG,
                    "column '%s' cannot be both the response and the weights", o->w_column);
    }
    const size_t p = p_file - (y_col >= 0) - (w_col >= 0);
    OOC_FAIL_IF(p == 0, err, OOC_ERR_INVALID_ARG,
                "'%s' in '%s' has no columns left for X after taking the response/weights", x->name,
                s->path);

    s->pub.has_y = y_col >= 0;
    if (!s->pub.has_y && !o->y_column && o->y_dataset) {
        htri_t exists = H5Lexists(s->file, o->y_dataset, H5P_DEFAULT);
        if (exists > 0) {
            OOC_CHECK(open_input(s, &s->inputs[s->ninputs], "Y", o->y_dataset, &log, err));
            s->ninputs++;
            s->pub.has_y = true;
        }
    }
    OOC_FAIL_IF(o->need_y && !s->pub.has_y, err, OOC_ERR_HDF5,
                "no response in '%s': dataset '%s' not found (name another response dataset or a "
                "column of '%s')",
                s->path, o->y_dataset ? o->y_dataset : "/Y", x->name);
    s->pub.has_weights = w_col >= 0;
    if (o->w_dataset && w_col < 0) {
        OOC_CHECK(open_input(s, &s->inputs[s->ninputs], "weights", o->w_dataset, &log, err));
        s->ninputs++;
        s->pub.has_weights = true;
    }
    for (int i = 1; i < s->ninputs; i++)
        OOC_FAIL_IF(s->inputs[i].nrows != x->nrows, err, OOC_ERR_HDF5,
                    "row count mismatch in '%s': '%s' has %llu rows but '%s' has %llu", s->path,
                    x->name, (unsigned long long)x->nrows, s->inputs[i].name,
                    (unsigned long long)s->inputs[i].nrows);

    s->pub.p = p;
    s->pub.ncols = p + s->pub.has_y + s->pub.has_weights;
    s->width = s->pub.ncols;
    int keep_input = -1;
    if (o->n_keep) {
        keep_input = s->ninputs;
        OOC_CHECK(open_kept(s, o, &s->inputs[s->ninputs], &log, err));
        s->ninputs++;
        s->width += (size_t)s->inputs[keep_input].ncols;
    }
    const size_t y_dest = p, w_dest = p + s->pub.has_y;
    s->col_input = calloc(s->width, sizeof *s->col_input);
    s->col_source = calloc(s->width, sizeof *s->col_source);
    s->pub.column_names = calloc(p, sizeof *s->pub.column_names);
    OOC_FAIL_IF(!s->col_input || !s->col_source || !s->pub.column_names, err, OOC_ERR_NOMEM,
                "out of memory");
    size_t next = 0;
    for (size_t j = 0; j < p_file; j++) {
        size_t dest;
        if ((long)j == y_col) {
            dest = y_dest;
        } else if ((long)j == w_col) {
            dest = w_dest;
        } else {
            dest = next++;
            s->pub.column_names[dest] = strdup(names[j]);
            OOC_FAIL_IF(!s->pub.column_names[dest], err, OOC_ERR_NOMEM, "out of memory");
        }
        x->dest_col[j] = (int)dest;
        s->col_input[dest] = 0;
        s->col_source[dest] = j;
    }
    for (int i = 1; i < s->ninputs; i++) {
        if (i == keep_input) {
            for (hsize_t j = 0; j < s->inputs[i].ncols; j++) {
                size_t dest = s->pub.ncols + (size_t)j;
                s->inputs[i].dest_col[j] = (int)dest;
                s->col_input[dest] = i;
                s->col_source[dest] = j;
            }
            continue;
        }
        size_t dest = strcmp(s->inputs[i].role, "Y") == 0 ? y_dest : w_dest;
        s->inputs[i].dest_col[0] = (int)dest;
        s->col_input[dest] = i;
        s->col_source[dest] = 0;
    }
    for (size_t k = 0; k < s->pub.nkeys; k++)
        s->key_col[k] += s->pub.ncols;
    for (int i = 0; i < s->ninputs; i++) {
        h5_input *in = &s->inputs[i];
        in->dest_contiguous = true;
        for (hsize_t j = 1; j < in->ncols; j++)
            if (in->dest_col[j] != in->dest_col[0] + (int)j)
                in->dest_contiguous = false;
    }

    if (y_col >= 0)
        s->pub.y_name = strdup(o->y_column);
    else if (s->pub.has_y && s->pub.formula)
        s->pub.y_name = formula_response(s->pub.formula);
    if (s->pub.has_y && !s->pub.y_name) {
        const char *base = strrchr(s->inputs[1].name, '/');
        s->pub.y_name = strdup(base ? base + 1 : s->inputs[1].name);
    }
    OOC_FAIL_IF(s->pub.has_y && !s->pub.y_name, err, OOC_ERR_NOMEM, "out of memory");
out:
    ooc_h5_strings_free(names, nnames);
    return status;
}

/* The parts to read instead of s->path when the datasets the options name
 * are virtual datasets joining the same parts (h5join.h): X, the response
 * dataset when it exists (and no y_column), the weights dataset when asked
 * for (and no w_column).  j->nparts 0: read the file itself. */
static ooc_status joined_parts(const h5_source *s, const ooc_source_options *o, ooc_h5_join *j,
                               ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_join other = {0};
    const char *also[2] = {NULL, NULL};
    if (!o->y_column && o->y_dataset && H5Lexists(s->file, o->y_dataset, H5P_DEFAULT) > 0)
        also[0] = o->y_dataset;
    if (o->w_dataset && !o->w_column)
        also[1] = o->w_dataset;
    const char *x = o->x_dataset ? o->x_dataset : "/X";
    OOC_CHECK(ooc_h5_join_probe(s->path, s->file, x, j, err));
    OOC_FAIL_IF(j->problem, err, OOC_ERR_HDF5, "'%s' in '%s' is a virtual dataset: %s", x,
                s->path, j->problem);
    for (int i = 0; i < 2; i++) {
        if (!also[i])
            continue;
        OOC_CHECK(ooc_h5_join_probe(s->path, s->file, also[i], &other, err));
        OOC_FAIL_IF(other.problem, err, OOC_ERR_HDF5, "'%s' in '%s' is a virtual dataset: %s",
                    also[i], s->path, other.problem);
        if (!ooc_h5_join_same(j, &other))
            ooc_h5_join_free(j);
        ooc_h5_join_free(&other);
    }
out:
    ooc_h5_join_free(&other);
    if (status != OOC_OK)
        ooc_h5_join_free(j);
    return status;
}

ooc_status ooc_h5_source_open(const char *path, const ooc_source_options *o, ooc_source **out,
                              ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_source_options defaults;
    if (!o) {
        ooc_source_options_init(&defaults);
        o = &defaults;
    }
    *out = NULL;
    /* Keep HDF5 from printing its error stack; restore the caller's handler. */
    ooc_h5_quiet quiet;
    ooc_h5_quiet_begin(&quiet);
    ooc_h5_join join = {0};

    h5_source *s = calloc(1, sizeof *s);
    OOC_FAIL_IF(!s, err, OOC_ERR_NOMEM, "out of memory");
    s->pub.vt = &h5_vtable;
    s->pub.values_finite = true; /* the copy loops check every value (nonfinite); not in
                                  * raw blocks: the accumulator checks their decoded rows */
    s->pub.set_raw = h5_set_raw;
    s->log = o->log;
    s->file = H5I_INVALID_HID;
    s->trace = o->trace;
    atomic_init(&s->bytes_read, 0);
    s->counter_in_use = s->counter_bytes = -1;
    for (int i = 0; i < MAX_INPUTS; i++)
        s->inputs[i].dset = H5I_INVALID_HID;
    s->path = strdup(path);
    OOC_FAIL_IF(!s->path, err, OOC_ERR_NOMEM, "out of memory");
    s->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    OOC_H5_FAIL_IF(s->file < 0, err, "cannot open '%s' as an HDF5 file", path);
    OOC_CHECK(joined_parts(s, o, &join, err));
    if (join.nparts) { /* read as its parts */
        h5_destroy(&s->pub);
        s = NULL;
        status = ooc_source_open_files((const char *const *)join.paths, join.nparts, o, out,
                                       err);
        goto out;
    }
    OOC_CHECK(open_datasets(s, o, err));
    OOC_CHECK(build_pipeline(s, o, err));
    *out = &s->pub;
    s = NULL;
out:
    if (s)
        h5_destroy(&s->pub);
    ooc_h5_join_free(&join);
    ooc_h5_quiet_end(&quiet);
    return status;
}

ooc_status ooc_h5_read_transforms(const char *path, char **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_source_options so;
    ooc_source_options_init(&so);
    so.need_y = false; /* X alone: the file of a formula without a response has no /Y */
    so.y_dataset = NULL;
    ooc_source *src = NULL;
    *out = NULL;
    OOC_CHECK(ooc_h5_source_open(path, &so, &src, err));
    OOC_FAIL_IF(!src->transforms, err, OOC_ERR_INVALID_ARG,
                "'%s' holds nothing that stateful transforms learned (its formula, '%s', has "
                "no center, standardize, scale, bs, cr or cc)",
                path, src->formula ? src->formula : "not recorded");
    *out = src->transforms;
    src->transforms = NULL;
out:
    ooc_source_free(src);
    return status;
}

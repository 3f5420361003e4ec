/*
 * source.h — a stream of row blocks of the augmented matrix [X y w].
 *
 * Every source (HDF5 file, CSV + formula) yields blocks from a fixed ring of
 * buffers, so memory does not grow with n.  A block holds `nrows` rows of
 * `ncols` float64 values, row-major: the p columns of X, then y (if the
 * source has a response), then the weight (if weights were requested).
 *
 * Usage (single consumer thread):
 *     ooc_block *b;
 *     while ((st = src->vt->next(src, &b, err)) == OOC_OK && b) {
 *         ... use b->data ...
 *         src->vt->release(src, b);
 *     }
 * A block must be released before the ring runs dry (ring_size blocks may be
 * held at most).  rewind() starts a new pass (all blocks must be released).
 */
#ifndef OOC_SOURCE_H
#define OOC_SOURCE_H

#include "oocsolve.h"

#include <stdint.h>

/* Raw chunk mode (a source's optional set_raw, below): a block whose chunks
 * are handed over still compressed, for a backend that decodes them itself
 * (backend.h accumulate_raw: the CUDA backend with nvCOMP).  Kinds of chunk: */
enum {
    OOC_RAW_ZLIB = 1u,   /* a zlib stream (RFC 1950: 2-byte header, deflate, Adler-32) of the
                          * chunk's float64 elements, HDF5-shuffled first when `shuffled` */
    OOC_RAW_PLAIN = 2u   /* the chunk's float64 elements as stored in memory (decoded by the
                          * source: a chunk that skipped a filter, or was never written) */
};

/* One chunk of a raw block: where its bytes are, and which of its decoded
 * elements (chunk_rows x chunk_cols float64, row-major, little-endian) go
 * where in the block's row-major [X y w] rows. */
typedef struct ooc_raw_chunk {
    const unsigned char *bytes;   /* nbytes stored bytes; the source's, valid during the call */
    size_t nbytes;
    uint32_t kind;                /* OOC_RAW_ZLIB or OOC_RAW_PLAIN */
    uint32_t shuffled;            /* ZLIB: the inflated bytes are HDF5-shuffled (8-byte elements) */
    size_t chunk_rows, chunk_cols;/* decoded shape: chunk_rows * chunk_cols * 8 bytes */
    size_t row_skip;              /* first chunk row that lands in the block */
    size_t rows;                  /* chunk rows that land in the block (consecutive) */
    size_t block_row;             /* block row of chunk row row_skip */
    size_t cols;                  /* chunk columns copied (the first `cols`) */
    size_t dest_col;              /* block column of chunk column 0 (then dest_col + 1, ...) */
} ooc_raw_chunk;

/* The chunks of a raw block: together they cover each of its nrows x ncols
 * values once.  describe() names chunk i for messages ("'/X' chunk at row 3000,
 * column 0 of 'f.h5' (chunk 3, rows 3000..3999)"). */
typedef struct ooc_raw_block {
    const ooc_raw_chunk *chunks;
    size_t nchunks;
    void (*describe)(const void *ctx, size_t i, char *buf, size_t size);
    const void *describe_ctx;
} ooc_raw_block;

typedef struct ooc_block {
    double *data;         /* nrows*ncols, row-major; owned by the source's ring (a raw
                           * block's: the decoder's to fill, see `raw`) */
    size_t nrows;
    size_t ncols;
    uint64_t first_row;   /* 0-based index of the block's first row in the whole matrix */
    const uint64_t *keys; /* nrows x nkeys group keys, row-major (the source's kept columns,
                           * ooc_source.nkeys): equal keys, equal groups; NULL without */
    int slot;             /* ring slot (private to the source) */
    const ooc_raw_block *raw; /* NULL: data holds the rows.  Else data is not filled yet: the
                               * chunks are, valid until the block is released */
} ooc_block;

/* The default allocator: ooc_alloc_huge / free. */
extern const ooc_allocator ooc_default_allocator;

/* A 64-byte aligned buffer for streaming data; from 2 MiB up it is aligned
 * to 2 MiB, rounded up to whole 2 MiB and marked for transparent huge pages
 * (a hint, harmless without THP): buffers touched once per block otherwise
 * pay a page fault per 4 KiB (13k faults, ~0.06 s of system time for the
 * 2.5M-row workload's fit).  Release with free(); realloc() works.  NULL when
 * out of memory.  ooc_default_allocator allocates with it. */
void *ooc_alloc_huge(size_t nbytes);

typedef struct ooc_source_vtable {
    /* Next block, or *blk = NULL at the end of the pass. */
    ooc_status (*next)(ooc_source *src, ooc_block **blk, ooc_error *err);
    /* Hand a block's buffer back to the ring. */
    void (*release)(ooc_source *src, ooc_block *blk);
    /* Begin another pass over the same rows (all blocks released first). */
    ooc_status (*rewind)(ooc_source *src, ooc_error *err);
    /* Stop workers and free everything.  NULL-safe via ooc_source_free. */
    void (*destroy)(ooc_source *src);
} ooc_source_vtable;

/* Public description of a source, filled in by its constructor. */
struct ooc_source {
    const ooc_source_vtable *vt;
    uint64_t nrows;            /* total rows, or UINT64_MAX when unknown before the pass ends (CSV) */
    size_t p;                  /* columns of X */
    bool has_y;                /* column p is y */
    bool has_weights;          /* last column is the observation weight */
    size_t ncols;              /* p + has_y + has_weights */
    char **column_names;       /* p names of X columns (owned by the source; may be generic "x0"...) */
    char *formula;             /* formula text when known (owned; may be NULL) */
    char *y_name;              /* response name when known (owned; may be NULL) */
    char *transforms;          /* what the formula's stateful transforms (center, bs, ...)
                                * learned, as JSON (formula/model.h), when the file says
                                * (owned; may be NULL) */
    size_t block_rows;         /* maximum rows per block */
    size_t nkeys;              /* group keys per row (ooc_source_options.keep_columns) */
    char **key_names;          /* their nkeys column names (owned) */
    bool *key_local;           /* per key: its values are ids meaningful in this file only (a
                                * CSV's texts, an ingested file's text codes), not across
                                * files (owned) */
    uint64_t rows_dropped;     /* CSV sources: rows dropped for missing values during the last pass */
    bool values_finite;        /* every value delivered is finite: the source checked each one
                                * (HDF5, naming dataset, row and column), so consumers need not */
    /* Optional (NULL: unknown, as for HDF5): writes to buf (size >= 1) where
     * the first non-finite value of block column j that this pass delivered
     * came from ("FILE, line L", and the text when known); false if unknown. */
    bool (*locate_nonfinite)(const ooc_source *src, size_t j, char *buf, size_t size);
    /* Optional: what the source's opener attached to it (ooc_glm_source_open: the
     * formula its options point to, solve/glm_input.h), freed by ooc_source_free
     * with attached_free after the source; NULL: nothing. */
    void *attached;
    void (*attached_free)(void *attached);
    /* Optional (NULL: never raw): from the next pass on (the one a fresh
     * source starts with, or the next rewind), deliver raw blocks (ooc_block
     * raw) when `codecs` (OOC_RAW_ZLIB) covers every dataset; 0 turns raw
     * mode off.  Returns whether the next pass will be raw.  When a dataset
     * does not qualify it logs why to the source's log, as a note when
     * `requested` (the user asked for it), else a debug line. */
    bool (*set_raw)(ooc_source *src, unsigned codecs, bool requested);
    uint64_t raw_blocks;       /* blocks delivered raw so far (all passes) */
};

/* For the sources' destroy functions: free the description the constructor
 * filled in (column_names with its p entries, key_names, formula, y_name, transforms) and set those
 * fields to NULL.  NULL fields and entries are fine (a half-built source). */
void ooc_source_free_description(ooc_source *src);

/* For the sources' constructors: src->nkeys = n, src->key_names copies of
 * names, src->key_local all false.  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_source_set_key_names(ooc_source *src, const char *const *names, size_t n,
                                    ooc_error *err);

/* ooc_source_options_init, ooc_source_open, ooc_source_open_files (concat_source.c)
 * and the accessors are declared in oocsolve.h. */

/* HDF5 source (h5source.c): direct chunk reads on one thread, decompression
 * on worker threads.  Errors name the dataset and chunk. */
ooc_status ooc_h5_source_open(const char *path, const ooc_source_options *o, ooc_source **out,
                              ooc_error *err);

/* What the stateful transforms (center, standardize, scale, bs, cr, cc) of
 * the formula of the HDF5 file at `path` (ingested by oocsolve) learned: its
 * /X attribute as JSON (formula/model.h), into *out (malloc'ed, the
 * caller's; NULL on failure), for ingest and the CSV source's
 * transforms_from (h5source.c).  Errors: those of opening it as an HDF5
 * source; OOC_ERR_INVALID_ARG when it holds none. */
ooc_status ooc_h5_read_transforms(const char *path, char **out, ooc_error *err);

/* CSV + formula source (csvsource.c): the ingest pipeline without the file.
 * With o->transforms_from, the formula's stateful transforms use what that
 * file's learned (ooc_h5_read_transforms; src->transforms holds it) and learn
 * nothing from this CSV. */
ooc_status ooc_csv_source_open(const char *path, const ooc_source_options *o, ooc_source **out,
                               ooc_error *err);

#endif

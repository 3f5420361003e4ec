/*
 * concat_source.c — several input files read as one matrix
 * (ooc_source_open_files): their blocks, file after file, with first_row
 * counting on across them.
 *
 * Each file is a part opened with ooc_source_open.  Parts are open one at a
 * time: each HDF5 part owns a ring of buffers and worker threads, and each
 * CSV part a design stream, so a hundred files open at once would cost a
 * hundred rings.  A part is closed when its blocks are done and the consumer
 * has released them all (it stays open meanwhile: blocks go back to the part
 * that produced them), and the next is opened; rewind reopens the first.
 * Opening again is cheap for HDF5 (metadata), and costs a CSV part its level
 * scan (one more read of the file per pass).  At the start every part is
 * opened once, checked against the first and closed again, so that a
 * mismatch fails the open and the total row count is known up front.
 *
 * A row range (the options' row_begin/row_end: an MPI rank's share) is cut
 * into one range per part; parts outside it are never opened in a pass, and
 * a block's first_row is its part's first row in the whole list plus its row
 * in the part.
 */
#include "stream/source.h"

#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A block as the consumer sees it: the part's rows, numbered across parts. */
typedef struct concat_block {
    ooc_block pub;     /* must be first: release() gets this pointer back */
    ooc_block *inner;  /* the part's own block; NULL while this wrapper is free */
    size_t part;       /* the part that produced it */
} concat_block;

typedef struct concat_source {
    ooc_source pub;            /* must be first */
    ooc_source_options opts;   /* every part is opened (and reopened) with these */
    size_t nparts;
    char **paths;              /* nparts file names */
    ooc_source **parts;        /* nparts; NULL while a part is closed */
    size_t *held;              /* nparts; blocks of each part the consumer holds */
    concat_block **blocks;     /* nblocks wrappers, reused once released */
    size_t nblocks;
    size_t current;            /* the part being read; nparts once the pass is done */
    size_t last_part;          /* the part that delivered the latest block; nparts: none yet */
    uint64_t part_offset;      /* first_row of the current part's first row */
    uint64_t rows_delivered;   /* rows delivered this pass */
    bool ranged;               /* the options asked for a row range */
    uint64_t *part_start;      /* ranged: nparts + 1 row numbers, part k's first row */
    uint64_t *part_lo, *part_hi; /* ranged: the rows of part k read, in its own numbering */
} concat_source;

static const char *text_or_empty(const char *s)
{
    return s ? s : "";
}

/* OOC_ERR_INVALID_ARG: part k differs from the first part as the message says. */
static ooc_status mismatch(const concat_source *c, size_t k, ooc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ooc_status mismatch(const concat_source *c, size_t k, ooc_error *err, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "'%s' does not match '%s': %s", c->paths[k],
                    c->paths[0], detail);
}

/* Part k's description against the first part's (c->pub): the same columns
 * of X in the same order, response, weights and formula. */
static ooc_status check_part(const concat_source *c, size_t k, const ooc_source *s, ooc_error *err)
{
    const ooc_source *first = &c->pub;
    const char *first_path = c->paths[0];
    if (s->p != first->p)
        return mismatch(c, k, err, "it has %zu columns, '%s' has %zu", s->p, first_path, first->p);
    for (size_t j = 0; j < s->p; j++)
        if (strcmp(text_or_empty(s->column_names[j]), text_or_empty(first->column_names[j])))
            return mismatch(c, k, err, "column %zu of X is '%s', not '%s'", j + 1,
                            text_or_empty(s->column_names[j]),
                            text_or_empty(first->column_names[j]));
    if (s->has_y != first->has_y)
        return mismatch(c, k, err, "it has %s response, '%s' has %s", s->has_y ? "a" : "no",
                        first_path, first->has_y ? "one" : "none");
    if (s->has_weights != first->has_weights)
        return mismatch(c, k, err, "it has %sweights, '%s' has %s", s->has_weights ? "" : "no ",
                        first_path, first->has_weights ? "them" : "none");
    if (s->y_name && first->y_name && strcmp(s->y_name, first->y_name))
        return mismatch(c, k, err, "the response is '%s', not '%s'", s->y_name, first->y_name);
    if (s->formula && first->formula && strcmp(s->formula, first->formula))
        return mismatch(c, k, err, "the formula is '%s', not '%s'", s->formula, first->formula);
    if ((s->transforms || first->transforms) &&
        (!s->transforms || !first->transforms || strcmp(s->transforms, first->transforms)))
        return mismatch(c, k, err,
                        "its stateful transforms (center, bs, ...) learned other centres or knots "
                        "than '%s''s: ingest it with --transforms-from '%s'",
                        first_path, first_path);
    return OOC_OK;
}

/* Open part k into c->parts[k] (its share of the range, if any) and check it
 * against the first part. */
static ooc_status open_part(concat_source *c, size_t k, ooc_error *err)
{
    ooc_source_options o = c->opts;
    if (c->ranged) {
        o.row_begin = c->part_lo[k];
        o.row_end = c->part_hi[k];
    }
    ooc_status status = ooc_source_open(c->paths[k], &o, &c->parts[k], err);
    if (status == OOC_OK)
        status = check_part(c, k, c->parts[k], err);
    if (status != OOC_OK) {
        ooc_source_free(c->parts[k]);
        c->parts[k] = NULL;
    }
    return status;
}

static void close_part(concat_source *c, size_t k)
{
    ooc_source_free(c->parts[k]);
    c->parts[k] = NULL;
}

/* A free wrapper for part k's block `inner`, or NULL when out of memory. */
static concat_block *wrap_block(concat_source *c, size_t k, ooc_block *inner)
{
    concat_block *w = NULL;
    for (size_t i = 0; i < c->nblocks && !w; i++)
        if (!c->blocks[i]->inner)
            w = c->blocks[i];
    if (!w) {
        concat_block **grown = realloc(c->blocks, (c->nblocks + 1) * sizeof *grown);
        if (!grown)
            return NULL;
        c->blocks = grown;
        w = calloc(1, sizeof *w);
        if (!w)
            return NULL;
        w->pub.slot = (int)c->nblocks;
        c->blocks[c->nblocks++] = w;
    }
    w->inner = inner;
    w->part = k;
    w->pub.data = inner->data;
    w->pub.nrows = inner->nrows;
    w->pub.ncols = inner->ncols;
    w->pub.first_row = c->part_offset + inner->first_row;
    w->pub.keys = inner->keys;
    return w;
}

static ooc_status concat_next(ooc_source *src, ooc_block **blk, ooc_error *err)
{
    concat_source *c = (concat_source *)src;
    *blk = NULL;
    while (c->current < c->nparts) {
        size_t k = c->current;
        if (c->ranged && c->part_lo[k] == c->part_hi[k]) {
            c->current++;
            continue;
        }
        if (c->ranged)
            c->part_offset = c->part_start[k];
        if (!c->parts[k]) {
            ooc_status status = open_part(c, k, err);
            if (status != OOC_OK)
                return status;
        }
        ooc_source *part = c->parts[k];
        ooc_block *inner;
        ooc_status status = part->vt->next(part, &inner, err);
        if (status != OOC_OK)
            return status;
        if (inner) {
            concat_block *w = wrap_block(c, k, inner);
            if (!w) {
                part->vt->release(part, inner);
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
            }
            c->held[k]++;
            c->last_part = k;
            c->rows_delivered = w->pub.first_row + w->pub.nrows;
            *blk = &w->pub;
            return OOC_OK;
        }
        c->pub.rows_dropped += part->rows_dropped;
        c->part_offset = c->rows_delivered;
        c->current++;
        if (c->held[k] == 0)
            close_part(c, k);
    }
    if (!c->ranged)
        c->pub.nrows = c->rows_delivered; /* known now even when a CSV part did not know it */
    return OOC_OK;
}

static void concat_release(ooc_source *src, ooc_block *blk)
{
    concat_source *c = (concat_source *)src;
    concat_block *w = (concat_block *)blk;
    size_t k = w->part;
    c->parts[k]->vt->release(c->parts[k], w->inner);
    w->inner = NULL;
    if (--c->held[k] == 0 && k != c->current)
        close_part(c, k); /* its blocks were all delivered earlier */
}

static ooc_status concat_rewind(ooc_source *src, ooc_error *err)
{
    concat_source *c = (concat_source *)src;
    for (size_t k = 0; k < c->nparts; k++)
        if (c->held[k])
            return OOC_FAIL(err, OOC_ERR_INTERNAL,
                            "rewind of '%s' with a block still held", c->paths[k]);
    ooc_status status = OOC_OK;
    if (c->current == 0 && c->parts[0])
        status = c->parts[0]->vt->rewind(c->parts[0], err);
    else if (c->current < c->nparts && c->parts[c->current])
        close_part(c, c->current); /* next() opens the parts again as it reaches them */
    c->current = 0;
    c->last_part = c->nparts;
    c->part_offset = c->rows_delivered = c->pub.rows_dropped = 0;
    return status;
}

static void concat_destroy(ooc_source *src)
{
    concat_source *c = (concat_source *)src;
    for (size_t k = 0; k < c->nparts; k++) {
        if (c->parts)
            ooc_source_free(c->parts[k]);
        if (c->paths)
            free(c->paths[k]);
    }
    for (size_t i = 0; i < c->nblocks; i++)
        free(c->blocks[i]);
    free(c->blocks);
    free(c->parts);
    free(c->paths);
    free(c->held);
    free(c->part_start);
    free(c->part_lo);
    free(c->part_hi);
    ooc_source_free_description(&c->pub);
    free(c);
}

/* ooc_source.locate_nonfinite: asks the part that delivered the latest block,
 * and puts its file name in front of an answer that does not name it. */
static bool concat_locate_nonfinite(const ooc_source *src, size_t j, char *buf, size_t size)
{
    const concat_source *c = (const concat_source *)src;
    const ooc_source *part = c->last_part < c->nparts ? c->parts[c->last_part] : NULL;
    if (!part || !part->locate_nonfinite || !part->locate_nonfinite(part, j, buf, size))
        return false;
    const char *path = c->paths[c->last_part];
    char *answer = strstr(buf, path) ? NULL : strdup(buf);
    if (answer) {
        snprintf(buf, size, "%s: %s", path, answer);
        free(answer);
    }
    return true;
}

/* Copy the first part's description (column names, response, formula) into c->pub. */
static ooc_status copy_description(concat_source *c, const ooc_source *first, ooc_error *err)
{
    ooc_status status = OOC_OK;
    c->pub.p = first->p;
    c->pub.has_y = first->has_y;
    c->pub.has_weights = first->has_weights;
    c->pub.ncols = first->ncols;
    c->pub.column_names = calloc(first->p ? first->p : 1, sizeof(char *));
    OOC_FAIL_IF(!c->pub.column_names, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < first->p; j++) {
        c->pub.column_names[j] = strdup(text_or_empty(first->column_names[j]));
        OOC_FAIL_IF(!c->pub.column_names[j], err, OOC_ERR_NOMEM, "out of memory");
    }
    OOC_CHECK(ooc_source_set_key_names(&c->pub, (const char *const *)first->key_names,
                                       first->nkeys, err));
    for (size_t k = 0; k < first->nkeys; k++)
        OOC_FAIL_IF(first->key_local[k] && c->nparts > 1, err, OOC_ERR_UNSUPPORTED,
                    "the group column '%s' holds texts, which each of the %zu inputs numbers "
                    "on its own (so one text could be two groups): cluster one input (join the "
                    "CSV files, or ingest them as one file), or on a column of numbers",
                    first->key_names[k], c->nparts);
    c->pub.formula = first->formula ? strdup(first->formula) : NULL;
    c->pub.y_name = first->y_name ? strdup(first->y_name) : NULL;
    c->pub.transforms = first->transforms ? strdup(first->transforms) : NULL;
    OOC_FAIL_IF((first->formula && !c->pub.formula) || (first->y_name && !c->pub.y_name) ||
                    (first->transforms && !c->pub.transforms),
                err,
                OOC_ERR_NOMEM, "out of memory");
out:
    return status;
}

/* Cut rows [begin, end) (end 0: to the end) of the whole list into the
 * parts' shares (every part is closed, part 0 too: passes open the parts
 * they read).  Errors: OOC_ERR_UNSUPPORTED (a part's rows are not known
 * before reading it: a CSV), OOC_ERR_INVALID_ARG (past the end), NOMEM. */
static ooc_status cut_range(concat_source *c, uint64_t begin, uint64_t end, ooc_error *err)
{
    ooc_status status = OOC_OK;
    OOC_FAIL_IF(c->pub.nrows == UINT64_MAX, err, OOC_ERR_UNSUPPORTED,
                "a range of the rows of '%s', ... (an MPI rank's share) needs HDF5 inputs, whose "
                "row counts are known; convert CSV inputs first with `oocsolve ingest`",
                c->paths[0]);
    if (end == 0)
        end = c->pub.nrows;
    OOC_FAIL_IF(begin > end || end > c->pub.nrows, err, OOC_ERR_INVALID_ARG,
                "rows %llu to %llu asked of %zu files with %llu rows", (unsigned long long)begin,
                (unsigned long long)end, c->nparts, (unsigned long long)c->pub.nrows);
    c->part_start = calloc(c->nparts + 1, sizeof *c->part_start);
    c->part_lo = calloc(c->nparts, sizeof *c->part_lo);
    c->part_hi = calloc(c->nparts, sizeof *c->part_hi);
    OOC_FAIL_IF(!c->part_start || !c->part_lo || !c->part_hi, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < c->nparts; k++) {
        /* each part's rows again: the open above kept only the sum */
        OOC_CHECK(ooc_source_open(c->paths[k], &c->opts, &c->parts[k], err));
        uint64_t rows = c->parts[k]->nrows;
        close_part(c, k);
        uint64_t lo = c->part_start[k], hi = lo + rows;
        c->part_start[k + 1] = hi;
        lo = lo > begin ? lo : begin;
        hi = hi < end ? hi : end;
        c->part_lo[k] = lo < hi ? lo - c->part_start[k] : 0;
        c->part_hi[k] = lo < hi ? hi - c->part_start[k] : 0;
    }
    c->ranged = true;
    c->pub.nrows = end - begin;
out:
    return status;
}

static const ooc_source_vtable concat_vtable = {concat_next, concat_release, concat_rewind,
                                                concat_destroy};

ooc_status ooc_source_open_files(const char *const *paths, size_t npaths,
                                 const ooc_source_options *o, ooc_source **out, ooc_error *err)
{
    ooc_error_clear(err);
    *out = NULL;
    if (npaths == 0)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "no input files given");
    if (npaths == 1)
        return ooc_source_open(paths[0], o, out, err);
    ooc_status status = OOC_OK;
    concat_source *c = calloc(1, sizeof *c);
    if (!c)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    c->pub.vt = &concat_vtable;
    c->opts = *o;
    c->opts.row_begin = c->opts.row_end = 0; /* the parts' shares are set by open_part */
    c->nparts = npaths;
    c->last_part = npaths;
    c->paths = calloc(npaths, sizeof *c->paths);
    c->parts = calloc(npaths, sizeof *c->parts);
    c->held = calloc(npaths, sizeof *c->held);
    OOC_FAIL_IF(!c->paths || !c->parts || !c->held, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < npaths; k++) {
        c->paths[k] = strdup(paths[k]);
        OOC_FAIL_IF(!c->paths[k], err, OOC_ERR_NOMEM, "out of memory");
    }
    OOC_CHECK(ooc_source_open(c->paths[0], &c->opts, &c->parts[0], err));
    OOC_CHECK(copy_description(c, c->parts[0], err));
    c->pub.nrows = c->parts[0]->nrows;
    c->pub.block_rows = c->parts[0]->block_rows;
    c->pub.values_finite = c->parts[0]->values_finite;
    c->pub.locate_nonfinite = concat_locate_nonfinite;
    for (size_t k = 1; k < npaths; k++) {
        OOC_CHECK(open_part(c, k, err));
        const ooc_source *part = c->parts[k];
        if (c->pub.nrows != UINT64_MAX)
            c->pub.nrows = part->nrows == UINT64_MAX ? UINT64_MAX : c->pub.nrows + part->nrows;
        if (part->block_rows > c->pub.block_rows)
            c->pub.block_rows = part->block_rows;
        c->pub.values_finite = c->pub.values_finite && part->values_finite;
        close_part(c, k);
    }
    if (o->row_begin || o->row_end)
        OOC_CHECK(cut_range(c, o->row_begin, o->row_end, err));
    *out = &c->pub;
out:
    if (status != OOC_OK)
        concat_destroy(&c->pub);
    return status;
}

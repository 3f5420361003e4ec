/*
 * csvsource.c — ooc_source over a CSV file and a formula (no intermediate file).
 *
 * Rows come from the design stream (parallel, ordered formula evaluation)
 * already in the blocks' layout [X y w], the weights read by the stream as
 * an extra column of the CSV (and the kept columns' group keys as further
 * extra columns, moved into the block's keys), and each block is copied into a fixed
 * ring of buffers allocated with the caller's allocator (pinned memory for a
 * GPU backend), so memory does not grow with n.  The total row count is
 * known only after a full pass.  With transforms_from, the formula's
 * stateful transforms use what another file learned (read once, at open:
 * the JSON stays the source's `transforms`), as ingest --transforms-from.
 */
#include "csv/design_stream.h"
#include "base/error.h"
#include "stream/source.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv_source {
    ooc_source base;
    ooc_design_stream *ds;
    ooc_allocator alloc;
    int nbuffers;
    ooc_block *blocks;
    uint64_t **keys;       /* per buffer: block_rows x nkeys group keys */
    const char **extras;   /* the stream's extra columns: the weights, then the kept ones */
    bool *in_use;
    uint64_t next_row;
    bool pass_done;
} csv_source;

static ooc_status csv_next(ooc_source *src, ooc_block **out, ooc_error *err)
{
    csv_source *cs = (csv_source *)src;
    *out = NULL;
    if (cs->pass_done)
        return OOC_OK;
    int slot = -1;
    for (int i = 0; i < cs->nbuffers && slot < 0; i++)
        if (!cs->in_use[i])
            slot = i;
    if (slot < 0)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "CSV source: all %d ring buffers are held",
                        cs->nbuffers);

    ooc_design_rows rows;
    bool done;
    ooc_status status = ooc_design_stream_next(cs->ds, &rows, &done, err);
    if (status != OOC_OK)
        return status;
    if (done) {
        ooc_design_stream_progress prog;
        ooc_design_stream_get_progress(cs->ds, &prog);
        cs->base.rows_dropped = prog.rows_dropped;
        cs->base.nrows = cs->next_row;
        cs->pass_done = true;
        return OOC_OK;
    }
    ooc_block *b = &cs->blocks[slot];
    const size_t nk = cs->base.nkeys, nc = cs->base.ncols;
    if (nk == 0) {
        memcpy(b->data, rows.X, rows.nrows * rows.ld * sizeof(double)); /* ld == ncols */
    } else {
        for (size_t i = 0; i < rows.nrows; i++) { /* [X y w keys] → [X y w] and the keys */
            memcpy(b->data + i * nc, rows.X + i * rows.ld, nc * sizeof(double));
            memcpy(cs->keys[slot] + i * nk, rows.X + i * rows.ld + nc, nk * sizeof(uint64_t));
        }
    }
    b->nrows = rows.nrows;
    b->first_row = cs->next_row;
    cs->next_row += rows.nrows;
    cs->in_use[slot] = true;
    *out = b;
    return OOC_OK;
}

static void csv_release(ooc_source *src, ooc_block *blk)
{
    csv_source *cs = (csv_source *)src;
    cs->in_use[blk->slot] = false;
}

static ooc_status csv_rewind(ooc_source *src, ooc_error *err)
{
    csv_source *cs = (csv_source *)src;
    for (int i = 0; i < cs->nbuffers; i++)
        if (cs->in_use[i])
            return OOC_FAIL(err, OOC_ERR_INTERNAL, "CSV source: rewind with a block still held");
    cs->next_row = 0;
    cs->pass_done = false;
    return ooc_design_stream_rewind(cs->ds, err);
}

static void csv_destroy(ooc_source *src)
{
    csv_source *cs = (csv_source *)src;
    if (cs->blocks)
        for (int i = 0; i < cs->nbuffers; i++)
            if (cs->blocks[i].data)
                cs->alloc.free(cs->blocks[i].data, cs->alloc.ctx);
    free(cs->blocks);
    if (cs->keys)
        for (int i = 0; i < cs->nbuffers; i++)
            free(cs->keys[i]);
    free(cs->keys);
    free(cs->extras);
    free(cs->in_use);
    ooc_source_free_description(&cs->base);
    ooc_design_stream_close(cs->ds);
    free(cs);
}

/* ooc_source.locate_nonfinite: block column j is the design stream's column
 * (X's, then y's; the weights, which the stream does not count, are none). */
static bool csv_locate_nonfinite(const ooc_source *src, size_t j, char *buf, size_t size)
{
    const csv_source *cs = (const csv_source *)src;
    return j < src->p + src->has_y && ooc_design_stream_nonfinite_origin(cs->ds, j, buf, size);
}

/* True when design column `column` is the weights column `weights` itself:
 * named as a bare variable, w, or quoted, Q('w'). */
static bool is_weights_term(const char *column, const char *weights)
{
    size_t n = strlen(weights);
    return !strcmp(column, weights) || (!strncmp(column, "Q('", 3) &&
                                        !strncmp(column + 3, weights, n) &&
                                        !strcmp(column + 3 + n, "')"));
}

static const ooc_source_vtable csv_vtable = {csv_next, csv_release, csv_rewind, csv_destroy};

ooc_status ooc_csv_source_open(const char *path, const ooc_source_options *o, ooc_source **out,
                               ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    csv_source *cs = calloc(1, sizeof *cs);
    if (!cs)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    cs->base.vt = &csv_vtable;
    cs->alloc = o->allocator.alloc ? o->allocator : ooc_default_allocator;

    /* The weights are an extra column of the stream's rows: a row with a missing
     * weight is dropped with the others.  The kept columns follow, as keys. */
    size_t block_records = o->block_rows ? o->block_rows : 32768;
    const size_t nw = o->weights_name ? 1 : 0;
    cs->extras = calloc(nw + o->n_keep + 1, sizeof *cs->extras);
    OOC_FAIL_IF(!cs->extras, err, OOC_ERR_NOMEM, "out of memory");
    if (nw)
        cs->extras[0] = o->weights_name;
    for (size_t k = 0; k < o->n_keep; k++)
        cs->extras[nw + k] = o->keep_columns[k];
    if (o->transforms_from)
        OOC_CHECK(ooc_h5_read_transforms(o->transforms_from, &cs->base.transforms, err));
    ooc_design_stream_options so = {
        .csv_path = path,
        .formula = o->formula,
        .vars = o->vars,
        .nvars = o->nvars,
        .csv = o->csv,
        .block_records = block_records,
        .max_levels = o->max_levels,
        .nthreads = o->nthreads,
        .cancel = o->cancel,
        .trace = o->trace,
        .progress = o->progress,
        .log = o->log,
        .augmented = true,
        .extra_columns = cs->extras,
        .nextra = nw + o->n_keep,
        .nextra_keys = o->n_keep,
        .transforms = cs->base.transforms,
        .transforms_source = o->transforms_from,
    };
    OOC_CHECK(ooc_design_stream_open(&so, &cs->ds, err));
    block_records = ooc_design_stream_block_rows(cs->ds); /* lowered for wide designs */
    const ooc_model *m = ooc_design_stream_model(cs->ds);
    OOC_FAIL_IF(o->need_y && !ooc_model_has_response(m), err, OOC_ERR_FORMULA,
                "formula '%s' has no response: write it as 'y ~ ...'", o->formula);

    cs->base.nrows = UINT64_MAX;
    cs->base.p = ooc_model_ncols(m);
    cs->base.has_y = ooc_model_has_response(m);
    if (o->weights_name) {
        for (size_t j = 0; j < cs->base.p; j++)
            OOC_FAIL_IF(is_weights_term(ooc_model_column_name(m, j), o->weights_name), err,
                        OOC_ERR_INVALID_ARG,
                        "weights column '%s' is also a term of the formula '%s'",
                        o->weights_name, o->formula);
        OOC_FAIL_IF(cs->base.p == 0, err, OOC_ERR_FORMULA,
                    "formula '%s' has no regressors besides the weights", o->formula);
        cs->base.has_weights = true;
    }
    cs->base.ncols = cs->base.p + (cs->base.has_y ? 1 : 0) + (cs->base.has_weights ? 1 : 0);
    OOC_CHECK(ooc_source_set_key_names(&cs->base, o->keep_columns, o->n_keep, err));
    for (size_t k = 0; k < o->n_keep; k++)
        cs->base.key_local[k] = ooc_model_key_is_text(m, k); /* the texts' ids are this file's */
    cs->base.locate_nonfinite = csv_locate_nonfinite;
    cs->base.block_rows = block_records;
    cs->base.formula = strdup(o->formula);
    cs->base.y_name = cs->base.has_y ? strdup(ooc_model_response_name(m)) : NULL;
    cs->base.column_names = calloc(cs->base.p, sizeof(char *));
    OOC_FAIL_IF(!cs->base.formula || !cs->base.column_names || (cs->base.has_y && !cs->base.y_name),
                err, OOC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < cs->base.p; j++) {
        cs->base.column_names[j] = strdup(ooc_model_column_name(m, j));
        OOC_FAIL_IF(!cs->base.column_names[j], err, OOC_ERR_NOMEM, "out of memory");
    }

    cs->nbuffers = o->ring_size > 0 ? o->ring_size : 4;
    cs->blocks = calloc((size_t)cs->nbuffers, sizeof *cs->blocks);
    cs->in_use = calloc((size_t)cs->nbuffers, sizeof *cs->in_use);
    cs->keys = calloc((size_t)cs->nbuffers, sizeof *cs->keys);
    OOC_FAIL_IF(!cs->blocks || !cs->in_use || !cs->keys, err, OOC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < cs->nbuffers; i++) {
        cs->blocks[i].data =
            cs->alloc.alloc(block_records * cs->base.ncols * sizeof(double), cs->alloc.ctx);
        OOC_FAIL_IF(!cs->blocks[i].data, err, OOC_ERR_NOMEM, "out of memory for ring buffers");
        cs->blocks[i].ncols = cs->base.ncols;
        cs->blocks[i].slot = i;
        if (o->n_keep) {
            cs->keys[i] = malloc(block_records * o->n_keep * sizeof(uint64_t));
            OOC_FAIL_IF(!cs->keys[i], err, OOC_ERR_NOMEM, "out of memory for ring buffers");
            cs->blocks[i].keys = cs->keys[i];
        }
    }
    *out = &cs->base;
out:
    if (status != OOC_OK)
        csv_destroy(&cs->base);
    return status;
}

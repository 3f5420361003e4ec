/*
 * passes.c — the block loop of every pass, and the solve wing's small
 * shared helpers.  See passes.h.
 */
#include "solve/passes.h"

#include "base/error.h"
#include "profile/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ooc_status ooc_check_cancel(const volatile int *cancel, ooc_error *err)
{
    if (cancel && *cancel)
        return OOC_FAIL(err, OOC_ERR_INTERRUPTED, "interrupted");
    return OOC_OK;
}

ooc_status ooc_for_each_block(ooc_source *src, bool rewind, const char *phase,
                              ooc_stage stage, const ooc_pass_env *env, ooc_block_fn fn,
                              void *ctx, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_block *b = NULL;
    if (rewind)
        OOC_CHECK(src->vt->rewind(src, err));
    /* totals are known when the source knows its row count (HDF5) */
    uint64_t rows = src->nrows != UINT64_MAX ? src->nrows : 0;
    ooc_progress_phase(env->progress, phase, rows, rows * src->ncols * sizeof(double));
    for (;;) {
        OOC_CHECK(ooc_check_cancel(env->cancel, err));
        OOC_CHECK(src->vt->next(src, &b, err));
        if (!b)
            break;
        OOC_FAIL_IF(b->nrows > src->block_rows, err, OOC_ERR_INTERNAL,
                    "block of %zu rows exceeds the source's %zu", b->nrows, src->block_rows);
        uint64_t nbytes = (uint64_t)b->nrows * b->ncols * sizeof(double);
        ooc_trace *tr = stage < OOC_STAGE_COUNT ? env->trace : NULL;
        ooc_trace_token span = ooc_trace_begin(tr, stage);
        OOC_CHECK(fn(ctx, b, err));
        ooc_trace_end_bytes(tr, span, nbytes);
        ooc_progress_add(env->progress, b->nrows, nbytes);
        src->vt->release(src, b);
        b = NULL;
    }
out:
    if (b)
        src->vt->release(src, b);
    return status;
}

char *ooc_strdup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void ooc_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

char **ooc_names_copy(const char *const *names, size_t n)
{
    char **out = calloc(n ? n : 1, sizeof(char *));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char generic[32];
        snprintf(generic, sizeof generic, "x%zu", i);
        out[i] = ooc_strdup_or_null(names && names[i] ? names[i] : generic);
        if (!out[i]) {
            ooc_names_free(out, n);
            return NULL;
        }
    }
    return out;
}

/*
 * passes.h — one pass over a source, written once: the loop every pass of
 * fit and svd runs (accumulate, refinement residuals, HC meat, U), with the
 * cancel flag checked per block, a trace span and progress per block, and
 * every block released on every path.  Also the small helpers the solve
 * wing's files share (names, cancel).
 */
#ifndef OOC_SOLVE_PASSES_H
#define OOC_SOLVE_PASSES_H

#include "oocsolve.h"
#include "profile/trace.h"
#include "stream/source.h"

/* What a pass reports to and checks (all may be NULL). */
typedef struct ooc_pass_env {
    const volatile int *cancel;
    ooc_trace *trace;
    ooc_progress *progress;
} ooc_pass_env;

/* Work on one block, inside the pass's trace span.  Must not keep b. */
typedef ooc_status (*ooc_block_fn)(void *ctx, const ooc_block *b, ooc_error *err);

/* Run fn on every block of src in row order: rewind first when `rewind`,
 * start progress phase `phase`, wrap each call in a `stage` span carrying the
 * block's bytes (OOC_STAGE_COUNT: none, fn records its own), then count its
 * rows and bytes.  Stops at the first error
 * (fn's, the source's, or OOC_ERR_INTERRUPTED when env->cancel is raised) and
 * returns it; blocks are always released. */
ooc_status ooc_for_each_block(ooc_source *src, bool rewind, const char *phase,
                              ooc_stage stage, const ooc_pass_env *env, ooc_block_fn fn,
                              void *ctx, ooc_error *err);

/* OOC_ERR_INTERRUPTED ("interrupted") when cancel is raised, else OOC_OK. */
ooc_status ooc_check_cancel(const volatile int *cancel, ooc_error *err);

/* A copy of s (NULL for NULL or when out of memory). */
char *ooc_strdup_or_null(const char *s);

/* A copy of n names (NULL entries, or names NULL: "x0", "x1", ...); NULL
 * when out of memory.  Free with ooc_names_free. */
char **ooc_names_copy(const char *const *names, size_t n);

/* Free n names and the array; NULL is a no-op. */
void ooc_names_free(char **names, size_t n);

#endif

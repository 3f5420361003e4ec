/*
 * accumulator.h — the accumulated state of a fit or an SVD, inside the
 * solve wing: the public ooc_accumulator (oocsolve.h) is this struct.
 *
 * An accumulator owns the merged triangle of the passes closed so far and
 * the side statistics; rows go to its backend (borrowed) in an open pass,
 * which ooc_accumulator_triangle closes and merges.  So rows may keep
 * arriving after a fit or a save, and a saved state (state_file.c) continues
 * where it stopped.  svd uses it without y (with_y false: the triangle is R
 * of X, and no side statistics are kept).
 */
#ifndef OOC_SOLVE_ACCUMULATOR_H
#define OOC_SOLVE_ACCUMULATOR_H

#include "backend/backend.h"
#include "oocsolve.h"
#include "solve/passes.h"
#include "stream/source.h"

/* Side statistics gathered while accumulating a fit.  The long double sums
 * keep the rounding of very many rows out of the statistics; y's weighted
 * mean and centered sum of squares are merged per block with Chan's formula. */
typedef struct ooc_side_stats {
    uint64_t nobs;
    double *colmin, *colmax;   /* p, explicit constant detection */
    long double *xw;           /* p: Σ w·x_j, implicit constant detection */
    long double sum_w, sum_log_w, sum_wy2;
    double y_wsum, y_mean, y_m2;
} ooc_side_stats;

/* Merge the weighted moments of other rows of y (their weight sum, mean and
 * centered sum of squares) into st's, by Chan's formula; wsum <= 0: none. */
void ooc_side_stats_add_y(ooc_side_stats *st, double wsum, double mean, double m2);

struct ooc_accumulator {
    ooc_backend *be;             /* borrowed */
    ooc_method method;
    size_t p, p_aug;             /* p_aug = p + with_y */
    bool with_y, weighted;
    char **names;                /* p */
    char *y_name, *formula;      /* may be NULL */
    ooc_log_sink log;
    ooc_side_stats st;           /* with_y only; st.nobs counts rows in either case */
    double *r_aug;               /* p_aug x p_aug: the merged triangle of the closed passes */
    bool have_r;                 /* r_aug holds rows (else it is all zero) */
    bool pass_open;              /* the backend holds rows not yet in r_aug */
    ooc_backend_layout pass_layout;
    double *scratch_r;           /* p_aug x p_aug, a later pass's triangle (allocated then) */
    double *scan;                /* a block's scan vector and a segment's (block_scan.h) */
    double *stage;               /* pushed rows as [x y w], STAGE_ROWS rows */
};

/* An empty accumulator shaped like src's [X (y) (w)] columns (names, y name,
 * formula copied), for a fit (with_y) or an SVD of X.  Errors: OOC_ERR_NOMEM,
 * OOC_ERR_UNSUPPORTED (method). */
ooc_status ooc_accumulator_for_source(const ooc_source *src, bool with_y, ooc_backend *be,
                                      ooc_method method, ooc_accumulator **out, ooc_error *err);

/* Add src's rows under env (cancel, trace, progress): the "accumulate"
 * pass.  The caller has matched src's columns to the accumulator's (made
 * from src, or ooc_accumulator_check_source).  Errors: the source's, OOC_ERR_DATA
 * (non-finite value, invalid weight: row and column named), the backend's. */
ooc_status ooc_accumulator_add_pass(ooc_accumulator *acc, ooc_source *src,
                                    const ooc_pass_env *env, ooc_error *err);

/* OOC_ERR_INVALID_ARG saying what differs when src's columns (count, names,
 * weights, response name, formula) are not the accumulator's; `what` names
 * the accumulator's origin in the message ("the saved state 'S.h5'"). */
ooc_status ooc_accumulator_check_source(const ooc_accumulator *acc, const ooc_source *src,
                                        const char *what, ooc_error *err);

/* Close the open pass (the backend's finish, under a "finalize" span of
 * trace) and merge it into the accumulator's triangle; *r_aug then points to
 * the p_aug x p_aug row-major upper triangle (non-negative diagonal), owned
 * by the accumulator and valid until rows are added.  Errors: the backend's. */
ooc_status ooc_accumulator_triangle(ooc_accumulator *acc, ooc_trace *trace,
                                    const double **r_aug, ooc_error *err);

/* An accumulator with every buffer allocated for p columns, names unset
 * (state_file.c fills them in).  Errors: OOC_ERR_NOMEM, OOC_ERR_UNSUPPORTED. */
ooc_status ooc_accumulator_alloc(size_t p, bool with_y, bool weighted, ooc_method method,
                                 ooc_backend *be, ooc_accumulator **out, ooc_error *err);

#endif

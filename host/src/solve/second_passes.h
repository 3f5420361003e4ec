/*
 * second_passes.h — fit's passes after the first (second_passes.c), each a
 * rewind and one ooc_for_each_block over the same source.
 */
#ifndef OOC_SOLVE_SECOND_PASSES_H
#define OOC_SOLVE_SECOND_PASSES_H

#include "backend/backend.h"
#include "solve/passes.h"

/* The second pass of --cov HC0/HC1: the sandwich's "meat" in the orthogonal
 * basis that R_K gives,
 *     mq = Σ_i ẽ_i² q_i q_iᵀ,   q_i = R_K⁻ᵀ a_i,   a_i = √w_i·x_i,K,
 *     ẽ_i = √w_i·(y_i - x_iᵀβ),
 * k x k, upper triangle.  The q_i are the rows of Q = A R_K⁻¹, whose columns
 * are orthonormal, so mq is as well conditioned as the residuals make it and
 * sandwich_cov's R_K⁻¹ mq R_K⁻ᵀ costs about cond(X)·ε; the textbook
 * (AᵀA)⁻¹ (Σ ẽ_i² a_i a_iᵀ) (AᵀA)⁻¹ costs cond(X)²·ε (tests/interop/hc_exact.py has
 * the bounds).  Per block: the rows ẽ_i·a_i = w_i e_i x_i,K (e_i formed in
 * long double), one dtrsm by R_K, one dsyrk.  rk: (k+1) x (k+1) row-major
 * with R_K in its first k columns; beta_full: p values, 0 for aliased. */
ooc_status ooc_hc_pass(ooc_source *src, const ooc_backend_layout *lay, const size_t *kept_index,
                       size_t k, const double *beta_full, const double *rk, double *mq,
                       const ooc_pass_env *env, ooc_error *err);

/* One refinement pass: g = X_Kᵀ W (y - X_K β) and Σ w r², in long double. */
ooc_status ooc_residual_pass(ooc_source *src, const ooc_backend_layout *lay, const bool *aliased,
                             const double *beta_full, long double *g, long double *ssr,
                             const ooc_pass_env *env, ooc_error *err);

#endif

/*
 * cluster.h — the cluster-robust covariance (cluster.c): a hash table of the
 * groups' score sums, the pass that fills it in R's basis, and statsmodels'
 * one- and two-way CRV1 combination with its small-sample correction.
 */
#ifndef OOC_SOLVE_CLUSTER_H
#define OOC_SOLVE_CLUSTER_H

#include "solve/passes.h"

#include <stdint.h>

/* An index slot: the key's hash and its entry + 1 (0: empty). */
typedef struct ooc_cluster_slot {
    uint64_t hash;
    size_t entry;
} ooc_cluster_slot;

/* Groups keyed by one or two 64-bit words (a block's keys, or the pair of
 * a two-way intersection), each with a sum of k doubles.  Entries are kept
 * in order of first sight (so the meat's summation order, and its rounding,
 * do not depend on the keys), indexed by open addressing with linear
 * probing on a 64-bit mix of the key, kept in the slot (one cache line
 * per probe; for one word the mix is invertible, so it is the key).
 * Memory: at most 2n entries of (k + nwords)·8 bytes and 4n slots of 16. */
typedef struct ooc_cluster_table {
    size_t k, nwords;
    size_t n, cap;           /* groups, and room for them in keys and sums */
    uint64_t *keys;          /* n x nwords */
    double *sums;            /* n x k */
    ooc_cluster_slot *slots; /* nslots */
    size_t nslots;           /* power of two, at least 2·n */
    size_t max_bytes;        /* refuse growth past this */
    const char *what;        /* the grouping's name, for messages */
} ooc_cluster_table;

/* An empty table of sums of k values keyed by nwords (1 or 2) words;
 * max_bytes 0: no limit.  `what` is borrowed. */
void ooc_cluster_table_init(ooc_cluster_table *t, size_t k, size_t nwords, size_t max_bytes,
                            const char *what);

/* Add f·v (k values) to the sum of the group of key (nwords words),
 * creating it.  Errors: OOC_ERR_NOMEM (out of memory, or past max_bytes:
 * the message names the estimate, the groups so far and the limit). */
ooc_status ooc_cluster_table_add(ooc_cluster_table *t, const uint64_t *key, const double *v,
                                 double f, ooc_error *err);

/* m (k x k, upper triangle) = Σ_g S_g S_gᵀ over the groups, in their order. */
void ooc_cluster_table_meat(const ooc_cluster_table *t, double *m);

/* Free the arrays (the struct is the caller's).  NULL-safe. */
void ooc_cluster_table_free(ooc_cluster_table *t);

/* Half the physical memory: the default of ooc_cluster_options.max_bytes. */
size_t ooc_cluster_default_max_bytes(void);

/* A pass's row weights, per block: s[i] so that row i's score is
 * s_i·x_i,K (OLS: w_i·e_i; a GLM: W_i·(z_i - x_iβ), the score times the
 * scale), and, when h is not NULL, h[i], the row's share of the Hessian
 * h_i·x_i x_iᵀ at that β (a GLM's observed one: the IRLS weight for a
 * canonical link; it may be negative). */
typedef ooc_status (*ooc_cluster_row_fn)(void *ctx, const ooc_block *b, double *s, double *h,
                                         ooc_error *err);

/* The cluster pass and covariance (everything but the statistics):
 *     q_i = R_K⁻ᵀ x_i,K,  S_g = Σ_{i∈g} s_i q_i  (tables of ndims groupings
 *     and, two-way, their intersections),  M_q = Σ_d ±c_d Σ_g S_g S_gᵀ,
 *     c_d = G_d/(G_d - 1)·(n - 1)/(n - p) (1 without the correction; n:
 *     `nobs` when > 0, a GLM's frequency weights' sum, as if each row were
 *     repeated that many times; else the rows),
 * and with h, H_q = Σ h_i q_i q_iᵀ (the Hessian at the final β in the basis
 * of the triangle R_K of an earlier β, close to the identity), so that
 *     cov = R_K⁻¹ H_q⁻¹ M_q H_q⁻¹ R_K⁻ᵀ,
 * statsmodels' H⁻¹ (Σ_g S_g S_gᵀ) H⁻¹, at cond(X)·ε (second_passes.h says
 * why R's basis).  rk: (k+1) x (k+1) row-major with R_K in its first k
 * columns; kept: k block columns; p: statsmodels' k_params; with_h: fn
 * fills h.  coll: several processes, each over its share of the rows (the
 * same rk on each; NULL: alone): the rows and H_q are summed, and process 0
 * merges every process's tables in rank order (memory O(G·k) there: the
 * groups of all), combines and broadcasts.  Outputs (on every process):
 * cov_k (k x k), meat_q (k x k; the meat in R_K's basis, H_q⁻¹ applied:
 * ooc_robust_f_test's), info (groups, correction, df).
 * Errors: OOC_ERR_INVALID_ARG (a group column that is not kept by the
 * source, one group only), OOC_ERR_NOMEM (the tables past the limit),
 * OOC_ERR_NUMERIC (H_q singular), the source's and fn's, the collective's
 * (OOC_ERR_REMOTE where another process failed). */
ooc_status ooc_cluster_covariance(ooc_source *src, const ooc_cluster_options *co, size_t p,
                                  double nobs, const size_t *kept, size_t k, const double *rk,
                                  ooc_cluster_row_fn fn, void *fn_ctx, bool with_h,
                                  const ooc_collective *coll, const ooc_pass_env *env,
                                  double *cov_k, double *meat_q, ooc_cluster_info *info,
                                  ooc_error *err);

#endif

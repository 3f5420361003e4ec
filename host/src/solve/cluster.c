/*
 * cluster.c — the cluster-robust covariance: the groups' hash table, the
 * pass that sums each group's scores in R's basis, and statsmodels' CRV1
 * combination (one-way, or two-way as cov_cluster_2groups).  See cluster.h.
 */
#include "solve/cluster.h"

#include "base/collective.h"
#include "base/error.h"
#include "solve/ols_stats.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

void ooc_cluster_table_init(ooc_cluster_table *t, size_t k, size_t nwords, size_t max_bytes,
                            const char *what)
{
    memset(t, 0, sizeof *t);
    t->k = k;
    t->nwords = nwords;
    t->max_bytes = max_bytes;
    t->what = what;
}

void ooc_cluster_table_free(ooc_cluster_table *t)
{
    if (!t)
        return;
    free(t->keys);
    free(t->sums);
    free(t->slots);
    t->keys = NULL;
    t->sums = NULL;
    t->slots = NULL;
    t->n = t->cap = t->nslots = 0;
}

size_t ooc_cluster_default_max_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || size <= 0)
        return (size_t)1 << 32;
    return (size_t)((double)pages * (double)size / 2.0);
}

/* splitmix64's finalizer over the key words: every bit of the key reaches
 * the low bits the index uses.  For one word every step is invertible, so
 * equal hashes mean equal keys and the index compares hashes alone. */
static uint64_t key_hash(const uint64_t *key, size_t nwords)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t w = 0; w < nwords; w++) {
        h ^= key[w] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebull;
        h ^= h >> 31;
    }
    return h;
}

/* True when entry e holds key (its hash equal; two words compared). */
static inline bool same_key(const ooc_cluster_table *t, const ooc_cluster_slot *slot,
                            uint64_t hash, const uint64_t *key)
{
    if (slot->hash != hash)
        return false;
    const uint64_t *k = t->keys + (slot->entry - 1) * t->nwords;
    return t->nwords == 1 || (k[0] == key[0] && k[1] == key[1]);
}

/* The slot of key (hash: key_hash's), or of the empty slot where it would go. */
static size_t find_slot(const ooc_cluster_table *t, const uint64_t *key, uint64_t hash)
{
    size_t mask = t->nslots - 1, i = (size_t)hash & mask;
    while (t->slots[i].entry && !same_key(t, &t->slots[i], hash, key))
        i = (i + 1) & mask;
    return i;
}

/* Room for one more group: entries doubled, the index rebuilt at twice the
 * groups.  Errors: OOC_ERR_NOMEM (the limit, or memory). */
static ooc_status grow(ooc_cluster_table *t, ooc_error *err)
{
    size_t cap = t->cap, nslots = t->nslots;
    if (t->n + 1 > cap)
        cap = cap ? 2 * cap : 64;
    while (2 * (t->n + 1) > nslots)
        nslots = nslots ? 2 * nslots : 128;
    double bytes = (double)cap * (double)(t->k + t->nwords) * 8.0 +
                   (double)nslots * sizeof(ooc_cluster_slot);
    if (t->max_bytes && bytes > (double)t->max_bytes)
        return OOC_FAIL(err, OOC_ERR_NOMEM,
                        "the cluster covariance's table of %s needs about %.0f MiB past %zu "
                        "groups (%zu values and %zu key words of 8 bytes per group, arrays "
                        "grown by doubling, and the index), more than the limit of %.0f MiB "
                        "(--max-cluster-memory)",
                        t->what, bytes / MIB, t->n, t->k, t->nwords,
                        (double)t->max_bytes / MIB);
    if (cap != t->cap) {
        uint64_t *keys = realloc(t->keys, cap * t->nwords * sizeof *keys);
        if (keys)
            t->keys = keys;
        double *sums = keys ? realloc(t->sums, cap * (t->k ? t->k : 1) * sizeof *sums) : NULL;
        if (sums)
            t->sums = sums;
        if (!keys || !sums)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for %zu groups of %s", cap,
                            t->what);
        t->cap = cap;
    }
    if (nslots != t->nslots) {
        ooc_cluster_slot *slots = calloc(nslots, sizeof *slots);
        if (!slots)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for %zu groups of %s", cap,
                            t->what);
        ooc_cluster_slot *old = t->slots;
        size_t nold = t->nslots;
        t->slots = slots;
        t->nslots = nslots;
        for (size_t i = 0; i < nold; i++) /* no two entries share a key: the first empty slot */
            if (old[i].entry) {
                size_t j = (size_t)old[i].hash & (nslots - 1);
                while (slots[j].entry)
                    j = (j + 1) & (nslots - 1);
                slots[j] = old[i];
            }
        free(old);
    }
    return OOC_OK;
}

ooc_status ooc_cluster_table_add(ooc_cluster_table *t, const uint64_t *key, const double *v,
                                 double f, ooc_error *err)
{
    const uint64_t hash = key_hash(key, t->nwords);
    size_t i = t->nslots ? find_slot(t, key, hash) : 0;
    if (!t->nslots || !t->slots[i].entry) {
        if (t->n + 1 > t->cap || 2 * (t->n + 1) > t->nslots) {
            ooc_status st = grow(t, err);
            if (st != OOC_OK)
                return st;
            i = find_slot(t, key, hash);
        }
        memcpy(t->keys + t->n * t->nwords, key, t->nwords * sizeof *key);
        memset(t->sums + t->n * t->k, 0, t->k * sizeof(double));
        t->slots[i] = (ooc_cluster_slot){hash, ++t->n};
    }
    double *sum = t->sums + (t->slots[i].entry - 1) * t->k;
    for (size_t h = 0; h < t->k; h++)
        sum[h] += f * v[h];
    return OOC_OK;
}

void ooc_cluster_table_meat(const ooc_cluster_table *t, double *m)
{
    const size_t k = t->k, step = (size_t)1 << 20;
    memset(m, 0, k * k * sizeof(double));
    for (size_t g = 0; g < t->n && k > 0; g += step) {
        size_t n = t->n - g < step ? t->n - g : step;
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)n, 1.0,
                    t->sums + g * k, (int)k, 1.0, m, (int)k);
    }
}

/* ---- the pass ------------------------------------------------------------ */

/* State of a cluster pass. */
typedef struct cluster_pass {
    size_t k, ndims, ntables, src_nkeys;
    const size_t *kept;
    size_t key_index[2];
    const double *rk;
    ooc_cluster_row_fn fn;
    void *fn_ctx;
    bool with_h;
    double *s, *h, *q, *hq_rows, *hq;
    ooc_cluster_table tables[3]; /* grouping 1, grouping 2, their intersections */
    uint64_t nobs;
    double nobs_given;           /* the correction's n when > 0 (frequency weights' sum) */
} cluster_pass;

static ooc_status cluster_block(void *ctx, const ooc_block *b, ooc_error *err)
{
    ooc_status status = OOC_OK;
    cluster_pass *c = ctx;
    const size_t n = b->nrows, k = c->k;
    if (n == 0)
        return OOC_OK;
    OOC_FAIL_IF(!b->keys, err, OOC_ERR_INTERNAL, "a block without its group keys");
    OOC_CHECK(c->fn(c->fn_ctx, b, c->s, c->with_h ? c->h : NULL, err));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++)
            c->q[i * k + j] = b->data[i * b->ncols + c->kept[j]];
    /* q_i = R_K⁻ᵀ x_i: the rows of X_K R_K⁻¹ */
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, (int)k,
                1.0, c->rk, (int)(k + 1), c->q, (int)k);
    if (c->with_h) { /* H_q += Σ h_i q_i q_iᵀ; h_i may be negative (an observed Hessian) */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < k; j++)
                c->hq_rows[i * k + j] = c->h[i] * c->q[i * k + j];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)n, 1.0,
                    c->hq_rows, (int)k, c->q, (int)k, 1.0, c->hq, (int)k);
    }
    for (size_t i = 0; i < n; i++) {
        const uint64_t *row_keys = b->keys + i * c->src_nkeys;
        const uint64_t pair[2] = {row_keys[c->key_index[0]],
                                  row_keys[c->key_index[c->ndims - 1]]};
        const double *q = c->q + i * k;
        OOC_CHECK(ooc_cluster_table_add(&c->tables[0], &pair[0], q, c->s[i], err));
        if (c->ndims == 2) {
            OOC_CHECK(ooc_cluster_table_add(&c->tables[1], &pair[1], q, c->s[i], err));
            OOC_CHECK(ooc_cluster_table_add(&c->tables[2], pair, q, c->s[i], err));
        }
    }
    c->nobs += n;
out:
    return status;
}

/* Which of the source's keys each grouping is.  Errors: OOC_ERR_INVALID_ARG. */
static ooc_status find_groups(const ooc_source *src, const ooc_cluster_options *co,
                              size_t *key_index, ooc_error *err)
{
    if (co->ngroups < 1 || co->ngroups > 2 || !co->groups)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "the cluster covariance needs one or two group columns (--groups), "
                        "not %zu", co->ngroups);
    for (size_t d = 0; d < co->ngroups; d++) {
        const char *name = co->groups[d] ? co->groups[d] : "";
        size_t j = 0;
        while (j < src->nkeys && strcmp(src->key_names[j], name) != 0)
            j++;
        if (j == src->nkeys)
            return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                            "the group column '%s' is not among the columns the input keeps "
                            "with its rows (open it with keep_columns naming it; for HDF5, "
                            "ingest with --keep %s)",
                            name, name);
        key_index[d] = j;
    }
    return OOC_OK;
}

/* m := Hq⁻¹ m Hq⁻¹ for the symmetric hq (k x k, upper triangle read;
 * overwritten by its Bunch-Kaufman factors: an observed Hessian need not be
 * definite), m symmetric (upper read, full written).  Errors:
 * OOC_ERR_NUMERIC (hq singular), OOC_ERR_NOMEM. */
static ooc_status apply_hessian(double *hq, double *m, size_t k, ooc_error *err)
{
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < i; j++)
            m[i * k + j] = m[j * k + i];
    lapack_int *ipiv = malloc((k ? k : 1) * sizeof *ipiv);
    if (!ipiv)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    lapack_int info = LAPACKE_dsytrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)k, hq, (lapack_int)k,
                                     ipiv);
    if (info != 0) {
        free(ipiv);
        return OOC_FAIL(err, OOC_ERR_NUMERIC,
                        "the Hessian at the final coefficients is singular (dsytrf: %d)",
                        (int)info);
    }
    /* Hq⁻¹ M, then (Hq⁻¹ (Hq⁻¹ M)ᵀ) = Hq⁻¹ M Hq⁻¹ */
    for (int pass = 0; pass < 2 && info == 0; pass++) {
        info = LAPACKE_dsytrs(LAPACK_ROW_MAJOR, 'U', (lapack_int)k, (lapack_int)k, hq,
                              (lapack_int)k, ipiv, m, (lapack_int)k);
        for (size_t i = 0; i < k; i++)
            for (size_t j = i + 1; j < k; j++) {
                double t = m[i * k + j];
                m[i * k + j] = m[j * k + i];
                m[j * k + i] = t;
            }
    }
    free(ipiv);
    if (info != 0)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "dsytrs: bad argument %d", (int)-info);
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++)
            m[i * k + j] = m[j * k + i] = 0.5 * (m[i * k + j] + m[j * k + i]);
    return OOC_OK;
}

/* The combination after the pass (alone, or on process 0 with every
 * process's groups merged): statsmodels' cov_cluster, G/(G-1)·(n-1)/(n-p)
 * per grouping, two-way V₁ + V₂ - V₁₂ (cov_cluster_2groups), then H_q⁻¹
 * and R_K.  Errors: OOC_ERR_INVALID_ARG (one group), apply_hessian's. */
static ooc_status combine(cluster_pass *c, const ooc_cluster_options *co, size_t p,
                          double *md, double *cov_k, double *meat_q, ooc_cluster_info *info,
                          ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t k = c->k;
    memset(meat_q, 0, k * k * sizeof(double));
    memset(info, 0, sizeof *info);
    info->ndims = c->ndims;
    info->use_correction = !co->no_correction;
    double n = c->nobs_given > 0.0 ? c->nobs_given : (double)c->nobs;
    uint64_t gmin = UINT64_MAX;
    for (size_t d = 0; d < c->ntables; d++) {
        const ooc_cluster_table *t = &c->tables[d];
        double g = (double)t->n;
        OOC_FAIL_IF(d < 2 && t->n < 2 && !co->no_correction, err, OOC_ERR_INVALID_ARG,
                    "%s: %zu group%s, and the correction G/(G-1) needs two at least", t->what,
                    t->n, t->n == 1 ? "" : "s");
        double f = co->no_correction ? 1.0 : g / (g - 1.0) * ((n - 1.0) / (n - (double)p));
        if (d == 2)
            f = -f;
        if (d < 2) {
            info->n_groups[d] = t->n;
            gmin = t->n < gmin ? t->n : gmin;
        }
        ooc_cluster_table_meat(t, md);
        for (size_t i = 0; i < k; i++)
            for (size_t j = i; j < k; j++)
                meat_q[i * k + j] += f * md[i * k + j];
    }
    info->df_resid_inference = co->no_df_correction ? NAN : (double)gmin - 1.0;
    if (c->with_h)
        OOC_CHECK(apply_hessian(c->hq, meat_q, k, err));
    ooc_sandwich_cov(c->rk, k + 1, k, meat_q, 1.0, cov_k);
out:
    return status;
}

/* The tables as bytes, for process 0: per table its n, keys and sums.
 * Errors: OOC_ERR_NOMEM. */
static ooc_status pack_tables(const cluster_pass *c, unsigned char **out, size_t *nbytes,
                              ooc_error *err)
{
    size_t total = 0;
    for (size_t d = 0; d < c->ntables; d++)
        total += sizeof(uint64_t) + c->tables[d].n * (c->tables[d].nwords * sizeof(uint64_t) +
                                                      c->k * sizeof(double));
    unsigned char *buf = malloc(total ? total : 1), *at = buf;
    if (!buf)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for %zu bytes of groups", total);
    for (size_t d = 0; d < c->ntables; d++) {
        const ooc_cluster_table *t = &c->tables[d];
        uint64_t n = t->n;
        memcpy(at, &n, sizeof n);
        at += sizeof n;
        memcpy(at, t->keys, t->n * t->nwords * sizeof(uint64_t));
        at += t->n * t->nwords * sizeof(uint64_t);
        memcpy(at, t->sums, t->n * c->k * sizeof(double));
        at += t->n * c->k * sizeof(double);
    }
    *out = buf;
    *nbytes = total;
    return OOC_OK;
}

/* Add another process's packed tables (nbytes at data) into c's, group by
 * group in its order.  Errors: OOC_ERR_INTERNAL (a short message), the
 * tables' OOC_ERR_NOMEM. */
static ooc_status merge_tables(cluster_pass *c, const unsigned char *data, size_t nbytes,
                               ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t at = 0;
    for (size_t d = 0; d < c->ntables; d++) {
        ooc_cluster_table *t = &c->tables[d];
        uint64_t n;
        OOC_FAIL_IF(nbytes - at < sizeof n, err, OOC_ERR_INTERNAL, "short group tables");
        memcpy(&n, data + at, sizeof n);
        at += sizeof n;
        const size_t kb = t->nwords * sizeof(uint64_t), sb = c->k * sizeof(double);
        OOC_FAIL_IF(n > (nbytes - at) / (kb + sb), err, OOC_ERR_INTERNAL, "short group tables");
        const unsigned char *keys = data + at, *sums = data + at + n * kb;
        uint64_t key[2];
        double *v = c->q; /* scratch of k values at least */
        for (uint64_t e = 0; e < n; e++) {
            memcpy(key, keys + e * kb, kb);
            memcpy(v, sums + e * sb, sb);
            OOC_CHECK(ooc_cluster_table_add(t, key, v, 1.0, err));
        }
        at += n * (kb + sb);
    }
out:
    return status;
}

/* Across processes: the rows and H_q summed, every process's tables merged
 * on process 0 in rank order, combined there and broadcast.  `local`: this
 * process's status so far (its pass).  Errors: those of base/collective.h,
 * combine's, merge_tables'. */
static ooc_status combine_across(cluster_pass *c, const ooc_collective *coll, ooc_status local,
                                 const ooc_cluster_options *co, size_t p, double *md,
                                 double *cov_k, double *meat_q, ooc_cluster_info *info,
                                 ooc_error *err)
{
    ooc_status status = OOC_OK;
    unsigned char *mine = NULL, *all = NULL;
    size_t nbytes = 0, *sizes = NULL;
    const size_t k = c->k;
    OOC_CHECK(ooc_coll_agree(coll, local, false, err));
    double nobs = (double)c->nobs; /* counts below 2^53 add exactly */
    OOC_CHECK(ooc_coll_sum(coll, &nobs, 1, err));
    c->nobs = (uint64_t)nobs;
    if (c->with_h)
        OOC_CHECK(ooc_coll_sum(coll, c->hq, k * k, err));
    local = pack_tables(c, &mine, &nbytes, err);
    OOC_CHECK(ooc_coll_gather(coll, local, mine, nbytes, (void **)&all, &sizes, err));
    local = OOC_OK;
    if (coll->rank == 0) {
        size_t at = sizes[0]; /* process 0's own groups are in the tables already */
        for (int r = 1; r < coll->size && local == OOC_OK; r++) {
            local = merge_tables(c, all + at, sizes[r], err);
            at += sizes[r];
        }
        if (local == OOC_OK)
            local = combine(c, co, p, md, cov_k, meat_q, info, err);
    }
    OOC_CHECK(ooc_coll_agree(coll, local, false, err));
    OOC_CHECK(ooc_coll_broadcast(coll, cov_k, k * k * sizeof(double), err));
    OOC_CHECK(ooc_coll_broadcast(coll, meat_q, k * k * sizeof(double), err));
    OOC_CHECK(ooc_coll_broadcast(coll, info, sizeof *info, err));
out:
    free(mine);
    free(all);
    free(sizes);
    return status;
}

ooc_status ooc_cluster_covariance(ooc_source *src, const ooc_cluster_options *co, size_t p,
                                  double nobs, const size_t *kept, size_t k, const double *rk,
                                  ooc_cluster_row_fn fn, void *fn_ctx, bool with_h,
                                  const ooc_collective *coll, const ooc_pass_env *env,
                                  double *cov_k, double *meat_q, ooc_cluster_info *info,
                                  ooc_error *err)
{
    ooc_status status = OOC_OK;
    cluster_pass c = {.k = k, .kept = kept, .rk = rk, .fn = fn, .fn_ctx = fn_ctx,
                      .with_h = with_h, .src_nkeys = src->nkeys, .nobs_given = nobs};
    double *md = NULL;
    char what[3][300];
    /* every process reaches combine_across's agreement, whatever happens before */
    ooc_status local = find_groups(src, co, c.key_index, err);
    c.ndims = co->ngroups;
    c.ntables = c.ndims == 2 ? 3 : 1;
    size_t limit = co->max_bytes ? co->max_bytes : ooc_cluster_default_max_bytes();
    for (size_t d = 0; local == OOC_OK && d < c.ntables; d++) {
        if (d < 2)
            snprintf(what[d], sizeof what[d], "the groups of '%s'", co->groups[d]);
        else
            snprintf(what[d], sizeof what[d], "the intersections of '%s' and '%s'",
                     co->groups[0], co->groups[1]);
        ooc_cluster_table_init(&c.tables[d], k, d == 2 ? 2 : 1, limit / c.ntables, what[d]);
    }
    size_t rows = src->block_rows ? src->block_rows : 1;
    const size_t kk = k ? k * k : 1;
    c.s = malloc(rows * sizeof(double));
    c.h = malloc(rows * sizeof(double));
    c.q = malloc(rows * (k ? k : 1) * sizeof(double));
    c.hq_rows = with_h ? malloc(rows * (k ? k : 1) * sizeof(double)) : NULL;
    c.hq = with_h ? calloc(kk, sizeof(double)) : NULL;
    md = malloc(kk * sizeof(double));
    if (local == OOC_OK &&
        (!c.s || !c.h || !c.q || (with_h && (!c.hq_rows || !c.hq)) || !md))
        local = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for a %zu-row block", rows);
    if (local == OOC_OK)
        local = ooc_for_each_block(src, true, "residual pass (cluster)",
                                   OOC_STAGE_RESIDUAL_PASS, env, cluster_block, &c, err);
    if (ooc_coll_active(coll))
        status = combine_across(&c, coll, local, co, p, md, cov_k, meat_q, info, err);
    else
        status = local == OOC_OK ? combine(&c, co, p, md, cov_k, meat_q, info, err) : local;
    for (size_t d = 0; d < 3; d++)
        ooc_cluster_table_free(&c.tables[d]);
    free(c.s);
    free(c.h);
    free(c.q);
    free(c.hq_rows);
    free(c.hq);
    free(md);
    return status;
}

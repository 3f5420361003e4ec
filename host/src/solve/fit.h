/*
 * fit.h — drivers that stream an ooc_source through a backend, and the
 * finalize step that turns the small triangle R_aug into statsmodels-style
 * OLS/WLS results (fit) or singular values/vectors (svd).
 *
 * Passes over the data:
 *   1. accumulate R_aug, plus per-column min/max (explicit constant detection),
 *      Σw, Σlog w, Xᵀw (implicit constant), and y's weighted mean/variance;
 *   2. residual passes in long double for iterative refinement: with --refine,
 *      or automatically when the first pass's error estimate (below) is large;
 *   3. (HC0/HC1) the sandwich "meat" in the orthogonal basis of R:
 *      M = Σ ẽ² q qᵀ, q = R⁻ᵀ(√w x), ẽ = √w (y - xᵀβ), and cov = R⁻¹ M R⁻ᵀ,
 *      which keeps the robust standard errors and F as accurate as the
 *      coefficients (cond(X)·ε, not cond(X)²·ε; tests/hc_exact.py);
 *   svd: a second pass writes U = X V Σ⁻¹ when asked.
 *
 * Finalize is dense work on the triangle: O(p³) for p columns, or O(m²p)
 * when only its first m rows are nonzero (fewer rows than columns, on the CPU
 * backend).  It checks the cancel flag between its stages, and a problem
 * whose dense arrays exceed the memory available is refused up front, with
 * the sizes (docs/ARCHITECTURE.md, "Cost of finalize").
 *
 * Rank rule: column j is aliased when its component orthogonal to the kept
 * columns before it is at most tol = max(nobs, p)·eps times its norm (the
 * numpy matrix_rank tolerance, applied column by column in formula order as
 * R's lm does with its 1e-7).  Aliased coefficients are NaN ("not
 * estimable"); the rest are fitted on the kept columns.
 */
#ifndef OOC_FIT_H
#define OOC_FIT_H

#include "backend/backend.h"
#include "stream/source.h"

typedef enum ooc_cov_type { OOC_COV_NONROBUST = 0, OOC_COV_HC0 = 1, OOC_COV_HC1 = 2 } ooc_cov_type;

/* "nonrobust" / "HC0" / "HC1". */
const char *ooc_cov_name(ooc_cov_type c);

/* When to run iterative refinement passes.  AUTO refines when the standard
 * least-squares perturbation bound for the first-pass β,
 *     ε·(2κ/cos θ + κ²·tan θ),   κ the scaled condition number of the kept
 *     columns (1-norm estimate), sin θ = ‖r‖/‖W^½y‖,
 * exceeds OOC_AUTO_REFINE_BOUND: an ill-conditioned design with a large
 * residual, where one double-precision QR pass leaves only ~6 correct digits
 * (NIST Wampler5, Filip).  Well-conditioned fits pay nothing. */
typedef enum ooc_refine_mode {
    OOC_REFINE_AUTO = 0,
    OOC_REFINE_ALWAYS = 1,
    OOC_REFINE_NEVER = 2
} ooc_refine_mode;
#define OOC_AUTO_REFINE_BOUND 1e-9

typedef struct ooc_fit_options {
    ooc_method method;          /* default OOC_METHOD_QR */
    ooc_refine_mode refine;     /* default AUTO; passes stop early once converged */
    int max_refine;             /* 0: 3 */
    ooc_cov_type cov;
    const volatile int *cancel; /* raise to stop with OOC_ERR_INTERRUPTED */
    ooc_log_sink log;
    ooc_trace *trace;           /* spans accumulate / finalize / residual pass, run metadata
                                 * (method, p, rows, cov); may be NULL */
    ooc_progress *progress;     /* rows and bytes per block, a phase per pass; may be NULL */
} ooc_fit_options;

/* Defaults (qr, nonrobust, automatic refinement). */
void ooc_fit_options_init(ooc_fit_options *o);

/* Results, named like statsmodels' RegressionResults.  Arrays have p entries
 * (NaN for aliased columns); cov_params is p x p row-major. */
typedef struct ooc_fit_result {
    size_t p;
    char **names;               /* p column names */
    char *y_name;               /* may be NULL */
    char *formula;              /* may be NULL */
    ooc_method method;
    ooc_cov_type cov;
    bool weighted;
    uint64_t nobs;
    size_t rank;
    bool *aliased;              /* p flags */
    size_t n_aliased;
    double *params, *bse, *tvalues, *pvalues, *conf_lower, *conf_upper, *cov_params;
    double *singular_values;    /* p singular values of W^½X, descending (those past the
                                 * rows are 0, as eigenvalues of XᵀWX are) */
    double ssr, centered_tss, uncentered_tss, ess, rsquared, rsquared_adj;
    double fvalue, f_pvalue, llf, aic, bic, df_model, df_resid, scale;
    double condition_number;    /* σmax/σmin of W^½X (statsmodels' condition_number) */
    double min_eigenvalue;      /* σmin² */
    double scaled_condition_number; /* the same after scaling columns to unit norm */
    bool use_t;                 /* t (nonrobust) or normal (HC, statsmodels' default use_t=False)
                                 * distribution for pvalues and conf_int */
    int k_constant;
    long const_idx;             /* explicit constant column, or -1 (none or implicit) */
    double error_estimate;      /* the first-pass bound that AUTO compares (NaN: not computed) */
    bool refined_automatically; /* AUTO decided to refine */
    int refine_passes;          /* refinement passes done */
    double refine_last_step;    /* ‖δ‖/‖β‖ of the last correction */
    char **warnings;            /* nwarnings messages (statsmodels' wording where it has one) */
    size_t nwarnings;
    double seconds_accumulate, seconds_refine, seconds_second_pass, seconds_finalize;
} ooc_fit_result;

/* Fit y on X by least squares (weighted when the source has weights).
 * A rank-deficient design is not an error (aliased columns + a warning).
 * Errors: the source's errors; OOC_ERR_DATA (no rows, NaN/Inf or a negative
 * weight, naming the row and column); OOC_ERR_INVALID_ARG (no response);
 * OOC_ERR_NUMERIC (factorisation failed); OOC_ERR_INTERRUPTED (the cancel
 * flag, also between the stages of finalize); OOC_ERR_NOMEM (also before
 * anything is allocated, when the dense arrays exceed the memory available).
 * On success *out is owned by the caller (ooc_fit_result_free). */
ooc_status ooc_fit(ooc_source *src, ooc_backend *be, const ooc_fit_options *o,
                   ooc_fit_result **out, ooc_error *err);

/* NULL is a no-op. */
void ooc_fit_result_free(ooc_fit_result *r);

typedef struct ooc_svd_options {
    ooc_method method;          /* how R is accumulated; default qr */
    size_t k;                   /* leading singular triplets to keep; 0: all min(rows, p) */
    bool vectors;               /* compute Vᵀ */
    const char *u_out;          /* write U (nrows x k) as dataset /X of this new HDF5 file; NULL: no */
    int nthreads;               /* HDF5 writer compression threads; 0: online CPUs */
    const volatile int *cancel;
    ooc_log_sink log;
    ooc_trace *trace;           /* spans accumulate / finalize / residual pass / write output
                                 * (and the U writer's), run metadata; may be NULL */
    ooc_progress *progress;     /* rows and bytes per block, a phase per pass; may be NULL */
} ooc_svd_options;

/* Defaults (qr, all singular values, no vectors, no U output). */
void ooc_svd_options_init(ooc_svd_options *o);

typedef struct ooc_svd_result {
    size_t p, k;                /* k <= min(nrows, p) */
    char **names;               /* p column names */
    uint64_t nrows;
    double *s;                  /* k singular values, descending */
    double *vt;                 /* k x p row-major right singular vectors (NULL unless vectors or u_out) */
    double condition_number;    /* s[0]/s[min(nrows, p)-1] over all min(nrows, p) values (numpy's
                                 * cond) */
    char *u_path;               /* where U was written, or NULL */
    double seconds_accumulate, seconds_u;
} ooc_svd_result;

/* SVD of X (weighted rows when the source has weights; y is ignored): the
 * min(rows, p) singular values, as numpy's svd, or the k largest.
 * Errors: as ooc_fit, plus the HDF5 writer's when u_out is set. */
ooc_status ooc_svd(ooc_source *src, ooc_backend *be, const ooc_svd_options *o,
                   ooc_svd_result **out, ooc_error *err);

/* NULL is a no-op. */
void ooc_svd_result_free(ooc_svd_result *r);

#endif

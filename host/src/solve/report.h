/*
 * report.h — human and machine output of fit/svd results: a text summary
 * laid out like statsmodels' OLS/WLS `summary()`, and JSON with every number
 * at full precision (the shortest of 15-17 digits that reads back as the
 * same double, base/dtoa.h; NaN and Inf become null).
 * Functions write to a caller-supplied stream and return OOC_ERR_IO when the
 * stream reports a write error; they never print anywhere else.
 */
#ifndef OOC_REPORT_H
#define OOC_REPORT_H

#include "backend/cpuinfo.h"
#include "oocsolve.h"

#include <stdio.h>

/* Extra context shown in reports (all optional). */
typedef struct ooc_report_info {
    const char *input;        /* input file name */
    const char *backend;      /* backend name */
    const char *decode;       /* which decoder inflated the chunks: "gpu", "host"; NULL: unsaid */
    double seconds_total;     /* wall time of the whole command, 0: omitted */
    const ooc_cpu_info *cpu;  /* the JSON "cpu" object; NULL: null */
    const char *cpu_warning;  /* the BLAS kernel warning given for this run (cpuinfo.h),
                               * listed after the fit's own JSON warnings; NULL: none */
    uint64_t rows_dropped;    /* rows the input dropped for missing values (CSV), reported
                               * with the rows read (the rows used plus these), as ingest does */
} ooc_report_info;

/* statsmodels-style text summary. */
ooc_status ooc_report_fit_text(FILE *f, const ooc_fit_result *r, const ooc_report_info *info,
                               ooc_error *err);

/* JSON object with every statistic, names, aliased columns, warnings, timings. */
ooc_status ooc_report_fit_json(FILE *f, const ooc_fit_result *r, const ooc_report_info *info,
                               ooc_error *err);

/* Singular values, condition number and (when computed) Vᵀ, as text. */
ooc_status ooc_report_svd_text(FILE *f, const ooc_svd_result *r, const ooc_report_info *info,
                               ooc_error *err);

/* The same as JSON. */
ooc_status ooc_report_svd_json(FILE *f, const ooc_svd_result *r, const ooc_report_info *info,
                               ooc_error *err);

/* The facts of `cpu` (ooc_cpu_info_facts, then "blas_warning") as a
 * one-line JSON object: unknown values are null, the extensions an array. */
void ooc_report_cpu_json(FILE *f, const ooc_cpu_info *cpu);

/* GLM results (glm_report.c): a text summary laid out like statsmodels'
 * GLMResults.summary(), and JSON with statsmodels' names. */
ooc_status ooc_report_glm_text(FILE *f, const ooc_glm_result *r, const ooc_report_info *info,
                               ooc_error *err);
ooc_status ooc_report_glm_json(FILE *f, const ooc_glm_result *r, const ooc_report_info *info,
                               ooc_error *err);

/* ---- pieces the reports share (report.c) ---- */

/* A coefficient table's columns (p entries each; cov_params p x p). */
typedef struct ooc_report_coefs {
    size_t p;
    char *const *names;
    const bool *aliased;
    const double *params, *bse, *tvalues, *pvalues, *conf_lower, *conf_upper, *cov_params;
    bool use_t;          /* t and P>|t| (else z and P>|z|) */
} ooc_report_coefs;

/* The coefficient table of a result r that has these members by these
 * names (ooc_fit_result, ooc_glm_result). */
#define OOC_REPORT_COEFS(r)                                                                        \
    ((ooc_report_coefs){(r)->p, (r)->names, (r)->aliased, (r)->params, (r)->bse, (r)->tvalues,     \
                        (r)->pvalues, (r)->conf_lower, (r)->conf_upper, (r)->cov_params,           \
                        (r)->use_t})

/* The summary's width for these names (*namew: the name column's). */
int ooc_report_width(char *const *names, size_t p, int *namew);
/* The centered title and its '=' rule; date ("Tue, 01 Dec 2026") and
 * clock_s ("12:31:25") get the local time. */
void ooc_report_title(FILE *f, const char *title, int width, char *date, size_t date_size,
                      char *clock_s, size_t clock_size);
/* One row of the two-column header block (label left, value right-aligned). */
void ooc_report_header_row(FILE *f, int width, const char *l_label, const char *l_value,
                           const char *r_label, const char *r_value);
/* A line of `width` characters c. */
void ooc_report_rule(FILE *f, char c, int width);
/* The coefficient table between '=' rules, statsmodels' number formats. */
void ooc_report_coef_table(FILE *f, const ooc_report_coefs *c, int namew, int width);
/* The end of the line below the coefficient table ("   Backend NAME" when
 * info names it), then its '=' rule. */
void ooc_report_table_end(FILE *f, const ooc_report_info *info, int width);
/* The n warnings as the Notes numbered from note, then
 * ooc_report_finish. */
ooc_status ooc_report_notes_end(FILE *f, int note, char *const *warnings, size_t n,
                                ooc_error *err);
/* OOC_ERR_IO when the stream has failed (after flushing it). */
ooc_status ooc_report_finish(FILE *f, ooc_error *err);

/* JSON pieces: an array of numbers (each the shortest round-trip text, null
 * when not finite); ",\n  \"key\": "; a key with a number, a string (NULL:
 * null) or a boolean. */
void ooc_report_json_array(FILE *f, const double *a, size_t n);
void ooc_report_json_key(FILE *f, const char *key);
void ooc_report_json_num(FILE *f, const char *key, double x);
void ooc_report_json_str(FILE *f, const char *key, const char *s);
void ooc_report_json_bool(FILE *f, const char *key, bool b);
/* "input", "backend", "decode" and "cpu" (the facts, or null without them): the run
 * of a model's report (info may be NULL). */
void ooc_report_json_run(FILE *f, const ooc_report_info *info);
/* `key` with the rows used, then "rows_read" (used + the rows the input
 * dropped) and "rows_dropped", as ingest --json reports them. */
void ooc_report_json_rows(FILE *f, const char *key, uint64_t used, const ooc_report_info *info);
/* The cluster covariance's facts (statsmodels' names): "n_groups" (a number,
 * or two for two-way), "df_resid_inference" and "cov_kwds" {"use_correction",
 * "df_correction"}; nothing when c->ndims is 0. */
void ooc_report_json_cluster(FILE *f, const ooc_cluster_info *c);
/* Note `note` of a summary: statsmodels' "Standard Errors are robust to
 * cluster correlation (CRV1)" and the groups counted. */
void ooc_report_cluster_note(FILE *f, int note, const ooc_cluster_info *c);
/* "names", "aliased", "params" ... "cov_params" of a coefficient table. */
void ooc_report_json_coefs(FILE *f, const ooc_report_coefs *c);
/* "warnings": the n warnings, then the run's BLAS warning (info's). */
void ooc_report_json_warnings(FILE *f, char *const *warnings, size_t n,
                              const ooc_report_info *info);
/* The end of the "timings" object the caller opened (its "total": info's
 * seconds_total when set) and of the report's, then ooc_report_finish. */
ooc_status ooc_report_json_end(FILE *f, const ooc_report_info *info, ooc_error *err);

#endif

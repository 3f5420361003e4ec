/*
 * report.c — text (statsmodels layout) and JSON reports of fit and svd,
 * and the pieces the GLM's (glm_report.c) shares with them; see report.h.
 * Number formats follow statsmodels' summary(): R² "%.3f", F "%.4g",
 * Prob "%.3g", llf "%.5g", AIC/BIC "%.4g"; coefficient table via forg()
 * (fixed with 4/3 decimals, %g outside [1e-4, 1e4)).
 */
#define _POSIX_C_SOURCE 200809L
#include "solve/report.h"

#include "base/dtoa.h"
#include "base/error.h"
#include "base/json.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

/* The summary is LINE_WIDTH wide, as statsmodels', unless the coefficient
 * rows (the names, then COEF_COLUMNS of six " %10s" columns) are wider: then
 * the rules, the title and the header block widen with them. */
#define LINE_WIDTH 78
#define COEF_COLUMNS 66

void ooc_report_rule(FILE *f, char c, int width)
{
    for (int i = 0; i < width; i++)
        fputc(c, f);
    fputc('\n', f);
}

/* One row of the two-column header, `width` wide: label left, value
 * right-aligned (at 78: a left half of 37, 3 spaces, a right half of 38;
 * extra width is shared between the halves). */
void ooc_report_header_row(FILE *f, int width, const char *l_label, const char *l_value,
                           const char *r_label, const char *r_value)
{
    int extra = width - LINE_WIDTH;
    int lw = 37 + extra / 2 - (int)strlen(l_label);
    int rw = 38 + extra - extra / 2 - (int)strlen(r_label);
    fprintf(f, "%s%*s   %s%*s\n", l_label, lw > 0 ? lw : 0, l_value, r_label, rw > 0 ? rw : 0,
            r_value);
}

/* statsmodels' forg: fixed notation with `prec` decimals unless the
 * magnitude is outside [1e-4, 1e4). */
static void forg(char *buf, size_t n, double x, int prec)
{
    if (isnan(x))
        snprintf(buf, n, "nan");
    else if (x != 0.0 && (fabs(x) >= 1e4 || fabs(x) < 1e-4))
        snprintf(buf, n, "%.*g", prec, x);
    else
        snprintf(buf, n, "%.*f", prec, x);
}

ooc_status ooc_report_finish(FILE *f, ooc_error *err)
{
    if (fflush(f) != 0 || ferror(f))
        return OOC_FAIL(err, OOC_ERR_IO, "cannot write the report: %s", strerror(errno));
    return OOC_OK;
}

int ooc_report_width(char *const *names, size_t p, int *namew)
{
    *namew = LINE_WIDTH - COEF_COLUMNS;
    for (size_t j = 0; j < p; j++)
        if ((int)strlen(names[j]) > *namew)
            *namew = (int)strlen(names[j]);
    return *namew + COEF_COLUMNS;
}

void ooc_report_title(FILE *f, const char *title, int width, char *date, size_t date_size,
                      char *clock_s, size_t clock_size)
{
    int pad = (width - (int)strlen(title)) / 2;
    fprintf(f, "%*s%s%*s\n", pad, "", title, width - pad - (int)strlen(title), "");
    ooc_report_rule(f, '=', width);
    time_t now = time(NULL);
    struct tm tmv;
    date[0] = clock_s[0] = '\0';
    if (localtime_r(&now, &tmv)) {
        strftime(date, date_size, "%a, %d %b %Y", &tmv);
        strftime(clock_s, clock_size, "%H:%M:%S", &tmv);
    }
}

void ooc_report_coef_table(FILE *f, const ooc_report_coefs *c, int namew, int width)
{
    ooc_report_rule(f, '=', width);
    fprintf(f, "%-*s %10s %10s %10s %10s %10s %10s\n", namew, "", "coef", "std err",
            c->use_t ? "t" : "z", c->use_t ? "P>|t|" : "P>|z|", "[0.025", "0.975]");
    ooc_report_rule(f, '-', width);
    for (size_t j = 0; j < c->p; j++) {
        if (c->aliased[j]) {
            fprintf(f, "%-*s %10s   (not estimable: aliased)\n", namew, c->names[j], "NaN");
            continue;
        }
        char t[6][40];
        forg(t[0], sizeof t[0], c->params[j], 4);
        forg(t[1], sizeof t[1], c->bse[j], 3);
        forg(t[2], sizeof t[2], c->tvalues[j], 3);
        snprintf(t[3], sizeof t[3], "%.3f", c->pvalues[j]);
        forg(t[4], sizeof t[4], c->conf_lower[j], 3);
        forg(t[5], sizeof t[5], c->conf_upper[j], 3);
        fprintf(f, "%-*s %10s %10s %10s %10s %10s %10s\n", namew, c->names[j], t[0], t[1], t[2],
                t[3], t[4], t[5]);
    }
    ooc_report_rule(f, '=', width);
}

void ooc_report_table_end(FILE *f, const ooc_report_info *info, int width)
{
    if (info && info->backend)
        fprintf(f, "   Backend %s", info->backend);
    fputc('\n', f);
    ooc_report_rule(f, '=', width);
}

ooc_status ooc_report_notes_end(FILE *f, int note, char *const *warnings, size_t n,
                                ooc_error *err)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "[%d] %s\n", note++, warnings[i]);
    return ooc_report_finish(f, err);
}

ooc_status ooc_report_fit_text(FILE *f, const ooc_fit_result *r, const ooc_report_info *info,
                               ooc_error *err)
{
    const char *model = r->weighted ? "WLS" : "OLS";
    int namew, width = ooc_report_width(r->names, r->p, &namew);
    char title[64], buf[8][64], date[32], clock_s[16];
    snprintf(title, sizeof title, "%s Regression Results", model);
    ooc_report_title(f, title, width, date, sizeof date, clock_s, sizeof clock_s);
    snprintf(buf[0], sizeof buf[0], "%#.3f", r->rsquared);
    snprintf(buf[1], sizeof buf[1], "%#.3f", r->rsquared_adj);
    snprintf(buf[2], sizeof buf[2], "%#.4g", r->fvalue);
    snprintf(buf[3], sizeof buf[3], "%#.3g", r->f_pvalue);
    snprintf(buf[4], sizeof buf[4], "%#.5g", r->llf);
    snprintf(buf[5], sizeof buf[5], "%#.4g", r->aic);
    snprintf(buf[6], sizeof buf[6], "%#.4g", r->bic);
    char nobs[32], dfr[32], dfm[32];
    snprintf(nobs, sizeof nobs, "%llu", (unsigned long long)r->nobs);
    snprintf(dfr, sizeof dfr, "%.0f", r->df_resid);
    snprintf(dfm, sizeof dfm, "%.0f", r->df_model);
    ooc_report_header_row(f, width, "Dep. Variable:", r->y_name ? r->y_name : "y", "R-squared:",
                          buf[0]);
    ooc_report_header_row(f, width, "Model:", model, "Adj. R-squared:", buf[1]);
    ooc_report_header_row(f, width, "Method:", "Least Squares", "F-statistic:", buf[2]);
    ooc_report_header_row(f, width, "Date:", date, "Prob (F-statistic):", buf[3]);
    ooc_report_header_row(f, width, "Time:", clock_s, "Log-Likelihood:", buf[4]);
    ooc_report_header_row(f, width, "No. Observations:", nobs, "AIC:", buf[5]);
    ooc_report_header_row(f, width, "Df Residuals:", dfr, "BIC:", buf[6]);
    ooc_report_header_row(f, width, "Df Model:", dfm, "", "");
    ooc_report_header_row(f, width, "Covariance Type:", ooc_cov_name(r->cov), "", "");
    ooc_report_coef_table(f, &OOC_REPORT_COEFS(r), namew, width);
    fprintf(f, "Cond. No. %#.3g   Rank %zu/%zu   Solver %s", r->condition_number, r->rank, r->p,
            ooc_method_name(r->method));
    if (r->refine_passes)
        fprintf(f, " + %d refinement pass%s", r->refine_passes, r->refine_passes > 1 ? "es" : "");
    ooc_report_table_end(f, info, width);
    fprintf(f, "\nNotes:\n");
    int note = 1;
    if (!r->k_constant)
        fprintf(f, "[%d] R² is computed without centering (uncentered) since the model does not "
                   "contain a constant.\n",
                note++);
    if (r->cov == OOC_COV_NONROBUST)
        fprintf(f, "[%d] Standard Errors assume that the covariance matrix of the errors is "
                   "correctly specified.\n",
                note++);
    else if (r->cov == OOC_COV_CLUSTER)
        ooc_report_cluster_note(f, note++, &r->cluster);
    else
        fprintf(f, "[%d] Standard Errors are heteroscedasticity robust (%s)\n", note++,
                ooc_cov_name(r->cov));
    if (r->refined_automatically)
        fprintf(f, "[%d] Refined automatically: the first pass's error bound for the coefficients "
                   "was %.2g (above %.0e; --no-refine skips).\n",
                note++, r->error_estimate, OOC_AUTO_REFINE_BOUND);
    return ooc_report_notes_end(f, note, r->warnings, r->nwarnings, err);
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_number(FILE *f, double x)
{
    char text[OOC_DTOA_SIZE];
    if (isfinite(x))
        fwrite(text, 1, ooc_format_double(x, text), f);
    else
        fputs("null", f);
}

void ooc_report_json_array(FILE *f, const double *a, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        json_number(f, a[i]);
    }
    fputc(']', f);
}

void ooc_report_json_key(FILE *f, const char *key)
{
    fputs(",\n  ", f);
    ooc_json_write_string(f, key);
    fputs(": ", f);
}

void ooc_report_json_str(FILE *f, const char *key, const char *s)
{
    ooc_report_json_key(f, key);
    ooc_json_write_string(f, s);
}

void ooc_report_json_bool(FILE *f, const char *key, bool b)
{
    ooc_report_json_key(f, key);
    fputs(b ? "true" : "false", f);
}

void ooc_report_json_cluster(FILE *f, const ooc_cluster_info *c)
{
    if (c->ndims == 0)
        return;
    ooc_report_json_key(f, "n_groups");
    if (c->ndims == 1)
        fprintf(f, "%llu", (unsigned long long)c->n_groups[0]);
    else
        fprintf(f, "[%llu, %llu]", (unsigned long long)c->n_groups[0],
                (unsigned long long)c->n_groups[1]);
    ooc_report_json_num(f, "df_resid_inference", c->df_resid_inference);
    ooc_report_json_key(f, "cov_kwds");
    fprintf(f, "{\"use_correction\": %s, \"df_correction\": %s}",
            c->use_correction ? "true" : "false",
            isnan(c->df_resid_inference) ? "false" : "true");
}

void ooc_report_cluster_note(FILE *f, int note, const ooc_cluster_info *c)
{
    fprintf(f, "[%d] Standard Errors are robust to cluster correlation (CRV1)", note);
    if (c->ndims == 2)
        fprintf(f, ", two-way: %llu and %llu groups.\n", (unsigned long long)c->n_groups[0],
                (unsigned long long)c->n_groups[1]);
    else
        fprintf(f, ": %llu groups.\n", (unsigned long long)c->n_groups[0]);
}

void ooc_report_json_rows(FILE *f, const char *key, uint64_t used, const ooc_report_info *info)
{
    uint64_t dropped = info ? info->rows_dropped : 0;
    ooc_report_json_key(f, key);
    fprintf(f, "%llu", (unsigned long long)used);
    ooc_report_json_key(f, "rows_read");
    fprintf(f, "%llu", (unsigned long long)(used + dropped));
    ooc_report_json_key(f, "rows_dropped");
    fprintf(f, "%llu", (unsigned long long)dropped);
}

void ooc_report_json_num(FILE *f, const char *key, double x)
{
    ooc_report_json_key(f, key);
    json_number(f, x);
}

static void json_names(FILE *f, char *const *names, size_t n, const bool *only)
{
    fputc('[', f);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (only && !only[i])
            continue;
        if (!first)
            fputs(", ", f);
        ooc_json_write_string(f, names[i]);
        first = false;
    }
    fputc(']', f);
}

void ooc_report_json_coefs(FILE *f, const ooc_report_coefs *c)
{
    ooc_report_json_key(f, "names");
    json_names(f, c->names, c->p, NULL);
    ooc_report_json_key(f, "aliased");
    json_names(f, c->names, c->p, c->aliased);
    ooc_report_json_key(f, "params");
    ooc_report_json_array(f, c->params, c->p);
    ooc_report_json_key(f, "bse");
    ooc_report_json_array(f, c->bse, c->p);
    ooc_report_json_key(f, "tvalues");
    ooc_report_json_array(f, c->tvalues, c->p);
    ooc_report_json_key(f, "pvalues");
    ooc_report_json_array(f, c->pvalues, c->p);
    ooc_report_json_key(f, "conf_int");
    fputc('[', f);
    for (size_t j = 0; j < c->p; j++) {
        double ci[2] = {c->conf_lower[j], c->conf_upper[j]};
        if (j)
            fputs(", ", f);
        ooc_report_json_array(f, ci, 2);
    }
    fputc(']', f);
    ooc_report_json_key(f, "cov_params");
    fputc('[', f);
    for (size_t j = 0; j < c->p; j++) {
        if (j)
            fputs(", ", f);
        ooc_report_json_array(f, c->cov_params + j * c->p, c->p);
    }
    fputc(']', f);
}

void ooc_report_cpu_json(FILE *f, const ooc_cpu_info *cpu)
{
    ooc_cpu_fact facts[OOC_CPU_NFACTS];
    ooc_cpu_info_facts(cpu, facts);
    fputc('{', f);
    for (size_t i = 0; i < OOC_CPU_NFACTS; i++) {
        const ooc_cpu_fact *x = &facts[i];
        ooc_json_write_string(f, x->key);
        fputs(": ", f);
        if (x->kind == OOC_CPU_FACT_INT && x->number >= 0) {
            fprintf(f, "%ld", x->number);
        } else if (x->kind == OOC_CPU_FACT_WORDS) {
            fputc('[', f);
            for (const char *w = x->text; *w;) {
                char word[64];
                size_t n = strcspn(w, " ");
                snprintf(word, sizeof word, "%.*s", (int)n, w);
                fputs(w == x->text ? "" : ", ", f);
                ooc_json_write_string(f, word);
                w += n + strspn(w + n, " ");
            }
            fputc(']', f);
        } else {
            ooc_json_write_string(f, x->kind == OOC_CPU_FACT_TEXT ? x->text : NULL);
        }
        fputs(", ", f);
    }
    fputs("\"blas_warning\": ", f);
    ooc_json_write_string(f, cpu->blas_warning[0] ? cpu->blas_warning : NULL);
    fputc('}', f);
}

/* The "cpu" member of a report: the facts, or null without them. */
static void json_cpu(FILE *f, const ooc_report_info *info)
{
    ooc_report_json_key(f, "cpu");
    if (info && info->cpu)
        ooc_report_cpu_json(f, info->cpu);
    else
        fputs("null", f);
}

void ooc_report_json_run(FILE *f, const ooc_report_info *info)
{
    ooc_report_json_str(f, "input", info ? info->input : NULL);
    ooc_report_json_str(f, "backend", info ? info->backend : NULL);
    ooc_report_json_str(f, "decode", info ? info->decode : NULL);
    json_cpu(f, info);
}

void ooc_report_json_warnings(FILE *f, char *const *warnings, size_t n,
                              const ooc_report_info *info)
{
    ooc_report_json_key(f, "warnings");
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", f);
        ooc_json_write_string(f, warnings[i]);
    }
    if (info && info->cpu_warning) {
        fputs(n ? ", " : "", f);
        ooc_json_write_string(f, info->cpu_warning);
    }
    fputc(']', f);
}

ooc_status ooc_report_json_end(FILE *f, const ooc_report_info *info, ooc_error *err)
{
    if (info && info->seconds_total > 0.0)
        fprintf(f, ", \"total\": %.6f", info->seconds_total);
    fputs("}\n}\n", f);
    return ooc_report_finish(f, err);
}

ooc_status ooc_report_fit_json(FILE *f, const ooc_fit_result *r, const ooc_report_info *info,
                               ooc_error *err)
{
    fputs("{\n  \"model\": ", f);
    ooc_json_write_string(f, r->weighted ? "WLS" : "OLS");
    ooc_report_json_run(f, info);
    ooc_report_json_str(f, "method", ooc_method_name(r->method));
    ooc_report_json_str(f, "cov_type", ooc_cov_name(r->cov));
    ooc_report_json_str(f, "dep_variable", r->y_name);
    ooc_report_json_str(f, "formula", r->formula);
    ooc_report_json_rows(f, "nobs", r->nobs, info);
    ooc_report_json_key(f, "rank");
    fprintf(f, "%zu", r->rank);
    ooc_report_json_bool(f, "use_t", r->use_t);
    ooc_report_json_cluster(f, &r->cluster);
    ooc_report_json_key(f, "k_constant");
    fprintf(f, "%d", r->k_constant);
    ooc_report_json_key(f, "const_idx");
    if (r->const_idx >= 0)
        fprintf(f, "%ld", r->const_idx);
    else
        fputs("null", f);
    ooc_report_json_coefs(f, &OOC_REPORT_COEFS(r));
    ooc_report_json_num(f, "df_model", r->df_model);
    ooc_report_json_num(f, "df_resid", r->df_resid);
    ooc_report_json_num(f, "ssr", r->ssr);
    ooc_report_json_num(f, "centered_tss", r->centered_tss);
    ooc_report_json_num(f, "uncentered_tss", r->uncentered_tss);
    ooc_report_json_num(f, "ess", r->ess);
    ooc_report_json_num(f, "rsquared", r->rsquared);
    ooc_report_json_num(f, "rsquared_adj", r->rsquared_adj);
    ooc_report_json_num(f, "fvalue", r->fvalue);
    ooc_report_json_num(f, "f_pvalue", r->f_pvalue);
    ooc_report_json_num(f, "llf", r->llf);
    ooc_report_json_num(f, "aic", r->aic);
    ooc_report_json_num(f, "bic", r->bic);
    ooc_report_json_num(f, "scale", r->scale);
    ooc_report_json_num(f, "condition_number", r->condition_number);
    ooc_report_json_num(f, "min_eigenvalue", r->min_eigenvalue);
    ooc_report_json_num(f, "scaled_condition_number", r->scaled_condition_number);
    ooc_report_json_key(f, "singular_values");
    ooc_report_json_array(f, r->singular_values, r->p);
    ooc_report_json_key(f, "refine_passes");
    fprintf(f, "%d", r->refine_passes);
    ooc_report_json_num(f, "refine_last_step", r->refine_last_step);
    ooc_report_json_num(f, "error_estimate", r->error_estimate);
    ooc_report_json_bool(f, "refined_automatically", r->refined_automatically);
    ooc_report_json_warnings(f, r->warnings, r->nwarnings, info);
    ooc_report_json_key(f, "timings");
    fprintf(f, "{\"accumulate\": %.6f, \"refine\": %.6f, \"second_pass\": %.6f, "
               "\"finalize\": %.6f",
            r->seconds_accumulate, r->seconds_refine, r->seconds_second_pass,
            r->seconds_finalize);
    return ooc_report_json_end(f, info, err);
}

ooc_status ooc_report_svd_text(FILE *f, const ooc_svd_result *r, const ooc_report_info *info,
                               ooc_error *err)
{
    fprintf(f, "SVD of X: %llu rows x %zu columns%s%s\n", (unsigned long long)r->nrows, r->p,
            info && info->input ? " from " : "", info && info->input ? info->input : "");
    fprintf(f, "Condition number: %.6g\n", r->condition_number);
    fprintf(f, "Singular values (%zu):\n", r->k);
    for (size_t i = 0; i < r->k; i++) {
        char text[OOC_DTOA_SIZE];
        ooc_format_double(r->s[i], text);
        fprintf(f, "  %4zu  %s\n", i + 1, text);
    }
    if (r->vt) {
        fprintf(f, "Right singular vectors (rows of V^T):\n");
        int namew = 10;
        for (size_t j = 0; j < r->p; j++)
            if ((int)strlen(r->names[j]) > namew)
                namew = (int)strlen(r->names[j]);
        for (size_t j = 0; j < r->p; j++) {
            fprintf(f, "  %-*s", namew, r->names[j]);
            for (size_t i = 0; i < r->k; i++)
                fprintf(f, " % .6e", r->vt[i * r->p + j]);
            fputc('\n', f);
        }
    }
    if (r->u_path)
        fprintf(f, "U written to %s (dataset /X, %zu columns u0..u%zu)\n", r->u_path, r->k,
                r->k - 1);
    return ooc_report_finish(f, err);
}

ooc_status ooc_report_svd_json(FILE *f, const ooc_svd_result *r, const ooc_report_info *info,
                               ooc_error *err)
{
    fputs("{\n  \"input\": ", f);
    ooc_json_write_string(f, info ? info->input : NULL);
    ooc_report_json_str(f, "backend", info ? info->backend : NULL);
    ooc_report_json_str(f, "decode", info ? info->decode : NULL);
    json_cpu(f, info);
    ooc_report_json_rows(f, "nrows", r->nrows, info);
    ooc_report_json_key(f, "p");
    fprintf(f, "%zu", r->p);
    ooc_report_json_key(f, "names");
    json_names(f, r->names, r->p, NULL);
    ooc_report_json_key(f, "singular_values");
    ooc_report_json_array(f, r->s, r->k);
    ooc_report_json_num(f, "condition_number", r->condition_number);
    ooc_report_json_key(f, "vt");
    if (r->vt) {
        fputc('[', f);
        for (size_t i = 0; i < r->k; i++) {
            if (i)
                fputs(", ", f);
            ooc_report_json_array(f, r->vt + i * r->p, r->p);
        }
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    ooc_report_json_str(f, "u_path", r->u_path);
    ooc_report_json_key(f, "timings");
    fprintf(f, "{\"accumulate\": %.6f, \"u\": %.6f", r->seconds_accumulate, r->seconds_u);
    return ooc_report_json_end(f, info, err);
}

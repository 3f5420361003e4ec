/*
 * report.c — text (statsmodels layout) and JSON reports; see report.h.
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

static void rule(FILE *f, char c, int width)
{
    for (int i = 0; i < width; i++)
        fputc(c, f);
    fputc('\n', f);
}

/* One row of the two-column header, `width` wide: label left, value
 * right-aligned (at 78: a left half of 37, 3 spaces, a right half of 38;
 * extra width is shared between the halves). */
static void header_row(FILE *f, int width, const char *l_label, const char *l_value,
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

static ooc_status finish_stream(FILE *f, ooc_error *err)
{
    if (fflush(f) != 0 || ferror(f))
        return OOC_FAIL(err, OOC_ERR_IO, "cannot write the report: %s", strerror(errno));
    return OOC_OK;
}

ooc_status ooc_report_fit_text(FILE *f, const ooc_fit_result *r, const ooc_report_info *info,
                               ooc_error *err)
{
    const char *model = r->weighted ? "WLS" : "OLS";
    int namew = LINE_WIDTH - COEF_COLUMNS;
    for (size_t j = 0; j < r->p; j++)
        if ((int)strlen(r->names[j]) > namew)
            namew = (int)strlen(r->names[j]);
    int width = namew + COEF_COLUMNS;
    char title[64], buf[8][64];
    snprintf(title, sizeof title, "%s Regression Results", model);
    int pad = (width - (int)strlen(title)) / 2;
    fprintf(f, "%*s%s%*s\n", pad, "", title, width - pad - (int)strlen(title), "");
    rule(f, '=', width);
    time_t now = time(NULL);
    struct tm tmv;
    char date[32] = "", clock_s[16] = "";
    if (localtime_r(&now, &tmv)) {
        strftime(date, sizeof date, "%a, %d %b %Y", &tmv);
        strftime(clock_s, sizeof clock_s, "%H:%M:%S", &tmv);
    }
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
    header_row(f, width, "Dep. Variable:", r->y_name ? r->y_name : "y", "R-squared:", buf[0]);
    header_row(f, width, "Model:", model, "Adj. R-squared:", buf[1]);
    header_row(f, width, "Method:", "Least Squares", "F-statistic:", buf[2]);
    header_row(f, width, "Date:", date, "Prob (F-statistic):", buf[3]);
    header_row(f, width, "Time:", clock_s, "Log-Likelihood:", buf[4]);
    header_row(f, width, "No. Observations:", nobs, "AIC:", buf[5]);
    header_row(f, width, "Df Residuals:", dfr, "BIC:", buf[6]);
    header_row(f, width, "Df Model:", dfm, "", "");
    header_row(f, width, "Covariance Type:", ooc_cov_name(r->cov), "", "");
    rule(f, '=', width);
    fprintf(f, "%-*s %10s %10s %10s %10s %10s %10s\n", namew, "", "coef", "std err",
            r->use_t ? "t" : "z", r->use_t ? "P>|t|" : "P>|z|", "[0.025", "0.975]");
    rule(f, '-', width);
    for (size_t j = 0; j < r->p; j++) {
        if (r->aliased[j]) {
            fprintf(f, "%-*s %10s   (not estimable: aliased)\n", namew, r->names[j], "NaN");
            continue;
        }
        char c[6][40];
        forg(c[0], sizeof c[0], r->params[j], 4);
        forg(c[1], sizeof c[1], r->bse[j], 3);
        forg(c[2], sizeof c[2], r->tvalues[j], 3);
        snprintf(c[3], sizeof c[3], "%.3f", r->pvalues[j]);
        forg(c[4], sizeof c[4], r->conf_lower[j], 3);
        forg(c[5], sizeof c[5], r->conf_upper[j], 3);
        fprintf(f, "%-*s %10s %10s %10s %10s %10s %10s\n", namew, r->names[j], c[0], c[1], c[2],
                c[3], c[4], c[5]);
    }
    rule(f, '=', width);
    fprintf(f, "Cond. No. %#.3g   Rank %zu/%zu   Solver %s", r->condition_number, r->rank, r->p,
            ooc_method_name(r->method));
    if (r->refine_passes)
        fprintf(f, " + %d refinement pass%s", r->refine_passes, r->refine_passes > 1 ? "es" : "");
    if (info && info->backend)
        fprintf(f, "   Backend %s", info->backend);
    fputc('\n', f);
    rule(f, '=', width);
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
    else
        fprintf(f, "[%d] Standard Errors are heteroscedasticity robust (%s)\n", note++,
                ooc_cov_name(r->cov));
    if (r->refined_automatically)
        fprintf(f, "[%d] Refined automatically: the first pass's error bound for the coefficients "
                   "was %.2g (above %.0e; --no-refine skips).\n",
                note++, r->error_estimate, OOC_AUTO_REFINE_BOUND);
    for (size_t i = 0; i < r->nwarnings; i++)
        fprintf(f, "[%d] %s\n", note++, r->warnings[i]);
    return finish_stream(f, err);
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

static void json_array(FILE *f, const double *a, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        json_number(f, a[i]);
    }
    fputc(']', f);
}

static void json_key(FILE *f, const char *key)
{
    fputs(",\n  ", f);
    ooc_json_write_string(f, key);
    fputs(": ", f);
}

/* "rows_read" (used + dropped) and "rows_dropped", as ingest --json reports them. */
static void json_rows_read(FILE *f, uint64_t used, const ooc_report_info *info)
{
    uint64_t dropped = info ? info->rows_dropped : 0;
    json_key(f, "rows_read");
    fprintf(f, "%llu", (unsigned long long)(used + dropped));
    json_key(f, "rows_dropped");
    fprintf(f, "%llu", (unsigned long long)dropped);
}

static void json_num_field(FILE *f, const char *key, double x)
{
    json_key(f, key);
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

/* The "cpu" member of a fit or svd report: the facts, or null without them. */
static void json_cpu_field(FILE *f, const ooc_report_info *info)
{
    json_key(f, "cpu");
    if (info && info->cpu)
        ooc_report_cpu_json(f, info->cpu);
    else
        fputs("null", f);
}

ooc_status ooc_report_fit_json(FILE *f, const ooc_fit_result *r, const ooc_report_info *info,
                               ooc_error *err)
{
    fputs("{\n  \"model\": ", f);
    ooc_json_write_string(f, r->weighted ? "WLS" : "OLS");
    json_key(f, "input");
    ooc_json_write_string(f, info ? info->input : NULL);
    json_key(f, "backend");
    ooc_json_write_string(f, info ? info->backend : NULL);
    json_cpu_field(f, info);
    json_key(f, "method");
    ooc_json_write_string(f, ooc_method_name(r->method));
    json_key(f, "cov_type");
    ooc_json_write_string(f, ooc_cov_name(r->cov));
    json_key(f, "dep_variable");
    ooc_json_write_string(f, r->y_name);
    json_key(f, "formula");
    ooc_json_write_string(f, r->formula);
    json_key(f, "nobs");
    fprintf(f, "%llu", (unsigned long long)r->nobs);
    json_rows_read(f, r->nobs, info);
    json_key(f, "rank");
    fprintf(f, "%zu", r->rank);
    json_key(f, "use_t");
    fputs(r->use_t ? "true" : "false", f);
    json_key(f, "k_constant");
    fprintf(f, "%d", r->k_constant);
    json_key(f, "const_idx");
    if (r->const_idx >= 0)
        fprintf(f, "%ld", r->const_idx);
    else
        fputs("null", f);
    json_key(f, "names");
    json_names(f, r->names, r->p, NULL);
    json_key(f, "aliased");
    json_names(f, r->names, r->p, r->aliased);
    json_key(f, "params");
    json_array(f, r->params, r->p);
    json_key(f, "bse");
    json_array(f, r->bse, r->p);
    json_key(f, "tvalues");
    json_array(f, r->tvalues, r->p);
    json_key(f, "pvalues");
    json_array(f, r->pvalues, r->p);
    json_key(f, "conf_int");
    fputc('[', f);
    for (size_t j = 0; j < r->p; j++) {
        double ci[2] = {r->conf_lower[j], r->conf_upper[j]};
        if (j)
            fputs(", ", f);
        json_array(f, ci, 2);
    }
    fputc(']', f);
    json_key(f, "cov_params");
    fputc('[', f);
    for (size_t j = 0; j < r->p; j++) {
        if (j)
            fputs(", ", f);
        json_array(f, r->cov_params + j * r->p, r->p);
    }
    fputc(']', f);
    json_num_field(f, "df_model", r->df_model);
    json_num_field(f, "df_resid", r->df_resid);
    json_num_field(f, "ssr", r->ssr);
    json_num_field(f, "centered_tss", r->centered_tss);
    json_num_field(f, "uncentered_tss", r->uncentered_tss);
    json_num_field(f, "ess", r->ess);
    json_num_field(f, "rsquared", r->rsquared);
    json_num_field(f, "rsquared_adj", r->rsquared_adj);
    json_num_field(f, "fvalue", r->fvalue);
    json_num_field(f, "f_pvalue", r->f_pvalue);
    json_num_field(f, "llf", r->llf);
    json_num_field(f, "aic", r->aic);
    json_num_field(f, "bic", r->bic);
    json_num_field(f, "scale", r->scale);
    json_num_field(f, "condition_number", r->condition_number);
    json_num_field(f, "min_eigenvalue", r->min_eigenvalue);
    json_num_field(f, "scaled_condition_number", r->scaled_condition_number);
    json_key(f, "singular_values");
    json_array(f, r->singular_values, r->p);
    json_key(f, "refine_passes");
    fprintf(f, "%d", r->refine_passes);
    json_num_field(f, "refine_last_step", r->refine_last_step);
    json_num_field(f, "error_estimate", r->error_estimate);
    json_key(f, "refined_automatically");
    fputs(r->refined_automatically ? "true" : "false", f);
    json_key(f, "warnings"); /* the fit's, then the run's BLAS warning */
    fputc('[', f);
    for (size_t i = 0; i < r->nwarnings; i++) {
        fputs(i ? ", " : "", f);
        ooc_json_write_string(f, r->warnings[i]);
    }
    if (info && info->cpu_warning) {
        fputs(r->nwarnings ? ", " : "", f);
        ooc_json_write_string(f, info->cpu_warning);
    }
    fputc(']', f);
    json_key(f, "timings");
    fprintf(f, "{\"accumulate\": %.6f, \"refine\": %.6f, \"second_pass\": %.6f, "
               "\"finalize\": %.6f",
            r->seconds_accumulate, r->seconds_refine, r->seconds_second_pass,
            r->seconds_finalize);
    if (info && info->seconds_total > 0.0)
        fprintf(f, ", \"total\": %.6f", info->seconds_total);
    fputs("}\n}\n", f);
    return finish_stream(f, err);
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
    return finish_stream(f, err);
}

ooc_status ooc_report_svd_json(FILE *f, const ooc_svd_result *r, const ooc_report_info *info,
                               ooc_error *err)
{
    fputs("{\n  \"input\": ", f);
    ooc_json_write_string(f, info ? info->input : NULL);
    json_key(f, "backend");
    ooc_json_write_string(f, info ? info->backend : NULL);
    json_cpu_field(f, info);
    json_key(f, "nrows");
    fprintf(f, "%llu", (unsigned long long)r->nrows);
    json_rows_read(f, r->nrows, info);
    json_key(f, "p");
    fprintf(f, "%zu", r->p);
    json_key(f, "names");
    json_names(f, r->names, r->p, NULL);
    json_key(f, "singular_values");
    json_array(f, r->s, r->k);
    json_num_field(f, "condition_number", r->condition_number);
    json_key(f, "vt");
    if (r->vt) {
        fputc('[', f);
        for (size_t i = 0; i < r->k; i++) {
            if (i)
                fputs(", ", f);
            json_array(f, r->vt + i * r->p, r->p);
        }
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    json_key(f, "u_path");
    ooc_json_write_string(f, r->u_path);
    json_key(f, "timings");
    fprintf(f, "{\"accumulate\": %.6f, \"u\": %.6f", r->seconds_accumulate, r->seconds_u);
    if (info && info->seconds_total > 0.0)
        fprintf(f, ", \"total\": %.6f", info->seconds_total);
    fputs("}\n}\n", f);
    return finish_stream(f, err);
}

/*
 * glm_report.c — the text and JSON reports of a GLM (report.h; the public
 * ooc_glm_result_summary is in report_api.c).  The text follows statsmodels'
 * GLMResults.summary(): its header block (Scale and Deviance "%#8.5g",
 * Log-Likelihood "%#.5g", Pearson chi2 "%#6.3g", Pseudo R-squ. (CS)
 * "%#6.4g") and the coefficient table of report.c; the JSON carries every
 * number at full precision under statsmodels' names.
 */
#include "solve/glm_family.h"
#include "solve/report.h"

#include "base/error.h"

#include <stdio.h>

ooc_status ooc_report_glm_text(FILE *f, const ooc_glm_result *r, const ooc_report_info *info,
                               ooc_error *err)
{
    int namew, width = ooc_report_width(r->names, r->p, &namew);
    char date[32], clock_s[16], v[9][64];
    ooc_report_title(f, "Generalized Linear Model Regression Results", width, date, sizeof date,
                     clock_s, sizeof clock_s);
    snprintf(v[0], sizeof v[0], "%llu", (unsigned long long)r->nobs);
    snprintf(v[1], sizeof v[1], "%.0f", r->df_resid);
    snprintf(v[2], sizeof v[2], "%.0f", r->df_model);
    snprintf(v[3], sizeof v[3], "%#8.5g", r->scale);
    snprintf(v[4], sizeof v[4], "%#.5g", r->llf);
    snprintf(v[5], sizeof v[5], "%#8.5g", r->deviance);
    snprintf(v[6], sizeof v[6], "%#6.3g", r->pearson_chi2);
    snprintf(v[7], sizeof v[7], "%#6.4g", r->pseudo_rsquared);
    snprintf(v[8], sizeof v[8], "%d", r->iterations);
    ooc_report_header_row(f, width, "Dep. Variable:", r->y_name ? r->y_name : "y",
                          "No. Observations:", v[0]);
    ooc_report_header_row(f, width, "Model:", "GLM", "Df Residuals:", v[1]);
    ooc_report_header_row(f, width, "Model Family:", ooc_glm_family_title(r->family),
                          "Df Model:", v[2]);
    ooc_report_header_row(f, width, "Link Function:", ooc_glm_link_title(r->link), "Scale:", v[3]);
    ooc_report_header_row(f, width, "Method:", "IRLS", "Log-Likelihood:", v[4]);
    ooc_report_header_row(f, width, "Date:", date, "Deviance:", v[5]);
    ooc_report_header_row(f, width, "Time:", clock_s, "Pearson chi2:", v[6]);
    ooc_report_header_row(f, width, "No. Iterations:", v[8], "Pseudo R-squ. (CS):", v[7]);
    ooc_report_header_row(f, width, "Covariance Type:", ooc_cov_name(r->cov), "", "");
    ooc_report_coef_table(f, &OOC_REPORT_COEFS(r), namew, width);
    fprintf(f, "Rank %zu/%zu   Solver %s   Passes %d", r->rank, r->p, ooc_method_name(r->method),
            r->passes);
    ooc_report_table_end(f, info, width);
    int note = 1;
    if (r->offset_name || r->exposure_name || r->weighted || r->freq_weights_name ||
        r->nwarnings || r->cluster.ndims)
        fprintf(f, "\nNotes:\n");
    if (r->cluster.ndims)
        ooc_report_cluster_note(f, note++, &r->cluster);
    if (r->offset_name)
        fprintf(f, "[%d] Offset: %s.\n", note++, r->offset_name);
    if (r->exposure_name)
        fprintf(f, "[%d] Exposure: %s (its log is in the offset).\n", note++, r->exposure_name);
    if (r->weighted)
        fprintf(f, "[%d] The weights are statsmodels' var_weights.\n", note++);
    if (r->freq_weights_name)
        fprintf(f, "[%d] Frequency weights (statsmodels' freq_weights): %s; they sum to %.17g.\n",
                note++, r->freq_weights_name, r->wnobs);
    return ooc_report_notes_end(f, note, r->warnings, r->nwarnings, err);
}

ooc_status ooc_report_glm_json(FILE *f, const ooc_glm_result *r, const ooc_report_info *info,
                               ooc_error *err)
{
    fputs("{\n  \"model\": \"GLM\"", f);
    ooc_report_json_str(f, "family", ooc_glm_family_name(r->family));
    ooc_report_json_str(f, "link", ooc_glm_link_name(r->link));
    ooc_report_json_str(f, "method", "IRLS");
    ooc_report_json_str(f, "solver", ooc_method_name(r->method));
    ooc_report_json_run(f, info);
    ooc_report_json_str(f, "cov_type", ooc_cov_name(r->cov));
    ooc_report_json_str(f, "dep_variable", r->y_name);
    ooc_report_json_str(f, "formula", r->formula);
    ooc_report_json_str(f, "offset", r->offset_name);
    ooc_report_json_str(f, "exposure", r->exposure_name);
    ooc_report_json_bool(f, "var_weights", r->weighted);
    ooc_report_json_str(f, "freq_weights", r->freq_weights_name);
    ooc_report_json_rows(f, "nobs", r->nobs, info);
    ooc_report_json_num(f, "wnobs", r->wnobs);
    ooc_report_json_key(f, "rank");
    fprintf(f, "%zu", r->rank);
    ooc_report_json_bool(f, "use_t", r->use_t);
    ooc_report_json_cluster(f, &r->cluster);
    ooc_report_json_coefs(f, &OOC_REPORT_COEFS(r));
    ooc_report_json_num(f, "df_model", r->df_model);
    ooc_report_json_num(f, "df_resid", r->df_resid);
    ooc_report_json_num(f, "deviance", r->deviance);
    ooc_report_json_num(f, "pearson_chi2", r->pearson_chi2);
    ooc_report_json_num(f, "scale", r->scale);
    ooc_report_json_num(f, "llf", r->llf);
    ooc_report_json_num(f, "aic", r->aic);
    ooc_report_json_num(f, "bic", r->bic);
    ooc_report_json_num(f, "bic_llf", r->bic);
    ooc_report_json_num(f, "bic_deviance", r->bic_deviance);
    ooc_report_json_num(f, "null_deviance", r->null_deviance);
    ooc_report_json_num(f, "llnull", r->llnull);
    ooc_report_json_num(f, "pseudo_rsquared", r->pseudo_rsquared);
    ooc_report_json_bool(f, "converged", r->converged);
    ooc_report_json_key(f, "iterations");
    fprintf(f, "%d", r->iterations);
    ooc_report_json_key(f, "fit_history");
    fputs("{\"deviance\": ", f);
    ooc_report_json_array(f, r->deviance_history, (size_t)r->iterations + 1);
    fprintf(f, ", \"iteration\": %d}", r->iterations);
    ooc_report_json_key(f, "passes");
    fprintf(f, "%d", r->passes);
    ooc_report_json_warnings(f, r->warnings, r->nwarnings, info);
    ooc_report_json_key(f, "timings");
    fprintf(f, "{\"passes\": %.6f, \"per_pass\": %.6f, \"finalize\": %.6f", r->seconds_passes,
            r->passes ? r->seconds_passes / r->passes : 0.0, r->seconds_finalize);
    return ooc_report_json_end(f, info, err);
}

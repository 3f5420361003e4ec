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

#endif

/*
 * report_api.c — the public entries to the text reports of a fit and of a
 * GLM (ooc_fit_result_summary, ooc_glm_result_summary, oocsolve.h):
 * report.c's or glm_report.c's summary written into an in-memory stream and
 * copied into the caller's buffer, snprintf-style.
 */
#include "base/error.h"
#include "solve/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A text report of r by `write`, into buf as snprintf does. */
typedef ooc_status (*report_fn)(FILE *f, const void *r, ooc_error *err);

static ooc_status summary_to_buffer(report_fn write, const void *r, const char *what, char *buf,
                                    size_t size, size_t *length, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    OOC_FAIL_IF(!f, err, OOC_ERR_NOMEM, "cannot open an in-memory stream for the %s summary", what);
    status = write(f, r, err);
    if (fclose(f) != 0 && status == OOC_OK)
        status = OOC_FAIL(err, OOC_ERR_IO, "cannot complete the in-memory %s summary", what);
    f = NULL;
    if (status != OOC_OK)
        goto out;
    if (length)
        *length = text_len;
    if (buf && size > 0) {
        size_t n = text_len < size - 1 ? text_len : size - 1;
        memcpy(buf, text, n);
        buf[n] = '\0';
    }
out:
    free(text);
    return status;
}

static ooc_status fit_text(FILE *f, const void *r, ooc_error *err)
{
    return ooc_report_fit_text(f, r, NULL, err);
}

static ooc_status glm_text(FILE *f, const void *r, ooc_error *err)
{
    return ooc_report_glm_text(f, r, NULL, err);
}

ooc_status ooc_fit_result_summary(const ooc_fit_result *r, char *buf, size_t size, size_t *length,
                                  ooc_error *err)
{
    return summary_to_buffer(fit_text, r, "fit", buf, size, length, err);
}

ooc_status ooc_glm_result_summary(const ooc_glm_result *r, char *buf, size_t size, size_t *length,
                                  ooc_error *err)
{
    return summary_to_buffer(glm_text, r, "GLM", buf, size, length, err);
}

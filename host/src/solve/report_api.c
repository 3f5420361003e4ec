/*
 * report_api.c — the public entry to the text report of a fit
 * (ooc_fit_result_summary, oocsolve.h): report.c's summary written into an
 * in-memory stream and copied into the caller's buffer, snprintf-style.
 */
#include "base/error.h"
#include "solve/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ooc_status ooc_fit_result_summary(const ooc_fit_result *r, char *buf, size_t size,
                                  size_t *length, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    OOC_FAIL_IF(!f, err, OOC_ERR_NOMEM, "cannot open an in-memory stream for the fit summary");
    status = ooc_report_fit_text(f, r, NULL, err);
    if (fclose(f) != 0 && status == OOC_OK)
        status = OOC_FAIL(err, OOC_ERR_IO, "cannot complete the in-memory fit summary");
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

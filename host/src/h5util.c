/* h5util.c — HDF5 error-stack helpers (see h5util.h). */
#include "h5util.h"

#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ooc_h5_quiet_begin(ooc_h5_quiet *q)
{
    q->saved = H5Eget_auto2(H5E_DEFAULT, &q->func, &q->client_data) >= 0;
    if (q->saved)
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void ooc_h5_quiet_end(ooc_h5_quiet *q)
{
    if (q->saved)
        H5Eset_auto2(H5E_DEFAULT, q->func, q->client_data);
    q->saved = false;
}

/* H5Ewalk2 callback: keep the first (innermost, walking upward) entry. */
static herr_t keep_innermost(unsigned n, const H5E_error2_t *e, void *client_data)
{
    char *detail = client_data;
    if (n == 0 && e) {
        snprintf(detail, 512, "%s: %s", e->func_name ? e->func_name : "?",
                 e->desc ? e->desc : "(no description)");
        return 1; /* stop walking */
    }
    return 0;
}

ooc_status ooc_h5_fail_at(ooc_error *err, const char *src_file, int src_line, const char *fmt,
                          ...)
{
    char context[768];
    char detail[512] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, detail);
    if (detail[0])
        return ooc_error_set(err, OOC_ERR_HDF5, src_file, src_line, "%s (HDF5: %s)", context,
                             detail);
    return ooc_error_set(err, OOC_ERR_HDF5, src_file, src_line, "%s", context);
}

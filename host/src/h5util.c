/* h5util.c — HDF5 error-stack helpers and filter names (see h5util.h). */
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
    ooc_h5_detail *detail = client_data;
    if (n == 0 && e) {
        snprintf(detail->text, sizeof detail->text, "%s: %s", e->func_name ? e->func_name : "?",
                 e->desc ? e->desc : "(no description)");
        return 1; /* stop walking */
    }
    return 0;
}

ooc_h5_detail ooc_h5_error_detail(void)
{
    ooc_h5_detail detail = {""};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &detail);
    return detail;
}

const char *ooc_h5_filter_name(H5Z_filter_t id)
{
    switch (id) {
    case H5Z_FILTER_DEFLATE: return "deflate";
    case H5Z_FILTER_SHUFFLE: return "shuffle";
    case H5Z_FILTER_FLETCHER32: return "fletcher32";
    case H5Z_FILTER_SZIP: return "szip";
    case H5Z_FILTER_NBIT: return "nbit";
    case H5Z_FILTER_SCALEOFFSET: return "scaleoffset";
    case 307: return "bzip2";
    case 32000: return "lzf";
    case 32001: return "blosc";
    case 32004: return "lz4";
    case 32008: return "bitshuffle";
    case 32015: return "zstd";
    case 32026: return "blosc2";
    default: return NULL;
    }
}

ooc_status ooc_h5_fail_at(ooc_error *err, const char *src_file, int src_line, const char *fmt,
                          ...)
{
    char context[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    ooc_h5_detail detail = ooc_h5_error_detail();
    if (detail.text[0])
        return ooc_error_set(err, OOC_ERR_HDF5, src_file, src_line, "%s (HDF5: %s)", context,
                             detail.text);
    return ooc_error_set(err, OOC_ERR_HDF5, src_file, src_line, "%s", context);
}

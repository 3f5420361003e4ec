/* h5util.c — HDF5 error-stack helpers and filter names (see h5util.h). */
#include "hdf5/h5util.h"

#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ooc_h5_quiet_begin(ooc_h5_quiet *q)
{
    q->saved = H5Eget_auto2(H5E_DEFAULT, &q->func, &q->client_data) >= 0;
    if (q->saved)
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void ooc_h5_quiet_end(ooc_h5_quiet *q)
{
    H5Eclear2(H5E_DEFAULT);
    if (q->saved)
        H5Eset_auto2(H5E_DEFAULT, q->func, q->client_data);
    q->saved = false;
}

/* H5Ewalk2 callback: keep the first (innermost, walking upward) entry as one
 * line, and the first "errno = N" any entry reports (the sec2 and core file
 * drivers put one in their read, write, open and truncate failures). */
static herr_t scan_entry(unsigned n, const H5E_error2_t *e, void *client_data)
{
    ooc_h5_detail *detail = client_data;
    if (!e)
        return 0;
    if (n == 0) {
        snprintf(detail->text, sizeof detail->text, "%s: %s", e->func_name ? e->func_name : "?",
                 e->desc ? e->desc : "(no description)");
        for (char *c = detail->text; *c; c++)
            if ((unsigned char)*c < 0x20) /* sec2's descriptions embed ctime()'s newline */
                *c = ' ';
    }
    const char *at = e->desc ? strstr(e->desc, "errno = ") : NULL;
    if (at && detail->sys_errno == 0) {
        long value = strtol(at + strlen("errno = "), NULL, 10);
        if (value > 0 && value < 4096)
            detail->sys_errno = (int)value;
    }
    return 0;
}

ooc_h5_detail ooc_h5_error_detail(void)
{
    ooc_h5_detail detail = {"", 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, scan_entry, &detail);
    H5Eclear2(H5E_DEFAULT);
    return detail;
}

ooc_status ooc_h5_close(hid_t *id, ooc_status status, ooc_error *err)
{
    if (*id < 0)
        return status;
    H5I_type_t type = H5Iget_type(*id);
    herr_t rc;
    switch (type) {
    case H5I_FILE: rc = H5Fclose(*id); break;
    case H5I_GROUP: rc = H5Gclose(*id); break;
    case H5I_DATASET: rc = H5Dclose(*id); break;
    case H5I_DATATYPE: rc = H5Tclose(*id); break;
    case H5I_DATASPACE: rc = H5Sclose(*id); break;
    case H5I_ATTR: rc = H5Aclose(*id); break;
    case H5I_GENPROP_LST: rc = H5Pclose(*id); break;
    default: rc = -1; break;
    }
    hid_t closed = *id;
    *id = H5I_INVALID_HID;
    if (rc >= 0)
        return status;
    ooc_status failed =
        ooc_h5_fail_at(status == OOC_OK ? err : NULL, __FILE__, __LINE__,
                       "cannot close HDF5 id %lld (type %d)", (long long)closed, (int)type);
    return status == OOC_OK ? failed : status;
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
    if (detail.sys_errno)
        return ooc_error_set(err, OOC_ERR_HDF5, src_file, src_line, "%s: %s", context,
                             strerror(detail.sys_errno));
    if (detail.text[0])
        return ooc_error_set(err, OOC_ERR_HDF5, src_file, src_line, "%s (HDF5: %s)", context,
                             detail.text);
    return ooc_error_set(err, OOC_ERR_HDF5, src_file, src_line, "%s", context);
}

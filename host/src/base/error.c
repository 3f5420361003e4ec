/* error.c — status strings, error messages and the log sink dispatcher. */
#include "base/error.h"
#include "oocsolve/version.h"

#include <stdio.h>
#include <string.h>

const char *ooc_strerror(ooc_status status)
{
    switch (status) {
    case OOC_OK: return "success";
    case OOC_ERR_NOMEM: return "out of memory";
    case OOC_ERR_IO: return "input/output error";
    case OOC_ERR_CSV: return "malformed CSV";
    case OOC_ERR_FORMULA: return "invalid formula";
    case OOC_ERR_DATA: return "invalid data";
    case OOC_ERR_HDF5: return "HDF5 error";
    case OOC_ERR_CORRUPT: return "corrupt data";
    case OOC_ERR_INVALID_ARG: return "invalid argument";
    case OOC_ERR_NUMERIC: return "numerical failure";
    case OOC_ERR_BACKEND: return "compute backend error";
    case OOC_ERR_UNSUPPORTED: return "unsupported";
    case OOC_ERR_INTERRUPTED: return "interrupted";
    case OOC_ERR_INTERNAL: return "internal error";
    case OOC_ERR_REMOTE: return "another process failed";
    }
    return "unknown status";
}

const char *ooc_version(void) { return OOC_VERSION_STRING; }

ooc_status ooc_error_set(ooc_error *err, ooc_status status, const char *src_file, int src_line,
                         const char *fmt, ...)
{
    if (!err)
        return status;
    /* Keep the first error: a later failure during cleanup must not hide the cause. */
    if (err->status != OOC_OK && err->message[0])
        return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
#ifndef NDEBUG
    if (n >= 0 && (size_t)n < sizeof err->message - 1)
        snprintf(err->message + n, sizeof err->message - (size_t)n, " [%s:%d]", src_file, src_line);
#else
    (void)n;
    (void)src_file;
    (void)src_line;
#endif
    return status;
}

void ooc_error_prefix(ooc_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    size_t cap = sizeof err->message;
    size_t mlen = strnlen(err->message, cap - 1);
    if (plen >= cap)
        return;
    if (plen + mlen >= cap)
        mlen = cap - 1 - plen; /* the message's tail is cut */
    memmove(err->message + plen, err->message, mlen);
    memcpy(err->message, prefix, plen);
    err->message[plen + mlen] = '\0';
}

void ooc_error_clear(ooc_error *err)
{
    if (!err)
        return;
    err->status = OOC_OK;
    err->message[0] = '\0';
}

void ooc_quote_excerpt(char *dst, size_t dstsize, const char *text, size_t len)
{
    const size_t max_shown = 40;
    size_t o = 0;
    if (dstsize < 8) {
        if (dstsize)
            dst[0] = '\0';
        return;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < len && i < max_shown && o + 6 < dstsize; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(dst + o, dstsize - o, "\\x%02x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    if (len > max_shown && o + 5 < dstsize) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o++] = '"';
    dst[o] = '\0';
}

void ooc_log(const ooc_log_sink *sink, ooc_log_level level, const char *fmt, ...)
{
    if (!sink || !sink->fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sink->fn(sink->user_data, level, msg);
}

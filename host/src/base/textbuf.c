/*
 * textbuf.c — the growable text buffer (see textbuf.h).
 */
#include "base/textbuf.h"

#include "base/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `extra` more bytes and the NUL; false (and b->failed) when it
 * cannot be had. */
static bool reserve(ooc_textbuf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->text && b->len + extra < b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap <= b->len + extra) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *grown = realloc(b->text, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    if (!b->text)
        grown[0] = '\0';
    b->text = grown;
    b->cap = cap;
    return true;
}

void ooc_textbuf_append_n(ooc_textbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

void ooc_textbuf_append(ooc_textbuf *b, const char *s)
{
    ooc_textbuf_append_n(b, s, strlen(s));
}

void ooc_textbuf_printf(ooc_textbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(b->text ? b->text + b->len : NULL, b->text ? b->cap - b->len : 0, fmt, ap);
    if (n < 0) {
        b->failed = true;
    } else if (b->text && b->len + (size_t)n < b->cap) {
        b->len += (size_t)n;
    } else if (reserve(b, (size_t)n)) {
        vsnprintf(b->text + b->len, b->cap - b->len, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
    va_end(ap);
}

ooc_status ooc_textbuf_take(ooc_textbuf *b, char **text, ooc_error *err, const char *doing, ...)
{
    *text = NULL;
    reserve(b, 0);
    if (b->failed) {
        ooc_textbuf_free(b);
        char what[512];
        va_list ap;
        va_start(ap, doing);
        vsnprintf(what, sizeof what, doing, ap);
        va_end(ap);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory %s", what);
    }
    *text = b->text;
    *b = (ooc_textbuf){0};
    return OOC_OK;
}

void ooc_textbuf_free(ooc_textbuf *b)
{
    free(b->text);
    *b = (ooc_textbuf){0};
}

/*
 * textbuf.h — a growable text buffer for building a string piece by piece
 * (reports, summaries, descriptions).  Appends never fail loudly: the first
 * allocation failure is recorded, later appends do nothing, and
 * ooc_textbuf_take reports it as OOC_ERR_NOMEM, so formatting code needs no
 * error check per line.
 *
 *     ooc_textbuf b = {0};
 *     ooc_textbuf_printf(&b, "%d rows\n", n);
 *     return ooc_textbuf_take(&b, &text, err, "formatting the summary");
 */
#ifndef OOC_TEXTBUF_H
#define OOC_TEXTBUF_H

#include "oocsolve.h"

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialise before use ({0}). */
typedef struct ooc_textbuf {
    char *text;  /* NUL-terminated once anything was appended; NULL before */
    size_t len;  /* bytes of text, without the NUL */
    size_t cap;  /* bytes allocated */
    bool failed; /* an allocation (or a format) failed: appends are ignored */
} ooc_textbuf;

/* Append the NUL-terminated string s. */
void ooc_textbuf_append(ooc_textbuf *b, const char *s);

/* Append the n bytes at s (no NUL needed; with n = 0, s may be NULL). */
void ooc_textbuf_append_n(ooc_textbuf *b, const char *s, size_t n);

/* Append printf-style formatted text. */
void ooc_textbuf_printf(ooc_textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hand the text over: *text gets it (the caller frees it; "" when nothing
 * was appended) and b is empty again.  When an append failed, frees the
 * text, sets *text = NULL and returns OOC_ERR_NOMEM with the message "out of
 * memory " followed by the printf-style `doing` ("describing 'x.h5'"). */
ooc_status ooc_textbuf_take(ooc_textbuf *b, char **text, ooc_error *err, const char *doing, ...)
    __attribute__((format(printf, 4, 5)));

/* Free the text and make b empty (and usable) again. */
void ooc_textbuf_free(ooc_textbuf *b);

#endif

/*
 * error.h — internal helpers for filling ooc_error and early returns.
 *
 * OOC_FAIL(err, code, fmt, ...) records the message (with file:line of the
 * call in debug builds) and evaluates to `code`, so it can be returned or
 * assigned: `return OOC_FAIL(err, OOC_ERR_IO, "cannot open '%s'", path);`
 *
 * OOC_CHECK(expr) evaluates an ooc_status expression and jumps to the label
 * `out` with `status` set when it fails: the single-exit cleanup pattern.
 */
#ifndef OOC_ERROR_H
#define OOC_ERROR_H

#include "oocsolve.h"

#include <stdarg.h>

/* Record `status` and a printf-style message in err (if non-NULL); returns status. */
ooc_status ooc_error_set(ooc_error *err, ooc_status status, const char *src_file, int src_line,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prefix the existing message in err with more context ("reading X: ..."). */
void ooc_error_prefix(ooc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clear err to OOC_OK with an empty message (err may be NULL). */
void ooc_error_clear(ooc_error *err);

/* Write `text` into dst (size dstsize) as a short quoted excerpt, escaping
 * control characters and truncating long text with "...". */
void ooc_quote_excerpt(char *dst, size_t dstsize, const char *text, size_t len);

#define OOC_FAIL(err, code, ...) ooc_error_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)

#define OOC_CHECK(expr)                                                                            \
    do {                                                                                           \
        status = (expr);                                                                           \
        if (status != OOC_OK)                                                                      \
            goto out;                                                                              \
    } while (0)

#define OOC_FAIL_IF(cond, err, code, ...)                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            status = OOC_FAIL((err), (code), __VA_ARGS__);                                         \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* Emit a log message to a sink (no-op if sink->fn is NULL). */
void ooc_log(const ooc_log_sink *sink, ooc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

/*
 * h5util.h — small helpers shared by the modules that call libhdf5:
 * silencing HDF5's automatic error-stack printing around calls that may fail
 * (the library never prints), and turning a failed HDF5 call into an
 * OOC_ERR_HDF5 message that carries HDF5's own innermost explanation.
 *
 * Only call these from the thread that makes the HDF5 calls.
 */
#ifndef OOC_H5UTIL_H
#define OOC_H5UTIL_H

#include "oocsolve.h"

#include <hdf5.h>

/* Saved automatic error handler of the default error stack. */
typedef struct ooc_h5_quiet {
    H5E_auto2_t func;
    void *client_data;
    bool saved;
} ooc_h5_quiet;

/* Turn off HDF5's automatic error printing, remembering the caller's handler. */
void ooc_h5_quiet_begin(ooc_h5_quiet *q);

/* Restore the handler saved by ooc_h5_quiet_begin (no-op if none was saved). */
void ooc_h5_quiet_end(ooc_h5_quiet *q);

/* The innermost entry of this thread's HDF5 error stack as "FUNC: DESCRIPTION"
 * (e.g. "H5FD_sec2_open: unable to open file"), or "" when the stack is
 * empty.  Returned by value, so it can sit in a message's argument list; read
 * it before any other HDF5 call clears the stack.  Never fails. */
typedef struct ooc_h5_detail {
    char text[512];
} ooc_h5_detail;

ooc_h5_detail ooc_h5_error_detail(void);

/* Conventional name of an HDF5 filter id ("deflate", "shuffle", "lzf",
 * "blosc", ...; the built-in filters and the registered plugins met in
 * practice), or NULL for an id not in that list.  Returns a static string. */
const char *ooc_h5_filter_name(H5Z_filter_t id);

/* Record OOC_ERR_HDF5 in err with the printf-style context message followed by
 * the innermost entry of HDF5's current error stack (ooc_h5_error_detail;
 * e.g. "... (HDF5: H5FD_sec2_open: unable to open file ...)"); returns
 * OOC_ERR_HDF5.  Call it right after the failing HDF5 call, before any other
 * HDF5 call clears the stack.  Use through OOC_H5_FAIL so debug builds carry
 * file:line. */
ooc_status ooc_h5_fail_at(ooc_error *err, const char *src_file, int src_line, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

#define OOC_H5_FAIL(err, ...) ooc_h5_fail_at((err), __FILE__, __LINE__, __VA_ARGS__)

/* Like OOC_FAIL_IF for an HDF5 failure: when cond holds, record the message
 * with OOC_H5_FAIL and jump to `out` with `status` set. */
#define OOC_H5_FAIL_IF(cond, err, ...)                                                             \
    do {                                                                                           \
        if (cond) {                                                                                \
            status = OOC_H5_FAIL((err), __VA_ARGS__);                                              \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#endif

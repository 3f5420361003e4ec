/*
 * h5util.h — small helpers shared by the modules that call libhdf5:
 * silencing HDF5's automatic error-stack printing around calls that may fail
 * (the library never prints), and turning a failed HDF5 call into a
 * one-line message with HDF5's own innermost explanation, or the system error
 * behind it, while leaving the thread's error stack empty.
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

/* Restore the handler saved by ooc_h5_quiet_begin (no-op if none was saved)
 * and clear this thread's error stack: by then every failure has become an
 * ooc_error, and a stack left non-empty on a thread that ends keeps HDF5 from
 * shutting down (see ooc_h5_error_detail). */
void ooc_h5_quiet_end(ooc_h5_quiet *q);

/* What this thread's HDF5 error stack says about the last failure.  `text` is
 * its innermost entry as "FUNC: DESCRIPTION" on one line (e.g.
 * "H5B__cache_deserialize: wrong B-tree signature"), or "" when the stack is
 * empty.  `sys_errno` is the system error a file driver reported on the way
 * (its descriptions carry "errno = N": ENOSPC for a full disk), or 0.
 *
 * Reading the detail also clears the stack.  HDF5 1.10's error-stack entries
 * hold references on its error class and message ids; a thread that ends with
 * a non-empty stack leaves them behind, and the library then fails to shut
 * down ("HDF5: infinite loop closing library" at exit, and leaked memory).
 * Returned by value, so it can sit in a message's argument list; read it right
 * after the failing call, before any other HDF5 call clears the stack.  Never
 * fails. */
typedef struct ooc_h5_detail {
    char text[512];
    int sys_errno;
} ooc_h5_detail;

ooc_h5_detail ooc_h5_error_detail(void);

/* Release *id with the close call of its kind (file, group, dataset,
 * datatype, dataspace, attribute, property list) and set it to
 * H5I_INVALID_HID, also when the close fails (HDF5 may have freed the object
 * then: a second close would touch freed memory); a negative *id is left
 * alone.  For cleanup paths: a failure is recorded in err (OOC_H5_FAIL) only
 * when `status` is still OOC_OK, so the first error wins; err may be NULL.
 * Returns the resulting status:  status = ooc_h5_close(&space, status, err); */
ooc_status ooc_h5_close(hid_t *id, ooc_status status, ooc_error *err);

/* Conventional name of an HDF5 filter id ("deflate", "shuffle", "lzf",
 * "blosc", ...; the built-in filters and the registered plugins met in
 * practice), or NULL for an id not in that list.  Returns a static string. */
const char *ooc_h5_filter_name(H5Z_filter_t id);

/* Record OOC_ERR_HDF5 in err: the printf-style context message, then what
 * HDF5 said (ooc_h5_error_detail, which clears the stack): the system error
 * when a file driver reported one ("CONTEXT: Input/output error"), else
 * "CONTEXT (HDF5: H5B__cache_deserialize: wrong B-tree signature)".  Returns
 * OOC_ERR_HDF5.  Call it right after the failing HDF5 call, before any other
 * HDF5 call clears the stack; use it through OOC_H5_FAIL so debug builds
 * carry file:line. */
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

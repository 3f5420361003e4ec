/*
 * memsource.h — an ooc_source over a matrix already in memory (for tests and
 * the library API): yields blocks of [X y w] copied from the caller's arrays.
 */
#ifndef OOC_MEMSOURCE_H
#define OOC_MEMSOURCE_H

#include "stream/source.h"

/* The caller's data.  Arrays are borrowed, not copied: they must stay valid
 * and unchanged until the source is freed. */
typedef struct ooc_mem_source_spec {
    const double *x;                 /* nrows x p, row-major (required unless nrows == 0) */
    const double *y;                 /* nrows, or NULL for no response */
    const double *w;                 /* nrows observation weights, or NULL */
    uint64_t nrows;
    size_t p;                        /* columns of X (>= 1) */
    const char *const *column_names; /* p names, or NULL for "x0".."x{p-1}" */
    const char *y_name;              /* response name, or NULL ("y" when y is given) */
    size_t block_rows;               /* rows per block; 0: 65536 */
    ooc_allocator allocator;         /* ring buffers; zeroed: ooc_default_allocator */
} ooc_mem_source_spec;

/* Create the source (a ring of two buffers; single consumer thread).
 * Errors: OOC_ERR_INVALID_ARG (p == 0, x missing), OOC_ERR_NOMEM. */
ooc_status ooc_mem_source_open(const ooc_mem_source_spec *spec, ooc_source **out, ooc_error *err);

#endif

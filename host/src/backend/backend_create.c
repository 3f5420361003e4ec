/*
 * backend_create.c — the public face of backend selection (oocsolve.h):
 * ooc_backend_create over ooc_backend_open (backend_select.c) with the few
 * options a library user sets, and what a caller may ask of a backend.
 */
#include "backend/backend_select.h"
#include "base/error.h"

#include <string.h>

ooc_status ooc_backend_create(const char *device, const ooc_backend_options *o,
                              ooc_backend **out, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_backend_open_options open;
    memset(&open, 0, sizeof open);
    if (o) {
        open.cpu.nthreads = o->cpu_threads;
        open.log = o->log;
        if (o->cpu_gram_blas && !ooc_cpu_gram_blas_parse(o->cpu_gram_blas, &open.cpu.gram_blas))
            return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                            "cpu_gram_blas must be \"auto\", \"openblas\" or \"blis\", not \"%s\"",
                            o->cpu_gram_blas);
    }
    return ooc_backend_open(device, &open, out, err);
}

const char *ooc_backend_name(const ooc_backend *be) { return be->caps.name; }

ooc_allocator ooc_backend_allocator(const ooc_backend *be) { return be->caps.allocator; }

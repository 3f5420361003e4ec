/* source.c — shared pieces of the source interface: default allocator,
 * option defaults, and opening a path as HDF5 (a regular file with the
 * signature) or CSV (anything else: a file, a pipe, a compressed file). */
#include "stream/source.h"

#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define HUGE_PAGE_NBYTES ((size_t)2 << 20)

void *ooc_alloc_huge(size_t nbytes)
{
    void *p = NULL;
    if (nbytes < HUGE_PAGE_NBYTES) {
        if (posix_memalign(&p, 64, nbytes ? nbytes : 64) != 0)
            return NULL;
        return p;
    }
    size_t rounded = (nbytes + HUGE_PAGE_NBYTES - 1) / HUGE_PAGE_NBYTES * HUGE_PAGE_NBYTES;
    if (rounded < nbytes || posix_memalign(&p, HUGE_PAGE_NBYTES, rounded) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    return p;
}

static void *alloc_huge_ctx(size_t nbytes, void *ctx)
{
    (void)ctx;
    return ooc_alloc_huge(nbytes);
}

static void plain_free(void *ptr, void *ctx)
{
    (void)ctx;
    free(ptr);
}

const ooc_allocator ooc_default_allocator = {alloc_huge_ctx, plain_free, NULL};

void ooc_source_free(ooc_source *src)
{
    if (!src)
        return;
    void *attached = src->attached;
    void (*attached_free)(void *) = src->attached_free;
    src->vt->destroy(src);
    if (attached_free)
        attached_free(attached);
}

void ooc_source_free_description(ooc_source *src)
{
    if (src->column_names) {
        for (size_t j = 0; j < src->p; j++)
            free(src->column_names[j]);
        free(src->column_names);
        src->column_names = NULL;
    }
    if (src->key_names) {
        for (size_t j = 0; j < src->nkeys; j++)
            free(src->key_names[j]);
        free(src->key_names);
        src->key_names = NULL;
    }
    free(src->key_local);
    src->key_local = NULL;
    free(src->formula);
    src->formula = NULL;
    free(src->y_name);
    src->y_name = NULL;
    free(src->transforms);
    src->transforms = NULL;
}

ooc_status ooc_source_set_key_names(ooc_source *src, const char *const *names, size_t n,
                                    ooc_error *err)
{
    if (n == 0)
        return OOC_OK;
    src->key_names = calloc(n, sizeof *src->key_names);
    src->key_local = calloc(n, sizeof *src->key_local);
    if (!src->key_names || !src->key_local)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    src->nkeys = n;
    for (size_t j = 0; j < n; j++)
        if (!(src->key_names[j] = strdup(names[j] ? names[j] : "")))
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    return OOC_OK;
}

void ooc_source_options_init(ooc_source_options *o)
{
    memset(o, 0, sizeof *o);
    o->x_dataset = "/X";
    o->y_dataset = "/Y";
    o->need_y = true;
    o->csv.delimiter = ',';
    o->allocator = ooc_default_allocator;
}

/* True when the file starts with the HDF5 signature (at offset 0; files with
 * a user block are not produced by the tools we interoperate with). */
static bool looks_like_hdf5(const char *path)
{
    static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == sizeof head && memcmp(head, signature, sizeof head) == 0;
}

ooc_status ooc_source_open(const char *path, const ooc_source_options *o, ooc_source **out,
                           ooc_error *err)
{
    ooc_error_clear(err);
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return OOC_FAIL(err, OOC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    /* Only a regular file is probed: HDF5 needs one, and probing a pipe (/dev/stdin, a FIFO)
     * would eat the first bytes of the CSV it carries. */
    if (S_ISREG(st.st_mode)) {
        FILE *probe = fopen(path, "rb");
        if (!probe)
            return OOC_FAIL(err, OOC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        fclose(probe);
        if (looks_like_hdf5(path)) {
            if (o && o->transforms_from)
                return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                                "'%s' is an HDF5 file, which holds its design already: what "
                                "stateful transforms learned in '%s' (--transforms-from) "
                                "applies to a CSV read through a formula (ingest the CSV with "
                                "it instead)",
                                path, o->transforms_from);
            return ooc_h5_source_open(path, o, out, err);
        }
    }
    if (!o->formula)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "'%s' is not an HDF5 file; to read a CSV give a formula (-f)", path);
    if (o->row_begin || o->row_end)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                        "'%s' is a CSV: a range of its rows (an MPI rank's share) needs an HDF5 "
                        "input; convert it first with `oocsolve ingest`",
                        path);
    return ooc_csv_source_open(path, o, out, err);
}

/* ---- the public accessors (oocsolve.h) ------------------------------------ */

uint64_t ooc_source_rows(const ooc_source *src) { return src->nrows; }

size_t ooc_source_columns(const ooc_source *src) { return src->p; }

const char *ooc_source_column_name(const ooc_source *src, size_t j)
{
    return j < src->p && src->column_names ? src->column_names[j] : NULL;
}

bool ooc_source_has_response(const ooc_source *src) { return src->has_y; }

bool ooc_source_has_weights(const ooc_source *src) { return src->has_weights; }

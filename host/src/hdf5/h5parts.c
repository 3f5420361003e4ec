/*
 * h5parts.c — a design written as one part file per process and the file
 * that joins them (h5parts.h).
 */
#include "hdf5/h5parts.h"

#include "base/collective.h"
#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *ooc_h5_part_path(const char *out, int rank, int size)
{
    size_t len = strlen(out);
    if (len > 3 && strcmp(out + len - 3, ".h5") == 0)
        len -= 3;
    int width = snprintf(NULL, 0, "%d", size);
    int n = snprintf(NULL, 0, "%.*s.part-%0*d-of-%d.h5", (int)len, out, width, rank + 1, size);
    char *path = malloc((size_t)n + 1);
    if (path)
        snprintf(path, (size_t)n + 1, "%.*s.part-%0*d-of-%d.h5", (int)len, out, width, rank + 1,
                 size);
    return path;
}

/* The last component of a path. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Process 0 writes the joining file of every process's part under a
 * temporary name into *join, from the parts' rows (`rows`, one per process). */
static ooc_status write_join(const ooc_collective *c, const ooc_h5_parts_options *o,
                             const uint64_t *rows, ooc_outfile *join, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t n = (size_t)c->size;
    char **parts = calloc(n, sizeof *parts);
    const char **part_names = calloc(n, sizeof *part_names);
    OOC_FAIL_IF(!parts || !part_names, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        parts[k] = ooc_h5_part_path(o->out, (int)k, c->size);
        OOC_FAIL_IF(!parts[k], err, OOC_ERR_NOMEM, "out of memory");
        part_names[k] = base_name(parts[k]);
    }
    ooc_h5_join_options jo = {.path = o->out,
                              .nparts = n,
                              .part_names = part_names,
                              .part_rows = rows,
                              .ncols = o->ncols,
                              .with_y = o->with_y,
                              .formula = o->formula,
                              .column_names = o->column_names,
                              .transforms = o->transforms};
    OOC_CHECK(ooc_h5_join_write(&jo, join, err));
out:
    for (size_t k = 0; parts && k < n; k++)
        free(parts[k]);
    free(parts);
    free(part_names);
    return status;
}

ooc_status ooc_h5_parts_publish(const ooc_collective *c, const ooc_h5_parts_options *o,
                                ooc_h5_writer **writer, ooc_error *err)
{
    ooc_status status = OOC_OK, local = OOC_OK;
    ooc_outfile join = {0};
    void *all = NULL;
    size_t *sizes = NULL;
    bool part_renamed = false;
    OOC_CHECK(ooc_coll_gather(c, OOC_OK, &o->rows, sizeof o->rows, &all, &sizes, err));
    if (c->rank == 0)
        local = write_join(c, o, all, &join, err);
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    ooc_h5_writer *committing = *writer;
    *writer = NULL; /* commit frees it on every path */
    local = ooc_h5w_commit(committing, NULL, err);
    part_renamed = local == OOC_OK;
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    if (c->rank == 0)
        local = ooc_outfile_commit(&join, o->durable, err);
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    part_renamed = false; /* published */
out:
    if (part_renamed)
        (void)unlink(o->part);
    ooc_outfile_abort(&join);
    free(all);
    free(sizes);
    return status;
}

/*
 * h5join.c — recognising a virtual dataset that joins whole datasets of
 * other files (h5join.h).
 *
 * A mapping qualifies when its virtual selection is a block of whole rows
 * (all columns) starting where the previous one ended, its source selection
 * is the whole source dataset, its source dataset has the virtual dataset's
 * name, and its file name is a plain name (no printf-like pattern, not "."):
 * relative names are looked for as HDF5 1.10 looks for them, in the virtual
 * file's directory, then as given.  Each part is opened to check that its
 * dataset has the mapped shape (a part that grew since would otherwise add
 * rows): HDF5 reads fill values for a missing part or the rows a part lacks,
 * so either is a problem to report, not a file to read.  Other HDF5
 * failures while probing mean "not such a join": the dataset is then read
 * through HDF5, which reports them.
 */
#include "hdf5/h5join.h"

#include "base/error.h"
#include "hdf5/h5util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The rows [*lo, *lo + *n) of all `ncols` columns that the selection of
 * `space` (rank 1 or 2) covers; false when it is not such a block. */
static bool row_block(hid_t space, int rank, hsize_t ncols, hsize_t *lo, hsize_t *n)
{
    hsize_t dims[2], start[2], stride[2], count[2], block[2];
    if (H5Sget_simple_extent_ndims(space) != rank ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0 || (rank == 2 && dims[1] != ncols))
        return false;
    H5S_sel_type type = H5Sget_select_type(space);
    if (type == H5S_SEL_ALL) {
        *lo = 0;
        *n = dims[0];
        return true;
    }
    if (type != H5S_SEL_HYPERSLABS || H5Sis_regular_hyperslab(space) <= 0 ||
        H5Sget_regular_hyperslab(space, start, stride, count, block) < 0)
        return false;
    for (int d = 0; d < rank; d++)
        if (count[d] != 1 && stride[d] != block[d])
            return false; /* gaps between the blocks */
    if (rank == 2 && (start[1] != 0 || count[1] * block[1] != ncols))
        return false;
    *lo = start[0];
    *n = count[0] * block[0];
    return true;
}

/* Whether the source selection `src` of a mapping of n rows is its whole
 * dataset: "all" (HDF5 stores no extent with it: the part's shape is
 * checked when it is opened), or a block of all n rows of an n-row extent. */
static bool whole_source(hid_t src, int rank, hsize_t ncols, hsize_t n)
{
    hsize_t dims[2], lo, rows;
    if (H5Sget_select_type(src) == H5S_SEL_ALL)
        return true;
    return row_block(src, rank, ncols, &lo, &rows) && lo == 0 && rows == n &&
           H5Sget_simple_extent_dims(src, dims, NULL) >= 0 && dims[0] == n;
}

/* `a` and `b` name the same dataset (a leading '/' or not). */
static bool same_name(const char *a, const char *b)
{
    return strcmp(a + (*a == '/'), b + (*b == '/')) == 0;
}

/* Mapping i's file name, or NULL (a pattern, ".", or out of memory:
 * *nomem). */
static char *mapped_file(hid_t dcpl, size_t i, bool *nomem)
{
    ssize_t len = H5Pget_virtual_filename(dcpl, i, NULL, 0);
    if (len <= 0)
        return NULL;
    char *name = malloc((size_t)len + 1);
    if (!name) {
        *nomem = true;
        return NULL;
    }
    if (H5Pget_virtual_filename(dcpl, i, name, (size_t)len + 1) != len) {
        free(name);
        return NULL;
    }
    char *w = name;
    for (const char *r = name; *r; r++) {
        if (*r == '%' && r[1] != '%') { /* %b: a pattern of file names */
            free(name);
            return NULL;
        }
        *w++ = *r;
        r += *r == '%';
    }
    *w = '\0';
    if (strcmp(name, ".") == 0) {
        free(name);
        return NULL;
    }
    return name;
}

/* Where HDF5 finds part `name` of the virtual file at `path`: beside it,
 * else as given; NULL when neither exists (or out of memory: *nomem). */
static char *find_part(const char *path, const char *name, bool *nomem)
{
    const char *slash = strrchr(path, '/');
    size_t dir = name[0] == '/' || !slash ? 0 : (size_t)(slash - path) + 1;
    char *found = malloc(dir + strlen(name) + 1);
    if (!found) {
        *nomem = true;
        return NULL;
    }
    memcpy(found, path, dir);
    strcpy(found + dir, name);
    if (access(found, F_OK) == 0)
        return found;
    if (dir && access(name, F_OK) == 0) {
        strcpy(found, name);
        return found;
    }
    free(found);
    return NULL;
}

/* Whether dataset `name` of file `part` has `nrows` rows (and ncols columns). */
static bool part_has_shape(const char *part, const char *name, int rank, hsize_t nrows,
                           hsize_t ncols)
{
    hid_t file = H5Fopen(part, H5F_ACC_RDONLY, H5P_DEFAULT), dset = H5I_INVALID_HID,
          space = H5I_INVALID_HID;
    hsize_t dims[2];
    bool ok = file >= 0 && (dset = H5Dopen2(file, name, H5P_DEFAULT)) >= 0 &&
              (space = H5Dget_space(dset)) >= 0 && H5Sget_simple_extent_ndims(space) == rank &&
              H5Sget_simple_extent_dims(space, dims, NULL) >= 0 && dims[0] == nrows &&
              (rank == 1 || dims[1] == ncols);
    ooc_status status = ooc_h5_close(&space, OOC_OK, NULL);
    status = ooc_h5_close(&dset, status, NULL);
    (void)ooc_h5_close(&file, status, NULL);
    return ok;
}

/* j->problem: part `fname` (found at `found`, or not found) is not a
 * dataset `dname` of the n rows [lo, lo + n) it is mapped to. */
static ooc_status set_problem(ooc_h5_join *j, const char *fname, const char *found,
                              const char *dname, hsize_t lo, hsize_t n, ooc_error *err)
{
    char text[1024];
    unsigned long long first = lo, last = lo + n - 1, rows = n;
    if (found)
        snprintf(text, sizeof text,
                 "its rows %llu..%llu come from '%s', whose '%s' does not have those %llu rows",
                 first, last, found, dname, rows);
    else
        snprintf(text, sizeof text,
                 "its rows %llu..%llu come from '%s', which is missing (its '%s' would be read "
                 "as %llu rows of fill values)",
                 first, last, fname, dname, rows);
    if (!(j->problem = strdup(text)))
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    return OOC_OK;
}

ooc_status ooc_h5_join_probe(const char *path, hid_t file, const char *name, ooc_h5_join *j,
                             ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t dset = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, space = H5I_INVALID_HID,
          vspace = H5I_INVALID_HID, src = H5I_INVALID_HID;
    char *dname = NULL, *fname = NULL;
    bool joined = false, nomem = false;
    size_t count = 0;
    hsize_t dims[2] = {0, 1};
    memset(j, 0, sizeof *j);
    if (getenv("HDF5_VDS_PREFIX") || H5Lexists(file, name, H5P_DEFAULT) <= 0 ||
        (dset = H5Dopen2(file, name, H5P_DEFAULT)) < 0 ||
        (dcpl = H5Dget_create_plist(dset)) < 0 || H5Pget_layout(dcpl) != H5D_VIRTUAL ||
        (space = H5Dget_space(dset)) < 0 || H5Pget_virtual_count(dcpl, &count) < 0 ||
        count == 0)
        goto out;
    const int rank = H5Sget_simple_extent_ndims(space);
    if ((rank != 1 && rank != 2) || H5Sget_simple_extent_dims(space, dims, NULL) < 0)
        goto out;
    j->paths = calloc(count, sizeof *j->paths);
    j->rows = calloc(count, sizeof *j->rows);
    OOC_FAIL_IF(!j->paths || !j->rows, err, OOC_ERR_NOMEM, "out of memory");
    hsize_t next = 0;
    for (size_t i = 0; i < count; i++) {
        hsize_t lo = 0, n = 0;
        j->nparts = i + 1; /* so that paths[i] is freed whatever happens */
        ssize_t len = H5Pget_virtual_dsetname(dcpl, i, NULL, 0);
        free(dname);
        dname = len > 0 ? malloc((size_t)len + 1) : NULL;
        OOC_FAIL_IF(len > 0 && !dname, err, OOC_ERR_NOMEM, "out of memory");
        if (!dname || H5Pget_virtual_dsetname(dcpl, i, dname, (size_t)len + 1) != len ||
            !same_name(dname, name))
            goto out;
        vspace = H5Pget_virtual_vspace(dcpl, i);
        src = H5Pget_virtual_srcspace(dcpl, i);
        if (vspace < 0 || src < 0 || !row_block(vspace, rank, dims[1], &lo, &n) || lo != next ||
            !whole_source(src, rank, dims[1], n) || !(fname = mapped_file(dcpl, i, &nomem)))
            goto out;
        j->paths[i] = find_part(path, fname, &nomem);
        if (!j->paths[i] || !part_has_shape(j->paths[i], dname, rank, n, dims[1])) {
            if (!nomem)
                OOC_CHECK(set_problem(j, fname, j->paths[i], dname, lo, n, err));
            goto out;
        }
        free(fname);
        fname = NULL;
        OOC_CHECK(ooc_h5_close(&vspace, OOC_OK, err));
        OOC_CHECK(ooc_h5_close(&src, OOC_OK, err));
        j->rows[i] = n;
        next = lo + n;
    }
    joined = next == dims[0];
out:
    if (nomem && status == OOC_OK)
        status = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    if (!joined) {
        char *problem = j->problem;
        j->problem = NULL;
        ooc_h5_join_free(j);
        j->problem = status == OOC_OK ? problem : NULL;
        if (status != OOC_OK)
            free(problem);
    }
    free(dname);
    free(fname);
    (void)ooc_h5_error_detail(); /* a failed probe leaves nothing on HDF5's stack */
    ooc_status closed = ooc_h5_close(&src, OOC_OK, NULL);
    closed = ooc_h5_close(&vspace, closed, NULL);
    closed = ooc_h5_close(&space, closed, NULL);
    closed = ooc_h5_close(&dcpl, closed, NULL);
    (void)ooc_h5_close(&dset, closed, NULL);
    return status;
}

bool ooc_h5_join_same(const ooc_h5_join *a, const ooc_h5_join *b)
{
    if (a->nparts != b->nparts)
        return false;
    for (size_t k = 0; k < a->nparts; k++)
        if (a->rows[k] != b->rows[k] || strcmp(a->paths[k], b->paths[k]) != 0)
            return false;
    return true;
}

void ooc_h5_join_free(ooc_h5_join *j)
{
    if (j->paths)
        for (size_t k = 0; k < j->nparts; k++)
            free(j->paths[k]);
    free(j->paths);
    free(j->rows);
    free(j->problem);
    memset(j, 0, sizeof *j);
}

/*
 * state_file.c — saving and loading an accumulator (see state_file.h for
 * the layout).  Saving closes the open pass first, so the file holds every
 * row pushed or read so far; the file is written under a temporary name and
 * renamed into place when complete.
 */
#include "solve/state_file.h"

#include "base/error.h"
#include "base/outfile.h"
#include "hdf5/h5attr.h"
#include "hdf5/h5util.h"
#include "solve/accumulator.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A long double as two doubles whose sum is its value to long double precision. */
static void split_ld(long double v, double *two)
{
    two[0] = (double)v;
    two[1] = (double)(v - (long double)two[0]);
}

static long double join_ld(const double *two) { return (long double)two[0] + two[1]; }

/* Write dataset `name` (rank 1 or 2, contiguous) of file from data. */
static ooc_status put_dataset(hid_t file, const char *path, const char *name, hid_t mem_type,
                              hid_t file_type, int rank, const hsize_t *dims, const void *data,
                              ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t space = H5Screate_simple(rank, dims, NULL), dset = H5I_INVALID_HID;
    OOC_H5_FAIL_IF(space < 0, err, "'%s': cannot create the dataspace of %s", path, name);
    dset = H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    OOC_H5_FAIL_IF(dset < 0 || H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0,
                   err, "'%s': cannot write dataset %s", path, name);
out:
    status = ooc_h5_close(&dset, status, err);
    return ooc_h5_close(&space, status, err);
}

/* Read dataset `name` of file into data, which holds `count` elements; its
 * size must be exactly that. */
static ooc_status get_dataset(hid_t file, const char *path, const char *name, hid_t mem_type,
                              size_t count, void *data, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT), space = H5I_INVALID_HID;
    OOC_H5_FAIL_IF(dset < 0, err, "'%s' is not an oocsolve state: no dataset %s", path, name);
    space = H5Dget_space(dset);
    hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    OOC_H5_FAIL_IF(n < 0, err, "'%s': cannot read the shape of %s", path, name);
    OOC_FAIL_IF((size_t)n != count, err, OOC_ERR_HDF5,
                "'%s': %s has %lld values where the state needs %zu", path, name, (long long)n,
                count);
    OOC_H5_FAIL_IF(H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0, err,
                   "'%s': cannot read %s", path, name);
out:
    status = ooc_h5_close(&space, status, err);
    return ooc_h5_close(&dset, status, err);
}

/* Everything but the file's creation and commit. */
static ooc_status write_state(hid_t file, const char *path, const ooc_accumulator *acc,
                              ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t p = acc->p, pa = acc->p_aug;
    const ooc_side_stats *st = &acc->st;
    ooc_h5_obj root = {file, "/", path};
    double *xw = malloc(2 * p * sizeof(double));
    OOC_FAIL_IF(!xw, err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(ooc_h5_attr_put_string(&root, "oocsolve_state_format", "1", H5T_CSET_ASCII, err));
    OOC_CHECK(ooc_h5_attr_put_string(&root, "method", ooc_method_name(acc->method),
                                     H5T_CSET_ASCII, err));
    OOC_CHECK(ooc_h5_attr_put_strings(&root, "column_names", (const char *const *)acc->names, p,
                                      err));
    OOC_CHECK(ooc_h5_attr_put_string(&root, "y_name", acc->y_name ? acc->y_name : "y",
                                     H5T_CSET_UTF8, err));
    if (acc->formula)
        OOC_CHECK(ooc_h5_attr_put_string(&root, "formula", acc->formula, H5T_CSET_UTF8, err));
    hsize_t dims_r[2] = {pa, pa}, dims_p[1] = {p}, dims_xw[2] = {p, 2}, dims_s[1] = {9},
            dims_c[1] = {2};
    OOC_CHECK(put_dataset(file, path, "/R", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_r,
                          acc->r_aug, err));
    OOC_CHECK(put_dataset(file, path, "/colmin", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, dims_p,
                          st->colmin, err));
    OOC_CHECK(put_dataset(file, path, "/colmax", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, dims_p,
                          st->colmax, err));
    for (size_t j = 0; j < p; j++)
        split_ld(st->xw[j], xw + 2 * j);
    OOC_CHECK(put_dataset(file, path, "/xw", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_xw, xw,
                          err));
    double sums[9];
    split_ld(st->sum_w, sums);
    split_ld(st->sum_log_w, sums + 2);
    split_ld(st->sum_wy2, sums + 4);
    sums[6] = st->y_wsum;
    sums[7] = st->y_mean;
    sums[8] = st->y_m2;
    OOC_CHECK(put_dataset(file, path, "/sums", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, dims_s, sums,
                          err));
    int64_t counts[2] = {(int64_t)st->nobs, acc->weighted ? 1 : 0};
    OOC_CHECK(put_dataset(file, path, "/counts", H5T_NATIVE_INT64, H5T_STD_I64LE, 1, dims_c,
                          counts, err));
out:
    free(xw);
    return status;
}

ooc_status ooc_accumulator_save(ooc_accumulator *acc, const char *path, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    ooc_outfile out_file = {0};
    hid_t file = H5I_INVALID_HID;
    ooc_h5_quiet quiet;
    const double *r_aug;
    OOC_FAIL_IF(!acc->with_y, err, OOC_ERR_INVALID_ARG, "only a fit's state can be saved");
    OOC_CHECK(ooc_accumulator_triangle(acc, NULL, &r_aug, err));
    ooc_h5_quiet_begin(&quiet);
    status = ooc_outfile_begin(&out_file, path, err);
    if (status == OOC_OK) {
        file = H5Fcreate(out_file.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (file < 0)
            status = OOC_H5_FAIL(err, "cannot create '%s'", out_file.tmp_path);
    }
    if (status == OOC_OK)
        status = write_state(file, path, acc, err);
    status = ooc_h5_close(&file, status, err);
    ooc_h5_quiet_end(&quiet);
    if (status == OOC_OK)
        status = ooc_outfile_commit(&out_file, false, err);
out:
    ooc_outfile_abort(&out_file);
    return status;
}

/* The strings of a state file into a new accumulator's description. */
static ooc_status read_description(hid_t file, const char *path, size_t *p, ooc_method *method,
                                   char ***names, char **y_name, char **formula, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_obj root = {file, "/", path};
    char *format = NULL, *meth = NULL;
    OOC_CHECK(ooc_h5_attr_read_string(&root, "oocsolve_state_format", &format, err));
    OOC_FAIL_IF(!format, err, OOC_ERR_HDF5,
                "'%s' is not an oocsolve state file (no oocsolve_state_format attribute): write "
                "one with fit --save-state",
                path);
    OOC_FAIL_IF(atoi(format) > OOC_STATE_FORMAT || atoi(format) < 1, err, OOC_ERR_UNSUPPORTED,
                "'%s' is a state of format %s; this build reads format %d", path, format,
                OOC_STATE_FORMAT);
    OOC_CHECK(ooc_h5_attr_read_string(&root, "method", &meth, err));
    OOC_FAIL_IF(!meth || (strcmp(meth, "qr") != 0 && strcmp(meth, "normal") != 0), err,
                OOC_ERR_HDF5, "'%s': the state's method '%s' is neither qr nor normal", path,
                meth ? meth : "");
    *method = strcmp(meth, "qr") == 0 ? OOC_METHOD_QR : OOC_METHOD_NORMAL;
    OOC_CHECK(ooc_h5_attr_read_strings(&root, "column_names", names, p, err));
    OOC_FAIL_IF(!*names || *p == 0, err, OOC_ERR_HDF5, "'%s': the state has no column_names",
                path);
    OOC_CHECK(ooc_h5_attr_read_string(&root, "y_name", y_name, err));
    OOC_CHECK(ooc_h5_attr_read_string(&root, "formula", formula, err));
out:
    free(format);
    free(meth);
    return status;
}

ooc_status ooc_accumulator_load(const char *path, ooc_backend *be, ooc_accumulator **out,
                                ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    ooc_accumulator *acc = NULL;
    hid_t file = H5I_INVALID_HID;
    char **names = NULL, *y_name = NULL, *formula = NULL;
    size_t p = 0;
    ooc_method method = OOC_METHOD_QR;
    double *xw = NULL;
    ooc_h5_quiet quiet;
    *out = NULL;
    ooc_h5_quiet_begin(&quiet);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    OOC_H5_FAIL_IF(file < 0, err, "cannot open the state file '%s'", path);
    OOC_CHECK(read_description(file, path, &p, &method, &names, &y_name, &formula, err));
    int64_t counts[2];
    OOC_CHECK(get_dataset(file, path, "/counts", H5T_NATIVE_INT64, 2, counts, err));
    OOC_FAIL_IF(counts[0] < 0 || (counts[1] != 0 && counts[1] != 1), err, OOC_ERR_HDF5,
                "'%s': /counts holds %lld rows and weighted %lld", path, (long long)counts[0],
                (long long)counts[1]);
    OOC_CHECK(ooc_accumulator_alloc(p, true, counts[1] == 1, method, be, &acc, err));
    acc->names = names;
    acc->y_name = y_name;
    acc->formula = formula;
    names = NULL;
    y_name = formula = NULL;
    const size_t pa = acc->p_aug;
    ooc_side_stats *st = &acc->st;
    xw = malloc(2 * p * sizeof(double));
    OOC_FAIL_IF(!xw, err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(get_dataset(file, path, "/R", H5T_NATIVE_DOUBLE, pa * pa, acc->r_aug, err));
    for (size_t i = 0; i < pa * pa; i++)
        OOC_FAIL_IF(!isfinite(acc->r_aug[i]) || (i / pa > i % pa && acc->r_aug[i] != 0.0), err,
                    OOC_ERR_HDF5,
                    "'%s': /R is not the upper triangle of a state (entry %zu, %zu is %g)", path,
                    i / pa, i % pa, acc->r_aug[i]);
    OOC_CHECK(get_dataset(file, path, "/colmin", H5T_NATIVE_DOUBLE, p, st->colmin, err));
    OOC_CHECK(get_dataset(file, path, "/colmax", H5T_NATIVE_DOUBLE, p, st->colmax, err));
    OOC_CHECK(get_dataset(file, path, "/xw", H5T_NATIVE_DOUBLE, 2 * p, xw, err));
    double sums[9];
    OOC_CHECK(get_dataset(file, path, "/sums", H5T_NATIVE_DOUBLE, 9, sums, err));
    for (size_t j = 0; j < p; j++)
        st->xw[j] = join_ld(xw + 2 * j);
    st->sum_w = join_ld(sums);
    st->sum_log_w = join_ld(sums + 2);
    st->sum_wy2 = join_ld(sums + 4);
    st->y_wsum = sums[6];
    st->y_mean = sums[7];
    st->y_m2 = sums[8];
    st->nobs = (uint64_t)counts[0];
    acc->have_r = true;
    *out = acc;
    acc = NULL;
out:
    status = ooc_h5_close(&file, status, err);
    ooc_h5_quiet_end(&quiet);
    ooc_accumulator_free(acc);
    ooc_h5_strings_free(names, p);
    free(y_name);
    free(formula);
    free(xw);
    return status;
}

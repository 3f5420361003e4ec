/* h5attr.c — reading and writing string and numeric HDF5 attributes (h5attr.h). */
#include "hdf5/h5attr.h"

#include "base/error.h"
#include "hdf5/h5util.h"

#include <stdlib.h>
#include <string.h>

/* Every message names the attribute, its object and the file: "ATTR' of 'OBJ' in 'FILE". */
#define WHERE "attribute '%s' of '%s' in '%s'"
#define WHERE_ARGS(obj, name) (name), (obj)->name, (obj)->file

/* ---- reading ----------------------------------------------------------- */

/* Open attribute `name` of obj with its type and dataspace (*exists false,
 * ids left invalid, when there is none).  The caller closes the three ids
 * also on failure.  Errors: OOC_ERR_HDF5. */
static ooc_status open_attr(const ooc_h5_obj *obj, const char *name, bool *exists, hid_t *attr,
                            hid_t *type, hid_t *space, ooc_error *err)
{
    ooc_status status = OOC_OK;
    htri_t found = H5Aexists(obj->id, name);
    OOC_H5_FAIL_IF(found < 0, err, "cannot look for " WHERE, WHERE_ARGS(obj, name));
    *exists = found > 0;
    if (!*exists)
        goto out;
    *attr = H5Aopen(obj->id, name, H5P_DEFAULT);
    OOC_H5_FAIL_IF(*attr < 0, err, "cannot open " WHERE, WHERE_ARGS(obj, name));
    *type = H5Aget_type(*attr);
    OOC_H5_FAIL_IF(*type < 0, err, "cannot read the type of " WHERE, WHERE_ARGS(obj, name));
    *space = H5Aget_space(*attr);
    OOC_H5_FAIL_IF(*space < 0, err, "cannot read the dataspace of " WHERE,
                   WHERE_ARGS(obj, name));
out:
    return status;
}

ooc_status ooc_h5_attr_inspect(const ooc_h5_obj *obj, const char *name, ooc_h5_attr_info *info,
                               ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    *info = (ooc_h5_attr_info){.exists = false, .strings = false, .rank = 0};
    bool exists = false;
    OOC_CHECK(open_attr(obj, name, &exists, &attr, &type, &space, err));
    if (!exists)
        goto out;
    int rank = H5Sget_simple_extent_ndims(space);
    OOC_H5_FAIL_IF(rank < 0, err, "cannot read the rank of " WHERE, WHERE_ARGS(obj, name));
    *info = (ooc_h5_attr_info){
        .exists = true, .strings = H5Tget_class(type) == H5T_STRING, .rank = rank};
out:
    status = ooc_h5_close(&space, status, err);
    status = ooc_h5_close(&type, status, err);
    return ooc_h5_close(&attr, status, err);
}

void ooc_h5_strings_free(char **values, size_t count)
{
    for (size_t i = 0; values && i < count; i++)
        free(values[i]);
    free(values);
}

/* Copy n variable-length strings (NULL reads as "") into result. */
static ooc_status copy_vlen(char **result, char *const *vlen, size_t n, const ooc_h5_obj *obj,
                            const char *name, ooc_error *err)
{
    for (size_t i = 0; i < n; i++) {
        result[i] = strdup(vlen[i] ? vlen[i] : "");
        if (!result[i])
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory reading " WHERE,
                            WHERE_ARGS(obj, name));
    }
    return OOC_OK;
}

/* Copy n NUL-terminated strings stored `stride` bytes apart into result. */
static ooc_status copy_fixed(char **result, const char *fixed, size_t stride, size_t n,
                             const ooc_h5_obj *obj, const char *name, ooc_error *err)
{
    for (size_t i = 0; i < n; i++) {
        result[i] = strdup(fixed + i * stride);
        if (!result[i])
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory reading " WHERE,
                            WHERE_ARGS(obj, name));
    }
    return OOC_OK;
}

/* Read the n (> 0) strings of attr (of string type `type`, dataspace space)
 * into result[0..n-1]. */
static ooc_status read_elements(hid_t attr, hid_t type, hid_t space, size_t n, char **result,
                                const ooc_h5_obj *obj, const char *name, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t mem_type = H5I_INVALID_HID;
    char **vlen = NULL;
    char *fixed = NULL;
    htri_t is_vlen = H5Tis_variable_str(type);
    OOC_H5_FAIL_IF(is_vlen < 0, err, "cannot read the string type of " WHERE,
                   WHERE_ARGS(obj, name));
    /* Same character set as stored (h5py writes UTF-8): HDF5 does not convert between them. */
    H5T_cset_t cset = H5Tget_cset(type);
    mem_type = H5Tcopy(H5T_C_S1);
    OOC_H5_FAIL_IF(cset < 0 || mem_type < 0 || H5Tset_cset(mem_type, cset) < 0, err,
                   "cannot set up reading " WHERE, WHERE_ARGS(obj, name));
    if (is_vlen) {
        vlen = calloc(n, sizeof *vlen);
        OOC_FAIL_IF(!vlen, err, OOC_ERR_NOMEM, "out of memory reading " WHERE,
                    WHERE_ARGS(obj, name));
        OOC_H5_FAIL_IF(H5Tset_size(mem_type, H5T_VARIABLE) < 0 || H5Aread(attr, mem_type, vlen) < 0,
                       err, "cannot read " WHERE, WHERE_ARGS(obj, name));
        OOC_CHECK(copy_vlen(result, vlen, n, obj, name, err));
    } else {
        /* One byte wider than stored, NULLTERM: HDF5 strips the padding (NUL
         * or space) and terminates every string. */
        size_t width = H5Tget_size(type);
        OOC_FAIL_IF(width == 0, err, OOC_ERR_HDF5, WHERE ": bad string size",
                    WHERE_ARGS(obj, name));
        fixed = calloc(n, width + 1);
        OOC_FAIL_IF(!fixed, err, OOC_ERR_NOMEM, "out of memory reading " WHERE,
                    WHERE_ARGS(obj, name));
        OOC_H5_FAIL_IF(
            H5Tset_size(mem_type, width + 1) < 0 || H5Tset_strpad(mem_type, H5T_STR_NULLTERM) < 0 ||
                H5Aread(attr, mem_type, fixed) < 0,
            err, "cannot read " WHERE, WHERE_ARGS(obj, name));
        OOC_CHECK(copy_fixed(result, fixed, width + 1, n, obj, name, err));
    }
out:
    if (vlen) {
        /* The strings HDF5 allocated (none where the read failed: calloc'd NULLs). */
        if (H5Dvlen_reclaim(mem_type, space, H5P_DEFAULT, vlen) < 0 && status == OOC_OK)
            status = OOC_H5_FAIL(err, "cannot free the strings read from " WHERE,
                                 WHERE_ARGS(obj, name));
        free(vlen);
    }
    free(fixed);
    return ooc_h5_close(&mem_type, status, err);
}

ooc_status ooc_h5_attr_read_strings(const ooc_h5_obj *obj, const char *name, char ***values,
                                    size_t *count, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char **result = NULL;
    size_t n = 0;
    *values = NULL;
    *count = 0;
    bool exists = false;
    OOC_CHECK(open_attr(obj, name, &exists, &attr, &type, &space, err));
    if (!exists)
        goto out;
    OOC_FAIL_IF(H5Tget_class(type) != H5T_STRING, err, OOC_ERR_HDF5,
                WHERE " does not hold strings", WHERE_ARGS(obj, name));
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    OOC_H5_FAIL_IF(npoints < 0, err, WHERE ": bad dataspace", WHERE_ARGS(obj, name));
    n = (size_t)npoints;
    result = calloc(n ? n : 1, sizeof *result);
    OOC_FAIL_IF(!result, err, OOC_ERR_NOMEM, "out of memory reading " WHERE,
                WHERE_ARGS(obj, name));
    if (n > 0) /* else a null dataspace or an empty array: nothing to read */
        OOC_CHECK(read_elements(attr, type, space, n, result, obj, name, err));
out:
    status = ooc_h5_close(&space, status, err);
    status = ooc_h5_close(&type, status, err);
    status = ooc_h5_close(&attr, status, err);
    if (status == OOC_OK) {
        *values = result;
        *count = n;
    } else {
        ooc_h5_strings_free(result, n);
    }
    return status;
}

ooc_status ooc_h5_attr_read_string(const ooc_h5_obj *obj, const char *name, char **value,
                                   ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_attr_info info;
    char **values = NULL;
    size_t count = 0;
    *value = NULL;
    OOC_CHECK(ooc_h5_attr_inspect(obj, name, &info, err));
    if (!info.exists || !info.strings || info.rank != 0)
        goto out;
    OOC_CHECK(ooc_h5_attr_read_strings(obj, name, &values, &count, err));
    if (count > 0) { /* a scalar: take its one string */
        *value = values[0];
        values[0] = NULL;
    } else { /* a null dataspace */
        *value = strdup("");
        OOC_FAIL_IF(!*value, err, OOC_ERR_NOMEM, "out of memory reading " WHERE,
                    WHERE_ARGS(obj, name));
    }
out:
    ooc_h5_strings_free(values, count);
    return status;
}

/* ---- writing ----------------------------------------------------------- */

/* Create attribute `name` of obj (stored as file_type, shaped as space) and,
 * unless value is NULL, write it from mem_type.  Closes only the attribute;
 * type and space stay the caller's. */
static ooc_status create_attr(const ooc_h5_obj *obj, const char *name, hid_t file_type,
                              hid_t space, hid_t mem_type, const void *value, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t attr = H5Acreate2(obj->id, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    OOC_H5_FAIL_IF(attr < 0, err, "cannot create " WHERE, WHERE_ARGS(obj, name));
    OOC_H5_FAIL_IF(value && H5Awrite(attr, mem_type, value) < 0, err, "cannot write " WHERE,
                   WHERE_ARGS(obj, name));
out:
    return ooc_h5_close(&attr, status, err);
}

ooc_status ooc_h5_attr_put_string(const ooc_h5_obj *obj, const char *name, const char *value,
                                  H5T_cset_t cset, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t len = strlen(value);
    hid_t type = H5Tcopy(H5T_C_S1);
    hid_t space = H5Screate(len ? H5S_SCALAR : H5S_NULL);
    OOC_H5_FAIL_IF(type < 0 || space < 0 || H5Tset_size(type, len ? len : 1) < 0 ||
                       H5Tset_strpad(type, H5T_STR_NULLTERM) < 0 || H5Tset_cset(type, cset) < 0,
                   err, "cannot set up the type of " WHERE, WHERE_ARGS(obj, name));
    OOC_CHECK(create_attr(obj, name, type, space, type, len ? value : NULL, err));
out:
    status = ooc_h5_close(&space, status, err);
    return ooc_h5_close(&type, status, err);
}

ooc_status ooc_h5_attr_put_strings(const ooc_h5_obj *obj, const char *name,
                                   const char *const *values, size_t n, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hsize_t dims[1] = {(hsize_t)n};
    hid_t type = H5Tcopy(H5T_C_S1);
    hid_t space = H5Screate_simple(1, dims, NULL);
    OOC_H5_FAIL_IF(type < 0 || space < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 ||
                       H5Tset_cset(type, H5T_CSET_UTF8) < 0,
                   err, "cannot set up the type of " WHERE, WHERE_ARGS(obj, name));
    OOC_CHECK(create_attr(obj, name, type, space, type, values, err));
out:
    status = ooc_h5_close(&space, status, err);
    return ooc_h5_close(&type, status, err);
}

/* Create a numeric attribute of rank 0 (one value) or 1 (n values). */
static ooc_status put_numbers(const ooc_h5_obj *obj, const char *name, ooc_h5_number type,
                              const void *values, int rank, size_t n, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t file_type, mem_type;
    switch (type) {
    case OOC_H5_INT32: file_type = H5T_STD_I32LE, mem_type = H5T_NATIVE_INT32; break;
    case OOC_H5_INT64: file_type = H5T_STD_I64LE, mem_type = H5T_NATIVE_INT64; break;
    case OOC_H5_FLOAT64: file_type = H5T_IEEE_F64LE, mem_type = H5T_NATIVE_DOUBLE; break;
    default:
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, WHERE ": unknown number type %d",
                        WHERE_ARGS(obj, name), (int)type);
    }
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    OOC_H5_FAIL_IF(space < 0, err, "cannot create the dataspace of " WHERE, WHERE_ARGS(obj, name));
    OOC_CHECK(create_attr(obj, name, file_type, space, mem_type, values, err));
out:
    return ooc_h5_close(&space, status, err);
}

ooc_status ooc_h5_attr_put_number(const ooc_h5_obj *obj, const char *name, ooc_h5_number type,
                                  const void *value, ooc_error *err)
{
    return put_numbers(obj, name, type, value, 0, 1, err);
}

ooc_status ooc_h5_attr_put_numbers(const ooc_h5_obj *obj, const char *name, ooc_h5_number type,
                                   const void *values, size_t n, ooc_error *err)
{
    return put_numbers(obj, name, type, values, 1, n, err);
}

/*
 * h5attr.h — reading and writing the HDF5 attributes oocsolve uses: string
 * attributes (scalar or arrays; fixed- or variable-length; the stored
 * character set kept) and small numeric ones, written the way PyTables,
 * numpy and h5py write and read them.
 *
 * Every call names the object by an ooc_h5_obj, so that an error says which
 * attribute of which object in which file failed ("cannot read attribute
 * 'column_names' of '/X' in 'f.h5' (HDF5: ...)").  Call from the thread that
 * makes the HDF5 calls, with HDF5's automatic error printing off
 * (ooc_h5_quiet_begin).
 */
#ifndef OOC_H5ATTR_H
#define OOC_H5ATTR_H

#include "oocsolve.h"

#include <hdf5.h>
#include <stdbool.h>

/* An HDF5 object (file, group or dataset) and the names messages give it. */
typedef struct ooc_h5_obj {
    hid_t id;
    const char *name; /* "/X"; "/" for a file's root group */
    const char *file; /* the file's name as the user knows it */
} ooc_h5_obj;

/* What an attribute is, as far as the string readers care. */
typedef struct ooc_h5_attr_info {
    bool exists;
    bool strings; /* of the string class (fixed- or variable-length) */
    int rank;     /* of its dataspace: 0 for a scalar or a null (empty) dataspace */
} ooc_h5_attr_info;

/* Look up attribute `name` of obj: whether it exists, holds strings, and
 * its rank.  Errors: OOC_ERR_HDF5. */
ooc_status ooc_h5_attr_inspect(const ooc_h5_obj *obj, const char *name, ooc_h5_attr_info *info,
                               ooc_error *err);

/* Read string attribute `name` of obj, whatever its shape (a scalar is one
 * string, a null dataspace none, an array its elements in row-major order),
 * into a new array of *count heap strings (free with ooc_h5_strings_free).
 * Fixed-length strings end at their first NUL or their width, whichever
 * comes first; bytes are returned as stored (UTF-8 stays UTF-8).  Absent
 * attribute: OOC_OK with *values NULL and *count 0; present, even with no
 * elements: *values non-NULL.  Errors: OOC_ERR_HDF5 (also when the attribute
 * does not hold strings), OOC_ERR_NOMEM; *values is then NULL. */
ooc_status ooc_h5_attr_read_strings(const ooc_h5_obj *obj, const char *name, char ***values,
                                    size_t *count, ooc_error *err);

/* Read scalar string attribute `name` of obj into *value (heap; free()).  A
 * null dataspace (how an empty string is stored) reads as "".  *value is
 * NULL when the attribute is absent, or is not a scalar string (an array, a
 * number): such an attribute is not an error here.  Errors: OOC_ERR_HDF5,
 * OOC_ERR_NOMEM. */
ooc_status ooc_h5_attr_read_string(const ooc_h5_obj *obj, const char *name, char **value,
                                   ooc_error *err);

/* Free count strings and the array read by ooc_h5_attr_read_strings (values
 * may be NULL). */
void ooc_h5_strings_free(char **values, size_t count);

/* Create scalar string attribute `name` of obj the way PyTables and numpy
 * write one: fixed length strlen(value), NULLTERM padding, character set
 * `cset`; "" is stored with a null dataspace.  The attribute must not exist
 * yet.  Errors: OOC_ERR_HDF5. */
ooc_status ooc_h5_attr_put_string(const ooc_h5_obj *obj, const char *name, const char *value,
                                  H5T_cset_t cset, ooc_error *err);

/* Create a 1-D attribute of n variable-length UTF-8 strings (h5py and
 * PyTables read it as an array of str; fixed-length strings would need a
 * width and come back as bytes).  values[0..n-1] must not be NULL.  The
 * attribute must not exist yet.  Errors: OOC_ERR_HDF5. */
ooc_status ooc_h5_attr_put_strings(const ooc_h5_obj *obj, const char *name,
                                   const char *const *values, size_t n, ooc_error *err);

/* A numeric attribute's element type: its C type in memory and, after the
 * arrow, how it is stored. */
typedef enum ooc_h5_number {
    OOC_H5_INT32,  /* int32_t -> H5T_STD_I32LE */
    OOC_H5_INT64,  /* int64_t -> H5T_STD_I64LE */
    OOC_H5_FLOAT64 /* double  -> H5T_IEEE_F64LE */
} ooc_h5_number;

/* Create scalar numeric attribute `name` of obj from *value (of `type`).
 * The attribute must not exist yet.  Errors: OOC_ERR_HDF5,
 * OOC_ERR_INVALID_ARG (unknown type). */
ooc_status ooc_h5_attr_put_number(const ooc_h5_obj *obj, const char *name, ooc_h5_number type,
                                  const void *value, ooc_error *err);

/* Create a 1-D numeric attribute of n values (of `type`; n may be 0).
 * Errors as ooc_h5_attr_put_number. */
ooc_status ooc_h5_attr_put_numbers(const ooc_h5_obj *obj, const char *name, ooc_h5_number type,
                                   const void *values, size_t n, ooc_error *err);

#endif

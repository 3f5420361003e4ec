/*
 * h5info.h — human- and machine-readable descriptions of an HDF5 file's
 * root-level objects (`oocsolve info`): for each dataset its shape, dtype,
 * chunk shape, filter pipeline (names and parameters, in pipeline order),
 * number of chunks, stored vs raw bytes and compression ratio, PyTables CLASS,
 * the `formula` / `column_names` attributes our ingest writes, and the parts
 * (files and rows) that a virtual dataset joins (h5join.h).  Works on files
 * written by oocsolve, PyTables and h5py.
 */
#ifndef OOC_H5INFO_H
#define OOC_H5INFO_H

#include "oocsolve.h"

/* Describe the file at `path` as indented text; *text_out receives a heap
 * string the caller frees with free() (NULL on failure).  Errors: OOC_ERR_IO
 * (missing/unreadable file), OOC_ERR_HDF5 (not an HDF5 file, or HDF5 calls
 * failed), OOC_ERR_NOMEM. */
ooc_status ooc_h5_describe(const char *path, char **text_out, ooc_error *err);

/* The same facts as one JSON object (keys: file, pytables_format_version,
 * objects[] with name, type, dtype, shape, maxshape (null = unlimited),
 * layout, chunks, nchunks, parts ([{file, rows}] or null), parts_problem (a
 * mapped part missing or not of its mapped shape, or null), filters[{id,
 * name, params}], raw_bytes, stored_bytes, ratio, class, formula,
 * column_names).  Ownership and errors
 * as for ooc_h5_describe. */
ooc_status ooc_h5_describe_json(const char *path, char **json_out, ooc_error *err);

#endif

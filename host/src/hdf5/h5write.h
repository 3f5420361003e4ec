/*
 * h5write.h — writes a design matrix to HDF5 as PyTables-compatible EArrays.
 *
 * Layout: /X (n x p float64) and, optionally, /Y (n float64) and /keep (n x m
 * float64, ingest --keep's columns; a column of texts holds codes, its texts
 * in /keep_levels/NAME); chunked along
 * rows, first dimension unlimited.  The codec (zcodec.h) picks the filters
 * declared in the dataset's pipeline: shuffle + deflate (the default), which
 * any HDF5 reader decodes without plugins, or blosc alone (filter 32001 with
 * PyTables' parameters; blosc shuffles bytes itself), which PyTables and
 * h5py with hdf5plugin decode.  Attributes CLASS='EARRAY', VERSION, TITLE,
 * EXTDIM=0 make PyTables open them as EArrays; /X also carries `formula`,
 * `column_names` and, when the formula has stateful transforms,
 * OOC_H5_TRANSFORMS_ATTR: what they learned, as JSON (formula/model.h).
 *
 * Chunks are encoded (shuffle + zlib stream, or one blosc frame) by worker
 * threads owned by the writer and written in order with H5Dwrite_chunk from
 * the thread that calls ooc_h5w_append/commit (HDF5 is only ever called from
 * that thread).
 *
 * The file is created under a temporary name next to `path` and renamed
 * into place by ooc_h5w_commit; ooc_h5w_abort (or a failed commit) removes
 * it, so an existing file at `path` is never clobbered by a failed write.
 * A write the file system refuses (no space left, a file-size limit) fails
 * the call that caused it with OOC_ERR_IO, naming the output and the system
 * error; later calls report the same error, and every HDF5 id the writer
 * opened is closed by commit or abort whatever the state of the disk.
 */
#ifndef OOC_H5WRITE_H
#define OOC_H5WRITE_H

#include "base/outfile.h"
#include "oocsolve.h"
#include "hdf5/zcodec.h"

/* /X's attribute holding what the formula's stateful transforms learned. */
#define OOC_H5_TRANSFORMS_ATTR "oocsolve_transforms"

typedef struct ooc_h5_writer ooc_h5_writer;

typedef struct ooc_h5_writer_options {
    const char *path;                 /* final file name (required) */
    size_t ncols;                     /* columns of X (>= 1) */
    bool with_y;                      /* also write /Y */
    size_t chunk_rows;                /* rows per chunk; 0: automatic (about 1 MiB of X) */
    int level;                        /* compression level 0..9; 0: no compression filter
                                         (whatever the codec) */
    bool shuffle;                     /* byte shuffle: HDF5's filter before deflate, or blosc's
                                         own inside blosc */
    ooc_codec codec;                  /* zero-initialised: deflate */
    int nthreads;                     /* compression threads; 0: number of online CPUs */
    bool durable;                     /* fsync the file before renaming it into place, so that
                                         after a power loss the final name holds either the old
                                         file or the complete new one */
    const char *formula;              /* stored as attribute on /X (may be NULL) */
    const char *const *column_names;  /* ncols names stored as attribute on /X (may be NULL) */
    const char *transforms;           /* stored as attribute on /X (may be NULL) */
    size_t nkeep;                     /* columns of /keep (n x nkeep float64, chunked and
                                         filtered as /X, attribute column_names): ingest
                                         --keep; 0: no /keep */
    const char *const *keep_names;    /* their nkeep names */
    ooc_trace *trace;                 /* spans: compress (workers "compress N"), chunk write; may be NULL */
} ooc_h5_writer_options;

/* Create the temporary file and datasets.  Errors: OOC_ERR_IO, OOC_ERR_HDF5,
 * OOC_ERR_INVALID_ARG (also a blosc chunk over blosc's 2 GiB limit),
 * OOC_ERR_NOMEM. */
ooc_status ooc_h5w_create(const ooc_h5_writer_options *opts, ooc_h5_writer **out, ooc_error *err);

/* Append nrows rows: X row-major nrows*ncols, y nrows (ignored unless with_y).
 * Copies the data; returns once it is buffered or queued (writing older
 * chunks on the way).  Errors: OOC_ERR_IO (a write failed), OOC_ERR_HDF5,
 * OOC_ERR_INVALID_ARG; after one, every later call returns it. */
ooc_status ooc_h5w_append(ooc_h5_writer *w, const double *X, const double *y, size_t nrows,
                          ooc_error *err);

/* ooc_h5w_append with the kept columns' values: keep row-major nrows*nkeep
 * (required when the writer has /keep).  Errors: as ooc_h5w_append. */
ooc_status ooc_h5w_append_kept(ooc_h5_writer *w, const double *X, const double *y,
                               const double *keep, size_t nrows, ooc_error *err);

/* Write /keep_levels/NAME: the n texts (lens bytes each) of a kept column of
 * texts, whose /keep values are their codes 0..n-1, as a 1-D fixed-width
 * byte-string dataset (h5py: bytes; PyTables: an Array of StringAtom).  Call
 * after the last append, before finish.  Errors: OOC_ERR_HDF5, OOC_ERR_IO,
 * OOC_ERR_NOMEM. */
ooc_status ooc_h5w_put_levels(ooc_h5_writer *w, const char *name, const char *const *texts,
                              const size_t *lens, size_t n, ooc_error *err);

/* Statistics after commit. */
typedef struct ooc_h5_write_stats {
    uint64_t nrows;
    uint64_t raw_bytes;        /* uncompressed bytes of all chunks */
    uint64_t stored_bytes;     /* compressed bytes written */
    size_t chunk_rows;
} ooc_h5_write_stats;

/* Write the last partial chunk and close the file, still under its
 * temporary name (the writer keeps it: ooc_h5w_commit renames it into
 * place, ooc_h5w_abort deletes it), for a caller that must learn first
 * whether other outputs succeeded.  Calling it again only fills stats.
 * stats may be NULL.  Errors: OOC_ERR_IO (a write or close failed),
 * OOC_ERR_HDF5, and an earlier append's error (after one, commit returns
 * it too). */
ooc_status ooc_h5w_finish(ooc_h5_writer *w, ooc_h5_write_stats *stats, ooc_error *err);

/* ooc_h5w_finish (unless done), then rename the file into place (after an
 * fsync when `durable`).  Frees the writer in every case (on failure the
 * temporary file is deleted).  stats may be NULL.  Errors: OOC_ERR_IO (a
 * write, fsync, close or rename failed), OOC_ERR_HDF5, and an earlier
 * append's error. */
ooc_status ooc_h5w_commit(ooc_h5_writer *w, ooc_h5_write_stats *stats, ooc_error *err);

/* Stop the workers, close and delete the temporary file, free the writer.
 * NULL is a no-op. */
void ooc_h5w_abort(ooc_h5_writer *w);

/* A design written as several part files (one per process of an ingest)
 * and the small file that joins them. */
typedef struct ooc_h5_join_options {
    const char *path;                 /* the joining file's final name */
    size_t nparts;
    const char *const *part_names;    /* the parts, as the joining file names them: relative
                                         names are found in its own directory */
    const uint64_t *part_rows;        /* rows of each part's /X (and /Y) */
    size_t ncols;                     /* columns of X */
    bool with_y;                      /* the parts have /Y */
    const char *formula;              /* /X's attributes, as the writer's options */
    const char *const *column_names;
    const char *transforms;
} ooc_h5_join_options;

/* Write the joining file under a temporary name: /X (and /Y) are HDF5
 * virtual datasets, the parts' /X (/Y) one after the other (h5py and HDF5's
 * H5Dread read them as one array), with the attributes the writer gives its
 * own files (PyTables' root and EArray attributes, formula, column_names).
 * On success *out holds the temporary file (ooc_outfile_commit renames it
 * into place, ooc_outfile_abort deletes it); on failure nothing is left.
 * Errors: OOC_ERR_IO, OOC_ERR_HDF5, OOC_ERR_INVALID_ARG, OOC_ERR_NOMEM. */
ooc_status ooc_h5_join_write(const ooc_h5_join_options *o, ooc_outfile *out, ooc_error *err);

#endif

/*
 * zcodec.h — the byte-level codecs behind HDF5's shuffle and deflate filters,
 * usable from worker threads without touching libhdf5.
 *
 *  - ooc_shuffle / ooc_unshuffle: HDF5's H5Z shuffle layout.  For N = nbytes /
 *    elem_size elements, byte j of element i is stored at j*N + i; the
 *    nbytes % elem_size leftover bytes are copied unchanged at the end.
 *  - ooc_zlib_compress / ooc_zlib_decompress: zlib streams (2-byte header,
 *    deflate data, Adler-32), which is what HDF5's deflate filter stores.
 *    Compression levels 1..3 use ISA-L's igzip (levels 1..3: several times
 *    faster than zlib/libdeflate at level 1 for a few percent larger output);
 *    levels 4..9 use libdeflate at that level.  Decompression uses libdeflate.
 *
 * Compressor and decompressor objects hold scratch memory and are NOT
 * thread-safe: give each thread its own.  Shuffle functions are pure.
 */
#ifndef OOC_ZCODEC_H
#define OOC_ZCODEC_H

#include "oocsolve.h"

#include <stddef.h>

/* Shuffle `nbytes` bytes of `src` made of elem_size-byte elements into `dst`
 * (HDF5 layout, see above).  src and dst must not overlap; elem_size >= 1. */
void ooc_shuffle(const void *src, void *dst, size_t nbytes, size_t elem_size);

/* Inverse of ooc_shuffle: dst receives the elements in their natural layout. */
void ooc_unshuffle(const void *src, void *dst, size_t nbytes, size_t elem_size);

typedef struct ooc_zlib_compressor ooc_zlib_compressor;

/* Create a compressor for deflate level 1..9.  Errors: OOC_ERR_INVALID_ARG
 * (level out of range), OOC_ERR_NOMEM.  Free with ooc_zlib_compressor_free. */
ooc_status ooc_zlib_compressor_new(int level, ooc_zlib_compressor **out, ooc_error *err);

/* Compress src_nbytes bytes into a zlib stream in dst.  Returns the stream's
 * size in bytes, or 0 when it does not fit in dst_capacity (callers that only
 * keep output smaller than the input pass dst_capacity = src_nbytes - 1 and
 * store the input uncompressed on 0).  src_nbytes must be < 4 GiB. */
size_t ooc_zlib_compress(ooc_zlib_compressor *c, const void *src, size_t src_nbytes, void *dst,
                         size_t dst_capacity);

/* Free a compressor.  NULL is a no-op. */
void ooc_zlib_compressor_free(ooc_zlib_compressor *c);

typedef struct ooc_zlib_decompressor ooc_zlib_decompressor;

/* Create a decompressor.  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_zlib_decompressor_new(ooc_zlib_decompressor **out, ooc_error *err);

/* Decompress the zlib stream src (src_nbytes) into dst (dst_capacity bytes);
 * *out_nbytes receives the decompressed size.  Errors: OOC_ERR_CORRUPT when
 * the stream is malformed, its Adler-32 does not match, or it decompresses to
 * more than dst_capacity bytes (the message says which; callers prefix it with
 * the dataset and chunk). */
ooc_status ooc_zlib_decompress(ooc_zlib_decompressor *d, const void *src, size_t src_nbytes,
                               void *dst, size_t dst_capacity, size_t *out_nbytes,
                               ooc_error *err);

/* Free a decompressor.  NULL is a no-op. */
void ooc_zlib_decompressor_free(ooc_zlib_decompressor *d);

#endif

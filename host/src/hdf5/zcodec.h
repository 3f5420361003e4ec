/*
 * zcodec.h — the byte-level codecs behind HDF5's shuffle and deflate filters
 * and the blosc filter (HDF5 filter 32001, as PyTables writes it), usable from
 * worker threads without touching libhdf5.
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
 *  - ooc_codec_parse names how ingest compresses chunks ("deflate",
 *    "blosc:lz4", ...); ooc_blosc_compress / ooc_blosc_decompress are libblosc's
 *    context API (one internal thread per call), whose frames are what the
 *    blosc filter stores: a 16-byte header (sizes, type size, shuffle,
 *    compressor) and the compressed blocks.  Blosc shuffles bytes itself, so
 *    HDF5's shuffle filter is not stacked under it.
 *
 * Compressor and decompressor objects hold scratch memory and are NOT
 * thread-safe: give each thread its own.  Shuffle and blosc functions are
 * pure (thread-safe).
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

/* ---- codec choice and blosc ------------------------------------------- */

/* The blosc filter's registered HDF5 id, and its parameters (cd_values) as
 * PyTables' filter (hdf5-blosc) stores them: filter revision, blosc format
 * version, type size, chunk size in bytes, level, shuffle (0 none, 1 byte,
 * 2 bit), compressor code (blosc.h's BLOSC_BLOSCLZ ... BLOSC_ZSTD). */
#define OOC_H5Z_FILTER_BLOSC 32001
#define OOC_BLOSC_NPARAMS 7
#define OOC_BLOSC_FILTER_REVISION 2

/* How chunks are compressed.  Zero-initialised: deflate. */
typedef struct ooc_codec {
    bool blosc;     /* false: HDF5's shuffle + deflate filters */
    int compressor; /* with blosc: blosc.h's compressor code */
} ooc_codec;

/* Parse a codec name: "deflate" (also NULL or ""), "blosc" (blosc's own
 * compressor, as PyTables' complib='blosc'), or "blosc:NAME" with NAME one of
 * blosclz, lz4, lz4hc, zlib, zstd that this libblosc has (not snappy, which
 * PyTables' and hdf5plugin's blosc lack).  Errors: OOC_ERR_INVALID_ARG
 * naming the valid choices. */
ooc_status ooc_codec_parse(const char *text, ooc_codec *out, ooc_error *err);

/* The name of blosc compressor `code` ("lz4", ...; what "blosc:NAME" takes),
 * or NULL for a code blosc does not define.  A static string. */
const char *ooc_blosc_compressor_name(int code);

/* The filter parameters of a blosc dataset of `typesize`-byte elements in
 * chunks of chunk_nbytes bytes (cd_values layout above; shuffle: byte
 * shuffle or none). */
void ooc_blosc_cd_values(const ooc_codec *codec, int level, bool shuffle, size_t typesize,
                         size_t chunk_nbytes, unsigned cd_values[OOC_BLOSC_NPARAMS]);

/* Compress nbytes bytes of typesize-byte elements into one blosc frame in dst
 * at `level` (0..9), byte-shuffled first when `shuffle`.  *out_nbytes gets
 * the frame's size, or 0 when it does not fit in dst_capacity (callers that
 * keep only output smaller than the input pass nbytes - 1 and store the
 * input unfiltered on 0).  nbytes must be <= BLOSC_MAX_BUFFERSIZE (about
 * 2 GiB) and typesize 1..255.  Errors: OOC_ERR_INVALID_ARG (sizes, level),
 * OOC_ERR_INTERNAL (libblosc reported an error). */
ooc_status ooc_blosc_compress(const ooc_codec *codec, int level, bool shuffle, size_t typesize,
                              const void *src, size_t nbytes, void *dst, size_t dst_capacity,
                              size_t *out_nbytes, ooc_error *err);

/* Decompress the blosc frame src (src_nbytes stored bytes) into dst, which
 * must decode to exactly expected_nbytes bytes (dst holds that many).  The
 * frame's header is checked before libblosc reads past it: its compressed
 * size must equal src_nbytes and its decompressed size expected_nbytes.
 * Errors: OOC_ERR_CORRUPT (which check failed, or libblosc's failure with
 * the frame's compressor named; callers prefix the dataset and chunk). */
ooc_status ooc_blosc_decompress(const void *src, size_t src_nbytes, void *dst,
                                size_t expected_nbytes, ooc_error *err);

#endif

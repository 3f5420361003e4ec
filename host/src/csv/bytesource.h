/*
 * bytesource.h — where the CSV reader's bytes come from, behind one
 * read / seek-back interface: a regular file, a stream that can be read only
 * once (a pipe, a FIFO, /dev/stdin, `<(zcat ...)`), a file decompressed on
 * the fly, or memory.
 *
 * Compression is chosen by the name's extension, as pandas' "infer" does
 * (case-insensitive): .gz (zlib), .zst (libzstd), .bz2 (libbz2), .xz
 * (liblzma); each needs its library at build time (ooc_byte_source_formats).
 * Concatenated members/frames/streams are read as one text, as zcat does.
 *
 * Going back (ooc_byte_source_seek_back): a regular file seeks; a compressed
 * regular file restarts its decoder and skips forward.  A stream cannot seek,
 * so while the caller may still go back, everything read is kept: in memory
 * up to `replay_memory` bytes, then in an unnamed temporary file in $TMPDIR
 * (or /tmp), which the kernel deletes when it is closed or the process ends,
 * whatever ends it.  Spooling is announced with a note on the log sink.
 * A caller that knows it will not go back calls ooc_byte_source_last_pass,
 * and nothing more is kept: a stream is then read in one pass.
 *
 * Errors name the source as given (`name`): OOC_ERR_IO (open, read, spool),
 * OOC_ERR_CORRUPT (compressed data that does not decode, or ends early),
 * OOC_ERR_UNSUPPORTED (a compression this build lacks; going back on a
 * stream after ooc_byte_source_last_pass), OOC_ERR_INTERRUPTED (the cancel
 * flag was raised while a read waited), OOC_ERR_NOMEM.
 */
#ifndef OOC_BYTESOURCE_H
#define OOC_BYTESOURCE_H

#include "oocsolve.h"

#include <stdint.h>

typedef struct ooc_byte_source ooc_byte_source;

/* Options; a zeroed struct means the defaults. */
typedef struct ooc_byte_source_options {
    const volatile int *cancel; /* when raised, a read interrupted by a signal stops with
                                   OOC_ERR_INTERRUPTED instead of waiting on (NULL: never) */
    ooc_log_sink log;           /* the note when a stream is spooled; may be empty */
    size_t replay_memory;       /* bytes of a stream kept in memory before spooling; 0: 16 MiB
                                   (tests set tiny values) */
} ooc_byte_source_options;

/* Open `path` (see above).  `o` may be NULL.  On failure *out is NULL. */
ooc_status ooc_byte_source_open(const char *path, const ooc_byte_source_options *o,
                                ooc_byte_source **out, ooc_error *err);

/* A source over data[0..n) (not copied: it must outlive the source), read as
 * plain text; `name` stands for the file name in messages. */
ooc_status ooc_byte_source_open_memory(const char *name, const void *data, size_t n,
                                       ooc_byte_source **out, ooc_error *err);

/* Read up to n bytes into dst; *got == 0 only at the end of the text. */
ooc_status ooc_byte_source_read(ooc_byte_source *s, void *dst, size_t n, size_t *got,
                                ooc_error *err);

/* Continue reading at byte `offset` of the text, at most the bytes read so far. */
ooc_status ooc_byte_source_seek_back(ooc_byte_source *s, uint64_t offset, ooc_error *err);

/* Read only the text bytes [begin, end) from now on: the next read starts at
 * `begin`, the text ends at `end` (a read there gets 0 bytes), and a seek
 * back may go to any offset from `begin` on.  For one process's share of a
 * file (csv_split.h).  Errors: OOC_ERR_UNSUPPORTED (a stream or a compressed
 * file: only a plain file or memory has offsets to go to), OOC_ERR_INTERNAL
 * (begin > end, or end beyond the file), OOC_ERR_IO (the seek failed). */
ooc_status ooc_byte_source_window(ooc_byte_source *s, uint64_t begin, uint64_t end,
                                  ooc_error *err);

/* The caller will not seek back again: a stream stops keeping what it reads. */
void ooc_byte_source_last_pass(ooc_byte_source *s);

/* The compressed format ("gzip", "zstd", "xz", "bzip2") whose signature
 * text[0..len) starts with, or NULL: for a clear message when compressed data
 * arrive under a name without the extension. */
const char *ooc_byte_source_sniff(const void *text, size_t len);
/* The extension that selects `format` (".gz" for "gzip"); "" if unknown. */
const char *ooc_byte_source_extension(const char *format);

/* Size of the text when known before reading it (an uncompressed regular
 * file, memory), else 0. */
uint64_t ooc_byte_source_size(const ooc_byte_source *s);

/* True when this source was spooled to a temporary file (tests, notes). */
bool ooc_byte_source_spooled(const ooc_byte_source *s);

/* The compressed formats this build reads, e.g. "gzip zstd bzip2 xz" (static). */
const char *ooc_byte_source_formats(void);

/* Close and free (the spool file disappears with it).  NULL is a no-op. */
void ooc_byte_source_close(ooc_byte_source *s);

#endif

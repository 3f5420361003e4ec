/*
 * csv.h — streaming RFC 4180 CSV tokenizer.
 *
 * The reader never holds the whole file: it reads the file in large pieces
 * and cuts it into blocks of whole records.  The bytes come from a byte
 * source (bytesource.h): a regular file, a pipe or FIFO (e.g. /dev/stdin),
 * or a file decompressed on the fly because its name ends in .gz, .zst,
 * .bz2 or .xz; messages are the same whichever it is.  Each block owns a copy of its
 * records' bytes; fields are NUL-terminated, unquoted and unescaped in place
 * ("a""b" -> a"b), so a block can be handed to another thread while the
 * reader fills the next one.
 *
 * Accepted: a header row (required), quoted fields containing delimiters,
 * doubled quotes and newlines; LF, CRLF or lone CR line ends; a final record
 * with or without a line end; a configurable one-byte delimiter; a UTF-8 BOM
 * at the start.  Empty lines are skipped (as pandas does).  Spaces around
 * fields are kept (the number parser ignores them); header names are trimmed
 * of spaces and tabs, and an empty header name becomes "Unnamed: <j>" (j
 * 0-based, as pandas names it).  A '"' inside an unquoted field is literal.
 * Rejected with OOC_ERR_CSV and a message naming file, line and column: a
 * record with a different number of fields than the header (ragged row), an
 * unterminated quote, text after a closing quote, a NUL byte, a field longer
 * than 4 GiB, an empty file (no header row), a duplicate header name, or
 * compressed data under a name that does not say so (line 1, naming the
 * format).
 */
#ifndef OOC_CSV_H
#define OOC_CSV_H

#include "oocsolve.h"

#include <stdint.h>

/* One block of records.  All pointers are owned by the block. */
typedef struct ooc_csv_block {
    size_t nrecords;        /* records in this block */
    size_t nfields;         /* fields per record (== number of header columns) */
    char **fields;          /* nrecords*nfields NUL-terminated field texts, row-major */
    uint32_t *field_lens;   /* their lengths in bytes (a field may contain NUL-free text only) */
    uint64_t *line_numbers; /* 1-based physical line where each record starts (header is line 1) */
    uint64_t first_record;  /* 0-based index of the block's first data record in the file */
    /* private storage */
    char *text;
    size_t text_cap;
    size_t records_cap;
} ooc_csv_block;

/* Initialise an empty block (no allocation). */
void ooc_csv_block_init(ooc_csv_block *blk);
/* Release a block's storage; the block can be initialised again. */
void ooc_csv_block_free(ooc_csv_block *blk);

typedef struct ooc_csv_reader ooc_csv_reader;

/* Reader options; a zeroed struct means the defaults. */
typedef struct ooc_csv_reader_options {
    char delimiter;         /* '\0': ','; must not be '"', CR or LF */
    size_t block_records;   /* records per block; 0: 65536.  Either way lowered so that a block
                               holds at most 2^19 fields (wide files: fewer records per block) */
    size_t read_bytes;      /* most bytes asked of read(2) at once; 0: 8 MiB.  Tests set tiny
                               values to put piece boundaries everywhere. */
    const volatile int *cancel; /* when raised, a read waiting on a pipe stops with
                                   OOC_ERR_INTERRUPTED (NULL: it waits on) */
    ooc_log_sink log;       /* the note when a pipe is spooled for a rewind; may be empty */
    size_t replay_memory;   /* bytes of a pipe kept in memory for a rewind before spooling it to
                               $TMPDIR; 0: 16 MiB (bytesource.h) */
} ooc_csv_reader_options;

/* Open `path` and parse its header row.  `opts` may be NULL for defaults.
 * Errors: OOC_ERR_IO (cannot open/read), OOC_ERR_CSV (bad header),
 * OOC_ERR_CORRUPT (compressed data that do not decode), OOC_ERR_UNSUPPORTED
 * (a compression this build lacks), OOC_ERR_NOMEM. */
ooc_status ooc_csv_open(const char *path, const ooc_csv_reader_options *opts, ooc_csv_reader **out,
                        ooc_error *err);

/* Like ooc_csv_open, but read the CSV text data[0..nbytes) from memory
 * (not copied: it must stay valid until ooc_csv_close).  `name` stands for
 * the file name in messages.  Used by the fuzz targets and tests. */
ooc_status ooc_csv_open_memory(const char *name, const void *data, size_t nbytes,
                               const ooc_csv_reader_options *opts, ooc_csv_reader **out,
                               ooc_error *err);

/* Number of header columns, and the name of column j (unquoted, owned by the reader). */
size_t ooc_csv_ncols(const ooc_csv_reader *r);
const char *ooc_csv_column_name(const ooc_csv_reader *r, size_t j);
/* Path as given to ooc_csv_open (for messages). */
const char *ooc_csv_path(const ooc_csv_reader *r);

/* Fill `blk` with the next records (up to block_records).  At end of file
 * returns OOC_OK with blk->nrecords == 0.  The block's previous content is
 * discarded; its buffers are reused.  Errors: OOC_ERR_CSV (malformed record;
 * the message names file, line, column and quotes the text), OOC_ERR_IO,
 * OOC_ERR_NOMEM.  After an error the reader only accepts rewind or close. */
ooc_status ooc_csv_next_block(ooc_csv_reader *r, ooc_csv_block *blk, ooc_error *err);

/* Text bytes consumed so far (decompressed, for a compressed file), and the
 * text's size when known in advance (an uncompressed regular file; else 0).
 * After ooc_csv_restrict, those of the share (see there). */
uint64_t ooc_csv_bytes_read(const ooc_csv_reader *r);
uint64_t ooc_csv_file_size(const ooc_csv_reader *r);

/* Records per block now in force, and a way to lower it (never raises it;
 * at least 1): callers whose per-record output is wide bound their memory. */
size_t ooc_csv_block_records(const ooc_csv_reader *r);
void ooc_csv_limit_block_records(ooc_csv_reader *r, size_t max_records);

/* Start again at the first data record (for a second pass).  A pipe can
 * go back only while it is kept (until ooc_csv_last_pass): in memory, then
 * in an unnamed temporary file; a compressed file decodes again. */
ooc_status ooc_csv_rewind(ooc_csv_reader *r, ooc_error *err);

/* Where the first data record starts: its byte offset in the text (after the
 * header and any BOM) and its physical line. */
void ooc_csv_data_start(const ooc_csv_reader *r, uint64_t *offset, uint64_t *line);

/* Read only the records in the text bytes [begin, end) from now on (one
 * process's share of the file, csv_split.h): `begin` must start a record
 * (csv_split.h finds such offsets), whose physical line is `line`, and `end`
 * too, or be the end of the text.  The records are then numbered from 0 again
 * (first_record), their lines are the file's, and ooc_csv_rewind goes back to
 * `begin`.  The bytes read (ooc_csv_bytes_read, ooc_csv_file_size) are the
 * share's, and with `first_share` (the first process's) also those before it
 * (the header), so that the shares' counts add up to the file's.  A plain
 * file or memory only.  Errors: those of ooc_byte_source_window,
 * OOC_ERR_INTERNAL (begin before the first record). */
ooc_status ooc_csv_restrict(ooc_csv_reader *r, uint64_t begin, uint64_t end, uint64_t line,
                            bool first_share, ooc_error *err);

/* The caller will not rewind again: a pipe stops keeping what it reads, so
 * it is read in one pass with nothing spooled. */
void ooc_csv_last_pass(ooc_csv_reader *r);

/* Close the file and free the reader.  NULL is a no-op. */
void ooc_csv_close(ooc_csv_reader *r);

#endif

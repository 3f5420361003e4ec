/*
 * csv_split.h — one CSV file read by several processes (`mpirun oocsolve
 * ingest`), each its share of the records: byte ranges cut where records
 * start, exactly as the tokenizer (csv.c) reads the file from its start.
 *
 * Process r of n looks at the bytes [b_r, b_r+1) of the data (the text after
 * the header cut in n equal pieces), not knowing whether its piece starts
 * inside a quoted field.  It runs the tokenizer's states over its piece from
 * every state the piece could start in at once (ooc_csv_span_scan): where
 * each ends, where a record first starts, and how many line ends come before
 * it.  In file order those summaries say the true state at each b_r
 * (ooc_csv_shares), so each process's share starts at the first record start
 * at or after its b_r, at its true line, and ends where the next share
 * starts.  Quote parity alone would not do: a '"' inside an unquoted field is
 * a literal character (csv.h), so the count of quotes says nothing there.  A
 * piece that starts after malformed text (one the tokenizer rejects) gets no
 * records; the share before it then runs on to the end of the file, and its
 * reader reports the error as the whole file's tokenizer would.
 *
 * Only a plain file can be split (a pipe or a compressed file has no offsets
 * to start at).
 */
#ifndef OOC_CSV_SPLIT_H
#define OOC_CSV_SPLIT_H

#include "csv/bytesource.h"
#include "oocsolve.h"

#include <stdint.h>

/* The tokenizer's states between two bytes (see csv_split.c). */
#define OOC_CSV_SCAN_STATES 7

/* What a piece of the text does from each state it may start in. */
typedef struct ooc_csv_span {
    uint64_t begin, end;                         /* the piece: text bytes [begin, end) */
    uint64_t lines;                              /* line ends in it (LF, CRLF, lone CR; in
                                                  * quoted fields too, as the tokenizer counts
                                                  * lines) */
    uint8_t end_state[OOC_CSV_SCAN_STATES];      /* the state at `end` */
    uint64_t first_record[OOC_CSV_SCAN_STATES];  /* the first offset in [begin, end) where a
                                                  * record starts; UINT64_MAX: none */
    uint64_t lines_before[OOC_CSV_SCAN_STATES];  /* line ends in [begin, first_record) */
} ooc_csv_span;

/* One process's share: the records in the text bytes [begin, end), the first
 * on physical line `line` (ooc_csv_restrict takes these). */
typedef struct ooc_csv_share {
    uint64_t begin, end, line;
} ooc_csv_share;

/* The state before the first data record, to start ooc_csv_shares from. */
#define OOC_CSV_SCAN_RECORD_START 0

/* Scan the text bytes [begin, end) of `src` (a plain file or memory, which
 * the scan repositions) for *out, fields separated by `delimiter`.  The byte
 * before `begin` is read too (for a CR LF cut in two).  Errors: those of
 * ooc_byte_source_window and _read, OOC_ERR_INTERRUPTED (cancel raised),
 * OOC_ERR_IO (the text is shorter than `end`). */
ooc_status ooc_csv_span_scan(ooc_byte_source *src, char delimiter, uint64_t begin, uint64_t end,
                             const volatile int *cancel, ooc_csv_span *out, ooc_error *err);

/* The shares of n consecutive spans covering the data from its first record
 * (spans[0].begin, at physical line data_line) to the end of the text
 * (spans[n-1].end): out[k] for spans[k].  Shares are consecutive, start
 * where records start, and together hold every record; a share without a
 * record start of its own is empty ([e, e), e where the next share starts). */
void ooc_csv_shares(const ooc_csv_span *spans, size_t n, uint64_t data_line, ooc_csv_share *out);

/* The start of piece r of n equal pieces of [data_offset, text_end). */
uint64_t ooc_csv_piece_start(uint64_t data_offset, uint64_t text_end, uint64_t r, uint64_t n);

/* For the process c->rank of the collective c (several processes reading the
 * plain file `path`, whose first record starts at byte data_offset on
 * physical line data_line and whose text ends at text_end): scan its piece,
 * gather every piece's summary at process 0, and give each process its share
 * in *mine.  Every process calls it; a failure anywhere fails it everywhere
 * (base/collective.h).  Errors: those of ooc_csv_span_scan and the exchanges. */
ooc_status ooc_csv_split(const char *path, char delimiter, uint64_t data_offset,
                         uint64_t data_line, uint64_t text_end, const ooc_collective *c,
                         const volatile int *cancel, ooc_csv_share *mine, ooc_error *err);

#endif

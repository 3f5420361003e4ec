/*
 * csv.c — streaming RFC 4180 CSV tokenizer (see csv.h).
 *
 * How a block is filled: the bytes left over from the previous block (the
 * "carry", never yet scanned) are copied to the start of the block's own text
 * buffer, then records are scanned in place; when the scan reaches the end of
 * the bytes at hand in the middle of a record, more bytes are read(2) onto
 * the end of the buffer and that record is scanned again from its start.  A
 * record is only modified (NUL terminators written, doubled quotes collapsed)
 * once it is complete, so a rescan always sees the original bytes, and error
 * messages can quote the record exactly as it is in the file.  The amount
 * asked of each read is estimated from the bytes per record seen so far, so
 * the carry copied between blocks stays small.  Zero bytes after the last byte
 * at hand (a NUL sentinel plus padding) let the field scans run without bounds
 * checks: unquoted fields 16 bytes at a time with SSE2 (a 256-entry class
 * table elsewhere), quoted fields with the class table.
 *
 * Memory: one block's records plus one read piece (default 8 MiB); a record
 * longer than a read piece grows the buffer geometrically.
 *
 * The bytes come from a byte source (bytesource.h): a file, a pipe, a file
 * decompressed on the fly, or memory; rewind goes back to the first data
 * record through it.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "csv/csv.h"

#include "csv/bytesource.h"
#include "base/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum {
    DEFAULT_BLOCK_RECORDS = 65536,
    /* A block holds at most this many fields (unless a record alone has more), so wide files
     * get proportionally fewer records per block and memory stays bounded. */
    MAX_BLOCK_FIELDS = 1 << 19,
    DEFAULT_READ_BYTES = 8 << 20,
    MIN_ESTIMATED_READ = 64 << 10,
    INITIAL_HEADER_FIELDS = 64,
    /* Bytes looked at before the header is scanned: a BOM (3), or the signature of
     * compressed data (up to 10, bzip2's). */
    SNIFF_BYTES = 10,
    /* Zero bytes kept after the last byte at hand: text[len] is the scan sentinel and
     * the 16-byte field scan may load up to text[len + 15]. */
    TEXT_PAD = 16,
};

struct ooc_csv_reader {
    char *path;               /* as given, for messages */
    ooc_byte_source *src;
    char delimiter;
    size_t block_records;
    size_t read_bytes;
    uint64_t file_size;
    unsigned char stop_unquoted[256]; /* bytes that end an unquoted field */
    unsigned char stop_quoted[256];   /* bytes of interest inside quotes */

    size_t ncols;
    char **names;             /* ncols header names */
    char *names_text;         /* their storage */
    unsigned char *unescape;  /* per field of the record being scanned: has doubled quotes */

    uint64_t data_offset;     /* byte offset of the first byte after the header (of the share,
                                 after ooc_csv_restrict) */
    uint64_t skipped;         /* bytes before the share that the reader does not count as read
                                 (ooc_csv_restrict) */
    uint64_t data_line;       /* physical line number there */
    uint64_t offset;          /* bytes taken from the source so far */
    bool eof;
    bool failed;              /* an error happened; only rewind/close allowed */
    uint64_t line;            /* line number at the start of the carry */
    uint64_t record_index;    /* data records handed out so far */
    char *carry;              /* unscanned bytes following the last block */
    size_t carry_len, carry_cap;
    double bytes_per_record;  /* running estimate (0: unknown) */
};

typedef enum scan_result {
    SCAN_RECORD,    /* a complete record was scanned */
    SCAN_NEED_MORE, /* the bytes at hand end inside a record */
    SCAN_END,       /* end of input, no more records */
    SCAN_FULL,      /* header mode: more fields than the arrays hold */
    SCAN_ERROR      /* malformed input; err is filled */
} scan_result;

/* Scanner position, in and out. */
typedef struct scan_pos {
    size_t pos;        /* in: where to scan; out: after the record (or its start if incomplete) */
    uint64_t line;     /* line number at pos */
    uint64_t rec_line; /* out: line where the record starts */
    size_t rec_start;  /* out: offset where the record starts */
} scan_pos;

/* ---- block storage ---------------------------------------------------- */

void ooc_csv_block_init(ooc_csv_block *blk) { memset(blk, 0, sizeof *blk); }

void ooc_csv_block_free(ooc_csv_block *blk)
{
    if (!blk)
        return;
    free(blk->fields);
    free(blk->field_lens);
    free(blk->line_numbers);
    free(blk->text);
    ooc_csv_block_init(blk);
}

/* Make the record arrays hold `nrecords` records of `nfields` fields. */
static ooc_status block_reserve_records(ooc_csv_block *blk, size_t nrecords, size_t nfields,
                                        ooc_error *err)
{
    if (blk->nfields == nfields && blk->records_cap >= nrecords && blk->fields)
        return OOC_OK;
    free(blk->fields);
    free(blk->field_lens);
    free(blk->line_numbers);
    blk->fields = NULL;
    blk->field_lens = NULL;
    blk->line_numbers = NULL;
    blk->records_cap = 0;
    if (nfields && nrecords > SIZE_MAX / sizeof(char *) / nfields)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "CSV block of %zu records x %zu fields is too large",
                        nrecords, nfields);
    size_t n = nrecords * nfields;
    blk->fields = malloc((n ? n : 1) * sizeof *blk->fields);
    blk->field_lens = malloc((n ? n : 1) * sizeof *blk->field_lens);
    blk->line_numbers = malloc((nrecords ? nrecords : 1) * sizeof *blk->line_numbers);
    if (!blk->fields || !blk->field_lens || !blk->line_numbers)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for a CSV block of %zu records", nrecords);
    blk->nfields = nfields;
    blk->records_cap = nrecords;
    return OOC_OK;
}

/* Make blk->text hold `needed` bytes, keeping text[0..len) and moving the
 * `nptrs` field pointers already stored to the new buffer. */
static ooc_status block_reserve_text(ooc_csv_block *blk, size_t needed, size_t len, size_t nptrs,
                                     ooc_error *err)
{
    if (needed <= blk->text_cap)
        return OOC_OK;
    size_t cap = blk->text_cap + blk->text_cap / 2;
    if (cap < needed)
        cap = needed;
    char *text = malloc(cap);
    if (!text)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for %zu bytes of CSV text", cap);
    if (len)
        memcpy(text, blk->text, len);
    for (size_t i = 0; i < nptrs; i++)
        blk->fields[i] = text + (blk->fields[i] - blk->text);
    free(blk->text);
    blk->text = text;
    blk->text_cap = cap;
    return OOC_OK;
}

/* ---- input ------------------------------------------------------------ */

/* Append more input to blk->text[0..*len), whose record being scanned starts
 * at rec_start; nptrs field pointers are stored already; nrec records are done. */
static ooc_status refill(ooc_csv_reader *r, ooc_csv_block *blk, size_t *len, size_t rec_start,
                         size_t nrec, size_t nptrs, ooc_error *err)
{
    size_t partial = *len - rec_start;
    size_t want = r->read_bytes;
    if (r->bytes_per_record > 0 && nrec < r->block_records) {
        /* Enough for the rest of the block, plus a margin, in one read. */
        double est = (double)(r->block_records - nrec) * r->bytes_per_record * 1.05 + 4096.0;
        est -= (double)partial;
        size_t floor_bytes = MIN_ESTIMATED_READ < r->read_bytes ? MIN_ESTIMATED_READ : r->read_bytes;
        want = est < (double)floor_bytes ? floor_bytes : est > (double)want ? want : (size_t)est;
    }
    /* No more than the rest of a file of known size (+1 to see the end): small files
     * get small buffers. */
    if (r->file_size) {
        uint64_t remaining = r->file_size > r->offset ? r->file_size - r->offset : 0;
        if (remaining + 1 < want)
            want = (size_t)remaining + 1;
    }
    /* A record longer than a normal piece: grow geometrically so rescans stay linear. */
    if (partial > DEFAULT_READ_BYTES && want < partial)
        want = partial;
    ooc_status status = block_reserve_text(blk, *len + want + TEXT_PAD, *len, nptrs, err);
    if (status != OOC_OK)
        return status;
    size_t got = 0;
    status = ooc_byte_source_read(r->src, blk->text + *len, want, &got, err);
    if (status != OOC_OK)
        return status;
    r->offset += got;
    if (got == 0)
        r->eof = true;
    *len += got;
    memset(blk->text + *len, 0, TEXT_PAD);
    return OOC_OK;
}

/* ---- scanning --------------------------------------------------------- */

/* "column 3 ("b")", "column 7 (beyond the 6 header columns)" or, while the
 * header itself is read, "column 3 of the header". */
static void describe_column(const ooc_csv_reader *r, size_t col, bool header, char *buf, size_t size)
{
    if (header) {
        snprintf(buf, size, "column %zu of the header", col + 1);
    } else if (col < r->ncols) {
        char name[64];
        ooc_quote_excerpt(name, sizeof name, r->names[col], strlen(r->names[col]));
        snprintf(buf, size, "column %zu (%s)", col + 1, name);
    } else {
        snprintf(buf, size, "column %zu (beyond the %zu header columns)", col + 1, r->ncols);
    }
}

/* Record an OOC_ERR_CSV naming file, line and column; `what` and the quoted excerpt of
 * text[0..n) follow. */
static scan_result scan_fail(const ooc_csv_reader *r, ooc_error *err, uint64_t line, size_t col,
                             bool header, const char *what, const char *text, size_t n)
{
    char column[160], excerpt[200];
    describe_column(r, col, header, column, sizeof column);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    ooc_quote_excerpt(excerpt, sizeof excerpt, text, n);
    OOC_FAIL(err, OOC_ERR_CSV, "%s: line %llu, %s: %s: %s", r->path, (unsigned long long)line,
             column, what, excerpt);
    return SCAN_ERROR;
}

/* The first byte at or after q that ends an unquoted field: the delimiter, CR,
 * LF or NUL (the sentinel at text[len] guarantees one, within TEXT_PAD). */
static inline char *find_field_end(const ooc_csv_reader *r, char *q)
{
#if defined(__SSE2__)
    const __m128i delim = _mm_set1_epi8(r->delimiter), lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r'), nul = _mm_setzero_si128();
    for (;;) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, delim), _mm_cmpeq_epi8(x, lf)),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, nul)));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask)
            return q + __builtin_ctz(mask);
        q += 16;
    }
#else
    while (!r->stop_unquoted[(unsigned char)*q])
        q++;
    return q;
#endif
}

/*
 * Scan one record of text[0..len) (text[len] == '\0') starting at p->pos,
 * skipping empty lines first.  Field starts and lengths go to fields/lens and
 * the doubled-quote flags to unescape, for the first `cap` fields.  Data mode
 * (!header): the record must have exactly cap fields.  Header mode: any count;
 * SCAN_FULL when more than cap.  The text is not modified.
 */
static scan_result scan_record(const ooc_csv_reader *r, char *text, size_t len, bool eof,
                               char **fields, uint32_t *lens, unsigned char *unescape, size_t cap,
                               bool header, scan_pos *sp, size_t *nfound, ooc_error *err)
{
    char *p = text + sp->pos;
    char *const end = text + len;
    uint64_t line = sp->line;
    const char delim = r->delimiter;
    const unsigned char *const qstop = r->stop_quoted;

    for (;;) { /* empty lines */
        if (p == end) {
            sp->pos = (size_t)(p - text);
            sp->line = line;
            return eof ? SCAN_END : SCAN_NEED_MORE;
        }
        if (*p == '\n') {
            p++;
            line++;
        } else if (*p == '\r') {
            if (p + 1 == end && !eof)
                break; /* cannot tell CR from CRLF yet; handled as a record start below */
            p += p[1] == '\n' ? 2 : 1;
            line++;
        } else {
            break;
        }
    }
    sp->pos = sp->rec_start = (size_t)(p - text);
    sp->line = sp->rec_line = line;
    if (p + 1 == end && *p == '\r')
        return SCAN_NEED_MORE;

    size_t k = 0;
    for (;;) {
        char *field, *q;
        bool doubled = false;
        if (*p == '"') {
            uint64_t open_line = line;
            q = p + 1;
            for (;;) {
                while (!qstop[(unsigned char)*q])
                    q++;
                if (*q == '"') {
                    if (q + 1 == end && !eof)
                        return SCAN_NEED_MORE;
                    if (q[1] != '"')
                        break;
                    doubled = true;
                    q += 2;
                } else if (*q == '\n') {
                    line++;
                    q++;
                } else if (*q == '\r') {
                    if (q + 1 == end && !eof)
                        return SCAN_NEED_MORE;
                    if (q[1] != '\n')
                        line++;
                    q++;
                } else if (q == end) {
                    if (!eof)
                        return SCAN_NEED_MORE;
                    return scan_fail(r, err, open_line, k, header,
                                     "unterminated quote: the file ends inside this quoted field",
                                     p, (size_t)(end - p));
                } else {
                    return scan_fail(r, err, line, k, header, "NUL byte in a quoted field", p,
                                     (size_t)(q - p) + 1);
                }
            }
            field = p + 1;
            size_t flen = (size_t)(q - field);
            q++; /* past the closing quote */
            if (!(*q == delim || *q == '\n' || *q == '\r' || q == end)) {
                /* Quote up to the end of the field (enough of it for the excerpt), which
                 * may lie beyond the bytes at hand: the message must not depend on reads. */
                char *stop_at = q, *limit = p + 64;
                while (stop_at < end && stop_at < limit && *stop_at != delim && *stop_at != '\n' &&
                       *stop_at != '\r')
                    stop_at++;
                if (stop_at == end && !eof)
                    return SCAN_NEED_MORE;
                return scan_fail(r, err, line, k, header,
                                 "unexpected text after the closing quote of a quoted field", p,
                                 (size_t)(stop_at - p));
            }
            if (flen > UINT32_MAX)
                return scan_fail(r, err, open_line, k, header, "field longer than 4 GiB", p, 40);
            if (k < cap) {
                fields[k] = field;
                lens[k] = (uint32_t)flen;
                unescape[k] = doubled;
            } else if (header) {
                return SCAN_FULL;
            }
        } else {
            field = p;
            q = find_field_end(r, p);
            size_t flen = (size_t)(q - field);
            if (flen > UINT32_MAX)
                return scan_fail(r, err, line, k, header, "field longer than 4 GiB", p, 40);
            if (k < cap) {
                fields[k] = field;
                lens[k] = (uint32_t)flen;
                unescape[k] = 0;
            } else if (header) {
                return SCAN_FULL;
            }
        }
        k++;
        /* q is at the byte after the field. */
        if (*q == delim) {
            p = q + 1;
            continue;
        }
        if (*q == '\n') {
            p = q + 1;
            line++;
            break;
        }
        if (*q == '\r') {
            if (q + 1 == end && !eof)
                return SCAN_NEED_MORE;
            p = q + (q[1] == '\n' ? 2 : 1);
            line++;
            break;
        }
        if (q == end) {
            if (!eof)
                return SCAN_NEED_MORE;
            p = q;
            break;
        }
        return scan_fail(r, err, line, k - 1, header, "NUL byte in a field", field,
                         (size_t)(q - field) + 1);
    }
    if (!header && k != cap) {
        char what[96];
        snprintf(what, sizeof what, "expected %zu fields, found %zu", cap, k);
        return scan_fail(r, err, sp->rec_line, k < cap ? k : cap, false, what, text + sp->rec_start,
                         (size_t)(p - (text + sp->rec_start)));
    }
    sp->pos = (size_t)(p - text);
    sp->line = line;
    *nfound = k;
    return SCAN_RECORD;
}

/* Terminate the n fields of a scanned record and collapse doubled quotes. */
static void commit_record(char **fields, uint32_t *lens, const unsigned char *unescape, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        char *f = fields[k];
        if (unescape[k]) {
            char *w = f;
            const char *s = f, *e = f + lens[k];
            while (s < e) {
                if (*s == '"')
                    s++; /* first of a doubled pair */
                *w++ = *s++;
            }
            lens[k] = (uint32_t)(w - f);
        }
        f[lens[k]] = '\0';
    }
}

/* ---- header ----------------------------------------------------------- */

typedef struct name_index {
    const char *name;
    size_t col;
} name_index;

static int compare_names(const void *a, const void *b)
{
    const name_index *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->col < y->col ? -1 : x->col > y->col;
}

/* Copy the header fields into r->names (trimmed; empty -> "Unnamed: j") and
 * reject duplicates.  header_line is for messages. */
static ooc_status store_names(ooc_csv_reader *r, char **fields, const uint32_t *lens, size_t n,
                              uint64_t header_line, ooc_error *err)
{
    ooc_status status = OOC_OK;
    name_index *sorted = NULL;
    size_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += (size_t)lens[k] + 32; /* room for "Unnamed: <j>" and the NUL */
    r->names = malloc(n * sizeof *r->names);
    r->names_text = malloc(total);
    r->unescape = malloc(n);
    sorted = malloc(n * sizeof *sorted);
    OOC_FAIL_IF(!r->names || !r->names_text || !r->unescape || !sorted, err, OOC_ERR_NOMEM,
                "out of memory for %zu CSV header names", n);
    char *o = r->names_text;
    for (size_t k = 0; k < n; k++) {
        const char *s = fields[k], *e = fields[k] + lens[k];
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        r->names[k] = o;
        if (s == e) {
            o += snprintf(o, 32, "Unnamed: %zu", k) + 1;
        } else {
            memcpy(o, s, (size_t)(e - s));
            o += e - s;
            *o++ = '\0';
        }
        sorted[k].name = r->names[k];
        sorted[k].col = k;
    }
    r->ncols = n;
    ooc_csv_limit_block_records(r, MAX_BLOCK_FIELDS / n);
    qsort(sorted, n, sizeof *sorted, compare_names);
    size_t dup = n; /* the duplicate with the smallest column number */
    for (size_t k = 1; k < n; k++)
        if (strcmp(sorted[k].name, sorted[k - 1].name) == 0 && (dup == n || sorted[k].col < dup))
            dup = sorted[k].col;
    if (dup < n) {
        size_t first = 0;
        while (strcmp(r->names[first], r->names[dup]) != 0)
            first++;
        char name[80];
        ooc_quote_excerpt(name, sizeof name, r->names[dup], strlen(r->names[dup]));
        status = OOC_FAIL(err, OOC_ERR_CSV,
                          "%s: line %llu, column %zu (%s): duplicate header name: column %zu has it "
                          "too",
                          r->path, (unsigned long long)header_line, dup + 1, name, first + 1);
    }
out:
    free(sorted);
    return status;
}

/* Read the (optional BOM and) header row; the bytes after it become the carry. */
static ooc_status read_header(ooc_csv_reader *r, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_csv_block hdr;
    ooc_csv_block_init(&hdr);
    size_t cap = INITIAL_HEADER_FIELDS;
    unsigned char *unescape = NULL;
    size_t len = 0, nfound = 0;
    scan_pos sp = {.pos = 0, .line = 1};

    OOC_CHECK(block_reserve_text(&hdr, TEXT_PAD, 0, 0, err));
    memset(hdr.text, 0, TEXT_PAD);
    while (len < SNIFF_BYTES && !r->eof)
        OOC_CHECK(refill(r, &hdr, &len, 0, 0, 0, err));
    if (len >= 3 && memcmp(hdr.text, "\xEF\xBB\xBF", 3) == 0)
        sp.pos = 3;
    const char *format = ooc_byte_source_sniff(hdr.text, len);
    OOC_FAIL_IF(format, err, OOC_ERR_CSV,
                "%s: line 1, column 1: this is %s-compressed data, not CSV text: decompress it "
                "first, or give it a name ending in %s (compression is chosen by the name, as "
                "in pandas)",
                r->path, format, ooc_byte_source_extension(format));
    for (;;) {
        OOC_CHECK(block_reserve_records(&hdr, 1, cap, err));
        free(unescape);
        unescape = malloc(cap);
        OOC_FAIL_IF(!unescape, err, OOC_ERR_NOMEM, "out of memory reading the CSV header");
        scan_result res = scan_record(r, hdr.text, len, r->eof, hdr.fields, hdr.field_lens,
                                      unescape, cap, true, &sp, &nfound, err);
        if (res == SCAN_RECORD)
            break;
        if (res == SCAN_ERROR) {
            status = OOC_ERR_CSV;
            goto out;
        }
        OOC_FAIL_IF(res == SCAN_END, err, OOC_ERR_CSV,
                    "%s: line %llu, column 1: no header row: the file is empty", r->path,
                    (unsigned long long)sp.line);
        if (res == SCAN_FULL) {
            OOC_FAIL_IF(cap > SIZE_MAX / 4, err, OOC_ERR_NOMEM, "too many CSV header fields");
            cap *= 2;
        } else {
            OOC_CHECK(refill(r, &hdr, &len, sp.pos, 0, 0, err));
        }
    }
    commit_record(hdr.fields, hdr.field_lens, unescape, nfound);
    OOC_CHECK(store_names(r, hdr.fields, hdr.field_lens, nfound, sp.rec_line, err));

    r->carry_len = len - sp.pos;
    r->carry_cap = r->carry_len ? r->carry_len : 1;
    r->carry = malloc(r->carry_cap);
    OOC_FAIL_IF(!r->carry, err, OOC_ERR_NOMEM, "out of memory reading '%s'", r->path);
    if (r->carry_len)
        memcpy(r->carry, hdr.text + sp.pos, r->carry_len);
    r->line = r->data_line = sp.line;
    r->data_offset = r->offset - r->carry_len;
out:
    free(unescape);
    ooc_csv_block_free(&hdr);
    return status;
}

/* ---- public ----------------------------------------------------------- */

static ooc_status reader_create(const char *name, const ooc_csv_reader_options *opts,
                                ooc_csv_reader **out, ooc_error *err)
{
    *out = NULL;
    char delim = opts && opts->delimiter ? opts->delimiter : ',';
    if (delim == '"' || delim == '\n' || delim == '\r')
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "CSV delimiter cannot be a quote or a line end");
    ooc_csv_reader *r = calloc(1, sizeof *r);
    if (!r)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory opening '%s'", name);
    r->path = strdup(name);
    if (!r->path) {
        free(r);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory opening '%s'", name);
    }
    r->delimiter = delim;
    r->block_records = opts && opts->block_records ? opts->block_records : DEFAULT_BLOCK_RECORDS;
    r->read_bytes = opts && opts->read_bytes ? opts->read_bytes : DEFAULT_READ_BYTES;
    r->stop_unquoted[(unsigned char)delim] = 1;
    r->stop_unquoted['\n'] = r->stop_unquoted['\r'] = r->stop_unquoted['\0'] = 1;
    r->stop_quoted['"'] = 1;
    r->stop_quoted['\n'] = r->stop_quoted['\r'] = r->stop_quoted['\0'] = 1;
    *out = r;
    return OOC_OK;
}

ooc_status ooc_csv_open(const char *path, const ooc_csv_reader_options *opts, ooc_csv_reader **out,
                        ooc_error *err)
{
    ooc_status status;
    ooc_csv_reader *r = NULL;
    *out = NULL;
    OOC_CHECK(reader_create(path, opts, &r, err));
    ooc_byte_source_options bo = {0};
    if (opts) {
        bo.cancel = opts->cancel;
        bo.log = opts->log;
        bo.replay_memory = opts->replay_memory;
    }
    OOC_CHECK(ooc_byte_source_open(path, &bo, &r->src, err));
    r->file_size = ooc_byte_source_size(r->src);
    OOC_CHECK(read_header(r, err));
    *out = r;
    r = NULL;
out:
    ooc_csv_close(r);
    return status;
}

ooc_status ooc_csv_open_memory(const char *name, const void *data, size_t nbytes,
                               const ooc_csv_reader_options *opts, ooc_csv_reader **out,
                               ooc_error *err)
{
    ooc_status status;
    ooc_csv_reader *r = NULL;
    *out = NULL;
    OOC_CHECK(reader_create(name, opts, &r, err));
    OOC_CHECK(ooc_byte_source_open_memory(name, data, nbytes, &r->src, err));
    r->file_size = nbytes;
    OOC_CHECK(read_header(r, err));
    *out = r;
    r = NULL;
out:
    ooc_csv_close(r);
    return status;
}

size_t ooc_csv_ncols(const ooc_csv_reader *r) { return r->ncols; }

const char *ooc_csv_column_name(const ooc_csv_reader *r, size_t j)
{
    return j < r->ncols ? r->names[j] : NULL;
}

const char *ooc_csv_path(const ooc_csv_reader *r) { return r->path; }

uint64_t ooc_csv_bytes_read(const ooc_csv_reader *r)
{
    return r->offset - r->carry_len - r->skipped;
}

uint64_t ooc_csv_file_size(const ooc_csv_reader *r)
{
    return r->file_size ? r->file_size - r->skipped : 0;
}

size_t ooc_csv_block_records(const ooc_csv_reader *r) { return r->block_records; }

void ooc_csv_limit_block_records(ooc_csv_reader *r, size_t max_records)
{
    if (max_records < 1)
        max_records = 1;
    if (r->block_records > max_records)
        r->block_records = max_records;
}

ooc_status ooc_csv_next_block(ooc_csv_reader *r, ooc_csv_block *blk, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t nf = r->ncols;
    size_t len = 0, nrec = 0, nfound = 0;
    scan_pos sp = {.pos = 0, .line = r->line};

    blk->nrecords = 0;
    blk->first_record = r->record_index;
    OOC_FAIL_IF(r->failed, err, OOC_ERR_INVALID_ARG,
                "%s: reading on after an earlier error (rewind first)", r->path);
    r->failed = true; /* until this block is complete */
    OOC_CHECK(block_reserve_records(blk, r->block_records, nf, err));
    blk->nfields = nf;
    OOC_CHECK(block_reserve_text(blk, r->carry_len + TEXT_PAD, 0, 0, err));
    if (r->carry_len)
        memcpy(blk->text, r->carry, r->carry_len);
    len = r->carry_len;
    memset(blk->text + len, 0, TEXT_PAD);
    r->carry_len = 0;

    while (nrec < r->block_records) {
        char **fields = blk->fields + nrec * nf;
        uint32_t *lens = blk->field_lens + nrec * nf;
        scan_result res = scan_record(r, blk->text, len, r->eof, fields, lens, r->unescape, nf,
                                      false, &sp, &nfound, err);
        if (res == SCAN_RECORD) {
            commit_record(fields, lens, r->unescape, nf);
            blk->line_numbers[nrec++] = sp.rec_line;
        } else if (res == SCAN_END) {
            break;
        } else if (res == SCAN_NEED_MORE) {
            OOC_CHECK(refill(r, blk, &len, sp.pos, nrec, nrec * nf, err));
        } else {
            status = OOC_ERR_CSV;
            goto out;
        }
    }

    /* Keep the unscanned rest for the next block. */
    size_t rest = len - sp.pos;
    if (rest > r->carry_cap) {
        char *carry = malloc(rest);
        OOC_FAIL_IF(!carry, err, OOC_ERR_NOMEM, "out of memory reading '%s'", r->path);
        free(r->carry);
        r->carry = carry;
        r->carry_cap = rest;
    }
    if (rest)
        memcpy(r->carry, blk->text + sp.pos, rest);
    r->carry_len = rest;
    r->line = sp.line;
    r->record_index += nrec;
    blk->nrecords = nrec;
    if (nrec)
        r->bytes_per_record = (double)sp.pos / (double)nrec;
    r->failed = false;
out:
    return status;
}

/* The state at the first data record, once the byte source is there. */
static void restart(ooc_csv_reader *r)
{
    r->offset = r->data_offset;
    r->eof = false;
    r->failed = false;
    r->carry_len = 0;
    r->line = r->data_line;
    r->record_index = 0;
}

ooc_status ooc_csv_rewind(ooc_csv_reader *r, ooc_error *err)
{
    ooc_status status = ooc_byte_source_seek_back(r->src, r->data_offset, err);
    if (status == OOC_OK)
        restart(r);
    return status;
}

void ooc_csv_data_start(const ooc_csv_reader *r, uint64_t *offset, uint64_t *line)
{
    *offset = r->data_offset;
    *line = r->data_line;
}

ooc_status ooc_csv_restrict(ooc_csv_reader *r, uint64_t begin, uint64_t end, uint64_t line,
                            bool first_share, ooc_error *err)
{
    if (begin < r->data_offset)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "%s: records asked from byte %llu, before the "
                        "first one (byte %llu)", r->path, (unsigned long long)begin,
                        (unsigned long long)r->data_offset);
    ooc_status status = ooc_byte_source_window(r->src, begin, end, err);
    if (status != OOC_OK)
        return status;
    r->skipped = first_share ? begin - r->data_offset : begin;
    r->data_offset = begin;
    r->data_line = line;
    r->file_size = end;
    restart(r);
    return OOC_OK;
}

void ooc_csv_last_pass(ooc_csv_reader *r) { ooc_byte_source_last_pass(r->src); }

void ooc_csv_close(ooc_csv_reader *r)
{
    if (!r)
        return;
    ooc_byte_source_close(r->src);
    free(r->path);
    free(r->names);
    free(r->names_text);
    free(r->unescape);
    free(r->carry);
    free(r);
}

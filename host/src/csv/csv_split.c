/*
 * csv_split.c — a CSV file cut at record starts into one share per process
 * (csv_split.h).
 *
 * The tokenizer's states between two bytes, as csv.c's scan_record moves
 * between them (d the delimiter, NUL any zero byte inside the text):
 *
 *   RECORD  a record starts here (after a line end; empty lines are skipped)
 *   CR      after a CR that ended a line outside quotes: a record starts here
 *           unless an LF follows (CR LF is one line end)
 *   FIELD   a field starts here (after d)
 *   PLAIN   inside an unquoted field (a '"' there is literal)
 *   QUOTED  inside a quoted field (d, CR and LF are text)
 *   QUOTE   after a '"' inside a quoted field: "" is a quote, else it closed
 *   BROKEN  the tokenizer has failed (NUL byte, text after a closing quote)
 *
 *   from \ byte       '"'     d       LF      CR      NUL     other
 *   RECORD, FIELD     QUOTED  FIELD   RECORD  CR      BROKEN  PLAIN
 *   CR                as RECORD, except LF -> RECORD (the end of CR LF)
 *   PLAIN             PLAIN   FIELD   RECORD  CR      BROKEN  PLAIN
 *   QUOTED            QUOTE   QUOTED  QUOTED  QUOTED  BROKEN  QUOTED
 *   QUOTE             QUOTED  FIELD   RECORD  CR      BROKEN  BROKEN
 *
 * A scan follows all seven starting states at once, as classes of those that
 * have reached the same state (they move together from then on): usually two
 * after the first bytes (in or out of quotes), one once a wrong guess breaks.
 * Lines are counted as the tokenizer counts them: an LF, and a CR not
 * followed by LF (counted here as: a CR, and an LF not preceded by CR, which
 * is the same at every record start, where no CR LF is cut in two).
 */
#include "csv/csv_split.h"

#include "base/error.h"
#include "base/collective.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { RECORD = OOC_CSV_SCAN_RECORD_START, CR, FIELD, PLAIN, QUOTED, QUOTE, BROKEN,
       NSTATES = OOC_CSV_SCAN_STATES };

enum { SCAN_PIECE = 1 << 20 };

#define NONE UINT64_MAX

/* The transitions (the table in the file comment) and whether a record
 * starts before a byte in a state. */
typedef struct scan_tables {
    unsigned char next[NSTATES][256];
    unsigned char starts[NSTATES][256];
    unsigned char special[256]; /* d, '"', LF, CR, NUL: the bytes that move PLAIN or QUOTED */
    char delimiter;
} scan_tables;

static void build_tables(scan_tables *t, char delimiter)
{
    const unsigned char d = (unsigned char)delimiter;
    for (int b = 0; b < 256; b++) {
        unsigned char out; /* RECORD and FIELD: a byte outside quotes at a field start */
        out = b == '"' ? QUOTED : b == d ? FIELD : b == '\n' ? RECORD : b == '\r' ? CR
              : b == 0 ? BROKEN : PLAIN;
        t->next[RECORD][b] = t->next[FIELD][b] = out;
        t->next[CR][b] = b == '\n' ? RECORD : out;
        t->next[PLAIN][b] = b == '"' ? PLAIN : out;
        t->next[QUOTED][b] = b == '"' ? QUOTE : b == 0 ? BROKEN : QUOTED;
        t->next[QUOTE][b] = b == '"' ? QUOTED : (b == d || b == '\n' || b == '\r') ? out : BROKEN;
        t->next[BROKEN][b] = BROKEN;
        for (int s = 0; s < NSTATES; s++)
            t->starts[s][b] = s == RECORD || (s == CR && b != '\n');
        t->special[b] = b == '"' || b == d || b == '\n' || b == '\r' || b == 0;
    }
    t->delimiter = delimiter;
}

/* The first offset in [i, n) of p holding a special byte, or n. */
static size_t next_special(const scan_tables *t, const unsigned char *p, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i delim = _mm_set1_epi8(t->delimiter), quote = _mm_set1_epi8('"');
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'), nul = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i hit = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(x, delim), _mm_cmpeq_epi8(x, quote)),
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, lf), _mm_cmpeq_epi8(x, cr)),
                         _mm_cmpeq_epi8(x, nul)));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
#endif
    while (i < n && !t->special[p[i]])
        i++;
    return i;
}

/* The scan: classes of starting states that are in the same state. */
typedef struct scanner {
    const scan_tables *t;
    ooc_csv_span *out;
    unsigned char state[NSTATES];   /* of each live class */
    unsigned pending[NSTATES];      /* each class's starting states without a record start yet
                                     * (bit s: state s) */
    unsigned members[NSTATES];      /* each class's starting states */
    int nlive;
    uint64_t pos;                   /* offset of the next byte */
    int prev;                       /* the byte before it (-1: none) */
} scanner;

static void scanner_init(scanner *sc, const scan_tables *t, ooc_csv_span *out, uint64_t begin,
                         int prev)
{
    memset(sc, 0, sizeof *sc);
    sc->t = t;
    sc->out = out;
    sc->pos = begin;
    sc->prev = prev;
    for (int s = 0; s < NSTATES; s++) {
        sc->state[s] = (unsigned char)s;
        sc->pending[s] = sc->members[s] = 1u << s;
        out->end_state[s] = BROKEN;
        out->first_record[s] = NONE;
        out->lines_before[s] = 0;
    }
    sc->nlive = NSTATES;
}

/* Remove class k: its members end in `state`. */
static void drop_class(scanner *sc, int k, unsigned char state)
{
    for (int s = 0; s < NSTATES; s++)
        if (sc->members[k] & (1u << s))
            sc->out->end_state[s] = state;
    sc->nlive--;
    sc->state[k] = sc->state[sc->nlive];
    sc->pending[k] = sc->pending[sc->nlive];
    sc->members[k] = sc->members[sc->nlive];
}

/* Classes that have reached the same state become one; broken ones end. */
static void merge_classes(scanner *sc)
{
    for (int k = 0; k < sc->nlive; k++) {
        if (sc->state[k] == BROKEN) {
            drop_class(sc, k--, BROKEN);
            continue;
        }
        for (int j = k + 1; j < sc->nlive; j++)
            if (sc->state[j] == sc->state[k]) {
                sc->pending[k] |= sc->pending[j];
                sc->members[k] |= sc->members[j];
                sc->state[j] = sc->state[sc->nlive - 1];
                sc->pending[j] = sc->pending[sc->nlive - 1];
                sc->members[j] = sc->members[sc->nlive - 1];
                sc->nlive--;
                j--;
            }
    }
}

/* Follow the classes over p[0..n).  After an ordinary (not special) byte
 * every class is PLAIN, QUOTED or BROKEN, which ordinary bytes do not move
 * and where no record starts: the run of ordinary bytes up to the next
 * special one is skipped. */
static void scan_bytes(scanner *sc, const unsigned char *p, size_t n)
{
    const scan_tables *t = sc->t;
    ooc_csv_span *out = sc->out;
    uint64_t lines = out->lines;
    int prev = sc->prev;
    for (size_t i = 0; i < n; i++) {
        const unsigned char b = p[i];
        for (int k = 0; k < sc->nlive; k++) {
            unsigned char st = sc->state[k];
            if (sc->pending[k] && t->starts[st][b]) {
                for (int s = 0; s < NSTATES; s++)
                    if (sc->pending[k] & (1u << s)) {
                        out->first_record[s] = sc->pos + i;
                        out->lines_before[s] = lines;
                    }
                sc->pending[k] = 0;
            }
            sc->state[k] = t->next[st][b];
        }
        lines += b == '\r' || (b == '\n' && prev != '\r');
        prev = b;
        if (sc->nlive > 1 || sc->state[0] == BROKEN)
            merge_classes(sc);
        if (!t->special[b]) {
            size_t j = next_special(t, p, i + 1, n);
            if (j > i + 1) {
                prev = p[j - 1];
                i = j - 1;
            }
        }
    }
    out->lines = lines;
    sc->prev = prev;
    sc->pos += n;
}

static void scanner_end(scanner *sc)
{
    while (sc->nlive > 0)
        drop_class(sc, 0, sc->state[0]);
}

ooc_status ooc_csv_span_scan(ooc_byte_source *src, char delimiter, uint64_t begin, uint64_t end,
                             const volatile int *cancel, ooc_csv_span *out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    unsigned char *buf = NULL;
    scan_tables *t = malloc(sizeof *t);
    buf = malloc(SCAN_PIECE);
    OOC_FAIL_IF(!t || !buf, err, OOC_ERR_NOMEM, "out of memory to split a CSV file");
    build_tables(t, delimiter ? delimiter : ',');
    memset(out, 0, sizeof *out);
    out->begin = begin;
    out->end = end;
    int prev = -1;
    uint64_t from = begin;
    if (begin > 0 && begin < end) { /* the byte before: an LF after a CR is no line end */
        from = begin - 1;
    }
    OOC_CHECK(ooc_byte_source_window(src, from, end, err));
    scanner sc;
    if (from < begin) {
        size_t got = 0;
        OOC_CHECK(ooc_byte_source_read(src, buf, 1, &got, err));
        OOC_FAIL_IF(got != 1, err, OOC_ERR_IO, "the text ends before byte %llu",
                    (unsigned long long)begin);
        prev = buf[0];
    }
    scanner_init(&sc, t, out, begin, prev);
    while (sc.pos < end) {
        OOC_FAIL_IF(cancel && *cancel, err, OOC_ERR_INTERRUPTED,
                    "interrupted while splitting the CSV file");
        size_t got = 0;
        uint64_t left = end - sc.pos;
        OOC_CHECK(ooc_byte_source_read(src, buf, left < SCAN_PIECE ? (size_t)left : SCAN_PIECE,
                                       &got, err));
        OOC_FAIL_IF(got == 0, err, OOC_ERR_IO, "the text ends at byte %llu, before byte %llu",
                    (unsigned long long)sc.pos, (unsigned long long)end);
        scan_bytes(&sc, buf, got);
    }
    scanner_end(&sc);
out:
    free(buf);
    free(t);
    return status;
}

void ooc_csv_shares(const ooc_csv_span *spans, size_t n, uint64_t data_line, ooc_csv_share *out)
{
    unsigned char state = RECORD;
    uint64_t lines = 0; /* line ends before spans[k].begin */
    for (size_t k = 0; k < n; k++) {
        const ooc_csv_span *sp = &spans[k];
        out[k].begin = sp->first_record[state];
        out[k].line = data_line + lines + sp->lines_before[state];
        state = sp->end_state[state];
        lines += sp->lines;
    }
    uint64_t next = n ? spans[n - 1].end : 0, next_line = data_line + lines;
    for (size_t k = n; k-- > 0;) {
        if (out[k].begin == NONE) {
            out[k].begin = next;
            out[k].line = next_line;
        }
        out[k].end = next;
        next = out[k].begin;
        next_line = out[k].line;
    }
}

uint64_t ooc_csv_piece_start(uint64_t data_offset, uint64_t text_end, uint64_t r, uint64_t n)
{
    uint64_t size = text_end - data_offset;
    return data_offset + size / n * r + size % n * r / n;
}

ooc_status ooc_csv_split(const char *path, char delimiter, uint64_t data_offset,
                         uint64_t data_line, uint64_t text_end, const ooc_collective *c,
                         const volatile int *cancel, ooc_csv_share *mine, ooc_error *err)
{
    ooc_status status = OOC_OK, local;
    ooc_byte_source *src = NULL;
    void *all = NULL;
    size_t *sizes = NULL;
    ooc_csv_share *shares = NULL;
    const uint64_t n = ooc_coll_active(c) ? (uint64_t)c->size : 1;
    const uint64_t r = ooc_coll_active(c) ? (uint64_t)c->rank : 0;
    ooc_csv_span span;
    local = ooc_byte_source_open(path, NULL, &src, err);
    if (local == OOC_OK)
        local = ooc_csv_span_scan(src, delimiter, ooc_csv_piece_start(data_offset, text_end, r, n),
                                  ooc_csv_piece_start(data_offset, text_end, r + 1, n), cancel,
                                  &span, err);
    OOC_CHECK(ooc_coll_gather(c, local, &span, sizeof span, &all, &sizes, err));
    size_t nbytes = (size_t)n * sizeof *shares;
    if (r == 0) {
        shares = malloc(nbytes);
        local = shares ? OOC_OK : OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        if (local == OOC_OK)
            ooc_csv_shares(all, (size_t)n, data_line, shares);
    }
    void *bytes = shares;
    status = ooc_coll_broadcast_bytes(c, local, &bytes, &nbytes, err);
    shares = bytes;
    OOC_CHECK(status);
    OOC_FAIL_IF(nbytes != (size_t)n * sizeof *shares, err, OOC_ERR_INTERNAL,
                "%zu bytes of shares for %llu processes", nbytes, (unsigned long long)n);
    *mine = shares[r];
out:
    ooc_byte_source_close(src);
    free(all);
    free(sizes);
    free(shares);
    return status;
}

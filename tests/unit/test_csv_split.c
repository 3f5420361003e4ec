/*
 * test_csv_split.c — a CSV cut into shares (csv/csv_split.h) reads as the
 * whole file does.
 *
 * Random files made of what the tokenizer treats specially — quoted fields
 * holding delimiters, doubled quotes, LF, CR and CR LF; a '"' inside an
 * unquoted field (literal, so quote parity says nothing); LF, CR LF and lone
 * CR line ends; empty lines; a last record with or without a line end — and,
 * in some, one defect the tokenizer rejects (a NUL byte, text after a closing
 * quote, a ragged row, a quote left open at the end).  Each file is read
 * whole (the oracle: csv.c itself), then cut into n = 1..7 pieces (equal
 * ones, as the ingest cuts, and random ones, pieces of a few bytes
 * included), each piece scanned, the shares derived, and each share read by
 * its own reader restricted to it.  The shares' records, in order, must be
 * the file's records with the same fields and physical lines; with a defect,
 * the first share to fail must fail with the whole file's message, and no
 * share before it may fail.  Also the equal pieces' bounds.
 */
#include "csv/csv.h"
#include "csv/csv_split.h"
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { NFIELDS = 3, MAX_PIECES = 7 };

/* A growable byte string. */
typedef struct text {
    char *data;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = 2 * (t->len + n + 1);
        t->data = realloc(t->data, t->cap);
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

static uint64_t rng_state = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static const char *line_end(void)
{
    static const char *const ends[] = {"\n", "\r\n", "\r"};
    return ends[rnd(3)];
}

/* One field as the file holds it. */
static void put_field(text *t)
{
    static const char *const plain[] = {"", "1.5", "abc", "x y", "-7", "5\"", "a\"b\"c"};
    static const char *const quoted[] = {"\"\"", "\"a,b\"", "\"say \"\"hi\"\"\"", "\"l1\nl2\"",
                                         "\"r1\r\nr2\"", "\"c1\rc2\"", "\",\n,\"",
                                         "\"\"\"\"", "\"x\"\"\n\"\"y\""};
    if (rnd(3) == 0)
        puts_(t, quoted[rnd(sizeof quoted / sizeof quoted[0])]);
    else
        puts_(t, plain[rnd(sizeof plain / sizeof plain[0])]);
}

/* A random file; `defect` 0: none, else one of the four the tokenizer rejects. */
static void make_file(text *t, int nrecords, int defect)
{
    t->len = 0;
    puts_(t, "a,b,c");
    puts_(t, line_end());
    int bad = defect ? (int)rnd((unsigned)nrecords) : -1;
    for (int r = 0; r < nrecords; r++) {
        while (rnd(8) == 0)
            puts_(t, line_end()); /* empty lines */
        for (int f = 0; f < NFIELDS; f++) {
            if (f)
                puts_(t, ",");
            if (r == bad && f == 1 && defect == 1) {
                put(t, "x\0y", 3);
            } else if (r == bad && f == 1 && defect == 2) {
                puts_(t, "\"ab\"cd");
            } else if (r == bad && f == NFIELDS - 1 && defect == 4) {
                puts_(t, "\"open, and never closed\nat all");
                return; /* the quote stays open to the end */
            } else {
                put_field(t);
            }
        }
        if (r == bad && defect == 3)
            puts_(t, ",extra");
        if (r < nrecords - 1 || rnd(2))
            puts_(t, line_end());
    }
}

/* Records as one string each: the line, then the fields, separated by '|'. */
typedef struct records {
    text all;          /* every record, each ending in '\n' */
    size_t n;
    ooc_status status; /* of the read that stopped it */
    char message[sizeof ((ooc_error *)0)->message];
} records;

/* Read every record of reader r into out (appending). */
static void read_all(ooc_csv_reader *r, records *out)
{
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    ooc_error err = {0};
    for (;;) {
        out->status = ooc_csv_next_block(r, &blk, &err);
        if (out->status != OOC_OK) {
            snprintf(out->message, sizeof out->message, "%s", err.message);
            break;
        }
        if (blk.nrecords == 0)
            break;
        for (size_t i = 0; i < blk.nrecords; i++) {
            char line[32];
            snprintf(line, sizeof line, "%llu", (unsigned long long)blk.line_numbers[i]);
            puts_(&out->all, line);
            for (size_t f = 0; f < blk.nfields; f++) {
                puts_(&out->all, "|");
                put(&out->all, blk.fields[i * blk.nfields + f],
                    blk.field_lens[i * blk.nfields + f]);
            }
            puts_(&out->all, "\n");
            out->n++;
        }
    }
    ooc_csv_block_free(&blk);
}

static ooc_csv_reader *open_text(const text *t)
{
    ooc_csv_reader_options ro = {.block_records = 1 + rnd(5), .read_bytes = 1 + rnd(40)};
    ooc_csv_reader *r = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_csv_open_memory("t.csv", t->data, t->len, &ro, &r, &err) == OOC_OK, "%s",
              err.message);
    return r;
}

/* Split t at cuts[0..n] (cuts[0] the first record, cuts[n] the end) and
 * compare the shares' records with `whole`. */
static void check_split(const text *t, const records *whole, const uint64_t *cuts, size_t n,
                        uint64_t data_line)
{
    ooc_csv_span spans[MAX_PIECES];
    ooc_csv_share shares[MAX_PIECES];
    ooc_error err = {0};
    for (size_t k = 0; k < n; k++) {
        ooc_byte_source *src = NULL;
        CHECK(ooc_byte_source_open_memory("t.csv", t->data, t->len, &src, &err) == OOC_OK);
        CHECK_MSG(ooc_csv_span_scan(src, ',', cuts[k], cuts[k + 1], NULL, &spans[k], &err) ==
                      OOC_OK,
                  "%s", err.message);
        ooc_byte_source_close(src);
    }
    ooc_csv_shares(spans, n, data_line, shares);
    records got = {0};
    uint64_t bytes = 0; /* read by the shares' readers: the file's, as one reader reads it */
    for (size_t k = 0; k < n; k++) {
        CHECK(shares[k].begin <= shares[k].end && shares[k].end <= t->len);
        CHECK(k == 0 || shares[k].begin == shares[k - 1].end);
        ooc_csv_reader *r = open_text(t);
        if (!r)
            break;
        CHECK_MSG(ooc_csv_restrict(r, shares[k].begin, shares[k].end, shares[k].line, k == 0,
                                   &err) == OOC_OK,
                  "%s", err.message);
        read_all(r, &got);
        bytes += ooc_csv_bytes_read(r);
        ooc_csv_close(r);
        if (got.status != OOC_OK)
            break; /* the first failing share */
    }
    CHECK(shares[0].begin == cuts[0] && shares[n - 1].end == t->len);
    CHECK_MSG(got.status == whole->status, "split into %zu: status %d, whole %d (%s)", n,
              got.status, whole->status, got.message);
    if (whole->status != OOC_OK)
        CHECK_MSG(strcmp(got.message, whole->message) == 0, "split into %zu:\n  %s\nwhole:\n  %s",
                  n, got.message, whole->message);
    else
        CHECK_MSG(got.n == whole->n && got.all.len == whole->all.len &&
                      memcmp(got.all.data, whole->all.data, got.all.len) == 0 && bytes == t->len,
                  "split into %zu: %zu records, whole %zu; %llu bytes of %zu", n, got.n, whole->n,
                  (unsigned long long)bytes, t->len);
    free(got.all.data);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_random_files(void)
{
    text t = {0};
    for (int file = 0; file < 3000; file++) {
        int defect = file % 5 == 4 ? 1 + (file / 5) % 4 : 0;
        make_file(&t, 1 + (int)rnd(40), defect);
        ooc_csv_reader *r = open_text(&t);
        if (!r)
            continue;
        uint64_t data_offset, data_line;
        ooc_csv_data_start(r, &data_offset, &data_line);
        records whole = {0};
        read_all(r, &whole);
        ooc_csv_close(r);
        CHECK_MSG((whole.status != OOC_OK) == (defect != 0), "file %d, defect %d: status %d",
                  file, defect, whole.status);
        uint64_t cuts[MAX_PIECES + 1];
        for (size_t n = 1; n <= MAX_PIECES; n++) {
            for (size_t k = 0; k <= n; k++)
                cuts[k] = ooc_csv_piece_start(data_offset, t.len, k, n);
            check_split(&t, &whole, cuts, n, data_line);
            cuts[0] = data_offset;
            cuts[n] = t.len;
            for (size_t k = 1; k < n; k++)
                cuts[k] = data_offset + rnd((unsigned)(t.len - data_offset + 1));
            qsort(cuts + 1, n - 1, sizeof cuts[0], cmp_u64);
            check_split(&t, &whole, cuts, n, data_line);
        }
        free(whole.all.data);
    }
    free(t.data);
}

/* Equal pieces: consecutive, from the first record to the end, sizes within
 * one byte of each other, also for sizes that overflow size * r. */
static void test_pieces(void)
{
    const uint64_t sizes[] = {0, 1, 5, 1000, UINT64_MAX / 3};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (uint64_t n = 1; n <= 9; n++) {
            uint64_t lo = UINT64_MAX, hi = 0;
            CHECK(ooc_csv_piece_start(10, 10 + sizes[i], 0, n) == 10);
            CHECK(ooc_csv_piece_start(10, 10 + sizes[i], n, n) == 10 + sizes[i]);
            for (uint64_t r = 0; r < n; r++) {
                uint64_t len = ooc_csv_piece_start(10, 10 + sizes[i], r + 1, n) -
                               ooc_csv_piece_start(10, 10 + sizes[i], r, n);
                lo = len < lo ? len : lo;
                hi = len > hi ? len : hi;
            }
            CHECK_MSG(hi - lo <= 1, "size %llu, %llu pieces: %llu..%llu",
                      (unsigned long long)sizes[i], (unsigned long long)n,
                      (unsigned long long)lo, (unsigned long long)hi);
        }
}

int main(void)
{
    test_pieces();
    test_random_files();
    return TEST_EXIT();
}

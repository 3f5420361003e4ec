/*
 * test_csv.c — the CSV tokenizer on small files written to a temporary
 * directory.  Every accepting case is tokenized with block_records 1, 2, 3
 * and the default, and with read pieces of 1, 2, 3, 5, 7, 64 bytes and the
 * default, so block and piece boundaries fall everywhere (inside quoted
 * fields, between CR and LF, inside the BOM); all combinations must give the
 * same tokens and line numbers.  Every error case checks the status and that
 * the message names the file, line, column (number and header name) and
 * quotes the text.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "csv/csv.h"
#include "base/error.h"
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];
static int file_counter = 0;

/* Write bytes to a fresh file in tmpdir; returns its path (static storage, reused). */
static const char *write_file(const char *content, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/case%03d.csv", tmpdir, file_counter++);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(content, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    return path;
}

/* Growable string for token dumps. */
typedef struct dump {
    char *s;
    size_t len, cap;
} dump;

static void dump_bytes(dump *d, const char *s, size_t n)
{
    if (d->len + n + 1 > d->cap) {
        d->cap = (d->len + n + 1) * 2;
        d->s = realloc(d->s, d->cap);
        if (!d->s)
            exit(2);
    }
    memcpy(d->s + d->len, s, n);
    d->len += n;
    d->s[d->len] = '\0';
}

/* A field, with '|', '\\', CR and LF escaped so a dump line is one record. */
static void dump_field(dump *d, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            dump_bytes(d, "\\n", 2);
        else if (s[i] == '\r')
            dump_bytes(d, "\\r", 2);
        else if (s[i] == '|' || s[i] == '\\') {
            dump_bytes(d, "\\", 1);
            dump_bytes(d, s + i, 1);
        } else
            dump_bytes(d, s + i, 1);
    }
}

/* Tokenize a whole reader into "H:name|name\n" + "<line>:f|f\n" per record,
 * checking the block invariants on the way.  Returns the status. */
static ooc_status dump_reader(ooc_csv_reader *r, size_t block_records, dump *d, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    dump_bytes(d, "H:", 2);
    for (size_t j = 0; j < ooc_csv_ncols(r); j++) {
        if (j)
            dump_bytes(d, "|", 1);
        dump_field(d, ooc_csv_column_name(r, j), strlen(ooc_csv_column_name(r, j)));
    }
    dump_bytes(d, "\n", 1);
    uint64_t expected_first = 0;
    for (;;) {
        status = ooc_csv_next_block(r, &blk, err);
        if (status != OOC_OK || blk.nrecords == 0)
            break;
        CHECK(blk.first_record == expected_first);
        CHECK(blk.nfields == ooc_csv_ncols(r));
        CHECK(block_records == 0 || blk.nrecords <= block_records);
        expected_first += blk.nrecords;
        for (size_t i = 0; i < blk.nrecords; i++) {
            char num[32];
            int n = snprintf(num, sizeof num, "%llu:", (unsigned long long)blk.line_numbers[i]);
            dump_bytes(d, num, (size_t)n);
            for (size_t j = 0; j < blk.nfields; j++) {
                const char *f = blk.fields[i * blk.nfields + j];
                size_t len = blk.field_lens[i * blk.nfields + j];
                CHECK(f[len] == '\0');
                CHECK(strlen(f) == len);
                if (j)
                    dump_bytes(d, "|", 1);
                dump_field(d, f, len);
            }
            dump_bytes(d, "\n", 1);
        }
    }
    ooc_csv_block_free(&blk);
    return status;
}

static const size_t block_sizes[] = {0, 1, 2, 3};
static const size_t read_sizes[] = {0, 1, 2, 3, 5, 7, 64};
enum { NBLOCK = sizeof block_sizes / sizeof block_sizes[0], NREAD = sizeof read_sizes / sizeof read_sizes[0] };

/* Tokenize `content` (from a file and from memory) in every block/read size
 * and compare with `expected`. */
static void expect_tokens_n(const char *content, size_t n, char delim, const char *expected)
{
    const char *path = write_file(content, n);
    for (size_t b = 0; b < NBLOCK; b++) {
        for (size_t k = 0; k < NREAD; k++) {
            for (int from_memory = 0; from_memory < 2; from_memory++) {
                ooc_csv_reader_options opts = {.delimiter = delim,
                                               .block_records = block_sizes[b],
                                               .read_bytes = read_sizes[k]};
                ooc_error err = {0};
                ooc_csv_reader *r = NULL;
                ooc_status st = from_memory
                                    ? ooc_csv_open_memory("mem.csv", content, n, &opts, &r, &err)
                                    : ooc_csv_open(path, &opts, &r, &err);
                dump d = {0};
                if (st == OOC_OK)
                    st = dump_reader(r, block_sizes[b], &d, &err);
                CHECK_MSG(st == OOC_OK, "block %zu read %zu memory %d: %s", block_sizes[b],
                          read_sizes[k], from_memory, err.message);
                if (st == OOC_OK) {
                    CHECK_MSG(strcmp(d.s, expected) == 0,
                              "block %zu read %zu memory %d:\n--- got\n%s--- expected\n%s",
                              block_sizes[b], read_sizes[k], from_memory, d.s, expected);
                    CHECK(ooc_csv_bytes_read(r) == n);
                    CHECK(ooc_csv_file_size(r) == n);
                }
                free(d.s);
                ooc_csv_close(r);
            }
        }
    }
}

static void expect_tokens(const char *content, char delim, const char *expected)
{
    expect_tokens_n(content, strlen(content), delim, expected);
}

/* Tokenize in every block/read size; each must fail with `code` and a
 * message containing every string of `parts` (NULL-terminated) and the path. */
static void expect_error_n(const char *content, size_t n, char delim, ooc_status code,
                           const char *const *parts)
{
    const char *path = write_file(content, n);
    for (size_t b = 0; b < NBLOCK; b++) {
        for (size_t k = 0; k < NREAD; k++) {
            ooc_csv_reader_options opts = {.delimiter = delim,
                                           .block_records = block_sizes[b],
                                           .read_bytes = read_sizes[k]};
            ooc_error err = {0};
            ooc_csv_reader *r = NULL;
            ooc_status st = ooc_csv_open(path, &opts, &r, &err);
            dump d = {0};
            if (st == OOC_OK)
                st = dump_reader(r, block_sizes[b], &d, &err);
            CHECK_MSG(st == code, "block %zu read %zu: status %d, expected %d (%s)",
                      block_sizes[b], read_sizes[k], (int)st, (int)code, err.message);
            CHECK_MSG(err.status == code, "err.status %d", (int)err.status);
            CHECK_MSG(strstr(err.message, path) != NULL, "message lacks the path: %s", err.message);
            for (const char *const *p = parts; *p; p++)
                CHECK_MSG(strstr(err.message, *p) != NULL, "message lacks '%s': %s", *p,
                          err.message);
            if (b == 0 && k == 0)
                printf("  expected error: %s\n", err.message);
            free(d.s);
            ooc_csv_close(r);
        }
    }
}

#define EXPECT_ERROR(content, delim, code, ...)                                                    \
    do {                                                                                           \
        static const char *const parts_[] = {__VA_ARGS__, NULL};                                   \
        expect_error_n((content), sizeof(content) - 1, (delim), (code), parts_);                   \
    } while (0)

static void test_basic_tokens(void)
{
    expect_tokens("a,b,c\n1,2,3\n4,5,6\n", ',', "H:a|b|c\n2:1|2|3\n3:4|5|6\n");
    /* No line end after the last record; header only; header without line end. */
    expect_tokens("a,b\n1,2\n3,4", ',', "H:a|b\n2:1|2\n3:3|4\n");
    expect_tokens("a,b\n", ',', "H:a|b\n");
    expect_tokens("a,b", ',', "H:a|b\n");
    /* CRLF, and lone CR as pandas treats it. */
    expect_tokens("a,b\r\n1,2\r\n3,4\r\n", ',', "H:a|b\n2:1|2\n3:3|4\n");
    expect_tokens("a,b\r1,2\r3,4", ',', "H:a|b\n2:1|2\n3:3|4\n");
    expect_tokens("a,b\r\n1,2\r\n3,4", ',', "H:a|b\n2:1|2\n3:3|4\n");
    /* Empty lines (LF, CRLF, before the header, at the end) are skipped but counted. */
    expect_tokens("\n\na,b\n\n1,2\n\r\n\n3,4\n\n\n", ',', "H:a|b\n5:1|2\n8:3|4\n");
    /* Empty fields, trailing delimiter, spaces kept in fields but trimmed from names. */
    expect_tokens("a,b,c\n,,\n1,,\n", ',', "H:a|b|c\n2:||\n3:1||\n");
    expect_tokens(" a ,\tb\t\n 1 , 2 \n", ',', "H:a|b\n2: 1 | 2 \n");
    /* Single column: blank lines are skipped, not empty records. */
    expect_tokens("y\n1\n\n2\n", ',', "H:y\n2:1\n4:2\n");
    /* Empty header names become "Unnamed: j" (pandas' index column). */
    expect_tokens(",a,\n0,1,2\n", ',', "H:Unnamed: 0|a|Unnamed: 2\n2:0|1|2\n");
    /* A quote inside an unquoted field is literal. */
    expect_tokens("a,b\nx\"y,2\n", ',', "H:a|b\n2:x\"y|2\n");
}

static void test_quoting(void)
{
    expect_tokens("a,b\n\"1,5\",2\n", ',', "H:a|b\n2:1,5|2\n");
    expect_tokens("a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n", ',', "H:a|b\n2:say \"hi\"|\"\n");
    expect_tokens("a,b\n\"\",\"\"\n", ',', "H:a|b\n2:|\n");
    /* Newlines inside quotes: the next record's line number counts them. */
    expect_tokens("a,b\n\"x\ny\nz\",1\n2,3\n", ',', "H:a|b\n2:x\\ny\\nz|1\n5:2|3\n");
    expect_tokens("a,b\r\n\"x\r\ny\",1\r\n2,3\r\n", ',', "H:a|b\n2:x\\r\\ny|1\n4:2|3\n");
    expect_tokens("a,b\r\"x\ry\",1\r2,3", ',', "H:a|b\n2:x\\ry|1\n4:2|3\n");
    /* Quoted last field without a line end; quoted header with a doubled quote and a comma. */
    expect_tokens("a,b\n1,\"2\"", ',', "H:a|b\n2:1|2\n");
    expect_tokens("\"x\"\"y\",\"p,q\"\n1,2\n", ',', "H:x\"y|p,q\n2:1|2\n");
    /* A header spanning lines moves the first data line. */
    expect_tokens("\"a\nb\",c\n1,2\n", ',', "H:a\\nb|c\n3:1|2\n");
}

static void test_delimiters_and_bom(void)
{
    expect_tokens("a;b\n1,5;2\n\"x;y\";3\n", ';', "H:a|b\n2:1,5|2\n3:x;y|3\n");
    expect_tokens("a\tb\n1\t2\n\t\n", '\t', "H:a|b\n2:1|2\n3:|\n");
    expect_tokens("\xEF\xBB\xBF" "a,b\n1,2\n", ',', "H:a|b\n2:1|2\n");
    expect_tokens("\xEF\xBB\xBF" "\"a\",b\n1,2\n", ',', "H:a|b\n2:1|2\n");
    /* A BOM elsewhere is data. */
    expect_tokens("a,b\n\xEF\xBB\xBF" "1,2\n", ',', "H:a|b\n2:\xEF\xBB\xBF" "1|2\n");
}

/* Many records with quotes, embedded newlines and CRLF at random places:
 * checked against the generator's own record of the fields and lines. */
static void test_generated_file(void)
{
    dump content = {0}, expected = {0};
    uint64_t state = 12345;
    uint64_t line = 1;
    dump_bytes(&content, "id,text,x\r\n", 11);
    dump_bytes(&expected, "H:id|text|x\n", 12);
    line++;
    for (int i = 0; i < 3000; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        unsigned kind = (unsigned)(state >> 33) % 5;
        char id[32], x[32];
        snprintf(id, sizeof id, "%d", i);
        snprintf(x, sizeof x, "%.17g", (double)(state >> 11) * 0x1p-53);
        char num[32];
        snprintf(num, sizeof num, "%llu:", (unsigned long long)line);
        dump_bytes(&expected, num, strlen(num));
        dump_field(&expected, id, strlen(id));
        dump_bytes(&expected, "|", 1);
        dump_bytes(&content, id, strlen(id));
        dump_bytes(&content, ",", 1);
        if (kind == 0) {
            dump_bytes(&content, "plain", 5);
            dump_bytes(&expected, "plain", 5);
        } else if (kind == 1) {
            dump_bytes(&content, "\"multi\nline, \"\"quoted\"\"\"", 24);
            dump_bytes(&expected, "multi\\nline, \"quoted\"", 21);
            line++;
        } else if (kind == 2) {
            dump_bytes(&content, "\"\"", 2);
        } else if (kind == 3) {
            dump_bytes(&content, "\"a,b\"", 5);
            dump_bytes(&expected, "a,b", 3);
        }
        dump_bytes(&expected, "|", 1);
        dump_bytes(&content, ",", 1);
        dump_bytes(&content, x, strlen(x));
        dump_bytes(&expected, x, strlen(x));
        dump_bytes(&expected, "\n", 1);
        dump_bytes(&content, kind == 4 ? "\r\n\n" : "\n", kind == 4 ? 3 : 1);
        line += kind == 4 ? 2 : 1;
    }
    expect_tokens_n(content.s, content.len, ',', expected.s);
    free(content.s);
    free(expected.s);
}

/* A 9 MiB quoted field with line ends inside: longer than the default read
 * piece, so the buffer grows while one record is scanned. */
static void test_long_record(void)
{
    const size_t field_len = (9u << 20) + 3;
    dump content = {0};
    dump_bytes(&content, "a,b\n1,\"", 7);
    size_t start = content.len;
    for (size_t i = 0; i < field_len; i++)
        dump_bytes(&content, i % 1000 == 999 ? "\n" : "x", 1);
    dump_bytes(&content, "\"\n2,3\n", 6);
    const char *path = write_file(content.s, content.len);
    ooc_csv_reader *r = NULL;
    ooc_error err = {0};
    CHECK(ooc_csv_open(path, NULL, &r, &err) == OOC_OK);
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    CHECK_MSG(r && ooc_csv_next_block(r, &blk, &err) == OOC_OK, "%s", err.message);
    CHECK(blk.nrecords == 2);
    if (blk.nrecords == 2) {
        CHECK(blk.field_lens[1] == field_len);
        CHECK(memcmp(blk.fields[1], content.s + start, field_len) == 0);
        CHECK(blk.line_numbers[0] == 2);
        CHECK(blk.line_numbers[1] == 3 + field_len / 1000);
        CHECK_STREQ(blk.fields[3], "3");
    }
    ooc_csv_block_free(&blk);
    ooc_csv_close(r);
    free(content.s);
}

static void test_rewind(void)
{
    const char content[] = "\xEF\xBB\xBFh1,h2\n1,2\n\"3\n\",4\n5,6";
    const char *path = write_file(content, sizeof content - 1);
    ooc_csv_reader_options opts = {.block_records = 2, .read_bytes = 3};
    ooc_csv_reader *r = NULL;
    ooc_error err = {0};
    CHECK(ooc_csv_open(path, &opts, &r, &err) == OOC_OK);
    if (!r)
        return;
    CHECK_STREQ(ooc_csv_path(r), path);
    CHECK(ooc_csv_ncols(r) == 2);
    CHECK(ooc_csv_column_name(r, 2) == NULL);
    CHECK(ooc_csv_bytes_read(r) == 9); /* BOM + "h1,h2\n" */
    dump first = {0}, second = {0};
    CHECK(dump_reader(r, 2, &first, &err) == OOC_OK);
    CHECK(ooc_csv_bytes_read(r) == sizeof content - 1);
    CHECK(ooc_csv_rewind(r, &err) == OOC_OK);
    CHECK(ooc_csv_bytes_read(r) == 9);
    CHECK(dump_reader(r, 2, &second, &err) == OOC_OK);
    CHECK_STREQ(first.s, "H:h1|h2\n2:1|2\n3:3\\n|4\n5:5|6\n");
    CHECK_STREQ(first.s, second.s);
    /* Rewind in the middle, and after an error the reader refuses until rewound. */
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    CHECK(ooc_csv_rewind(r, &err) == OOC_OK);
    CHECK(ooc_csv_next_block(r, &blk, &err) == OOC_OK && blk.nrecords == 2);
    CHECK(ooc_csv_rewind(r, &err) == OOC_OK);
    CHECK(ooc_csv_next_block(r, &blk, &err) == OOC_OK && blk.nrecords == 2);
    CHECK(blk.first_record == 0 && blk.line_numbers[0] == 2);
    CHECK_STREQ(blk.fields[0], "1");
    ooc_csv_block_free(&blk);
    ooc_csv_block_free(&blk); /* freeing twice (re-initialised) is harmless */
    ooc_csv_close(r);
    ooc_csv_close(NULL);
    free(first.s);
    free(second.s);

    /* Error then rewind. */
    const char bad[] = "a,b\n1,2\n3\n4,5\n";
    path = write_file(bad, sizeof bad - 1);
    opts.block_records = 1;
    CHECK(ooc_csv_open(path, &opts, &r, &err) == OOC_OK);
    ooc_csv_block_init(&blk);
    CHECK(ooc_csv_next_block(r, &blk, &err) == OOC_OK && blk.nrecords == 1);
    CHECK(ooc_csv_next_block(r, &blk, &err) == OOC_ERR_CSV && blk.nrecords == 0);
    ooc_error err2 = {0};
    CHECK(ooc_csv_next_block(r, &blk, &err2) == OOC_ERR_INVALID_ARG);
    CHECK(ooc_csv_rewind(r, &err2) == OOC_OK);
    CHECK(ooc_csv_next_block(r, &blk, &err2) == OOC_OK && blk.nrecords == 1);
    CHECK_STREQ(blk.fields[1], "2");
    ooc_csv_block_free(&blk);
    ooc_csv_close(r);
}

static void test_errors(void)
{
    EXPECT_ERROR("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n", ',', OOC_ERR_CSV, "line 3",
                 "column 4 (beyond the 3 header columns)", "expected 3 fields, found 4",
                 "\"4,5,6,7\"");
    EXPECT_ERROR("a,b,c\n1,2,3\n\n4,5\n", ',', OOC_ERR_CSV, "line 4", "column 3 (\"c\")",
                 "expected 3 fields, found 2", "\"4,5\"");
    EXPECT_ERROR("a,b\n1,2\n\"x\ny\",2,3\n", ',', OOC_ERR_CSV, "line 3",
                 "expected 2 fields, found 3", "column 3");
    EXPECT_ERROR("a,b\n1,\"abc\n\ndef\n", ',', OOC_ERR_CSV, "line 2", "column 2 (\"b\")",
                 "unterminated quote", "\"\\\"abc");
    EXPECT_ERROR("a,b\n1,2\n3,\"x\"y\n", ',', OOC_ERR_CSV, "line 3", "column 2 (\"b\")",
                 "after the closing quote", "\"\\\"x\\\"y\"");
    /* Regression (fuzz_csv): the excerpt must not depend on where a read ends. */
    EXPECT_ERROR("a,b\n\"x\"yz;w\n", ',', OOC_ERR_CSV, "line 2", "\"\\\"x\\\"yz;w\"");
    EXPECT_ERROR("a,b\n\"x\" ,2\n", ',', OOC_ERR_CSV, "line 2", "column 1 (\"a\")",
                 "after the closing quote");
    EXPECT_ERROR("", ',', OOC_ERR_CSV, "line 1", "column 1", "no header row");
    EXPECT_ERROR("\n\r\n\n", ',', OOC_ERR_CSV, "line 4", "no header row");
    EXPECT_ERROR("a,b,a\n1,2,3\n", ',', OOC_ERR_CSV, "line 1", "column 3 (\"a\")",
                 "duplicate header name", "column 1");
    EXPECT_ERROR("x, a ,y,a\n", ',', OOC_ERR_CSV, "column 4 (\"a\")", "column 2 has it too");
    EXPECT_ERROR("a,\"b\nc\n", ',', OOC_ERR_CSV, "line 1", "column 2 of the header",
                 "unterminated quote");
    EXPECT_ERROR("a,b\n1,2\0x\n", ',', OOC_ERR_CSV, "line 2", "column 2 (\"b\")", "NUL byte");
    EXPECT_ERROR("a;b\n1;2;3\n", ';', OOC_ERR_CSV, "line 2", "expected 2 fields, found 3",
                 "\"1;2;3\"");

    /* I/O errors. */
    ooc_error err = {0};
    ooc_csv_reader *r = (ooc_csv_reader *)&err; /* must be reset to NULL on failure */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such-file.csv", tmpdir);
    CHECK(ooc_csv_open(missing, NULL, &r, &err) == OOC_ERR_IO && r == NULL);
    CHECK_MSG(strstr(err.message, missing) && strstr(err.message, "No such file"), "%s",
              err.message);
    ooc_error_clear(&err);
    CHECK(ooc_csv_open(tmpdir, NULL, &r, &err) == OOC_ERR_IO && r == NULL);
    CHECK_MSG(strstr(err.message, tmpdir) && strstr(err.message, "directory"), "%s", err.message);
    ooc_error_clear(&err);
    ooc_csv_reader_options opts = {.delimiter = '"'};
    CHECK(ooc_csv_open_memory("m", "a\n", 2, &opts, &r, &err) == OOC_ERR_INVALID_ARG);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ooc_test_csv_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_basic_tokens();
    test_quoting();
    test_delimiters_and_bom();
    test_generated_file();
    test_long_record();
    test_rewind();
    test_errors();
    /* Clean up the temporary files. */
    for (int i = 0; i < file_counter; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/case%03d.csv", tmpdir, i);
        unlink(path);
    }
    rmdir(tmpdir);
    return TEST_EXIT();
}

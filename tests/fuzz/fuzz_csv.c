/*
 * fuzz_csv.c — libFuzzer target for the CSV tokenizer.
 *
 * Input: byte 0 picks the options (delimiter, records per block, read piece
 * size); the rest is the CSV text, read from memory.  The text is tokenized
 * twice — with the picked options and with the whole text in one piece and
 * one block — and both runs must agree exactly: same status, same
 * error message, same fields and line numbers.  Every field must be
 * NUL-terminated at its length and lie inside its block's text.  A
 * disagreement calls __builtin_trap().
 */
#include "csv/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Result of one tokenization: a hash of everything produced, and the outcome. */
typedef struct run_result {
    uint64_t hash;
    uint64_t nrecords;
    ooc_status status;
    ooc_error err;
} run_result;

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001B3u; /* FNV-1a */
    return h;
}

static void tokenize(const uint8_t *text, size_t n, const ooc_csv_reader_options *opts,
                     run_result *res)
{
    memset(res, 0, sizeof *res);
    res->hash = 0xCBF29CE484222325u;
    ooc_csv_reader *r = NULL;
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    res->status = ooc_csv_open_memory("fuzz.csv", text, n, opts, &r, &res->err);
    if (res->status != OOC_OK)
        goto out;
    for (size_t j = 0; j < ooc_csv_ncols(r); j++) {
        const char *name = ooc_csv_column_name(r, j);
        res->hash = hash_bytes(res->hash, name, strlen(name) + 1);
    }
    for (;;) {
        res->status = ooc_csv_next_block(r, &blk, &res->err);
        if (res->status != OOC_OK || blk.nrecords == 0)
            break;
        if (blk.first_record != res->nrecords || blk.nfields != ooc_csv_ncols(r))
            __builtin_trap();
        for (size_t i = 0; i < blk.nrecords; i++) {
            res->hash = hash_bytes(res->hash, &blk.line_numbers[i], sizeof blk.line_numbers[i]);
            for (size_t j = 0; j < blk.nfields; j++) {
                const char *f = blk.fields[i * blk.nfields + j];
                size_t len = blk.field_lens[i * blk.nfields + j];
                if (f < blk.text || f + len >= blk.text + blk.text_cap || f[len] != '\0' ||
                    memchr(f, '\0', len) != NULL)
                    __builtin_trap();
                res->hash = hash_bytes(res->hash, f, len + 1);
            }
        }
        res->nrecords += blk.nrecords;
    }
    if (res->status == OOC_OK && ooc_csv_bytes_read(r) != n)
        __builtin_trap();
out:
    ooc_csv_block_free(&blk);
    ooc_csv_close(r);
}

/* The message without the " [file.c:line]" suffix debug builds add. */
static size_t message_core_len(const char *msg)
{
    const char *bracket = strrchr(msg, '[');
    return bracket ? (size_t)(bracket - msg) : strlen(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char delimiters[] = {',', ';', '\t', '|'};
    static const size_t block_records[] = {1, 2, 3, 7};
    static const size_t read_bytes[] = {1, 2, 3, 5, 16, 64, 4096, 0};
    ooc_csv_reader_options picked = {
        .delimiter = delimiters[data[0] & 3],
        .block_records = block_records[(data[0] >> 2) & 3],
        .read_bytes = read_bytes[(data[0] >> 4) & 7],
    };
    /* Inputs are at most 4096 bytes (libFuzzer's default -max_len), so this is one read
     * and one block. */
    ooc_csv_reader_options whole = {
        .delimiter = picked.delimiter, .block_records = 4096, .read_bytes = size + 1};
    run_result a, b;
    tokenize(data + 1, size - 1, &picked, &a);
    tokenize(data + 1, size - 1, &whole, &b);
    if (a.status != b.status)
        __builtin_trap();
    if (a.status == OOC_OK && (a.hash != b.hash || a.nrecords != b.nrecords))
        __builtin_trap();
    if (a.status != OOC_OK) {
        size_t la = message_core_len(a.err.message), lb = message_core_len(b.err.message);
        if (la != lb || memcmp(a.err.message, b.err.message, la) != 0)
            __builtin_trap();
    }
    return 0;
}

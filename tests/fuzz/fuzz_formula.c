/*
 * fuzz_formula.c — libFuzzer target for the formula module: arbitrary text
 * is parsed as a formula (with one formula variable `lnames`), and when it
 * parses, bound to a fixed header and a small fixed block, its levels are
 * scanned, its columns built and the block evaluated, and each non-finite
 * value it reports described.  Any crash, sanitizer report or inconsistent
 * result (a failing call without a message, a formula error without the
 * "formula error: " prefix, rows lost, a non-finite report that does not
 * match X and y, a second model that differs) aborts.
 */
#include "formula/model.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const header[] = {"y", "a", "b", "c", "d", "g", "s", "t"};
enum { NCOLS = 8, NROWS = 4 };
static const char *const rows[NROWS][NCOLS] = {
    {"1.5", "1", "2", "-3", "0.25", "0", "lo", "True"},
    {"NA", "2", "", "4", "1e3", "1", "hi", "False"},
    {"3", "-1", "0.5", "inf", "-0", "2", "mid", "True"},
    {"4", "0", "7", "8", "9", "1", "", "False"},
};

/* The non-finite report of one evaluation against the values written
 * (X: n rows of p; y: n values, or NULL). */
static void check_nonfinite(const ooc_model *m, ooc_model_scratch *s, const ooc_csv_block *blk,
                            const ooc_nonfinite *nf, const double *X, const double *y, size_t n,
                            size_t p)
{
    uint64_t reported = 0, found = 0;
    for (size_t i = 0; i < nf->n; i++) {
        const ooc_nonfinite_entry *e = &nf->items[i];
        if (e->column > p || (e->column == p && !y) || e->count == 0 || e->record >= NROWS)
            abort();
        reported += e->count;
        char what[128];
        double v = ooc_model_describe_nonfinite(m, s, blk, e->record, e->column, what, sizeof what);
        if (isfinite(v) || what[0] == '\0')
            abort();
    }
    for (size_t k = 0; k < n * p; k++)
        found += !isfinite(X[k]);
    for (size_t k = 0; y && k < n; k++)
        found += !isfinite(y[k]);
    if (reported != found)
        abort();
}

static void check_failure(ooc_status st, const ooc_error *err)
{
    if (st == OOC_OK)
        return;
    if (err->status != st || err->message[0] == '\0')
        abort();
    if (st == OOC_ERR_FORMULA && strncmp(err->message, "formula error: ", 15) != 0)
        abort();
}

/* Parse, bind to the fixed block, scan levels, memorize (or load `learned`:
 * what another model of the formula learned) and finish; NULL when it fails
 * (the failure checked). */
static ooc_model *prepare(const char *formula, const ooc_csv_block *blk, const char *learned)
{
    static const ooc_formula_var vars[] = {{"lnames", "[0, 1, 2]"}};
    ooc_model *m = NULL;
    ooc_error err = {OOC_OK, ""};
    ooc_status st = ooc_model_parse(formula, vars, 1, &m, &err);
    ooc_model_data_options opts = {
        .file_name = "fuzz.csv", .na_values = NULL, .n_na_values = 0, .missing_is_error = false};
    if (st == OOC_OK)
        st = ooc_model_bind(m, header, NCOLS, blk, &opts, &err);
    if (st == OOC_OK && learned)
        st = ooc_model_load_transforms(m, learned, "the first model", &err);
    if (st == OOC_OK && ooc_model_needs_level_scan(m))
        st = ooc_model_scan_levels(m, blk, &err);
    if (st == OOC_OK && ooc_model_needs_memorize(m))
        st = ooc_model_memorize(m, blk, &err);
    if (st == OOC_OK)
        st = ooc_model_finish_levels(m, &err);
    check_failure(st, &err);
    if (st != OOC_OK) {
        if (learned) /* the same formula and data failed nowhere the first time */
            abort();
        ooc_model_free(m);
        return NULL;
    }
    return m;
}

/* Evaluate the block: X (NROWS x p, malloc'ed) and y into *X, y; rows kept. */
static size_t evaluate(const ooc_model *m, const ooc_csv_block *blk, double **X, double *y,
                       bool check)
{
    size_t p = ooc_model_ncols(m), n = 0, dropped = 0;
    ooc_error err = {OOC_OK, ""};
    ooc_model_scratch *s = ooc_model_scratch_new(m);
    *X = calloc((p ? p : 1) * NROWS, sizeof **X);
    ooc_nonfinite nf = {0};
    if (s && *X) {
        ooc_status st = ooc_model_eval(m, s, blk, *X, y, &n, &dropped, &nf, &err);
        check_failure(st, &err);
        if (st == OOC_OK && n + dropped != NROWS)
            abort();
        if (st == OOC_OK && check)
            check_nonfinite(m, s, blk, &nf, *X, ooc_model_has_response(m) ? y : NULL, n, p);
        if (st != OOC_OK)
            n = SIZE_MAX;
    }
    ooc_nonfinite_free(&nf);
    ooc_model_scratch_free(s);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *formula = malloc(size + 1);
    if (!formula)
        return 0;
    memcpy(formula, data, size);
    formula[size] = '\0';
    char *fields[NROWS * NCOLS];
    uint32_t lens[NROWS * NCOLS];
    uint64_t lines[NROWS];
    for (size_t r = 0; r < NROWS; r++) {
        lines[r] = r + 2;
        for (size_t c = 0; c < NCOLS; c++) {
            fields[r * NCOLS + c] = (char *)rows[r][c];
            lens[r * NCOLS + c] = (uint32_t)strlen(rows[r][c]);
        }
    }
    ooc_csv_block blk = {NROWS, NCOLS, fields, lens, lines, 0, NULL, 0, 0};
    ooc_model *m = prepare(formula, &blk, NULL), *again = NULL;
    char *learned = NULL;
    double *X = NULL, *X2 = NULL, y[NROWS] = {0}, y2[NROWS] = {0};
    if (!m)
        goto out;
    size_t p = ooc_model_ncols(m);
    for (size_t j = 0; j < p; j++)
        if (!ooc_model_column_name(m, j))
            abort();
    size_t n = evaluate(m, &blk, &X, y, true);
    ooc_error err = {OOC_OK, ""};
    if (ooc_model_transforms_json(m, &learned, &err) != OOC_OK)
        abort();
    if (learned && n != SIZE_MAX) {
        again = prepare(formula, &blk, learned);
        if (ooc_model_ncols(again) != p || evaluate(again, &blk, &X2, y2, false) != n ||
            memcmp(X, X2, n * p * sizeof *X) != 0)
            abort();
    }
out:
    free(X);
    free(X2);
    free(learned);
    ooc_model_free(again);
    ooc_model_free(m);
    free(formula);
    return 0;
}

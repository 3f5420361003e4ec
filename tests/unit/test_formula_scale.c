/*
 * test_formula_scale.c — the formula module at scale, and its reports:
 *   - wide formulas: 100 000 terms in one '+' chain (also with '-' removals,
 *     inside one I() expression, and 20 000 categorical terms in one bucket)
 *     parse, bind, lay out and evaluate in bounded time; real nesting is
 *     still limited, and so are term products and factors per term;
 *   - many levels: a categorical of 100 000 levels (given, or discovered by
 *     the scan) is resolved and laid out with memory in proportion to its
 *     levels, its level count is known before any column is built, and its
 *     sparse treatment/Sum/full-rank columns evaluate as patsy's;
 *   - the design stream's max_levels refusal and its warnings about
 *     non-finite values (line, value, source text, count, first line first
 *     across blocks, at most 20 columns named, once per stream).
 * Exits non-zero when any check fails (testutil.h).
 */
#include "csv/design_stream.h"
#include "base/error.h"
#include "formula/model.h"
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

enum { WIDE = 100000, WIDE_CAT = 20000, LEVELS = 100000 };

/* CPU time of this process, in seconds: time bounds on it do not depend on
 * how busy the machine is (the tests run beside parallel builds). */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident set of this process so far, in MB. */
static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* A growable string. */
typedef struct text {
    char *s;
    size_t n, cap;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (w >= 0 && t->s && t->n + (size_t)w < t->cap) {
            t->n += (size_t)w;
            return;
        }
        t->cap = 2 * (t->cap + (size_t)(w > 0 ? w : 0)) + 64;
        t->s = realloc(t->s, t->cap);
        if (!t->s)
            abort();
    }
}

/* A CSV block built in memory: nrec records of ncols fields, cell(r, c) the text. */
typedef struct mem_block {
    ooc_csv_block blk;
    char *storage;
} mem_block;

static void mem_block_make(mem_block *mb, size_t nrec, size_t ncols,
                           void (*cell)(size_t r, size_t c, char *buf, size_t size))
{
    memset(mb, 0, sizeof *mb);
    enum { CELL = 24 };
    mb->storage = malloc(nrec * ncols * CELL + 1);
    mb->blk.fields = malloc(nrec * ncols * sizeof *mb->blk.fields);
    mb->blk.field_lens = malloc(nrec * ncols * sizeof *mb->blk.field_lens);
    mb->blk.line_numbers = malloc(nrec * sizeof *mb->blk.line_numbers);
    if (!mb->storage || !mb->blk.fields || !mb->blk.field_lens || !mb->blk.line_numbers)
        abort();
    mb->blk.nrecords = nrec;
    mb->blk.nfields = ncols;
    for (size_t r = 0; r < nrec; r++) {
        mb->blk.line_numbers[r] = r + 2;
        for (size_t c = 0; c < ncols; c++) {
            char *f = mb->storage + (r * ncols + c) * CELL;
            cell(r, c, f, CELL);
            mb->blk.fields[r * ncols + c] = f;
            mb->blk.field_lens[r * ncols + c] = (uint32_t)strlen(f);
        }
    }
}

static void mem_block_free(mem_block *mb)
{
    free(mb->storage);
    free(mb->blk.fields);
    free(mb->blk.field_lens);
    free(mb->blk.line_numbers);
}

/* ---- wide formulas ---------------------------------------------------- */

/* Header "y", "x0" .. "x<n-1>" (owned storage in *store). */
static const char **wide_header(size_t n, char **store)
{
    const char **names = malloc((n + 1) * sizeof *names);
    *store = malloc((n + 1) * 16);
    if (!names || !*store)
        abort();
    strcpy(*store, "y");
    names[0] = *store;
    for (size_t j = 0; j < n; j++) {
        char *s = *store + (j + 1) * 16;
        snprintf(s, 16, "x%zu", j);
        names[j + 1] = s;
    }
    return names;
}

/* Record r of the wide data: y = r + 1, x_j = j + r (distinct, exact in double). */
static void wide_cell(size_t r, size_t c, char *buf, size_t size)
{
    snprintf(buf, size, "%zu", c == 0 ? r + 1 : c - 1 + r);
}

/* Record r of the categorical wide data: y = 1, x_j = 0 or 1. */
static void binary_cell(size_t r, size_t c, char *buf, size_t size)
{
    snprintf(buf, size, "%d", c == 0 ? 1 : (int)((c + r) % 2));
}

/* Parse, bind to the header and block, lay out; NULL (message printed) on failure. */
static ooc_model *build_on(const char *formula, const ooc_formula_var *vars, size_t nvars,
                           const char *const *names, size_t ncols, const ooc_csv_block *blk)
{
    ooc_model *m = NULL;
    ooc_error err;
    ooc_error_clear(&err);
    ooc_model_data_options opts = {
        .file_name = "wide.csv", .na_values = NULL, .n_na_values = 0, .missing_is_error = false};
    if (ooc_model_parse(formula, vars, nvars, &m, &err) != OOC_OK ||
        ooc_model_bind(m, names, ncols, blk, &opts, &err) != OOC_OK ||
        (ooc_model_needs_level_scan(m) && ooc_model_scan_levels(m, blk, &err) != OOC_OK) ||
        ooc_model_finish_levels(m, &err) != OOC_OK) {
        fprintf(stderr, "build failed: %.300s\n", err.message);
        ooc_model_free(m);
        return NULL;
    }
    return m;
}

/* Evaluate blk (all rows kept) into a new X; NULL on failure. */
static double *eval_all(const ooc_model *m, const ooc_csv_block *blk)
{
    size_t p = ooc_model_ncols(m), n = 0, dropped = 0;
    double *X = malloc((blk->nrecords * p + 1) * sizeof *X);
    double *y = malloc((blk->nrecords + 1) * sizeof *y);
    ooc_model_scratch *s = ooc_model_scratch_new(m);
    ooc_error err;
    ooc_error_clear(&err);
    ooc_status st = X && y && s ? ooc_model_eval(m, s, blk, X, y, &n, &dropped, NULL, &err)
                                : OOC_ERR_NOMEM;
    CHECK_MSG(st == OOC_OK && n == blk->nrecords, "eval: %s", err.message);
    ooc_model_scratch_free(s);
    free(y);
    if (st != OOC_OK) {
        free(X);
        return NULL;
    }
    return X;
}

/* The formula error of `formula` (it must fail to parse) contains `what`. */
static void expect_refused(const char *formula, const char *what)
{
    ooc_model *m = NULL;
    ooc_error err;
    ooc_error_clear(&err);
    ooc_status st = ooc_model_parse(formula, NULL, 0, &m, &err);
    CHECK_MSG(st == OOC_ERR_FORMULA && strstr(err.message, what) != NULL,
              "expected \"%s\", got status %d: %.300s", what, (int)st, err.message);
    ooc_model_free(m);
}

static void test_wide(void)
{
    char *store;
    const char **names = wide_header(WIDE, &store);
    mem_block data;
    mem_block_make(&data, 2, WIDE + 1, wide_cell);
    double t0 = cpu_seconds();

    /* y ~ x0 + x1 + ... : every column, in order, with its values */
    text f = {0};
    text_add(&f, "y ~ x0");
    for (size_t j = 1; j < WIDE; j++)
        text_add(&f, " + x%zu", j);
    ooc_model *m = build_on(f.s, NULL, 0, names, WIDE + 1, &data.blk);
    CHECK(m != NULL);
    if (m) {
        CHECK(ooc_model_ncols(m) == WIDE + 1);
        CHECK_STREQ(ooc_model_column_name(m, 0), "Intercept");
        size_t bad = 0;
        for (size_t j = 0; j < WIDE && j + 1 < ooc_model_ncols(m); j++)
            bad += strcmp(ooc_model_column_name(m, j + 1), names[j + 1]) != 0;
        CHECK_MSG(bad == 0, "%zu column names differ", bad);
        double *X = eval_all(m, &data.blk);
        for (size_t r = 0; X && r < 2; r++) {
            bad = X[r * (WIDE + 1)] != 1.0;
            for (size_t j = 0; j < WIDE; j++)
                bad += X[r * (WIDE + 1) + j + 1] != (double)(j + r);
            CHECK_MSG(bad == 0, "row %zu: %zu values differ", r, bad);
        }
        free(X);
        ooc_model_free(m);
    }
    double t_sum = cpu_seconds() - t0;

    /* ... - x0 - x2 - x4 ... + x0: patsy's order after removals (x0 re-added last) */
    for (size_t j = 0; j < WIDE; j += 2)
        text_add(&f, " - x%zu", j);
    text_add(&f, " + x0");
    m = build_on(f.s, NULL, 0, names, WIDE + 1, &data.blk);
    CHECK(m != NULL);
    if (m) {
        CHECK(ooc_model_ncols(m) == 1 + WIDE / 2 + 1);
        size_t bad = 0;
        for (size_t k = 0; k < WIDE / 2 && k + 1 < ooc_model_ncols(m); k++)
            bad += strcmp(ooc_model_column_name(m, k + 1), names[2 * k + 2]) != 0;
        CHECK_MSG(bad == 0, "%zu column names differ after removals", bad);
        CHECK_STREQ(ooc_model_column_name(m, ooc_model_ncols(m) - 1), "x0");
        ooc_model_free(m);
    }

    /* one expression of 100 000 variables: compiled and evaluated without recursion */
    f.n = 0;
    text_add(&f, "y ~ I(x0");
    for (size_t j = 1; j < WIDE; j++)
        text_add(&f, " + x%zu", j);
    text_add(&f, ")");
    m = build_on(f.s, NULL, 0, names, WIDE + 1, &data.blk);
    CHECK(m != NULL);
    if (m) {
        CHECK(ooc_model_ncols(m) == 2);
        double *X = eval_all(m, &data.blk);
        /* exact: every partial sum is an integer below 2^53 */
        double sum = (double)WIDE * (WIDE - 1) / 2;
        CHECK(X && X[1] == sum && X[3] == sum + WIDE);
        free(X);
        ooc_model_free(m);
    }

    /* 20 000 categorical terms in one bucket (the used-subterm set grows to 20 001) */
    mem_block bin;
    mem_block_make(&bin, 2, WIDE + 1, binary_cell);
    f.n = 0;
    text_add(&f, "y ~ C(x0, levels=[0, 1])");
    for (size_t j = 1; j < WIDE_CAT; j++)
        text_add(&f, " + C(x%zu, levels=[0, 1])", j);
    m = build_on(f.s, NULL, 0, names, WIDE + 1, &bin.blk);
    CHECK(m != NULL);
    if (m) {
        CHECK(ooc_model_ncols(m) == WIDE_CAT + 1);
        CHECK(ooc_model_ncols(m) > 7 &&
              strcmp(ooc_model_column_name(m, 7), "C(x6, levels=[0, 1])[T.1]") == 0);
        double *X = eval_all(m, &bin.blk);
        size_t bad = 0;
        for (size_t r = 0; X && r < 2; r++)
            for (size_t j = 0; j < WIDE_CAT; j++)
                bad += X[r * (WIDE_CAT + 1) + j + 1] != (double)((j + 1 + r) % 2);
        CHECK_MSG(X && bad == 0, "%zu categorical values differ", bad);
        free(X);
        ooc_model_free(m);
    }
    mem_block_free(&bin);
    double t_all = cpu_seconds() - t0;

    /* The bound, on CPU time: on the development machine (2-core Zen 3) the first formula
     * takes about 0.33 s and all four about 0.9 s in Release, and 1.1 s and 3.7 s under
     * ASan+UBSan.  30 s is 30x the Release time and 8x the sanitized one, so it fails only
     * when a stage is quadratic in the terms again: the code this replaced spent 7.9 s on
     * 3 000 terms, and would spend hours on 100 000 (it stopped at 4 000 instead). */
    printf("wide: %d terms in %.3f s, the four wide formulas in %.3f s (CPU)\n", WIDE, t_sum,
           t_all);
    CHECK_MSG(t_all < 30.0, "wide formulas took %.1f s of CPU", t_all);

    /* Real nesting is still bounded; so are factors per term and term products. */
    f.n = 0;
    text_add(&f, "y ~ x0");
    for (int d = 1; d < 150; d++)
        text_add(&f, " + (x%d", d);
    for (int d = 1; d < 150; d++)
        text_add(&f, ")");
    m = NULL;
    ooc_error err;
    ooc_error_clear(&err);
    CHECK_MSG(ooc_model_parse(f.s, NULL, 0, &m, &err) == OOC_OK, "150 deep: %.200s", err.message);
    ooc_model_free(m);
    f.n = 0;
    text_add(&f, "y ~ x0");
    for (int d = 1; d < 1000; d++)
        text_add(&f, " + (x%d", d);
    for (int d = 1; d < 1000; d++)
        text_add(&f, ")");
    expect_refused(f.s, "formula nested too deeply");
    f.n = 0;
    text_add(&f, "y ~ ");
    for (int d = 0; d < 1000; d++)
        text_add(&f, "+ ");
    text_add(&f, "x0");
    expect_refused(f.s, "formula nested too deeply");
    f.n = 0;
    text_add(&f, "y ~ x0");
    for (int k = 1; k <= 64; k++)
        text_add(&f, ":x%d", k);
    expect_refused(f.s, "a term has more than 64 factors");
    f.n = 0; /* a long chain of ':' repeating two factors is the one term x0:x1 */
    text_add(&f, "y ~ x0");
    for (int k = 1; k < WIDE; k++)
        text_add(&f, ":x%d", k % 2);
    m = build_on(f.s, NULL, 0, names, WIDE + 1, &data.blk);
    CHECK(m && ooc_model_ncols(m) == 2 && strcmp(ooc_model_column_name(m, 1), "x0:x1") == 0);
    ooc_model_free(m);
    f.n = 0; /* 1100 x 1000 products: within the product budget, over the term limit */
    text_add(&f, "y ~ (x0");
    for (int k = 1; k < 1100; k++)
        text_add(&f, " + x%d", k);
    text_add(&f, "):(x1100");
    for (int k = 1101; k < 2100; k++)
        text_add(&f, " + x%d", k);
    text_add(&f, ")");
    expect_refused(f.s, "more than 1048576 terms");

    free(f.s);
    mem_block_free(&data);
    free(names);
    free(store);
}

/* ---- many levels ------------------------------------------------------ */

/* Records of the levels data: y = 1, g = the level of record r (0, the last, 5, ...). */
static size_t level_of_record(size_t r) { return r == 1 ? LEVELS - 1 : r * 5; }

static void levels_cell(size_t r, size_t c, char *buf, size_t size)
{
    if (c == 0)
        snprintf(buf, size, "1");
    else
        snprintf(buf, size, "%zu", level_of_record(r));
}

/* Record r of the discovered-levels data: y = 1, g = "g<r>" (one level per record). */
static void named_level_cell(size_t r, size_t c, char *buf, size_t size)
{
    if (c == 0)
        snprintf(buf, size, "1");
    else
        snprintf(buf, size, "g%06zu", r);
}

/* The nonzero entries of row r of X (p columns): their count, and the first two. */
static size_t nonzeros(const double *X, size_t p, size_t r, size_t *first, size_t *second)
{
    size_t n = 0;
    *first = *second = SIZE_MAX;
    for (size_t j = 0; j < p; j++) {
        if (X[r * p + j] == 0.0)
            continue;
        if (n == 0)
            *first = j;
        else if (n == 1)
            *second = j;
        n++;
    }
    return n;
}

static void test_levels(void)
{
    static const char *const hdr[] = {"y", "g"};
    static const ooc_formula_var lv[] = {{"lv", "range(100000)"}};
    mem_block data;
    mem_block_make(&data, 4, 2, levels_cell);
    double rss0 = peak_rss_mb(), t0 = cpu_seconds();

    /* given levels: the count is known after resolve, before any column exists */
    ooc_model *m = NULL;
    ooc_error err;
    ooc_error_clear(&err);
    ooc_model_data_options opts = {
        .file_name = "levels.csv", .na_values = NULL, .n_na_values = 0, .missing_is_error = false};
    CHECK(ooc_model_parse("y ~ C(g, levels=lv)", lv, 1, &m, &err) == OOC_OK);
    CHECK(m && ooc_model_bind(m, hdr, 2, &data.blk, &opts, &err) == OOC_OK);
    CHECK(m && ooc_model_ncategoricals(m) == 0);
    CHECK(m && ooc_model_resolve_levels(m, &err) == OOC_OK);
    ooc_model_categorical info = {0};
    CHECK(m && ooc_model_ncategoricals(m) == 1 && ooc_model_categorical_info(m, 0, &info));
    CHECK(info.nlevels == LEVELS && info.name && strcmp(info.name, "C(g, levels=lv)") == 0 &&
          info.column && strcmp(info.column, "g") == 0);
    CHECK(m && !ooc_model_categorical_info(m, 1, &info));
    CHECK(m && ooc_model_ncols(m) == 0);
    CHECK(m && ooc_model_finish_levels(m, &err) == OOC_OK);
    CHECK(m && ooc_model_ncols(m) == LEVELS);
    if (m && ooc_model_ncols(m) == LEVELS) {
        CHECK_STREQ(ooc_model_column_name(m, LEVELS - 1), "C(g, levels=lv)[T.99999]");
        double *X = eval_all(m, &data.blk);
        size_t a, b;
        for (size_t r = 0; X && r < 4; r++) { /* the intercept and the record's own level */
            size_t nz = nonzeros(X, LEVELS, r, &a, &b);
            size_t level = level_of_record(r);
            CHECK_MSG(level == 0 ? nz == 1 && a == 0 : nz == 2 && a == 0 && b == level,
                      "treatment row %zu: %zu nonzeros", r, nz);
        }
        free(X);
    }
    ooc_model_free(m);

    /* Sum coding (reference: the last level) and both full-rank codings */
    static const struct {
        const char *formula;
        size_t ncols;
    } codings[] = {{"y ~ C(g, Sum, levels=lv)", LEVELS},
                   {"y ~ 0 + C(g, levels=lv)", LEVELS},
                   {"y ~ 0 + C(g, Sum, levels=lv)", LEVELS}};
    for (size_t k = 0; k < 3; k++) {
        m = build_on(codings[k].formula, lv, 1, hdr, 2, &data.blk);
        CHECK(m && ooc_model_ncols(m) == codings[k].ncols);
        double *X = m ? eval_all(m, &data.blk) : NULL;
        size_t p = codings[k].ncols, a, b;
        for (size_t r = 0; X && r < 4; r++) {
            size_t nz = nonzeros(X, p, r, &a, &b), level = level_of_record(r);
            bool ok;
            if (k == 0) /* intercept, then +1 at the level, or -1 everywhere for the reference */
                ok = level == LEVELS - 1
                         ? nz == p && X[r * p + 1] == -1.0 && X[r * p + p - 1] == -1.0
                         : nz == 2 && a == 0 && b == level + 1 && X[r * p + b] == 1.0;
            else if (k == 1) /* full-rank dummy: 1 at the level */
                ok = nz == 1 && a == level && X[r * p + a] == 1.0;
            else /* Sum full rank: [mean], then the reduced Sum columns */
                ok = level == LEVELS - 1 ? nz == p && X[r * p + 1] == -1.0
                                         : nz == 2 && a == 0 && b == level + 1;
            CHECK_MSG(ok, "%s row %zu: %zu nonzeros", codings[k].formula, r, nz);
        }
        free(X);
        ooc_model_free(m);
    }

    /* discovered levels: 100 000 distinct texts from the scan */
    static const char *const hdr2[] = {"y", "g"};
    mem_block named;
    mem_block_make(&named, LEVELS, 2, named_level_cell);
    m = NULL;
    ooc_error_clear(&err);
    CHECK(ooc_model_parse("y ~ g", NULL, 0, &m, &err) == OOC_OK);
    CHECK(m && ooc_model_bind(m, hdr2, 2, &named.blk, &opts, &err) == OOC_OK);
    CHECK(m && ooc_model_needs_level_scan(m) &&
          ooc_model_scan_levels(m, &named.blk, &err) == OOC_OK);
    CHECK(m && ooc_model_resolve_levels(m, &err) == OOC_OK);
    CHECK(m && ooc_model_categorical_info(m, 0, &info) && info.nlevels == LEVELS &&
          strcmp(info.name, "g") == 0);
    CHECK(m && ooc_model_finish_levels(m, &err) == OOC_OK && ooc_model_ncols(m) == LEVELS);
    if (m && ooc_model_ncols(m) == LEVELS)
        CHECK_STREQ(ooc_model_column_name(m, 1), "g[T.g000001]");
    ooc_model_free(m);
    mem_block_free(&named);

    /* What must be held for 100 000 levels: their texts and table entries, one column name
     * and part each (a few hundred bytes per level: tens of MB), one row of X (0.8 MB) and the
     * 100 000-record block (about 5 MB).  A levels x columns contrast matrix, as before, is
     * 80 GB.  The bound leaves room for the allocator (and for ASan's redzones and
     * quarantine). */
    double grown = peak_rss_mb() - rss0, bound = UNDER_ASAN ? 600.0 : 200.0;
    printf("levels: %d levels, peak RSS grew %.0f MB (bound %.0f MB), %.3f s (CPU)\n", LEVELS,
           grown, bound, cpu_seconds() - t0);
    CHECK_MSG(grown < bound, "100 000 levels took %.0f MB", grown);
    mem_block_free(&data);
}

/* ---- the design stream: max_levels, warnings about non-finite values ---- */

typedef struct captured {
    char *lines[64];
    size_t n;
} captured;

static void capture(void *user_data, ooc_log_level level, const char *message)
{
    captured *c = user_data;
    if (level == OOC_LOG_WARNING && c->n < 64)
        c->lines[c->n++] = strdup(message);
}

static void captured_free(captured *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    c->n = 0;
}

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

/* Run every pass-worth of rows of `formula` over csv; returns the status. */
static ooc_status stream_all(const char *csv, const char *formula, size_t max_levels,
                             captured *log, int passes, ooc_error *err)
{
    ooc_design_stream_options o = {.csv_path = csv,
                                   .formula = formula,
                                   .block_records = 2,
                                   .nthreads = 2,
                                   .max_levels = max_levels,
                                   .log = {capture, log}};
    o.csv.delimiter = ',';
    ooc_design_stream *ds = NULL;
    ooc_status st = ooc_design_stream_open(&o, &ds, err);
    for (int pass = 0; st == OOC_OK && pass < passes; pass++) {
        if (pass)
            st = ooc_design_stream_rewind(ds, err);
        bool done = false;
        while (st == OOC_OK && !done) {
            ooc_design_rows rows;
            st = ooc_design_stream_next(ds, &rows, &done, err);
        }
    }
    ooc_design_stream_close(ds);
    return st;
}

static bool has_line(const captured *c, const char *a, const char *b)
{
    for (size_t i = 0; i < c->n; i++)
        if (strstr(c->lines[i], a) && (!b || strstr(c->lines[i], b)))
            return true;
    return false;
}

static void test_stream(void)
{
    char csv[64];
    snprintf(csv, sizeof csv, "formula_scale_%d.csv", (int)getpid());
    captured log = {0};
    ooc_error err;

    /* max_levels: refused after the scan, naming the column, the factor and the count */
    write_file(csv, "y,g\n1,a\n2,b\n3,c\n4,a\n");
    ooc_error_clear(&err);
    CHECK(stream_all(csv, "y ~ C(g, Sum)", 2, &log, 1, &err) == OOC_ERR_DATA);
    CHECK_MSG(strstr(err.message, "column 'g': 3 levels in categorical 'C(g, Sum)', more than the "
                                  "limit of 2") != NULL,
              "%s", err.message);
    ooc_error_clear(&err);
    CHECK(stream_all(csv, "y ~ C(g, Sum)", 3, &log, 1, &err) == OOC_OK);
    CHECK(stream_all(csv, "y ~ C(g, Sum)", 0, &log, 1, &err) == OOC_OK);

    /* non-finite values: blocks of 2 records, so the first of each column is found across
     * blocks and threads; warnings in order of first line, once, with value, source, count */
    write_file(csv, "y,a,b,x\n"
                    "1,2,1,3\n"             /* line 2 */
                    "2,3,1,1e400\n"         /* line 3: x */
                    "3,2,0,4\n"             /* line 4: I(a / b) */
                    "4,3,1,-1e999\n"        /* line 5: x again (-inf) */
                    "0,1,1,5\n"             /* line 6: np.log(y) */
                    "6,1e200,1,1e200\n");   /* line 7: x:a overflows, and I(a / b) is finite */
    ooc_error_clear(&err);
    CHECK(stream_all(csv, "np.log(y) ~ x + I(a / b) + x:a", 0, &log, 2, &err) == OOC_OK);
    CHECK_MSG(log.n == 4, "%zu warnings", log.n);
    CHECK(log.n > 0 && strstr(log.lines[0], "line 3: column 'x' of X is inf, from \"1e400\" in "
                                            "CSV column 'x' (2 non-finite values in this column)"));
    CHECK(log.n > 1 && strstr(log.lines[1], "line 3: column 'x:a' of X is inf, from \"1e400\" in "
                                            "CSV column 'x' (3 non-finite values"));
    CHECK(log.n > 2 && strstr(log.lines[2], "line 4: column 'I(a / b)' of X is inf, from I(a / b) "
                                            "with a = \"2\", b = \"0\" (1 non-finite value in"));
    CHECK(log.n > 3 && strstr(log.lines[3], "line 6: the response 'np.log(y)' is -inf, from "
                                            "np.log(y) with y = \"0\" (1 non-finite value)"));
    for (size_t i = 0; i < log.n; i++)
        CHECK_MSG(strncmp(log.lines[i], csv, strlen(csv)) == 0, "%s", log.lines[i]);
    captured_free(&log);

    /* an overflowing product of finite values names them */
    write_file(csv, "y,a,x\n1,1e200,1e300\n");
    CHECK(stream_all(csv, "y ~ 0 + x:a", 0, &log, 1, &err) == OOC_OK);
    CHECK(log.n == 1 && strstr(log.lines[0], "column 'x:a' of X is inf, from the product of x = "
                                             "1e+300 and a = 1e+200"));
    captured_free(&log);

    /* at most 20 columns are named, then one line with the rest */
    text t = {0};
    text_add(&t, "y");
    for (int j = 0; j < 25; j++)
        text_add(&t, ",c%d", j);
    text_add(&t, "\n1");
    for (int j = 0; j < 25; j++)
        text_add(&t, ",inf");
    text_add(&t, "\n");
    write_file(csv, t.s);
    text f = {0};
    text_add(&f, "y ~ 0 + c0");
    for (int j = 1; j < 25; j++)
        text_add(&f, " + c%d", j);
    CHECK(stream_all(csv, f.s, 0, &log, 1, &err) == OOC_OK);
    CHECK_MSG(log.n == 21 && has_line(&log, "column 'c19' of X is inf", NULL) &&
                  !has_line(&log, "column 'c20'", NULL) &&
                  has_line(&log, ": 5 more columns have non-finite values", NULL),
              "%zu warnings", log.n);
    captured_free(&log);
    free(t.s);
    free(f.s);
    unlink(csv);
}

int main(void)
{
    test_levels(); /* first: its bound is on the growth of this process's peak RSS */
    test_wide();
    test_stream();
    return TEST_EXIT();
}

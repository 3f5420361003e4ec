/*
 * test_formula.c — unit tests of the formula module (model.h): parsing,
 * term expansion and ordering, column naming (expected names were produced
 * by patsy 1.0.3 on the same data), malformed formulas with the caret
 * position checked, evaluation of hand-built CSV blocks (missing values,
 * errors, empty blocks, concurrent evaluation), and regression cases found
 * by fuzzing.
 */
#include "base/error.h"
#include "formula/formula_internal.h"
#include "formula/model.h"
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The sample data (also used to produce the expected names with patsy). */
static const char *const header[] = {"y", "a", "b", "g", "s", "t"};
enum { NCOLS = 6, NROWS = 8 };
static const char *const cells[NROWS][NCOLS] = {
    {"1.0", "1", "0.5", "0", "lo", "True"},   {"2.0", "2", "NA", "1", "hi", "False"},
    {"3.0", "3", "1.5", "2", "mid", "True"},  {"4.0", "-1", "2.5", "1", "lo", "False"},
    {"5.0", "0.5", "3.5", "0", "", "True"},   {"6.0", "4", "4.5", "2", "hi", "True"},
    {"nan", "5", "5.5", "1", "mid", "False"}, {"8.0", "6", "6.5", "0", "lo", "True"},
};

typedef struct test_block {
    ooc_csv_block blk;
    char *fields[64 * NCOLS];
    uint32_t lens[64 * NCOLS];
    uint64_t lines[64];
} test_block;

/* A block over rows [first, first+n) of `rows` (ncols fields each). */
static void make_block(test_block *tb, const char *const *rows, size_t ncols, size_t first,
                       size_t n)
{
    memset(tb, 0, sizeof *tb);
    tb->blk.nrecords = n;
    tb->blk.nfields = ncols;
    tb->blk.fields = tb->fields;
    tb->blk.field_lens = tb->lens;
    tb->blk.line_numbers = tb->lines;
    tb->blk.first_record = first;
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < ncols; c++) {
            tb->fields[r * ncols + c] = (char *)rows[(first + r) * ncols + c];
            tb->lens[r * ncols + c] = (uint32_t)strlen(rows[(first + r) * ncols + c]);
        }
        tb->lines[r] = first + r + 2;
    }
}

/* parse + bind + scan + finish on the sample data; NULL (with err) on failure. */
static ooc_model *build(const char *formula, const ooc_formula_var *vars, size_t nvars,
                        bool missing_is_error, ooc_error *err)
{
    ooc_model *m = NULL;
    ooc_error_clear(err);
    if (ooc_model_parse(formula, vars, nvars, &m, err) != OOC_OK)
        return NULL;
    test_block tb;
    make_block(&tb, &cells[0][0], NCOLS, 0, NROWS);
    ooc_model_data_options opts = {
        .file_name = "sample.csv", .missing_is_error = missing_is_error};
    if (ooc_model_bind(m, header, NCOLS, &tb.blk, &opts, err) != OOC_OK ||
        (ooc_model_needs_level_scan(m) && ooc_model_scan_levels(m, &tb.blk, err) != OOC_OK) ||
        ooc_model_finish_levels(m, err) != OOC_OK) {
        ooc_model_free(m);
        return NULL;
    }
    return m;
}

typedef struct names_case {
    const char *formula;
    size_t nrows; /* rows patsy keeps */
    const char *names[12];
} names_case;

/* Expected values from patsy.dmatrices(formula, df, NA_action='drop'). */
static const names_case names_cases[] = {
    {"y ~ a + b", 6, {"Intercept", "a", "b"}},
    {"y ~ s", 6, {"Intercept", "s[T.lo]", "s[T.mid]"}},
    {"y ~ 0 + s", 6, {"s[hi]", "s[lo]", "s[mid]"}},
    {"y ~ s:t",
     6,
     {"Intercept", "t[T.True]", "s[T.lo]:t[False]", "s[T.mid]:t[False]", "s[T.lo]:t[True]",
      "s[T.mid]:t[True]"}},
    {"y ~ a:s + t", 6, {"Intercept", "t[T.True]", "a:s[hi]", "a:s[lo]", "a:s[mid]"}},
    {"y ~ C(g) + C(s, Sum)",
     6,
     {"Intercept", "C(g)[T.1]", "C(g)[T.2]", "C(s, Sum)[S.hi]", "C(s, Sum)[S.lo]"}},
    {"y ~ C(g, levels=[2,1,0]):a",
     7,
     {"Intercept", "C(g, levels=[2, 1, 0])[2]:a", "C(g, levels=[2, 1, 0])[1]:a",
      "C(g, levels=[2, 1, 0])[0]:a"}},
    {"y ~ (a + s + t)**2",
     6,
     {"Intercept", "s[T.lo]", "s[T.mid]", "t[T.True]", "s[T.lo]:t[T.True]", "s[T.mid]:t[T.True]",
      "a", "a:s[T.lo]", "a:s[T.mid]", "a:t[T.True]"}},
    {"y ~ I(a*b) + np.log(a + 2)", 6, {"Intercept", "I(a * b)", "np.log(a + 2)"}},
    {"y ~ C(g, Treatment(reference=2)) * s",
     6,
     {"Intercept", "C(g, Treatment(reference=2))[T.0]", "C(g, Treatment(reference=2))[T.1]",
      "s[T.lo]", "s[T.mid]", "C(g, Treatment(reference=2))[T.0]:s[T.lo]",
      "C(g, Treatment(reference=2))[T.1]:s[T.lo]", "C(g, Treatment(reference=2))[T.0]:s[T.mid]",
      "C(g, Treatment(reference=2))[T.1]:s[T.mid]"}},
    {"y ~ a/s", 6, {"Intercept", "a", "a:s[T.lo]", "a:s[T.mid]"}},
    {"~ 0 + g + C(g)", 8, {"C(g)[0]", "C(g)[1]", "C(g)[2]", "g"}},
    {"y ~ C(s, Sum(omit='hi')) + C(g, Sum)",
     6,
     {"Intercept", "C(s, Sum(omit='hi'))[S.lo]", "C(s, Sum(omit='hi'))[S.mid]", "C(g, Sum)[S.0]",
      "C(g, Sum)[S.1]"}},
    {"y ~ I(a**2) + I(-a) + I(1/a)", 7, {"Intercept", "I(a ** 2)", "I(-a)", "I(1 / a)"}},
    {"y ~ C(g, levels=lv)", 7, {"Intercept", "C(g, levels=lv)[T.1]", "C(g, levels=lv)[T.2]"}},
    {"y ~ C(g, levels=np.arange(3))",
     7,
     {"Intercept", "C(g, levels=np.arange(3))[T.np.int64(1)]",
      "C(g, levels=np.arange(3))[T.np.int64(2)]"}},
    {"y ~ a - 1 + 0 + 1", 7, {"Intercept", "a"}},
    {"y ~ a * b - a - b", 6, {"Intercept", "a:b"}},
    /* string comparisons: a missing s is False (!= True), so no row is dropped for it */
    {"y ~ I(s == 'lo')", 7, {"Intercept", "I(s == 'lo')[T.True]"}},
    {"y ~ (s != 'hi'):a", 7, {"Intercept", "s != 'hi'[False]:a", "s != 'hi'[True]:a"}},
    {"y ~ (s == 'x') - (s == 'x') + a", 7, {"Intercept", "a"}},
    {"y ~ s + ('lo' == s)", 6, {"Intercept", "s[T.lo]", "s[T.mid]", "'lo' == s[T.True]"}},
};

static void test_names(void)
{
    static const ooc_formula_var vars[] = {{"lv", "[0, 1, 2]"}};
    for (size_t i = 0; i < sizeof names_cases / sizeof names_cases[0]; i++) {
        const names_case *tc = &names_cases[i];
        ooc_error err;
        ooc_model *m = build(tc->formula, vars, 1, false, &err);
        CHECK_MSG(m != NULL, "%s: %s", tc->formula, err.message);
        if (!m)
            continue;
        size_t expected = 0;
        while (expected < 12 && tc->names[expected])
            expected++;
        CHECK_MSG(ooc_model_ncols(m) == expected, "%s: %zu columns", tc->formula,
                  ooc_model_ncols(m));
        for (size_t j = 0; j < expected && j < ooc_model_ncols(m); j++)
            CHECK_STREQ(ooc_model_column_name(m, j), tc->names[j]);
        test_block tb;
        make_block(&tb, &cells[0][0], NCOLS, 0, NROWS);
        ooc_model_scratch *s = ooc_model_scratch_new(m);
        double X[NROWS * 16], y[NROWS];
        size_t n = 0, dropped = 0;
        CHECK(s != NULL);
        CHECK_MSG(ooc_model_eval(m, s, &tb.blk, X, y, &n, &dropped, NULL, &err) == OOC_OK, "%s: %s",
                  tc->formula, err.message);
        CHECK_MSG(n == tc->nrows && n + dropped == NROWS, "%s: kept %zu dropped %zu",
                  tc->formula, n, dropped);
        ooc_model_scratch_free(s);
        ooc_model_free(m);
    }
}

/* X and y of one formula, compared with the values patsy computes. */
static void test_values(void)
{
    ooc_error err;
    ooc_model *m = build("y ~ C(g) + a:s + I(a*b)", NULL, 0, false, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (!m)
        return;
    CHECK(ooc_model_has_response(m));
    CHECK_STREQ(ooc_model_response_name(m), "y");
    static const double expected_X[5][7] = {
        {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.5},    {1.0, 0.0, 1.0, 0.0, 0.0, 3.0, 4.5},
        {1.0, 1.0, 0.0, -0.0, -1.0, -0.0, -2.5}, {1.0, 0.0, 1.0, 4.0, 0.0, 0.0, 18.0},
        {1.0, 0.0, 0.0, 0.0, 6.0, 0.0, 39.0}};
    static const double expected_y[5] = {1.0, 3.0, 4.0, 6.0, 8.0};
    CHECK(ooc_model_ncols(m) == 7);
    test_block tb;
    make_block(&tb, &cells[0][0], NCOLS, 0, NROWS);
    ooc_model_scratch *s = ooc_model_scratch_new(m);
    double X[NROWS * 7], y[NROWS];
    size_t n = 0, dropped = 0;
    CHECK(ooc_model_eval(m, s, &tb.blk, X, y, &n, &dropped, NULL, &err) == OOC_OK);
    CHECK(n == 5 && dropped == 3);
    for (size_t r = 0; r < 5 && r < n; r++) {
        CHECK(y[r] == expected_y[r]);
        /* exact, including the sign of zero: the sample data are short dyadic decimals
         * (parsed exactly), and their products here are exact in double */
        for (size_t c = 0; c < 7; c++)
            CHECK_MSG(memcmp(&X[r * 7 + c], &expected_X[r][c], sizeof(double)) == 0,
                      "X[%zu][%zu] = %g", r, c, X[r * 7 + c]);
    }
    /* Blocks of any size, including 0, give the same rows. */
    size_t total = 0;
    for (size_t first = 0; first < NROWS; first += 3) {
        size_t len = first + 3 <= NROWS ? 3 : NROWS - first;
        make_block(&tb, &cells[0][0], NCOLS, first, len);
        CHECK(ooc_model_eval(m, s, &tb.blk, X, y, &n, &dropped, NULL, &err) == OOC_OK);
        for (size_t r = 0; r < n; r++)
            CHECK(memcmp(&X[r * 7], expected_X[total + r], 7 * sizeof(double)) == 0);
        total += n;
    }
    CHECK(total == 5);
    make_block(&tb, &cells[0][0], NCOLS, 0, 0);
    n = dropped = 99;
    CHECK(ooc_model_eval(m, s, &tb.blk, NULL, NULL, &n, &dropped, NULL, &err) == OOC_OK);
    CHECK(n == 0 && dropped == 0);
    ooc_model_scratch_free(s);
    ooc_model_free(m);
}

/* Message of a failing formula: status, text, and the caret under [col, col+len). */
static void expect_formula_error(const char *formula, const char *text, size_t col, size_t len)
{
    ooc_error err;
    ooc_model *m = build(formula, NULL, 0, false, &err);
    CHECK_MSG(m == NULL, "%s: accepted", formula);
    ooc_model_free(m);
    CHECK_MSG(err.status == OOC_ERR_FORMULA, "%s: status %d", formula, (int)err.status);
    CHECK_MSG(strstr(err.message, text) != NULL, "%s: message %s", formula, err.message);
    char echo[512];
    snprintf(echo, sizeof echo, "\n  %s\n  ", formula);
    const char *at = strstr(err.message, echo);
    CHECK_MSG(at != NULL, "%s: formula not echoed: %s", formula, err.message);
    if (!at)
        return;
    const char *caret_line = at + strlen(echo) - 2;
    size_t spaces = strspn(caret_line + 2, " ");
    size_t carets = strspn(caret_line + 2 + spaces, "^");
    CHECK_MSG(spaces == col && carets == len, "%s: caret at %zu+%zu, expected %zu+%zu: %s",
              formula, spaces, carets, col, len, err.message);
}

static void test_errors(void)
{
    expect_formula_error("y ~ a + )", "unexpected token ')'", 8, 1);
    expect_formula_error("y ~ (a + b", "unmatched '('", 4, 1);
    expect_formula_error("y ~ a + b)", "missing '(' or extra ')'", 9, 1);
    expect_formula_error("y ~ a +", "formula ends after '+'", 6, 1);
    expect_formula_error("y ~ * a", "unexpected token '*'", 4, 1);
    expect_formula_error("y ~ a b", "unexpected token 'b'", 6, 1);
    expect_formula_error("y ~ foo(a)", "unknown function 'foo'", 4, 3);
    expect_formula_error("y ~ np.lg(a)", "unknown function 'np.lg'", 4, 2);
    expect_formula_error("y ~ I(a +)", "unexpected token ')'", 9, 1);
    expect_formula_error("y ~ C(g, levels=nope)", "unknown formula variable 'nope'", 16, 4);
    expect_formula_error("y ~ C(g, Foo)", "unsupported contrast 'Foo'", 9, 3);
    expect_formula_error("y ~ C(g, Helmert(1))", "Helmert takes no arguments", 17, 1);
    expect_formula_error("y ~ C(g, Poly([1, 1, 2]))", "Poly scores must be distinct", 14, 1);
    expect_formula_error("y ~ C(g, levels=[1, 1])", "duplicate level", 16, 1);
    expect_formula_error("y ~ C(g, levels=[1, 'a'])", "all numbers, all strings", 16, 1);
    expect_formula_error("y ~ C(g, Treatment(7))", "specified level 7 is out of range", 4, 18);
    expect_formula_error("y ~ C(s, Treatment('zz'))", "specified level 'zz' not found", 4, 21);
    expect_formula_error("y ~ a + nosuch", "unknown column 'nosuch'", 8, 6);
    expect_formula_error("y ~ I(nosuch * 2)", "unknown column 'nosuch'", 6, 6);
    expect_formula_error("y ~ a + 2", "numbers besides '0' and '1'", 8, 1);
    expect_formula_error("y ~ a:1", "intercept term cannot interact", 6, 1);
    expect_formula_error("y ~ (a + b)**0", "'**' requires a positive integer", 13, 1);
    expect_formula_error("y ~ -a", "unary minus can only be applied to 1 or 0", 4, 2);
    expect_formula_error("y ~ a ~ b", "'~' can only be used once", 0, 5);
    expect_formula_error("a + b ~ c", "left-hand side must be a single", 0, 5);
    expect_formula_error("C(s) ~ a", "response cannot be categorical", 0, 4);
    expect_formula_error("y ~ C(a + b)", "C() of a numeric expression needs its levels as numbers",
                         6, 1);
    expect_formula_error("y ~ 'text'", "a string is supported only as a level", 4, 6);
    expect_formula_error("y ~ I(s < 'lo')", "only == and != compare texts", 8, 1);
    expect_formula_error("y ~ I(s == b'lo')", "a bytes literal never equals a text", 11, 5);
    expect_formula_error("y ~ I(s == f'lo')", "f-strings are not supported", 11, 5);
    expect_formula_error("y ~ I(s + 1 == 'lo')", "a string compares only with a column", 12, 2);
    expect_formula_error("y ~ I(s == 'a' + 'b')", "unexpected token '+'", 15, 1);
    expect_formula_error("y ~ s == '\\x4'", "bad escape in a string literal", 9, 5);
    expect_formula_error("y ~ s == '\\N{DIGIT ONE}'", "\\N{...} escapes are not supported", 9, 15);
    /* expressions: arity, types numpy would change or refuse, Python's keywords */
    expect_formula_error("y ~ np.clip(a, 0)", "np.clip takes 3 arguments", 4, 2);
    expect_formula_error("y ~ np.clip(a, 1, 0)", "a_min > a_max", 4, 2);
    expect_formula_error("y ~ np.clip(a, b, 1)", "bounds must be numbers or None", 15, 1);
    expect_formula_error("y ~ np.power(a)", "np.power() takes 2 arguments", 4, 2);
    expect_formula_error("y ~ np.exp(a, b)", "np.exp() takes 1 argument", 4, 2);
    expect_formula_error("y ~ np.clip(a, lo=0, hi=1)", "keyword arguments are not supported", 15,
                         2);
    expect_formula_error("y ~ square(a)", "unknown function 'square' (did you mean np.square?)",
                         4, 6);
    expect_formula_error("y ~ np.log(a > 0)", "needs numbers, not booleans", 4, 2);
    expect_formula_error("y ~ I(0 < a < 1)", "chained comparisons are not supported", 12, 1);
    expect_formula_error("y ~ I(a > 0 and b > 0)", "Python's 'and' is not supported", 12, 3);
    expect_formula_error("y ~ I(not a)", "Python's 'not' is not supported", 6, 3);
    expect_formula_error("y ~ I(~a)", "need booleans", 6, 1);
    expect_formula_error("y ~ I((a > 0) & b)", "need booleans", 14, 1);
    expect_formula_error("y ~ I((a > 0) + (b > 0))", "arithmetic between two booleans", 14, 1);
    expect_formula_error("y ~ I(-(a > 0))", "unary minus of a boolean", 6, 1);
    expect_formula_error("y ~ I(a > 0) + I(True)", "must depend on the data", 15, 1);
    expect_formula_error("y ~ C(a > 0, levels=['x'])", "levels of a boolean factor", 20, 1);
    expect_formula_error("a > 0 ~ b", "response cannot be categorical", 0, 5);
    expect_formula_error("y ~ a + 'unterminated", "unterminated string literal", 8, 1);
    expect_formula_error("y ~ a $ b", "unexpected character '$'", 6, 1);
    expect_formula_error("y ~ a[0", "unclosed bracket", 4, 3);
    expect_formula_error("y ~ I(a // 2)", "unsupported operator", 8, 2);
    expect_formula_error("y ~ I(3 * 2)", "must depend on the data", 4, 1);
    /* A long formula is shown as a window around the error, caret still aligned. */
    char longf[400];
    size_t k = (size_t)snprintf(longf, sizeof longf, "y ~ ");
    for (int i = 0; i < 80; i++)
        k += (size_t)snprintf(longf + k, sizeof longf - k, "a + ");
    snprintf(longf + k, sizeof longf - k, ") + b + c");
    ooc_error lerr;
    ooc_model *lm = build(longf, NULL, 0, false, &lerr);
    CHECK(lm == NULL && lerr.status == OOC_ERR_FORMULA);
    const char *echo = strstr(lerr.message, "\n  ...");
    CHECK_MSG(echo != NULL, "%s", lerr.message);
    if (echo) {
        const char *caret_line = strchr(echo + 1, '\n');
        size_t paren = (size_t)(strchr(echo + 1, ')') - echo);
        CHECK(caret_line && (size_t)(strchr(caret_line, '^') - caret_line) == paren);
    }
    /* A formula variable whose value is not a list literal: caret at its use. */
    static const ooc_formula_var bad[] = {{"lv", "[0, 1"}};
    ooc_model *m = NULL;
    ooc_error err;
    ooc_error_clear(&err);
    CHECK(ooc_model_parse("y ~ C(g, levels=lv)", bad, 1, &m, &err) == OOC_ERR_FORMULA);
    CHECK(strstr(err.message, "bad formula variable value") != NULL);
    CHECK(strstr(err.message, "\n                  ^^") != NULL);
    ooc_model_free(m);
}

/* Data errors: non-numeric value, unknown level, missing_is_error. */
static void test_data_errors(void)
{
    static const char *const bad_rows[3][NCOLS] = {
        {"1.0", "1", "0.5", "0", "lo", "True"},
        {"2.0", "2", "1.5", "7", "hi", "False"},
        {"3.0", "x3", "2.5", "1", "mid", "True"},
    };
    ooc_error err;
    /* bind: the sample has a non-number in a column used in arithmetic */
    ooc_model *m = NULL;
    ooc_error_clear(&err);
    CHECK(ooc_model_parse("y ~ I(a + 1)", NULL, 0, &m, &err) == OOC_OK);
    test_block tb;
    make_block(&tb, &bad_rows[0][0], NCOLS, 0, 3);
    ooc_model_data_options opts = {
        .file_name = "bad.csv", .na_values = NULL, .n_na_values = 0, .missing_is_error = false};
    CHECK(ooc_model_bind(m, header, NCOLS, &tb.blk, &opts, &err) == OOC_ERR_DATA);
    CHECK_MSG(strstr(err.message, "bad.csv, line 4, column 'a'") && strstr(err.message, "\"x3\""),
              "%s", err.message);
    ooc_model_free(m);

    /* eval: a non-number after bind, and a level outside the given levels */
    m = build("y ~ a + C(g, levels=[0, 1, 2])", NULL, 0, false, &err);
    CHECK(m != NULL);
    ooc_model_scratch *s = m ? ooc_model_scratch_new(m) : NULL;
    double X[3 * 8], y[3];
    size_t n, dropped;
    if (m && s) {
        make_block(&tb, &bad_rows[0][0], NCOLS, 0, 2);
        CHECK(ooc_model_eval(m, s, &tb.blk, X, y, &n, &dropped, NULL, &err) == OOC_ERR_DATA);
        CHECK_MSG(strstr(err.message, "line 3, column 'g'") && strstr(err.message, "\"7\""),
                  "%s", err.message);
        make_block(&tb, &bad_rows[0][0], NCOLS, 2, 1);
        ooc_error_clear(&err);
        CHECK(ooc_model_eval(m, s, &tb.blk, X, y, &n, &dropped, NULL, &err) == OOC_ERR_DATA);
        CHECK_MSG(strstr(err.message, "line 4, column 'a'") && strstr(err.message, "\"x3\""),
                  "%s", err.message);
    }
    ooc_model_scratch_free(s);
    ooc_model_free(m);

    /* missing_is_error names the column of the missing value */
    m = build("y ~ a + b", NULL, 0, true, &err);
    CHECK(m != NULL);
    s = m ? ooc_model_scratch_new(m) : NULL;
    if (m && s) {
        make_block(&tb, &cells[0][0], NCOLS, 0, NROWS);
        ooc_error_clear(&err);
        CHECK(ooc_model_eval(m, s, &tb.blk, X, y, &n, &dropped, NULL, &err) == OOC_ERR_DATA);
        CHECK_MSG(strstr(err.message, "sample.csv, line 3, column 'b': missing value \"NA\""),
                  "%s", err.message);
    }
    ooc_model_scratch_free(s);
    ooc_model_free(m);

    /* custom na_values: "NA" is then an ordinary (non-numeric) text */
    ooc_error_clear(&err);
    m = NULL;
    CHECK(ooc_model_parse("y ~ a + b", NULL, 0, &m, &err) == OOC_OK);
    static const char *const na[] = {"-999"};
    ooc_model_data_options custom = {
        .file_name = "c.csv", .na_values = na, .n_na_values = 1, .no_default_na = true};
    make_block(&tb, &cells[0][0], NCOLS, 0, 1);
    CHECK(ooc_model_bind(m, header, NCOLS, &tb.blk, &custom, &err) == OOC_OK);
    CHECK(ooc_model_finish_levels(m, &err) == OOC_OK);
    s = ooc_model_scratch_new(m);
    make_block(&tb, &cells[0][0], NCOLS, 0, 2);
    CHECK(ooc_model_eval(m, s, &tb.blk, X, y, &n, &dropped, NULL, &err) == OOC_ERR_DATA);
    CHECK(strstr(err.message, "column 'b'") != NULL);
    ooc_model_scratch_free(s);
    ooc_model_free(m);
}

/* Levels: int vs float vs string vs bool, as pandas dtypes make them. */
static void test_levels(void)
{
    static const char *const hdr[] = {"y", "n", "f", "s", "t"};
    static const char *const rows[5][5] = {
        {"1", "10", "2", "b", "TRUE"},  {"2", "9", "1.5", "B", "false"}, {"3", "10", "NA", "a", ""},
        {"4", "-3", "2.0", "é", "True"}, {"5", "9", "1e300", "", "False"},
    };
    static const struct {
        const char *formula;
        const char *names[8];
    } cases[] = {
        {"y ~ 0 + C(n)", {"C(n)[-3]", "C(n)[9]", "C(n)[10]"}},
        {"y ~ 0 + C(f)", {"C(f)[1.5]", "C(f)[2.0]", "C(f)[1e+300]"}},
        {"y ~ 0 + s", {"s[B]", "s[a]", "s[b]", "s[é]"}},
        {"y ~ 0 + t", {"t[False]", "t[True]"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ooc_model *m = NULL;
        ooc_error err;
        ooc_error_clear(&err);
        test_block tb;
        make_block(&tb, &rows[0][0], 5, 0, 5);
        ooc_model_data_options opts = {
            .file_name = "lv.csv", .na_values = NULL, .n_na_values = 0, .missing_is_error = false};
        CHECK(ooc_model_parse(cases[i].formula, NULL, 0, &m, &err) == OOC_OK);
        CHECK(ooc_model_bind(m, hdr, 5, &tb.blk, &opts, &err) == OOC_OK);
        CHECK(ooc_model_needs_level_scan(m));
        CHECK(ooc_model_scan_levels(m, &tb.blk, &err) == OOC_OK);
        CHECK_MSG(ooc_model_finish_levels(m, &err) == OOC_OK, "%s", err.message);
        for (size_t j = 0; cases[i].names[j]; j++)
            CHECK(j < ooc_model_ncols(m) &&
                  strcmp(ooc_model_column_name(m, j), cases[i].names[j]) == 0);
        ooc_model_free(m);
    }
    char buf[64];
    static const struct {
        double v;
        const char *repr;
    } reprs[] = {{1.0, "1.0"},      {0.1, "0.1"},          {1e16, "1e+16"},  {1e15, "1000000000000000.0"},
                 {1e-5, "1e-05"},   {0.0001, "0.0001"},    {-2.5, "-2.5"},   {1.0 / 3, "0.3333333333333333"},
                 {INFINITY, "inf"}, {123456789.125, "123456789.125"}, {5e-324, "5e-324"}};
    for (size_t i = 0; i < sizeof reprs / sizeof reprs[0]; i++) {
        ooc_python_float_repr(reprs[i].v, buf, sizeof buf);
        CHECK_STREQ(buf, reprs[i].repr);
    }
}

typedef struct thread_job {
    const ooc_model *m;
    const ooc_csv_block *blk;
    double *X;
    size_t n;
    ooc_status status;
} thread_job;

static void *eval_thread(void *arg)
{
    thread_job *job = arg;
    ooc_model_scratch *s = ooc_model_scratch_new(job->m);
    double y[64];
    size_t dropped;
    ooc_error err;
    ooc_error_clear(&err);
    job->status = OOC_ERR_NOMEM;
    for (int rep = 0; s && rep < 200; rep++)
        job->status = ooc_model_eval(job->m, s, job->blk, job->X, y, &job->n, &dropped, NULL, &err);
    ooc_model_scratch_free(s);
    return NULL;
}

/* Two threads evaluating the same const model give the single-thread result. */
static void test_threads(void)
{
    const char *rows[64][NCOLS];
    for (size_t r = 0; r < 64; r++)
        for (size_t c = 0; c < NCOLS; c++)
            rows[r][c] = cells[r % NROWS][c];
    ooc_error err;
    ooc_model *m = build("y ~ C(g)*s + np.log(a + 2) + I(b**2)", NULL, 0, false, &err);
    CHECK(m != NULL);
    if (!m)
        return;
    test_block tb;
    make_block(&tb, &rows[0][0], NCOLS, 0, 64);
    size_t p = ooc_model_ncols(m);
    double *X1 = calloc(64 * p, sizeof *X1), *X2 = calloc(64 * p, sizeof *X2),
           *X3 = calloc(64 * p, sizeof *X3);
    thread_job jobs[3] = {{m, &tb.blk, X1, 0, OOC_OK}, {m, &tb.blk, X2, 0, OOC_OK},
                          {m, &tb.blk, X3, 0, OOC_OK}};
    eval_thread(&jobs[0]);
    pthread_t t1, t2;
    CHECK(pthread_create(&t1, NULL, eval_thread, &jobs[1]) == 0);
    CHECK(pthread_create(&t2, NULL, eval_thread, &jobs[2]) == 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(jobs[0].status == OOC_OK && jobs[1].status == OOC_OK && jobs[2].status == OOC_OK);
    CHECK(jobs[0].n == 40 && jobs[1].n == 40 && jobs[2].n == 40);
    /* bitwise: the same operations on the same values in each thread (no reductions) */
    CHECK(memcmp(X1, X2, 40 * p * sizeof *X1) == 0 && memcmp(X1, X3, 40 * p * sizeof *X1) == 0);
    free(X1);
    free(X2);
    free(X3);
    ooc_model_free(m);
}

/* Token spacing (factor names) and regression cases from fuzzing. */
static void test_spacing_and_regressions(void)
{
    static const struct {
        const char *formula;
        const char *name;
    } cases[] = {
        {"y ~ I(a*b)", "I(a * b)"},
        {"y ~ C(g,Sum)", "C(g, Sum)[S.0]"},
        {"y ~ I( -a+b )", "I(-a + b)"},
        {"y ~ np . log ( a + 2 )", "np.log(a + 2)"},
        {"y ~ I(a**-1)", "I(a ** -1)"},
        {"y ~ 0 + C(g, levels = lv)", "C(g, levels=lv)[0]"},
    };
    static const ooc_formula_var vars[] = {{"lv", "range(3)"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ooc_error err;
        ooc_model *m = build(cases[i].formula, vars, 1, false, &err);
        CHECK_MSG(m != NULL, "%s: %s", cases[i].formula, err.message);
        if (!m)
            continue;
        size_t j = ooc_model_ncols(m) > 1 && strcmp(ooc_model_column_name(m, 0), "Intercept") == 0;
        CHECK(j < ooc_model_ncols(m) && strcmp(ooc_model_column_name(m, j), cases[i].name) == 0);
        ooc_model_free(m);
    }
    /* Inputs that must be rejected cleanly (no crash, formula error). */
    static const char *const rejected[] = {"(", ")", "~", "y ~", "((((", "y ~ C(", "y ~ C(g, ",
                                           "y ~ I(", "y ~ a +* b", "y ~ 1 ** 2", "**", "y ~ C(g)(",
                                           "y ~ C(g, levels=range(0, 5, 0))", "\"", "y ~ [a]"};
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        ooc_model *m = NULL;
        ooc_error err;
        ooc_error_clear(&err);
        ooc_status st = ooc_model_parse(rejected[i], NULL, 0, &m, &err);
        CHECK_MSG(st == OOC_ERR_FORMULA && m == NULL, "%s: status %d", rejected[i], (int)st);
        CHECK(strncmp(err.message, "formula error: ", 15) == 0);
    }
    /* Deep nesting and huge expansions are refused, not a stack overflow. */
    static char deep[8192];
    size_t k = 0;
    k += (size_t)snprintf(deep, sizeof deep, "y ~ I(");
    for (int i = 0; i < 3000; i++)
        deep[k++] = '(';
    deep[k++] = 'a';
    for (int i = 0; i < 3000; i++)
        deep[k++] = ')';
    deep[k++] = ')';
    deep[k] = '\0';
    ooc_error err;
    ooc_model *m = NULL;
    ooc_error_clear(&err);
    CHECK(ooc_model_parse(deep, NULL, 0, &m, &err) == OOC_ERR_FORMULA);
    CHECK(strstr(err.message, "nested too deeply") != NULL);
    k = (size_t)snprintf(deep, sizeof deep, "y ~ a");
    for (int i = 0; i < 1500 && k + 6 < sizeof deep; i++)
        k += (size_t)snprintf(deep + k, sizeof deep - k, " + -0");
    ooc_error_clear(&err);
    CHECK(ooc_model_parse(deep, NULL, 0, &m, &err) == OOC_OK);
    ooc_model_free(m);
    m = NULL;
    ooc_error_clear(&err);
    /* 255 x 255 x 255 terms: refused before the last product is formed */
    CHECK(ooc_model_parse("y ~ (a+b+c+d+e+f+g+h)**8:(i+j+k+l+m+n+o+p)**8:(q+r+s+t+u+v+w+x)**8",
                          NULL, 0, &m, &err) == OOC_ERR_FORMULA);
    CHECK_MSG(strstr(err.message, "the interactions expand to more than 8388608 terms") != NULL,
              "%s", err.message);
    /* The empty formula is patsy's "~ 1". */
    m = build("   ", NULL, 0, false, &err);
    CHECK(m && !ooc_model_has_response(m) && ooc_model_ncols(m) == 1);
    ooc_model_free(m);
    ooc_model_free(NULL);
    ooc_model_scratch_free(NULL);
}

int main(void)
{
    test_names();
    test_values();
    test_errors();
    test_data_errors();
    test_levels();
    test_threads();
    test_spacing_and_regressions();
    return TEST_EXIT();
}

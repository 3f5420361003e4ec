/*
 * test_base.c — the small shared pieces of host/src/base: the growable text
 * buffer (appends, growth, take, the recorded allocation failure reported as
 * OOC_ERR_NOMEM), the JSON string writer (each escape, NULL, UTF-8, the FILE
 * and text-buffer forms identical, every byte read back by the JSON reader)
 * the monotonic clock, and the double formatter (dtoa.h): every output reads
 * back bit for bit through strtod, uses no more digits than the shortest of
 * glibc's correctly rounded %.15g/%.16g/%.17g that round-trips (the
 * reference), and has printf's %g layout; the sorted spill (sorted_spill.h)
 * against qsort for one run in memory and many runs on disk, read twice; and
 * a temporary directory that cannot be written as an I/O error naming it.
 */
#include "base/clock.h"
#include "base/dtoa.h"
#include "base/json.h"
#include "base/sorted_spill.h"
#include "base/textbuf.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_textbuf(void)
{
    ooc_error err = {0};
    ooc_textbuf b = {0};
    char *text = NULL;

    /* nothing appended: an empty, allocated string */
    CHECK(ooc_textbuf_take(&b, &text, &err, "testing") == OOC_OK);
    CHECK(text && text[0] == '\0');
    free(text);

    ooc_textbuf_append(&b, "rows: ");
    ooc_textbuf_printf(&b, "%d, %s", 42, "done");
    ooc_textbuf_append_n(&b, "!?xyz", 1);
    ooc_textbuf_append_n(&b, NULL, 0);
    CHECK_STREQ(b.text, "rows: 42, done!");
    CHECK(b.len == strlen("rows: 42, done!"));

    /* growth well past the first allocation, by both kinds of append */
    ooc_textbuf_free(&b);
    for (int i = 0; i < 1000; i++)
        ooc_textbuf_printf(&b, "%04d,", i);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ooc_textbuf_append(&b, big);
    ooc_textbuf_printf(&b, "%s|", big);
    CHECK(!b.failed && b.len == 5000 + 2 * (sizeof big - 1) + 1);
    CHECK(!strncmp(b.text, "0000,0001,", 10) && !strncmp(b.text + 4995, "0999,x", 6));
    CHECK(b.text[b.len - 1] == '|' && b.text[b.len] == '\0');
    CHECK(ooc_textbuf_take(&b, &text, &err, "testing") == OOC_OK);
    CHECK(text && strlen(text) == 5000 + 2 * (sizeof big - 1) + 1);
    CHECK(b.text == NULL && b.len == 0 && b.cap == 0);
    free(text);

    /* a recorded failure: later appends ignored, take reports NOMEM */
    ooc_textbuf_append(&b, "partial");
    b.failed = true;
    ooc_textbuf_append(&b, " more");
    ooc_textbuf_printf(&b, " %d", 1);
    CHECK_STREQ(b.text, "partial");
    char sentinel[] = "sentinel";
    text = sentinel;
    CHECK(ooc_textbuf_take(&b, &text, &err, "describing '%s'", "x.h5") == OOC_ERR_NOMEM);
    CHECK(text == NULL);
    CHECK_MSG(strstr(err.message, "out of memory describing 'x.h5'") != NULL, "%s", err.message);
    CHECK(b.text == NULL && !b.failed);

    /* free leaves the buffer usable */
    ooc_textbuf_append(&b, "a");
    ooc_textbuf_free(&b);
    ooc_textbuf_append(&b, "b");
    CHECK_STREQ(b.text, "b");
    ooc_textbuf_free(&b);
}

/* s as written by ooc_json_append_string (heap). */
static char *json_literal(const char *s)
{
    ooc_error err;
    ooc_textbuf b = {0};
    char *text = NULL;
    ooc_json_append_string(&b, s);
    CHECK(ooc_textbuf_take(&b, &text, &err, "testing") == OOC_OK);
    return text;
}

/* The same by ooc_json_write_string, through a temporary file. */
static char *json_literal_file(const char *s)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f)
        return NULL;
    ooc_json_write_string(f, s);
    long n = ftell(f);
    rewind(f);
    char *text = calloc((size_t)n + 1, 1);
    CHECK(text && fread(text, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    return text;
}

static void check_literal(const char *s, const char *want)
{
    char *got = json_literal(s), *got_file = json_literal_file(s);
    CHECK(got && got_file);
    if (got && got_file) {
        CHECK_STREQ(got, want);
        CHECK_STREQ(got_file, want);
    }
    free(got);
    free(got_file);
}

static void test_json_string(void)
{
    check_literal(NULL, "null");
    check_literal("", "\"\"");
    check_literal("plain text", "\"plain text\"");
    check_literal("say \"hi\" \\ bye", "\"say \\\"hi\\\" \\\\ bye\"");
    check_literal("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
    check_literal("\x01\x1f\x7f|\b\f", "\"\\u0001\\u001f\\u007f|\\u0008\\u000c\"");
    check_literal("x ~ log(y) — µs", "\"x ~ log(y) — µs\"");

    /* every byte 1..255 (the upper half as valid UTF-8) reads back as it was */
    char all[400];
    size_t n = 0;
    for (int c = 1; c < 0x80; c++)
        all[n++] = (char)c;
    for (int c = 0x80; c < 0x100; c++) {
        all[n++] = (char)(0xc0 | (c >> 6));
        all[n++] = (char)(0x80 | (c & 0x3f));
    }
    all[n] = '\0';
    char *text = json_literal(all);
    ooc_error err;
    ooc_json_value *v = NULL;
    CHECK(text && ooc_json_parse(text, strlen(text), "literal", &v, &err) == OOC_OK);
    CHECK(v && v->type == OOC_JSON_STRING && !strcmp(v->string, all));
    ooc_json_free(v);
    free(text);
}

static void test_clock(void)
{
    int64_t ns0 = ooc_clock_ns();
    double s0 = ooc_clock_seconds();
    int64_t ns1 = ooc_clock_ns();
    double s1 = ooc_clock_seconds();
    CHECK(ns0 > 0 && ns1 >= ns0 && s1 >= s0);
    /* the two forms read the same clock */
    CHECK(s0 * 1e9 >= (double)ns0 - 1e3 && s0 * 1e9 <= (double)ns1 + 1e3);
}

/* Fewest of 15, 16, 17 digits with which glibc's (exact) %.*g reads back as x. */
static int reference_digits(double x)
{
    char buf[40];
    for (int d = 15; d < 17; d++) {
        snprintf(buf, sizeof buf, "%.*g", d, x);
        if (strtod(buf, NULL) == x)
            return d;
    }
    return 17;
}

/* Significant digits of a formatted number (mantissa digits, leading zeros
 * and the exponent not counted, trailing zeros stripped). */
static int significant_digits(const char *s)
{
    int n = 0, lead = 1, zeros = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (lead && *s == '0')
            continue;
        lead = 0;
        n++;
        zeros = *s == '0' ? zeros + 1 : 0;
    }
    return n - zeros;
}

/* One value: round trip, digit count against the reference; returns whether
 * it used more digits than the reference (allowed rarely: dtoa.c accepts a
 * shorter candidate only within 0.49 ulp, not 0.5). */
static int check_format(double x)
{
    char buf[OOC_DTOA_SIZE];
    size_t len = ooc_format_double(x, buf);
    uint64_t want, got;
    double back = strtod(buf, NULL);
    memcpy(&want, &x, 8);
    memcpy(&got, &back, 8);
    CHECK_MSG(len == strlen(buf) && len < OOC_DTOA_SIZE, "%s", buf);
    CHECK_MSG(got == want, "%.17g formatted as %s reads back as %.17g", x, buf, back);
    int ours = significant_digits(buf), ref = reference_digits(x);
    CHECK_MSG(ours <= 17 && ours <= (ref < 17 ? ref + 1 : 17), "%.17g: %s (reference %d digits)",
              x, buf, ref);
    return ours > ref && significant_digits(buf) > 0;
}

static void test_format_double(void)
{
    static const struct {
        double x;
        const char *text;
    } fixed[] = {
        {0.0, "0"},          {-0.0, "-0"},           {1.0, "1"},
        {0.1, "0.1"},        {-2.5, "-2.5"},          {123456.789, "123456.789"},
        {1e-05, "1e-05"},    {0.0001, "0.0001"},      {1e16, "10000000000000000"},
        {1e17, "1e+17"},     {1e100, "1e+100"},       {1.0 / 3.0, "0.3333333333333333"},
        {DBL_MAX, "1.7976931348623157e+308"},         {DBL_MIN, "2.2250738585072014e-308"},
        {DBL_TRUE_MIN, "4.94065645841247e-324"},      {9007199254740993.0, "9007199254740992"},
        {0.30000000000000004, "0.30000000000000004"}, {2.0 / 3.0, "0.6666666666666666"},
    };
    char buf[OOC_DTOA_SIZE];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        ooc_format_double(fixed[i].x, buf);
        CHECK_STREQ(buf, fixed[i].text);
        check_format(fixed[i].x);
    }
    ooc_format_double(NAN, buf);
    CHECK_STREQ(buf, "nan");
    ooc_format_double(-INFINITY, buf);
    CHECK_STREQ(buf, "-inf");
    /* powers of ten and their neighbours, where the decimal exponent is
     * found by correction */
    for (int k = -323; k <= 308; k++) {
        double p = pow(10.0, k);
        check_format(p);
        check_format(nextafter(p, 0.0));
        check_format(nextafter(p, INFINITY));
    }
    /* random bit patterns (every exponent, subnormals included) and random
     * short decimals (which must come out short) */
    uint64_t s = 0x9e3779b97f4a7c15u;
    int longer = 0, total = 0;
    for (int i = 0; i < 400000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double x;
        memcpy(&x, &s, 8);
        if (isfinite(x))
            longer += check_format(x), total++;
        double shortx = (double)(s % 1000000007u) / 1000.0;
        longer += check_format(shortx), total++;
        ooc_format_double(shortx, buf);
        CHECK_MSG(significant_digits(buf) <= 10, "%.17g formatted as %s", shortx, buf);
    }
    CHECK_MSG(longer * 1000 <= total, "%d of %d values took more digits than needed", longer,
              total);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* n values (ties, signed zeros, a wide range) through a spill of runs of run_values, read
 * back twice in qsort's order. */
static void check_spill(size_t n, size_t run_values, unsigned seed)
{
    ooc_error err = {0};
    ooc_sorted_spill *s = NULL;
    double *want = malloc((n + 1) * sizeof *want);
    CHECK(want && ooc_sorted_spill_create(run_values, "test values", &s, &err) == OOC_OK);
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        int r = rand();
        want[i] = r % 7 == 0 ? (double)(r % 5) : r % 11 == 0 ? -0.0 : ldexp(r - RAND_MAX / 2, r % 40 - 20);
        CHECK(ooc_sorted_spill_add(s, want[i], &err) == OOC_OK);
    }
    CHECK(ooc_sorted_spill_count(s) == n);
    qsort(want, n, sizeof *want, cmp_double);
    for (int pass = 0; pass < 2; pass++) {
        CHECK(ooc_sorted_spill_rewind(s, &err) == OOC_OK);
        ooc_status st = OOC_OK;
        double v;
        size_t i = 0;
        bool ordered = true;
        while (ooc_sorted_spill_next(s, &v, &st, &err)) {
            ordered = ordered && i < n && v == want[i];
            i++;
        }
        CHECK_MSG(st == OOC_OK && ordered && i == n, "n %zu run %zu pass %d: %zu values, %s", n,
                  run_values, pass, i, ordered ? "in order" : "out of order");
    }
    CHECK(ooc_sorted_spill_add(s, 1.0, &err) == OOC_ERR_INVALID_ARG);
    ooc_sorted_spill_free(s);
    free(want);
}

static void test_sorted_spill(void)
{
    check_spill(0, 8, 1);
    check_spill(5, 8, 2);           /* one run, in memory */
    check_spill(8, 8, 3);           /* exactly one full run */
    check_spill(1000, 8, 4);        /* 125 runs on disk, merged */
    check_spill(100003, 4096, 5);   /* runs longer than the merge buffer */
    /* a directory that cannot be written: OOC_ERR_IO naming it and TMPDIR */
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", "/nonexistent-oocsolve-dir", 1);
    ooc_error err = {0};
    ooc_sorted_spill *s = NULL;
    CHECK(ooc_sorted_spill_create(2, "the values of bs(x, df=5)", &s, &err) == OOC_OK);
    ooc_status st = OOC_OK;
    for (int i = 0; i < 3 && st == OOC_OK; i++)
        st = ooc_sorted_spill_add(s, i, &err);
    CHECK(st == OOC_ERR_IO && strstr(err.message, "/nonexistent-oocsolve-dir") &&
          strstr(err.message, "bs(x, df=5)") && strstr(err.message, "TMPDIR"));
    ooc_sorted_spill_free(s);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
}

int main(void)
{
    test_format_double();
    test_textbuf();
    test_json_string();
    test_clock();
    test_sorted_spill();
    return TEST_EXIT();
}

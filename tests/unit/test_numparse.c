/*
 * test_numparse.c — ooc_parse_double against glibc strtod, bit for bit.
 *
 * Inputs: ~2 million strings — random doubles of every exponent (random bit
 * patterns) printed with %.17g/%.15g/%.6g, seed-like values in [-1, 1] and
 * small integers, random digit strings of 1..25 digits with exponents
 * -350..350 (subnormals, overflow, underflow), exact halfway cases (integers
 * just above 2^53 and long-double midpoints between adjacent doubles printed
 * exactly), famous hard cases, and inputs that must be rejected.  strtod is
 * the independent reference: glibc's is correctly rounded.
 */
#include "csv/numparse.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

/* splitmix64: small, fast, good enough for test inputs. */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static long n_compared = 0;

/* s must be a complete number for strtod; our result must have the same bits. */
static void check_same(const char *s)
{
    char *endp;
    double ref = strtod(s, &endp);
    if (*endp != '\0') {
        CHECK_MSG(0, "test input \"%s\" is not a complete number for strtod", s);
        return;
    }
    double got = -12345.0;
    bool ok = ooc_parse_double(s, strlen(s), &got);
    n_compared++;
    if (!ok) {
        CHECK_MSG(0, "rejected \"%s\"", s);
        return;
    }
    if (isnan(ref)) {
        CHECK_MSG(isnan(got) && signbit(got) == signbit(ref), "\"%s\": expected %s nan", s,
                  signbit(ref) ? "-" : "+");
        return;
    }
    CHECK_MSG(bits_of(got) == bits_of(ref), "\"%s\": got %.17g (0x%016llx), strtod %.17g (0x%016llx)",
              s, got, (unsigned long long)bits_of(got), ref, (unsigned long long)bits_of(ref));
}

static void check_rejected(const char *s)
{
    double got = 42.0;
    bool ok = ooc_parse_double(s, strlen(s), &got);
    CHECK_MSG(!ok, "accepted \"%s\" as %.17g", s, got);
    CHECK_MSG(got == 42.0, "\"%s\": output written although rejected", s);
}

static void check_value(const char *s, double expected)
{
    double got = 0;
    bool ok = ooc_parse_double(s, strlen(s), &got);
    CHECK_MSG(ok && bits_of(got) == bits_of(expected), "\"%s\": got %.17g, expected %.17g", s, got,
              expected);
}

static void test_random_doubles(void)
{
    char buf[64];
    for (int i = 0; i < 500000; i++) {
        uint64_t u = rng_next();
        double d;
        memcpy(&d, &u, sizeof d);
        if (!isfinite(d))
            continue;
        snprintf(buf, sizeof buf, "%.17g", d);
        check_same(buf);
        snprintf(buf, sizeof buf, "%.15g", d);
        check_same(buf);
        snprintf(buf, sizeof buf, "%.6g", d);
        check_same(buf);
    }
    /* The seed workload: standard-normal-ish values and 1e-5-scale values with %.17g. */
    for (int i = 0; i < 200000; i++) {
        double d = ((double)(rng_next() >> 11) * 0x1p-53 - 0.5) * 4.0;
        if (i % 4 == 1)
            d *= 1e-5;
        snprintf(buf, sizeof buf, "%.17g", d);
        check_same(buf);
    }
    /* Small integers (categorical codes, counts). */
    for (int i = -1000; i <= 100000; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        check_same(buf);
    }
}

static void test_random_decimal_strings(void)
{
    char buf[96];
    for (int i = 0; i < 400000; i++) {
        int ndigits = 1 + (int)(rng_next() % 25);
        int exp10 = (int)(rng_next() % 701) - 350;
        int point = (int)(rng_next() % (uint64_t)(ndigits + 1)); /* digits before '.' */
        size_t o = 0;
        if (rng_next() & 1)
            buf[o++] = '-';
        for (int k = 0; k < ndigits; k++) {
            if (k == point)
                buf[o++] = '.';
            /* Mostly random digits; sometimes long runs of 9 or 0 (carry/tie stress). */
            uint64_t r = rng_next();
            int digit = (i % 7 == 0) ? 9 : (i % 7 == 1 && k > 0) ? 0 : (int)(r % 10);
            buf[o++] = (char)('0' + digit);
        }
        snprintf(buf + o, sizeof buf - o, "e%d", exp10);
        check_same(buf);
    }
}

static void test_halfway_cases(void)
{
    char buf[1200];
    /* Integers m*2^s + 2^(s-1): exactly halfway between two doubles. */
    for (int i = 0; i < 100000; i++) {
        int s = 1 + (int)(rng_next() % 11); /* result < 2^64 */
        uint64_t m = (UINT64_C(1) << 52) | (rng_next() >> 12);
        uint64_t v = (m << s) | (UINT64_C(1) << (s - 1));
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
        check_same(buf);
        /* Same value with a moved decimal point and exponent: still a tie. */
        snprintf(buf, sizeof buf, "%llu.%03llue3", (unsigned long long)(v / 1000),
                 (unsigned long long)(v % 1000));
        check_same(buf);
    }
    /* Midpoints between adjacent doubles, printed exactly (x86 long double has
     * 64 mantissa bits, so the midpoint of two doubles is exact in it). */
    if (LDBL_MANT_DIG >= 64) {
        for (int i = 0; i < 20000; i++) {
            int e = (int)(rng_next() % 200) - 100;
            double x = ldexp(1.0 + (double)(rng_next() >> 11) * 0x1p-53, e);
            double y = nextafter(x, INFINITY);
            long double mid = ((long double)x + (long double)y) / 2;
            snprintf(buf, sizeof buf, "%.400Le", mid);
            check_same(buf);
            /* Just above and just below the midpoint. */
            char *ep = strchr(buf, 'e');
            char expo[16];
            snprintf(expo, sizeof expo, "%s", ep);
            char *last = ep - 1;
            while (*last == '0')
                last--;
            /* buf now: digits of the exact midpoint ... append a 1 far away -> above */
            char above[1300];
            snprintf(above, sizeof above, "%.*s000001%s", (int)(last - buf + 1), buf, expo);
            check_same(above);
            /* Decrement the last significant digit -> below (digit >= 1 since non-zero). */
            char below[1300];
            snprintf(below, sizeof below, "%.*s%c999999%s", (int)(last - buf), buf, *last - 1, expo);
            check_same(below);
            /* A non-zero digit beyond the 780 digits the fallback keeps: must still round up. */
            if (i % 10 == 0) {
                char far[2200];
                snprintf(far, sizeof far, "%.*s%0900d1%s", (int)(last - buf + 1), buf, 0, expo);
                check_same(far);
            }
        }
    }
}

static void test_special_values(void)
{
    static const char *const cases[] = {
        "0", "-0", "+0", "0.0", "-0.0", "0e0", "0e-999999999", "-0e999999999", "00000.00000",
        "1", "-1", "+1", ".5", "5.", "-.5", "+5.", "1e0", "1E+0", "1e-0", "1.5e+3",
        "9007199254740992", "9007199254740993", "9007199254740994", "9007199254740995",
        "9007199254740993.0000000000000000000001", "9007199254740992.9999999999999999999999",
        "18446744073709551615", "18446744073709551616", "99999999999999999999",
        "2.2250738585072011e-308", "2.2250738585072012e-308", "2.2250738585072014e-308",
        "2.225073858507201136057409796709131975934819546351645648e-308",
        "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
        "2.47032822920623272088284396434110686182529901307162382212792841250337753635104375932649918180817996189898282347722858865463328355177969898199387398005390939063150356595155702263922908583924491051844359318028499365361525003193704576782492193656236698636584807570015857692699037063119282795585513329278343384093519780155312465972635795746227664652728272200563740064854999770965994704540208281662262378573934507363390079677619305775067401763246736009689513405355374585166611342237666786041621596804619144672918403005300575308490487653917113865916462395249126236538818796362393732804238910186723484976682350898633885879256283027559956575244555072551893136908362547791869486679949683240497058210285131854513962138377228261454376934125320985913276672363281255e-324",
        "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
        "1e308", "1e309", "-1e309", "1e-400", "-1e-400", "1e400000000000", "1e-400000000000",
        "123456789012345678901234567890e-30", "0.000000000000000000000000000001e30",
        "7.2057594037927933e16", "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "-0.45636215016010846", "1.2345678901234567e-05", "3", "4", "0.1", "0.2", "0.3",
        "inf", "-inf", "+INF", "Infinity", "-INFINITY", "iNfInItY", "nan", "NaN", "-nan", "+NAN",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_same(cases[i]);

    /* Long digit strings: beyond 19 digits and beyond the 780-digit fallback copy. */
    static char longbuf[4000];
    memset(longbuf, '3', 3000);
    longbuf[0] = '0';
    longbuf[1] = '.';
    strcpy(longbuf + 3000, "e-5");
    check_same(longbuf);
    memset(longbuf, '0', 3000);
    longbuf[0] = '1';
    strcpy(longbuf + 3000, "e-3010");
    check_same(longbuf);
    longbuf[2999] = '1';
    check_same(longbuf);
}

static void test_blanks_and_bounds(void)
{
    check_value("  1.5", 1.5);
    check_value("1.5  ", 1.5);
    check_value("\t-2.25\t ", -2.25);
    check_value(" inf ", INFINITY);
    /* Not NUL-terminated: only the first len bytes count. */
    const char text[] = "1.5999";
    double d = 0;
    CHECK(ooc_parse_double(text, 3, &d) && d == 1.5);
    CHECK(ooc_parse_double("12e3x", 4, &d) && d == 12000.0);
    CHECK(!ooc_parse_double("12e3x", 3, &d));
}

static void test_rejections(void)
{
    static const char *const cases[] = {
        "", " ", "\t", "-", "+", ".", "-.", "+.", "e", "e5", "1e", "1e+", "1e-", "1E", ".e1",
        "1.2.3", "1..2", "--1", "+-1", "1-", "0x10", "0x1p3", "1p3", "1,5", "1 5", "1.5 x",
        "abc", "in", "infinit", "infinityy", "nana", "nan(1)", "- 1", "1e 5", "1e5.5", "١",
        "1\n", "\n1", "\r1", "1\r", "+inf+", "∞",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_rejected(cases[i]);
}

int main(void)
{
    test_special_values();
    test_blanks_and_bounds();
    test_rejections();
    test_halfway_cases();
    test_random_doubles();
    test_random_decimal_strings();
    printf("compared %ld strings with strtod\n", n_compared);
    return TEST_EXIT();
}

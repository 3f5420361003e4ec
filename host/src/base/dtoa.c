/*
 * dtoa.c — fast round-trip formatting of doubles (dtoa.h).
 *
 * Why extended precision suffices.  For finite x ≠ 0 with decimal exponent
 * e (10^e <= |x| < 10^(e+1)), the candidate of d digits is the integer
 * D = round(|x|·10^(d-1-e)); it is exact in long double (D < 10^17 < 2^64).
 * With 64 mantissa bits, s = |x|·10^(16-e) is computed with a relative error
 * below ~2·2^-64 ≈ 1.1e-19 (the powers of ten, from powl, are correct to
 * within an ulp; then one rounded product), and s·10^(d-17) with ~2.2e-19.
 * A candidate is accepted when |D·10^(e+1-d) - |x|| < 0.495 ulp(x),
 * evaluated in long double: the evaluation errs by at most ~3e-19·|x|
 * (those errors, one more power and product, an exact subtraction), below
 * 0.003 ulp(x) (ulp(x) >= 2^-53·|x|), so an accepted candidate is within
 * half an ulp of x and strtod (correctly rounded) returns x.  Candidates
 * between 0.495 and 0.505 ulp away (short decimals land there 1% of the
 * time) are decided by strtod itself.  The
 * 17-digit candidate always passes: its rounding error is at most
 * 0.5·10^-16·|x| (+ the 1.1e-19·|x| above), below half an ulp
 * (>= 2^-54·|x| ≈ 5.55e-17·|x|), hence the usual rule that 17 digits
 * round-trip.  Subnormals have fewer mantissa bits and so a wider ulp,
 * which only widens the margin.
 *
 * Where long double is not the x87 format (fewer than 64 mantissa bits),
 * the bound does not hold and snprintf("%.17g") is used instead.
 */
#include "base/dtoa.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes the decimal digits of d (exactly `digits` of them, leading ones
 * included) into out. */
static void put_digits(uint64_t d, int digits, char *out)
{
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = (char)('0' + d % 10);
        d /= 10;
    }
}

/* Formats sign, the significant digits sig[0..n) (no trailing zeros) and
 * the decimal exponent e of the first digit in %g's layout for precision 17. */
static size_t layout(int negative, const char *sig, int n, int e, char *buf)
{
    char *o = buf;
    if (negative)
        *o++ = '-';
    if (e < -4 || e >= 17) {
        *o++ = sig[0];
        if (n > 1) {
            *o++ = '.';
            memcpy(o, sig + 1, (size_t)(n - 1));
            o += n - 1;
        }
        o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -e - 1; i++)
            *o++ = '0';
        memcpy(o, sig, (size_t)n);
        o += n;
    } else {
        for (int i = 0; i <= e; i++)
            *o++ = i < n ? sig[i] : '0';
        if (n > e + 1) {
            *o++ = '.';
            memcpy(o, sig + e + 1, (size_t)(n - e - 1));
            o += n - e - 1;
        }
    }
    *o = '\0';
    return (size_t)(o - buf);
}

#if LDBL_MANT_DIG >= 64
/* 10^k for k in [POW_MIN, POW_MAX], each correctly rounded by powl (within
 * an ulp); filled once.  The exponents used are d - 1 - e and e, e + 1 with
 * e in [-324, 308] and d <= 17. */
enum { POW_MIN = -340, POW_MAX = 340 };
static long double pow10_table[POW_MAX - POW_MIN + 1];
static pthread_once_t pow10_once = PTHREAD_ONCE_INIT;

static void fill_pow10(void)
{
    for (int k = POW_MIN; k <= POW_MAX; k++)
        pow10_table[k - POW_MIN] = powl(10.0L, (long double)k);
}

static long double pow10l_of(int k)
{
    return pow10_table[k - POW_MIN];
}

/* The d-digit candidate from s = a·10^(16-e) (d <= 17): its digits in
 * *digits, the exponent of its first digit in *exp (e + 1 when rounding
 * carried to 10^d); returns its value. */
static long double candidate(long double s, int e, int d, uint64_t *digits, int *exp)
{
    long double scaled = d == 17 ? s : s * pow10l_of(d - 17);
    uint64_t dd = (uint64_t)(scaled + 0.5L);
    *exp = e;
    if ((long double)dd >= pow10l_of(d)) { /* rounded up to 10^d */
        dd /= 10;
        *exp = e + 1;
    }
    *digits = dd;
    return (long double)dd * pow10l_of(*exp + 1 - d);
}
#endif

#if LDBL_MANT_DIG >= 64
/* Whether the d digits (first digit's exponent exp) read back as x. */
static int round_trips(int negative, uint64_t digits, int d, int exp, double x)
{
    char sig[17], text[OOC_DTOA_SIZE];
    put_digits(digits, d, sig);
    layout(negative, sig, d, exp, text);
    return strtod(text, NULL) == x;
}
#endif

size_t ooc_format_double(double x, char *buf)
{
#if LDBL_MANT_DIG < 64
    return (size_t)snprintf(buf, OOC_DTOA_SIZE, "%.17g", x);
#else
    if (!isfinite(x))
        return (size_t)snprintf(buf, OOC_DTOA_SIZE, "%g", x);
    int negative = signbit(x) != 0;
    if (x == 0.0)
        return layout(negative, "0", 1, 0, buf);
    pthread_once(&pow10_once, fill_pow10);
    double ax = fabs(x);
    long double a = ax;
    /* ulp(x): the gap to the next double away from zero (for the largest
     * double, the equal gap below it) */
    long double ulp = ax < DBL_MAX ? (long double)nextafter(ax, INFINITY) - a
                                   : a - (long double)nextafter(ax, 0.0);
    /* the decimal exponent from the binary one (log10(2) < 0.30103), then
     * corrected so that 10^e <= a < 10^(e+1) */
    int bexp;
    frexp(ax, &bexp);
    int e = (int)floor((bexp - 1) * 0.30102999566398120);
    while (pow10l_of(e) > a)
        e--;
    while (pow10l_of(e + 1) <= a)
        e++;
    long double s = a * pow10l_of(16 - e);
    uint64_t digits;
    int d = 15, exp;
    for (; d < 17; d++) {
        long double gap = fabsl(candidate(s, e, d, &digits, &exp) - a);
        if (gap < 0.495L * ulp)
            break;
        /* too close to half an ulp for the evaluation's error (< 0.003
         * ulp): strtod decides */
        if (gap < 0.505L * ulp && round_trips(negative, digits, d, exp, x))
            break;
    }
    if (d == 17)
        candidate(s, e, d, &digits, &exp);
    char sig[17];
    put_digits(digits, d, sig);
    int n = d;
    while (n > 1 && sig[n - 1] == '0')
        n--;
    return layout(negative, sig, n, exp, buf);
#endif
}

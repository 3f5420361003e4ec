/*
 * numparse.c — fast, correctly rounded decimal text -> double (see numparse.h).
 *
 * Pipeline for one number:
 *   1. Syntax: spaces/tabs, sign, digits, '.', digits, exponent, spaces/tabs.
 *      The significand's digits accumulate into a uint64 w while scanning
 *      (wrapping is harmless: w is only used when there are <= 19 digits).
 *   2. Clinger's fast path: w <= 2^53 and |q| <= 22 means w and 10^|q| are
 *      both exact doubles, so one IEEE multiply/divide rounds correctly.
 *   3. Eisel-Lemire: multiply the normalised w by a 128-bit truncation of
 *      10^q and read the 53-bit result off the top of the product; give up
 *      (fall back) when the truncation error could change the rounding, or
 *      when the result is subnormal or overflows.
 *   4. More than 19 significant digits: w = first 19 digits; the value lies in
 *      [w*10^q, (w+1)*10^q), so if both ends round to the same double, that is
 *      the answer (rounding is monotonic).
 *   5. Fallback: strtod_l in the "C" locale on a canonical NUL-terminated copy
 *      "0.DDDDe±X" built in a stack buffer (never the caller's text, which need
 *      not be terminated).  At most 780 significant digits are kept, plus one
 *      '1' digit when any dropped digit was non-zero: every midpoint between two
 *      doubles has at most 767 significant digits, so the sticky digit keeps the
 *      copy on the same side of every midpoint as the original text.
 *
 * The power-of-ten table (10^-342 .. 10^308, the range where a non-zero
 * 19-digit significand can give a finite non-zero double) is computed at first
 * use, under pthread_once (an atomic flag skips even that once the table is
 * ready), with exact multi-word integer arithmetic:
 *   q >= 0: 5^q exactly, by repeated multiplication by 5, top 128 bits kept;
 *   q <  0: floor(2^1023 / 5^-q), by repeated exact division by 5
 *           (floor(floor(x/a)/b) == floor(x/(a*b))), top 128 bits kept.
 * Either way the entry is floor(10^q * 2^s) for the s that puts it in
 * [2^127, 2^128), and the exact binary exponent floor(log2 10^q) comes out of
 * the same computation.  Computing it (about 30 µs, once) instead of embedding
 * 1300 generated constants keeps the source reviewable, needs no generator
 * script or build-time Python, and the exhaustive comparison with strtod in
 * tests/unit/test_numparse.c checks every entry that matters.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l, newlocale */
#endif
#include "csv/numparse.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

enum {
    POW10_MIN = -342,
    POW10_MAX = 308,
    POW10_COUNT = POW10_MAX - POW10_MIN + 1,
    MAX_FAST_DIGITS = 19,
    /* Fallback copy: significant digits kept, then room for sign, "0.", sticky, exponent, NUL. */
    FALLBACK_DIGITS = 780,
    FALLBACK_BUF = FALLBACK_DIGITS + 32,
};

typedef struct pow10_entry {
    uint64_t hi, lo;  /* floor(10^q * 2^s) in [2^127, 2^128) */
    int32_t log2;     /* floor(log2(10^q)) */
} pow10_entry;

static pow10_entry pow10_table[POW10_COUNT];
/* The "C" locale for the strtod fallback; NULL only if newlocale failed, and
 * then plain strtod is used (correct unless the program changed LC_NUMERIC). */
static locale_t c_locale;
static pthread_once_t pow10_once = PTHREAD_ONCE_INIT;
static atomic_bool pow10_ready; /* set (release) when the table is complete: skips pthread_once */

/* Multi-word unsigned integer, 32-bit limbs, least significant first. */
enum { BIG_LIMBS = 32 }; /* 1024 bits: holds 2^1023 and 5^308 (< 2^716) */
typedef struct big {
    uint32_t limb[BIG_LIMBS];
    int n; /* limbs in use; limb[n-1] != 0 */
} big;

static int big_bitlen(const big *b)
{
    return (b->n - 1) * 32 + (32 - __builtin_clz(b->limb[b->n - 1]));
}

static uint32_t big_limb(const big *b, int i) { return i < b->n ? b->limb[i] : 0u; }

/* The 128 bits of b that start at its most significant set bit (truncated
 * below; b shifted up when it has fewer than 128 bits). */
static void big_top128(const big *b, uint64_t *hi, uint64_t *lo)
{
    int shift = big_bitlen(b) - 128;
    u128 top = 0;
    if (shift <= 0) {
        for (int i = b->n - 1; i >= 0; i--)
            top = (top << 32) | b->limb[i];
        top <<= -shift;
    } else {
        int first = shift / 32, off = shift % 32;
        for (int i = 3; i >= 0; i--)
            top = (top << 32) | big_limb(b, first + i);
        top >>= off;
        if (off)
            top |= (u128)big_limb(b, first + 4) << (128 - off);
    }
    *hi = (uint64_t)(top >> 64);
    *lo = (uint64_t)top;
}

static void pow10_table_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    big b;
    /* q >= 0: 5^q. */
    memset(&b, 0, sizeof b);
    b.limb[0] = 1;
    b.n = 1;
    for (int q = 0; q <= POW10_MAX; q++) {
        pow10_entry *e = &pow10_table[q - POW10_MIN];
        big_top128(&b, &e->hi, &e->lo);
        e->log2 = q + big_bitlen(&b) - 1;
        uint64_t carry = 0;
        for (int i = 0; i < b.n; i++) {
            uint64_t t = (uint64_t)b.limb[i] * 5u + carry;
            b.limb[i] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry)
            b.limb[b.n++] = (uint32_t)carry;
    }
    /* q < 0: floor(2^1023 / 5^-q); 10^q = 2^q / 5^-q. */
    const int k_bits = 32 * BIG_LIMBS - 1;
    memset(&b, 0, sizeof b);
    b.limb[BIG_LIMBS - 1] = 0x80000000u;
    b.n = BIG_LIMBS;
    for (int q = -1; q >= POW10_MIN; q--) {
        uint64_t rem = 0;
        for (int i = b.n - 1; i >= 0; i--) {
            uint64_t cur = (rem << 32) | b.limb[i];
            b.limb[i] = (uint32_t)(cur / 5u);
            rem = cur % 5u;
        }
        while (b.n > 1 && b.limb[b.n - 1] == 0)
            b.n--;
        pow10_entry *e = &pow10_table[q - POW10_MIN];
        big_top128(&b, &e->hi, &e->lo);
        e->log2 = q + big_bitlen(&b) - 1 - k_bits;
    }
    atomic_store_explicit(&pow10_ready, true, memory_order_release);
}

/* Build the table on first use (thread-safe). */
static inline void pow10_table_ensure(void)
{
    if (!atomic_load_explicit(&pow10_ready, memory_order_acquire))
        pthread_once(&pow10_once, pow10_table_init);
}

/* 10^0 .. 10^22: every one is exactly representable as a double (5^22 < 2^53). */
static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Eisel-Lemire: the double nearest w * 10^q (w != 0), or false when the
 * 128-bit truncation cannot decide, or the result is subnormal, zero or
 * infinite (those go to the fallback). */
static bool eisel_lemire(uint64_t w, int64_t q, double *out)
{
    if (q < POW10_MIN || q > POW10_MAX)
        return false;
    const pow10_entry *e = &pow10_table[q - POW10_MIN];
    int lz = __builtin_clzll(w);
    uint64_t wn = w << lz;

    /* T = wn * 10^q-mantissa / 2^64 = A + eps with A = wn*hi (128 bits), 0 <= eps < wn. */
    u128 a = (u128)wn * e->hi;
    uint64_t top = (uint64_t)(a >> 64), low = (uint64_t)a;
    if ((top & 0x1FF) == 0x1FF && low + wn < low) {
        /* A carry from eps could reach the rounding window: add wn*lo / 2^64. */
        u128 b = (u128)wn * e->lo;
        uint64_t b_hi = (uint64_t)(b >> 64), b_lo = (uint64_t)b;
        uint64_t low2 = low + b_hi;
        uint64_t top2 = top + (low2 < low);
        /* Remaining error (b_lo + wn*frac)/2^64 < 2: undecidable only if it can still carry. */
        if ((top2 & 0x1FF) == 0x1FF && low2 == UINT64_MAX && b_lo + wn < b_lo)
            return false;
        top = top2;
        low = low2;
    }
    int msb = (int)(top >> 63);
    uint64_t mant = top >> (msb + 9); /* 54 bits: 53 + round bit */
    /* Exactly halfway as far as we can see: round-half-even needs the exact tail. */
    if (low == 0 && (top & 0x1FF) == 0 && (mant & 3) == 1)
        return false;
    int64_t biased = (int64_t)e->log2 - lz + 63 + msb + 1023;
    mant = (mant + (mant & 1)) >> 1;
    if (mant >> 53) {
        mant >>= 1;
        biased++;
    }
    if (biased <= 0 || biased >= 0x7FF)
        return false;
    uint64_t bits = ((uint64_t)biased << 52) | (mant & ((UINT64_C(1) << 52) - 1));
    memcpy(out, &bits, sizeof bits);
    return true;
}

/* strtod on the canonical copy, independent of the process's LC_NUMERIC. */
static double fallback_strtod(const char *buf)
{
    return c_locale ? strtod_l(buf, NULL, c_locale) : strtod(buf, NULL);
}

static inline bool is_digit(char c) { return (unsigned)(c - '0') < 10u; }
static inline bool is_blank(char c) { return c == ' ' || c == '\t'; }
static inline char lower(char c) { return (char)(c | 0x20); }

/* If p[0..8) are all ASCII digits, their value (p[0] most significant) in *v. */
static inline bool parse_eight_digits(const char *p, uint64_t *v)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    /* Every byte 0x30..0x39: high nibble 3, and adding 6 does not leave it. */
    if ((x & 0xF0F0F0F0F0F0F0F0u) != 0x3030303030303030u ||
        ((x + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) != 0x3030303030303030u)
        return false;
    x -= 0x3030303030303030u; /* byte i = digit i (little-endian: first digit lowest) */
    x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFu;       /* 16-bit lanes: 2-digit values */
    x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFu;     /* 32-bit lanes: 4-digit values */
    *v = (x * 10000 + (x >> 32)) & 0xFFFFFFFFu;          /* the 8-digit value */
    return true;
}

/* Append the run of decimal digits starting at p (before end) to *w, eight
 * at a time where possible; returns the first character after the run.  *w
 * wraps beyond 19 digits: callers count the digits and use it only for up
 * to MAX_FAST_DIGITS of them. */
static inline const char *accumulate_digits(const char *p, const char *end, uint64_t *w)
{
    uint64_t eight;
    while (end - p >= 8 && parse_eight_digits(p, &eight)) {
        *w = *w * 100000000u + eight;
        p += 8;
    }
    while (p < end && is_digit(*p)) {
        *w = *w * 10u + (uint64_t)(*p - '0');
        p++;
    }
    return p;
}

static bool match_word(const char *p, const char *end, const char *word, size_t n)
{
    if ((size_t)(end - p) < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != word[i])
            return false;
    return true;
}

bool ooc_parse_double(const char *text, size_t len, double *out)
{
    const char *p = text, *end = text + len;
    while (p < end && is_blank(*p))
        p++;
    while (end > p && is_blank(end[-1]))
        end--;
    if (p == end)
        return false;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
        if (p == end)
            return false;
    }

    if (!is_digit(*p) && *p != '.') {
        double v;
        if (match_word(p, end, "infinity", 8) && end - p == 8)
            v = HUGE_VAL;
        else if (match_word(p, end, "inf", 3) && end - p == 3)
            v = HUGE_VAL;
        else if (match_word(p, end, "nan", 3) && end - p == 3)
            v = NAN;
        else
            return false;
        *out = neg ? -v : v;
        return true;
    }

    /* Significand. */
    uint64_t w = 0;
    const char *int_start = p;
    p = accumulate_digits(p, end, &w);
    const char *int_end = p;
    const char *frac_start = p, *frac_end = p;
    if (p < end && *p == '.') {
        p++;
        frac_start = p;
        p = accumulate_digits(p, end, &w);
        frac_end = p;
    }
    size_t nint = (size_t)(int_end - int_start), nfrac = (size_t)(frac_end - frac_start);
    if (nint + nfrac == 0)
        return false;

    /* Exponent (saturated: beyond 10^9 the result is 0 or inf whatever the digits). */
    int64_t exp10 = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '-' || *p == '+')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || !is_digit(*p))
            return false;
        while (p < end && is_digit(*p)) {
            if (exp10 < 1000000000)
                exp10 = exp10 * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            exp10 = -exp10;
    }
    if (p != end)
        return false;

    double v;
    if (nint + nfrac <= MAX_FAST_DIGITS) {
        int64_t q = exp10 - (int64_t)nfrac;
        if (w == 0) {
            *out = neg ? -0.0 : 0.0;
            return true;
        }
        if (w <= (UINT64_C(1) << 53) && q >= -22 && q <= 22) {
            v = (double)w;
            v = q < 0 ? v / exact_pow10[-q] : v * exact_pow10[q];
            *out = neg ? -v : v;
            return true;
        }
        pow10_table_ensure();
        if (eisel_lemire(w, q, &v)) {
            *out = neg ? -v : v;
            return true;
        }
    }

    /* Slow path: count significant digits, keep the first 19 (and, for the
     * fallback, up to FALLBACK_DIGITS) and note whether any dropped one is non-zero. */
    char buf[FALLBACK_BUF];
    size_t o = 0;
    if (neg)
        buf[o++] = '-';
    buf[o++] = '0';
    buf[o++] = '.';
    size_t nsig = 0;      /* significant digits seen (after leading zeros) */
    int64_t lead_pos = 0; /* power of ten of the first significant digit + 1 */
    bool started = false, dropped_nonzero = false;
    uint64_t w19 = 0;
    bool dropped19_nonzero = false;
    int64_t pos = (int64_t)nint; /* digit's position: value contribution 10^(pos-1) */
    for (int part = 0; part < 2; part++) {
        const char *s = part ? frac_start : int_start, *e = part ? frac_end : int_end;
        for (; s < e; s++, pos--) {
            int d = *s - '0';
            if (!started) {
                if (d == 0)
                    continue;
                started = true;
                lead_pos = pos;
            }
            if (nsig < MAX_FAST_DIGITS)
                w19 = w19 * 10u + (uint64_t)d;
            else if (d)
                dropped19_nonzero = true;
            if (nsig < FALLBACK_DIGITS)
                buf[o++] = (char)('0' + d);
            else if (d)
                dropped_nonzero = true;
            nsig++;
        }
    }
    if (!started) {
        *out = neg ? -0.0 : 0.0;
        return true;
    }
    /* value = 0.D * 10^(lead_pos + exp10) where D are the significant digits. */
    int64_t point_exp = lead_pos + exp10;
    if (nsig > MAX_FAST_DIGITS) {
        pow10_table_ensure();
        int64_t q = point_exp - MAX_FAST_DIGITS;
        double v_lo, v_hi;
        if (!dropped19_nonzero) {
            if (eisel_lemire(w19, q, &v_lo)) {
                *out = neg ? -v_lo : v_lo;
                return true;
            }
        } else if (eisel_lemire(w19, q, &v_lo) && eisel_lemire(w19 + 1, q, &v_hi) &&
                   v_lo == v_hi) {
            *out = neg ? -v_lo : v_lo;
            return true;
        }
    }
    if (dropped_nonzero)
        buf[o++] = '1';
    if (point_exp > 100000)
        point_exp = 100000;
    if (point_exp < -100000)
        point_exp = -100000;
    buf[o++] = 'e';
    /* Append the exponent (at most 6 digits and a sign). */
    char digits[8];
    int nd = 0;
    uint64_t ue = (uint64_t)(point_exp < 0 ? -point_exp : point_exp);
    if (point_exp < 0)
        buf[o++] = '-';
    do {
        digits[nd++] = (char)('0' + ue % 10u);
        ue /= 10u;
    } while (ue);
    while (nd)
        buf[o++] = digits[--nd];
    buf[o] = '\0';
    pow10_table_ensure();
    *out = fallback_strtod(buf);
    return true;
}

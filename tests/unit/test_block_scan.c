/*
 * test_block_scan.c — the block scan (backend/block_scan.h) that the host's
 * accumulator and the GPU decoder's kernels share:
 *  - the host's row-by-row order (ooc_scan_block) and the kernels' order
 *    (ooc_scan_column per (segment, column), then every used entry merged
 *    over the segments, as device/decode_kernels.cu and the emulator's twin
 *    run it) give the same bits, for blocks around the segment size and past
 *    2¹⁸ rows (longer segments), with and without y, weights and the check;
 *  - the sums against long double references within the recursive-summation
 *    bound |ŝ − s| ≤ γ_{m}·Σ|terms| (m = the terms summed one after another:
 *    a segment's rows plus the segments, γ_m = m·ε / (1 − m·ε); a product
 *    w·x adds one rounding, w·d·d two: γ_{m+2} covers them);
 *  - the extremes are exact; one non-finite value in any column, or one
 *    negative or NaN weight, makes ooc_scan_bad true; finite blocks are not bad.
 */
#include "backend/block_scan.h"
#include "testutil.h"

#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* The kernels' order: every (segment, column) into that segment's vector,
 * then each entry merged over the segments in order, the shift set. */
static void scan_kernel_order(const double *rows, uint64_t ld, const ooc_scan_spec *sp,
                              uint64_t n, double *total)
{
    const uint64_t p = sp->p, width = OOC_SCAN_WIDTH(p), step = ooc_scan_segment_rows(n);
    const uint64_t nseg = ooc_scan_segments(n), ncol = ooc_scan_columns(sp);
    double *seg = malloc((nseg + 1) * width * sizeof(double));
    CHECK(seg != NULL);
    if (!seg)
        return;
    for (uint64_t e = 0; e < (nseg + 1) * width; e++)
        seg[e] = NAN;   /* an entry a column does not own must never be read */
    const double shift = ooc_scan_shift(rows, sp, n);
    for (uint64_t t = 0; t < nseg * ncol; t++) {
        const uint64_t s = t / ncol, i0 = s * step;
        ooc_scan_column(rows, ld, sp, t % ncol, i0, n - i0 < step ? n : i0 + step, shift,
                        seg + s * width);
    }
    for (uint64_t e = 0; e < width; e++) {
        double v = ooc_scan_initial(p, e);
        if (ooc_scan_entry_used(sp, e))
            for (uint64_t s = 0; s < nseg; s++)
                v = ooc_scan_merge_value(p, e, v, seg[s * width + e]);
        total[e] = e == OOC_SCAN_SHIFT(p) ? shift : v;
    }
    free(seg);
}

/* γ_m = m·ε / (1 − m·ε). */
static double gamma_m(double m) { return m * DBL_EPSILON / (1.0 - m * DBL_EPSILON); }

/* One block: both orders equal bit for bit, the sums within their bounds. */
static void check_block(uint64_t n, uint64_t p, bool has_y, bool weighted, bool check_finite)
{
    const uint64_t ld = p + 1 + (weighted ? 1 : 0) + 1;   /* one unused column at the end */
    double *rows = malloc((n ? n : 1) * ld * sizeof(double));
    const uint64_t width = OOC_SCAN_WIDTH(p);
    double *a = malloc(2 * width * sizeof(double)), *b = malloc(width * sizeof(double));
    CHECK(rows && a && b);
    if (!rows || !a || !b)
        goto done;
    for (uint64_t i = 0; i < n; i++) {
        for (uint64_t j = 0; j < ld; j++)
            rows[i * ld + j] = (uniform() - 0.3) * (j == 0 ? 1.0 : 1e3 * (double)j);
        if (weighted)
            rows[i * ld + p + 1] = 0.25 + 4.0 * uniform();
    }
    const ooc_scan_spec sp = {.p = p, .has_y = has_y, .check_finite = check_finite,
                              .wcol = weighted ? (int64_t)(p + 1) : -1};
    ooc_scan_block(rows, ld, &sp, n, a, a + width);
    scan_kernel_order(rows, ld, &sp, n, b);
    CHECK_MSG(memcmp(a, b, width * sizeof(double)) == 0,
              "n %llu p %llu y %d w %d check %d: host and kernel orders differ",
              (unsigned long long)n, (unsigned long long)p, has_y, weighted, check_finite);
    CHECK_MSG(!ooc_scan_bad(&sp, a), "n %llu: a finite block is bad", (unsigned long long)n);

    /* references in long double, and the bound of each sum */
    const uint64_t step = ooc_scan_segment_rows(n), nseg = ooc_scan_segments(n);
    const double m = (double)(step + nseg + 2);
    const double shift = n && has_y ? rows[p] : 0.0;
    for (uint64_t j = 0; has_y && j < p; j++) {
        long double ref = 0.0L, mag = 0.0L;
        double mn = HUGE_VAL, mx = -HUGE_VAL;
        for (uint64_t i = 0; i < n; i++) {
            const long double w = weighted ? rows[i * ld + p + 1] : 1.0L, x = rows[i * ld + j];
            ref += w * x;
            mag += fabsl(w * x);
            mn = fmin(mn, rows[i * ld + j]);
            mx = fmax(mx, rows[i * ld + j]);
        }
        CHECK_MSG(fabsl(a[OOC_SCAN_XW(p) + j] - ref) <= gamma_m(m) * mag,
                  "n %llu column %llu: Σ w·x %.17g vs %.17Lg", (unsigned long long)n,
                  (unsigned long long)j, a[OOC_SCAN_XW(p) + j], ref);
        CHECK_MSG(a[OOC_SCAN_MIN(p) + j] == mn && a[OOC_SCAN_MAX(p) + j] == mx,
                  "n %llu column %llu: extremes", (unsigned long long)n, (unsigned long long)j);
    }
    if (has_y) {
        long double ref[4] = {0}, mag[4] = {0};
        for (uint64_t i = 0; i < n; i++) {
            const long double w = weighted ? rows[i * ld + p + 1] : 1.0L, y = rows[i * ld + p];
            /* d rounded as the scan rounds it: the bound is the products' and the sum's */
            const long double d = rows[i * ld + p] - shift;
            const long double t[4] = {w, w * d, w * d * d, w * y * y};
            for (int k = 0; k < 4; k++) {
                ref[k] += t[k];
                mag[k] += fabsl(t[k]);
            }
        }
        for (int k = 0; k < 4; k++)
            CHECK_MSG(fabsl(a[OOC_SCAN_Y(p) + k] - ref[k]) <= gamma_m(m + 1) * mag[k],
                      "n %llu: y sum %d %.17g vs %.17Lg", (unsigned long long)n, k,
                      a[OOC_SCAN_Y(p) + k], ref[k]);
        CHECK(a[OOC_SCAN_SHIFT(p)] == shift);
    }
    if (weighted) {
        long double ref = 0.0L, mag = 0.0L;
        for (uint64_t i = 0; i < n; i++) {
            ref += logl(rows[i * ld + p + 1]);
            mag += fabsl(logl(rows[i * ld + p + 1]));
        }
        /* log() itself is within 1 ulp: one more rounding per term */
        CHECK_MSG(fabsl(a[OOC_SCAN_LOGW(p)] - ref) <= gamma_m(m + 2) * mag,
                  "n %llu: Σ log w %.17g vs %.17Lg", (unsigned long long)n, a[OOC_SCAN_LOGW(p)],
                  ref);
    }

    /* one bad value anywhere the check covers, or one bad weight, is seen by both orders */
    if (n > 0) {
        const uint64_t i = n / 2 + 1 < n ? n / 2 + 1 : n - 1;
        const uint64_t cols = p + (has_y ? 1 : 0);
        const double bad[] = {NAN, INFINITY, -INFINITY};
        for (int k = 0; k < 3 && check_finite; k++) {
            const uint64_t j = (uint64_t)k % cols;
            const double keep = rows[i * ld + j];
            rows[i * ld + j] = bad[k];
            ooc_scan_block(rows, ld, &sp, n, a, a + width);
            scan_kernel_order(rows, ld, &sp, n, b);
            CHECK_MSG(ooc_scan_bad(&sp, a) && ooc_scan_bad(&sp, b),
                      "n %llu: %g in column %llu not seen", (unsigned long long)n, bad[k],
                      (unsigned long long)j);
            rows[i * ld + j] = keep;
        }
        const double badw[] = {-0.5, NAN, INFINITY};
        for (int k = 0; k < 3 && weighted; k++) {
            const double keep = rows[i * ld + p + 1];
            rows[i * ld + p + 1] = badw[k];
            ooc_scan_block(rows, ld, &sp, n, a, a + width);
            scan_kernel_order(rows, ld, &sp, n, b);
            CHECK_MSG(ooc_scan_bad(&sp, a) && ooc_scan_bad(&sp, b),
                      "n %llu: weight %g not seen", (unsigned long long)n, badw[k]);
            rows[i * ld + p + 1] = keep;
        }
        /* the unused last column is never read: a NaN there is not a bad value */
        rows[i * ld + ld - 1] = NAN;
        ooc_scan_block(rows, ld, &sp, n, a, a + width);
        CHECK(!ooc_scan_bad(&sp, a));
    }
done:
    free(rows);
    free(a);
    free(b);
}

int main(void)
{
    /* segment sizes: 256 rows up to 2^18 rows, then ceil(n/1024) rounded up to 256 */
    CHECK(ooc_scan_segment_rows(0) == 256 && ooc_scan_segment_rows(262144) == 256);
    CHECK(ooc_scan_segment_rows(262145) == 512 && ooc_scan_segment_rows(1u << 20) == 1024);
    CHECK((3000000 + ooc_scan_segment_rows(3000000) - 1) / ooc_scan_segment_rows(3000000) <= 1024);
    const uint64_t sizes[] = {0, 1, 2, 255, 256, 257, 1000, 262144, 262145, 300001};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int mode = 0; mode < 8; mode++) {
            const bool has_y = mode & 1, weighted = mode & 2, check = mode & 4;
            const uint64_t n = sizes[s];
            if (n > 1000 && mode != 7 && mode != 4)
                continue;   /* the long blocks: the full spec and the SVD's */
            check_block(n, n > 1000 ? 5 : 7, has_y, weighted, check);
        }
    return TEST_EXIT();
}

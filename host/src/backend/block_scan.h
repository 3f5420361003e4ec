/*
 * block_scan.h — the per-block reductions behind the side statistics (column
 * extremes, Σ w·x, y's moments, Σ log w) and the finiteness check of a block
 * of [X y w] rows, in one fixed order, written once for the host
 * (solve/accumulator.c) and for a backend that decoded the rows itself
 * (backend.h accumulate_raw: device/decode_kernels.cu and the emulator's twin
 * run these functions too, so a decoded block never has to come back to the
 * host).
 *
 * The order: a block of n rows is cut into segments of
 * ooc_scan_segment_rows(n) rows; each segment is scanned row by row into its
 * own scan vector (ooc_scan_rows), and the block's vector is the segments'
 * merged in segment order, element by element (ooc_scan_merge_value).  Any
 * implementation that keeps this order gives the same bits (the project
 * builds as ISO C, where no a·b + c is fused, and nvcc compiles the kernels
 * with -fmad=false); log() is the one function a GPU rounds differently.
 *
 * A scan vector of a spec with p columns of X holds 4p + 8 doubles
 * (OOC_SCAN_* offsets); entries a spec does not use stay at their initial
 * value.
 */
#ifndef OOC_BLOCK_SCAN_H
#define OOC_BLOCK_SCAN_H

#include <math.h>
#include <stdint.h>

#ifndef OOC_HD
#ifdef __CUDACC__
#define OOC_HD __host__ __device__
#else
#define OOC_HD
#endif
#endif

/* What is scanned in rows of the source's [X y w] layout. */
typedef struct ooc_scan_spec {
    uint64_t p;             /* columns of X (0..p-1) */
    uint32_t has_y;         /* column p is y: extremes, Σ w·x and y's moments are summed */
    uint32_t check_finite;  /* 0: the values are known finite (the flags are skipped) */
    int64_t wcol;           /* column of the weight (>= 0, finite), or -1 */
} ooc_scan_spec;

/* Offsets in a scan vector: Σ w·x_j, min x_j, max x_j (j < p, has_y only);
 * Σ x_j·0 for the p + has_y columns (0 exactly when all are finite); y's
 * Σ w, Σ w·d, Σ w·d², Σ w·y² with d = y − shift (has_y); then the count of
 * invalid weights (not finite or negative) and Σ log w (wcol >= 0); last,
 * the shift (set for the block, not merged). */
#define OOC_SCAN_XW(p) 0u
#define OOC_SCAN_MIN(p) (p)
#define OOC_SCAN_MAX(p) (2 * (p))
#define OOC_SCAN_FLAG(p) (3 * (p))
#define OOC_SCAN_Y(p) (4 * (p) + 1)
#define OOC_SCAN_BADW(p) (4 * (p) + 5)
#define OOC_SCAN_LOGW(p) (4 * (p) + 6)
#define OOC_SCAN_SHIFT(p) (4 * (p) + 7)
#define OOC_SCAN_WIDTH(p) (4 * (p) + 8)

/* Rows per segment of a block of n rows: 256, or more for blocks of over
 * 2¹⁸ rows so that a block has at most 1024 segments (a multiple of 256). */
OOC_HD static inline uint64_t ooc_scan_segment_rows(uint64_t n)
{
    uint64_t s = (n + 1023) / 1024;
    s = (s + 255) / 256 * 256;
    return s < 256 ? 256 : s;
}

/* Segments of a block of n rows. */
OOC_HD static inline uint64_t ooc_scan_segments(uint64_t n)
{
    const uint64_t step = ooc_scan_segment_rows(n);
    return (n + step - 1) / step;
}

/* The initial value of element e of a scan vector: +inf for the minima,
 * -inf for the maxima, else 0. */
OOC_HD static inline double ooc_scan_initial(uint64_t p, uint64_t e)
{
    if (e >= OOC_SCAN_MIN(p) && e < OOC_SCAN_MAX(p))
        return HUGE_VAL;
    if (e >= OOC_SCAN_MAX(p) && e < OOC_SCAN_FLAG(p))
        return -HUGE_VAL;
    return 0.0;
}

/* Element e of a vector after merging element e of a later segment's (the
 * shift stays). */
OOC_HD static inline double ooc_scan_merge_value(uint64_t p, uint64_t e, double total,
                                                 double part)
{
    if (e == OOC_SCAN_SHIFT(p))
        return total;
    if (e >= OOC_SCAN_MIN(p) && e < OOC_SCAN_MAX(p))
        return part < total ? part : total;
    if (e >= OOC_SCAN_MAX(p) && e < OOC_SCAN_FLAG(p))
        return part > total ? part : total;
    return total + part;
}

/* One value's part, the same in either loop order below. */
OOC_HD static inline void ooc_scan_x(double x, double w, double *mn, double *mx, double *xw)
{
    *mn = x < *mn ? x : *mn;
    *mx = x > *mx ? x : *mx;
    *xw += w * x;
}

OOC_HD static inline void ooc_scan_y(double y, double w, double shift, double *ys)
{
    const double d = y - shift;
    ys[0] += w;
    ys[1] += w * d;
    ys[2] += w * d * d;
    ys[3] += w * y * y;
}

OOC_HD static inline void ooc_scan_w(double w, double *badw, double *logw)
{
    *badw += w * 0.0 == 0.0 && w >= 0.0 ? 0.0 : 1.0;
    *logw += log(w);
}

/* Scan rows i0..i1-1 (ld doubles apart) into the initialised vector v, row
 * by row (the host's order: each column's values still come in row order);
 * shift is the block's first y. */
OOC_HD static inline void ooc_scan_rows(const double *rows, uint64_t ld, const ooc_scan_spec *sp,
                                        uint64_t i0, uint64_t i1, double shift, double *v)
{
    const uint64_t p = sp->p, pa = p + (sp->has_y ? 1 : 0);
    double *xw = v + OOC_SCAN_XW(p), *mn = v + OOC_SCAN_MIN(p), *mx = v + OOC_SCAN_MAX(p);
    double *flag = v + OOC_SCAN_FLAG(p);
    for (uint64_t i = i0; i < i1; i++) {
        const double *row = rows + i * ld;
        if (sp->check_finite)
            for (uint64_t j = 0; j < pa; j++)
                flag[j] += row[j] * 0.0;
        if (sp->has_y) {
            const double w = sp->wcol >= 0 ? row[sp->wcol] : 1.0;
            for (uint64_t j = 0; j < p; j++)
                ooc_scan_x(row[j], w, &mn[j], &mx[j], &xw[j]);
            ooc_scan_y(row[p], w, shift, v + OOC_SCAN_Y(p));
        }
        if (sp->wcol >= 0)
            ooc_scan_w(row[sp->wcol], v + OOC_SCAN_BADW(p), v + OOC_SCAN_LOGW(p));
    }
}

/* Columns the column-wise scan has: X's, y (has_y), the weight (wcol >= 0). */
OOC_HD static inline uint64_t ooc_scan_columns(const ooc_scan_spec *sp)
{
    return sp->p + (sp->has_y ? 1 : 0) + (sp->wcol >= 0 ? 1 : 0);
}

/* Scan column c (< ooc_scan_columns) of rows i0..i1-1 into its own entries
 * of v (which need no initial values), in registers: a GPU thread's share,
 * the same bits as ooc_scan_rows gives those entries. */
OOC_HD static inline void ooc_scan_column(const double *rows, uint64_t ld, const ooc_scan_spec *sp,
                                          uint64_t c, uint64_t i0, uint64_t i1, double shift,
                                          double *v)
{
    const uint64_t p = sp->p;
    if (c < p) {
        double flag = 0.0, mn = HUGE_VAL, mx = -HUGE_VAL, xw = 0.0;
        for (uint64_t i = i0; i < i1; i++) {
            const double x = rows[i * ld + c];
            if (sp->check_finite)
                flag += x * 0.0;
            if (sp->has_y)
                ooc_scan_x(x, sp->wcol >= 0 ? rows[i * ld + (uint64_t)sp->wcol] : 1.0, &mn, &mx,
                           &xw);
        }
        v[OOC_SCAN_FLAG(p) + c] = flag;
        v[OOC_SCAN_MIN(p) + c] = mn;
        v[OOC_SCAN_MAX(p) + c] = mx;
        v[OOC_SCAN_XW(p) + c] = xw;
    } else if (c == p && sp->has_y) {
        double flag = 0.0, ys[4] = {0.0, 0.0, 0.0, 0.0};
        for (uint64_t i = i0; i < i1; i++) {
            const double y = rows[i * ld + p];
            if (sp->check_finite)
                flag += y * 0.0;
            ooc_scan_y(y, sp->wcol >= 0 ? rows[i * ld + (uint64_t)sp->wcol] : 1.0, shift, ys);
        }
        v[OOC_SCAN_FLAG(p) + p] = flag;
        for (int k = 0; k < 4; k++)
            v[OOC_SCAN_Y(p) + k] = ys[k];
    } else {
        double badw = 0.0, logw = 0.0;
        for (uint64_t i = i0; i < i1; i++)
            ooc_scan_w(rows[i * ld + (uint64_t)sp->wcol], &badw, &logw);
        v[OOC_SCAN_BADW(p)] = badw;
        v[OOC_SCAN_LOGW(p)] = logw;
    }
}

/* Whether some column's scan writes entry e (else it keeps its initial
 * value; the shift is never merged). */
OOC_HD static inline int ooc_scan_entry_used(const ooc_scan_spec *sp, uint64_t e)
{
    const uint64_t p = sp->p;
    if (e < OOC_SCAN_FLAG(p))
        return sp->has_y != 0;
    if (e < OOC_SCAN_Y(p))
        return e - OOC_SCAN_FLAG(p) < p + (sp->has_y ? 1 : 0);
    if (e < OOC_SCAN_BADW(p))
        return sp->has_y != 0;
    return e < OOC_SCAN_SHIFT(p) && sp->wcol >= 0;
}

/* The block's first y, the shift of y's sums (0 without y or rows). */
OOC_HD static inline double ooc_scan_shift(const double *rows, const ooc_scan_spec *sp,
                                           uint64_t n)
{
    return sp->has_y && n > 0 ? rows[sp->p] : 0.0;
}

/* The vector of a block of n rows into v, segment by segment (seg: scratch
 * of OOC_SCAN_WIDTH(p) doubles): the reference order, run on the host. */
OOC_HD static inline void ooc_scan_block(const double *rows, uint64_t ld, const ooc_scan_spec *sp,
                                         uint64_t n, double *v, double *seg)
{
    const uint64_t p = sp->p, width = OOC_SCAN_WIDTH(p), step = ooc_scan_segment_rows(n);
    const double shift = ooc_scan_shift(rows, sp, n);
    for (uint64_t e = 0; e < width; e++)
        v[e] = ooc_scan_initial(p, e);
    for (uint64_t i0 = 0; i0 < n; i0 += step) {
        for (uint64_t e = 0; e < width; e++)
            seg[e] = ooc_scan_initial(p, e);
        ooc_scan_rows(rows, ld, sp, i0, n - i0 < step ? n : i0 + step, shift, seg);
        for (uint64_t e = 0; e < width; e++)
            v[e] = ooc_scan_merge_value(p, e, v[e], seg[e]);
    }
    v[OOC_SCAN_SHIFT(p)] = shift;
}

/* Whether a block's vector shows a non-finite value or an invalid weight. */
OOC_HD static inline int ooc_scan_bad(const ooc_scan_spec *sp, const double *v)
{
    const uint64_t p = sp->p, pa = p + (sp->has_y ? 1 : 0);
    int bad = !(v[OOC_SCAN_BADW(p)] == 0.0);
    for (uint64_t j = 0; j < pa; j++)
        bad |= !(v[OOC_SCAN_FLAG(p) + j] == 0.0);
    return bad;
}

#endif

/*
 * dtoa.h — doubles as the shortest decimal text (of 15, 16 or 17
 * significant digits) that reads back as the same double, in printf's %g
 * layout: what the JSON reports print for every number.
 *
 * glibc's "%.17g" converts exactly with multi-precision arithmetic, about
 * 0.3 µs a number; a 1000-column fit's JSON holds 10⁶ covariance entries.
 * This converts in x87 extended precision with an error far inside the
 * margin round-tripping needs (dtoa.c says why), several times faster.
 */
#ifndef OOC_DTOA_H
#define OOC_DTOA_H

#include <stddef.h>

/* Longest text ooc_format_double writes, with its NUL
 * ("-1.2345678901234567e-308"). */
#define OOC_DTOA_SIZE 32

/* Write x into buf (OOC_DTOA_SIZE bytes) as the fewest of 15, 16 or 17
 * significant digits that strtod reads back as x bit for bit, in "%.17g"'s
 * layout (fixed for decimal exponents -5 < e < 17, else d.ddde±XX; trailing
 * zeros dropped): 0.1 → "0.1", 1e100 → "1e+100", -0.0 → "-0".  NaN and
 * infinities are written as printf does ("nan", "-inf"); callers that need
 * JSON test isfinite first.  Returns the length written.  Never fails. */
size_t ooc_format_double(double x, char *buf);

#endif

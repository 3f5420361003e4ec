/*
 * numparse.h — fast, correctly rounded decimal text -> double.
 *
 * Gives exactly the double that glibc's strtod gives (round-to-nearest-even)
 * for every input it accepts, but much faster on the common case of at most
 * 19 significant digits (Clinger fast path, then Eisel-Lemire with a 128-bit
 * power-of-ten table; strtod only as the rare fallback).
 */
#ifndef OOC_NUMPARSE_H
#define OOC_NUMPARSE_H

#include <stdbool.h>
#include <stddef.h>

/* Parse the whole of text[0..len) as a decimal floating-point number.
 * Leading and trailing spaces/tabs are ignored.  Accepts an optional sign,
 * digits with an optional '.', an optional exponent (e/E, optional sign),
 * and "inf", "infinity", "nan" in any case (optionally signed).
 * Hex floats are not accepted.  Returns false (and leaves *out untouched)
 * when the text is not entirely a number.  Thread-safe, no allocation;
 * text need not be NUL-terminated. */
bool ooc_parse_double(const char *text, size_t len, double *out);

#endif

/*
 * fuzz_numparse.c — libFuzzer target: ooc_parse_double against strtod.
 *
 * Whatever ooc_parse_double accepts, strtod must parse completely (up to
 * trailing blanks) to the same bits (NaN: both NaN with the same sign).
 * Conversely, when the input uses only digits, '.', 'e', 'E', signs and
 * blanks and strtod consumes all of it, ooc_parse_double must accept it.
 * Any disagreement calls __builtin_trap().
 */
#include "csv/numparse.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* The parser must not read past size: give it the bytes in an exact-size buffer. */
    char *exact = malloc(size ? size : 1);
    if (!exact) {
        free(copy);
        return 0;
    }
    memcpy(exact, data, size);

    double got = 0;
    bool ok = ooc_parse_double(exact, size, &got);
    bool has_nul = memchr(data, '\0', size) != NULL;
    char *end;
    double ref = strtod(copy, &end);
    const char *rest = end;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    bool strtod_whole = !has_nul && end != copy && *rest == '\0';
    if (ok) {
        if (!strtod_whole)
            __builtin_trap();
        if (isnan(ref) ? !(isnan(got) && signbit(got) == signbit(ref))
                       : memcmp(&got, &ref, sizeof got) != 0)
            __builtin_trap();
    } else if (strtod_whole) {
        bool plain = true;
        for (size_t i = 0; i < size; i++)
            if (!strchr("0123456789.eE+- \t", data[i]))
                plain = false;
        /* Leading blanks before a sign are fine for both; only the alphabet matters. */
        if (plain)
            __builtin_trap();
    }
    free(exact);
    free(copy);
    return 0;
}

/* testutil.h — minimal assertion macros for the C test programs: a failed
 * check prints file:line and the expression and counts a failure; main
 * returns TEST_EXIT() (non-zero when anything failed). */
#ifndef OOC_TESTUTIL_H
#define OOC_TESTUTIL_H
#include <stdio.h>
#include <string.h>

static int test_failures = 0;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);              \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_STREQ(a, b) CHECK_MSG(strcmp((a), (b)) == 0, "\"%s\" != \"%s\"", (a), (b))

#define TEST_EXIT()                                                                                \
    (test_failures ? (fprintf(stderr, "%d check(s) failed\n", test_failures), 1) : 0)
#endif

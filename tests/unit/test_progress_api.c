/* test_progress_api.c — the public progress counter through <oocsolve.h>
 * alone, linked against liboocsolve.so (as test_api): a counter is created
 * silent, counts an ingest ("writing") and an ooc_fit of the HDF5 file it
 * wrote, whose totals are known (rows and bytes of X); after the fit the
 * phase is "accumulate" or a later pass and its rows equal nobs.  A second
 * thread reads the counter for as long as the fit runs: every snapshot has
 * a NUL-terminated known phase and never more rows than its total (the
 * ASan build runs it too). */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <oocsolve.h>

#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NROWS = 60000, NCOLS = 3 /* Intercept, x1, x2 */ };

static char tmpdir[256], csv_path[300], h5_path[300];

static ooc_error *fresh(ooc_error *err)
{
    memset(err, 0, sizeof *err);
    return err;
}

static void write_csv(void)
{
    FILE *f = fopen(csv_path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "y,x1,x2\n");
    for (int i = 0; i < NROWS; i++)
        fprintf(f, "%d.5,%d,%d.25\n", (i * 7) % 101, i % 13, (i * 3) % 17);
    CHECK(fclose(f) == 0);
}

/* The phases a fit or an ingest may be in ("" before the first). */
static bool known_phase(const char *phase)
{
    static const char *const names[] = {"",         "writing",
                                        "accumulate", "residual pass (refine)",
                                        "residual pass (HC)"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(phase, names[i]) == 0)
            return true;
    return false;
}

typedef struct reader {
    ooc_progress *progress;
    atomic_bool stop;
    long reads;
    long bad; /* snapshots that break an invariant */
} reader;

static void *read_while_running(void *arg)
{
    reader *r = arg;
    while (!atomic_load(&r->stop)) {
        ooc_progress_state s;
        ooc_progress_read(r->progress, &s);
        bool terminated = memchr(s.phase, '\0', sizeof s.phase) != NULL;
        if (!terminated || !known_phase(s.phase) || (s.total_rows && s.rows > s.total_rows))
            r->bad++;
        r->reads++;
    }
    return NULL;
}

static void test_ingest(ooc_progress *progress)
{
    ooc_ingest_options o;
    ooc_ingest_options_init(&o);
    o.csv_path = csv_path;
    o.formula = "y ~ x1 + x2";
    o.output_path = h5_path;
    o.progress = progress;
    ooc_ingest_stats stats;
    ooc_error err;
    ooc_status st = ooc_ingest(&o, &stats, fresh(&err));
    CHECK_MSG(st == OOC_OK, "ingest: %s", err.message);
    ooc_progress_state s;
    ooc_progress_read(progress, &s);
    CHECK_STREQ(s.phase, "writing");
    CHECK(s.rows == NROWS);
}

static void test_fit(ooc_progress *progress)
{
    ooc_backend *be = NULL;
    ooc_source *src = NULL;
    ooc_fit_result *r = NULL;
    ooc_error err;
    ooc_status st = ooc_backend_create("cpu", NULL, &be, fresh(&err));
    CHECK_MSG(st == OOC_OK, "backend: %s", err.message);
    if (st == OOC_OK) {
        st = ooc_source_open(h5_path, NULL, &src, fresh(&err));
        CHECK_MSG(st == OOC_OK, "open %s: %s", h5_path, err.message);
    }
    if (st == OOC_OK) {
        ooc_fit_options o;
        ooc_fit_options_init(&o);
        o.progress = progress;
        reader rd = {.progress = progress};
        atomic_init(&rd.stop, false);
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, read_while_running, &rd) == 0);
        st = ooc_fit(src, be, &o, &r, fresh(&err));
        atomic_store(&rd.stop, true);
        pthread_join(thread, NULL);
        CHECK_MSG(st == OOC_OK, "fit: %s", err.message);
        CHECK_MSG(rd.bad == 0, "%ld of %ld snapshots inconsistent", rd.bad, rd.reads);
    }
    if (r) {
        ooc_progress_state s;
        ooc_progress_read(progress, &s);
        CHECK_MSG(strcmp(s.phase, "writing") != 0 && s.phase[0] && known_phase(s.phase),
                  "phase after the fit: \"%s\"", s.phase);
        CHECK(r->nobs == NROWS);
        CHECK(s.rows == r->nobs);
        CHECK(s.total_rows == NROWS);
        CHECK(s.total_bytes == (uint64_t)NROWS * (NCOLS + 1) * sizeof(double)); /* [X y] */
        CHECK(s.bytes == s.total_bytes);
    }
    ooc_fit_result_free(r);
    ooc_source_free(src);
    ooc_backend_free(be);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ooc_test_progress_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror(tmpdir);
        return 1;
    }
    snprintf(csv_path, sizeof csv_path, "%s/data.csv", tmpdir);
    snprintf(h5_path, sizeof h5_path, "%s/data.h5", tmpdir);

    ooc_progress_state empty;
    ooc_progress_read(NULL, &empty);
    CHECK(empty.phase[0] == '\0' && empty.rows == 0 && empty.total_rows == 0);
    ooc_progress_free(NULL);

    ooc_progress *progress = NULL;
    ooc_error err;
    err.status = OOC_ERR_IO; /* stale: the call must clear it */
    CHECK(ooc_progress_counter_create(&progress, &err) == OOC_OK && progress);
    CHECK(err.status == OOC_OK && err.message[0] == '\0');
    if (progress) {
        ooc_progress_state s;
        ooc_progress_read(progress, &s);
        CHECK(s.phase[0] == '\0' && s.rows == 0 && s.bytes == 0);
        write_csv();
        test_ingest(progress);
        test_fit(progress);
    }
    ooc_progress_free(progress);

    CHECK(remove(csv_path) == 0 && remove(h5_path) == 0 && rmdir(tmpdir) == 0);
    return TEST_EXIT();
}

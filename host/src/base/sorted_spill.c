/*
 * sorted_spill.c — external merge sort of doubles (see sorted_spill.h).
 * Run r occupies values [r*run_values, r*run_values + len_r) of the file;
 * the last run stays in memory until reading begins (and alone, never
 * reaches the file).  The merge keeps, per run, a buffer of up to
 * MERGE_BUFFER values and a binary min-heap of runs by their current value.
 */
#include "base/sorted_spill.h"

#include "base/error.h"
#include "base/tempfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MERGE_BUFFER 4096

typedef struct run_cursor {
    uint64_t next;     /* next value of the run to load into buf */
    uint64_t end;      /* one past the run's last value */
    double *buf;
    size_t at, n;      /* buf[at..n) not yet handed out */
} run_cursor;

struct ooc_sorted_spill {
    char *what;
    size_t run_values;
    double *run;          /* the run being filled */
    size_t run_n;
    uint64_t count;       /* values added */
    uint64_t on_disk;     /* values written to the file */
    int fd;               /* -1: no file */
    char *dir;
    bool reading;
    run_cursor *cursors;
    size_t ncursors;
    size_t *heap;         /* cursor indices, a min-heap by current value */
    size_t nheap;
};

ooc_status ooc_sorted_spill_create(size_t run_values, const char *what, ooc_sorted_spill **out,
                                   ooc_error *err)
{
    *out = NULL;
    ooc_sorted_spill *s = calloc(1, sizeof *s);
    if (!s)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    s->fd = -1;
    s->run_values = run_values ? run_values : (size_t)1 << 20;
    s->what = strdup(what);
    if (!s->what) {
        free(s);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    }
    *out = s;
    return OOC_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sort the run in memory and append it to the file (made on first use). */
static ooc_status flush_run(ooc_sorted_spill *s, ooc_error *err)
{
    qsort(s->run, s->run_n, sizeof *s->run, cmp_double);
    if (s->fd < 0) {
        const char *dir = ooc_tempfile_dir();
        s->dir = strdup(dir);
        if (!s->dir)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        s->fd = ooc_tempfile_open(dir);
        if (s->fd < 0)
            return OOC_FAIL(err, OOC_ERR_IO,
                            "cannot make a temporary file in '%s' for %s: %s (set TMPDIR to a "
                            "directory with room for 8 bytes a row)",
                            dir, s->what, strerror(errno));
    }
    if (!ooc_pwrite_all(s->fd, s->run, s->run_n * sizeof *s->run, s->on_disk * sizeof(double)))
        return OOC_FAIL(err, OOC_ERR_IO,
                        "writing %s to a temporary file in '%s': %s (set TMPDIR to a directory "
                        "with room for 8 bytes a row)",
                        s->what, s->dir, strerror(errno));
    s->on_disk += s->run_n;
    s->run_n = 0;
    return OOC_OK;
}

ooc_status ooc_sorted_spill_add(ooc_sorted_spill *s, double v, ooc_error *err)
{
    if (s->reading)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_sorted_spill_add after reading began");
    if (!s->run) {
        s->run = malloc(s->run_values * sizeof *s->run);
        if (!s->run)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for %s", s->what);
    }
    if (s->run_n == s->run_values) {
        ooc_status status = flush_run(s, err);
        if (status != OOC_OK)
            return status;
    }
    s->run[s->run_n++] = v;
    s->count++;
    return OOC_OK;
}

uint64_t ooc_sorted_spill_count(const ooc_sorted_spill *s) { return s->count; }

/* Refill cursor c's buffer from the file (the in-memory run needs none).
 * False at the run's end or on a read error (*status set). */
static bool refill(ooc_sorted_spill *s, run_cursor *c, ooc_status *status, ooc_error *err)
{
    if (c->next == c->end)
        return false;
    size_t n = c->end - c->next < MERGE_BUFFER ? (size_t)(c->end - c->next) : MERGE_BUFFER;
    if (!ooc_pread_all(s->fd, c->buf, n * sizeof *c->buf, c->next * sizeof(double))) {
        *status = OOC_FAIL(err, OOC_ERR_IO, "reading %s back from a temporary file in '%s': %s",
                           s->what, s->dir, strerror(errno));
        return false;
    }
    c->next += n;
    c->at = 0;
    c->n = n;
    return true;
}

static double head(const ooc_sorted_spill *s, size_t h) { return s->cursors[h].buf[s->cursors[h].at]; }

static void sift_down(ooc_sorted_spill *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && head(s, s->heap[l]) < head(s, s->heap[m]))
            m = l;
        if (r < s->nheap && head(s, s->heap[r]) < head(s, s->heap[m]))
            m = r;
        if (m == i)
            return;
        size_t t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
}

ooc_status ooc_sorted_spill_rewind(ooc_sorted_spill *s, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (!s->reading) {
        s->reading = true;
        if (s->fd >= 0 && s->run_n)
            OOC_CHECK(flush_run(s, err));
        else if (s->run_n)
            qsort(s->run, s->run_n, sizeof *s->run, cmp_double);
        size_t nruns = s->fd >= 0 ? (size_t)((s->on_disk + s->run_values - 1) / s->run_values) : 1;
        s->cursors = calloc(nruns, sizeof *s->cursors);
        s->heap = malloc(nruns * sizeof *s->heap);
        OOC_FAIL_IF(!s->cursors || !s->heap, err, OOC_ERR_NOMEM, "out of memory for %s", s->what);
        s->ncursors = nruns;
        if (s->fd >= 0) {
            free(s->run); /* every value is in the file now */
            s->run = NULL;
            for (size_t r = 0; r < nruns; r++) {
                s->cursors[r].buf = malloc(MERGE_BUFFER * sizeof(double));
                OOC_FAIL_IF(!s->cursors[r].buf, err, OOC_ERR_NOMEM, "out of memory for %s",
                            s->what);
            }
        }
    }
    s->nheap = 0;
    for (size_t r = 0; r < s->ncursors; r++) {
        run_cursor *c = &s->cursors[r];
        if (s->fd < 0) { /* the one run, in memory */
            c->buf = s->run;
            c->at = 0;
            c->n = s->run_n;
        } else {
            c->next = (uint64_t)r * s->run_values;
            c->end = c->next + s->run_values < s->on_disk ? c->next + s->run_values : s->on_disk;
            c->n = 0;
            if (!refill(s, c, &status, err))
                goto out;
        }
        if (c->n)
            s->heap[s->nheap++] = r;
    }
    for (size_t i = s->nheap; i-- > 0;)
        sift_down(s, i);
out:
    return status;
}

bool ooc_sorted_spill_next(ooc_sorted_spill *s, double *v, ooc_status *status, ooc_error *err)
{
    if (!s->nheap)
        return false;
    run_cursor *c = &s->cursors[s->heap[0]];
    *v = c->buf[c->at++];
    if (c->at == c->n) {
        ooc_status st = OOC_OK;
        if (s->fd < 0 || !refill(s, c, &st, err)) {
            if (st != OOC_OK) {
                *status = st;
                s->nheap = 0;
                return false;
            }
            s->heap[0] = s->heap[--s->nheap];
        }
    }
    if (s->nheap)
        sift_down(s, 0);
    return true;
}

void ooc_sorted_spill_free(ooc_sorted_spill *s)
{
    if (!s)
        return;
    if (s->fd >= 0) {
        close(s->fd);
        for (size_t r = 0; r < s->ncursors; r++)
            free(s->cursors[r].buf);
    }
    free(s->cursors);
    free(s->heap);
    free(s->run);
    free(s->dir);
    free(s->what);
    free(s);
}

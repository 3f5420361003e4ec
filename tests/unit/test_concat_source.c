/* test_concat_source.c — several files as one matrix (concat_source.c):
 * three HDF5 files read as one must deliver exactly the rows of their
 * concatenation, first_row counting on across files, pass after pass (also
 * with blocks held across the switch to the next file, and a rewind in the
 * middle of a pass); files that do not match the first are refused with both
 * names and the difference; one path is ooc_source_open; a missing file is
 * named; an HDF5 + CSV pair sums rows_dropped and a CSV part's non-finite
 * value is located in its file; ooc_fit on the concatenation equals ooc_fit
 * on one file holding all rows within the least-squares perturbation bound.
 * Row ranges (an MPI rank's share): every range, across file boundaries and
 * empty, delivers exactly its rows with their global numbers, pass after
 * pass; one past the end is refused.  A fit split over 1-4 in-process
 * "processes" (an ooc_collective over threads and mailboxes) equals the
 * one-process fit within the same bound, for qr with HC1 and refinement and
 * for normal; a process that fails stops the others with OOC_ERR_REMOTE
 * instead of leaving them waiting. */
#include "backend/backend.h"
#include "base/error.h"
#include "hdf5/h5write.h"
#include "lsq_bounds.h"
#include "stream/source.h"
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { P = 4, NPARTS = 3, NROWS = 2001, CHUNK_ROWS = 128, BLOCK_ROWS = 300 };

static const size_t part_rows[NPARTS] = {700, 1, 1300}; /* sum: NROWS */
static const char *const names[P] = {"Intercept", "a", "b", "c"};
static const char *const formula = "y ~ a + b + c";

static char tmpdir[256];
static double X[NROWS * P], Y[NROWS];

static const char *tmp_path(const char *name)
{
    static char paths[32][320];
    static int next;
    char *path = paths[next++ % 32];
    snprintf(path, sizeof paths[0], "%s/%s", tmpdir, name);
    return path;
}

/* The design: an intercept and three columns in [-1, 1), y linear in them plus noise. */
static void make_data(void)
{
    uint64_t state = 12345;
    for (size_t i = 0; i < NROWS; i++) {
        double *row = X + i * P;
        row[0] = 1.0;
        for (size_t j = 1; j < P; j++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            row[j] = (double)(state >> 11) * 0x1p-52 - 1.0;
        }
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        double noise = ((double)(state >> 11) * 0x1p-53 - 0.5) * 0.1;
        Y[i] = 2.0 + 0.5 * row[1] - 1.5 * row[2] + 3.0 * row[3] + noise;
    }
}

/* Write rows [first, first + n) of X (its first p columns) and, when with_y, Y. */
static void write_h5(const char *path, size_t first, size_t n, size_t p,
                     const char *const *column_names, const char *model, bool with_y)
{
    double *x = malloc((n ? n : 1) * p * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++)
            x[i * p + j] = X[(first + i) * P + j % P] + (double)(j / P);
    ooc_h5_writer_options o = {.path = path,
                               .ncols = p,
                               .with_y = with_y,
                               .chunk_rows = CHUNK_ROWS,
                               .level = 1,
                               .shuffle = true,
                               .nthreads = 2,
                               .formula = model,
                               .column_names = column_names};
    ooc_h5_writer *w = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_h5w_create(&o, &w, &err) == OOC_OK, "%s", err.message);
    if (w) {
        CHECK_MSG(ooc_h5w_append(w, x, Y + first, n, &err) == OOC_OK, "%s", err.message);
        CHECK_MSG(ooc_h5w_commit(w, NULL, &err) == OOC_OK, "%s", err.message);
    }
    free(x);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

static ooc_source_options options(void)
{
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.block_rows = BLOCK_ROWS;
    o.nthreads = 2;
    o.formula = formula; /* for the CSV parts */
    o.need_y = false;    /* a file without /Y opens, and the mismatch check sees it */
    return o;
}

static const char *part_paths[NPARTS];

/* One pass: every row equals the concatenation's, first_row counts on across
 * the files.  When hold, each block is released only after the next one
 * arrives (and the last after the end), so the switch to the next file
 * happens with a block of the previous one held.  Stops after stop_after
 * blocks (0: the whole pass); returns the blocks delivered. */
static size_t read_pass(ooc_source *src, bool hold, size_t stop_after, int pass)
{
    ooc_error err = {0};
    ooc_block *b, *held = NULL;
    uint64_t row = 0;
    size_t nblocks = 0;
    ooc_status st;
    while ((st = src->vt->next(src, &b, &err)) == OOC_OK && b) {
        CHECK_MSG(b->first_row == row, "pass %d: block at row %llu, expected %llu", pass,
                  (unsigned long long)b->first_row, (unsigned long long)row);
        CHECK(b->ncols == P + 1 && b->nrows >= 1 && b->nrows <= src->block_rows);
        size_t bad = 0;
        for (size_t i = 0; i < b->nrows && b->first_row + i < NROWS; i++) {
            const double *got = b->data + i * b->ncols;
            size_t r = (size_t)b->first_row + i;
            bad += memcmp(got, X + r * P, P * sizeof(double)) != 0 || got[P] != Y[r];
        }
        CHECK_MSG(bad == 0 && b->first_row + b->nrows <= NROWS,
                  "pass %d: block at row %llu: %zu rows differ", pass,
                  (unsigned long long)b->first_row, bad);
        row = b->first_row + b->nrows;
        nblocks++;
        if (held)
            src->vt->release(src, held);
        held = NULL;
        if (hold)
            held = b;
        else
            src->vt->release(src, b);
        if (stop_after && nblocks == stop_after)
            break;
    }
    CHECK_MSG(st == OOC_OK, "pass %d: %s", pass, err.message);
    if (held)
        src->vt->release(src, held);
    if (!stop_after)
        CHECK_MSG(row == NROWS, "pass %d: %llu rows", pass, (unsigned long long)row);
    return nblocks;
}

static void test_rows(void)
{
    ooc_source_options o = options();
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_source_open_files(part_paths, NPARTS, &o, &src, &err) == OOC_OK, "%s",
              err.message);
    if (!src)
        return;
    CHECK(src->nrows == NROWS && src->p == P && src->has_y && !src->has_weights);
    CHECK(src->ncols == P + 1 && src->block_rows == BLOCK_ROWS);
    for (size_t j = 0; j < P; j++)
        CHECK_STREQ(src->column_names[j], names[j]);
    CHECK(src->formula && !strcmp(src->formula, formula));
    CHECK(src->y_name && !strcmp(src->y_name, "y"));

    /* 700 = 2×300 + 100; 1; 1300 = 4×300 + 100. */
    size_t blocks = read_pass(src, false, 0, 1);
    CHECK_MSG(blocks == 3 + 1 + 5, "%zu blocks", blocks);
    ooc_block *after_end = NULL;
    CHECK(src->vt->next(src, &after_end, &err) == OOC_OK && !after_end); /* the end is sticky */
    CHECK(src->vt->rewind(src, &err) == OOC_OK);
    read_pass(src, true, 0, 2);
    /* Rewind inside the first file, then inside the last. */
    CHECK(src->vt->rewind(src, &err) == OOC_OK);
    read_pass(src, false, 2, 3);
    CHECK(src->vt->rewind(src, &err) == OOC_OK);
    read_pass(src, true, 7, 4);
    CHECK(src->vt->rewind(src, &err) == OOC_OK);
    read_pass(src, true, 0, 5);
    CHECK(src->nrows == NROWS && src->rows_dropped == 0);
    ooc_source_free(src);
}

/* Opening paths[0], paths[1] fails with `status` and a message holding every
 * string of `want` (NULL-terminated). */
static void check_refused(const char *first, const char *second, ooc_status status,
                          const char *const *want)
{
    const char *paths[2] = {first, second};
    ooc_source_options o = options();
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_source_open_files(paths, 2, &o, &src, &err) == status && !src,
              "%s + %s: %s", first, second, err.message);
    for (; *want; want++)
        CHECK_MSG(strstr(err.message, *want), "'%s' not in: %s", *want, err.message);
    ooc_source_free(src);
}

static void test_mismatch(void)
{
    static const char *const names5[5] = {"Intercept", "a", "b", "c", "d"};
    static const char *const renamed[P] = {"Intercept", "a", "z", "c"};
    const char *wide = tmp_path("wide.h5"), *other_names = tmp_path("names.h5");
    const char *no_y = tmp_path("no_y.h5"), *other_y = tmp_path("other_y.h5");
    const char *other_formula = tmp_path("formula.h5");
    write_h5(wide, 0, 10, 5, names5, "y ~ a + b + c + d", true);
    write_h5(other_names, 0, 10, P, renamed, formula, true);
    write_h5(no_y, 0, 10, P, names, NULL, false);
    write_h5(other_y, 0, 10, P, names, "w ~ a + b + c", true);
    write_h5(other_formula, 0, 10, P, names, "y ~ a + b + c + 0", true);
    const char *a = part_paths[0];
    check_refused(a, wide, OOC_ERR_INVALID_ARG,
                  (const char *const[]){wide, a, "5 columns", "has 4", NULL});
    check_refused(a, other_names, OOC_ERR_INVALID_ARG,
                  (const char *const[]){other_names, a, "column 3 of X is 'z', not 'b'", NULL});
    check_refused(a, no_y, OOC_ERR_INVALID_ARG,
                  (const char *const[]){no_y, a, "no response", NULL});
    check_refused(a, other_y, OOC_ERR_INVALID_ARG,
                  (const char *const[]){other_y, a, "response is 'w', not 'y'", NULL});
    check_refused(a, other_formula, OOC_ERR_INVALID_ARG,
                  (const char *const[]){other_formula, a, "formula", NULL});
    /* The last file of three is checked too. */
    const char *paths[3] = {part_paths[0], part_paths[1], other_names};
    ooc_source_options o = options();
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK(ooc_source_open_files(paths, 3, &o, &src, &err) == OOC_ERR_INVALID_ARG && !src);
    CHECK_MSG(strstr(err.message, other_names), "%s", err.message);
}

static void test_one_and_none(void)
{
    ooc_source_options o = options();
    ooc_source *one = NULL, *plain = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_source_open_files(part_paths, 1, &o, &one, &err) == OOC_OK, "%s", err.message);
    CHECK(ooc_source_open(part_paths[0], &o, &plain, &err) == OOC_OK);
    CHECK(one && plain && one->vt == plain->vt && one->nrows == part_rows[0]);
    ooc_source_free(one);
    ooc_source_free(plain);

    ooc_source *src = NULL;
    CHECK(ooc_source_open_files(part_paths, 0, &o, &src, &err) == OOC_ERR_INVALID_ARG && !src);

    const char *missing = tmp_path("missing.h5");
    check_refused(part_paths[0], missing, OOC_ERR_IO, (const char *const[]){missing, NULL});
    check_refused(missing, part_paths[0], OOC_ERR_IO, (const char *const[]){missing, NULL});
}

/* An HDF5 part then a CSV part: rows unknown until a pass ends, dropped rows
 * summed, and fit's error about a non-finite value names the CSV line. */
static void test_csv_part(void)
{
    const char *csv = tmp_path("part.csv"), *bad = tmp_path("bad.csv");
    write_text(csv, "y,a,b,c\n1,2,3,4\n5,,7,8\n9,10,11,12\n");
    write_text(bad, "y,a,b,c\n1,2,3,4\n5,6,inf,8\n");
    ooc_source_options o = options();
    ooc_error err = {0};
    const char *paths[2] = {part_paths[0], csv};
    ooc_source *src = NULL;
    CHECK_MSG(ooc_source_open_files(paths, 2, &o, &src, &err) == OOC_OK, "%s", err.message);
    if (src) {
        CHECK(src->nrows == UINT64_MAX);
        ooc_block *b;
        uint64_t rows = 0;
        while (src->vt->next(src, &b, &err) == OOC_OK && b) {
            rows += b->nrows;
            src->vt->release(src, b);
        }
        CHECK_MSG(rows == part_rows[0] + 2 && src->nrows == rows && src->rows_dropped == 1,
                  "%llu rows, nrows %llu, %llu dropped", (unsigned long long)rows,
                  (unsigned long long)src->nrows, (unsigned long long)src->rows_dropped);
        CHECK(src->vt->rewind(src, &err) == OOC_OK && src->rows_dropped == 0);
        ooc_source_free(src);
    }

    paths[1] = bad;
    src = NULL;
    CHECK_MSG(ooc_source_open_files(paths, 2, &o, &src, &err) == OOC_OK, "%s", err.message);
    ooc_backend *be = NULL;
    CHECK(ooc_cpu_backend_create(NULL, &be, &err) == OOC_OK);
    ooc_fit_options fo;
    ooc_fit_options_init(&fo);
    ooc_fit_result *r = NULL;
    CHECK(src && be && ooc_fit(src, be, &fo, &r, &err) == OOC_ERR_DATA && !r);
    CHECK_MSG(strstr(err.message, bad) && strstr(err.message, "line 3") &&
                  strstr(err.message, "row 702"),
              "%s", err.message);
    ooc_backend_free(be);
    ooc_source_free(src);
}

/* β of a fit of `paths` (the CPU backend, qr); NULL on failure. */
static ooc_fit_result *fit_files(const char *const *paths, size_t npaths)
{
    ooc_source_options o = options();
    ooc_source *src = NULL;
    ooc_backend *be = NULL;
    ooc_fit_result *r = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_source_open_files(paths, npaths, &o, &src, &err) == OOC_OK, "%s", err.message);
    CHECK(ooc_cpu_backend_create(NULL, &be, &err) == OOC_OK);
    ooc_fit_options fo;
    ooc_fit_options_init(&fo);
    if (src && be)
        CHECK_MSG(ooc_fit(src, be, &fo, &r, &err) == OOC_OK, "%s", err.message);
    ooc_backend_free(be);
    ooc_source_free(src);
    return r;
}

/* Both fits return the exact β of rows perturbed columnwise by γ (lsq_bounds.h),
 * so each is within η·‖β‖ of the exact β, η the QR bound of tests/unit/test_fit.c
 * (κ ε_A (2 + (κ+1) tan θ) / (1 - κ ε_A), ε_A = √p_aug·γ), and they are
 * within twice that of each other. */
static void test_fit_equal(void)
{
    const char *all = tmp_path("all.h5");
    write_h5(all, 0, NROWS, P, names, formula, true);
    ooc_fit_result *cat = fit_files(part_paths, NPARTS), *one = fit_files(&all, 1);
    if (!cat || !one)
        goto out;
    CHECK(cat->nobs == NROWS && one->nobs == NROWS && cat->rank == P);
    double kappa = fmax(cat->condition_number, one->condition_number);
    double eps_a = sqrt((double)(P + 1)) * gamma_np(NROWS, P + 1);
    double tan_theta = sqrt(one->ssr / (one->uncentered_tss - one->ssr));
    double eta = kappa * eps_a * (2.0 + (kappa + 1.0) * tan_theta) / (1.0 - kappa * eps_a);
    double beta_norm = 0.0;
    for (size_t j = 0; j < P; j++)
        beta_norm += one->params[j] * one->params[j];
    double tol = 2.0 * eta * sqrt(beta_norm);
    for (size_t j = 0; j < P; j++)
        CHECK_MSG(fabs(cat->params[j] - one->params[j]) <= tol, "β%zu %.17g vs %.17g (tol %g)", j,
                  cat->params[j], one->params[j], tol);
out:
    ooc_fit_result_free(cat);
    ooc_fit_result_free(one);
}

/* Rows [begin, end) of the three files as one: the rows and numbers of the
 * concatenation's range, twice (rewind between). */
static void check_range(uint64_t begin, uint64_t end)
{
    ooc_source_options o = options();
    o.row_begin = begin;
    o.row_end = end;
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_source_open_files(part_paths, NPARTS, &o, &src, &err) == OOC_OK, "%s",
              err.message);
    if (!src)
        return;
    uint64_t want_end = end ? end : NROWS;
    CHECK(src->nrows == want_end - begin);
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            CHECK(src->vt->rewind(src, &err) == OOC_OK);
        ooc_block *b;
        uint64_t row = begin;
        size_t bad = 0;
        while (src->vt->next(src, &b, &err) == OOC_OK && b) {
            CHECK_MSG(b->first_row == row, "range %llu-%llu pass %d: block at %llu, not %llu",
                      (unsigned long long)begin, (unsigned long long)end, pass,
                      (unsigned long long)b->first_row, (unsigned long long)row);
            for (size_t i = 0; i < b->nrows && b->first_row + i < NROWS; i++) {
                size_t r = (size_t)b->first_row + i;
                bad += memcmp(b->data + i * b->ncols, X + r * P, P * sizeof(double)) != 0 ||
                       b->data[i * b->ncols + P] != Y[r];
            }
            row = b->first_row + b->nrows;
            src->vt->release(src, b);
        }
        CHECK_MSG(bad == 0 && row == want_end, "range %llu-%llu pass %d: %zu rows differ, "
                  "ended at %llu", (unsigned long long)begin, (unsigned long long)end, pass, bad,
                  (unsigned long long)row);
    }
    ooc_source_free(src);
}

static void test_ranges(void)
{
    static const uint64_t ranges[][2] = {
        {0, 0},     {0, NROWS}, {0, 700},    {700, 701}, {699, 702}, {701, 2001},
        {350, 351}, {5, 1995},  {1000, 1000}, {700, 700}, {2000, 0},  {0, 1},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        check_range(ranges[i][0], ranges[i][1]);
    /* one file: its own rows, numbered as in the file */
    ooc_source_options o = options();
    o.row_begin = 100;
    o.row_end = 1000;
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK(ooc_source_open(part_paths[2], &o, &src, &err) == OOC_OK && src && src->nrows == 900);
    ooc_block *b;
    if (src && src->vt->next(src, &b, &err) == OOC_OK && b) {
        CHECK(b->first_row == 100 && b->data[P] == Y[701 + 100]); /* c.h5 holds rows 701.. */
        src->vt->release(src, b);
    }
    ooc_source_free(src);
    /* past the end: refused, naming the counts */
    o.row_begin = 10;
    o.row_end = NROWS + 1;
    src = NULL;
    CHECK(ooc_source_open_files(part_paths, NPARTS, &o, &src, &err) == OOC_ERR_INVALID_ARG &&
          !src && strstr(err.message, "2002"));
    o.row_end = 1301;
    CHECK(ooc_source_open(part_paths[2], &o, &src, &err) == OOC_ERR_INVALID_ARG && !src);
}

/* ---- an ooc_collective over threads ------------------------------------ */

enum { MAX_PROCS = 4, MAX_MESSAGES = 64 };

/* One mailbox per ordered pair of processes: messages in order. */
typedef struct mailbox {
    void *msg[MAX_MESSAGES];
    size_t bytes[MAX_MESSAGES];
    size_t head, tail;
} mailbox;

typedef struct thread_world {
    int size;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mailbox box[MAX_PROCS][MAX_PROCS]; /* [from][to] */
} thread_world;

typedef struct thread_proc {
    thread_world *world;
    int rank;
} thread_proc;

static ooc_status tw_send(void *ctx, int to, const void *data, size_t bytes, ooc_error *err)
{
    thread_proc *me = ctx;
    thread_world *w = me->world;
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "test transport: out of memory");
    memcpy(copy, data, bytes);
    pthread_mutex_lock(&w->mu);
    mailbox *m = &w->box[me->rank][to];
    m->msg[m->tail % MAX_MESSAGES] = copy;
    m->bytes[m->tail % MAX_MESSAGES] = bytes;
    m->tail++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return OOC_OK;
}

static ooc_status tw_recv(void *ctx, int from, void *data, size_t bytes, ooc_error *err)
{
    thread_proc *me = ctx;
    thread_world *w = me->world;
    pthread_mutex_lock(&w->mu);
    mailbox *m = &w->box[from][me->rank];
    while (m->head == m->tail)
        pthread_cond_wait(&w->cv, &w->mu);
    void *msg = m->msg[m->head % MAX_MESSAGES];
    size_t got = m->bytes[m->head % MAX_MESSAGES];
    m->head++;
    pthread_mutex_unlock(&w->mu);
    ooc_status st = got == bytes ? OOC_OK
                                 : OOC_FAIL(err, OOC_ERR_INTERNAL,
                                            "test transport: %zu bytes from %d, %zu expected",
                                            got, from, bytes);
    if (st == OOC_OK)
        memcpy(data, msg, bytes);
    free(msg);
    return st;
}

static ooc_status tw_broadcast(void *ctx, void *data, size_t bytes, ooc_error *err)
{
    thread_proc *me = ctx;
    if (me->rank != 0)
        return tw_recv(ctx, 0, data, bytes, err);
    ooc_status st = OOC_OK;
    for (int r = 1; r < me->world->size && st == OOC_OK; r++)
        st = tw_send(ctx, r, data, bytes, err);
    return st;
}

static ooc_status tw_agree(void *ctx, bool failed, int *first, ooc_error *err)
{
    thread_proc *me = ctx;
    int mine = failed ? me->rank : -1;
    if (me->rank != 0) {
        ooc_status st = tw_send(ctx, 0, &mine, sizeof mine, err);
        return st == OOC_OK ? tw_recv(ctx, 0, first, sizeof *first, err) : st;
    }
    *first = mine;
    for (int r = 1; r < me->world->size; r++) {
        int theirs;
        ooc_status st = tw_recv(ctx, r, &theirs, sizeof theirs, err);
        if (st != OOC_OK)
            return st;
        if (theirs >= 0 && *first < 0)
            *first = theirs;
    }
    return tw_broadcast(ctx, first, sizeof *first, err);
}

/* One process of a split fit. */
typedef struct proc_job {
    thread_proc proc;
    ooc_collective coll;
    ooc_method method;
    ooc_cov_type cov;
    ooc_refine_mode refine;
    volatile int cancel;     /* raised beforehand: this process fails */
    ooc_status status;
    ooc_fit_result *result;
    char message[sizeof ((ooc_error *)0)->message];
} proc_job;

static void *run_proc(void *arg)
{
    proc_job *j = arg;
    int n = j->coll.size, r = j->coll.rank;
    ooc_source_options o = options();
    o.row_begin = (uint64_t)NROWS * (uint64_t)r / (uint64_t)n;
    o.row_end = (uint64_t)NROWS * (uint64_t)(r + 1) / (uint64_t)n;
    o.nthreads = 1;
    ooc_source *src = NULL;
    ooc_backend *be = NULL;
    ooc_error err = {0};
    ooc_cpu_backend_options bo = {.nthreads = 1};
    j->status = ooc_source_open_files(part_paths, NPARTS, &o, &src, &err);
    if (j->status == OOC_OK)
        j->status = ooc_cpu_backend_create(&bo, &be, &err);
    if (j->status == OOC_OK) {
        ooc_fit_options fo;
        ooc_fit_options_init(&fo);
        fo.method = j->method;
        fo.cov = j->cov;
        fo.refine = j->refine;
        fo.cancel = &j->cancel;
        fo.collective = &j->coll;
        j->status = ooc_fit(src, be, &fo, &j->result, &err);
    }
    snprintf(j->message, sizeof j->message, "%s", err.message);
    ooc_backend_free(be);
    ooc_source_free(src);
    return NULL;
}

/* Run a fit split over n processes; `failing` (-1: none) has its cancel
 * flag raised.  jobs[] receive each process's outcome. */
static void split_fit(int n, ooc_method method, ooc_cov_type cov, ooc_refine_mode refine,
                      int failing, proc_job *jobs)
{
    thread_world *w = calloc(1, sizeof *w);
    w->size = n;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_t threads[MAX_PROCS];
    for (int r = 0; r < n; r++) {
        jobs[r] = (proc_job){.proc = {w, r}, .method = method, .cov = cov, .refine = refine,
                             .cancel = r == failing};
        jobs[r].coll = (ooc_collective){.rank = r, .size = n, .ctx = &jobs[r].proc,
                                        .agree = tw_agree, .broadcast = tw_broadcast,
                                        .send = tw_send, .recv = tw_recv};
        CHECK(pthread_create(&threads[r], NULL, run_proc, &jobs[r]) == 0);
    }
    for (int r = 0; r < n; r++)
        pthread_join(threads[r], NULL);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            CHECK_MSG(w->box[a][b].head == w->box[a][b].tail, "messages from %d to %d left", a, b);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

/* The split fit against the one-process fit of the same rows: β within
 * 2η‖β‖ as in test_fit_equal (both are exact fits of rows perturbed by γ,
 * merged in another order); bse within 2·(2κ²ε_A + η) relatively, the
 * first-order perturbation of (AᵀA)⁻¹ (2κ²ε_A) plus that of the residual
 * scale (through β, η).  Every process returns the same result. */
static void test_split_fit(void)
{
    static const struct {
        ooc_method method;
        ooc_cov_type cov;
        ooc_refine_mode refine;
    } cases[] = {{OOC_METHOD_QR, OOC_COV_HC1, OOC_REFINE_ALWAYS},
                 {OOC_METHOD_NORMAL, OOC_COV_NONROBUST, OOC_REFINE_AUTO}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        proc_job one[1], jobs[MAX_PROCS];
        split_fit(1, cases[c].method, cases[c].cov, cases[c].refine, -1, one);
        CHECK_MSG(one[0].status == OOC_OK, "%s", one[0].message);
        const ooc_fit_result *ref = one[0].result;
        if (!ref)
            continue;
        double kappa = ref->condition_number;
        double eps_a = sqrt((double)(P + 1)) * gamma_np(NROWS, P + 1);
        if (cases[c].method == OOC_METHOD_NORMAL) /* the Gram's error is κ times larger */
            eps_a *= kappa;
        double tan_theta = sqrt(ref->ssr / (ref->uncentered_tss - ref->ssr));
        double eta = kappa * eps_a * (2.0 + (kappa + 1.0) * tan_theta) / (1.0 - kappa * eps_a);
        double beta_norm = 0.0;
        for (size_t j = 0; j < P; j++)
            beta_norm += ref->params[j] * ref->params[j];
        double tol_beta = 2.0 * eta * sqrt(beta_norm), tol_bse = 2.0 * (2 * kappa * kappa * eps_a + eta);
        for (int n = 2; n <= MAX_PROCS; n++) {
            split_fit(n, cases[c].method, cases[c].cov, cases[c].refine, -1, jobs);
            for (int r = 0; r < n; r++) {
                const ooc_fit_result *got = jobs[r].result;
                CHECK_MSG(jobs[r].status == OOC_OK && got, "%d processes, rank %d: %s", n, r,
                          jobs[r].message);
                if (!got)
                    continue;
                CHECK(got->nobs == NROWS && got->rank == P);
                CHECK(got->refine_passes == (r == 0 ? got->refine_passes
                                                    : jobs[0].result->refine_passes));
                for (size_t j = 0; j < P; j++) {
                    CHECK_MSG(fabs(got->params[j] - ref->params[j]) <= tol_beta,
                              "%d processes, rank %d: β%zu %.17g vs %.17g (tol %g)", n, r, j,
                              got->params[j], ref->params[j], tol_beta);
                    CHECK_MSG(fabs(got->bse[j] - ref->bse[j]) <= tol_bse * ref->bse[j],
                              "%d processes, rank %d: bse%zu %.17g vs %.17g (tol %g)", n, r, j,
                              got->bse[j], ref->bse[j], tol_bse);
                    if (r > 0)
                        CHECK(got->params[j] == jobs[0].result->params[j]);
                }
            }
            for (int r = 0; r < n; r++)
                ooc_fit_result_free(jobs[r].result);
        }
        ooc_fit_result_free(one[0].result);
    }
    /* one process fails: it reports its own error, the others stop with OOC_ERR_REMOTE */
    for (int failing = 0; failing < 3; failing++) {
        proc_job jobs[3];
        split_fit(3, OOC_METHOD_QR, OOC_COV_HC1, OOC_REFINE_AUTO, failing, jobs);
        for (int r = 0; r < 3; r++) {
            CHECK(!jobs[r].result);
            CHECK_MSG(jobs[r].status == (r == failing ? OOC_ERR_INTERRUPTED : OOC_ERR_REMOTE),
                      "failing %d, rank %d: %d %s", failing, r, (int)jobs[r].status,
                      jobs[r].message);
            if (r != failing) {
                char want[64];
                snprintf(want, sizeof want, "process %d of 3 failed", failing);
                CHECK_MSG(strstr(jobs[r].message, want), "%s", jobs[r].message);
            }
        }
    }
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ooc_test_concat_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    make_data();
    static const char *const part_names[NPARTS] = {"a.h5", "b.h5", "c.h5"};
    size_t first = 0;
    for (size_t k = 0; k < NPARTS; k++) {
        part_paths[k] = tmp_path(part_names[k]);
        write_h5(part_paths[k], first, part_rows[k], P, names, formula, true);
        first += part_rows[k];
    }
    test_rows();
    test_mismatch();
    test_one_and_none();
    test_csv_part();
    test_fit_equal();
    test_ranges();
    test_split_fit();
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_EXIT();
}

/*
 * test_h5faults.c — HDF5 failure paths: the writer on a file system that
 * refuses writes (h5write.c), the HDF5 source and `info` on damaged files
 * (h5source.c, h5info.c).
 *
 * Writer: RLIMIT_FSIZE makes every write past a byte limit fail (EFBIG, with
 * SIGXFSZ ignored), like a disk that fills up there, without root.  Sweeping
 * the limit from 0 to beyond the complete file makes the write fail in every
 * phase: while chunks are written and when closing writes the metadata.  Each
 * failure must be OOC_ERR_IO naming the output and the system error, leave the
 * directory as it was (no temporary file, the previous output byte-identical)
 * and leave no HDF5 id open; each success must give the whole file.  A
 * failed close that left a dangling id would also crash the library's
 * shutdown at exit.
 *
 * Reader: the source and `info` on files with a chunk address or a chunk
 * index node damaged, and a /Y chunk that does not decode.  Each must fail
 * with a message naming the dataset and chunk (with that dataset's own sizes)
 * and leave no HDF5 id open.  The same read then runs in a child process
 * (this program with --read FILE), which must exit 1 and print nothing: an
 * HDF5 error stack left on the source's producer thread when it ends makes
 * HDF5's shutdown at exit print "infinite loop closing library" (and leak).
 */
#include "base/error.h"
#include "hdf5/h5info.h"
#include "hdf5/h5write.h"
#include "stream/source.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Not a multiple of CHUNK_ROWS: the last, partial chunk is written only when
 * the writer is committed, so every run has byte limits that fail in commit
 * whatever the writer threads' timing (with 6000 rows every chunk could be
 * written during the appends, and CI once saw no commit failure at all). */
#define NROWS 6100
#define NCOLS 4
#define CHUNK_ROWS 500
#define X_CHUNK_BYTES (CHUNK_ROWS * NCOLS * 8)
#define Y_CHUNK_BYTES (CHUNK_ROWS * 8)

static double X[NROWS * NCOLS], Y[NROWS];

/* Incompressible values (random mantissas), so the file is about as large as
 * the data and the byte limits below fall at every stage of it. */
static void fill_data(void)
{
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < NROWS * NCOLS; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        X[i] = (double)(s >> 11) / 9007199254740992.0 - 0.5;
    }
    for (size_t i = 0; i < NROWS; i++)
        Y[i] = X[i * NCOLS] * 3.0 + 1.0;
}

static long open_ids(void) { return (long)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); }

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    *n = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)size)) != NULL)
            *n = fread(data, 1, (size_t)size, f);
    }
    fclose(f);
    return data;
}

static void write_file(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, n, f) == n);
        CHECK(fclose(f) == 0);
    }
}

/* Names in dir other than "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

/* ---- writer under a file-size limit ----------------------------------- */

typedef enum phase { PHASE_NONE, PHASE_CREATE, PHASE_APPEND, PHASE_COMMIT } phase;

/* Write NROWS rows of X, Y to path in appends of 700 rows with the file size
 * limited to `limit` bytes; returns the phase that failed (PHASE_NONE:
 * committed). */
static phase write_limited(const char *path, rlim_t limit, ooc_error *err)
{
    static const char *const names[NCOLS] = {"Intercept", "a", "b", "a:b"};
    ooc_h5_writer_options o = {.path = path,
                               .ncols = NCOLS,
                               .with_y = true,
                               .chunk_rows = CHUNK_ROWS,
                               .level = 1,
                               .shuffle = true,
                               .nthreads = 2,
                               .formula = "y ~ a*b",
                               .column_names = names};
    struct rlimit saved, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    lim = saved;
    lim.rlim_cur = limit;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    ooc_h5_writer *w = NULL;
    phase failed = PHASE_NONE;
    ooc_error_clear(err);
    if (ooc_h5w_create(&o, &w, err) != OOC_OK) {
        failed = PHASE_CREATE;
    } else {
        for (size_t row = 0; row < NROWS && failed == PHASE_NONE; row += 700) {
            size_t n = NROWS - row < 700 ? NROWS - row : 700;
            if (ooc_h5w_append(w, X + row * NCOLS, Y + row, n, err) != OOC_OK)
                failed = PHASE_APPEND;
        }
        if (failed == PHASE_NONE) {
            if (ooc_h5w_commit(w, NULL, err) != OOC_OK)
                failed = PHASE_COMMIT;
        } else {
            ooc_h5w_abort(w);
        }
    }
    CHECK(setrlimit(RLIMIT_FSIZE, &saved) == 0);
    return failed;
}

/* The committed file at path holds all rows of X and Y. */
static void check_complete(const char *path, rlim_t limit)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK_MSG(f >= 0, "limit %llu: committed file does not open", (unsigned long long)limit);
    if (f < 0)
        return;
    double *xb = malloc(sizeof X), *yb = malloc(sizeof Y);
    hid_t dx = H5Dopen2(f, "/X", H5P_DEFAULT), dy = H5Dopen2(f, "/Y", H5P_DEFAULT);
    CHECK(xb && yb && dx >= 0 && dy >= 0);
    if (xb && yb && dx >= 0 && dy >= 0) {
        CHECK(H5Dread(dx, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, xb) >= 0);
        CHECK(H5Dread(dy, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, yb) >= 0);
        CHECK_MSG(memcmp(xb, X, sizeof X) == 0 && memcmp(yb, Y, sizeof Y) == 0,
                  "limit %llu: committed data differ", (unsigned long long)limit);
    }
    if (dx >= 0)
        H5Dclose(dx);
    if (dy >= 0)
        H5Dclose(dy);
    H5Fclose(f);
    free(xb);
    free(yb);
}

static void test_writer_limits(void)
{
    char dir[] = "h5faults_w_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/out.h5", dir);
    signal(SIGXFSZ, SIG_IGN); /* writes past the limit fail with EFBIG instead */
    struct rlimit hard;
    CHECK(getrlimit(RLIMIT_FSIZE, &hard) == 0);

    /* The complete file, kept as "the previous output" failures must not touch. */
    ooc_error err = {0};
    CHECK(write_limited(path, hard.rlim_max, &err) == PHASE_NONE);
    size_t full_size = 0;
    unsigned char *previous = read_file(path, &full_size);
    CHECK(previous && full_size > 4 * X_CHUNK_BYTES);
    if (!previous)
        return;

    int count[4] = {0};
    for (rlim_t limit = 0; limit <= full_size + 4096; limit += limit < 8192 ? 512 : 2048) {
        if (limit > hard.rlim_max)
            break;
        phase failed = write_limited(path, limit, &err);
        count[failed]++;
        if (failed == PHASE_NONE) {
            check_complete(path, limit);
            write_file(path, previous, full_size);
        } else {
            CHECK_MSG(err.status == OOC_ERR_IO, "limit %llu, phase %d: status %d: %s",
                      (unsigned long long)limit, (int)failed, (int)err.status, err.message);
            CHECK_MSG(strstr(err.message, strerror(EFBIG)) && strstr(err.message, path),
                      "limit %llu: message \"%s\" lacks the cause or the output",
                      (unsigned long long)limit, err.message);
            CHECK_MSG(!strchr(err.message, '\n'), "limit %llu: message has a newline: %s",
                      (unsigned long long)limit, err.message);
            size_t n = 0;
            unsigned char *now = read_file(path, &n);
            CHECK_MSG(now && n == full_size && memcmp(now, previous, n) == 0,
                      "limit %llu: the previous output changed", (unsigned long long)limit);
            free(now);
        }
        CHECK_MSG(count_entries(dir) == 1, "limit %llu: %d entries in %s (temporary left?)",
                  (unsigned long long)limit, count_entries(dir), dir);
        CHECK_MSG(open_ids() == 0, "limit %llu, phase %d: %ld HDF5 ids open",
                  (unsigned long long)limit, (int)failed, open_ids());
    }
    /* Failures while writing chunks and while committing (the last, partial
     * chunk and the metadata), and a success once the whole file fits. */
    CHECK_MSG(count[PHASE_APPEND] > 0 && count[PHASE_COMMIT] > 0 && count[PHASE_NONE] > 0,
              "phases: create %d, append %d, commit %d, none %d", count[PHASE_CREATE],
              count[PHASE_APPEND], count[PHASE_COMMIT], count[PHASE_NONE]);
    free(previous);
    unlink(path);
    rmdir(dir);
}

/* ---- reader on damaged files ------------------------------------------ */

/* Byte offset in the file of chunk `index` of dataset `name`. */
static haddr_t chunk_address(const char *path, const char *name, hsize_t index)
{
    haddr_t addr = HADDR_UNDEF;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    hid_t space = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t offset[2];
    unsigned mask;
    hsize_t size;
    CHECK(space >= 0 && H5Dget_chunk_info(d, space, index, offset, &mask, &addr, &size) >= 0);
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    return addr;
}

/* Read every block of path; returns the status, message in err. */
static ooc_status read_all(const char *path, ooc_error *err)
{
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.need_y = true;
    o.nthreads = 2;
    ooc_source *src = NULL;
    ooc_status st = ooc_h5_source_open(path, &o, &src, err);
    while (st == OOC_OK) {
        ooc_block *b = NULL;
        st = src->vt->next(src, &b, err);
        if (!b)
            break;
        src->vt->release(src, b);
    }
    ooc_source_free(src);
    return st;
}

/* Read path in a child process (this program, --read): it must fail (exit 1)
 * and print nothing, also while HDF5 shuts down at its exit. */
static void check_child_read(const char *label, const char *path)
{
    char self[256], cmd[640], out[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(len > 0);
    if (len <= 0)
        return;
    self[len] = '\0';
    snprintf(cmd, sizeof cmd, "'%s' --read '%s' 2>&1", self, path);
    FILE *child = popen(cmd, "r");
    CHECK(child != NULL);
    if (!child)
        return;
    size_t n = fread(out, 1, sizeof out - 1, child);
    out[n] = '\0';
    int status = pclose(child);
    CHECK_MSG(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1,
              "%s: child status %#x", label, (unsigned)status);
    CHECK_MSG(n == 0, "%s: the child printed: %s", label, out);
}

static void expect_read_failure(const char *label, const char *path, ooc_status want,
                                const char *const *needles, const char *const *absent)
{
    ooc_error err = {0};
    ooc_status st = read_all(path, &err);
    CHECK_MSG(st == want, "%s: status %d, want %d: %s", label, (int)st, (int)want, err.message);
    for (; needles && *needles; needles++)
        CHECK_MSG(strstr(err.message, *needles), "%s: \"%s\" lacks \"%s\"", label, err.message,
                  *needles);
    for (; absent && *absent; absent++)
        CHECK_MSG(!strstr(err.message, *absent), "%s: \"%s\" has \"%s\"", label, err.message,
                  *absent);
    CHECK_MSG(open_ids() == 0, "%s: %ld HDF5 ids open", label, open_ids());
    check_child_read(label, path);
}

static void test_damaged_files(void)
{
    const char *good = "h5faults_good.h5", *bad = "h5faults_bad.h5";
    ooc_error err = {0};
    struct rlimit hard;
    CHECK(getrlimit(RLIMIT_FSIZE, &hard) == 0);
    CHECK(write_limited(good, hard.rlim_max, &err) == PHASE_NONE);
    size_t n = 0;
    unsigned char *data = read_file(good, &n);
    CHECK(data != NULL);
    if (!data)
        return;

    /* The address of /X's chunk 1 moved past the end of the file: the index
     * (a B-tree node) holds it as 8 little-endian bytes. */
    unsigned char *copy = malloc(n);
    haddr_t addr = chunk_address(good, "/X", 1);
    int found = 0;
    memcpy(copy, data, n);
    for (size_t at = 0; at + 8 <= n; at++) {
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--)
            v = v << 8 | copy[at + (size_t)k];
        if (v == addr) {
            copy[at + 5] ^= 0x01; /* + 2^40 */
            found++;
        }
    }
    CHECK(found == 1);
    write_file(bad, copy, n);
    expect_read_failure("chunk address", bad, OOC_ERR_CORRUPT,
                        (const char *const[]){"'/X'", "chunk 1,", "rows 500..999", bad, NULL},
                        NULL);

    /* Every chunk index node unreadable: the first lookup fails. */
    memcpy(copy, data, n);
    found = 0;
    for (size_t at = 0; at + 4 <= n; at++)
        if (memcmp(copy + at, "TREE", 4) == 0) {
            copy[at] ^= 0xFF;
            found++;
        }
    CHECK(found >= 2);
    write_file(bad, copy, n);
    expect_read_failure("index nodes", bad, OOC_ERR_CORRUPT,
                        (const char *const[]){"'/X'", "chunk 0,", "chunk index", bad, NULL},
                        NULL);
    char *text = NULL;
    CHECK(ooc_h5_describe(bad, &text, &err) == OOC_ERR_HDF5 && text == NULL);
    CHECK_MSG(strstr(err.message, "'/X'") && strstr(err.message, "chunk index"), "info: %s",
              err.message);
    CHECK_MSG(open_ids() == 0, "info: %ld HDF5 ids open", open_ids());

    /* /Y's chunk 2 does not inflate: named with /Y's chunk size, not /X's. */
    memcpy(copy, data, n);
    addr = chunk_address(good, "/Y", 2);
    for (size_t k = 30; k < 50; k++)
        copy[addr + k] ^= 0x5A;
    write_file(bad, copy, n);
    char y_bytes[32], x_bytes[32], x_cap[32];
    snprintf(y_bytes, sizeof y_bytes, "%d", Y_CHUNK_BYTES);
    snprintf(x_bytes, sizeof x_bytes, "%d", X_CHUNK_BYTES);
    snprintf(x_cap, sizeof x_cap, "%d", X_CHUNK_BYTES + 64);
    expect_read_failure("Y chunk", bad, OOC_ERR_CORRUPT,
                        (const char *const[]){"'/Y'", "chunk 2,", "rows 1000..1499", y_bytes, NULL},
                        (const char *const[]){x_bytes, x_cap, NULL});

    free(copy);
    free(data);
    unlink(good);
    unlink(bad);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--read") == 0) {
        ooc_error err = {0};
        return read_all(argv[2], &err) == OOC_OK ? 0 : 1;
    }
    fill_data();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    test_writer_limits();
    test_damaged_files();
    return TEST_EXIT();
}

/*
 * test_bytesource.c — the byte source under the CSV reader (bytesource.h):
 * going back on a regular file, a pipe kept in memory or spooled to $TMPDIR
 * (and read in one pass, never spooled, after ooc_csv_last_pass), a spool
 * that cannot be made, a read waiting on a pipe stopped by the cancel flag
 * (and not by a signal alone), gzip decoding with several members, a restart
 * and a truncated file, compressed data under a plain name, and refused
 * names.  Pipes are opened by path (/dev/fd/N), as /dev/stdin or a FIFO is.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "csv/bytesource.h"
#include "csv/csv.h"
#include "base/error.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* ---- a pipe fed by a thread ------------------------------------------- */

typedef struct feeder {
    int fd;              /* write end */
    const char *data;
    size_t n;
    unsigned delay_ms;   /* before writing */
    pthread_t thread;
} feeder;

static void *feed(void *p)
{
    feeder *f = p;
    usleep(f->delay_ms * 1000u);
    for (size_t done = 0; done < f->n;) {
        ssize_t k = write(f->fd, f->data + done, f->n - done);
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    close(f->fd);
    return NULL;
}

/* Start feeding data into a new pipe; *path becomes "/dev/fd/N" of its read
 * end (close *read_fd after use). */
static void start_pipe(feeder *f, const char *data, size_t n, unsigned delay_ms, char *path,
                       size_t path_size, int *read_fd)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(2);
    }
    *read_fd = fds[0];
    snprintf(path, path_size, "/dev/fd/%d", fds[0]);
    *f = (feeder){.fd = fds[1], .data = data, .n = n, .delay_ms = delay_ms};
    pthread_create(&f->thread, NULL, feed, f);
}

/* ---- CSV text and dumps ----------------------------------------------- */

/* "id,name\n" + n records, some quoted across lines; caller frees. */
static char *make_csv(size_t n, size_t *len)
{
    size_t cap = 64 + n * 40;
    char *s = malloc(cap);
    size_t o = (size_t)snprintf(s, cap, "id,name\n");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o,
                              i % 7 == 3 ? "%zu,\"two\nlines %zu\"\n" : "%zu,n%zu\n", i, i * 31);
    *len = o;
    return s;
}

/* All records of r from where it is, as "line:f|f\n" lines; caller frees. */
static char *dump(ooc_csv_reader *r, ooc_status *status, ooc_error *err)
{
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    while ((*status = ooc_csv_next_block(r, &blk, err)) == OOC_OK && blk.nrecords) {
        for (size_t i = 0; i < blk.nrecords; i++) {
            size_t need = len + 64 + blk.field_lens[2 * i] + blk.field_lens[2 * i + 1];
            if (need > cap) {
                cap = need * 2;
                out = realloc(out, cap);
            }
            len += (size_t)snprintf(out + len, cap - len, "%llu:%s|%s\n",
                                    (unsigned long long)blk.line_numbers[i], blk.fields[2 * i],
                                    blk.fields[2 * i + 1]);
        }
    }
    ooc_csv_block_free(&blk);
    return out;
}

/* Notes from the reader (the spool announcement). */
static int notes_seen = 0;
static void count_notes(void *user_data, ooc_log_level level, const char *message)
{
    (void)user_data;
    if (level == OOC_LOG_NOTE && strstr(message, "temporary file"))
        notes_seen++;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    bool empty = true;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = false;
    if (d)
        closedir(d);
    return empty;
}

/* Read a CSV from a pipe twice: with replay_memory above the text it stays
 * in memory, below it is spooled (one note); with last_pass after the first
 * block's rewind nothing is spooled, and a later rewind is refused. */
static void test_pipe_rewind(size_t replay_memory, bool last_pass, const char *expect_spool)
{
    size_t len;
    char *text = make_csv(3000, &len);
    char path[64];
    int rfd;
    feeder f;
    start_pipe(&f, text, len, 0, path, sizeof path, &rfd);
    ooc_csv_reader_options o = {.block_records = 100, .read_bytes = 4096,
                                .log = {count_notes, NULL}, .replay_memory = replay_memory};
    ooc_csv_reader *r = NULL;
    ooc_error err = {0};
    ooc_status st;
    notes_seen = 0;
    CHECK_MSG(ooc_csv_open(path, &o, &r, &err) == OOC_OK, "%s", err.message);
    if (!r)
        goto out;
    CHECK(ooc_csv_file_size(r) == 0);
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    CHECK(ooc_csv_next_block(r, &blk, &err) == OOC_OK && blk.nrecords == 100);
    ooc_csv_block_free(&blk);
    CHECK_MSG(ooc_csv_rewind(r, &err) == OOC_OK, "%s", err.message);
    if (last_pass)
        ooc_csv_last_pass(r);
    char *first = dump(r, &st, &err);
    CHECK_MSG(st == OOC_OK, "%s", err.message);
    CHECK(ooc_csv_bytes_read(r) == len);
    if (last_pass) {
        ooc_error_clear(&err);
        CHECK(ooc_csv_rewind(r, &err) == OOC_ERR_UNSUPPORTED);
        CHECK_MSG(strstr(err.message, path) && strstr(err.message, "read only once"), "%s",
                  err.message);
    } else {
        CHECK_MSG(ooc_csv_rewind(r, &err) == OOC_OK, "%s", err.message);
        char *second = dump(r, &st, &err);
        CHECK(st == OOC_OK && strcmp(first, second) == 0);
        free(second);
    }
    CHECK_MSG(notes_seen == (expect_spool ? 1 : 0), "%d spool notes, %s", notes_seen,
              expect_spool ? expect_spool : "none expected");
    CHECK(strncmp(first, "2:0|n0\n3:1|n31\n", 15) == 0);
    free(first);
out:
    ooc_csv_close(r);
    CHECK_MSG(dir_is_empty(tmpdir), "the spool left a file in %s", tmpdir);
    pthread_join(f.thread, NULL);
    close(rfd);
    free(text);
}

/* No room for the spool: the error says where, and how to give it room. */
static void test_spool_fails(void)
{
    size_t len;
    char *text = make_csv(2000, &len);
    char path[64];
    int rfd;
    feeder f;
    start_pipe(&f, text, len, 0, path, sizeof path, &rfd);
    setenv("TMPDIR", "/nonexistent-ooc-dir", 1);
    ooc_csv_reader_options o = {.replay_memory = 100};
    ooc_csv_reader *r = NULL;
    ooc_error err = {0};
    ooc_status st = ooc_csv_open(path, &o, &r, &err);
    char *all = st == OOC_OK ? dump(r, &st, &err) : NULL;
    CHECK(st == OOC_ERR_IO);
    CHECK_MSG(strstr(err.message, "/nonexistent-ooc-dir") && strstr(err.message, "TMPDIR"), "%s",
              err.message);
    free(all);
    ooc_csv_close(r);
    setenv("TMPDIR", tmpdir, 1);
    pthread_join(f.thread, NULL);
    close(rfd);
    free(text);
}

/* ---- cancel ------------------------------------------------------------ */

static volatile int cancel_flag = 0;
static pthread_t reader_thread;

static void on_usr1(int signo) { (void)signo; }

typedef struct poker {
    unsigned delay_ms;
    bool raise_cancel;
} poker;

static void *poke(void *p)
{
    poker *k = p;
    usleep(k->delay_ms * 1000u);
    if (k->raise_cancel)
        cancel_flag = 1;
    pthread_kill(reader_thread, SIGUSR1);
    return NULL;
}

/* A read waiting on a pipe: a signal alone lets it wait on for the data; a
 * signal with the cancel flag raised stops it with OOC_ERR_INTERRUPTED. */
static void test_cancel(void)
{
    struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART: read returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    reader_thread = pthread_self();
    for (int raise_cancel = 0; raise_cancel < 2; raise_cancel++) {
        char path[64];
        int rfd;
        feeder f;
        /* The data come 400 ms late; the signal after 100 ms. */
        start_pipe(&f, "abc", 3, 400, path, sizeof path, &rfd);
        cancel_flag = 0;
        ooc_byte_source_options o = {.cancel = &cancel_flag};
        ooc_byte_source *s = NULL;
        ooc_error err = {0};
        CHECK(ooc_byte_source_open(path, &o, &s, &err) == OOC_OK);
        poker k = {.delay_ms = 100, .raise_cancel = raise_cancel};
        pthread_t t;
        pthread_create(&t, NULL, poke, &k);
        char buf[8];
        size_t got = 0;
        ooc_status st = s ? ooc_byte_source_read(s, buf, sizeof buf, &got, &err) : OOC_ERR_IO;
        if (raise_cancel) {
            CHECK_MSG(st == OOC_ERR_INTERRUPTED && strstr(err.message, path), "%d %s", (int)st,
                      err.message);
        } else {
            CHECK_MSG(st == OOC_OK && got == 3 && !memcmp(buf, "abc", 3), "%d %s", (int)st,
                      err.message);
        }
        pthread_join(t, NULL);
        pthread_join(f.thread, NULL);
        ooc_byte_source_close(s);
        close(rfd);
    }
    signal(SIGUSR1, SIG_DFL);
}

/* ---- files, compression, names ---------------------------------------- */

/* Two gzip members: "a,b\n1,2\n" and "3,4\n" (Python's gzip.compress, mtime 0). */
static const unsigned char two_members[] =
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x4b\xd4\x49\xe2\x32\xd4\x31\xe2\x02\x00\x7b\x07"
    "\x97\x0a\x08\x00\x00\x00\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x33\xd6\x31\xe1\x02\x00"
    "\x3e\x2d\x72\xa9\x04\x00\x00\x00";

/* Read all of s (at most cap - 1 bytes, NUL-terminated). */
static ooc_status read_all(ooc_byte_source *s, char *buf, size_t cap, size_t piece, ooc_error *err)
{
    size_t len = 0, got;
    ooc_status st;
    do {
        size_t want = cap - 1 - len < piece ? cap - 1 - len : piece;
        st = ooc_byte_source_read(s, buf + len, want, &got, err);
        len += got;
    } while (st == OOC_OK && got && len < cap - 1);
    buf[len] = '\0';
    return st;
}

static void test_gzip(void)
{
    if (!strstr(ooc_byte_source_formats(), "gzip")) {
        printf("test_bytesource: this build reads no gzip; gzip cases skipped\n");
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/two.CSV.GZ", tmpdir); /* the extension in any case */
    write_file(path, two_members, sizeof two_members - 1);
    ooc_byte_source *s = NULL;
    ooc_error err = {0};
    char buf[64];
    CHECK(ooc_byte_source_open(path, NULL, &s, &err) == OOC_OK);
    if (!s)
        return;
    CHECK(ooc_byte_source_size(s) == 0);
    CHECK(read_all(s, buf, sizeof buf, 1, &err) == OOC_OK);
    CHECK_STREQ(buf, "a,b\n1,2\n3,4\n");
    /* Back into the first member: the decoder starts again and skips. */
    CHECK(ooc_byte_source_seek_back(s, 4, &err) == OOC_OK);
    CHECK(read_all(s, buf, sizeof buf, 5, &err) == OOC_OK);
    CHECK_STREQ(buf, "1,2\n3,4\n");
    CHECK(ooc_byte_source_seek_back(s, 100, &err) == OOC_ERR_INTERNAL);
    ooc_byte_source_close(s);
    ooc_error_clear(&err); /* a filled error keeps its first message */

    /* Cut inside the second member: the error names the file and says it ends early. */
    write_file(path, two_members, sizeof two_members - 6);
    CHECK(ooc_byte_source_open(path, NULL, &s, &err) == OOC_OK);
    CHECK(s && read_all(s, buf, sizeof buf, 64, &err) == OOC_ERR_CORRUPT);
    CHECK_MSG(strstr(err.message, path) && strstr(err.message, "gzip data end early"), "%s",
              err.message);
    ooc_byte_source_close(s);
    ooc_error_clear(&err);

    /* Trailing bytes that are not another member. */
    unsigned char junk[sizeof two_members + 3];
    memcpy(junk, two_members, sizeof two_members - 1);
    memcpy(junk + sizeof two_members - 1, "xyz", 3);
    write_file(path, junk, sizeof junk - 1);
    CHECK(ooc_byte_source_open(path, NULL, &s, &err) == OOC_OK);
    CHECK(s && read_all(s, buf, sizeof buf, 64, &err) == OOC_ERR_CORRUPT);
    CHECK_MSG(strstr(err.message, "corrupt gzip data at compressed byte") &&
                  strstr(err.message, "header"),
              "%s", err.message);
    ooc_byte_source_close(s);

    /* An empty .gz is an empty text. */
    write_file(path, "", 0);
    CHECK(ooc_byte_source_open(path, NULL, &s, &err) == OOC_OK);
    CHECK(s && read_all(s, buf, sizeof buf, 64, &err) == OOC_OK && buf[0] == '\0');
    ooc_byte_source_close(s);
}

static void test_files_and_names(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/plain.csv", tmpdir);
    write_file(path, "0123456789", 10);
    ooc_byte_source *s = NULL;
    ooc_error err = {0};
    char buf[32];
    CHECK(ooc_byte_source_open(path, NULL, &s, &err) == OOC_OK);
    CHECK(s && ooc_byte_source_size(s) == 10);
    CHECK(s && read_all(s, buf, sizeof buf, 3, &err) == OOC_OK);
    CHECK(s && ooc_byte_source_seek_back(s, 7, &err) == OOC_OK);
    CHECK(s && read_all(s, buf, sizeof buf, 3, &err) == OOC_OK);
    CHECK_STREQ(buf, "789");
    ooc_byte_source_close(s);
    ooc_byte_source_close(NULL);

    /* Compressed data under a plain name: the CSV reader says what they are. */
    ooc_csv_reader *r = NULL;
    CHECK(ooc_csv_open_memory("data.csv", two_members, sizeof two_members - 1, NULL, &r, &err) ==
          OOC_ERR_CSV);
    CHECK_MSG(strstr(err.message, "data.csv: line 1, column 1") &&
                  strstr(err.message, "gzip-compressed") && strstr(err.message, ".gz"),
              "%s", err.message);
    CHECK_STREQ(ooc_byte_source_sniff("\x28\xb5\x2f\xfd", 4), "zstd");
    CHECK_STREQ(ooc_byte_source_sniff("\xfd" "7zXZ\0", 6), "xz");
    CHECK_STREQ(ooc_byte_source_sniff("BZh91AY&SY", 10), "bzip2");
    CHECK(ooc_byte_source_sniff("BZh9,a,b\n1,", 10) == NULL); /* text that starts alike */
    CHECK(ooc_byte_source_sniff("\x1f", 1) == NULL);

    ooc_error_clear(&err);
    s = (ooc_byte_source *)&err;
    CHECK(ooc_byte_source_open("archive.ZIP", NULL, &s, &err) == OOC_ERR_UNSUPPORTED && !s);
    CHECK_MSG(strstr(err.message, "unzip -p"), "%s", err.message);
    ooc_error_clear(&err);
    snprintf(path, sizeof path, "%s/missing.csv.xz", tmpdir);
    ooc_status st = ooc_byte_source_open(path, NULL, &s, &err);
    CHECK_MSG(st == (strstr(ooc_byte_source_formats(), "xz") ? OOC_ERR_IO : OOC_ERR_UNSUPPORTED),
              "%s", err.message);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ooc_test_bytesource_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    setenv("TMPDIR", tmpdir, 1); /* where the spool goes: checked to stay empty */
    test_pipe_rewind(1 << 20, false, NULL);
    test_pipe_rewind(200, false, "spooled beyond 200 bytes");
    test_pipe_rewind(16 << 10, true, NULL);
    test_spool_fails();
    test_cancel();
    test_files_and_names();
    test_gzip();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_EXIT();
}

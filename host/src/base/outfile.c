/* outfile.c — outputs written under a temporary name and renamed into place (outfile.h). */
#include "base/outfile.h"

#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "NAME" + this + 6 random characters. */
static const char partial_marker[] = ".oocsolve-partial-";

/* Build f->tmp_path's template for path: directory, NAME (cut to fit
 * _PC_NAME_MAX at a UTF-8 boundary), marker, room for the suffix.  Sets
 * *prefix_len to the length before the suffix. */
static ooc_status temp_name(ooc_outfile *f, size_t *prefix_len, ooc_error *err)
{
    const size_t tail = sizeof partial_marker - 1 + 6; /* marker + suffix */
    const char *slash = strrchr(f->path, '/');
    size_t dir_len = slash ? (size_t)(slash - f->path) + 1 : 0;
    const char *base = f->path + dir_len;
    if (!*base)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "output path '%s' names a directory", f->path);
    char *dir = dir_len ? strndup(f->path, dir_len) : strdup(".");
    long name_max = dir ? pathconf(dir, _PC_NAME_MAX) : -1;
    free(dir);
    if (name_max <= 0)
        name_max = 255;
    size_t keep = strlen(base);
    size_t room = (size_t)name_max > tail + 1 ? (size_t)name_max - tail : 1;
    if (keep > room) {
        keep = room;
        while (keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80)
            keep--; /* base[keep], the first byte cut, must not continue a character */
    }
    size_t n = dir_len + keep + tail + 1;
    f->tmp_path = malloc(n);
    if (!f->tmp_path)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    snprintf(f->tmp_path, n, "%.*s%.*s%s", (int)dir_len, f->path, (int)keep, base,
             partial_marker);
    *prefix_len = dir_len + keep + sizeof partial_marker - 1;
    return OOC_OK;
}

ooc_status ooc_outfile_begin(ooc_outfile *f, const char *path, ooc_error *err)
{
    ooc_status status = OOC_OK;
    *f = (ooc_outfile){.path = NULL, .tmp_path = NULL, .fd = -1};
    f->path = strdup(path);
    OOC_FAIL_IF(!f->path, err, OOC_ERR_NOMEM, "out of memory");
    size_t prefix_len = 0;
    OOC_CHECK(temp_name(f, &prefix_len, err));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                    ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)f;
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char *suffix = f->tmp_path + prefix_len;
    for (int attempt = 0; attempt < 100; attempt++) {
        seed += 0x9E3779B97F4A7C15ull; /* splitmix64 step */
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        for (int i = 0; i < 6; i++, z /= 36)
            suffix[i] = alphabet[z % 36];
        suffix[6] = '\0';
        f->fd = open(f->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (f->fd >= 0)
            return OOC_OK;
        if (errno != EEXIST)
            break;
    }
    status = OOC_FAIL(err, OOC_ERR_IO, "cannot create temporary file '%s' for '%s': %s",
                      f->tmp_path, f->path, strerror(errno));
    free(f->tmp_path); /* never created: nothing to remove */
    f->tmp_path = NULL;
out:
    if (status != OOC_OK)
        ooc_outfile_abort(f);
    return status;
}

ooc_status ooc_outfile_commit(ooc_outfile *f, bool durable, ooc_error *err)
{
    ooc_status status = OOC_OK;
    OOC_FAIL_IF(!f->tmp_path || f->fd < 0, err, OOC_ERR_INTERNAL,
                "ooc_outfile_commit: no temporary file open");
    OOC_FAIL_IF(durable && fsync(f->fd) != 0, err, OOC_ERR_IO, "cannot flush '%s' to disk: %s",
                f->tmp_path, strerror(errno));
    int rc_close = close(f->fd);
    f->fd = -1;
    OOC_FAIL_IF(rc_close != 0, err, OOC_ERR_IO, "cannot close '%s': %s", f->tmp_path,
                strerror(errno));
    OOC_FAIL_IF(rename(f->tmp_path, f->path) != 0, err, OOC_ERR_IO,
                "cannot rename '%s' to '%s': %s", f->tmp_path, f->path, strerror(errno));
    free(f->tmp_path);
    f->tmp_path = NULL; /* renamed: nothing to remove */
out:
    ooc_outfile_abort(f);
    return status;
}

void ooc_outfile_abort(ooc_outfile *f)
{
    if (!f)
        return;
    if (f->tmp_path) {
        if (f->fd >= 0)
            close(f->fd);
        unlink(f->tmp_path);
    }
    free(f->tmp_path);
    free(f->path);
    *f = (ooc_outfile){.path = NULL, .tmp_path = NULL, .fd = -1};
}

ooc_status ooc_write_file_atomic(const char *path, const char *what,
                                 void (*body)(FILE *f, const void *ctx), const void *ctx,
                                 ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_outfile out = {0};
    OOC_CHECK(ooc_outfile_begin(&out, path, err));
    /* stdio owns a duplicate of the descriptor; commit closes the original */
    int fd = dup(out.fd);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        status = OOC_FAIL(err, OOC_ERR_IO, "cannot write %s '%s': %s", what, out.tmp_path,
                          strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    body(f, ctx);
    bool write_failed = fflush(f) != 0 || ferror(f);
    int saved = errno;
    int close_rc = fclose(f);
    OOC_FAIL_IF(write_failed || close_rc != 0, err, OOC_ERR_IO, "cannot write %s '%s': %s", what,
                out.tmp_path, strerror(write_failed ? saved : errno));
    status = ooc_outfile_commit(&out, false, err);
out:
    ooc_outfile_abort(&out);
    return status;
}

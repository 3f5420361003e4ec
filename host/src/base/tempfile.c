/*
 * tempfile.c — unnamed temporary files and whole-buffer pread/pwrite (see
 * tempfile.h).
 */
#include "base/tempfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *ooc_tempfile_dir(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}

int ooc_tempfile_open(const char *dir)
{
    int fd = -1;
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
    if (fd >= 0)
        return fd;
    /* A file system without O_TMPFILE: a named file, unlinked at once. */
    size_t len = strlen(dir) + 32;
    char *tmpl = malloc(len);
    if (!tmpl) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(tmpl, len, "%s/oocsolve-tmp-XXXXXX", dir);
    fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd >= 0)
        unlink(tmpl);
    free(tmpl);
    return fd;
}

/* Write (writing) or read n bytes at `offset`, retrying short transfers and
 * EINTR; false with errno set (EIO when no progress is made). */
static bool transfer_all(int fd, char *p, size_t n, uint64_t offset, bool writing)
{
    while (n) {
        ssize_t k = writing ? pwrite(fd, p, n, (off_t)offset) : pread(fd, p, n, (off_t)offset);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return false;
        }
        p += k;
        n -= (size_t)k;
        offset += (uint64_t)k;
    }
    return true;
}

bool ooc_pwrite_all(int fd, const void *data, size_t n, uint64_t offset)
{
    return transfer_all(fd, (char *)data, n, offset, true);
}

bool ooc_pread_all(int fd, void *dst, size_t n, uint64_t offset)
{
    return transfer_all(fd, dst, n, offset, false);
}

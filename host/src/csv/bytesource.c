/*
 * bytesource.c — the CSV reader's byte source (see bytesource.h).
 *
 * Three layers, bottom up: the raw input (a file descriptor or memory); a
 * decoder when the name says the file is compressed; and, for a raw input
 * that cannot go back to its start (a pipe), the kept copy of the text read
 * so far (memory, then a spool file).  `produced` counts text bytes obtained
 * from raw input and decoder, `pos` the bytes handed to the caller: pos is
 * below produced only after a seek back on a kept stream, and those bytes
 * come from the kept copy.  A decoder reads the raw input in RAW_BUFFER
 * pieces and decodes straight into the caller's buffer.
 */
#include "csv/bytesource.h"

#include "base/error.h"
#include "base/tempfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef OOC_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef OOC_HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef OOC_HAVE_BZIP2
#include <bzlib.h>
#endif
#ifdef OOC_HAVE_LZMA
#include <lzma.h>
#endif

enum {
    RAW_BUFFER = 256 << 10,             /* compressed bytes read at once */
    SKIP_BUFFER = 64 << 10,             /* scratch for skipping forward after a restart */
    DEFAULT_REPLAY_MEMORY = 16 << 20,   /* a stream's text kept in memory before spooling */
};

typedef enum codec { CODEC_NONE, CODEC_GZIP, CODEC_ZSTD, CODEC_BZIP2, CODEC_XZ } codec;

#ifdef OOC_HAVE_ZLIB
#define BUILT_GZIP true
#else
#define BUILT_GZIP false
#endif
#ifdef OOC_HAVE_ZSTD
#define BUILT_ZSTD true
#else
#define BUILT_ZSTD false
#endif
#ifdef OOC_HAVE_BZIP2
#define BUILT_BZIP2 true
#else
#define BUILT_BZIP2 false
#endif
#ifdef OOC_HAVE_LZMA
#define BUILT_XZ true
#else
#define BUILT_XZ false
#endif

/* Extension, format name, its library, the command that decompresses it, and whether this
 * build reads it. */
static const struct codec_info {
    const char *ext;
    const char *format;
    const char *library;
    const char *tool;
    bool built;
} codecs[] = {
    [CODEC_NONE] = {"", "plain", "", "cat", true},
    [CODEC_GZIP] = {".gz", "gzip", "zlib", "zcat", BUILT_GZIP},
    [CODEC_ZSTD] = {".zst", "zstd", "libzstd", "zstd -dc", BUILT_ZSTD},
    [CODEC_BZIP2] = {".bz2", "bzip2", "libbz2", "bzcat", BUILT_BZIP2},
    [CODEC_XZ] = {".xz", "xz", "liblzma", "xzcat", BUILT_XZ},
};

struct ooc_byte_source {
    char *name;                 /* as given, for messages */
    const volatile int *cancel;
    ooc_log_sink log;

    /* raw input */
    int fd;                     /* -1: memory */
    const unsigned char *mem;
    size_t mem_len;
    uint64_t raw_offset;        /* raw bytes consumed */
    bool restartable;           /* the raw input can go back to its start (regular file, memory) */
    uint64_t size;              /* text size when known in advance, else 0 */

    /* decoder (codec != CODEC_NONE) */
    codec codec;
    void *dec;                  /* z_stream, ZSTD_DStream, bz_stream or lzma_stream */
    unsigned char *in;          /* RAW_BUFFER bytes of compressed input */
    size_t in_len, in_pos;
    uint64_t in_base;           /* raw offset of in[0] */
    bool raw_eof;
    bool member_end;            /* between gzip members, bzip2 streams or zstd frames, or before
                                   the first */

    /* text position */
    uint64_t produced;          /* text bytes obtained from raw input and decoder */
    uint64_t pos;               /* text bytes handed out */
    uint64_t limit;             /* a window's end: the text ends there (0: no window) */

    /* kept copy of a stream's text [0, produced) while seek_back may come */
    bool keep;
    size_t replay_memory;
    unsigned char *kept;        /* in memory, until more than replay_memory */
    size_t kept_cap;
    int spool_fd;               /* then in an unnamed temporary file; -1: none */
    char *spool_dir;
};

/* ---- raw input ---------------------------------------------------------- */

static ooc_status raw_read(ooc_byte_source *s, unsigned char *dst, size_t n, size_t *got,
                           ooc_error *err)
{
    if (s->fd < 0) {
        size_t left = s->mem_len - (size_t)s->raw_offset;
        *got = n < left ? n : left;
        if (*got)
            memcpy(dst, s->mem + s->raw_offset, *got);
    } else {
        ssize_t k;
        for (;;) {
            k = read(s->fd, dst, n);
            if (k >= 0 || errno != EINTR)
                break;
            /* A signal: stop when it asked to, else wait on. */
            if (s->cancel && *s->cancel)
                return OOC_FAIL(err, OOC_ERR_INTERRUPTED, "interrupted while reading '%s'",
                                s->name);
        }
        if (k < 0)
            return OOC_FAIL(err, OOC_ERR_IO, "reading '%s' at byte %llu: %s", s->name,
                            (unsigned long long)s->raw_offset, strerror(errno));
        *got = (size_t)k;
    }
    s->raw_offset += *got;
    return OOC_OK;
}

/* Go back to raw byte `offset` of a restartable input. */
static ooc_status raw_seek(ooc_byte_source *s, uint64_t offset, ooc_error *err)
{
    if (s->fd >= 0 && lseek(s->fd, (off_t)offset, SEEK_SET) == (off_t)-1)
        return OOC_FAIL(err, OOC_ERR_IO, "cannot rewind '%s': %s", s->name, strerror(errno));
    s->raw_offset = offset;
    return OOC_OK;
}

/* ---- decoders ----------------------------------------------------------- */

/* OOC_ERR_CORRUPT naming the format and the compressed byte where decoding failed.  (Unused, like
 * decoder_step's locals, in a build without any decompression library.) */
__attribute__((unused)) static ooc_status decoder_fail(const ooc_byte_source *s, const char *what,
                                                       ooc_error *err)
{
    return OOC_FAIL(err, OOC_ERR_CORRUPT, "'%s': corrupt %s data at compressed byte %llu: %s",
                    s->name, codecs[s->codec].format,
                    (unsigned long long)(s->in_base + s->in_pos), what);
}

/* Allocate and initialise the decoder state. */
static ooc_status decoder_init(ooc_byte_source *s, ooc_error *err)
{
    bool ok = false;
    switch (s->codec) {
#ifdef OOC_HAVE_ZLIB
    case CODEC_GZIP: {
        z_stream *z = calloc(1, sizeof *z);
        ok = z && inflateInit2(z, 15 + 16) == Z_OK; /* 16: gzip framing */
        if (!ok)
            free(z);
        s->dec = ok ? z : NULL;
        break;
    }
#endif
#ifdef OOC_HAVE_ZSTD
    case CODEC_ZSTD: {
        ZSTD_DStream *d = ZSTD_createDStream();
        ok = d && !ZSTD_isError(ZSTD_initDStream(d));
        if (!ok)
            ZSTD_freeDStream(d);
        s->dec = ok ? d : NULL;
        break;
    }
#endif
#ifdef OOC_HAVE_BZIP2
    case CODEC_BZIP2: {
        bz_stream *b = calloc(1, sizeof *b);
        ok = b && BZ2_bzDecompressInit(b, 0, 0) == BZ_OK;
        if (!ok)
            free(b);
        s->dec = ok ? b : NULL;
        break;
    }
#endif
#ifdef OOC_HAVE_LZMA
    case CODEC_XZ: {
        lzma_stream *l = malloc(sizeof *l);
        if (l) {
            *l = (lzma_stream)LZMA_STREAM_INIT;
            /* CONCATENATED: several .xz streams in a row are one text, as xzcat reads them. */
            ok = lzma_stream_decoder(l, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK;
            if (!ok)
                free(l);
        }
        s->dec = ok ? l : NULL;
        break;
    }
#endif
    default: break;
    }
    if (!ok)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "'%s': cannot set up the %s decoder (out of memory)",
                        s->name, codecs[s->codec].format);
    s->member_end = true;
    return OOC_OK;
}

static void decoder_free(ooc_byte_source *s)
{
    if (!s->dec)
        return;
    switch (s->codec) {
#ifdef OOC_HAVE_ZLIB
    case CODEC_GZIP: inflateEnd(s->dec); free(s->dec); break;
#endif
#ifdef OOC_HAVE_ZSTD
    case CODEC_ZSTD: ZSTD_freeDStream(s->dec); break;
#endif
#ifdef OOC_HAVE_BZIP2
    case CODEC_BZIP2: BZ2_bzDecompressEnd(s->dec); free(s->dec); break;
#endif
#ifdef OOC_HAVE_LZMA
    case CODEC_XZ: lzma_end(s->dec); free(s->dec); break;
#endif
    default: break;
    }
    s->dec = NULL;
}

/* Prepare for the next gzip member or bzip2 stream (zstd frames and xz
 * streams follow one another inside their decoders). */
static ooc_status decoder_next_member(ooc_byte_source *s, ooc_error *err)
{
    switch (s->codec) {
#ifdef OOC_HAVE_ZLIB
    case CODEC_GZIP:
        if (inflateReset(s->dec) != Z_OK)
            return OOC_FAIL(err, OOC_ERR_INTERNAL, "'%s': cannot reset the gzip decoder", s->name);
        break;
#endif
#ifdef OOC_HAVE_BZIP2
    case CODEC_BZIP2:
        BZ2_bzDecompressEnd(s->dec);
        memset(s->dec, 0, sizeof(bz_stream));
        if (BZ2_bzDecompressInit(s->dec, 0, 0) != BZ_OK)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "'%s': cannot reset the bzip2 decoder", s->name);
        break;
#endif
    default: break;
    }
    s->member_end = false;
    return OOC_OK;
}

/* One decoder call on in[in_pos..in_len): *made text bytes into dst[0..n),
 * *end when a member/stream ended. */
static ooc_status decoder_step(ooc_byte_source *s, unsigned char *dst, size_t n, size_t *made,
                               bool *end, ooc_error *err)
{
    __attribute__((unused)) size_t avail = s->in_len - s->in_pos;
    __attribute__((unused)) unsigned char *next = s->in + s->in_pos;
    *made = 0;
    *end = false;
    if (n > UINT_MAX)
        n = UINT_MAX; /* zlib and bzip2 count in unsigned int */
    switch (s->codec) {
#ifdef OOC_HAVE_ZLIB
    case CODEC_GZIP: {
        z_stream *z = s->dec;
        z->next_in = next;
        z->avail_in = (uInt)avail;
        z->next_out = dst;
        z->avail_out = (uInt)n;
        int rc = inflate(z, Z_NO_FLUSH);
        s->in_pos += avail - z->avail_in;
        *made = n - z->avail_out;
        if (rc == Z_STREAM_END)
            *end = true;
        else if (rc != Z_OK && rc != Z_BUF_ERROR) /* BUF_ERROR: needs more input */
            return decoder_fail(s, z->msg ? z->msg : "invalid data", err);
        return OOC_OK;
    }
#endif
#ifdef OOC_HAVE_ZSTD
    case CODEC_ZSTD: {
        ZSTD_inBuffer zin = {next, avail, 0};
        ZSTD_outBuffer zout = {dst, n, 0};
        size_t rc = ZSTD_decompressStream(s->dec, &zout, &zin);
        s->in_pos += zin.pos;
        *made = zout.pos;
        if (ZSTD_isError(rc))
            return decoder_fail(s, ZSTD_getErrorName(rc), err);
        *end = rc == 0; /* a frame is complete and flushed */
        return OOC_OK;
    }
#endif
#ifdef OOC_HAVE_BZIP2
    case CODEC_BZIP2: {
        bz_stream *b = s->dec;
        b->next_in = (char *)next;
        b->avail_in = (unsigned)avail;
        b->next_out = (char *)dst;
        b->avail_out = (unsigned)n;
        int rc = BZ2_bzDecompress(b);
        s->in_pos += avail - b->avail_in;
        *made = n - b->avail_out;
        if (rc == BZ_STREAM_END)
            *end = true;
        else if (rc == BZ_DATA_ERROR_MAGIC)
            return decoder_fail(s, "not bzip2 data (bad magic number)", err);
        else if (rc == BZ_MEM_ERROR)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "'%s': out of memory decoding bzip2", s->name);
        else if (rc != BZ_OK)
            return decoder_fail(s, "data integrity error", err);
        return OOC_OK;
    }
#endif
#ifdef OOC_HAVE_LZMA
    case CODEC_XZ: {
        lzma_stream *l = s->dec;
        l->next_in = next;
        l->avail_in = avail;
        l->next_out = dst;
        l->avail_out = n;
        lzma_ret rc = lzma_code(l, s->raw_eof ? LZMA_FINISH : LZMA_RUN);
        s->in_pos += avail - l->avail_in;
        *made = n - l->avail_out;
        switch (rc) {
        case LZMA_OK: break;
        case LZMA_STREAM_END: *end = true; break;
        case LZMA_BUF_ERROR: break; /* no progress: the caller sees whether the input ended */
        case LZMA_MEM_ERROR:
            return OOC_FAIL(err, OOC_ERR_NOMEM, "'%s': out of memory decoding xz", s->name);
        case LZMA_FORMAT_ERROR: return decoder_fail(s, "not xz data (bad header)", err);
        case LZMA_OPTIONS_ERROR: return decoder_fail(s, "unsupported xz options", err);
        default: return decoder_fail(s, "the data are corrupt", err);
        }
        return OOC_OK;
    }
#endif
    default:
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "'%s': no decoder", s->name);
    }
}

/* Decode up to n text bytes; *got == 0 only at the end of the last member. */
static ooc_status decode(ooc_byte_source *s, unsigned char *dst, size_t n, size_t *got,
                         ooc_error *err)
{
    ooc_status status;
    *got = 0;
    for (;;) {
        if (s->in_pos == s->in_len && !s->raw_eof) {
            size_t k;
            status = raw_read(s, s->in, RAW_BUFFER, &k, err);
            if (status != OOC_OK)
                return status;
            s->in_base = s->raw_offset - k;
            s->in_len = k;
            s->in_pos = 0;
            s->raw_eof = k == 0;
        }
        if (s->member_end) {
            if (s->in_pos == s->in_len && s->raw_eof)
                return OOC_OK; /* the end, between members (or an empty file) */
            status = decoder_next_member(s, err);
            if (status != OOC_OK)
                return status;
        }
        size_t made;
        bool end;
        status = decoder_step(s, dst, n, &made, &end, err);
        if (status != OOC_OK)
            return status;
        s->member_end = end;
        if (made) {
            *got = made;
            return OOC_OK;
        }
        if (!end && s->in_pos == s->in_len && s->raw_eof)
            return OOC_FAIL(err, OOC_ERR_CORRUPT,
                            "'%s': the %s data end early, after %llu compressed bytes "
                            "(%llu bytes of text): the file is truncated or still being written",
                            s->name, codecs[s->codec].format,
                            (unsigned long long)s->raw_offset, (unsigned long long)s->produced);
    }
}

/* Text bytes from raw input and decoder (not the kept copy). */
static ooc_status produce(ooc_byte_source *s, unsigned char *dst, size_t n, size_t *got,
                          ooc_error *err)
{
    return s->codec == CODEC_NONE ? raw_read(s, dst, n, got, err) : decode(s, dst, n, got, err);
}

/* ---- the kept copy of a stream ------------------------------------------ */

/* Write data[0..n) to the spool at `offset`. */
static ooc_status spool_write(ooc_byte_source *s, const unsigned char *data, size_t n,
                              uint64_t offset, ooc_error *err)
{
    if (!ooc_pwrite_all(s->spool_fd, data, n, offset))
        return OOC_FAIL(err, OOC_ERR_IO,
                        "writing the temporary copy of '%s' in '%s': %s (set TMPDIR to a "
                        "directory with room for the whole input)",
                        s->name, s->spool_dir, strerror(errno));
    return OOC_OK;
}

/* Move the kept text from memory to an unnamed temporary file in $TMPDIR. */
static ooc_status start_spool(ooc_byte_source *s, ooc_error *err)
{
    const char *dir = ooc_tempfile_dir();
    s->spool_dir = strdup(dir);
    if (!s->spool_dir)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    s->spool_fd = ooc_tempfile_open(dir);
    if (s->spool_fd < 0)
        return OOC_FAIL(err, OOC_ERR_IO,
                        "'%s' can be read only once (a pipe) and must be read again, but no "
                        "temporary copy can be made in '%s': %s (set TMPDIR to a directory with "
                        "room for the whole input)",
                        s->name, dir, strerror(errno));
    ooc_log(&s->log, OOC_LOG_NOTE,
            "'%s' can be read only once (a pipe) and must be read again: keeping a copy in an "
            "unnamed temporary file in '%s' (it disappears when reading ends)",
            s->name, dir);
    ooc_status status = spool_write(s, s->kept, (size_t)s->produced, 0, err);
    free(s->kept);
    s->kept = NULL;
    s->kept_cap = 0;
    return status;
}

/* Append the text just produced, data[0..n) at offset s->produced, to the kept copy. */
static ooc_status keep_text(ooc_byte_source *s, const unsigned char *data, size_t n,
                            ooc_error *err)
{
    if (s->spool_fd < 0) {
        uint64_t need = s->produced + n;
        if (need <= s->replay_memory) {
            if (need > s->kept_cap) {
                size_t cap = s->kept_cap ? s->kept_cap * 2 : 65536;
                if (cap < need)
                    cap = (size_t)need;
                if (cap > s->replay_memory)
                    cap = s->replay_memory;
                unsigned char *grown = realloc(s->kept, cap);
                if (!grown)
                    return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory keeping '%s'", s->name);
                s->kept = grown;
                s->kept_cap = cap;
            }
            memcpy(s->kept + s->produced, data, n);
            return OOC_OK;
        }
        ooc_status status = start_spool(s, err);
        if (status != OOC_OK)
            return status;
    }
    return spool_write(s, data, n, s->produced, err);
}

/* Drop the kept copy once it can no longer be asked for. */
static void release_kept(ooc_byte_source *s)
{
    if (s->keep || s->pos < s->produced)
        return;
    free(s->kept);
    s->kept = NULL;
    s->kept_cap = 0;
    if (s->spool_fd >= 0)
        close(s->spool_fd);
    s->spool_fd = -1;
}

/* Copy kept text [pos, pos + n) into dst. */
static ooc_status replay(ooc_byte_source *s, unsigned char *dst, size_t n, ooc_error *err)
{
    if (s->spool_fd < 0) {
        memcpy(dst, s->kept + s->pos, n);
        return OOC_OK;
    }
    if (!ooc_pread_all(s->spool_fd, dst, n, s->pos))
        return OOC_FAIL(err, OOC_ERR_IO, "reading the temporary copy of '%s' in '%s': %s",
                        s->name, s->spool_dir, strerror(errno));
    return OOC_OK;
}

/* ---- public ------------------------------------------------------------- */

/* The codec a name asks for, by its extension (case-insensitive, as pandas). */
static codec codec_of(const char *name)
{
    size_t len = strlen(name);
    for (int c = CODEC_GZIP; c <= CODEC_XZ; c++) {
        size_t e = strlen(codecs[c].ext);
        if (len > e && strcasecmp(name + len - e, codecs[c].ext) == 0)
            return (codec)c;
    }
    return CODEC_NONE;
}

static ooc_status source_create(const char *name, const ooc_byte_source_options *o,
                                ooc_byte_source **out, ooc_error *err)
{
    ooc_byte_source *s = calloc(1, sizeof *s);
    if (s)
        s->name = strdup(name);
    if (!s || !s->name) {
        free(s);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory opening '%s'", name);
    }
    s->fd = -1;
    s->spool_fd = -1;
    if (o) {
        s->cancel = o->cancel;
        s->log = o->log;
        s->replay_memory = o->replay_memory;
    }
    if (!s->replay_memory)
        s->replay_memory = DEFAULT_REPLAY_MEMORY;
    *out = s;
    return OOC_OK;
}

ooc_status ooc_byte_source_open(const char *path, const ooc_byte_source_options *o,
                                ooc_byte_source **out, ooc_error *err)
{
    ooc_status status;
    ooc_byte_source *s = NULL;
    *out = NULL;
    size_t len = strlen(path);
    if (len > 4 && strcasecmp(path + len - 4, ".zip") == 0)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                        "'%s': ZIP archives are not read; extract the CSV first (unzip -p '%s')",
                        path, path);
    codec c = codec_of(path);
    if (!codecs[c].built)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                        "'%s': this build of oocsolve cannot read %s-compressed files (it was "
                        "built without %s); decompress it first (%s '%s')",
                        path, codecs[c].format, codecs[c].library, codecs[c].tool, path);
    OOC_CHECK(source_create(path, o, &s, err));
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    OOC_FAIL_IF(s->fd < 0, err, OOC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    OOC_FAIL_IF(fstat(s->fd, &st) != 0, err, OOC_ERR_IO, "cannot stat '%s': %s", path,
                strerror(errno));
    s->restartable = S_ISREG(st.st_mode);
    s->keep = !s->restartable;
    s->codec = c;
    if (s->restartable) {
        (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* a hint; failure is harmless */
        if (c == CODEC_NONE)
            s->size = (uint64_t)st.st_size;
    }
    if (c != CODEC_NONE) {
        s->in = malloc(RAW_BUFFER);
        OOC_FAIL_IF(!s->in, err, OOC_ERR_NOMEM, "out of memory opening '%s'", path);
        OOC_CHECK(decoder_init(s, err));
    }
    *out = s;
    s = NULL;
out:
    ooc_byte_source_close(s);
    return status;
}

ooc_status ooc_byte_source_open_memory(const char *name, const void *data, size_t n,
                                       ooc_byte_source **out, ooc_error *err)
{
    ooc_status status = source_create(name, NULL, out, err);
    if (status != OOC_OK)
        return status;
    (*out)->mem = data;
    (*out)->mem_len = n;
    (*out)->size = n;
    (*out)->restartable = true;
    return OOC_OK;
}

ooc_status ooc_byte_source_read(ooc_byte_source *s, void *dst, size_t n, size_t *got,
                                ooc_error *err)
{
    ooc_status status;
    *got = 0;
    if (s->limit && n > s->limit - s->pos)
        n = (size_t)(s->limit - s->pos);
    if (n == 0)
        return OOC_OK;
    if (s->pos < s->produced) {
        uint64_t left = s->produced - s->pos;
        size_t k = left < n ? (size_t)left : n;
        status = replay(s, dst, k, err);
        if (status != OOC_OK)
            return status;
        s->pos += k;
        *got = k;
        release_kept(s);
        return OOC_OK;
    }
    size_t k;
    status = produce(s, dst, n, &k, err);
    if (status == OOC_OK && s->keep && k)
        status = keep_text(s, dst, k, err);
    if (status != OOC_OK)
        return status;
    s->produced += k;
    s->pos += k;
    *got = k;
    return OOC_OK;
}

ooc_status ooc_byte_source_seek_back(ooc_byte_source *s, uint64_t offset, ooc_error *err)
{
    if (offset > s->pos)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "'%s': cannot seek forward to byte %llu",
                        s->name, (unsigned long long)offset);
    if (!s->restartable) {
        if (!s->keep)
            return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                            "'%s' can be read only once (a pipe), and it was not kept for "
                            "another pass",
                            s->name);
        s->pos = offset;
        return OOC_OK;
    }
    if (s->codec == CODEC_NONE) {
        ooc_status status = raw_seek(s, offset, err);
        if (status == OOC_OK)
            s->produced = s->pos = offset;
        return status;
    }
    /* A compressed file: decode again from the start, up to `offset`. */
    unsigned char *scratch = NULL;
    ooc_status status;
    OOC_CHECK(raw_seek(s, 0, err));
    decoder_free(s);
    s->in_len = s->in_pos = 0;
    s->in_base = 0;
    s->raw_eof = false;
    s->produced = s->pos = 0;
    OOC_CHECK(decoder_init(s, err));
    scratch = malloc(SKIP_BUFFER);
    OOC_FAIL_IF(!scratch, err, OOC_ERR_NOMEM, "out of memory rewinding '%s'", s->name);
    while (s->produced < offset) {
        uint64_t left = offset - s->produced;
        size_t k;
        OOC_CHECK(decode(s, scratch, left < SKIP_BUFFER ? (size_t)left : SKIP_BUFFER, &k, err));
        OOC_FAIL_IF(k == 0, err, OOC_ERR_IO, "'%s' changed while it was read: it is shorter now",
                    s->name);
        s->produced += k;
    }
    s->pos = s->produced;
out:
    free(scratch);
    return status;
}

ooc_status ooc_byte_source_window(ooc_byte_source *s, uint64_t begin, uint64_t end,
                                  ooc_error *err)
{
    if (!s->restartable || s->codec != CODEC_NONE)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                        "'%s' is %s: only a plain file can be read from the middle", s->name,
                        s->restartable ? "compressed" : "a stream (a pipe)");
    if (begin > end || (s->size && end > s->size))
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "'%s': window %llu..%llu of %llu bytes", s->name,
                        (unsigned long long)begin, (unsigned long long)end,
                        (unsigned long long)s->size);
    ooc_status status = raw_seek(s, begin, err);
    if (status != OOC_OK)
        return status;
    s->produced = s->pos = begin;
    s->limit = end;
    return OOC_OK;
}

void ooc_byte_source_last_pass(ooc_byte_source *s)
{
    s->keep = false;
    release_kept(s);
}

const char *ooc_byte_source_sniff(const void *text, size_t len)
{
    static const struct {
        codec codec;
        size_t len;
        const char *bytes;
    } signatures[] = {
        {CODEC_GZIP, 2, "\x1f\x8b"},
        {CODEC_ZSTD, 4, "\x28\xb5\x2f\xfd"},
        {CODEC_XZ, 6, "\xfd" "7zXZ\0"},
        {CODEC_BZIP2, 3, "BZh"}, /* then a digit and a block or end-of-stream magic */
    };
    const unsigned char *t = text;
    for (size_t i = 0; i < sizeof signatures / sizeof signatures[0]; i++) {
        if (len < signatures[i].len || memcmp(t, signatures[i].bytes, signatures[i].len) != 0)
            continue;
        if (signatures[i].codec == CODEC_BZIP2 &&
            !(len >= 10 && t[3] >= '1' && t[3] <= '9' &&
              (memcmp(t + 4, "\x31\x41\x59\x26\x53\x59", 6) == 0 ||
               memcmp(t + 4, "\x17\x72\x45\x38\x50\x90", 6) == 0)))
            continue;
        return codecs[signatures[i].codec].format;
    }
    return NULL;
}

const char *ooc_byte_source_extension(const char *format)
{
    for (int c = CODEC_GZIP; c <= CODEC_XZ; c++)
        if (strcmp(codecs[c].format, format) == 0)
            return codecs[c].ext;
    return "";
}

uint64_t ooc_byte_source_size(const ooc_byte_source *s) { return s->size; }

bool ooc_byte_source_spooled(const ooc_byte_source *s) { return s->spool_dir != NULL; }

const char *ooc_byte_source_formats(void)
{
    static const char formats[] = ""
#ifdef OOC_HAVE_ZLIB
                                  " gzip"
#endif
#ifdef OOC_HAVE_ZSTD
                                  " zstd"
#endif
#ifdef OOC_HAVE_BZIP2
                                  " bzip2"
#endif
#ifdef OOC_HAVE_LZMA
                                  " xz"
#endif
        ;
    return formats[0] ? formats + 1 : formats;
}

void ooc_byte_source_close(ooc_byte_source *s)
{
    if (!s)
        return;
    decoder_free(s);
    if (s->fd >= 0)
        close(s->fd);
    if (s->spool_fd >= 0)
        close(s->spool_fd);
    free(s->in);
    free(s->kept);
    free(s->spool_dir);
    free(s->name);
    free(s);
}

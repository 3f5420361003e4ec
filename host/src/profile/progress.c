/*
 * progress.c — the live status line (see progress.h).
 *
 * Counters are relaxed atomics (the pipeline adds, the reporter reads;
 * no ordering is needed for a display).  The phase name, totals and clocks
 * are under a mutex that only phase changes and the reporter take.  The
 * reporter sleeps on a condition variable (CLOCK_MONOTONIC) so finish wakes
 * it at once.  ooc_progress_read takes the same mutex, so a binding polling
 * from its own thread never sees a phase name half written.
 */
#include "profile/progress.h"

#include "base/clock.h"
#include "base/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ooc_progress {
    atomic_uint_least64_t rows;
    atomic_uint_least64_t bytes;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    FILE *to;
    bool printing;
    bool tty;
    bool thread_running;
    bool stop;
    bool finished;
    pthread_t thread;
    unsigned interval_ms;
    char label[64];
    char phase[64];
    uint64_t total_rows, total_bytes;
    int64_t start_ns, phase_start_ns;
    size_t last_len; /* length of the line on screen (tty) */
};

/* 1234567 -> "1,234,567" */
static void format_count(char *buf, size_t size, uint64_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

/* Decimal units, as MB/s: "950 B", "12.3 kB", "96.0 MB", "1.9 GB". */
static void format_bytes(char *buf, size_t size, double b)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (b >= 1000 && u < 4) {
        b /= 1000;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

/* Seconds as m:ss or h:mm:ss. */
static void format_clock(char *buf, size_t size, double s)
{
    long t = s > 0 ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

/* The status line (mutex held). */
static void format_locked(ooc_progress *p, char *buf, size_t size, bool final, bool ok)
{
    uint64_t rows = atomic_load_explicit(&p->rows, memory_order_relaxed);
    uint64_t bytes = atomic_load_explicit(&p->bytes, memory_order_relaxed);
    int64_t now = ooc_clock_ns();
    double elapsed = (double)(now - p->start_ns) / 1e9;
    double phase_s = (double)(now - p->phase_start_ns) / 1e9;
    char count[40], done[24], total[24], clock[24], eta[24];
    format_count(count, sizeof count, rows);
    format_bytes(done, sizeof done, (double)bytes);
    format_clock(clock, sizeof clock, elapsed);

    size_t o = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int n_ = snprintf(buf + o, size - o, __VA_ARGS__);                                         \
        if (n_ > 0)                                                                                \
            o = o + (size_t)n_ < size ? o + (size_t)n_ : size - 1;                                 \
    } while (0)
    buf[0] = '\0';
    if (p->label[0])
        PUT("%s: ", p->label);
    if (final) {
        PUT("%s %s rows", ok ? "done:" : "stopped after", count);
        if (bytes)
            PUT(", %s", done);
        PUT(" in %s", clock);
        if (bytes && phase_s > 0)
            PUT(" (%.1f MB/s)", (double)bytes / 1e6 / phase_s);
        return;
    }
    if (p->phase[0])
        PUT("%s: ", p->phase);
    PUT("%s rows", count);
    double fraction = -1;
    if (p->total_bytes) {
        format_bytes(total, sizeof total, (double)p->total_bytes);
        fraction = (double)bytes / (double)p->total_bytes;
        PUT("  %s of %s (%.0f%%)", done, total, 100.0 * fraction);
    } else if (p->total_rows) {
        fraction = (double)rows / (double)p->total_rows;
        PUT(" (%.0f%%)", 100.0 * fraction);
    } else if (bytes) {
        PUT("  %s", done);
    }
    if (phase_s > 0.05) {
        if (bytes)
            PUT("  %.1f MB/s", (double)bytes / 1e6 / phase_s);
        else
            PUT("  %.0f rows/s", (double)rows / phase_s);
    }
    PUT("  %s", clock);
    if (fraction > 0.001 && fraction < 1) {
        format_clock(eta, sizeof eta, phase_s * (1 - fraction) / fraction);
        PUT("  ETA %s", eta);
    }
#undef PUT
}

/* Print a line (mutex held): in place on a terminal, appended otherwise. */
static void print_locked(ooc_progress *p, const char *line, bool end_line)
{
    size_t len = strlen(line);
    if (p->tty) {
        /* Blank out what is left of a longer previous line. */
        int pad = p->last_len > len ? (int)(p->last_len - len) : 0;
        fprintf(p->to, "\r%s%*s%s", line, pad, "", end_line ? "\n" : "");
        p->last_len = end_line ? 0 : len;
    } else {
        fprintf(p->to, "%s\n", line);
    }
    fflush(p->to);
}

static void *reporter_main(void *arg)
{
    ooc_progress *p = arg;
    pthread_mutex_lock(&p->mu);
    int64_t next = ooc_clock_ns();
    while (!p->stop) {
        next += (int64_t)p->interval_ms * 1000000;
        struct timespec deadline = {(time_t)(next / 1000000000), (long)(next % 1000000000)};
        int rc = 0;
        while (!p->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&p->cv, &p->mu, &deadline);
        if (p->stop)
            break;
        char line[256];
        format_locked(p, line, sizeof line, false, true);
        print_locked(p, line, false);
        int64_t now = ooc_clock_ns();
        if (next < now)
            next = now;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ooc_status ooc_progress_create(const ooc_progress_options *opts, ooc_progress **out,
                               ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    if (!opts || (!opts->to && opts->mode != OOC_PROGRESS_OFF))
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "progress reporting needs an output stream");
    ooc_progress *p = calloc(1, sizeof *p);
    if (!p)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&p->rows, 0);
    atomic_init(&p->bytes, 0);
    p->to = opts->to;
    p->tty = opts->to && isatty(fileno(opts->to));
    p->printing = opts->mode == OOC_PROGRESS_ON || (opts->mode == OOC_PROGRESS_AUTO && p->tty);
    p->interval_ms = opts->interval_ms ? opts->interval_ms : p->tty ? 500 : 5000;
    snprintf(p->label, sizeof p->label, "%s", opts->label ? opts->label : "");
    p->start_ns = p->phase_start_ns = ooc_clock_ns();
    if (p->printing) {
        OOC_FAIL_IF(pthread_create(&p->thread, NULL, reporter_main, p) != 0, err, OOC_ERR_NOMEM,
                    "cannot start the progress thread");
        p->thread_running = true;
    }
    *out = p;
out:
    if (status != OOC_OK)
        ooc_progress_free(p);
    return status;
}

void ooc_progress_phase(ooc_progress *p, const char *name, uint64_t total_rows,
                        uint64_t total_bytes)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    snprintf(p->phase, sizeof p->phase, "%s", name ? name : "");
    p->total_rows = total_rows;
    p->total_bytes = total_bytes;
    p->phase_start_ns = ooc_clock_ns();
    atomic_store_explicit(&p->rows, 0, memory_order_relaxed);
    atomic_store_explicit(&p->bytes, 0, memory_order_relaxed);
    pthread_mutex_unlock(&p->mu);
}

void ooc_progress_add(ooc_progress *p, uint64_t rows, uint64_t bytes)
{
    if (!p)
        return;
    atomic_fetch_add_explicit(&p->rows, rows, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->bytes, bytes, memory_order_relaxed);
}

void ooc_progress_get(const ooc_progress *p, uint64_t *rows, uint64_t *bytes)
{
    *rows = p ? atomic_load_explicit(&p->rows, memory_order_relaxed) : 0;
    *bytes = p ? atomic_load_explicit(&p->bytes, memory_order_relaxed) : 0;
}

ooc_status ooc_progress_counter_create(ooc_progress **out, ooc_error *err)
{
    ooc_error_clear(err);
    return ooc_progress_create(&(ooc_progress_options){.mode = OOC_PROGRESS_OFF}, out, err);
}

void ooc_progress_read(ooc_progress *p, ooc_progress_state *s)
{
    memset(s, 0, sizeof *s);
    if (!p)
        return;
    /* Under the mutex: a phase change (name, totals, counters reset) is seen whole. */
    pthread_mutex_lock(&p->mu);
    snprintf(s->phase, sizeof s->phase, "%s", p->phase);
    s->total_rows = p->total_rows;
    s->total_bytes = p->total_bytes;
    ooc_progress_get(p, &s->rows, &s->bytes);
    pthread_mutex_unlock(&p->mu);
}

void ooc_progress_format(ooc_progress *p, char *buf, size_t size)
{
    if (!size)
        return;
    buf[0] = '\0';
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    format_locked(p, buf, size, false, true);
    pthread_mutex_unlock(&p->mu);
}

void ooc_progress_finish(ooc_progress *p, bool ok)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    bool join = p->thread_running;
    p->stop = true;
    p->thread_running = false;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (join)
        pthread_join(p->thread, NULL);
    pthread_mutex_lock(&p->mu);
    if (!p->finished && p->printing) {
        char line[256];
        format_locked(p, line, sizeof line, true, ok);
        print_locked(p, line, true);
    }
    p->finished = true;
    pthread_mutex_unlock(&p->mu);
}

void ooc_progress_free(ooc_progress *p)
{
    if (!p)
        return;
    ooc_progress_finish(p, false);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

/*
 * main.c — the oocsolve command: dispatches to subcommands, installs the
 * handler that turns every terminating signal into the cancel flag (so a run
 * stopped by Ctrl-C, a dropped ssh session, `timeout` or `kill` removes its
 * temporary files and exits 128 + the signal), checks that standard output
 * was written, and provides the stderr log sink shared by the subcommands.
 */
#include "cli.h"

#include "csv/bytesource.h"

#include <cblas.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int ooc_cli_cancel = 0;

/* The thread that runs the command: reads waiting on a pipe happen there. */
static pthread_t main_thread;

/* Set by the global -v/--verbose option: debug messages are shown too. */
static int verbose = 0;

static void log_to_stderr(void *user_data, ooc_log_level level, const char *message)
{
    (void)user_data;
    static const char *const prefix[] = {"debug", "note", "warning"};
    if (level == OOC_LOG_DEBUG && !verbose)
        return;
    fprintf(stderr, "oocsolve: %s: %s\n", prefix[level], message);
}

const ooc_log_sink ooc_cli_log = {log_to_stderr, NULL};

int ooc_cli_fail(const ooc_error *err)
{
    /* across MPI ranks, the rank that failed says why; rank 0 says that it stopped */
    if (err->status == OOC_ERR_REMOTE && !ooc_cli_is_root())
        return 1;
    const char *message = err->message[0] ? err->message : ooc_strerror(err->status);
    /* After a signal any failure is its consequence (an open or read it interrupted). */
    if (err->status != OOC_ERR_INTERRUPTED && !ooc_cli_cancel) {
        fprintf(stderr, "oocsolve: error: %s\n", message);
        return 1;
    }
    int signo = ooc_cli_cancel ? ooc_cli_cancel : SIGINT;
    if (signo == SIGPIPE && err->status != OOC_ERR_INTERRUPTED)
        return 128 + SIGPIPE; /* a write to a reader that went away (`| head`): quietly */
    const char *name = sigabbrev_np(signo);
    fprintf(stderr, "oocsolve: error: %s (SIG%s)\n", message, name ? name : "?");
    return 128 + signo;
}

/* The signals whose default action ends the process (core dumps aside):
 * each raises the cancel flag instead, and the run stops at its next check. */
static const int terminating_signals[] = {SIGHUP,  SIGINT,  SIGQUIT,   SIGPIPE, SIGALRM, SIGTERM,
                                          SIGUSR1, SIGUSR2, SIGVTALRM, SIGXCPU, SIGPOLL};

/* Record the first signal.  Any thread may receive it; one that is not the
 * main thread passes it on, so that a read the main thread waits in (a pipe)
 * returns EINTR and sees the flag (pthread_kill is async-signal-safe). */
static void on_signal(int signo)
{
    if (!ooc_cli_cancel)
        ooc_cli_cancel = signo;
    if (!pthread_equal(pthread_self(), main_thread))
        pthread_kill(main_thread, signo);
}

static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask); /* one handler at a time */
    main_thread = pthread_self();
    for (size_t i = 0; i < sizeof terminating_signals / sizeof terminating_signals[0]; i++)
        sigaction(terminating_signals[i], &sa, NULL);
    /* Past a file size limit a write then fails with EFBIG, reported as an error, and the
     * temporary file is removed, instead of the process dying with it in place. */
    signal(SIGXFSZ, SIG_IGN);
}

/* The errno of the first write to standard output that failed (0: none).
 * stdio reports only that a stream failed, and a write can fail inside a
 * long fprintf, errno long gone by the final fflush: stdout's writes go
 * through record_write, which keeps it. */
static int stdout_errno;

static ssize_t record_write(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(STDOUT_FILENO, buf + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (!stdout_errno)
                stdout_errno = k < 0 ? errno : EIO;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)k;
    }
    return (ssize_t)done;
}

/* Route stdout's writes through record_write (fully buffered, as stdio
 * buffers a file or pipe; line buffered on a terminal).  Left as it is if
 * the stream cannot be made. */
static void watch_stdout(void)
{
    cookie_io_functions_t io = {.write = record_write};
    FILE *f = fopencookie(NULL, "w", io);
    if (!f)
        return;
    setvbuf(f, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
    stdout = f;
}

/* After the command: everything printed must have reached standard output
 * (a full disk, a closed descriptor).  Returns the exit code: rc when the
 * command failed already (it said why); else 1 with a message when stdout
 * failed, or 128+SIGPIPE, silently, when its reader went away (as if SIGPIPE
 * had ended the process, which is what `| head` expects). */
static int finish_stdout(int rc)
{
    errno = 0;
    bool flushed = fflush(stdout) == 0;
    int saved = stdout_errno ? stdout_errno : errno;
    if (rc != 0 || (flushed && !ferror(stdout)))
        return rc;
    if (saved == EPIPE || ooc_cli_cancel == SIGPIPE)
        return 128 + SIGPIPE;
    if (saved)
        fprintf(stderr, "oocsolve: error: cannot write to standard output: %s\n", strerror(saved));
    else
        fprintf(stderr, "oocsolve: error: cannot write to standard output\n");
    return 1;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: oocsolve [-v|--verbose] COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  ingest CSV -f FORMULA -o OUT.h5   CSV + patsy formula -> compressed HDF5 design matrix\n"
            "  info FILE.h5                      shape, chunks, filters, compression, formula, columns\n"
            "  fit INPUT                         least-squares fit (INPUT: HDF5, or CSV with -f)\n"
            "  svd INPUT                         singular values / vectors of X\n"
            "  glm INPUT --family F              generalized linear model by IRLS (statsmodels' GLM)\n"
            "  devices                           the CPU path (extensions, kernels, BLAS) and the\n"
            "                                    GPUs usable with --device gpu[:N]\n"
            "  profile-svg TRACE.json -o OUT.svg render a --profile trace as an SVG timeline\n"
            "  profile-summary TRACE.json        time per stage, overlap, bounding stage\n"
            "\n"
            "`oocsolve COMMAND --help` describes a command's options.\n" OOC_CLI_EXIT_HELP);
}

/* OpenBLAS's pthread build (Debian's default) starts a server thread when
 * it is loaded, which spins on sched_yield for about 0.1 CPU second before it
 * sleeps, on the cores the decoders need (measured: 0.11 s of CPU for a
 * program that only sleeps).  oocsolve never uses OpenBLAS's threads (each
 * backend worker calls BLAS with one thread), so unless the user chose a
 * thread count, it sets one thread and stops the server threads with
 * blas_thread_shutdown_, the exported function OpenBLAS's own fork handler
 * uses (BLAS calls keep working, on the calling thread).  The symbol is weak:
 * an OpenBLAS build without it (a serial one) skips this.  (Restarting the
 * program with OPENBLAS_NUM_THREADS=1 also works but costs ~10 ms.) */
extern int blas_thread_shutdown_(void) __attribute__((weak));

static void stop_blas_threads(void)
{
    if (getenv("OPENBLAS_NUM_THREADS") || !blas_thread_shutdown_)
        return;
    openblas_set_num_threads(1);
    blas_thread_shutdown_();
}

int main(int argc, char **argv)
{
    stop_blas_threads();
    watch_stdout();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose")) {
        verbose = 1;
        argc--;
        argv++;
        if (argc < 2) {
            usage(stderr);
            return 2;
        }
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return finish_stdout(0);
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        const char *formats = ooc_byte_source_formats();
        printf("oocsolve %s\ncompressed CSV input: %s\n", ooc_version(),
               *formats ? formats : "none");
        return finish_stdout(0);
    }
    /* cancellable: the command passes ooc_cli_cancel to the library and writes outputs
     * under temporary names; the others keep the default signal actions (they stop at once,
     * and have nothing to clean up). */
    /* distributed: the command runs across mpirun's ranks (cli_mpi.c) */
    static const struct {
        const char *name;
        int (*fn)(int, char **);
        bool cancellable, distributed;
    } commands[] = {
        {"ingest", ooc_cmd_ingest, true, true},
        {"info", ooc_cmd_info, false, false},
        {"fit", ooc_cmd_fit, true, true},
        {"svd", ooc_cmd_svd, true, true},
        {"glm", ooc_cmd_glm, true, true},
        {"devices", ooc_cmd_devices, false, false},
        {"profile-svg", ooc_cmd_profile_svg, false, false},
        {"profile-summary", ooc_cmd_profile_summary, false, false},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name)) {
            int rc = commands[i].distributed ? ooc_cli_dist_start(&argc, &argv)
                     : commands[i].cancellable ? ooc_cli_dist_single(cmd)
                                               : 0;
            if (rc != 0)
                return rc;
            if (commands[i].cancellable)
                install_signal_handlers();
            rc = finish_stdout(commands[i].fn(argc - 1, argv + 1));
            ooc_cli_dist_stop();
            return rc;
        }
    fprintf(stderr, "oocsolve: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}

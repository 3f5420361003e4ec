/*
 * main.c — the oocsolve command: dispatches to subcommands, installs the
 * SIGINT/SIGTERM handler that raises the cancel flag, and provides the
 * stderr log sink shared by the subcommands.
 */
#include "cli.h"

#include <cblas.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile int ooc_cli_cancel = 0;

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
    fprintf(stderr, "oocsolve: error: %s\n",
            err->message[0] ? err->message : ooc_strerror(err->status));
    return err->status == OOC_ERR_INTERRUPTED ? 130 : 1;
}

static void on_signal(int signo)
{
    (void)signo;
    ooc_cli_cancel = 1;
}

static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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
            "  devices                           the CPU path (extensions, kernels, BLAS) and the\n"
            "                                    GPUs usable with --device gpu[:N]\n"
            "  profile-svg TRACE.json -o OUT.svg render a --profile trace as an SVG timeline\n"
            "  profile-summary TRACE.json        time per stage, overlap, bounding stage\n"
            "\n"
            "`oocsolve COMMAND --help` describes a command's options.\n");
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
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("oocsolve %s\n", ooc_version());
        return 0;
    }
    install_signal_handlers();
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } commands[] = {
        {"ingest", ooc_cmd_ingest},
        {"info", ooc_cmd_info},
        {"fit", ooc_cmd_fit},
        {"svd", ooc_cmd_svd},
        {"devices", ooc_cmd_devices},
        {"profile-svg", ooc_cmd_profile_svg},
        {"profile-summary", ooc_cmd_profile_summary},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "oocsolve: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}

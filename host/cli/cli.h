/*
 * cli.h — pieces shared by the oocsolve command-line subcommands.
 *
 * Each subcommand is `int ooc_cmd_NAME(int argc, char **argv)` with argv[0]
 * the subcommand name; it returns the process exit code (OOC_CLI_EXIT_HELP:
 * 0 ok, 1 failure, 2 usage error, 128+N stopped by signal N).  Messages go
 * to stderr, results to stdout; main() checks that stdout was written.
 */
#ifndef OOC_CLI_H
#define OOC_CLI_H

#include "oocsolve.h"
#include "profile/progress.h"
#include "profile/trace.h"

/* The cancel flag passed to the library: 0, or the number of the first
 * terminating signal (SIGINT, SIGTERM, SIGHUP, SIGPIPE, ...) that main()'s
 * handler caught. */
extern volatile int ooc_cli_cancel;

/* The "exit status" paragraph that ends every --help (one text for all). */
#define OOC_CLI_EXIT_HELP                                                                          \
    "\nexit status: 0 success; 1 error (the message says what and where); 2 usage error\n"        \
    "(a bad option, or an output that is an input or not a regular file); 128+N stopped\n"      \
    "by signal N (130 Ctrl-C, 129 SIGHUP, 141 SIGPIPE, 143 SIGTERM), leaving no output.\n"

/* Log sink that writes "oocsolve: warning: ..." lines to stderr. */
extern const ooc_log_sink ooc_cli_log;

/* Print "oocsolve: error: <message>" for a failed call and return the exit
 * code for its status: 128 + the signal for OOC_ERR_INTERRUPTED, else 1. */
int ooc_cli_fail(const ooc_error *err);

/* ---- several MPI ranks (cli_mpi.c) ---- */

/* For fit and svd: under an MPI launcher, initialise MPI (a build with
 * OOC_MPI) or refuse to run as one of several ranks (a build without).
 * Returns 0 or the exit code (message printed). */
int ooc_cli_dist_start(int *argc, char ***argv);
/* For commands that cannot run across ranks (ingest): 0 alone, else 2 with
 * a message. */
int ooc_cli_dist_single(const char *command);
/* Finalise MPI if it was started. */
void ooc_cli_dist_stop(void);
/* The ranks as an ooc_collective for the library, or NULL when alone. */
const ooc_collective *ooc_cli_collective(void);
/* Whether this process prints results: rank 0, or alone. */
bool ooc_cli_is_root(void);
/* Set o's row range to this rank's contiguous share of the inputs' rows
 * (nothing when alone).  Returns 0 or the exit code (message printed). */
int ooc_cli_dist_share(const char *const *inputs, size_t ninputs, ooc_source_options *o);
/* Every rank offers its exit code so far; returns rc when it is non-zero,
 * 1 when another rank failed (rank 0 says which), else 0. */
int ooc_cli_dist_agree(int rc);

/* The path the library should read for an input argument: "-" means
 * standard input, read as /dev/stdin (a pipe is read as a stream). */
const char *ooc_cli_input_path(const char *arg);

/* A file a command reads or writes: how the command line named it ("the
 * input", "-o", "--u-out") and its path (NULL: not given). */
typedef struct ooc_cli_file {
    const char *what;
    const char *path;
} ooc_cli_file;

/* Refuse, before any work, an output that would destroy something: one that
 * is the same file as an input or as another output (links and relative
 * paths resolved: same device and inode, or the same name in the same
 * directory for outputs not yet there), an existing output that is not a
 * regular file (a device, FIFO, socket or directory, which the rename into
 * place would replace), or "-".  Prints the message and returns false. */
bool ooc_cli_check_outputs(const ooc_cli_file *inputs, size_t ninputs,
                           const ooc_cli_file *outputs, size_t noutputs);

/* Formula variables collected from repeated --var NAME=VALUE options.
 * VALUE is a list literal ("[0, 1, 2]", "['a','b']") or a bare comma list
 * ("0,1,2"), which is wrapped in brackets.  Owned strings; free with
 * ooc_cli_vars_free. */
typedef struct ooc_cli_vars {
    ooc_formula_var *items;
    size_t n;
} ooc_cli_vars;

/* Add one --var argument; prints a message and returns false if malformed
 * or when NAME was given before. */
bool ooc_cli_vars_add(ooc_cli_vars *vars, const char *arg);
/* Free the owned strings and empty the list (an empty list is fine). */
void ooc_cli_vars_free(ooc_cli_vars *vars);

/* CSV options shared by ingest, fit and svd: --delimiter C (one character,
 * or "tab"/"\t"), --na-values a,b,c (added to the default list, as pandas'
 * na_values; owned storage in `storage`), --keep-default-na true|false
 * (false: --na-values alone), --missing drop|error.  Each returns false
 * after printing a message when the value is invalid. */
typedef struct ooc_cli_na_storage {
    char *text;          /* the comma list, split in place */
    const char **items;
} ooc_cli_na_storage;
bool ooc_cli_parse_delimiter(const char *arg, char *out);
bool ooc_cli_parse_na_values(const char *arg, ooc_csv_settings *csv, ooc_cli_na_storage *storage);
/* Free what --na-values stored and reset it (an unused storage is fine). */
void ooc_cli_na_storage_free(ooc_cli_na_storage *storage);
bool ooc_cli_parse_missing(const char *arg, ooc_csv_settings *csv);
bool ooc_cli_parse_keep_default_na(const char *arg, ooc_csv_settings *csv);

/* Column types pinned by repeated --dtype NAME=TYPE[,NAME=TYPE...] options,
 * pandas' spellings: float, float64, int, int64 (numeric); str, object,
 * category (categorical).  Owned names; csv->dtypes points at the list. */
typedef struct ooc_cli_dtypes {
    ooc_column_dtype *items;
    size_t n;
} ooc_cli_dtypes;
/* Add one --dtype argument and point csv at the list; prints a message and
 * returns false when malformed, a type is unknown or out of memory. */
bool ooc_cli_dtypes_add(ooc_cli_dtypes *dtypes, const char *arg, ooc_csv_settings *csv);
/* Free the owned names and empty the list (an empty list is fine). */
void ooc_cli_dtypes_free(ooc_cli_dtypes *dtypes);

/* --max-levels' default: a categorical with more levels is refused. */
#define OOC_CLI_MAX_LEVELS 10000

/* Parse a non-negative integer option value into *out; false (with a message) if invalid. */
bool ooc_cli_parse_size(const char *option, const char *arg, size_t *out);

/* The subcommands (argv[0] is the subcommand's name, argv the words after
 * it).  Each prints its output on stdout and its messages on stderr, and
 * returns the process exit code: 0 success, 2 usage error, else the code of
 * ooc_cli_fail (1, or 130 when interrupted). */
int ooc_cmd_ingest(int argc, char **argv);
int ooc_cmd_info(int argc, char **argv);
int ooc_cmd_fit(int argc, char **argv);
int ooc_cmd_svd(int argc, char **argv);
/* `oocsolve devices`: the CPU path (cpuinfo.h), then the GPUs or why there
 * are none (cmd_devices.c). */
int ooc_cmd_devices(int argc, char **argv);
/* `oocsolve profile-svg` / `profile-summary TRACE.json`: render or
 * summarise a --profile trace (cmd_profile.c). */
int ooc_cmd_profile_svg(int argc, char **argv);
int ooc_cmd_profile_summary(int argc, char **argv);

/* --profile FILE.json and --progress auto|on|off for commands that run a
 * pipeline.  Set trace_path / progress_mode from the options, call
 * ooc_cli_profile_start before the work and pass prof.trace and
 * prof.progress into the library options (both may be NULL), then call
 * ooc_cli_profile_finish: it prints the final progress line, writes the
 * trace (atomically) and prints the summary table on stderr. */
typedef struct ooc_cli_profile {
    const char *trace_path;          /* NULL: no profile */
    ooc_progress_mode progress_mode; /* default auto: on when stderr is a terminal */
    ooc_trace *trace;
    ooc_progress *progress;
} ooc_cli_profile;

/* Parse a --progress value; false (with a message) if not auto/on/off. */
bool ooc_cli_parse_progress(const char *arg, ooc_progress_mode *mode);

/* Create the progress reporter and, with trace_path, the trace (recording
 * the command line, argv from the subcommand name on).  `label` prefixes
 * the progress line.  False (message printed) on failure. */
bool ooc_cli_profile_start(ooc_cli_profile *prof, const char *label, int argc, char **argv);

/* Finish both (`ok`: the command succeeded) and free them.  False (message
 * printed) when the trace could not be written. */
bool ooc_cli_profile_finish(ooc_cli_profile *prof, bool ok);

#endif

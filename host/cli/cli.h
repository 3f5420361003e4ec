/*
 * cli.h — pieces shared by the oocsolve command-line subcommands.
 *
 * Each subcommand is `int ooc_cmd_NAME(int argc, char **argv)` with argv[0]
 * the subcommand name; it returns the process exit code (0 ok, 1 failure,
 * 2 usage error, 130 interrupted).  Messages go to stderr, results to stdout.
 */
#ifndef OOC_CLI_H
#define OOC_CLI_H

#include "oocsolve.h"
#include "progress.h"
#include "trace.h"

/* Raised by the SIGINT/SIGTERM handler installed by main(). */
extern volatile int ooc_cli_cancel;

/* Log sink that writes "oocsolve: warning: ..." lines to stderr. */
extern const ooc_log_sink ooc_cli_log;

/* Print "oocsolve: error: <message>" for a failed call and return the exit code for `status`. */
int ooc_cli_fail(const ooc_error *err);

/* Formula variables collected from repeated --var NAME=VALUE options.
 * VALUE is a list literal ("[0, 1, 2]", "['a','b']") or a bare comma list
 * ("0,1,2"), which is wrapped in brackets.  Owned strings; free with
 * ooc_cli_vars_free. */
typedef struct ooc_cli_vars {
    ooc_formula_var *items;
    size_t n;
} ooc_cli_vars;

/* Add one --var argument; prints a message and returns false if malformed. */
bool ooc_cli_vars_add(ooc_cli_vars *vars, const char *arg);
/* Free the owned strings and empty the list (an empty list is fine). */
void ooc_cli_vars_free(ooc_cli_vars *vars);

/* CSV options shared by ingest, fit and svd: --delimiter C (one character,
 * or "tab"/"\t"), --na-values a,b,c (replaces the default list; owned
 * storage in `storage`), --missing drop|error.  Each returns false after
 * printing a message when the value is invalid. */
typedef struct ooc_cli_na_storage {
    char *text;          /* the comma list, split in place */
    const char **items;
} ooc_cli_na_storage;
bool ooc_cli_parse_delimiter(const char *arg, char *out);
bool ooc_cli_parse_na_values(const char *arg, ooc_csv_settings *csv, ooc_cli_na_storage *storage);
/* Free what --na-values stored and reset it (an unused storage is fine). */
void ooc_cli_na_storage_free(ooc_cli_na_storage *storage);
bool ooc_cli_parse_missing(const char *arg, ooc_csv_settings *csv);

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

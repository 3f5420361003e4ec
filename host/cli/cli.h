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

#include "backend/backend.h"
#include "backend/cpuinfo.h"
#include "oocsolve.h"
#include "profile/progress.h"
#include "profile/trace.h"
#include "solve/report.h"

#include <stdio.h>

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

/* For fit, svd, glm and ingest: under an MPI launcher, initialise MPI (a build
 * with OOC_MPI) or refuse to run as one of several ranks (a build without).
 * Returns 0 or the exit code (message printed). */
int ooc_cli_dist_start(int *argc, char ***argv);
/* For commands that cannot run across ranks: 0 alone, else 2 with a
 * message. */
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
/* `oocsolve glm INPUT --family F`: a GLM by out-of-core IRLS (cmd_glm.c). */
int ooc_cmd_glm(int argc, char **argv);
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

/* Across MPI ranks (cli_mpi.c), before ooc_cli_profile_start: on a rank
 * other than 0, no progress line, and --profile FILE becomes FILE.rank-N
 * (written into buf, of `size` bytes, which must outlive prof's use).
 * Nothing alone or on rank 0. */
void ooc_cli_dist_profile(ooc_cli_profile *prof, char *buf, size_t size);

/* ---- the options several commands share ---- */

/* getopt_long codes of the shared options.  OOC_CLI_CSV_LONGOPTS and
 * OOC_CLI_RUN_LONGOPTS name them P##VAR ... P##PROFILE: P is OOC_CLI_OPT_
 * for the pipeline commands (fit, svd, glm), OPT_ for ingest, whose own
 * enum names its codes so.  A pipeline command numbers its own options from
 * OOC_CLI_OPT_OWN. */
enum {
    OOC_CLI_OPT_VAR = 256, OOC_CLI_OPT_DELIM, OOC_CLI_OPT_NA, OOC_CLI_OPT_MISSING,
    OOC_CLI_OPT_KEEP_NA, OOC_CLI_OPT_NO_NA, OOC_CLI_OPT_DTYPE, OOC_CLI_OPT_MAX_LEVELS,
    OOC_CLI_OPT_THREADS, OOC_CLI_OPT_JSON, OOC_CLI_OPT_PROGRESS, OOC_CLI_OPT_PROFILE,
    OOC_CLI_OPT_METHOD, OOC_CLI_OPT_WEIGHTS, OOC_CLI_OPT_XDS, OOC_CLI_OPT_YCOL, OOC_CLI_OPT_YDS,
    OOC_CLI_OPT_DEVICE, OOC_CLI_OPT_GRAM_BLAS, OOC_CLI_OPT_BLOCK, OOC_CLI_OPT_GPU_DECODE,
    OOC_CLI_OPT_GROUPS, OOC_CLI_OPT_NO_CLUSTER_CORR, OOC_CLI_OPT_NO_DF_CORR,
    OOC_CLI_OPT_MAX_CLUSTER, OOC_CLI_OPT_TRANSFORMS_FROM,
    OOC_CLI_OPT_OWN
};

/* getopt_long entries of the CSV reading options: --var, --delimiter,
 * --na-values, --missing, --keep-default-na, --no-default-na, --dtype,
 * --max-levels. */
#define OOC_CLI_CSV_LONGOPTS(P)                                                                    \
    {"var", required_argument, NULL, P##VAR},                                                      \
    {"delimiter", required_argument, NULL, P##DELIM},                                              \
    {"na-values", required_argument, NULL, P##NA},                                                 \
    {"missing", required_argument, NULL, P##MISSING},                                              \
    {"keep-default-na", required_argument, NULL, P##KEEP_NA},                                      \
    {"no-default-na", no_argument, NULL, P##NO_NA},                                                \
    {"dtype", required_argument, NULL, P##DTYPE},                                                  \
    {"max-levels", required_argument, NULL, P##MAX_LEVELS}

/* getopt_long entries of --threads, --json, --progress, --profile, -q and -h. */
#define OOC_CLI_RUN_LONGOPTS(P)                                                                    \
    {"threads", required_argument, NULL, P##THREADS},                                              \
    {"json", no_argument, NULL, P##JSON},                                                          \
    {"progress", required_argument, NULL, P##PROGRESS},                                            \
    {"profile", required_argument, NULL, P##PROFILE},                                              \
    {"quiet", no_argument, NULL, 'q'},                                                             \
    {"help", no_argument, NULL, 'h'}

/* ---- commands that run a pipeline: fit, svd, glm (cli_pipeline.c) ---- */

/* getopt_long entries of the options fit, svd and glm share (-f, the CSV
 * and run options above, --transforms-from, --method, --weights,
 * --x-dataset, --device, --gram-blas, --block-rows, --gpu-decode); a
 * command adds its own and the {NULL} end. */
#define OOC_CLI_PIPELINE_LONGOPTS                                                                  \
    {"formula", required_argument, NULL, 'f'},                                                     \
    OOC_CLI_CSV_LONGOPTS(OOC_CLI_OPT_),                                                            \
    OOC_CLI_RUN_LONGOPTS(OOC_CLI_OPT_),                                                            \
    {"transforms-from", required_argument, NULL, OOC_CLI_OPT_TRANSFORMS_FROM},                     \
    {"method", required_argument, NULL, OOC_CLI_OPT_METHOD},                                       \
    {"weights", required_argument, NULL, OOC_CLI_OPT_WEIGHTS},                                     \
    {"x-dataset", required_argument, NULL, OOC_CLI_OPT_XDS},                                       \
    {"device", required_argument, NULL, OOC_CLI_OPT_DEVICE},                                       \
    {"gram-blas", required_argument, NULL, OOC_CLI_OPT_GRAM_BLAS},                                 \
    {"block-rows", required_argument, NULL, OOC_CLI_OPT_BLOCK},                                    \
    {"gpu-decode", required_argument, NULL, OOC_CLI_OPT_GPU_DECODE}

/* getopt_long entries of --y-column and --y-dataset (the commands that read
 * a response: fit, glm); ooc_cli_pipeline_parse handles them. */
#define OOC_CLI_RESPONSE_LONGOPTS                                                                  \
    {"y-column", required_argument, NULL, OOC_CLI_OPT_YCOL},                                       \
    {"y-dataset", required_argument, NULL, OOC_CLI_OPT_YDS}

/* getopt_long entries of the cluster covariance's options (fit, glm):
 * --groups COL[,COL], --no-cluster-correction, --no-df-correction,
 * --max-cluster-memory MIB; ooc_cli_pipeline_parse handles them (the group
 * columns become the source's kept columns). */
#define OOC_CLI_CLUSTER_LONGOPTS                                                                   \
    {"groups", required_argument, NULL, OOC_CLI_OPT_GROUPS},                                       \
    {"no-cluster-correction", no_argument, NULL, OOC_CLI_OPT_NO_CLUSTER_CORR},                     \
    {"no-df-correction", no_argument, NULL, OOC_CLI_OPT_NO_DF_CORR},                               \
    {"max-cluster-memory", required_argument, NULL, OOC_CLI_OPT_MAX_CLUSTER}

/* -1 when --cov cluster (cluster) and --groups come together or not at all,
 * else 2 (message printed). */
struct ooc_cli_pipeline;
int ooc_cli_cluster_check(const struct ooc_cli_pipeline *a, bool cluster);

/* The cluster options' help lines (fit, glm). */
#define OOC_CLI_CLUSTER_HELP                                                                       \
    "      --groups COL[,COL] the cluster covariance's group columns (one-way, or two-way as\n" \
    "                         statsmodels: V1 + V2 - V12): CSV columns (numbers or texts, in\n" \
    "                         or outside the formula) or, in HDF5, columns `ingest --keep`\n"   \
    "                         stored; with --cov cluster (one more pass)\n"                    \
    "      --no-cluster-correction  statsmodels' use_correction=False (no G/(G-1)(n-1)/(n-p))\n" \
    "      --no-df-correction tests with df_resid instead of G - 1 (df_correction=False)\n"    \
    "      --max-cluster-memory MIB  refuse when the groups' tables (about G*(16k+80) bytes at\n" \
    "                         most, k coefficients) would need more (default: half the RAM)\n"

/* The shared options of a pipeline command, parsed, and the pipeline:
 * the backend, the source and what opening them gathers.  All owned, freed
 * by ooc_cli_pipeline_end. */
typedef struct ooc_cli_pipeline {
    double t0;                       /* the command's start (ooc_clock_seconds) */
    ooc_source_options src;
    ooc_cli_vars vars;
    ooc_cli_na_storage na;
    ooc_cli_dtypes dtypes;
    ooc_method method;
    const char *device;              /* --device spec */
    ooc_gpu_decode gpu_decode;       /* --gpu-decode */
    ooc_log_level device_log_min;    /* least severe backend message shown */
    bool json;
    bool quiet;                      /* -q: no progress line, no notes */
    size_t threads;
    ooc_cpu_gram_blas gram_blas;
    size_t block_rows;
    const char *const *inputs;       /* ninputs paths ("-": /dev/stdin) */
    size_t ninputs;
    char *input_label;               /* the inputs joined by ", " (reports, trace) */
    ooc_cli_profile prof;            /* --profile / --progress */
    ooc_cpu_info cpu;                /* gathered once the backend is open */
    const char *cpu_warning;         /* cpu.blas_warning when this run gave it, else NULL */
    char rank_trace_path[4096];      /* --profile FILE.rank-N of an MPI rank other than 0 */
    ooc_backend *backend;            /* opened by ooc_cli_pipeline_open, else NULL */
    ooc_source *source;              /* the same */
    char *groups_text;               /* --groups, copied and cut at the comma */
    const char *groups[2];
    ooc_cluster_options cluster;     /* --groups and the cluster options */
} ooc_cli_pipeline;

/* The defaults of the shared options, and the start time; need_y: the
 * command reads a response (else /Y is not read). */
void ooc_cli_pipeline_init(ooc_cli_pipeline *a, bool need_y);

/* Handle an option of one command (own: its state): 1 handled, 0 not its,
 * -1 invalid (message printed). */
typedef int (*ooc_cli_own_option_fn)(int c, const char *arg, ooc_cli_pipeline *a, void *own);

struct option; /* <getopt.h> */

/* Parse the command line of command `label`: the shared options into a,
 * the command's through own_option, -h, and one or more INPUTs into
 * a->inputs ("-": /dev/stdin).  Returns -1 to go on, else the exit code: 0
 * after printing usage for -h, 2 for a usage error (message printed). */
int ooc_cli_pipeline_parse(int argc, char **argv, const char *label, const char *shortopts,
                           const struct option *longopts, ooc_cli_pipeline *a,
                           ooc_cli_own_option_fn own_option, void *own, void (*usage)(FILE *to));

/* After ooc_cli_pipeline_parse: join the INPUTs into a->input_label and
 * refuse (ooc_cli_check_outputs) --profile and the command's `outputs`
 * where they would destroy one of the INPUTs, --transforms-from, the
 * command's other inputs (`inputs`) or each other (NULL paths: not given).  Returns -1 to go on,
 * else the exit code (1 out of memory, 2 refused; message printed). */
int ooc_cli_pipeline_inputs(ooc_cli_pipeline *a, const ooc_cli_file *inputs, size_t ninputs,
                            const ooc_cli_file *outputs, size_t noutputs);

/* Open a command's source into a->source from a->inputs and a->src as
 * ooc_cli_pipeline_open set them up (own: the command's state).  Returns 0
 * or the exit code (message printed). */
typedef int (*ooc_cli_open_source_fn)(ooc_cli_pipeline *a, void *own);

/* Start --profile / --progress (label: the progress line's and trace's
 * command), create the backend --device names (a->backend), gather the CPU
 * facts (warning once when the backend is the CPU's and OpenBLAS's kernels
 * are too old for the CPU), set the source options (the backend's
 * allocator, this MPI rank's share of the rows) and open a->source by
 * open_source (NULL: ooc_source_open_files), then record the run in the
 * trace.  Across MPI ranks, a rank that failed stops them all.  Returns 0
 * or the exit code (message printed). */
int ooc_cli_pipeline_open(ooc_cli_pipeline *a, const char *label, int argc, char **argv,
                          ooc_cli_open_source_fn open_source, void *own);

/* The report context of an opened pipeline: input, backend, time since
 * a->t0, CPU facts and warning, rows dropped. */
ooc_report_info ooc_cli_pipeline_report_info(const ooc_cli_pipeline *a);

/* Free the source and then the backend, finish --profile / --progress
 * (write the trace, print the summary) and free a's strings.  Returns the
 * command's exit code rc, turned into 1 when the trace could not be
 * written. */
int ooc_cli_pipeline_end(ooc_cli_pipeline *a, int rc);

#endif

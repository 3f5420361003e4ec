/* cmd_fit.c — `oocsolve fit INPUT ...` (least squares with statsmodels-style
 * statistics) and `oocsolve svd INPUT ...` (singular values/vectors of X).
 * INPUT is an HDF5 design matrix or a CSV read through a formula (-f).
 * --device picks the backend (backend_select.h): auto by default, which
 * loads the CUDA plugin when one is installed and otherwise stays on the CPU
 * without a word; with --json only warnings reach stderr.  --profile and
 * --progress (cmd_profile.c) write only to stderr and the trace file, so
 * stdout stays the report (or the JSON document) alone.  The CPU facts
 * (cpuinfo.h) go into the JSON "cpu" object and the trace metadata; a run on
 * the CPU backend warns once (stderr, and the fit JSON's warnings) when
 * OpenBLAS runs kernels far below the CPU's. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include "backend/backend.h"
#include "backend/backend_select.h"
#include "backend/cpuinfo.h"
#include "base/clock.h"
#include "backend/backend.h"
#include "stream/source.h"
#include "solve/report.h"
#include "stream/source.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fit_usage(FILE *to)
{
    fprintf(to,
            "usage: oocsolve fit INPUT... [options]\n"
            "\n"
            "Least-squares fit of y on X streamed from INPUT (an HDF5 file with /X and /Y, or a\n"
            "CSV with -f FORMULA), with the statistics of statsmodels' OLS/WLS summary().\n"
            "Several INPUTs are one matrix, their rows in the order given; their columns, names\n"
            "and formula must agree.\n"
            "\n"
            "options:\n"
            "  -f, --formula F        formula for a CSV input, e.g. \"y ~ x + I(x**2)\"\n"
            "      --var NAME=VALUE   a value the formula names (repeatable)\n"
            "      --method M         qr (default: Q-less TSQR, stable) | normal (Gram + Cholesky)\n"
            "      --refine           iterative refinement passes in extended precision (default:\n"
            "                         only when the first pass's error bound exceeds 1e-9)\n"
            "      --no-refine        never refine (one pass)\n"
            "      --cov T            nonrobust (default) | HC0 | HC1 (one more pass)\n"
            "      --weights NAME     observation weights: a column name, or /DATASET in HDF5\n"
            "      --y-column NAME    HDF5: take y from this column of X\n"
            "      --x-dataset PATH   HDF5: design matrix dataset (default /X)\n"
            "      --y-dataset PATH   HDF5: response dataset (default /Y)\n"
            "      --delimiter C, --na-values LIST, --missing drop|error   CSV reading\n"
            "      --keep-default-na B, --dtype NAME=TYPE, --max-levels N  CSV reading, as for\n"
            "                         ingest (--max-levels default 10000; 0: no limit)\n"
            "      --device D         auto (default: GPU 0 when the CUDA plugin finds a GPU, else\n"
            "                         the CPU) | cpu | gpu | gpu:N | gpu:N,M,...  (oocsolve devices)\n"
            "      --json             JSON on stdout instead of the text summary (its \"cpu\"\n"
            "                         object: the CPU path, as `oocsolve devices` shows it)\n"
            "      --threads N        worker threads (default: 2 for the solver, all cores for reading)\n"
            "      --gram-blas B      auto (default: BLIS where OpenBLAS runs kernels for older CPUs,\n"
            "                         else OpenBLAS) | openblas | blis: method normal's Gram on the CPU\n"
            "      --block-rows N     rows per block (default: the backend's preference)\n"
            "      --progress MODE    auto (default: on when stderr is a terminal) | on | off\n"
            "  -q, --quiet            no progress line and no notes on stderr (warnings stay)\n"
            "      --profile FILE     write a Chrome trace (Perfetto) of the run and print a stage summary\n"
            "      --save-state FILE  write the accumulated state (an O(p^2) HDF5 file: the triangle\n"
            "                         of [X y] and the sums the statistics need) after the first pass\n"
            "      --resume FILE      start from a saved state: the result is that of fitting its\n"
            "                         rows and INPUT's together (its rows are not read again, so\n"
            "                         --cov HC* and --refine are refused)\n"
            "\n"
            "INPUT may be '-' (standard input) or a pipe, read as CSV: kept in memory, or\n"
            "spooled to $TMPDIR, for the passes after the first (--cov HC*, refinement); a CSV\n"
            "whose name ends in .gz, .zst, .bz2 or .xz is decompressed as it is read.\n"
            OOC_CLI_EXIT_HELP);
}

static void svd_usage(FILE *to)
{
    fprintf(to,
            "usage: oocsolve svd INPUT... [options]\n"
            "\n"
            "Singular values (and optionally vectors) of X streamed from INPUT (HDF5, or CSV\n"
            "with -f FORMULA); they are the singular values of the small triangle R of X = QR.\n"
            "\n"
            "options:\n"
            "  -k K                   keep the K largest singular values (default: all)\n"
            "      --vectors          also print the right singular vectors V^T\n"
            "      --u-out FILE.h5    write U = X V S^-1 (rows x K) as /X of a new HDF5 file\n"
            "      --method M         qr (default) | normal\n"
            "  -f, --formula F, --var NAME=VALUE, --weights NAME, --x-dataset PATH,\n"
            "      --delimiter C, --na-values LIST, --missing MODE, --keep-default-na B,\n"
            "      --dtype NAME=TYPE, --max-levels N                 as for fit\n"
            "      --json             JSON on stdout (with the \"cpu\" object of fit's)\n"
            "      --device D, --threads N, --gram-blas B, --block-rows N, --progress MODE, -q,\n"
            "      --profile FILE     as for fit\n"
            "\n"
            "INPUT may be '-', a pipe or a compressed CSV, as for fit.  FILE.h5 appears only when\n"
            "complete, and must not be INPUT itself or a special file.\n" OOC_CLI_EXIT_HELP);
}

/* Options shared by fit and svd. */
typedef struct common_args {
    ooc_source_options src;
    ooc_cli_vars vars;
    ooc_cli_na_storage na;
    ooc_cli_dtypes dtypes;
    ooc_method method;
    const char *device;              /* --device spec */
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
} common_args;

enum {
    OPT_VAR = 256, OPT_METHOD, OPT_REFINE, OPT_NO_REFINE, OPT_COV, OPT_WEIGHTS, OPT_YCOL, OPT_XDS, OPT_YDS,
    OPT_DELIM, OPT_NA, OPT_MISSING, OPT_JSON, OPT_THREADS, OPT_BLOCK, OPT_VECTORS, OPT_UOUT,
    OPT_DEVICE, OPT_PROGRESS, OPT_PROFILE, OPT_KEEP_NA, OPT_NO_NA, OPT_DTYPE, OPT_MAX_LEVELS,
    OPT_SAVE_STATE, OPT_RESUME, OPT_GRAM_BLAS
};

/* Handle an option both subcommands accept: 1 handled, 0 not ours, -1 invalid. */
static int common_option(int c, const char *arg, common_args *a)
{
    switch (c) {
    case 'f': a->src.formula = arg; return 1;
    case OPT_VAR: return ooc_cli_vars_add(&a->vars, arg) ? 1 : -1;
    case OPT_METHOD:
        if (!strcmp(arg, "qr"))
            a->method = OOC_METHOD_QR;
        else if (!strcmp(arg, "normal"))
            a->method = OOC_METHOD_NORMAL;
        else {
            fprintf(stderr, "oocsolve: error: --method must be qr or normal, got '%s'\n", arg);
            return -1;
        }
        return 1;
    case OPT_WEIGHTS:
        if (arg[0] == '/') {
            a->src.w_dataset = arg;
        } else {
            a->src.w_column = arg;      /* HDF5: a named column of X */
            a->src.weights_name = arg;  /* CSV: a column of the file */
        }
        return 1;
    case OPT_XDS: a->src.x_dataset = arg; return 1;
    case OPT_DELIM: return ooc_cli_parse_delimiter(arg, &a->src.csv.delimiter) ? 1 : -1;
    case OPT_NA: return ooc_cli_parse_na_values(arg, &a->src.csv, &a->na) ? 1 : -1;
    case OPT_MISSING: return ooc_cli_parse_missing(arg, &a->src.csv) ? 1 : -1;
    case OPT_KEEP_NA: return ooc_cli_parse_keep_default_na(arg, &a->src.csv) ? 1 : -1;
    case OPT_NO_NA: a->src.csv.no_default_na = true; return 1;
    case OPT_DTYPE: return ooc_cli_dtypes_add(&a->dtypes, arg, &a->src.csv) ? 1 : -1;
    case OPT_MAX_LEVELS:
        return ooc_cli_parse_size("--max-levels", arg, &a->src.max_levels) ? 1 : -1;
    case OPT_JSON: a->json = true; return 1;
    case 'q': a->quiet = true; return 1;
    case OPT_DEVICE: {
        ooc_device_spec spec;
        ooc_error err = {0};
        if (ooc_device_spec_parse(arg, &spec, &err) != OOC_OK) {
            ooc_cli_fail(&err);
            return -1;
        }
        a->device = arg;
        return 1;
    }
    case OPT_THREADS: return ooc_cli_parse_size("--threads", arg, &a->threads) ? 1 : -1;
    case OPT_GRAM_BLAS:
        if (ooc_cpu_gram_blas_parse(arg, &a->gram_blas))
            return 1;
        fprintf(stderr, "oocsolve: error: --gram-blas must be auto, openblas or blis, got '%s'\n",
                arg);
        return -1;
    case OPT_BLOCK: return ooc_cli_parse_size("--block-rows", arg, &a->block_rows) ? 1 : -1;
    case OPT_PROGRESS: return ooc_cli_parse_progress(arg, &a->prof.progress_mode) ? 1 : -1;
    case OPT_PROFILE: a->prof.trace_path = arg; return 1;
    default: return 0;
    }
}

/* Defaults of the shared options; need_y: the command reads a response. */
static void common_init(common_args *a, bool need_y)
{
    *a = (common_args){.method = OOC_METHOD_QR, .device = "auto"};
    ooc_source_options_init(&a->src);
    a->src.max_levels = OOC_CLI_MAX_LEVELS;
    a->src.need_y = need_y;
    if (!need_y)
        a->src.y_dataset = NULL; /* svd reads X only: decoding /Y would be wasted work */
}

/* Handle an option of one subcommand (its options in `own`): 1 handled,
 * 0 not ours, -1 invalid (message printed). */
typedef int (*own_option_fn)(int c, const char *arg, common_args *a, void *own);

/* Parse fit's or svd's command line (named `label` in messages): the shared
 * options into a, the subcommand's through own_option, -h, and one or more
 * INPUTs into a->inputs ("-": /dev/stdin); then the outputs, --profile,
 * svd's --u-out (*u_out once parsed; u_out is NULL for fit) and fit's
 * --save-state (extra_out) are checked against the INPUTs and fit's --resume
 * (extra_in) (ooc_cli_check_outputs); extra_in/extra_out point to where
 * those options are parsed into, or are NULL.  Returns -1 to go on, else the exit
 * code: 0 after printing usage for -h, 2 for a usage error or a refused
 * output (message printed). */
static int parse_command_line(int argc, char **argv, const char *label, const char *shortopts,
                              const struct option *longopts, common_args *a,
                              own_option_fn own_option, void *own, const char *const *u_out,
                              const char *const *extra_in, const char *const *extra_out,
                              void (*usage)(FILE *to))
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int handled = common_option(c, optarg, a);
        if (handled == 0)
            handled = own_option(c, optarg, a, own);
        if (handled < 0)
            return 2;
        if (handled > 0)
            continue;
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    if (optind >= argc) {
        fprintf(stderr, "oocsolve: error: %s needs an INPUT file\n\n", label);
        usage(stderr);
        return 2;
    }
    a->ninputs = (size_t)(argc - optind);
    a->inputs = (const char *const *)argv + optind;
    for (int i = optind; i < argc; i++)
        argv[i] = (char *)ooc_cli_input_path(argv[i]);
    size_t label_len = 1;
    for (size_t i = 0; i < a->ninputs; i++)
        label_len += strlen(a->inputs[i]) + 2;
    a->input_label = malloc(label_len);
    ooc_cli_file *inputs = calloc(a->ninputs + 1, sizeof *inputs);
    if (!a->input_label || !inputs) {
        free(inputs);
        fprintf(stderr, "oocsolve: error: out of memory\n");
        return 1;
    }
    a->input_label[0] = '\0';
    for (size_t i = 0; i < a->ninputs; i++) {
        if (i)
            strcat(a->input_label, ", ");
        strcat(a->input_label, a->inputs[i]);
        inputs[i] = (ooc_cli_file){"the input", a->inputs[i]};
    }
    inputs[a->ninputs] = (ooc_cli_file){"--resume", extra_in ? *extra_in : NULL};
    const ooc_cli_file outputs[] = {{"--profile", a->prof.trace_path},
                                    {"--u-out", u_out ? *u_out : NULL},
                                    {"--save-state", extra_out ? *extra_out : NULL}};
    bool ok = ooc_cli_check_outputs(inputs, a->ninputs + 1, outputs, 3);
    free(inputs);
    return ok ? -1 : 2;
}

/* Log sink of the backend: forwards messages at least as severe as the
 * common_args' device_log_min (user_data) to stderr. */
static void device_log(void *user_data, ooc_log_level level, const char *message)
{
    const common_args *a = user_data;
    if (level >= a->device_log_min)
        ooc_cli_log.fn(ooc_cli_log.user_data, level, message);
}

/* Record the CPU facts in the trace metadata as "cpu_<key>" (unknown and
 * unset ones left out) and the BLAS warning as "cpu_blas_warning". */
static void trace_cpu_facts(ooc_trace *trace, const ooc_cpu_info *cpu)
{
    ooc_cpu_fact facts[OOC_CPU_NFACTS];
    ooc_cpu_info_facts(cpu, facts);
    for (size_t i = 0; i < OOC_CPU_NFACTS; i++) {
        char key[64];
        snprintf(key, sizeof key, "cpu_%s", facts[i].key);
        if (facts[i].kind == OOC_CPU_FACT_INT && facts[i].number >= 0)
            ooc_trace_set_meta(trace, key, "%ld", facts[i].number);
        else if (facts[i].kind != OOC_CPU_FACT_INT && facts[i].text)
            ooc_trace_set_meta(trace, key, "%s", facts[i].text);
    }
    if (cpu->blas_warning[0])
        ooc_trace_set_meta(trace, "cpu_blas_warning", "%s", cpu->blas_warning);
}

/* Start --profile / --progress (label "fit" or "svd"), create the backend
 * --device names, gather the CPU facts (warning on stderr when the backend is
 * the CPU's and OpenBLAS's kernels are too old for the CPU) and open the
 * source with the backend's block size and allocator (pinned ring buffers
 * for a GPU).  The backend must be freed after the source, and both before
 * close_profile (they record into the trace).  Returns 0 or the exit code of
 * a failure (message printed). */
static int open_pipeline_here(common_args *a, const char *label, int argc, char **argv,
                              ooc_backend **be, ooc_source **src)
{
    ooc_error err = {0};
    const ooc_collective *ranks = ooc_cli_collective();
    if (a->quiet)
        a->prof.progress_mode = OOC_PROGRESS_OFF;
    if (ranks && ranks->rank > 0) {
        /* rank 0 shows progress and notes; the others write their trace
         * (--profile) beside it, as FILE.rank-N */
        a->prof.progress_mode = OOC_PROGRESS_OFF;
        if (a->prof.trace_path) {
            snprintf(a->rank_trace_path, sizeof a->rank_trace_path, "%s.rank-%d",
                     a->prof.trace_path, ranks->rank);
            a->prof.trace_path = a->rank_trace_path;
        }
    }
    if (!ooc_cli_profile_start(&a->prof, label, argc, argv))
        return 1;
    /* text: the one-line note of auto falling back to the CPU; JSON, -q: warnings only */
    a->device_log_min = a->json || a->quiet ? OOC_LOG_WARNING : OOC_LOG_NOTE;
    ooc_backend_open_options bo = {.cpu = {.nthreads = (int)a->threads,
                                           .gram_blas = a->gram_blas,
                                           .trace = a->prof.trace},
                                   .log = {device_log, a},
                                   .process_index = ranks ? ranks->rank : 0};
    if (ooc_backend_open(a->device, &bo, be, &err) != OOC_OK)
        return ooc_cli_fail(&err);
    ooc_cpu_info_gather((int)a->threads, &a->cpu);
    const char *gram_blas = ooc_cpu_backend_gram_blas(*be);
    if (gram_blas)
        snprintf(a->cpu.gram_blas, sizeof a->cpu.gram_blas, "%s", gram_blas);
    if (a->cpu.blas_warning[0] && !strcmp((*be)->caps.name, "cpu") && ooc_cli_is_root()) {
        a->cpu_warning = a->cpu.blas_warning;
        ooc_cli_log.fn(ooc_cli_log.user_data, OOC_LOG_WARNING, a->cpu_warning);
    }
    a->src.vars = a->vars.items;
    a->src.nvars = a->vars.n;
    a->src.nthreads = (int)a->threads;
    /* 0 lets the source size blocks by bytes (about 4 MiB), which keeps memory
     * bounded for wide designs; backends accept blocks of any height. */
    a->src.block_rows = a->block_rows;
    if ((*be)->caps.wants_pinned_memory)
        a->src.allocator = (*be)->caps.allocator;
    a->src.cancel = &ooc_cli_cancel;
    a->src.log = ooc_cli_is_root() ? ooc_cli_log : (ooc_log_sink){0};
    a->src.trace = a->prof.trace;
    a->src.progress = a->prof.progress;
    int rc = ooc_cli_dist_share(a->inputs, a->ninputs, &a->src);
    if (rc != 0)
        return rc;
    if (ooc_source_open_files(a->inputs, a->ninputs, &a->src, src, &err) != OOC_OK)
        return ooc_cli_fail(&err);
    ooc_trace_set_meta(a->prof.trace, "input", "%s", a->input_label);
    ooc_trace_set_meta(a->prof.trace, "device", "%s", (*be)->caps.name);
    if (a->threads)
        ooc_trace_set_meta(a->prof.trace, "threads", "%zu", a->threads);
    else
        ooc_trace_set_meta(a->prof.trace, "threads", "auto");
    ooc_trace_set_meta(a->prof.trace, "block_rows", "%zu", (*src)->block_rows);
    trace_cpu_facts(a->prof.trace, &a->cpu);
    return 0;
}

/* open_pipeline_here, then, across MPI ranks, the agreement that every rank
 * opened its share: a rank that failed (a missing file) stops them all. */
static int open_pipeline(common_args *a, const char *label, int argc, char **argv,
                         ooc_backend **be, ooc_source **src)
{
    return ooc_cli_dist_agree(open_pipeline_here(a, label, argc, argv, be, src));
}

/* Finish --profile / --progress after the pipeline is freed: write the
 * trace and print the summary (stderr).  Returns the command's exit code,
 * turned into 1 when the trace could not be written. */
static int close_profile(common_args *a, int rc)
{
    bool written = ooc_cli_profile_finish(&a->prof, rc == 0);
    return rc == 0 && !written ? 1 : rc;
}

static void common_free(common_args *a)
{
    ooc_cli_vars_free(&a->vars);
    ooc_cli_na_storage_free(&a->na);
    ooc_cli_dtypes_free(&a->dtypes);
    free(a->input_label);
}

#define COMMON_LONGOPTS                                                                            \
    {"formula", required_argument, NULL, 'f'}, {"var", required_argument, NULL, OPT_VAR},         \
        {"method", required_argument, NULL, OPT_METHOD},                                          \
        {"weights", required_argument, NULL, OPT_WEIGHTS},                                        \
        {"x-dataset", required_argument, NULL, OPT_XDS},                                          \
        {"delimiter", required_argument, NULL, OPT_DELIM},                                        \
        {"na-values", required_argument, NULL, OPT_NA},                                           \
        {"missing", required_argument, NULL, OPT_MISSING},                                        \
        {"keep-default-na", required_argument, NULL, OPT_KEEP_NA},                                \
        {"no-default-na", no_argument, NULL, OPT_NO_NA},                                          \
        {"dtype", required_argument, NULL, OPT_DTYPE},                                            \
        {"max-levels", required_argument, NULL, OPT_MAX_LEVELS},                                  \
        {"json", no_argument, NULL, OPT_JSON}, {"threads", required_argument, NULL, OPT_THREADS}, \
        {"gram-blas", required_argument, NULL, OPT_GRAM_BLAS},                                    \
        {"block-rows", required_argument, NULL, OPT_BLOCK},                                       \
        {"device", required_argument, NULL, OPT_DEVICE},                                          \
        {"progress", required_argument, NULL, OPT_PROGRESS},                                      \
        {"profile", required_argument, NULL, OPT_PROFILE}, {"quiet", no_argument, NULL, 'q'},    \
        {"help", no_argument, NULL, 'h'}

/* fit's own options (own: its ooc_fit_options). */
static int fit_option(int c, const char *arg, common_args *a, void *own)
{
    ooc_fit_options *fo = own;
    switch (c) {
    case OPT_REFINE: fo->refine = OOC_REFINE_ALWAYS; return 1;
    case OPT_NO_REFINE: fo->refine = OOC_REFINE_NEVER; return 1;
    case OPT_COV:
        if (!strcmp(arg, "nonrobust"))
            fo->cov = OOC_COV_NONROBUST;
        else if (!strcmp(arg, "HC0"))
            fo->cov = OOC_COV_HC0;
        else if (!strcmp(arg, "HC1"))
            fo->cov = OOC_COV_HC1;
        else {
            fprintf(stderr, "oocsolve: error: --cov must be nonrobust, HC0 or HC1, got '%s'\n",
                    arg);
            return -1;
        }
        return 1;
    case OPT_YCOL: a->src.y_column = arg; return 1;
    case OPT_YDS: a->src.y_dataset = arg; return 1;
    case OPT_SAVE_STATE: fo->save_state = arg; return 1;
    case OPT_RESUME: fo->resume_state = arg; return 1;
    default: return 0;
    }
}

/* svd's own options (own: its ooc_svd_options). */
static int svd_option(int c, const char *arg, common_args *a, void *own)
{
    (void)a;
    ooc_svd_options *so = own;
    switch (c) {
    case 'k':
        if (!ooc_cli_parse_size("-k", arg, &so->k) || so->k == 0) {
            fprintf(stderr, "oocsolve: error: -k must be a positive integer\n");
            return -1;
        }
        return 1;
    case OPT_VECTORS: so->vectors = true; return 1;
    case OPT_UOUT: so->u_out = arg; return 1;
    default: return 0;
    }
}

int ooc_cmd_fit(int argc, char **argv)
{
    static const struct option longopts[] = {
        COMMON_LONGOPTS,
        {"refine", no_argument, NULL, OPT_REFINE},
        {"no-refine", no_argument, NULL, OPT_NO_REFINE},
        {"cov", required_argument, NULL, OPT_COV},
        {"y-column", required_argument, NULL, OPT_YCOL},
        {"y-dataset", required_argument, NULL, OPT_YDS},
        {"save-state", required_argument, NULL, OPT_SAVE_STATE},
        {"resume", required_argument, NULL, OPT_RESUME},
        {NULL, 0, NULL, 0},
    };
    double t0 = ooc_clock_seconds();
    common_args a;
    common_init(&a, true);
    ooc_fit_options fo;
    ooc_fit_options_init(&fo);
    ooc_backend *be = NULL;
    ooc_source *src = NULL;
    ooc_fit_result *res = NULL;
    int rc = parse_command_line(argc, argv, "fit", "f:qh", longopts, &a, fit_option, &fo, NULL,
                                &fo.resume_state, &fo.save_state, fit_usage);
    if (rc >= 0)
        goto out;
    rc = open_pipeline(&a, "fit", argc, argv, &be, &src);
    if (rc != 0)
        goto out;
    fo.method = a.method;
    fo.cancel = &ooc_cli_cancel;
    fo.trace = a.prof.trace;
    fo.progress = a.prof.progress;
    /* text: warnings appear in the Notes; across ranks, rank 0's only */
    fo.log = a.json && ooc_cli_is_root() ? ooc_cli_log : (ooc_log_sink){0};
    fo.collective = ooc_cli_collective();
    ooc_error err = {0};
    if (ooc_fit(src, be, &fo, &res, &err) != OOC_OK) {
        rc = ooc_cli_fail(&err);
        goto out;
    }
    if (!ooc_cli_is_root()) /* rank 0 prints the result of them all */
        goto out;
    ooc_report_info info = {.input = a.input_label, .backend = be->caps.name,
                            .seconds_total = ooc_clock_seconds() - t0, .cpu = &a.cpu,
                            .cpu_warning = a.cpu_warning, .rows_dropped = src->rows_dropped};
    ooc_status st = a.json ? ooc_report_fit_json(stdout, res, &info, &err)
                           : ooc_report_fit_text(stdout, res, &info, &err);
    rc = st == OOC_OK ? 0 : ooc_cli_fail(&err);
out:
    ooc_fit_result_free(res);
    ooc_source_free(src);
    ooc_backend_free(be);
    rc = close_profile(&a, rc);
    common_free(&a);
    return rc;
}

int ooc_cmd_svd(int argc, char **argv)
{
    static const struct option longopts[] = {
        COMMON_LONGOPTS,
        {"vectors", no_argument, NULL, OPT_VECTORS},
        {"u-out", required_argument, NULL, OPT_UOUT},
        {NULL, 0, NULL, 0},
    };
    double t0 = ooc_clock_seconds();
    common_args a;
    common_init(&a, false);
    ooc_svd_options so;
    ooc_svd_options_init(&so);
    ooc_backend *be = NULL;
    ooc_source *src = NULL;
    ooc_svd_result *res = NULL;
    int rc = parse_command_line(argc, argv, "svd", "f:k:qh", longopts, &a, svd_option, &so,
                                &so.u_out, NULL, NULL, svd_usage);
    if (rc >= 0)
        goto out;
    rc = open_pipeline(&a, "svd", argc, argv, &be, &src);
    if (rc != 0)
        goto out;
    so.method = a.method;
    so.trace = a.prof.trace;
    so.progress = a.prof.progress;
    so.nthreads = (int)a.threads;
    so.cancel = &ooc_cli_cancel;
    so.log = ooc_cli_is_root() ? ooc_cli_log : (ooc_log_sink){0};
    so.collective = ooc_cli_collective();
    ooc_error err = {0};
    if (ooc_svd(src, be, &so, &res, &err) != OOC_OK) {
        rc = ooc_cli_fail(&err);
        goto out;
    }
    if (!ooc_cli_is_root()) /* rank 0 prints the result of them all */
        goto out;
    ooc_report_info info = {.input = a.input_label, .backend = be->caps.name,
                            .seconds_total = ooc_clock_seconds() - t0, .cpu = &a.cpu,
                            .cpu_warning = a.cpu_warning, .rows_dropped = src->rows_dropped};
    ooc_status st = a.json ? ooc_report_svd_json(stdout, res, &info, &err)
                           : ooc_report_svd_text(stdout, res, &info, &err);
    rc = st == OOC_OK ? 0 : ooc_cli_fail(&err);
out:
    ooc_svd_result_free(res);
    ooc_source_free(src);
    ooc_backend_free(be);
    rc = close_profile(&a, rc);
    common_free(&a);
    return rc;
}

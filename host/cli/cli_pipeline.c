/* cli_pipeline.c — what the commands that run a pipeline (fit, svd: cmd_fit.c;
 * glm: cmd_glm.c) share: their common options, the command line's INPUTs and
 * outputs, and the pipeline's set-up and end (see cli.h).  --device picks the
 * backend (backend_select.h): auto by default, which loads the CUDA plugin
 * when one is installed and otherwise stays on the CPU without a word; with
 * --json or -q only warnings reach stderr.  --profile and --progress
 * (cmd_profile.c) write only to stderr and the trace file, so stdout stays
 * the report (or the JSON document) alone.  The CPU facts (cpuinfo.h) go into
 * the JSON "cpu" object and the trace metadata; a run on the CPU backend
 * warns once (stderr, and the JSON's warnings) when OpenBLAS runs kernels far
 * below the CPU's.  --gpu-decode (auto, on, off) goes to the CUDA backend:
 * on fails here when the backend opened cannot decode; the reports say
 * which decoder ran ("decode": "gpu" when the source handed the backend
 * its chunks raw).  Under mpirun (fit, svd, glm) every rank opens its share of
 * the rows (cli_mpi.c). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include "backend/backend_select.h"
#include "base/clock.h"
#include "stream/source.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ooc_cli_pipeline_init(ooc_cli_pipeline *a, bool need_y)
{
    *a = (ooc_cli_pipeline){.t0 = ooc_clock_seconds(), .method = OOC_METHOD_QR,
                            .device = "auto"};
    ooc_source_options_init(&a->src);
    a->src.max_levels = OOC_CLI_MAX_LEVELS;
    a->src.need_y = need_y;
    if (!need_y)
        a->src.y_dataset = NULL; /* X only: decoding /Y would be wasted work */
}

/* Handle a shared option: 1 handled, 0 not one, -1 invalid (message printed). */
static int shared_option(int c, const char *arg, ooc_cli_pipeline *a)
{
    switch (c) {
    case 'f': a->src.formula = arg; return 1;
    case OOC_CLI_OPT_VAR: return ooc_cli_vars_add(&a->vars, arg) ? 1 : -1;
    case OOC_CLI_OPT_METHOD:
        if (!strcmp(arg, "qr"))
            a->method = OOC_METHOD_QR;
        else if (!strcmp(arg, "normal"))
            a->method = OOC_METHOD_NORMAL;
        else {
            fprintf(stderr, "oocsolve: error: --method must be qr or normal, got '%s'\n", arg);
            return -1;
        }
        return 1;
    case OOC_CLI_OPT_WEIGHTS:
        if (arg[0] == '/') {
            a->src.w_dataset = arg;
        } else {
            a->src.w_column = arg;      /* HDF5: a named column of X */
            a->src.weights_name = arg;  /* CSV: a column of the file */
        }
        return 1;
    case OOC_CLI_OPT_TRANSFORMS_FROM: a->src.transforms_from = arg; return 1;
    case OOC_CLI_OPT_XDS: a->src.x_dataset = arg; return 1;
    case OOC_CLI_OPT_YCOL: a->src.y_column = arg; return 1;
    case OOC_CLI_OPT_YDS: a->src.y_dataset = arg; return 1;
    case OOC_CLI_OPT_DELIM: return ooc_cli_parse_delimiter(arg, &a->src.csv.delimiter) ? 1 : -1;
    case OOC_CLI_OPT_NA: return ooc_cli_parse_na_values(arg, &a->src.csv, &a->na) ? 1 : -1;
    case OOC_CLI_OPT_MISSING: return ooc_cli_parse_missing(arg, &a->src.csv) ? 1 : -1;
    case OOC_CLI_OPT_KEEP_NA: return ooc_cli_parse_keep_default_na(arg, &a->src.csv) ? 1 : -1;
    case OOC_CLI_OPT_NO_NA: a->src.csv.no_default_na = true; return 1;
    case OOC_CLI_OPT_DTYPE: return ooc_cli_dtypes_add(&a->dtypes, arg, &a->src.csv) ? 1 : -1;
    case OOC_CLI_OPT_MAX_LEVELS:
        return ooc_cli_parse_size("--max-levels", arg, &a->src.max_levels) ? 1 : -1;
    case OOC_CLI_OPT_JSON: a->json = true; return 1;
    case 'q': a->quiet = true; return 1;
    case OOC_CLI_OPT_DEVICE: {
        ooc_device_spec spec;
        ooc_error err = {0};
        if (ooc_device_spec_parse(arg, &spec, &err) != OOC_OK) {
            ooc_cli_fail(&err);
            return -1;
        }
        a->device = arg;
        return 1;
    }
    case OOC_CLI_OPT_THREADS: return ooc_cli_parse_size("--threads", arg, &a->threads) ? 1 : -1;
    case OOC_CLI_OPT_GRAM_BLAS:
        if (ooc_cpu_gram_blas_parse(arg, &a->gram_blas))
            return 1;
        fprintf(stderr, "oocsolve: error: --gram-blas must be auto, openblas or blis, got '%s'\n",
                arg);
        return -1;
    case OOC_CLI_OPT_BLOCK: return ooc_cli_parse_size("--block-rows", arg, &a->block_rows) ? 1 : -1;
    case OOC_CLI_OPT_GPU_DECODE:
        if (ooc_gpu_decode_parse(arg, &a->gpu_decode))
            return 1;
        fprintf(stderr, "oocsolve: error: --gpu-decode must be auto, on or off, got '%s'\n", arg);
        return -1;
    case OOC_CLI_OPT_PROGRESS:
        return ooc_cli_parse_progress(arg, &a->prof.progress_mode) ? 1 : -1;
    case OOC_CLI_OPT_PROFILE: a->prof.trace_path = arg; return 1;
    case OOC_CLI_OPT_GROUPS: {
        free(a->groups_text);
        a->groups_text = strdup(arg);
        if (!a->groups_text) {
            fprintf(stderr, "oocsolve: error: out of memory\n");
            return -1;
        }
        char *comma = strchr(a->groups_text, ',');
        if (comma)
            *comma = '\0';
        a->groups[0] = a->groups_text;
        a->groups[1] = comma ? comma + 1 : NULL;
        a->cluster.ngroups = comma ? 2 : 1;
        if (!a->groups[0][0] || (comma && (!a->groups[1][0] || strchr(a->groups[1], ',')))) {
            fprintf(stderr, "oocsolve: error: --groups takes one column or two separated by a "
                            "comma, got '%s'\n", arg);
            return -1;
        }
        a->cluster.groups = a->groups;
        a->src.keep_columns = a->groups;
        a->src.n_keep = a->cluster.ngroups;
        return 1;
    }
    case OOC_CLI_OPT_NO_CLUSTER_CORR: a->cluster.no_correction = true; return 1;
    case OOC_CLI_OPT_NO_DF_CORR: a->cluster.no_df_correction = true; return 1;
    case OOC_CLI_OPT_MAX_CLUSTER: {
        size_t mib;
        if (!ooc_cli_parse_size("--max-cluster-memory", arg, &mib) || mib == 0 ||
            mib > SIZE_MAX / (1024 * 1024)) {
            fprintf(stderr, "oocsolve: error: --max-cluster-memory must be a positive number "
                            "of MiB, got '%s'\n", arg);
            return -1;
        }
        a->cluster.max_bytes = mib * 1024 * 1024;
        return 1;
    }
    default: return 0;
    }
}

int ooc_cli_cluster_check(const ooc_cli_pipeline *a, bool cluster)
{
    if (cluster == (a->cluster.ngroups > 0))
        return -1;
    fprintf(stderr, "oocsolve: error: %s\n",
            cluster ? "--cov cluster needs --groups COL[,COL]" : "--groups is for --cov cluster");
    return 2;
}

int ooc_cli_pipeline_parse(int argc, char **argv, const char *label, const char *shortopts,
                           const struct option *longopts, ooc_cli_pipeline *a,
                           ooc_cli_own_option_fn own_option, void *own, void (*usage)(FILE *to))
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int handled = shared_option(c, optarg, a);
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
    return -1;
}

int ooc_cli_pipeline_inputs(ooc_cli_pipeline *a, const ooc_cli_file *inputs, size_t ninputs,
                            const ooc_cli_file *outputs, size_t noutputs)
{
    size_t label_len = 1;
    for (size_t i = 0; i < a->ninputs; i++)
        label_len += strlen(a->inputs[i]) + 2;
    a->input_label = malloc(label_len);
    ooc_cli_file *all_in = calloc(a->ninputs + ninputs + 1, sizeof *all_in);
    ooc_cli_file *all_out = calloc(1 + noutputs, sizeof *all_out);
    if (!a->input_label || !all_in || !all_out) {
        free(all_in);
        free(all_out);
        fprintf(stderr, "oocsolve: error: out of memory\n");
        return 1;
    }
    a->input_label[0] = '\0';
    for (size_t i = 0; i < a->ninputs; i++) {
        if (i)
            strcat(a->input_label, ", ");
        strcat(a->input_label, a->inputs[i]);
        all_in[i] = (ooc_cli_file){"the input", a->inputs[i]};
    }
    for (size_t i = 0; i < ninputs; i++)
        all_in[a->ninputs + i] = inputs[i];
    all_in[a->ninputs + ninputs] = (ooc_cli_file){"--transforms-from", a->src.transforms_from};
    all_out[0] = (ooc_cli_file){"--profile", a->prof.trace_path};
    for (size_t i = 0; i < noutputs; i++)
        all_out[1 + i] = outputs[i];
    bool ok = ooc_cli_check_outputs(all_in, a->ninputs + ninputs + 1, all_out, 1 + noutputs);
    free(all_in);
    free(all_out);
    return ok ? -1 : 2;
}

/* Log sink of the backend: forwards messages at least as severe as the
 * pipeline's device_log_min (user_data) to stderr. */
static void device_log(void *user_data, ooc_log_level level, const char *message)
{
    const ooc_cli_pipeline *a = user_data;
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

/* ooc_cli_pipeline_open on this process alone (before the ranks agree). */
static int open_pipeline_here(ooc_cli_pipeline *a, const char *label, int argc, char **argv,
                              ooc_cli_open_source_fn open_source, void *own)
{
    ooc_error err = {0};
    const ooc_collective *ranks = ooc_cli_collective();
    if (a->quiet)
        a->prof.progress_mode = OOC_PROGRESS_OFF;
    /* rank 0 shows progress and notes; the others write their trace
     * (--profile) beside it, as FILE.rank-N */
    ooc_cli_dist_profile(&a->prof, a->rank_trace_path, sizeof a->rank_trace_path);
    if (!ooc_cli_profile_start(&a->prof, label, argc, argv))
        return 1;
    /* text: the one-line note of auto falling back to the CPU; JSON, -q: warnings only */
    a->device_log_min = a->json || a->quiet ? OOC_LOG_WARNING : OOC_LOG_NOTE;
    ooc_backend_open_options bo = {.cpu = {.nthreads = (int)a->threads,
                                           .gram_blas = a->gram_blas,
                                           .trace = a->prof.trace},
                                   .log = {device_log, a},
                                   .process_index = ranks ? ranks->rank : 0,
                                   .gpu_decode = a->gpu_decode};
    if (ooc_backend_open(a->device, &bo, &a->backend, &err) != OOC_OK)
        return ooc_cli_fail(&err);
    if (a->gpu_decode == OOC_GPU_DECODE_ON && !a->backend->caps.raw_codecs) {
        fprintf(stderr, "oocsolve: error: --gpu-decode on needs a GPU backend that decodes "
                        "(this run uses the %s backend): use --device gpu\n",
                a->backend->caps.name);
        return 2;
    }
    ooc_cpu_info_gather((int)a->threads, &a->cpu);
    const char *gram_blas = ooc_cpu_backend_gram_blas(a->backend);
    if (gram_blas)
        snprintf(a->cpu.gram_blas, sizeof a->cpu.gram_blas, "%s", gram_blas);
    if (a->cpu.blas_warning[0] && !strcmp(a->backend->caps.name, "cpu") && ooc_cli_is_root()) {
        a->cpu_warning = a->cpu.blas_warning;
        ooc_cli_log.fn(ooc_cli_log.user_data, OOC_LOG_WARNING, a->cpu_warning);
    }
    a->src.vars = a->vars.items;
    a->src.nvars = a->vars.n;
    a->src.nthreads = (int)a->threads;
    /* 0 lets the source size blocks by bytes (about 4 MiB), which keeps memory
     * bounded for wide designs; backends accept blocks of any height. */
    a->src.block_rows = a->block_rows;
    if (a->backend->caps.wants_pinned_memory)
        a->src.allocator = a->backend->caps.allocator;
    a->src.cancel = &ooc_cli_cancel;
    a->src.log = ooc_cli_is_root() ? ooc_cli_log : (ooc_log_sink){0};
    a->src.trace = a->prof.trace;
    a->src.progress = a->prof.progress;
    int rc = ooc_cli_dist_share(a->inputs, a->ninputs, &a->src);
    if (rc != 0)
        return rc;
    if (open_source) {
        rc = open_source(a, own);
        if (rc != 0)
            return rc;
    } else if (ooc_source_open_files(a->inputs, a->ninputs, &a->src, &a->source, &err) !=
               OOC_OK) {
        return ooc_cli_fail(&err);
    }
    ooc_trace_set_meta(a->prof.trace, "input", "%s", a->input_label);
    ooc_trace_set_meta(a->prof.trace, "device", "%s", a->backend->caps.name);
    if (a->threads)
        ooc_trace_set_meta(a->prof.trace, "threads", "%zu", a->threads);
    else
        ooc_trace_set_meta(a->prof.trace, "threads", "auto");
    ooc_trace_set_meta(a->prof.trace, "block_rows", "%zu", a->source->block_rows);
    ooc_trace_set_meta(a->prof.trace, "gpu_decode", "%s",
                       a->backend->caps.raw_codecs ? "available" : "off");
    trace_cpu_facts(a->prof.trace, &a->cpu);
    return 0;
}

int ooc_cli_pipeline_open(ooc_cli_pipeline *a, const char *label, int argc, char **argv,
                          ooc_cli_open_source_fn open_source, void *own)
{
    /* across MPI ranks, the agreement that every rank opened its share: a
     * rank that failed (a missing file) stops them all */
    return ooc_cli_dist_agree(open_pipeline_here(a, label, argc, argv, open_source, own));
}

ooc_report_info ooc_cli_pipeline_report_info(const ooc_cli_pipeline *a)
{
    return (ooc_report_info){.input = a->input_label, .backend = a->backend->caps.name,
                             .decode = a->source->raw_blocks ? "gpu" : "host",
                             .seconds_total = ooc_clock_seconds() - a->t0, .cpu = &a->cpu,
                             .cpu_warning = a->cpu_warning,
                             .rows_dropped = a->source->rows_dropped};
}

int ooc_cli_pipeline_end(ooc_cli_pipeline *a, int rc)
{
    /* the source before the backend, both before the trace is written (they
     * record into it) */
    ooc_source_free(a->source);
    ooc_backend_free(a->backend);
    a->source = NULL;
    a->backend = NULL;
    bool written = ooc_cli_profile_finish(&a->prof, rc == 0);
    ooc_cli_vars_free(&a->vars);
    ooc_cli_na_storage_free(&a->na);
    ooc_cli_dtypes_free(&a->dtypes);
    free(a->input_label);
    free(a->groups_text);
    return rc == 0 && !written ? 1 : rc;
}

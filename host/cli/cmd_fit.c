/* cmd_fit.c — `oocsolve fit INPUT ...` (least squares with statsmodels-style
 * statistics) and `oocsolve svd INPUT ...` (singular values/vectors of X).
 * INPUT is an HDF5 design matrix or a CSV read through a formula (-f).  The
 * options both share with glm (--device, --profile, --progress, the CSV
 * reading ...), the backend and the source are cli_pipeline.c's. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
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
            "      --transforms-from F  CSV: use what the stateful transforms (center, standardize,\n"
            "                         scale, bs, cr, cc) learned when F (an oocsolve HDF5 file of\n"
            "                         the same formula) was ingested, instead of learning from\n"
            "                         INPUT: new data fitted with the same centres and knots\n"
            "      --method M         qr (default: Q-less TSQR, stable) | normal (Gram + Cholesky)\n"
            "      --refine           iterative refinement passes in extended precision (default:\n"
            "                         only when the first pass's error bound exceeds 1e-9)\n"
            "      --no-refine        never refine (one pass)\n"
            "      --cov T            nonrobust (default) | HC0 | HC1 | cluster (one more pass)\n");
    fprintf(to, /* two strings: one would exceed the 4095 characters C99 promises */
            OOC_CLI_CLUSTER_HELP
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
            "      --gpu-decode M     auto (default: on the GPU when the CUDA plugin has nvCOMP and\n"
            "                         the HDF5 input is deflate or shuffle + deflate) | on | off:\n"
            "                         where the accumulation pass inflates the chunks\n"
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
            "  -f, --formula F, --var NAME=VALUE, --transforms-from F, --weights NAME,\n"
            "      --x-dataset PATH,\n"
            "      --delimiter C, --na-values LIST, --missing MODE, --keep-default-na B,\n"
            "      --dtype NAME=TYPE, --max-levels N                 as for fit\n"
            "      --json             JSON on stdout (with the \"cpu\" object of fit's)\n"
            "      --device D, --threads N, --gram-blas B, --block-rows N, --gpu-decode M,\n"
            "      --progress MODE, -q,\n"
            "      --profile FILE     as for fit\n"
            "\n"
            "INPUT may be '-', a pipe or a compressed CSV, as for fit.  FILE.h5 appears only when\n"
            "complete, and must not be INPUT itself or a special file.\n" OOC_CLI_EXIT_HELP);
}

/* fit's and svd's own options (glm's are cmd_glm.c's). */
enum {
    OPT_REFINE = OOC_CLI_OPT_OWN, OPT_NO_REFINE, OPT_COV, OPT_VECTORS, OPT_UOUT, OPT_SAVE_STATE,
    OPT_RESUME
};

/* fit's own options (own: its ooc_fit_options). */
static int fit_option(int c, const char *arg, ooc_cli_pipeline *a, void *own)
{
    (void)a;
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
        else if (!strcmp(arg, "cluster"))
            fo->cov = OOC_COV_CLUSTER;
        else {
            fprintf(stderr,
                    "oocsolve: error: --cov must be nonrobust, HC0, HC1 or cluster, got '%s'\n",
                    arg);
            return -1;
        }
        return 1;
    case OPT_SAVE_STATE: fo->save_state = arg; return 1;
    case OPT_RESUME: fo->resume_state = arg; return 1;
    default: return 0;
    }
}

/* svd's own options (own: its ooc_svd_options). */
static int svd_option(int c, const char *arg, ooc_cli_pipeline *a, void *own)
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
        OOC_CLI_PIPELINE_LONGOPTS,
        OOC_CLI_RESPONSE_LONGOPTS,
        OOC_CLI_CLUSTER_LONGOPTS,
        {"refine", no_argument, NULL, OPT_REFINE},
        {"no-refine", no_argument, NULL, OPT_NO_REFINE},
        {"cov", required_argument, NULL, OPT_COV},
        {"save-state", required_argument, NULL, OPT_SAVE_STATE},
        {"resume", required_argument, NULL, OPT_RESUME},
        {NULL, 0, NULL, 0},
    };
    ooc_cli_pipeline a;
    ooc_cli_pipeline_init(&a, true);
    ooc_fit_options fo;
    ooc_fit_options_init(&fo);
    ooc_fit_result *res = NULL;
    int rc = ooc_cli_pipeline_parse(argc, argv, "fit", "f:qh", longopts, &a, fit_option, &fo,
                                    fit_usage);
    if (rc < 0)
        rc = ooc_cli_pipeline_inputs(&a, &(ooc_cli_file){"--resume", fo.resume_state}, 1,
                                     &(ooc_cli_file){"--save-state", fo.save_state}, 1);
    if (rc < 0)
        rc = ooc_cli_cluster_check(&a, fo.cov == OOC_COV_CLUSTER);
    if (rc >= 0)
        goto out;
    fo.cluster = a.cluster;
    rc = ooc_cli_pipeline_open(&a, "fit", argc, argv, NULL, NULL);
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
    if (ooc_fit(a.source, a.backend, &fo, &res, &err) != OOC_OK) {
        rc = ooc_cli_fail(&err);
        goto out;
    }
    if (!ooc_cli_is_root()) /* rank 0 prints the result of them all */
        goto out;
    ooc_report_info info = ooc_cli_pipeline_report_info(&a);
    ooc_status st = a.json ? ooc_report_fit_json(stdout, res, &info, &err)
                           : ooc_report_fit_text(stdout, res, &info, &err);
    rc = st == OOC_OK ? 0 : ooc_cli_fail(&err);
out:
    ooc_fit_result_free(res);
    return ooc_cli_pipeline_end(&a, rc);
}

int ooc_cmd_svd(int argc, char **argv)
{
    static const struct option longopts[] = {
        OOC_CLI_PIPELINE_LONGOPTS,
        {"vectors", no_argument, NULL, OPT_VECTORS},
        {"u-out", required_argument, NULL, OPT_UOUT},
        {NULL, 0, NULL, 0},
    };
    ooc_cli_pipeline a;
    ooc_cli_pipeline_init(&a, false);
    ooc_svd_options so;
    ooc_svd_options_init(&so);
    ooc_svd_result *res = NULL;
    int rc = ooc_cli_pipeline_parse(argc, argv, "svd", "f:k:qh", longopts, &a, svd_option, &so,
                                    svd_usage);
    if (rc < 0)
        rc = ooc_cli_pipeline_inputs(&a, NULL, 0, &(ooc_cli_file){"--u-out", so.u_out}, 1);
    if (rc >= 0)
        goto out;
    rc = ooc_cli_pipeline_open(&a, "svd", argc, argv, NULL, NULL);
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
    if (ooc_svd(a.source, a.backend, &so, &res, &err) != OOC_OK) {
        rc = ooc_cli_fail(&err);
        goto out;
    }
    if (!ooc_cli_is_root()) /* rank 0 prints the result of them all */
        goto out;
    ooc_report_info info = ooc_cli_pipeline_report_info(&a);
    ooc_status st = a.json ? ooc_report_svd_json(stdout, res, &info, &err)
                           : ooc_report_svd_text(stdout, res, &info, &err);
    rc = st == OOC_OK ? 0 : ooc_cli_fail(&err);
out:
    ooc_svd_result_free(res);
    return ooc_cli_pipeline_end(&a, rc);
}

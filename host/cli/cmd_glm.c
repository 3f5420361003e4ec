/* cmd_glm.c — `oocsolve glm INPUT... --family F [-f FORMULA] ...`: a
 * generalized linear model by out-of-core IRLS (ooc_glm), with statsmodels'
 * GLM summary or JSON.  The options it shares with fit and svd, profile and
 * progress, the backend --device names and the source's set-up are
 * cli_pipeline.c's; it opens the source with ooc_glm_source_open, which
 * adds a CSV's offset, exposure and frequency-weight columns and a two-level
 * categorical binomial response to the formula as terms
 * (solve/glm_input.h).  From HDF5 those are columns of X by name
 * (--y-column takes the response from one too).  Under mpirun each rank
 * passes over its share of the rows (cli_mpi.c) and rank 0 prints.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include "base/error.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void glm_usage(FILE *to)
{
    fprintf(
        to,
        "usage: oocsolve glm INPUT... --family F [-f FORMULA] [options]\n"
        "\n"
        "Generalized linear model of y on X streamed from INPUT (an HDF5 file with /X and /Y,\n"
        "or a CSV with -f FORMULA), fitted by iteratively reweighted least squares, one pass\n"
        "over the data per iteration, with the statistics of statsmodels' GLM summary().\n"
        "Starting values, convergence (deviance change <= 1e-8, at most 100 iterations),\n"
        "covariance and statistics are statsmodels' GLM.fit().\n"
        "\n"
        "options:\n"
        "      --family F         binomial | poisson | gaussian | gamma | inverse_gaussian\n"
        "      --link L           the family's default (logit, log, identity, inverse_power,\n"
        "                         inverse_squared) | identity | log | logit | probit | cloglog |\n"
        "                         loglog | cauchy | inverse_power | inverse_squared | sqrt\n"
        "  -f, --formula F        formula for a CSV input, e.g. \"y ~ x + C(g)\"; a binomial\n"
        "                         response may be 0/1, a proportion, or a two-level categorical\n"
        "                         (its first level, in patsy's order, is the success)\n"
        "      --offset COL       a column added to the linear predictor (coefficient 1)\n"
        "      --exposure COL     a column > 0 whose log is added to it (log link only)\n"
        "      --weights NAME     observation weights (statsmodels' var_weights): a column\n"
        "                         name, or /DATASET in HDF5\n"
        "      --freq-weights COL frequency weights (statsmodels' freq_weights, >= 0): row i\n"
        "                         counts as COL_i observations (df_resid, log-likelihood)\n"
        "      --cov T            nonrobust (default) | cluster (one more pass)\n"
        OOC_CLI_CLUSTER_HELP
        "      --maxiter N        IRLS iterations at most (default 100)\n"
        "      --tol T            converged when the deviance changes by at most T (1e-8)\n"
        "      --method M         qr (default: each iteration's weighted triangle by TSQR) |\n"
        "                         normal (Gram + Cholesky)\n"
        "      --var NAME=VALUE, --delimiter C, --na-values LIST, --missing drop|error,\n"
        "      --keep-default-na B, --dtype NAME=TYPE, --max-levels N,\n"
        "      --transforms-from F                                      CSV reading, as for fit\n"
        "      --y-column NAME, --x-dataset PATH, --y-dataset PATH      HDF5, as for fit\n"
        "      --json             JSON on stdout (statsmodels' names) instead of the summary\n"
        "      --device D, --threads N, --gram-blas B, --block-rows N   as for fit\n"
        "      --gpu-decode M     accepted as for fit; glm's passes decode on the host\n"
        "      --progress MODE    auto (default: on when stderr is a terminal) | on | off: the\n"
        "                         line names the iteration and the last deviance change\n"
        "  -q, --quiet            no progress line and no notes on stderr (warnings stay)\n"
        "      --profile FILE     write a Chrome trace (Perfetto) of the run\n"
        "\n"
        "Errors name the row: a response outside the family's range (binomial [0, 1],\n"
        "poisson >= 0, gamma and inverse_gaussian > 0), a weight of 0, an exposure <= 0, a\n"
        "fitted mean the link takes out of range; perfect separation (binomial) is an error,\n"
        "quasi-separation and not converging are warnings.\n"
        "\n"
        "Under mpirun (-np N) with HDF5 inputs, each rank passes over its share of the rows\n"
        "and every iteration is merged across the ranks; rank 0 prints.\n" OOC_CLI_EXIT_HELP);
}

/* The command line, parsed. */
typedef struct glm_args {
    ooc_cli_pipeline common;                 /* options and pipeline shared with fit, svd */
    ooc_glm_options glm;
    bool family_given;
    size_t max_iter;
} glm_args;

enum {
    OPT_FAMILY = OOC_CLI_OPT_OWN,
    OPT_LINK,
    OPT_OFFSET,
    OPT_EXPOSURE,
    OPT_FREQ_WEIGHTS,
    OPT_MAXITER,
    OPT_TOL,
    OPT_COV
};

/* glm's own options (own: its glm_args): 1 handled, -1 invalid (message
 * printed), 0 not one of them. */
static int glm_option(int c, const char *arg, ooc_cli_pipeline *common, void *own)
{
    (void)common;
    glm_args *a = own;
    switch (c) {
    case OPT_FAMILY:
        if (ooc_glm_family_parse(arg, &a->glm.family)) {
            a->family_given = true;
            return 1;
        }
        fprintf(stderr,
                "oocsolve: error: --family must be binomial, poisson, gaussian, gamma or "
                "inverse_gaussian, got '%s'\n",
                arg);
        return -1;
    case OPT_LINK:
        if (ooc_glm_link_parse(arg, &a->glm.link))
            return 1;
        fprintf(stderr,
                "oocsolve: error: unknown --link '%s' (identity, log, logit, probit, "
                "cloglog, loglog, cauchy, inverse_power, inverse_squared, sqrt)\n",
                arg);
        return -1;
    case OPT_COV:
        if (!strcmp(arg, "nonrobust") || !strcmp(arg, "cluster")) {
            a->glm.cov = arg[0] == 'c' ? OOC_COV_CLUSTER : OOC_COV_NONROBUST;
            return 1;
        }
        fprintf(stderr, "oocsolve: error: --cov must be nonrobust or cluster, got '%s'\n", arg);
        return -1;
    case OPT_OFFSET: a->glm.offset_column = arg; return 1;
    case OPT_EXPOSURE: a->glm.exposure_column = arg; return 1;
    case OPT_FREQ_WEIGHTS: a->glm.freq_weights_column = arg; return 1;
    case OPT_MAXITER:
        if (!ooc_cli_parse_size("--maxiter", arg, &a->max_iter))
            return -1;
        if (a->max_iter < 1 || a->max_iter > 1000000) {
            fprintf(stderr, "oocsolve: error: --maxiter must be between 1 and 1000000\n");
            return -1;
        }
        a->glm.max_iter = (int)a->max_iter;
        return 1;
    case OPT_TOL: {
        char *end;
        double t = strtod(arg, &end);
        if (*arg == '\0' || *end != '\0' || !(t > 0.0 && t < 1e300)) {
            fprintf(stderr, "oocsolve: error: --tol must be a positive number, got '%s'\n", arg);
            return -1;
        }
        a->glm.tol = t;
        return 1;
    }
    default: return 0;
    }
}

/* Parse the command line into a: -1 to go on, else the exit code (0 after
 * -h, 2 for a usage error or a refused output; message printed). */
static int parse_command_line(int argc, char **argv, glm_args *a)
{
    static const struct option longopts[] = {
        OOC_CLI_PIPELINE_LONGOPTS,
        OOC_CLI_RESPONSE_LONGOPTS,
        {"family", required_argument, NULL, OPT_FAMILY},
        {"link", required_argument, NULL, OPT_LINK},
        {"offset", required_argument, NULL, OPT_OFFSET},
        {"exposure", required_argument, NULL, OPT_EXPOSURE},
        {"freq-weights", required_argument, NULL, OPT_FREQ_WEIGHTS},
        {"maxiter", required_argument, NULL, OPT_MAXITER},
        {"tol", required_argument, NULL, OPT_TOL},
        {"cov", required_argument, NULL, OPT_COV},
        OOC_CLI_CLUSTER_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int rc = ooc_cli_pipeline_parse(argc, argv, "glm", "f:qh", longopts, &a->common, glm_option,
                                    a, glm_usage);
    if (rc < 0 && !a->family_given) {
        fprintf(stderr, "oocsolve: error: glm needs --family (binomial, poisson, gaussian, gamma "
                        "or inverse_gaussian)\n");
        return 2;
    }
    a->glm.method = a->common.method;
    a->glm.cluster = a->common.cluster;
    if (rc < 0)
        rc = ooc_cli_cluster_check(&a->common, a->glm.cov == OOC_COV_CLUSTER);
    return rc < 0 ? ooc_cli_pipeline_inputs(&a->common, NULL, 0, NULL, 0) : rc;
}

/* Open the source (ooc_cli_open_source_fn; own: the glm_args): the formula
 * with the model's terms (ooc_glm_source_open).  0 or the exit code. */
static int open_source(ooc_cli_pipeline *common, void *own)
{
    glm_args *a = own;
    ooc_error err = {0};
    if (ooc_glm_source_open(common->inputs, common->ninputs, &common->src, &a->glm,
                            &common->source, &err) != OOC_OK)
        return ooc_cli_fail(&err);
    return 0;
}

int ooc_cmd_glm(int argc, char **argv)
{
    glm_args a = {0};
    ooc_cli_pipeline_init(&a.common, true);
    ooc_glm_options_init(&a.glm);
    ooc_glm_result *res = NULL;
    int rc = parse_command_line(argc, argv, &a);
    if (rc >= 0)
        goto out;
    rc = ooc_cli_pipeline_open(&a.common, "glm", argc, argv, open_source, &a);
    if (rc != 0)
        goto out;
    a.glm.cancel = &ooc_cli_cancel;
    a.glm.trace = a.common.prof.trace;
    a.glm.progress = a.common.prof.progress;
    /* text: warnings appear in the Notes; across ranks, rank 0's only */
    a.glm.log = a.common.json && ooc_cli_is_root() ? ooc_cli_log : (ooc_log_sink){0};
    a.glm.collective = ooc_cli_collective();
    ooc_error err = {0};
    if (ooc_glm(a.common.source, a.common.backend, &a.glm, &res, &err) != OOC_OK) {
        /* a row's message: name the input it is in */
        if (err.status == OOC_ERR_DATA || err.status == OOC_ERR_NUMERIC)
            ooc_error_prefix(&err, "%s", a.common.input_label);
        rc = ooc_cli_fail(&err);
        goto out;
    }
    if (!ooc_cli_is_root()) /* rank 0 prints the result of them all */
        goto out;
    ooc_report_info info = ooc_cli_pipeline_report_info(&a.common);
    ooc_status st = a.common.json ? ooc_report_glm_json(stdout, res, &info, &err)
                                  : ooc_report_glm_text(stdout, res, &info, &err);
    rc = st == OOC_OK ? 0 : ooc_cli_fail(&err);
out:
    ooc_glm_result_free(res);
    return ooc_cli_pipeline_end(&a.common, rc);
}

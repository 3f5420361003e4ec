/* cmd_glm.c — `oocsolve glm INPUT... --family F [-f FORMULA] ...`: a
 * generalized linear model by out-of-core IRLS (ooc_glm), with statsmodels'
 * GLM summary or JSON.  The options it shares with fit and svd, profile and
 * progress, the backend --device names and the source's set-up are
 * cli_pipeline.c's; it opens the source itself (open_source).
 *
 * From a CSV, the columns the model needs beside the formula's are added to
 * it as terms, and ooc_glm is told to take them out of the regressors:
 *  - --offset COL and --exposure COL become "I((COL))" (Q('COL') inside
 *    for a name that is not an identifier; a term no user formula writes),
 *    so they follow the formula's missing-value rules as statsmodels'
 *    formula API applies them to offset= and exposure= arrays;
 *  - a binomial response that is a two-level categorical (the formula
 *    layer refuses it as a response) becomes the term
 *    "C(LHS, Treatment(1))" of a formula without a response: Treatment
 *    with the second level as reference codes the first level as 1, which
 *    is the success statsmodels takes from patsy's two-column response
 *    (LHS[first], LHS[second]), levels sorted as patsy sorts them.
 * From HDF5 the offset and exposure are columns of X by name (--y-column
 * takes the response from one too).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include "base/error.h"
#include "stream/source.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
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
        "      --cov T            nonrobust (default) | cluster (one more pass)\n"
        OOC_CLI_CLUSTER_HELP
        "      --maxiter N        IRLS iterations at most (default 100)\n"
        "      --tol T            converged when the deviance changes by at most T (1e-8)\n"
        "      --method M         qr (default: each iteration's weighted triangle by TSQR) |\n"
        "                         normal (Gram + Cholesky)\n"
        "      --var NAME=VALUE, --delimiter C, --na-values LIST, --missing drop|error,\n"
        "      --keep-default-na B, --dtype NAME=TYPE, --max-levels N   CSV reading, as for fit\n"
        "      --y-column NAME, --x-dataset PATH, --y-dataset PATH      HDF5, as for fit\n"
        "      --json             JSON on stdout (statsmodels' names) instead of the summary\n"
        "      --device D, --threads N, --gram-blas B, --block-rows N   as for fit\n"
        "      --progress MODE    auto (default: on when stderr is a terminal) | on | off: the\n"
        "                         line names the iteration and the last deviance change\n"
        "  -q, --quiet            no progress line and no notes on stderr (warnings stay)\n"
        "      --profile FILE     write a Chrome trace (Perfetto) of the run\n"
        "\n"
        "Errors name the row: a response outside the family's range (binomial [0, 1],\n"
        "poisson >= 0, gamma and inverse_gaussian > 0), a weight of 0, an exposure <= 0, a\n"
        "fitted mean the link takes out of range; perfect separation (binomial) is an error,\n"
        "quasi-separation and not converging are warnings.\n" OOC_CLI_EXIT_HELP);
}

/* The command line, parsed. */
typedef struct glm_args {
    ooc_cli_pipeline common;                 /* options and pipeline shared with fit, svd */
    ooc_glm_options glm;
    bool family_given;
    size_t max_iter;
    const char *user_offset, *user_exposure; /* --offset, --exposure as given */
    /* a CSV formula with the model's extra terms (glm_formula) */
    char *formula, *offset_term, *exposure_term, *response_term, *y_name;
} glm_args;

enum {
    OPT_FAMILY = OOC_CLI_OPT_OWN, OPT_LINK, OPT_OFFSET, OPT_EXPOSURE, OPT_MAXITER, OPT_TOL, OPT_COV
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
    case OPT_OFFSET: a->glm.offset_column = a->user_offset = arg; return 1;
    case OPT_EXPOSURE: a->glm.exposure_column = a->user_exposure = arg; return 1;
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

/* ---- the CSV formula ----------------------------------------------------------- */

/* printf into a new string (NULL when out of memory). */
static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* The term naming CSV column `name` inside I((...)): the name itself when it
 * is a Python identifier, else Q('name') (quotes and backslashes escaped). */
static char *column_term(const char *name)
{
    bool ident = isalpha((unsigned char)name[0]) || name[0] == '_';
    for (const char *c = name; *c && ident; c++)
        ident = isalnum((unsigned char)*c) || *c == '_';
    if (ident)
        return format("I((%s))", name);
    size_t n = strlen(name);
    char *quoted = malloc(2 * n + 1), *q = quoted;
    if (!quoted)
        return NULL;
    for (const char *c = name; *c; c++) {
        if (*c == '\'' || *c == '\\')
            *q++ = '\\';
        *q++ = *c;
    }
    *q = '\0';
    char *term = format("I((Q('%s')))", quoted);
    free(quoted);
    return term;
}

/* The offset of formula's top-level '~' (outside quotes and brackets), or -1. */
static long tilde_at(const char *formula)
{
    int depth = 0;
    char quote = 0;
    for (const char *c = formula; *c; c++) {
        if (quote) {
            if (*c == '\\' && c[1])
                c++;
            else if (*c == quote)
                quote = 0;
        } else if (*c == '\'' || *c == '"') {
            quote = *c;
        } else if (*c == '(' || *c == '[' || *c == '{') {
            depth++;
        } else if (*c == ')' || *c == ']' || *c == '}') {
            depth--;
        } else if (*c == '~' && depth == 0) {
            return (long)(c - formula);
        }
    }
    return -1;
}

/* a->formula: the user's formula plus the offset and exposure terms, or,
 * with `categorical_response`, its right-hand side plus those and the
 * response's Treatment(1) term, without a response.  false when out of
 * memory or (categorical_response) when the formula has no '~'. */
static bool glm_formula(glm_args *a, bool categorical_response)
{
    const char *user = a->common.src.formula;
    free(a->formula);
    a->formula = NULL;
    if (!a->offset_term && a->glm.offset_column &&
        !(a->offset_term = column_term(a->glm.offset_column)))
        return false;
    if (!a->exposure_term && a->glm.exposure_column &&
        !(a->exposure_term = column_term(a->glm.exposure_column)))
        return false;
    const char *plus_o = a->offset_term ? " + " : "", *plus_e = a->exposure_term ? " + " : "";
    const char *o = a->offset_term ? a->offset_term : "";
    const char *e = a->exposure_term ? a->exposure_term : "";
    if (!categorical_response) {
        a->formula = format("%s%s%s%s%s", user, plus_o, o, plus_e, e);
        return a->formula != NULL;
    }
    long t = tilde_at(user);
    if (t < 0)
        return false;
    const char *lhs = user, *rhs = user + t + 1;
    int lhs_len = (int)t;
    while (lhs_len > 0 && isspace((unsigned char)lhs[lhs_len - 1]))
        lhs_len--;
    while (isspace((unsigned char)*lhs) && lhs_len > 0)
        lhs++, lhs_len--;
    free(a->response_term);
    a->response_term = format("C(%.*s, Treatment(1))", lhs_len, lhs);
    free(a->y_name);
    a->y_name = format("%.*s", lhs_len, lhs);
    a->formula = a->response_term
                     ? format("%s%s%s%s%s + %s", rhs, plus_o, o, plus_e, e, a->response_term)
                     : NULL;
    return a->formula && a->y_name;
}

/* After a CSV source opened with glm_formula: point the GLM options at the
 * offset and exposure terms, and (categorical response) at the column of
 * the response's first level, naming the response "LHS[level]".  Returns 0
 * or the exit code (message printed). */
static int glm_columns(glm_args *a, const ooc_source *src)
{
    const size_t p = ooc_source_columns(src);
    for (size_t j = 0; j < p; j++) {
        const char *name = ooc_source_column_name(src, j);
        if (a->offset_term && !strcmp(name, a->offset_term))
            a->glm.offset_column = a->offset_term;
        if (a->exposure_term && !strcmp(name, a->exposure_term))
            a->glm.exposure_column = a->exposure_term;
    }
    if (!a->response_term)
        return 0;
    size_t tl = strlen(a->response_term), ncols = 0;
    const char *first = NULL;
    for (size_t j = 0; j < p; j++) {
        const char *name = ooc_source_column_name(src, j);
        if (!strncmp(name, a->response_term, tl) && name[tl] == '[') {
            ncols++;
            first = first ? first : name;
        }
    }
    bool treatment = first && !strncmp(first + tl, "[T.", 3);
    if (ncols != 1 || !treatment) {
        if (ncols >= 2 && !treatment)
            fprintf(stderr,
                    "oocsolve: error: the binomial response '%s' is categorical and the "
                    "formula has neither an intercept nor a categorical term: code the "
                    "response as 0/1, or keep the intercept\n",
                    a->y_name);
        else
            fprintf(stderr,
                    "oocsolve: error: the binomial response '%s' is categorical with %zu "
                    "level%s; it needs exactly 2 (or 0/1 values)\n",
                    a->y_name, ncols + 1, ncols ? "s" : "");
        return 1;
    }
    a->glm.response_column = first;
    const char *level = first + tl + 3;
    char *y_name = format("%s[%.*s]", a->y_name, (int)(strlen(level) - 1), level);
    if (!y_name) {
        fprintf(stderr, "oocsolve: error: out of memory\n");
        return 1;
    }
    free(a->y_name);
    a->y_name = y_name;
    a->glm.y_name = y_name;
    return 0;
}

/* Replace *text with a copy of `with`; false when out of memory. */
static bool replace_text(char **text, const char *with)
{
    char *copy = strdup(with);
    if (!copy)
        return false;
    free(*text);
    *text = copy;
    return true;
}

/* Open the source (ooc_cli_open_source_fn; own: the glm_args): the formula
 * with the model's terms, and for a binomial model whose response the
 * formula layer refuses (OOC_ERR_DATA: not numeric), again with the
 * response as a categorical term; the first error is reported when the
 * second way fails too.  0 or the exit code. */
static int open_source(ooc_cli_pipeline *common, void *own)
{
    glm_args *a = own;
    ooc_error err = {0}, err2 = {0};
    const char *user_formula = common->src.formula;
    ooc_source_options o = common->src;
    if (user_formula) {
        if (!glm_formula(a, false)) {
            fprintf(stderr, "oocsolve: error: out of memory\n");
            return 1;
        }
        o.formula = a->formula;
    }
    ooc_status st =
        ooc_source_open_files(common->inputs, common->ninputs, &o, &common->source, &err);
    if (st == OOC_ERR_DATA && user_formula && a->glm.family == OOC_GLM_BINOMIAL &&
        glm_formula(a, true)) {
        o.formula = a->formula;
        o.need_y = false;
        if (ooc_source_open_files(common->inputs, common->ninputs, &o, &common->source, &err2) ==
            OOC_OK)
            st = OOC_OK;
        else {
            free(a->response_term);
            a->response_term = NULL;
        }
    }
    if (st != OOC_OK)
        return ooc_cli_fail(&err);
    return user_formula ? glm_columns(a, common->source) : 0;
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
    /* text: warnings appear in the Notes */
    a.glm.log = a.common.json ? ooc_cli_log : (ooc_log_sink){0};
    ooc_error err = {0};
    if (ooc_glm(a.common.source, a.common.backend, &a.glm, &res, &err) != OOC_OK) {
        /* a row's message: name the input it is in */
        if (err.status == OOC_ERR_DATA || err.status == OOC_ERR_NUMERIC)
            ooc_error_prefix(&err, "%s", a.common.input_label);
        rc = ooc_cli_fail(&err);
        goto out;
    }
    /* the formula, offset and exposure as the user wrote them, not with their terms */
    bool rewritten = a.formula && res->formula && !strcmp(res->formula, a.formula);
    if ((rewritten && !replace_text(&res->formula, a.common.src.formula)) ||
        (res->offset_name && !replace_text(&res->offset_name, a.user_offset)) ||
        (res->exposure_name && !replace_text(&res->exposure_name, a.user_exposure))) {
        rc = ooc_cli_fail(&(ooc_error){OOC_ERR_NOMEM, "out of memory"});
        goto out;
    }
    ooc_report_info info = ooc_cli_pipeline_report_info(&a.common);
    ooc_status st = a.common.json ? ooc_report_glm_json(stdout, res, &info, &err)
                                  : ooc_report_glm_text(stdout, res, &info, &err);
    rc = st == OOC_OK ? 0 : ooc_cli_fail(&err);
out:
    ooc_glm_result_free(res);
    rc = ooc_cli_pipeline_end(&a.common, rc);
    free(a.formula);
    free(a.offset_term);
    free(a.exposure_term);
    free(a.response_term);
    free(a.y_name);
    return rc;
}

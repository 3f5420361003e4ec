/*
 * example.c — a program using the installed liboocsolve the way a user would: only
 * <oocsolve.h> and <oocsolve/version.h>, linked through the CMake package or oocsolve.pc
 * (tests/install/check_install.sh builds it both ways, shared and static).
 *
 * It prints ooc_version(), writes a small CSV into the current directory, ingests it with
 * "y ~ x + g" and checks the counts ooc_ingest reports; then fits the file through the public
 * API (a source, the CPU backend, ooc_fit) and the same rows pushed into an accumulator, and
 * checks both against the exact least-squares solution.  Exit status 0 when everything
 * matches, 1 otherwise.
 */
#include <oocsolve.h>
#include <oocsolve/version.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Five records: one has a missing y (NA) and is dropped; g has two levels. */
static const char example_csv[] = "y,x,g\n"
                                  "1.5,1,a\n"
                                  "2.5,2,b\n"
                                  "NA,3,a\n"
                                  "4.0,4,b\n"
                                  "5.5,5,a\n";

/* Write text to path; false (with a message) on failure. */
static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return false;
    }
    bool ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        perror(path);
    return ok;
}

/* Compare one count with its expected value; false (with a message) when they differ. */
static bool expect(const char *what, unsigned long long got, unsigned long long want)
{
    if (got == want)
        return true;
    fprintf(stderr, "example: %s is %llu, expected %llu\n", what, got, want);
    return false;
}

/* The design after ingest (Intercept, g[T.b], x; the NA row dropped), and β of y on it,
 * solved exactly in rationals: (13/20, -1/4, 19/20). */
static const double design[4][3] = {{1, 0, 1}, {1, 1, 2}, {1, 1, 4}, {1, 0, 5}};
static const double response[4] = {1.5, 2.5, 4.0, 5.5};
static const double exact_beta[3] = {0.65, -0.25, 0.95};

/* β within the least-squares perturbation bound ε·(2κ + κ²·tan θ)·|β|: κ = cond(X) = 9.42
 * (numpy), tan θ = ‖r‖/‖Xβ‖ < 0.1 here, so about 30ε; 64ε·(2κ + κ²) = 1.5e-12 leaves room
 * for the rounding of the data and the QR's own constant. */
static bool expect_beta(const char *what, const double *params)
{
    const double kappa = 9.43, tol = 64.0 * DBL_EPSILON * (2.0 * kappa + kappa * kappa);
    bool ok = true;
    for (int j = 0; j < 3; j++)
        if (!(fabs(params[j] - exact_beta[j]) <= tol * fabs(exact_beta[j]))) {
            fprintf(stderr, "example: %s beta[%d] = %.17g, exact %.17g\n", what, j, params[j],
                    exact_beta[j]);
            ok = false;
        }
    return ok;
}

/* Fit example.h5 through a source and the CPU backend, then the same rows pushed into an
 * accumulator column-major; both against exact_beta. */
static bool fit_both_ways(void)
{
    ooc_error err = {0};
    ooc_backend *be = NULL;
    ooc_source *src = NULL;
    ooc_accumulator *acc = NULL;
    ooc_fit_result *from_file = NULL, *pushed = NULL;
    bool ok = false;
    ooc_source_options so;
    ooc_source_options_init(&so);
    so.need_y = true;
    ooc_fit_options fo;
    ooc_fit_options_init(&fo);
    if (ooc_backend_create("cpu", NULL, &be, &err) != OOC_OK ||
        ooc_source_open("example.h5", &so, &src, &err) != OOC_OK ||
        ooc_fit(src, be, &fo, &from_file, &err) != OOC_OK)
        goto out;
    printf("fit of %s on %s: %zu columns, %llu rows, R² %.6f\n", "example.h5",
           ooc_backend_name(be), ooc_source_columns(src),
           (unsigned long long)from_file->nobs, from_file->rsquared);
    ooc_accumulator_options ao;
    ooc_accumulator_options_init(&ao);
    ao.p = 3;
    double x_colmajor[12];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            x_colmajor[j * 4 + i] = design[i][j];
    ooc_rows rows = {.nrows = 4, .x = x_colmajor, .order = OOC_COL_MAJOR, .y = response};
    if (ooc_accumulator_create(&ao, be, &acc, &err) != OOC_OK ||
        ooc_accumulator_push(acc, &rows, &err) != OOC_OK ||
        ooc_accumulator_fit(acc, &fo, &pushed, &err) != OOC_OK)
        goto out;
    ok = expect("nobs", from_file->nobs, 4) & expect("pushed nobs", pushed->nobs, 4) &
         expect_beta("ooc_fit", from_file->params) & expect_beta("accumulator", pushed->params);
out:
    if (err.status != OOC_OK)
        fprintf(stderr, "example: %s: %s\n", ooc_strerror(err.status), err.message);
    ooc_fit_result_free(from_file);
    ooc_fit_result_free(pushed);
    ooc_accumulator_free(acc);
    ooc_source_free(src);
    ooc_backend_free(be);
    return ok;
}

int main(void)
{
    printf("oocsolve %s\n", ooc_version());
    if (strcmp(ooc_version(), OOC_VERSION_STRING) != 0) {
        fprintf(stderr, "example: library version %s, headers %s\n", ooc_version(),
                OOC_VERSION_STRING);
        return 1;
    }
    if (!write_file("example.csv", example_csv))
        return 1;

    ooc_ingest_options opts;
    ooc_ingest_options_init(&opts);
    opts.csv_path = "example.csv";
    opts.formula = "y ~ x + g";
    opts.output_path = "example.h5";
    ooc_ingest_stats stats;
    ooc_error err = {0};
    if (ooc_ingest(&opts, &stats, &err) != OOC_OK) {
        fprintf(stderr, "example: ingest failed: %s: %s\n", ooc_strerror(err.status), err.message);
        return 1;
    }
    printf("ingested %llu rows into %zu columns (%llu dropped)\n",
           (unsigned long long)stats.rows_written, stats.ncols,
           (unsigned long long)stats.rows_dropped);

    /* Intercept, g[T.b], x; the NA row dropped. */
    bool ok = expect("rows_read", stats.rows_read, 5);
    ok = expect("rows_written", stats.rows_written, 4) && ok;
    ok = expect("rows_dropped", stats.rows_dropped, 1) && ok;
    ok = expect("ncols", stats.ncols, 3) && ok;
    ok = fit_both_ways() && ok;
    return ok ? 0 : 1;
}

/*
 * example.c — a program using the installed liboocsolve the way a user would: only
 * <oocsolve.h> and <oocsolve/version.h>, linked through the CMake package or oocsolve.pc
 * (tests/install/check_install.sh builds it both ways, shared and static).
 *
 * It prints ooc_version(), writes a small CSV into the current directory, ingests it with
 * "y ~ x + g" and checks the counts ooc_ingest reports.  Exit status 0 when everything
 * matches, 1 otherwise.
 */
#include <oocsolve.h>
#include <oocsolve/version.h>

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
    return ok ? 0 : 1;
}

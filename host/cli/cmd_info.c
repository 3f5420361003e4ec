/* cmd_info.c — `oocsolve info FILE.h5 [--json]`: describe an HDF5 file's
 * datasets (shape, dtype, chunks, filters, compression, formula, columns). */
#include "cli.h"
#include "hdf5/h5info.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void info_usage(FILE *to)
{
    fprintf(to,
            "usage: oocsolve info FILE.h5 [--json]\n"
            "\n"
            "Describes every dataset at the root of FILE.h5 (written by oocsolve, PyTables or\n"
            "h5py): shape, dtype, chunk shape, filters in pipeline order and the codec they\n"
            "make (as ingest --codec names it: deflate, blosc:lz4, ...; none), number of\n"
            "chunks, stored vs raw bytes and the compression ratio, the PyTables CLASS and\n"
            "the `formula` and `column_names` attributes.\n"
            "\n"
            "options:\n"
            "      --json    one JSON object on stdout instead of text\n" OOC_CLI_EXIT_HELP);
}

int ooc_cmd_info(int argc, char **argv)
{
    enum { OPT_JSON = 256 };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: json = true; break;
        case 'h': info_usage(stdout); return 0;
        default: info_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "oocsolve: error: info needs exactly one HDF5 file\n\n");
        info_usage(stderr);
        return 2;
    }
    char *text = NULL;
    ooc_error err = {0};
    ooc_status status = json ? ooc_h5_describe_json(argv[optind], &text, &err)
                             : ooc_h5_describe(argv[optind], &text, &err);
    if (status != OOC_OK)
        return ooc_cli_fail(&err);
    fputs(text, stdout); /* main() checks that it was written */
    free(text);
    return 0;
}

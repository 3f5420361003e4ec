/* cmd_ingest.c — `oocsolve ingest CSV -f FORMULA -o OUT.h5 [options]`.
 * CSV may be "-" (standard input), a FIFO or a compressed file; OUT.h5 and
 * --profile must not be the CSV itself or a special file (refused first).
 * Under mpirun each rank ingests its share of a plain CSV file into
 * OUT.part-K-of-N.h5 and OUT.h5 joins them (cli_mpi.c); rank 0 prints the
 * summary of them all. */
#include "cli.h"
#include "hdf5/zcodec.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ingest_usage(FILE *to)
{
    /* two pieces: one string literal would exceed the 4095 characters C guarantees */
    static const char options_a[] =
            "usage: oocsolve ingest CSV -f FORMULA -o OUT.h5 [options]\n"
            "\n"
            "Evaluates a patsy-compatible formula on every row of CSV and writes the design\n"
            "matrix to OUT.h5 as /X (and the response as /Y): chunked and compressed, as\n"
            "PyTables EArrays.  OUT.h5 appears only when complete; until then it is\n"
            "OUT.h5.oocsolve-partial-XXXXXX, removed on any error or signal.\n"
            "\n"
            "CSV may be '-' (standard input) or a pipe (a FIFO, <(zcat big.csv.gz)), read in\n"
            "one pass, or spooled to $TMPDIR when the formula needs a second one (levels to\n"
            "discover, or stateful transforms to learn); a name ending in .gz, .zst, .bz2 or .xz is decompressed as it is read.\n"
            "\n"
            "Under mpirun (-np N) each rank ingests its share of the records of a plain CSV\n"
            "file into OUT.part-K-of-N.h5 (K = 1..N), and OUT.h5 joins them: its /X and /Y\n"
            "are HDF5 virtual datasets over the parts' (oocsolve fit, info and h5py read it\n"
            "as one matrix; keep the parts beside it).\n"
            "\n"
            "options:\n"
            "  -f, --formula F        e.g. \"y ~ 0 + a + b + a:b + C(cat1, Treatment, levels=lnames)\"\n"
            "  -o, --output FILE      HDF5 file to write\n"
            "      --var NAME=VALUE   a value the formula names, e.g. --var lnames=0,1,2,3,4 (numbers)\n"
            "                         or --var g=lo,hi (strings), or a Python list literal\n"
            "      --delimiter C      field delimiter (default ','; 'tab' for tab)\n"
            "      --na-values LIST   comma list of more texts meaning missing (added to pandas'\n"
            "                         default list: empty, NA, NaN, nan, NULL, ...)\n"
            "      --keep-default-na B  true (default) | false: only --na-values mean missing\n"
            "      --dtype NAME=TYPE  pin a column's type, as pandas' dtype=: float, int (numeric;\n"
            "                         a non-number is then an error) or str, category\n"
            "                         (categorical); repeat or comma-separate, e.g. a=float,g=str\n"
            "      --max-levels N     refuse a categorical with more levels (default 10000; 0: no\n"
            "                         limit)\n"
            "      --missing MODE     drop (default: drop rows with missing values, as patsy) | error\n";
    static const char options_b[] =
            "      --transforms-from F  use what the stateful transforms (center, standardize,\n"
            "                         scale, bs, cr, cc) learned when F (an oocsolve HDF5 file of\n"
            "                         the same formula) was ingested, instead of learning from\n"
            "                         CSV: new data built with the same centres and knots\n"
            "      --codec C          deflate (default: HDF5's shuffle + deflate filters, read by\n"
            "                         any HDF5 reader, plain h5py included) | blosc:lz4 (fastest\n"
            "                         to read) | blosc:zstd (smaller) | blosc:blosclz |\n"
            "                         blosc:lz4hc | blosc:zlib: HDF5's blosc filter as PyTables\n"
            "                         writes it, read by PyTables and by h5py after\n"
            "                         `import hdf5plugin`\n"
            "      --level N          compression level 0-9 (default 1; 0 = no compression,\n"
            "                         whatever the codec)\n"
            "      --no-shuffle       do not byte-shuffle before compressing (HDF5's shuffle\n"
            "                         filter for deflate, blosc's own for blosc)\n"
            "      --chunk-rows N     rows per HDF5 chunk (default: about 1 MiB of X)\n"
            "      --threads N        worker threads (default: all cores)\n"
            "      --keep COL[,COL]   also store these CSV columns (not in X: the group columns\n"
            "                         of a later fit --cov cluster --groups) as /keep (n x m\n"
            "                         float64, chunked like /X; attribute column_names); a column\n"
            "                         of texts as codes 0, 1, ... (order of first appearance)\n"
            "                         with its texts in /keep_levels/COL (fixed-width bytes);\n"
            "                         not under mpirun (repeatable)\n"
            "      --fsync            flush OUT.h5 to disk before renaming it into place (durable\n"
            "                         against power loss; costs the time to write it to disk)\n"
            "      --json             print statistics as JSON on stdout\n"
            "      --progress MODE    auto (default: on when stderr is a terminal) | on | off\n"
            "      --profile FILE     write a Chrome trace (Perfetto) of the run and print a stage summary\n"
            "  -q, --quiet            no summary line on stderr\n" OOC_CLI_EXIT_HELP;
    fprintf(to, "%s%s", options_a, options_b);
}

int ooc_cmd_ingest(int argc, char **argv)
{
    enum { OPT_VAR = 256, OPT_DELIM, OPT_NA, OPT_MISSING, OPT_LEVEL, OPT_NOSHUF, OPT_CHUNK,
           OPT_THREADS, OPT_JSON, OPT_PROGRESS, OPT_PROFILE, OPT_FSYNC, OPT_KEEP_NA, OPT_NO_NA,
           OPT_DTYPE, OPT_MAX_LEVELS, OPT_CODEC, OPT_TRANSFORMS_FROM, OPT_KEEP };
    static const struct option longopts[] = {
        {"formula", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        OOC_CLI_CSV_LONGOPTS(OPT_),
        {"level", required_argument, NULL, OPT_LEVEL},
        {"no-shuffle", no_argument, NULL, OPT_NOSHUF},
        {"codec", required_argument, NULL, OPT_CODEC},
        {"chunk-rows", required_argument, NULL, OPT_CHUNK},
        {"fsync", no_argument, NULL, OPT_FSYNC},
        {"transforms-from", required_argument, NULL, OPT_TRANSFORMS_FROM},
        {"keep", required_argument, NULL, OPT_KEEP},
        OOC_CLI_RUN_LONGOPTS(OPT_),
        {NULL, 0, NULL, 0},
    };
    ooc_ingest_options o;
    ooc_ingest_options_init(&o);
    o.max_levels = OOC_CLI_MAX_LEVELS;
    ooc_cli_vars vars = {0};
    ooc_cli_na_storage na = {0};
    ooc_cli_dtypes dtypes = {0};
    ooc_cli_profile prof = {0};
    bool json = false, quiet = false;
    char rank_trace_path[4096]; /* --profile FILE.rank-N of an MPI rank other than 0 */
    char **keep_texts = NULL;   /* --keep's arguments, copied and cut at the commas */
    size_t nkeep_texts = 0;
    const char **keep = NULL;   /* the column names in them */
    int rc = 2;
    size_t value;

    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "f:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o.formula = optarg; break;
        case 'o': o.output_path = optarg; break;
        case 'q': quiet = true; break;
        case 'h': ingest_usage(stdout); rc = 0; goto out;
        case OPT_VAR:
            if (!ooc_cli_vars_add(&vars, optarg))
                goto out;
            break;
        case OPT_DELIM:
            if (!ooc_cli_parse_delimiter(optarg, &o.csv.delimiter))
                goto out;
            break;
        case OPT_NA:
            if (!ooc_cli_parse_na_values(optarg, &o.csv, &na))
                goto out;
            break;
        case OPT_MISSING:
            if (!ooc_cli_parse_missing(optarg, &o.csv))
                goto out;
            break;
        case OPT_KEEP_NA:
            if (!ooc_cli_parse_keep_default_na(optarg, &o.csv))
                goto out;
            break;
        case OPT_NO_NA: o.csv.no_default_na = true; break;
        case OPT_DTYPE:
            if (!ooc_cli_dtypes_add(&dtypes, optarg, &o.csv))
                goto out;
            break;
        case OPT_MAX_LEVELS:
            if (!ooc_cli_parse_size("--max-levels", optarg, &o.max_levels))
                goto out;
            break;
        case OPT_LEVEL:
            if (!ooc_cli_parse_size("--level", optarg, &value) || value > 9) {
                fprintf(stderr, "oocsolve: error: --level must be 0..9\n");
                goto out;
            }
            o.compression_level = (int)value;
            break;
        case OPT_NOSHUF: o.shuffle = false; break;
        case OPT_CODEC: {
            ooc_codec codec; /* checked here: a bad name is a usage error */
            ooc_error codec_err = {0};
            if (ooc_codec_parse(optarg, &codec, &codec_err) != OOC_OK) {
                fprintf(stderr, "oocsolve: error: --codec: %s\n", codec_err.message);
                goto out;
            }
            o.codec = optarg;
            break;
        }
        case OPT_CHUNK:
            if (!ooc_cli_parse_size("--chunk-rows", optarg, &o.chunk_rows))
                goto out;
            break;
        case OPT_THREADS:
            if (!ooc_cli_parse_size("--threads", optarg, &value))
                goto out;
            o.nthreads = (int)value;
            break;
        case OPT_JSON: json = true; break;
        case OPT_FSYNC: o.durable = true; break;
        case OPT_TRANSFORMS_FROM: o.transforms_from = optarg; break;
        case OPT_PROGRESS:
            if (!ooc_cli_parse_progress(optarg, &prof.progress_mode))
                goto out;
            break;
        case OPT_PROFILE: prof.trace_path = optarg; break;
        case OPT_KEEP: {
            char **texts = realloc(keep_texts, (nkeep_texts + 1) * sizeof *texts);
            char *copy = texts ? strdup(optarg) : NULL;
            if (texts)
                keep_texts = texts;
            if (!copy) {
                fprintf(stderr, "oocsolve: error: out of memory\n");
                rc = 1;
                goto out;
            }
            keep_texts[nkeep_texts++] = copy;
            for (char *name = copy, *next; name; name = next) {
                next = strchr(name, ',');
                if (next)
                    *next++ = '\0';
                const char **grown = realloc(keep, (o.n_keep + 1) * sizeof *grown);
                if (!grown) {
                    fprintf(stderr, "oocsolve: error: out of memory\n");
                    rc = 1;
                    goto out;
                }
                keep = grown;
                if (!*name) {
                    fprintf(stderr, "oocsolve: error: --keep takes column names separated by "
                                    "commas, got '%s'\n", optarg);
                    goto out;
                }
                keep[o.n_keep++] = name;
            }
            o.keep_columns = keep;
            break;
        }
        default: ingest_usage(stderr); goto out;
        }
    }
    if (optind != argc - 1 || !o.formula || !o.output_path) {
        fprintf(stderr, "oocsolve: error: ingest needs one CSV file, -f FORMULA and -o OUT.h5\n\n");
        ingest_usage(stderr);
        goto out;
    }
    o.csv_path = ooc_cli_input_path(argv[optind]);
    const ooc_cli_file inputs[] = {{"the input CSV", o.csv_path}};
    const ooc_cli_file outputs[] = {{"-o", o.output_path}, {"--profile", prof.trace_path}};
    if (!ooc_cli_check_outputs(inputs, 1, outputs, 2))
        goto out;
    o.vars = vars.items;
    o.nvars = vars.n;
    o.cancel = &ooc_cli_cancel;
    o.log = ooc_cli_log;
    o.collective = ooc_cli_collective();
    if (quiet)
        prof.progress_mode = OOC_PROGRESS_OFF;
    ooc_cli_dist_profile(&prof, rank_trace_path, sizeof rank_trace_path);
    if (!ooc_cli_profile_start(&prof, "ingest", argc, argv)) {
        rc = 1;
        goto out;
    }
    o.trace = prof.trace;
    o.progress = prof.progress;

    ooc_ingest_stats st;
    ooc_error err = {0};
    ooc_status status = ooc_ingest(&o, &st, &err);
    bool profile_ok = ooc_cli_profile_finish(&prof, status == OOC_OK);
    if (status != OOC_OK) {
        rc = ooc_cli_fail(&err);
        goto out;
    }
    if (!ooc_cli_is_root()) { /* rank 0 prints the summary of them all */
        rc = profile_ok ? 0 : 1;
        goto out;
    }
    if (!quiet)
        fprintf(stderr,
                "oocsolve: ingested %llu rows x %zu columns from %s into %s in %.2f s "
                "(%llu rows dropped for missing values; %.1f MB CSV -> %.1f MB HDF5)\n",
                (unsigned long long)st.rows_written, st.ncols, o.csv_path, o.output_path,
                st.seconds, (unsigned long long)st.rows_dropped, (double)st.bytes_in / 1e6,
                (double)st.bytes_out / 1e6);
    if (json)
        printf("{\"rows_read\": %llu, \"rows_written\": %llu, \"rows_dropped\": %llu, "
               "\"ncols\": %zu, \"bytes_in\": %llu, \"bytes_out\": %llu, \"seconds\": %.6f}\n",
               (unsigned long long)st.rows_read, (unsigned long long)st.rows_written,
               (unsigned long long)st.rows_dropped, st.ncols, (unsigned long long)st.bytes_in,
               (unsigned long long)st.bytes_out, st.seconds);
    rc = profile_ok ? 0 : 1;
out:
    ooc_cli_vars_free(&vars);
    ooc_cli_na_storage_free(&na);
    ooc_cli_dtypes_free(&dtypes);
    for (size_t i = 0; i < nkeep_texts; i++)
        free(keep_texts[i]);
    free(keep_texts);
    free(keep);
    return rc;
}

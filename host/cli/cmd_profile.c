/*
 * cmd_profile.c — `oocsolve profile-svg TRACE.json -o OUT.svg` and
 * `oocsolve profile-summary TRACE.json`, plus the --profile / --progress
 * plumbing shared by the commands that run a pipeline (ingest, fit, svd).
 */
#include "cli.h"

#include "profile/svg.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ooc_cli_parse_progress(const char *arg, ooc_progress_mode *mode)
{
    if (!strcmp(arg, "auto"))
        *mode = OOC_PROGRESS_AUTO;
    else if (!strcmp(arg, "on"))
        *mode = OOC_PROGRESS_ON;
    else if (!strcmp(arg, "off"))
        *mode = OOC_PROGRESS_OFF;
    else {
        fprintf(stderr, "oocsolve: error: --progress must be auto, on or off, got '%s'\n", arg);
        return false;
    }
    return true;
}

/* The command line as one shell-readable string ("oocsolve ingest 'a b.csv' ..."). */
static char *join_command_line(int argc, char **argv)
{
    size_t cap = strlen("oocsolve") + 1;
    for (int i = 0; i < argc; i++)
        cap += 4 * strlen(argv[i]) + 3;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t o = (size_t)snprintf(s, cap, "oocsolve");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool plain = *a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_./=:,+@%") == strlen(a);
        s[o++] = ' ';
        if (plain) {
            memcpy(s + o, a, strlen(a));
            o += strlen(a);
            continue;
        }
        s[o++] = '\'';
        for (; *a; a++) {
            if (*a == '\'') {
                memcpy(s + o, "'\\''", 4);
                o += 4;
            } else {
                s[o++] = *a;
            }
        }
        s[o++] = '\'';
    }
    s[o] = '\0';
    return s;
}

bool ooc_cli_profile_start(ooc_cli_profile *prof, const char *label, int argc, char **argv)
{
    ooc_error err = {0};
    prof->trace = NULL;
    prof->progress = NULL;
    ooc_progress_options po = {.to = stderr, .mode = prof->progress_mode, .label = label};
    if (ooc_progress_create(&po, &prof->progress, &err) != OOC_OK) {
        ooc_cli_fail(&err);
        return false;
    }
    if (!prof->trace_path)
        return true;
    if (ooc_trace_create(NULL, &prof->trace, &err) != OOC_OK) {
        ooc_cli_fail(&err);
        ooc_progress_free(prof->progress);
        prof->progress = NULL;
        return false;
    }
    char *command = join_command_line(argc, argv);
    if (command)
        ooc_trace_set_meta(prof->trace, "command", "%s", command);
    free(command);
    return true;
}

bool ooc_cli_profile_finish(ooc_cli_profile *prof, bool ok)
{
    bool written = true;
    ooc_progress_finish(prof->progress, ok);
    ooc_progress_free(prof->progress);
    prof->progress = NULL;
    if (!prof->trace)
        return true;
    ooc_error err = {0};
    ooc_trace_data *data = NULL;
    char *summary = NULL;
    ooc_trace_finish(prof->trace);
    ooc_trace_set_meta(prof->trace, "outcome", "%s", ok ? "ok" : "failed");
    if (ooc_trace_snapshot(prof->trace, &data, &err) != OOC_OK ||
        ooc_trace_data_write_json(data, prof->trace_path, &err) != OOC_OK) {
        ooc_cli_fail(&err);
        written = false;
    } else if (ooc_trace_summary_text(data, &summary, &err) == OOC_OK) {
        fputs(summary, stderr);
        fprintf(stderr, "profile: trace written to %s (open it in https://ui.perfetto.dev, or: "
                        "oocsolve profile-svg %s -o profile.svg)\n",
                prof->trace_path, prof->trace_path);
    } else {
        ooc_cli_fail(&err);
    }
    free(summary);
    ooc_trace_data_free(data);
    ooc_trace_free(prof->trace);
    prof->trace = NULL;
    return written;
}

static void profile_svg_usage(FILE *to)
{
    fprintf(to,
            "usage: oocsolve profile-svg TRACE.json -o OUT.svg [--width PX] [--title TEXT]\n"
            "\n"
            "Renders a trace written by --profile as a self-contained SVG: a lane per thread\n"
            "with the stages' spans, a legend, a time axis, and RSS / CPU %% charts below.\n"
            "OUT.svg must not be TRACE.json itself or a special file.\n" OOC_CLI_EXIT_HELP);
}

static void profile_summary_usage(FILE *to)
{
    fprintf(to,
            "usage: oocsolve profile-summary TRACE.json\n"
            "\n"
            "Prints the table shown at the end of a profiled run: time per stage, overlap,\n"
            "and the stage that bounded the run.\n" OOC_CLI_EXIT_HELP);
}

int ooc_cmd_profile_svg(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"width", required_argument, NULL, 'w'},
        {"title", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    ooc_svg_options so = {0};
    size_t width = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'w':
            if (!ooc_cli_parse_size("--width", optarg, &width))
                return 2;
            if (width < 400 || width > 20000) {
                fprintf(stderr, "oocsolve: error: --width must be 400..20000, got %zu\n", width);
                return 2;
            }
            so.width_px = (unsigned)width;
            break;
        case 't': so.title = optarg; break;
        case 'h': profile_svg_usage(stdout); return 0;
        default: profile_svg_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !output) {
        profile_svg_usage(stderr);
        return 2;
    }
    const ooc_cli_file inputs[] = {{"the trace", argv[optind]}};
    const ooc_cli_file outputs[] = {{"-o", output}};
    if (!ooc_cli_check_outputs(inputs, 1, outputs, 1))
        return 2;
    ooc_error err = {0};
    ooc_trace_data *data = NULL;
    int rc = 0;
    if (ooc_trace_load(argv[optind], &data, &err) != OOC_OK ||
        ooc_svg_write(data, &so, output, &err) != OOC_OK)
        rc = ooc_cli_fail(&err);
    ooc_trace_data_free(data);
    return rc;
}

int ooc_cmd_profile_summary(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            profile_summary_usage(stdout);
            return 0;
        }
        profile_summary_usage(stderr);
        return 2;
    }
    if (optind != argc - 1) {
        profile_summary_usage(stderr);
        return 2;
    }
    ooc_error err = {0};
    ooc_trace_data *data = NULL;
    char *summary = NULL;
    int rc = 0;
    if (ooc_trace_load(argv[optind], &data, &err) != OOC_OK ||
        ooc_trace_summary_text(data, &summary, &err) != OOC_OK)
        rc = ooc_cli_fail(&err);
    else
        fputs(summary, stdout);
    free(summary);
    ooc_trace_data_free(data);
    return rc;
}

/*
 * cmd_devices.c — `oocsolve devices [--json]`: first the CPU path a run
 * takes (cpuinfo.h: model, vector extensions, the qr rows kernel's build,
 * BLAS library, version and kernels, threads, the OpenBLAS environment and
 * its kernel warning), then the CUDA plugin: which file it came from and the
 * GPUs the CUDA runtime reports (ordinal, name, memory, compute capability),
 * or that there are none and why (no plugin, the plugin cannot be loaded, or
 * the runtime's error).  --json prints the same as one JSON object.
 * Exit 0 either way; 1 only when a device's properties cannot be read.
 */
#include "backend/backend_select.h"
#include "backend/device.h"
#include "cli.h"
#include "backend/cpuinfo.h"
#include "base/json.h"
#include "solve/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void devices_usage(FILE *to)
{
    fprintf(to,
            "usage: oocsolve devices [--json]\n"
            "\n"
            "Shows the CPU code path first: the CPU model and vector extensions, the build of\n"
            "oocsolve's qr rows kernel it runs (avx512, avx2 or base), the BLAS library, its\n"
            "version and the kernels it chose (OpenBLAS's core, e.g. Haswell), the threads\n"
            "used, and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when set; with a warning when\n"
            "OpenBLAS runs kernels written for older CPUs, and how to fix it.\n"
            "\n"
            "Then lists the GPUs usable by `--device gpu[:N[,M...]]` (name, memory, compute\n"
            "capability), or says why there are none.  The GPU backend is the plugin\n"
            "oocsolve_cuda.so, found next to the executable, in the installation's\n"
            "lib/oocsolve directory, or at the path in the environment variable\n"
            "OOC_CUDA_PLUGIN.  It says what it decodes on the GPU (--gpu-decode).\n"
            "\n"
            "options:\n"
            "      --json   one JSON object on stdout: \"cpu\" (as in fit --json), \"cuda_plugin\",\n"
            "               \"gpu_decode\", \"gpus\" and \"no_gpus_reason\"\n" OOC_CLI_EXIT_HELP);
}

/* The CPU section of the text output. */
static void print_cpu(const ooc_cpu_info *cpu)
{
    ooc_cpu_fact facts[OOC_CPU_NFACTS];
    ooc_cpu_info_facts(cpu, facts);
    printf("CPU\n");
    for (size_t i = 0; i < OOC_CPU_NFACTS; i++) {
        const ooc_cpu_fact *x = &facts[i];
        printf("  %-22s ", x->label);
        if (x->kind == OOC_CPU_FACT_INT && x->number >= 0)
            printf("%ld\n", x->number);
        else if (x->kind != OOC_CPU_FACT_INT && x->text && x->text[0])
            printf("%s\n", x->text);
        else
            printf("%s\n", x->absent);
    }
    if (cpu->blas_warning[0])
        printf("  warning: %s\n", cpu->blas_warning);
}

/* The whole --json document; `why` is NULL when there are GPUs. */
static void print_json(const ooc_cpu_info *cpu, const char *plugin_path, const char *decoders,
                       const ooc_gpu_info *gpus, int count, const char *why)
{
    fputs("{\n  \"cpu\": ", stdout);
    ooc_report_cpu_json(stdout, cpu);
    fputs(",\n  \"cuda_plugin\": ", stdout);
    ooc_json_write_string(stdout, plugin_path);
    fputs(",\n  \"gpu_decode\": ", stdout);
    ooc_json_write_string(stdout, decoders && *decoders ? decoders : NULL);
    fputs(",\n  \"gpus\": [", stdout);
    for (int i = 0; i < count; i++) {
        printf("%s{\"ordinal\": %d, \"name\": ", i ? ", " : "", gpus[i].ordinal);
        ooc_json_write_string(stdout, gpus[i].name);
        printf(", \"total_bytes\": %zu, \"compute_capability\": \"%d.%d\", "
               "\"multiprocessors\": %d}",
               gpus[i].total_bytes, gpus[i].cc_major, gpus[i].cc_minor, gpus[i].multiprocessors);
    }
    fputs("],\n  \"no_gpus_reason\": ", stdout);
    ooc_json_write_string(stdout, why);
    fputs("\n}\n", stdout);
}

int ooc_cmd_devices(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            devices_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        fprintf(stderr, "oocsolve devices: unexpected argument '%s'\n\n", argv[i]);
        devices_usage(stderr);
        return 2;
    }
    ooc_cpu_info cpu;
    ooc_cpu_info_gather(0, &cpu);
    ooc_error err = {0};
    const ooc_cuda_plugin *plugin = NULL;
    const char *plugin_path = NULL;
    ooc_gpu_info *gpus = NULL;
    int count = 0;
    char why[sizeof err.message] = "";
    if (ooc_cuda_plugin_load(&plugin, &plugin_path, &err) != OOC_OK) {
        snprintf(why, sizeof why, "%s", err.message);
        plugin_path = NULL;
    } else if (ooc_gpu_list(plugin, &gpus, &count, why, sizeof why, &err) != OOC_OK) {
        return ooc_cli_fail(&err);
    } else if (count == 0 && !why[0]) {
        snprintf(why, sizeof why, "the CUDA runtime reports none");
    }
    if (json) {
        print_json(&cpu, plugin_path, plugin ? plugin->decoders : NULL, gpus, count,
                   count ? NULL : why);
    } else {
        print_cpu(&cpu);
        printf("\n");
        if (plugin_path)
            printf("CUDA plugin: %s\nGPU decoding (--gpu-decode): %s\n", plugin_path,
                   *plugin->decoders ? plugin->decoders : "none (built without nvCOMP)");
        if (count == 0)
            printf("no GPUs: %s\n", why);
        for (int i = 0; i < count; i++)
            printf("gpu:%d  %s  %.1f GiB  compute capability %d.%d  %d multiprocessors\n",
                   gpus[i].ordinal, gpus[i].name, gpus[i].total_bytes / 1073741824.0,
                   gpus[i].cc_major, gpus[i].cc_minor, gpus[i].multiprocessors);
    }
    free(gpus);
    return 0;
}

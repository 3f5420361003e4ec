/*
 * cmd_devices.c — `oocsolve devices`: load the CUDA plugin, say which file it
 * came from, and list the GPUs the CUDA runtime reports (ordinal, name,
 * memory, compute capability), or say there are none and why (no plugin, the
 * plugin cannot be loaded, or the runtime's error).
 * Exit 0 either way; 1 only when a device's properties cannot be read.
 */
#include "backend_select.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ooc_cmd_devices(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: oocsolve devices\n"
                   "\n"
                   "Lists the GPUs usable by `--device gpu[:N[,M...]]` (name, memory, compute\n"
                   "capability), or says why there are none.  The GPU backend is the plugin\n"
                   "oocsolve_cuda.so, found next to the executable, in the installation's\n"
                   "lib/oocsolve directory, or at the path in the environment variable\n"
                   "OOC_CUDA_PLUGIN.\n");
            return 0;
        }
        fprintf(stderr, "oocsolve devices: unexpected argument '%s'\n", argv[i]);
        return 2;
    }
    ooc_error err = {0};
    const ooc_cuda_plugin *plugin = NULL;
    const char *plugin_path = NULL;
    if (ooc_cuda_plugin_load(&plugin, &plugin_path, &err) != OOC_OK) {
        printf("no GPUs: %s\n", err.message);
        return 0;
    }
    printf("CUDA plugin: %s\n", plugin_path);
    ooc_gpu_info *gpus = NULL;
    int count = 0;
    char why[256];
    ooc_status st = ooc_gpu_list(plugin, &gpus, &count, why, sizeof why, &err);
    if (st != OOC_OK)
        return ooc_cli_fail(&err);
    if (count == 0) {
        printf("no GPUs: %s\n", why[0] ? why : "the CUDA runtime reports none");
        return 0;
    }
    for (int i = 0; i < count; i++)
        printf("gpu:%d  %s  %.1f GiB  compute capability %d.%d  %d multiprocessors\n",
               gpus[i].ordinal, gpus[i].name, gpus[i].total_bytes / 1073741824.0,
               gpus[i].cc_major, gpus[i].cc_minor, gpus[i].multiprocessors);
    free(gpus);
    return 0;
}

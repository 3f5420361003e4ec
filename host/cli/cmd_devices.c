/*
 * cmd_devices.c — `oocsolve devices`: list the GPUs the CUDA runtime reports
 * (ordinal, name, memory, compute capability), or say there are none and why.
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
                   "capability), or says why there are none.\n");
            return 0;
        }
        fprintf(stderr, "oocsolve devices: unexpected argument '%s'\n", argv[i]);
        return 2;
    }
    ooc_gpu_info *gpus = NULL;
    int count = 0;
    char why[256];
    ooc_error err = {0};
    ooc_status st = ooc_gpu_list(&gpus, &count, why, sizeof why, &err);
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

/*
 * backend_select.c — device specs ("auto", "cpu", "gpu", "gpu:N",
 * "gpu:0,1") to backends, and the GPU listing behind `oocsolve devices`.
 * Compiled with OOC_HAVE_CUDA when the build has the CUDA backend
 * (device/device.h); otherwise GPU requests report OOC_ERR_UNSUPPORTED.
 */
#include "backend_select.h"

#include "error.h"

#ifdef OOC_HAVE_CUDA
#include "device.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse the comma list after "gpu:". */
static ooc_status parse_gpu_list(const char *text, const char *list, ooc_device_spec *out,
                                 ooc_error *err)
{
    char quoted[128];
    ooc_quote_excerpt(quoted, sizeof quoted, text, strlen(text));
    const char *p = list;
    for (;;) {
        if (*p < '0' || *p > '9')
            return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                            "device %s: expected a GPU number at offset %zu (e.g. gpu:0 or "
                            "gpu:0,1)",
                            quoted, (size_t)(p - text));
        errno = 0;
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (errno != 0 || v > 1023)
            return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "device %s: GPU number out of range",
                            quoted);
        for (int i = 0; i < out->ngpus; i++)
            if (out->gpus[i] == (int)v)
                return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "device %s: GPU %ld is listed twice",
                                quoted, v);
        if (out->ngpus == OOC_MAX_GPUS)
            return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "device %s: more than %d GPUs", quoted,
                            OOC_MAX_GPUS);
        out->gpus[out->ngpus++] = (int)v;
        if (*end == '\0')
            return OOC_OK;
        if (*end != ',')
            return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                            "device %s: unexpected character at offset %zu", quoted,
                            (size_t)(end - text));
        p = end + 1;
    }
}

ooc_status ooc_device_spec_parse(const char *text, ooc_device_spec *out, ooc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text || !strcmp(text, "auto")) {
        out->kind = OOC_DEVICE_AUTO;
        return OOC_OK;
    }
    if (!strcmp(text, "cpu")) {
        out->kind = OOC_DEVICE_CPU;
        return OOC_OK;
    }
    if (!strcmp(text, "gpu")) {
        out->kind = OOC_DEVICE_GPU;
        out->ngpus = 1;
        out->gpus[0] = 0;
        return OOC_OK;
    }
    if (!strncmp(text, "gpu:", 4)) {
        out->kind = OOC_DEVICE_GPU;
        return parse_gpu_list(text, text + 4, out, err);
    }
    char quoted[128];
    ooc_quote_excerpt(quoted, sizeof quoted, text, strlen(text));
    return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                    "unknown device %s: expected auto, cpu, gpu, gpu:N or gpu:N,M,...", quoted);
}

#ifdef OOC_HAVE_CUDA
static ooc_status open_gpu(const ooc_device_spec *spec, const ooc_log_sink *log,
                           ooc_backend **out, ooc_error *err)
{
    ooc_cuda_backend_options o;
    memset(&o, 0, sizeof o);
    o.devices = spec->gpus;
    o.ndevices = spec->ngpus;
    if (log)
        o.log = *log;
    return ooc_cuda_backend_create(&o, out, err);
}
#endif

ooc_status ooc_backend_open(const char *spec_text, const ooc_log_sink *log, ooc_backend **out,
                            ooc_error *err)
{
    *out = NULL;
    ooc_device_spec spec;
    ooc_status st = ooc_device_spec_parse(spec_text, &spec, err);
    if (st != OOC_OK)
        return st;
    if (spec.kind == OOC_DEVICE_CPU)
        return ooc_cpu_backend_create(NULL, out, err);
#ifdef OOC_HAVE_CUDA
    char why[256] = "";
    int count = ooc_cuda_device_count(why, sizeof why);
    if (spec.kind == OOC_DEVICE_AUTO) {
        if (count > 0) {
            spec.ngpus = 1;
            spec.gpus[0] = 0;
            return open_gpu(&spec, log, out, err);
        }
        ooc_log(log, OOC_LOG_NOTE, "no usable GPU (%s): using the CPU backend", why);
        return ooc_cpu_backend_create(NULL, out, err);
    }
    if (count == 0)
        return OOC_FAIL(err, OOC_ERR_BACKEND, "--device %s: no usable GPU (%s)",
                        spec_text, why);
    return open_gpu(&spec, log, out, err);
#else
    if (spec.kind == OOC_DEVICE_AUTO)
        return ooc_cpu_backend_create(NULL, out, err);
    return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                    "--device %s: this oocsolve was built without CUDA (configure with "
                    "-DOOC_CUDA=ON on a machine with the CUDA toolkit)",
                    spec_text);
#endif
}

ooc_status ooc_gpu_list(ooc_gpu_info **out, int *count, char *why, size_t why_size,
                        ooc_error *err)
{
    *out = NULL;
    *count = 0;
    if (why && why_size)
        why[0] = '\0';
#ifdef OOC_HAVE_CUDA
    ooc_status status = OOC_OK;
    ooc_gpu_info *list = NULL;
    int n = ooc_cuda_device_count(why, why_size);
    if (n == 0)
        return OOC_OK;
    list = calloc((size_t)n, sizeof *list);
    OOC_FAIL_IF(!list, err, OOC_ERR_NOMEM, "out of memory listing %d GPUs", n);
    for (int i = 0; i < n; i++) {
        ooc_cuda_device_info info;
        OOC_CHECK(ooc_cuda_device_query(i, &info, err));
        list[i].ordinal = i;
        snprintf(list[i].name, sizeof list[i].name, "%s", info.name);
        list[i].total_bytes = info.total_bytes;
        list[i].cc_major = info.cc_major;
        list[i].cc_minor = info.cc_minor;
        list[i].multiprocessors = info.multiprocessors;
    }
    *out = list;
    *count = n;
    list = NULL;
out:
    free(list);
    return status;
#else
    (void)err;
    if (why && why_size)
        snprintf(why, why_size, "this oocsolve was built without CUDA");
    return OOC_OK;
#endif
}

/*
 * backend_select.h — choosing a compute backend from a device spec
 * ("auto", "cpu", "gpu", "gpu:N", "gpu:0,1") and listing the GPUs.
 * Works in every build: without CUDA (OOC_HAVE_CUDA undefined) GPU requests
 * fail with OOC_ERR_UNSUPPORTED and auto selects the CPU.
 */
#ifndef OOC_BACKEND_SELECT_H
#define OOC_BACKEND_SELECT_H

#include "backend.h"
#include "oocsolve.h"

#include <stddef.h>

#define OOC_MAX_GPUS 16

typedef enum ooc_device_kind {
    OOC_DEVICE_AUTO = 0,   /* GPU 0 when one is usable, else the CPU */
    OOC_DEVICE_CPU = 1,
    OOC_DEVICE_GPU = 2     /* the listed GPUs (GPU 0 when "gpu" alone) */
} ooc_device_kind;

/* A parsed device spec. */
typedef struct ooc_device_spec {
    ooc_device_kind kind;
    int ngpus;                 /* entries in gpus (GPU kind only) */
    int gpus[OOC_MAX_GPUS];    /* distinct device ordinals in the order given */
} ooc_device_spec;

/* Parse text (case-sensitive: "auto", "cpu", "gpu", "gpu:N", "gpu:N,M,...")
 * into *out.  NULL or "" means auto.  Errors: OOC_ERR_INVALID_ARG quoting
 * the text (unknown word, bad or repeated ordinal, too many GPUs). */
ooc_status ooc_device_spec_parse(const char *text, ooc_device_spec *out, ooc_error *err);

/* Open the backend a spec names.  auto: the CUDA backend on GPU 0 when the
 * runtime reports a device, else the CPU backend and one note on `log`
 * saying why.  log may be NULL.  Free *out with ooc_backend_free.
 * Errors: as ooc_device_spec_parse; OOC_ERR_UNSUPPORTED ("built without
 * CUDA") for gpu specs in a build without CUDA; OOC_ERR_BACKEND when no GPU is
 * usable or the CUDA backend fails to start; OOC_ERR_INVALID_ARG for an
 * ordinal the runtime does not have; those of ooc_cpu_backend_create. */
ooc_status ooc_backend_open(const char *spec, const ooc_log_sink *log, ooc_backend **out,
                            ooc_error *err);

/* One GPU as `oocsolve devices` shows it. */
typedef struct ooc_gpu_info {
    int ordinal;
    char name[256];
    size_t total_bytes;
    int cc_major;
    int cc_minor;
    int multiprocessors;
} ooc_gpu_info;

/* List the GPUs: *out (malloc'd array, free with free(); NULL when none) and
 * *count.  When there are none, `why` (why_size bytes) says why: the CUDA
 * runtime's error, or that the build has no CUDA.  Returns OOC_OK in both
 * cases.  Errors: OOC_ERR_NOMEM, OOC_ERR_BACKEND (a device's properties
 * cannot be read). */
ooc_status ooc_gpu_list(ooc_gpu_info **out, int *count, char *why, size_t why_size,
                        ooc_error *err);

#endif

/*
 * backend_select.h — choosing a compute backend from a device spec
 * ("auto", "cpu", "gpu", "gpu:N", "gpu:0,1") and listing the GPUs.
 *
 * GPU backends live in the CUDA plugin (device/device.h, oocsolve_cuda.so),
 * which is dlopen()ed only when a spec other than "cpu" is opened or the GPUs
 * are listed; nothing here links a CUDA library.  Works in every build:
 * without the plugin, GPU requests fail with OOC_ERR_UNSUPPORTED and auto
 * selects the CPU.
 */
#ifndef OOC_BACKEND_SELECT_H
#define OOC_BACKEND_SELECT_H

#include "backend/backend.h"
#include "oocsolve.h"

#include <stddef.h>

#define OOC_MAX_GPUS 16

/* The plugin's function table (defined in device/device.h). */
typedef struct ooc_cuda_plugin ooc_cuda_plugin;

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

/* --gpu-decode's "auto", "on", "off" → *out; false for any other text. */
bool ooc_gpu_decode_parse(const char *text, ooc_gpu_decode *out);

/* Parse text (case-sensitive: "auto", "cpu", "gpu", "gpu:N", "gpu:N,M,...")
 * into *out.  NULL or "" means auto.  Errors: OOC_ERR_INVALID_ARG quoting
 * the text (unknown word, bad or repeated ordinal, too many GPUs). */
ooc_status ooc_device_spec_parse(const char *text, ooc_device_spec *out, ooc_error *err);

/* Load the CUDA plugin, once per process (it then stays loaded, because ring
 * buffers from its pinned allocator may outlive any backend).  Thread-safe.
 * Search: the file named by the environment variable OOC_CUDA_PLUGIN when it
 * is set (and nothing else), else OOC_CUDA_PLUGIN_FILE in the directory of
 * the running executable (/proc/self/exe), else in the install location
 * relative to it (OOC_CUDA_PLUGIN_RELDIR, "../lib/oocsolve" by default),
 * else in "oocsolve/" beside the file this code was loaded from (dladdr: the
 * installed liboocsolve.so, for programs that are not in <prefix>/bin).
 * dlopen uses RTLD_NOW | RTLD_LOCAL; the table's ABI version and struct
 * sizes must match this build.  On success *plugin is the table and, when
 * path is not NULL, *path the file it came from (static storage).
 * Errors: OOC_ERR_UNSUPPORTED when no plugin file exists (the message lists
 * the places searched); OOC_ERR_BACKEND when one exists but cannot be used
 * (dlopen's error text, a missing entry symbol, or an ABI mismatch). */
ooc_status ooc_cuda_plugin_load(const ooc_cuda_plugin **plugin, const char **path,
                                ooc_error *err);

/* How ooc_backend_open builds the backend it selects. */
typedef struct ooc_backend_open_options {
    ooc_cpu_backend_options cpu;   /* for the CPU backend (zeroed: its defaults) */
    size_t gpu_panel_rows;         /* for the CUDA backend (0: its default) */
    ooc_gpu_decode gpu_decode;     /* for the CUDA backend (0: auto); the CPU backend ignores it */
    /* Where notes go (the CUDA backend's too).  auto falling back to the CPU
     * logs one line saying why: OOC_LOG_DEBUG when no plugin is installed
     * (the normal state of a CPU-only installation), OOC_LOG_NOTE when a
     * plugin exists but cannot be loaded or reports no usable device. */
    ooc_log_sink log;
    /* The CUDA plugin table to use; NULL: ooc_cuda_plugin_load().  Lets a
     * program that links the backend directly (the tests) select through it. */
    const ooc_cuda_plugin *plugin;
    /* This process's index among several sharing the machine's GPUs (an MPI
     * rank; 0 alone): "auto" and "gpu" without an ordinal take GPU
     * process_index mod (the GPU count) instead of GPU 0, and say which in
     * a note. */
    int process_index;
} ooc_backend_open_options;

/* Open the backend a spec names.  cpu: the CPU backend (no plugin is
 * loaded).  auto: the CUDA backend on GPU 0 when the plugin loads and the
 * runtime reports a device, else the CPU backend (see opts->log).  gpu...:
 * the CUDA backend on the listed devices.  opts may be NULL (defaults).
 * Free *out with ooc_backend_free; the plugin is never unloaded, so the
 * backend's allocator stays valid.
 * Errors: as ooc_device_spec_parse; OOC_ERR_UNSUPPORTED (gpu spec, no plugin
 * installed: "built without CUDA" or "plugin not found"); OOC_ERR_BACKEND
 * (gpu spec: the plugin cannot be loaded, no usable GPU, or the CUDA backend
 * fails to start); OOC_ERR_INVALID_ARG for an ordinal the runtime does not
 * have; those of ooc_cpu_backend_create. */
ooc_status ooc_backend_open(const char *spec, const ooc_backend_open_options *opts,
                            ooc_backend **out, ooc_error *err);

/* One GPU as `oocsolve devices` shows it. */
typedef struct ooc_gpu_info {
    int ordinal;
    char name[256];
    size_t total_bytes;
    int cc_major;
    int cc_minor;
    int multiprocessors;
} ooc_gpu_info;

/* List the GPUs through `plugin` (NULL: ooc_cuda_plugin_load()): *out
 * (malloc'd array, free with free(); NULL when none) and *count.  When there
 * are none, `why` (why_size bytes) says why: the plugin could not be loaded
 * (the loader's message), or the CUDA runtime's error.  Returns OOC_OK in
 * both cases.  Errors: OOC_ERR_NOMEM, OOC_ERR_BACKEND (a device's properties
 * cannot be read). */
ooc_status ooc_gpu_list(const ooc_cuda_plugin *plugin, ooc_gpu_info **out, int *count, char *why,
                        size_t why_size, ooc_error *err);

#endif

/*
 * backend_select.c — device specs ("auto", "cpu", "gpu", "gpu:N",
 * "gpu:0,1") to backends, the loader of the CUDA plugin (dlopen on demand,
 * device/device.h), and the GPU listing behind `oocsolve devices`.
 * OOC_HAVE_CUDA (the build has the plugin) only changes the wording of the
 * "plugin not found" message; OOC_CUDA_PLUGIN_RELDIR is the plugin's install
 * directory relative to the executable's.
 */
#include "backend/backend_select.h"

#include "backend/device.h"
#include "base/error.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef OOC_CUDA_PLUGIN_RELDIR
#define OOC_CUDA_PLUGIN_RELDIR "../lib/oocsolve"
#endif

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

/* ------------------------------------------------------ plugin loader -- */

/* The loaded plugin (never unloaded), guarded by plugin_lock while loading. */
static pthread_mutex_t plugin_lock = PTHREAD_MUTEX_INITIALIZER;
static const ooc_cuda_plugin *loaded_plugin;
static char loaded_path[PATH_MAX];

/* True when path names a regular file; *absolute (PATH_MAX bytes) gets its
 * canonical absolute name, so that dlopen never searches the library path
 * for a bare name and messages show the real location.  errno tells why not
 * (0: it exists but is not a regular file). */
static bool resolve_plugin_file(const char *path, char *absolute)
{
    struct stat st;
    errno = 0;
    return realpath(path, absolute) && stat(absolute, &st) == 0 && S_ISREG(st.st_mode);
}

/* dlopen `path`, resolve the entry symbol and check the table's ABI.  On
 * success the handle is kept for the life of the process. */
static ooc_status open_plugin_file(const char *path, ooc_error *err)
{
    ooc_status status = OOC_OK;
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        return OOC_FAIL(err, OOC_ERR_BACKEND, "cannot load the CUDA plugin %s: %s", path,
                        why ? why : "dlopen failed");
    }
    (void)dlerror();
    void *symbol = dlsym(handle, OOC_CUDA_PLUGIN_ENTRY);
    OOC_FAIL_IF(!symbol, err, OOC_ERR_BACKEND,
                "%s is not an oocsolve CUDA plugin: it has no symbol %s", path,
                OOC_CUDA_PLUGIN_ENTRY);
    ooc_cuda_plugin_entry_fn entry;
    memcpy(&entry, &symbol, sizeof entry);   /* POSIX: dlsym's object pointer is the function */
    const ooc_cuda_plugin *table = entry();
    OOC_FAIL_IF(!table, err, OOC_ERR_BACKEND, "the CUDA plugin %s returned no function table",
                path);
    OOC_FAIL_IF(table->abi_version != OOC_CUDA_PLUGIN_ABI, err, OOC_ERR_BACKEND,
                "the CUDA plugin %s has ABI version %u, this oocsolve needs %u: install the "
                "plugin built with this oocsolve",
                path, (unsigned)table->abi_version, (unsigned)OOC_CUDA_PLUGIN_ABI);
    OOC_FAIL_IF(table->sizeof_backend != sizeof(ooc_backend) ||
                    table->sizeof_backend_ops != sizeof(ooc_backend_ops) ||
                    table->sizeof_error != sizeof(ooc_error) ||
                    table->sizeof_backend_options != sizeof(ooc_cuda_backend_options) ||
                    table->sizeof_device_info != sizeof(ooc_cuda_device_info) ||
                    table->sizeof_raw_block != sizeof(ooc_raw_block) ||
                    table->sizeof_raw_chunk != sizeof(ooc_raw_chunk) ||
                    table->sizeof_scan_spec != sizeof(ooc_scan_spec),
                err, OOC_ERR_BACKEND,
                "the CUDA plugin %s was built with different structure layouts than this "
                "oocsolve (same ABI version %u): install the plugin built with this oocsolve",
                path, (unsigned)OOC_CUDA_PLUGIN_ABI);
    OOC_FAIL_IF(!table->device_count || !table->device_query || !table->backend_create ||
                    !table->decoders,
                err,
                OOC_ERR_BACKEND, "the CUDA plugin %s has an incomplete function table", path);
    OOC_FAIL_IF((size_t)snprintf(loaded_path, sizeof loaded_path, "%s", path) >=
                    sizeof loaded_path,
                err, OOC_ERR_INVALID_ARG, "CUDA plugin path too long: %s", path);
    loaded_plugin = table;
    handle = NULL;
out:
    if (handle)
        (void)dlclose(handle);   /* nothing of the plugin is in use yet */
    return status;
}

/* Find the plugin (see ooc_cuda_plugin_load) and open it. */
static ooc_status find_and_open_plugin(ooc_error *err)
{
#ifdef OOC_HAVE_CUDA
    static const char *const no_plugin_hint = "";
#else
    static const char *const no_plugin_hint =
        "; this oocsolve was built without CUDA (configure with -DOOC_CUDA=ON on a machine with "
        "the CUDA toolkit)";
#endif
    const char *env = getenv("OOC_CUDA_PLUGIN");
    if (env && *env) {
        char absolute[PATH_MAX];
        if (!resolve_plugin_file(env, absolute))
            return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                            "CUDA plugin not found: OOC_CUDA_PLUGIN names '%s', which is not a "
                            "file (%s)",
                            env, errno ? strerror(errno) : "not a regular file");
        return open_plugin_file(absolute, err);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || (size_t)n >= sizeof exe - 1)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                        "CUDA plugin not found: cannot locate the executable (readlink "
                        "/proc/self/exe: %s); set OOC_CUDA_PLUGIN to the plugin's path%s",
                        n < 0 ? strerror(errno) : "path too long", no_plugin_hint);
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';   /* the executable's directory ("" for "/oocsolve") */
    char next_to_exe[PATH_MAX], installed[PATH_MAX];
    if ((size_t)snprintf(next_to_exe, sizeof next_to_exe, "%s/%s", exe, OOC_CUDA_PLUGIN_FILE) >=
            sizeof next_to_exe ||
        (size_t)snprintf(installed, sizeof installed, "%s/%s/%s", exe, OOC_CUDA_PLUGIN_RELDIR,
                         OOC_CUDA_PLUGIN_FILE) >= sizeof installed)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                        "CUDA plugin not found: the executable's directory %s is too long", exe);
    /* a program linking the installed liboocsolve.so lives anywhere: also look in
     * <libdir>/oocsolve, next to the library this code was loaded from */
    static const char anchor = 0; /* an address inside this library, for dladdr */
    char beside_lib[PATH_MAX] = "";
    Dl_info self;
    if (dladdr(&anchor, &self) && self.dli_fname) {
        const char *lib_slash = strrchr(self.dli_fname, '/');
        int dir_len = lib_slash ? (int)(lib_slash - self.dli_fname) : 1;
        if ((size_t)snprintf(beside_lib, sizeof beside_lib, "%.*s/oocsolve/%s", dir_len,
                             lib_slash ? self.dli_fname : ".", OOC_CUDA_PLUGIN_FILE) >=
            sizeof beside_lib)
            beside_lib[0] = '\0';
    }
    char absolute[PATH_MAX];
    if (resolve_plugin_file(next_to_exe, absolute) || resolve_plugin_file(installed, absolute) ||
        (beside_lib[0] && resolve_plugin_file(beside_lib, absolute)))
        return open_plugin_file(absolute, err);
    return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                    "CUDA plugin not found (looked for %s, %s%s%s; set OOC_CUDA_PLUGIN to its "
                    "path)%s",
                    next_to_exe, installed, beside_lib[0] ? " and " : "", beside_lib,
                    no_plugin_hint);
}

ooc_status ooc_cuda_plugin_load(const ooc_cuda_plugin **plugin, const char **path,
                                ooc_error *err)
{
    *plugin = NULL;
    if (path)
        *path = NULL;
    int rc = pthread_mutex_lock(&plugin_lock);
    if (rc != 0)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "loading the CUDA plugin: pthread_mutex_lock: %s",
                        strerror(rc));
    ooc_status status = loaded_plugin ? OOC_OK : find_and_open_plugin(err);
    if (status == OOC_OK) {
        *plugin = loaded_plugin;
        if (path)
            *path = loaded_path;
    }
    (void)pthread_mutex_unlock(&plugin_lock);
    return status;
}

/* ---------------------------------------------------------- selection -- */

/* Whether the NVIDIA driver library can be loaded at all.  `auto` asks this
 * before loading the plugin: the plugin pulls in cuBLAS/cuSOLVER (about 270 MB
 * of mapped libraries), which a machine without a driver never needs. */
static bool cuda_driver_present(char *why, size_t why_size)
{
    void *driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!driver) {
        const char *msg = dlerror();
        snprintf(why, why_size, "no CUDA driver (%s)", msg ? msg : "libcuda.so.1 not found");
        return false;
    }
    dlclose(driver);
    return true;
}

bool ooc_gpu_decode_parse(const char *text, ooc_gpu_decode *out)
{
    static const char *const names[] = {"auto", "on", "off"};
    static const ooc_gpu_decode values[] = {OOC_GPU_DECODE_AUTO, OOC_GPU_DECODE_ON,
                                            OOC_GPU_DECODE_OFF};
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(text, names[i])) {
            *out = values[i];
            return true;
        }
    return false;
}

static ooc_status open_gpu(const ooc_cuda_plugin *plugin, const ooc_device_spec *spec,
                           const ooc_backend_open_options *opts, ooc_backend **out,
                           ooc_error *err)
{
    ooc_cuda_backend_options o;
    memset(&o, 0, sizeof o);
    o.devices = spec->gpus;
    o.ndevices = spec->ngpus;
    o.panel_rows = opts->gpu_panel_rows;
    o.log = opts->log;
    o.gpu_decode = opts->gpu_decode;
    return plugin->backend_create(&o, out, err);
}

ooc_status ooc_backend_open(const char *spec_text, const ooc_backend_open_options *opts,
                            ooc_backend **out, ooc_error *err)
{
    static const ooc_backend_open_options defaults;
    if (!opts)
        opts = &defaults;
    *out = NULL;
    ooc_device_spec spec;
    ooc_status st = ooc_device_spec_parse(spec_text, &spec, err);
    if (st != OOC_OK)
        return st;
    if (spec.kind == OOC_DEVICE_CPU)
        return ooc_cpu_backend_create(&opts->cpu, out, err);
    const ooc_cuda_plugin *plugin = opts->plugin;
    const char *plugin_env = getenv("OOC_CUDA_PLUGIN");
    char driver_why[256];
    if (!plugin && spec.kind == OOC_DEVICE_AUTO && !(plugin_env && *plugin_env) &&
        !cuda_driver_present(driver_why, sizeof driver_why)) {
        ooc_log(&opts->log, OOC_LOG_DEBUG, "%s: using the CPU backend", driver_why);
        return ooc_cpu_backend_create(&opts->cpu, out, err);
    }
    if (!plugin) {
        ooc_error load_err = {0};
        st = ooc_cuda_plugin_load(&plugin, NULL, &load_err);
        if (st != OOC_OK && spec.kind == OOC_DEVICE_AUTO) {
            ooc_log(&opts->log, st == OOC_ERR_UNSUPPORTED ? OOC_LOG_DEBUG : OOC_LOG_NOTE,
                    "%s: using the CPU backend", load_err.message);
            return ooc_cpu_backend_create(&opts->cpu, out, err);
        }
        if (st != OOC_OK)
            return OOC_FAIL(err, st, "--device %s: %s", spec_text, load_err.message);
    }
    char why[256] = "";
    int count = plugin->device_count(why, sizeof why);
    /* "auto" and a bare "gpu" leave the GPU to us: several processes spread
     * over the GPUs */
    bool ours = spec.kind == OOC_DEVICE_AUTO || (spec_text && !strcmp(spec_text, "gpu"));
    if (ours && count > 0) {
        spec.ngpus = 1;
        spec.gpus[0] = opts->process_index > 0 ? opts->process_index % count : 0;
        if (opts->process_index > 0)
            ooc_log(&opts->log, OOC_LOG_NOTE, "process %d of the run: GPU %d of %d",
                    opts->process_index, spec.gpus[0], count);
    }
    if (spec.kind == OOC_DEVICE_AUTO) {
        if (count > 0)
            return open_gpu(plugin, &spec, opts, out, err);
        ooc_log(&opts->log, OOC_LOG_NOTE, "no usable GPU (%s): using the CPU backend", why);
        return ooc_cpu_backend_create(&opts->cpu, out, err);
    }
    if (count == 0)
        return OOC_FAIL(err, OOC_ERR_BACKEND, "--device %s: no usable GPU (%s)", spec_text, why);
    return open_gpu(plugin, &spec, opts, out, err);
}

ooc_status ooc_gpu_list(const ooc_cuda_plugin *plugin, ooc_gpu_info **out, int *count, char *why,
                        size_t why_size, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_gpu_info *list = NULL;
    *out = NULL;
    *count = 0;
    if (why && why_size)
        why[0] = '\0';
    if (!plugin) {
        ooc_error load_err = {0};
        if (ooc_cuda_plugin_load(&plugin, NULL, &load_err) != OOC_OK) {
            if (why && why_size)
                snprintf(why, why_size, "%s", load_err.message);
            return OOC_OK;
        }
    }
    int n = plugin->device_count(why, why_size);
    if (n == 0)
        return OOC_OK;
    list = calloc((size_t)n, sizeof *list);
    OOC_FAIL_IF(!list, err, OOC_ERR_NOMEM, "out of memory listing %d GPUs", n);
    for (int i = 0; i < n; i++) {
        ooc_cuda_device_info info;
        OOC_CHECK(plugin->device_query(i, &info, err));
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
}

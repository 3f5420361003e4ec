/*
 * test_cuda_plugin.c — the CUDA plugin loader of backend_select.c, through
 * dlopen, in one process (the loader keeps the first plugin it loads, so the
 * refusals come first):
 *   - no plugin beside the test program and OOC_CUDA_PLUGIN unset: "not
 *     found" naming the places searched; auto -> CPU with a debug-level line
 *     only; gpu -> OOC_ERR_UNSUPPORTED; the GPU list says why it is empty;
 *   - OOC_CUDA_PLUGIN naming a missing file, a file that is not ELF, a module
 *     of another ABI version, one whose struct sizes differ, one without the
 *     entry symbol: each refused with its reason; auto -> CPU with one note;
 *   - the emulated plugin (argv[1]): loaded once, exports nothing but the
 *     entry point and adds nothing to the global symbol scope (RTLD_LOCAL);
 *     lists the emulated GPU; gpu/auto open the "cuda" backend (a bare "gpu"
 *     for process K of several takes GPU K mod count, with a note), whose
 *     triangle matches the CPU backend's to the R factor's perturbation bound
 *     (qr 2√2·κ·√p·γ, normal √2·κ²·p·γ; see test_emulated), and whose pinned ring
 *     buffer can be freed after the backend (the plugin stays loaded).
 * argv: emulated plugin, fake ABI-version plugin, fake struct-size plugin,
 * fake plugin without entry symbol.
 */
#include "backend/backend.h"
#include "backend/backend_select.h"
#include "backend/device.h"
#include "base/error.h"
#include "testutil.h"

#include <dlfcn.h>
#include <float.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct log_capture {
    char text[4096];
    int debug, notes, warnings;
} log_capture;

static void capture(void *user, ooc_log_level level, const char *message)
{
    log_capture *lc = user;
    size_t len = strlen(lc->text);
    snprintf(lc->text + len, sizeof lc->text - len, "%s\n", message);
    lc->debug += level == OOC_LOG_DEBUG;
    lc->notes += level == OOC_LOG_NOTE;
    lc->warnings += level == OOC_LOG_WARNING;
}

/* A plugin that must be refused with `code` and a message containing `reason`:
 * checked through ooc_cuda_plugin_load, auto (CPU + one log line at
 * `auto_level`) and gpu (the same code). */
static void expect_refused_auto(const char *label, ooc_status code, const char *reason,
                                const char *auto_reason, ooc_log_level auto_level)
{
    static const ooc_cuda_plugin sentinel;
    const ooc_cuda_plugin *plugin = &sentinel;   /* must come back NULL */
    const char *path = "unset";
    ooc_error err = {0};
    CHECK_MSG(ooc_cuda_plugin_load(&plugin, &path, &err) == code && !plugin && !path,
              "%s: status %d", label, (int)err.status);
    CHECK_MSG(strstr(err.message, reason) != NULL, "%s: %s", label, err.message);
    printf("  %s: %s\n", label, err.message);

    log_capture lc = {.text = ""};
    ooc_backend_open_options opts = {.log = {capture, &lc}};
    ooc_backend *be = NULL;
    ooc_error_clear(&err);
    CHECK_MSG(ooc_backend_open("auto", &opts, &be, &err) == OOC_OK && be &&
                  !strcmp(be->caps.name, "cpu"),
              "%s: auto: %s", label, err.message);
    ooc_backend_free(be);
    int lines = lc.debug + lc.notes + lc.warnings;
    int at_level = auto_level == OOC_LOG_DEBUG ? lc.debug : lc.notes;
    CHECK_MSG(lines == 1 && at_level == 1 && strstr(lc.text, auto_reason) &&
                  strstr(lc.text, "using the CPU backend"),
              "%s: auto log: %s", label, lc.text);

    be = NULL;
    ooc_error_clear(&err);
    CHECK_MSG(ooc_backend_open("gpu:0", &opts, &be, &err) == code && !be, "%s: gpu", label);
    CHECK_MSG(strstr(err.message, "--device gpu:0") && strstr(err.message, reason), "%s: %s",
              label, err.message);
}

/* expect_refused_auto where `auto` reports the same reason as the others. */
static void expect_refused(const char *label, ooc_status code, const char *reason,
                           ooc_log_level auto_level)
{
    expect_refused_auto(label, code, reason, reason, auto_level);
}

/* Whether this machine has the NVIDIA driver library (auto checks it before
 * looking for the plugin when OOC_CUDA_PLUGIN is unset). */
static bool driver_present(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (h)
        dlclose(h);
    return h != NULL;
}

/* The triangle of `rows` (n x 3, [x1 x2 y]) accumulated by `be` with `method`. */
static ooc_status triangle(ooc_backend *be, const double *rows, size_t n, ooc_method method,
                           double *r, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_backend_layout layout = {.p_aug = 3, .ld = 3, .weight_col = -1};
    OOC_CHECK(be->ops->begin(be, &layout, method, err));
    OOC_CHECK(be->ops->accumulate(be, rows, n, err));
    OOC_CHECK(be->ops->finish(be, r, err));
out:
    return status;
}

static void test_not_found(void)
{
    unsetenv("OOC_CUDA_PLUGIN");
    /* the test program's directory has no oocsolve_cuda.so (the build puts it beside oocsolve) */
    expect_refused_auto("no plugin", OOC_ERR_UNSUPPORTED, "CUDA plugin not found",
                        driver_present() ? "CUDA plugin not found" : "no CUDA driver",
                        OOC_LOG_DEBUG);
    ooc_error err = {0};
    const ooc_cuda_plugin *plugin = NULL;
    CHECK(ooc_cuda_plugin_load(&plugin, NULL, &err) == OOC_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(err.message, "/" OOC_CUDA_PLUGIN_FILE) && strstr(err.message, "lib/oocsolve"),
              "%s", err.message);
    ooc_gpu_info *list = NULL;
    int count = -1;
    char why[512];
    CHECK(ooc_gpu_list(NULL, &list, &count, why, sizeof why, &err) == OOC_OK && count == 0 &&
          !list);
    CHECK_MSG(strstr(why, "CUDA plugin not found") != NULL, "%s", why);

    setenv("OOC_CUDA_PLUGIN", "/nonexistent/oocsolve_cuda.so", 1);
    expect_refused("missing file", OOC_ERR_UNSUPPORTED, "'/nonexistent/oocsolve_cuda.so'",
                   OOC_LOG_DEBUG);
}

static void test_refused(const char *abi, const char *sizes, const char *noentry)
{
    char not_elf[64];
    snprintf(not_elf, sizeof not_elf, "not_a_plugin_%ld.so", (long)getpid());
    FILE *f = fopen(not_elf, "w");
    CHECK(f != NULL);
    if (f) {
        for (int i = 0; i < 8; i++)
            fputs("this is text, not a shared object: dlopen must refuse it\n", f);
        fclose(f);
        setenv("OOC_CUDA_PLUGIN", not_elf, 1);   /* relative: resolved, not searched */
        expect_refused("not ELF", OOC_ERR_BACKEND, "invalid ELF header", OOC_LOG_NOTE);
        remove(not_elf);
    }
    setenv("OOC_CUDA_PLUGIN", abi, 1);
    expect_refused("other ABI", OOC_ERR_BACKEND, "ABI version", OOC_LOG_NOTE);
    setenv("OOC_CUDA_PLUGIN", sizes, 1);
    expect_refused("other layouts", OOC_ERR_BACKEND, "different structure layouts",
                   OOC_LOG_NOTE);
    setenv("OOC_CUDA_PLUGIN", noentry, 1);
    expect_refused("no entry", OOC_ERR_BACKEND, "has no symbol " OOC_CUDA_PLUGIN_ENTRY,
                   OOC_LOG_NOTE);
}

static void test_emulated(const char *emu, const char *other)
{
    setenv("OOC_CUDA_PLUGIN", emu, 1);
    const ooc_cuda_plugin *plugin = NULL, *again = NULL;
    const char *path = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_cuda_plugin_load(&plugin, &path, &err) == OOC_OK && plugin, "%s",
              err.message);
    if (!plugin)
        return;
    char absolute[PATH_MAX];
    CHECK(realpath(emu, absolute) && path && !strcmp(path, absolute));
    /* loaded once: a later OOC_CUDA_PLUGIN does not replace it */
    setenv("OOC_CUDA_PLUGIN", other, 1);
    CHECK(ooc_cuda_plugin_load(&again, NULL, &err) == OOC_OK && again == plugin);

    /* RTLD_LOCAL and hidden visibility: only the entry point is reachable, via the handle */
    CHECK(dlsym(RTLD_DEFAULT, OOC_CUDA_PLUGIN_ENTRY) == NULL);
    CHECK(dlsym(RTLD_DEFAULT, "cudaGetDeviceCount") == NULL);
    void *handle = path ? dlopen(path, RTLD_NOW | RTLD_NOLOAD) : NULL;
    CHECK(handle != NULL);
    if (handle) {
        CHECK(dlsym(handle, OOC_CUDA_PLUGIN_ENTRY) != NULL);
        CHECK(dlsym(handle, "ooc_cuda_backend_create") == NULL);
        CHECK(dlsym(handle, "cudaMalloc") == NULL);
        CHECK(dlsym(handle, "ooc_error_set") == NULL);
        dlclose(handle);
    }

    ooc_gpu_info *list = NULL;
    int count = 0;
    char why[256];
    CHECK(ooc_gpu_list(NULL, &list, &count, why, sizeof why, &err) == OOC_OK && count == 1);
    if (list)
        CHECK_STREQ(list[0].name, "oocsolve CUDA emulator");
    free(list);

    log_capture lc = {.text = ""};
    ooc_backend_open_options opts = {.log = {capture, &lc}};
    ooc_backend *gpu = NULL, *cpu = NULL;
    CHECK(ooc_backend_open("auto", &opts, &gpu, &err) == OOC_OK && gpu &&
          !strcmp(gpu->caps.name, "cuda"));
    ooc_backend_free(gpu);
    gpu = NULL;
    CHECK(ooc_backend_open("gpu:1", &opts, &gpu, &err) == OOC_ERR_INVALID_ARG && !gpu);
    CHECK_MSG(strstr(err.message, "GPU 1 does not exist") != NULL, "%s", err.message);
    ooc_error_clear(&err);
    CHECK(lc.debug + lc.notes + lc.warnings == 0);
    /* process 3 of several (an MPI rank) takes GPU 3 mod 1 = 0 for a bare
     * "gpu", and says so in a note */
    opts.process_index = 3;
    CHECK(ooc_backend_open("gpu", &opts, &gpu, &err) == OOC_OK && gpu);
    CHECK_MSG(lc.notes == 1 && strstr(lc.text, "process 3 of the run: GPU 0 of 1"), "%s", lc.text);
    ooc_backend_free(gpu);
    gpu = NULL;
    opts.process_index = 0;

    CHECK(ooc_backend_open("gpu", &opts, &gpu, &err) == OOC_OK && gpu);
    CHECK(ooc_backend_open("cpu", &opts, &cpu, &err) == OOC_OK && cpu);
    if (!gpu || !cpu) {
        ooc_backend_free(gpu);
        ooc_backend_free(cpu);
        return;
    }
    CHECK(gpu->caps.wants_pinned_memory && gpu->caps.allocator.alloc);
    enum { N = 500 };
    ooc_allocator alloc = gpu->caps.allocator;
    double *rows = alloc.alloc(N * 3 * sizeof(double), alloc.ctx);
    CHECK(rows != NULL);
    if (rows) {
        for (size_t i = 0; i < N; i++) {
            double t = (double)i / N;
            rows[3 * i] = 1.0;
            rows[3 * i + 1] = sin(7.0 * t) + t;
            rows[3 * i + 2] = 2.0 - 3.0 * rows[3 * i + 1] + 0.1 * cos(31.0 * t);
        }
        /* Both backends are backward stable: qr returns the exact R of rows perturbed
         * by ‖Δa_j‖ ≤ γ‖a_j‖ per column, normal the Cholesky factor of G + ΔG with
         * |ΔG_jk| ≤ γ‖a_j‖‖a_k‖, γ = (p·√n + 3)·ε (the probabilistic form of Higham's
         * c·n·p·u, Accuracy and Stability Thm 19.4; tests/interop/lsq_bounds.py).  The factors
         * then move by ‖ΔR‖_F/‖R‖₂ ≤ √2·κ₂(A)·‖ΔA‖_F/‖A‖₂ (QR) and ≤ κ₂(G)/√2 ·
         * ‖ΔG‖_F/‖G‖₂ (Cholesky; Sun, BIT 31, 1991), with ‖ΔA‖_F ≤ √p·γ‖A‖₂ and
         * ‖ΔG‖_F ≤ p·γ‖G‖₂; the two backends differ by at most twice that:
         * 2√2·κ·√p·γ (qr) and √2·κ²·p·γ (normal), κ = κ₂ of the rows (LAPACK's SVD
         * here).  A lost block or a wrong triangle changes R by ≥ 1/n = 2e-3. */
        double kappa = 0.0;
        {
            double copy[N * 3], sv[3], superb[2];
            memcpy(copy, rows, sizeof copy);
            CHECK(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', N, 3, copy, 3, sv, NULL, 1, NULL, 1,
                                 superb) == 0);
            kappa = sv[0] / sv[2];
        }
        double gamma = (3.0 * sqrt((double)N) + 3.0) * DBL_EPSILON;
        for (int m = 0; m < 2; m++) {
            ooc_method method = m ? OOC_METHOD_NORMAL : OOC_METHOD_QR;
            double rg[9], rc[9], num = 0.0, den = 0.0;
            CHECK(triangle(gpu, rows, N, method, rg, &err) == OOC_OK);
            CHECK(triangle(cpu, rows, N, method, rc, &err) == OOC_OK);
            for (int k = 0; k < 9; k++) {
                num += (rg[k] - rc[k]) * (rg[k] - rc[k]);
                den += rc[k] * rc[k];
            }
            double tol = m ? sqrt(2.0) * kappa * kappa * 3.0 * gamma
                           : 2.0 * sqrt(2.0) * kappa * sqrt(3.0) * gamma;
            printf("test_cuda_plugin: %s triangle: |R_gpu - R_cpu|/|R_cpu| = %.3g, bound %.3g "
                   "(kappa %.3g)\n", ooc_method_name(method), sqrt(num / den), tol, kappa);
            CHECK_MSG(sqrt(num / den) <= tol, "%s: |R_gpu - R_cpu|/|R_cpu| = %.3g > %.3g",
                      ooc_method_name(method), sqrt(num / den), tol);
        }
    }
    ooc_backend_free(gpu);
    ooc_backend_free(cpu);
    /* the plugin stays loaded: its allocator's free still works after the backend is gone */
    if (rows)
        alloc.free(rows, alloc.ctx);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: test_cuda_plugin EMU.so ABI.so SIZES.so NOENTRY.so\n");
        return 2;
    }
    test_not_found();
    test_refused(argv[2], argv[3], argv[4]);
    test_emulated(argv[1], argv[2]);
    if (!test_failures)
        printf("test_cuda_plugin: all checks passed\n");
    return TEST_EXIT();
}

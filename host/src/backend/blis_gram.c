/*
 * blis_gram.c — the Gram update by OpenBLAS or by BLIS loaded at run time
 * (blis_gram.h).
 */
#include "backend/blis_gram.h"

#include "backend/cpuinfo.h"
#include "base/error.h"

#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#ifdef OOC_HAVE_BLIS_H
#include <blis.h>
#endif

static void openblas_update(int p, int k, const double *a, int lda, double *c, int ldc)
{
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, p, k, 1.0, a, lda, 1.0, c, ldc);
}

#ifdef OOC_HAVE_BLIS_H
/* The BLIS functions used, resolved once. */
static struct {
    void (*dsyrk)(uplo_t, trans_t, dim_t, dim_t, double *, double *, inc_t, inc_t, double *,
                  double *, inc_t, inc_t);
    char description[64];
    char why[256];       /* why it did not load */
    int loaded;
} blis;
static pthread_once_t blis_once = PTHREAD_ONCE_INIT;

/* Copy the address of `name` in lib (NULL when absent) into the function
 * pointer at fn (POSIX: dlsym's object pointer is the function). */
static void symbol(void *lib, const char *name, void *fn, size_t size)
{
    void *address = dlsym(lib, name);
    memcpy(fn, &address, size);
}

static void load_blis(void)
{
    void *lib = dlopen("libblis.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(blis.why, sizeof blis.why, "BLIS is not installed (%s)",
                 e ? e : "libblis.so.4");
        return;
    }
    void (*set_threads)(dim_t) = NULL;
    arch_t (*arch_id)(void) = NULL;
    const char *(*arch_name)(arch_t) = NULL;
    const char *(*version)(void) = NULL;
    symbol(lib, "bli_thread_set_num_threads", &set_threads, sizeof set_threads);
    symbol(lib, "bli_arch_query_id", &arch_id, sizeof arch_id);
    symbol(lib, "bli_arch_string", &arch_name, sizeof arch_name);
    symbol(lib, "bli_info_get_version_str", &version, sizeof version);
    symbol(lib, "bli_dsyrk", &blis.dsyrk, sizeof blis.dsyrk);
    if (!blis.dsyrk || !set_threads || !arch_id || !arch_name || !version) {
        snprintf(blis.why, sizeof blis.why,
                 "libblis.so.4 lacks bli_dsyrk or the bli_* queries: not a BLIS 0.9 build");
        dlclose(lib);
        return;
    }
    set_threads(1);
    snprintf(blis.description, sizeof blis.description, "blis %s (%s)", version(),
             arch_name(arch_id()));
    blis.loaded = 1;
}

static void blis_update(int p, int k, const double *a, int lda, double *c, int ldc)
{
    double one = 1.0;
    blis.dsyrk(BLIS_UPPER, BLIS_NO_TRANSPOSE, p, k, &one, (double *)a, 1, lda, &one, c, 1, ldc);
}

/* BLIS's update, or NULL with the reason in why[size]. */
static ooc_gram_update_fn blis_load(char *why, size_t size)
{
    pthread_once(&blis_once, load_blis);
    if (!blis.loaded)
        snprintf(why, size, "%s", blis.why);
    return blis.loaded ? blis_update : NULL;
}
#else
static ooc_gram_update_fn blis_load(char *why, size_t size)
{
    snprintf(why, size, "this build has no BLIS support (blis.h was not found)");
    return NULL;
}
#endif

ooc_status ooc_gram_update_choose(ooc_cpu_gram_blas asked, ooc_gram_update_fn *fn, char *desc,
                                  size_t size, ooc_error *err)
{
    char why[256] = "";
    ooc_gram_update_fn blis_fn =
        asked == OOC_CPU_GRAM_BLIS || (asked == OOC_CPU_GRAM_AUTO && ooc_openblas_core_warns())
            ? blis_load(why, sizeof why)
            : NULL;
    if (asked == OOC_CPU_GRAM_BLIS && !blis_fn)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                        "cpu backend: the Gram cannot run on BLIS: %s (Debian: apt-get install "
                        "libblis-pthread-dev, then rebuild)",
                        why);
    if (blis_fn) {
        *fn = blis_fn;
#ifdef OOC_HAVE_BLIS_H
        snprintf(desc, size, "%s", blis.description);
#endif
    } else {
        *fn = openblas_update;
        const char *core = ooc_openblas_corename();
        snprintf(desc, size, "openblas%s%s%s", *core ? " (" : "", core, *core ? ")" : "");
    }
    return OOC_OK;
}

bool ooc_cpu_gram_blas_parse(const char *text, ooc_cpu_gram_blas *out)
{
    static const char *const names[] = {"auto", "openblas", "blis"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(text, names[i])) {
            *out = (ooc_cpu_gram_blas)i;
            return true;
        }
    return false;
}

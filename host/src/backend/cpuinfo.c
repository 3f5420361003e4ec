/*
 * cpuinfo.c — the CPU, rows-kernel and BLAS facts of a run and the OpenBLAS
 * kernel warning; see cpuinfo.h.  OpenBLAS's kernel sets and the
 * instructions they use are listed in known_cores below (OpenBLAS 0.3.21's
 * DYNAMIC_ARCH cores, plus SapphireRapids from later releases).
 */
#define _POSIX_C_SOURCE 200809L
#include "backend/cpuinfo.h"

#include "backend/backend.h"
#include "backend/blis_gram.h"
#include "stream/ring.h"
#include "backend/tsqr_rows.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

/* OpenBLAS's introspection (declared by its cblas.h).  Weak, as
 * blas_thread_shutdown_ in host/cli/main.c: with another BLAS they are NULL
 * and the facts read "unknown". */
extern char *openblas_get_config(void) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

/* Vector instruction levels: of a CPU (from its flags) and of the kernels an
 * OpenBLAS core uses. */
typedef enum isa_level {
    ISA_SCALAR = 0,  /* plain C */
    ISA_SSE = 1,     /* SSE2/SSE3 (x86-64's baseline) */
    ISA_AVX = 2,     /* AVX, or 128-bit FMA3/FMA4, without AVX2 */
    ISA_AVX2 = 3,    /* AVX2 and FMA */
    ISA_AVX512 = 4   /* AVX-512 F, DQ, BW and VL (Skylake-X's set) */
} isa_level;

/* What a core's kernels use, and a level's name in "a CPU with ..." / "lacks ...". */
static const char *const isa_kernels[] = {
    "plain C, no vector instructions", "SSE2/SSE3, no AVX", "AVX or 128-bit FMA, no AVX2",
    "AVX2 and FMA", "AVX-512"};
static const char *const isa_name[] = {"plain C", "SSE2", "AVX", "AVX2 and FMA", "AVX-512"};

static const struct {
    const char *name;
    isa_level level;
} known_cores[] = {
    {"generic", ISA_SCALAR},
    {"Katmai", ISA_SSE},      {"Coppermine", ISA_SSE},   {"Northwood", ISA_SSE},
    {"Prescott", ISA_SSE},    {"Banias", ISA_SSE},       {"Atom", ISA_SSE},
    {"Core2", ISA_SSE},       {"Penryn", ISA_SSE},       {"Dunnington", ISA_SSE},
    {"Nehalem", ISA_SSE},     {"Athlon", ISA_SSE},       {"Opteron", ISA_SSE},
    {"Opteron_SSE3", ISA_SSE}, {"Barcelona", ISA_SSE},   {"Nano", ISA_SSE},
    {"Bobcat", ISA_SSE},
    {"Sandybridge", ISA_AVX}, {"Bulldozer", ISA_AVX},    {"Piledriver", ISA_AVX},
    {"Steamroller", ISA_AVX}, {"Excavator", ISA_AVX},
    {"Haswell", ISA_AVX2},    {"Zen", ISA_AVX2},
    {"SkylakeX", ISA_AVX512}, {"Cooperlake", ISA_AVX512}, {"SapphireRapids", ISA_AVX512},
};

/* The level of a core's kernels; false when the name is not known.  Names
 * compare without case: non-DYNAMIC_ARCH builds report them in capitals. */
static bool core_level(const char *core, isa_level *level)
{
    for (size_t i = 0; i < sizeof known_cores / sizeof known_cores[0]; i++)
        if (!strcasecmp(core, known_cores[i].name)) {
            *level = known_cores[i].level;
            return true;
        }
    return false;
}

static isa_level cpu_level(unsigned flags)
{
    const unsigned avx512 = OOC_CPU_AVX512F | OOC_CPU_AVX512DQ | OOC_CPU_AVX512BW | OOC_CPU_AVX512VL;
    if ((flags & avx512) == avx512)
        return ISA_AVX512;
    if ((flags & (OOC_CPU_AVX2 | OOC_CPU_FMA)) == (OOC_CPU_AVX2 | OOC_CPU_FMA))
        return ISA_AVX2;
    return flags & OOC_CPU_AVX ? ISA_AVX : ISA_SSE;
}

/* The OpenBLAS core to ask for on a CPU of this level. */
static const char *suggested_core(isa_level level, unsigned flags)
{
    static const char *const by_level[] = {"Prescott", "Prescott", "Sandybridge", "Haswell",
                                           "SkylakeX"};
    return level == ISA_AVX2 && (flags & OOC_CPU_AMD) ? "Zen" : by_level[level];
}

bool ooc_blas_core_warning(const char *core, unsigned flags, const char *coretype_env, char *text,
                           size_t size)
{
    text[0] = '\0';
    isa_level kernels, cpu = cpu_level(flags);
    if (!core || !*core || !core_level(core, &kernels))
        return false;
    bool slow = cpu >= ISA_AVX2 && kernels < ISA_AVX2;
    bool unsupported = kernels > cpu && kernels > ISA_SSE;
    if (!slow && !unsupported)
        return false;
    char why[256] = "";
    if (coretype_env && !strcasecmp(coretype_env, core))
        snprintf(why, sizeof why, ", forced by OPENBLAS_CORETYPE=%s in the environment,",
                 coretype_env);
    else if (coretype_env)
        snprintf(why, sizeof why,
                 ", although the environment sets OPENBLAS_CORETYPE=%s (OpenBLAS falls back "
                 "when it does not know the name or the CPU cannot run that core),",
                 coretype_env);
    const char *fix = suggested_core(cpu, flags);
    if (slow)
        snprintf(text, size,
                 "OpenBLAS runs its %s kernels (%s)%s on a CPU with %s, so BLAS and LAPACK calls "
                 "(method normal, designs too wide for the rows kernel) run at a fraction of the "
                 "CPU's speed; fix: export OPENBLAS_CORETYPE=%s%s",
                 core, isa_kernels[kernels], why, isa_name[cpu], fix,
                 coretype_env ? " instead" : "");
    else
        snprintf(text, size,
                 "OpenBLAS runs its %s kernels (%s)%s but this CPU lacks %s: BLAS calls may stop "
                 "the program with an illegal instruction; fix: %s OPENBLAS_CORETYPE=%s",
                 core, isa_kernels[kernels], why, isa_name[kernels],
                 coretype_env ? "unset it, or export" : "export", fix);
    return true;
}

void ooc_cpu_extension_names(unsigned flags, char *buf, size_t size)
{
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {
#define OOC_CPU_NAME(flag, name) {OOC_CPU_##flag, name},
        OOC_CPU_EXTENSIONS(OOC_CPU_NAME)
#undef OOC_CPU_NAME
    };
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(flags & names[i].flag))
            continue;
        int n = snprintf(buf + used, size - used, "%s%s", used ? " " : "", names[i].name);
        if (n < 0 || (size_t)n >= size - used) {
            buf[used] = '\0'; /* whole names only */
            break;
        }
        used += (size_t)n;
    }
}

static unsigned cpu_flags(void)
{
    unsigned flags = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
#define OOC_CPU_TEST(flag, name) flags |= __builtin_cpu_supports(name) ? OOC_CPU_##flag : 0u;
    OOC_CPU_EXTENSIONS(OOC_CPU_TEST)
#undef OOC_CPU_TEST
    flags |= __builtin_cpu_is("amd") ? OOC_CPU_AMD : 0u;
#endif
    return flags;
}

/* Copy src (may be NULL) into dst[size], truncated; "" for NULL. */
static void copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* /proc/cpuinfo's first "model name", else "unknown (<machine>)". */
static void read_model(char *dst, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    dst[0] = '\0';
    while (f && !dst[0] && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon)
            continue;
        char *v = colon + 1, *end = v + strlen(v);
        while (*v && isspace((unsigned char)*v))
            v++;
        while (end > v && isspace((unsigned char)end[-1]))
            *--end = '\0';
        copy_text(dst, size, v);
    }
    if (f)
        fclose(f);
    if (!dst[0]) {
        struct utsname u;
        snprintf(dst, size, "unknown (%s)", uname(&u) == 0 ? u.machine : "?");
    }
}

const char *ooc_openblas_corename(void)
{
    const char *core = openblas_get_corename ? openblas_get_corename() : NULL;
    return core ? core : "";
}

/* $OPENBLAS_CORETYPE, NULL when unset or empty. */
static const char *coretype_env(void)
{
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    return coretype && *coretype ? coretype : NULL;
}

bool ooc_openblas_core_warns(void)
{
    char text[8];
    return ooc_blas_core_warning(ooc_openblas_corename(), cpu_flags(), coretype_env(), text,
                                 sizeof text);
}

void ooc_cpu_info_gather(int nthreads, ooc_cpu_info *out)
{
    memset(out, 0, sizeof *out);
    read_model(out->model, sizeof out->model);
    out->flags = cpu_flags();
    ooc_cpu_extension_names(out->flags, out->extensions, sizeof out->extensions);
    out->rows_kernel = ooc_tsqr_rows_isa();
    out->rows_kernel_max_p = (int)ooc_tsqr_rows_max_p();
    if (openblas_get_config) {
        copy_text(out->blas_config, sizeof out->blas_config, openblas_get_config());
        char name[sizeof out->blas] = "", version[sizeof out->blas_version] = "";
        if (sscanf(out->blas_config, "%31s %31s", name, version) >= 1)
            copy_text(out->blas, sizeof out->blas, name);
        if (isdigit((unsigned char)version[0]))
            copy_text(out->blas_version, sizeof out->blas_version, version);
    }
    copy_text(out->blas_core, sizeof out->blas_core, ooc_openblas_corename());
    ooc_gram_update_fn gram_update;
    ooc_error err = {0};
    ooc_gram_update_choose(OOC_CPU_GRAM_AUTO, &gram_update, out->gram_blas, sizeof out->gram_blas,
                           &err);
    out->blas_threads = openblas_get_num_threads ? openblas_get_num_threads() : -1;
    out->solver_threads = ooc_cpu_backend_threads(nthreads);
    out->input_threads = ooc_ring_default_threads(nthreads);
    const char *coretype = coretype_env();
    copy_text(out->openblas_coretype, sizeof out->openblas_coretype, coretype);
    copy_text(out->openblas_l2_size, sizeof out->openblas_l2_size, getenv("OPENBLAS_L2_SIZE"));
    ooc_blas_core_warning(out->blas_core, out->flags, coretype, out->blas_warning,
                          sizeof out->blas_warning);
}

void ooc_cpu_info_facts(const ooc_cpu_info *info, ooc_cpu_fact facts[OOC_CPU_NFACTS])
{
#define TEXT(s) ((s)[0] ? (s) : NULL)
    const ooc_cpu_fact all[OOC_CPU_NFACTS] = {
        {"model", "model", OOC_CPU_FACT_TEXT, TEXT(info->model), 0, "unknown"},
        {"extensions", "extensions", OOC_CPU_FACT_WORDS, info->extensions, 0, "none"},
        {"rows_kernel", "qr rows kernel", OOC_CPU_FACT_TEXT, info->rows_kernel, 0, "unknown"},
        {"rows_kernel_max_columns", "rows kernel columns", OOC_CPU_FACT_INT, NULL,
         info->rows_kernel_max_p, "unknown"},
        {"blas", "BLAS", OOC_CPU_FACT_TEXT, TEXT(info->blas), 0, "unknown"},
        {"blas_version", "BLAS version", OOC_CPU_FACT_TEXT, TEXT(info->blas_version), 0,
         "unknown"},
        {"blas_config", "BLAS config", OOC_CPU_FACT_TEXT, TEXT(info->blas_config), 0, "unknown"},
        {"blas_core", "BLAS core", OOC_CPU_FACT_TEXT, TEXT(info->blas_core), 0, "unknown"},
        {"gram_blas", "Gram BLAS", OOC_CPU_FACT_TEXT, TEXT(info->gram_blas), 0, "unknown"},
        {"blas_threads", "BLAS threads", OOC_CPU_FACT_INT, NULL, info->blas_threads, "unknown"},
        {"solver_threads", "solver threads", OOC_CPU_FACT_INT, NULL, info->solver_threads,
         "unknown"},
        {"input_threads", "input threads", OOC_CPU_FACT_INT, NULL, info->input_threads,
         "unknown"},
        {"openblas_coretype", "OPENBLAS_CORETYPE", OOC_CPU_FACT_TEXT,
         TEXT(info->openblas_coretype), 0, "not set"},
        {"openblas_l2_size", "OPENBLAS_L2_SIZE", OOC_CPU_FACT_TEXT, TEXT(info->openblas_l2_size),
         0, "not set"},
    };
#undef TEXT
    memcpy(facts, all, sizeof all);
}

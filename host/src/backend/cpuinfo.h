/*
 * cpuinfo.h — which CPU code path a run takes: the CPU model and vector
 * extensions, the build of the qr rows kernel chosen for it (tsqr_rows.h),
 * the BLAS library with the kernels it chose, the threads oocsolve uses, and
 * a warning when OpenBLAS runs kernels far below what the CPU can do.
 *
 * Shown by `oocsolve devices`, in the "cpu" object of fit/svd --json
 * (report.h) and in a --profile trace's metadata.  OpenBLAS's introspection
 * functions are weak symbols here, so another BLAS links too and its facts
 * read "unknown".
 */
#ifndef OOC_CPUINFO_H
#define OOC_CPUINFO_H

#include <stdbool.h>
#include <stddef.h>

/* The vector extensions reported, as X(flag suffix, name for
 * __builtin_cpu_supports and for people), in the order they are listed. */
#define OOC_CPU_EXTENSIONS(X)                                                                      \
    X(SSE42, "sse4.2")                                                                             \
    X(AVX, "avx")                                                                                  \
    X(AVX2, "avx2")                                                                                \
    X(FMA, "fma")                                                                                  \
    X(AVX512F, "avx512f")                                                                          \
    X(AVX512DQ, "avx512dq")                                                                        \
    X(AVX512BW, "avx512bw")                                                                        \
    X(AVX512VL, "avx512vl")

/* CPU flags: one bit per extension (OOC_CPU_AVX2, ...), and the vendor. */
enum {
#define OOC_CPU_BIT_INDEX(flag, name) OOC_CPU_BIT_##flag,
    OOC_CPU_EXTENSIONS(OOC_CPU_BIT_INDEX)
#undef OOC_CPU_BIT_INDEX
    OOC_CPU_BIT_AMD
};
enum {
#define OOC_CPU_FLAG(flag, name) OOC_CPU_##flag = 1u << OOC_CPU_BIT_##flag,
    OOC_CPU_EXTENSIONS(OOC_CPU_FLAG)
#undef OOC_CPU_FLAG
    OOC_CPU_AMD = 1u << OOC_CPU_BIT_AMD /* an AMD CPU (vendor, not an extension) */
};

/* What ooc_cpu_info_gather finds.  A plain value (fixed-size strings, no
 * pointers to free); an empty string means unknown or not set. */
typedef struct ooc_cpu_info {
    char model[128];             /* /proc/cpuinfo "model name"; else "unknown (<machine>)" */
    unsigned flags;              /* OOC_CPU_* of this CPU (and OS: libgcc checks both) */
    char extensions[96];         /* the extension names among flags, space-separated */
    const char *rows_kernel;     /* ooc_tsqr_rows_isa(): "avx512", "avx2" or "base" */
    int rows_kernel_max_p;       /* ooc_tsqr_rows_max_p(): widest rows it takes, y included */
    char blas[32];               /* library name: first word of openblas_get_config() */
    char blas_version[32];       /* its second word when that is a version number */
    char blas_config[256];       /* openblas_get_config() */
    char blas_core[64];          /* openblas_get_corename(): the kernels OpenBLAS chose */
    char gram_blas[64];          /* the library of method normal's Gram: the CPU backend's
                                  * automatic choice ("openblas (Cooperlake)", "blis 0.9.0
                                  * (zen3)"); a caller with a backend sets the one it runs */
    int blas_threads;            /* openblas_get_num_threads(); -1: unknown */
    int solver_threads;          /* CPU backend workers (ooc_cpu_backend_threads) */
    int input_threads;           /* threads decoding HDF5 chunks / evaluating CSV rows */
    char openblas_coretype[64];  /* $OPENBLAS_CORETYPE (read, never changed) */
    char openblas_l2_size[32];   /* $OPENBLAS_L2_SIZE */
    char blas_warning[640];      /* ooc_blas_core_warning's text for this machine */
} ooc_cpu_info;

/* Gather the facts for a run with `nthreads` threads requested (--threads;
 * 0: the defaults).  BLAS threads are read as they are now, so call it after
 * creating the backend, which may change them.  Never fails: what cannot be
 * read is left unknown. */
void ooc_cpu_info_gather(int nthreads, ooc_cpu_info *out);

/* The space-separated names of the extensions in `flags` into buf[size]
 * (truncated to fit; "" when none). */
void ooc_cpu_extension_names(unsigned flags, char *buf, size_t size);

/* Decide whether OpenBLAS's kernel choice deserves a warning; a pure
 * function of its inputs.  `core`: openblas_get_corename() (NULL or "": not
 * OpenBLAS, no warning); `flags`: the CPU's OOC_CPU_* flags; `coretype_env`:
 * the value of OPENBLAS_CORETYPE, NULL when unset.  Warns when
 *  - a CPU with AVX2 and FMA (or AVX-512F/DQ/BW/VL) runs one of OpenBLAS's
 *    kernel sets written for older CPUs (generic C; SSE-era cores such as
 *    Prescott, Core2, Nehalem, Atom, Opteron, Barcelona; Sandybridge's AVX
 *    without FMA; Bulldozer-era 128-bit cores): BLAS runs at a fraction of
 *    the CPU's speed, and the fix is OPENBLAS_CORETYPE=SkylakeX (AVX-512),
 *    Zen (other AMD) or Haswell;
 *  - the kernels need instructions the CPU lacks (a forced SkylakeX on an
 *    AVX2 CPU): BLAS calls may die with an illegal instruction.
 * When OPENBLAS_CORETYPE is set, the text says that the environment forced
 * the kernels (or asked for others).  Returns true with the one-line text in
 * text[size] (truncated to fit); false with text "" otherwise.  Core names
 * this function does not know (newer or non-x86 cores) never warn. */
bool ooc_blas_core_warning(const char *core, unsigned flags, const char *coretype_env, char *text,
                           size_t size);

/* openblas_get_corename() of the OpenBLAS in this process ("" when the BLAS
 * is not OpenBLAS), and whether ooc_blas_core_warning warns for it on this
 * CPU under this environment: the CPU backend's automatic Gram choice. */
const char *ooc_openblas_corename(void);
bool ooc_openblas_core_warns(void);

/* One fact of an ooc_cpu_info, for the reports to list in a fixed order. */
typedef enum ooc_cpu_fact_kind {
    OOC_CPU_FACT_TEXT,   /* `text`; NULL: unknown or not set */
    OOC_CPU_FACT_WORDS,  /* `text` is a space-separated list ("": none) */
    OOC_CPU_FACT_INT     /* `number`; < 0: unknown */
} ooc_cpu_fact_kind;

typedef struct ooc_cpu_fact {
    const char *key;     /* JSON member / trace metadata name: "model", "blas_core", ... */
    const char *label;   /* the same for people: "model", "BLAS core", ... */
    ooc_cpu_fact_kind kind;
    const char *text;    /* points into the ooc_cpu_info (or static) */
    long number;
    const char *absent;  /* how people read a missing value: "unknown", "not set", "none" */
} ooc_cpu_fact;

#define OOC_CPU_NFACTS 14

/* The facts of `info` in report order (model, extensions, rows kernel,
 * BLAS, threads, OpenBLAS environment), borrowing its strings: valid while
 * *info is.  The BLAS warning is not among them (info->blas_warning). */
void ooc_cpu_info_facts(const ooc_cpu_info *info, ooc_cpu_fact facts[OOC_CPU_NFACTS]);

#endif

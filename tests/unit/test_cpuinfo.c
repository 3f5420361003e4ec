/*
 * test_cpuinfo.c — the CPU facts (cpuinfo.h): the OpenBLAS kernel warning's
 * classifier over a table of (core, CPU flags, OPENBLAS_CORETYPE) cases that
 * does not depend on this machine; the gathered facts against direct calls
 * (openblas_get_corename/config/num_threads, __builtin_cpu_supports, the
 * rows kernel's choice, the environment); and the "cpu" JSON object
 * (report.h) read back with the JSON reader.  Holds on any x86-64 CPU and
 * with or without OPENBLAS_CORETYPE set; it never sets it.
 */
#define _POSIX_C_SOURCE 200809L
#include "backend/cpuinfo.h"
#include "base/json.h"
#include "solve/report.h"
#include "backend/tsqr_rows.h"
#include "testutil.h"

#include <cblas.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SSE (OOC_CPU_SSE42)
#define AVX (SSE | OOC_CPU_AVX)
#define AVX2 (AVX | OOC_CPU_AVX2 | OOC_CPU_FMA)
#define AVX512 (AVX2 | OOC_CPU_AVX512F | OOC_CPU_AVX512DQ | OOC_CPU_AVX512BW | OOC_CPU_AVX512VL)
#define AMD OOC_CPU_AMD

/* Expected outcome: no warning, or a warning whose text contains `want`
 * (and `also`, when given). */
typedef struct warn_case {
    const char *core;
    unsigned flags;
    const char *env;
    bool warns;
    const char *want;
    const char *also;
} warn_case;

static void test_classifier(void)
{
    static const warn_case cases[] = {
        /* old kernels on an AVX2 / AVX-512 CPU: warn, with the core to ask for */
        {"Prescott", AVX2, NULL, true, "export OPENBLAS_CORETYPE=Haswell", "fraction"},
        {"Prescott", AVX2 | AMD, NULL, true, "export OPENBLAS_CORETYPE=Zen", "Prescott kernels"},
        {"Prescott", AVX512, NULL, true, "export OPENBLAS_CORETYPE=SkylakeX", "AVX-512"},
        {"Prescott", AVX512 | AMD, NULL, true, "OPENBLAS_CORETYPE=SkylakeX", NULL},
        {"PRESCOTT", AVX2, NULL, true, "OPENBLAS_CORETYPE=Haswell", NULL}, /* non-dynamic name */
        {"Core2", AVX2, NULL, true, "Haswell", NULL},
        {"Nehalem", AVX512, NULL, true, "SkylakeX", NULL},
        {"Atom", AVX2, NULL, true, "Haswell", NULL},
        {"Katmai", AVX2, NULL, true, "Haswell", NULL},
        {"Dunnington", AVX2, NULL, true, "Haswell", NULL},
        {"Penryn", AVX2, NULL, true, "Haswell", NULL},
        {"Opteron_SSE3", AVX2 | AMD, NULL, true, "Zen", NULL},
        {"Barcelona", AVX2 | AMD, NULL, true, "Zen", NULL},
        {"Bobcat", AVX2 | AMD, NULL, true, "Zen", NULL},
        {"Sandybridge", AVX2, NULL, true, "Haswell", "no AVX2"},
        {"Bulldozer", AVX2 | AMD, NULL, true, "Zen", NULL},
        {"Piledriver", AVX2 | AMD, NULL, true, "Zen", NULL},
        {"Excavator", AVX2 | AMD, NULL, true, "Zen", NULL},
        {"generic", AVX2, NULL, true, "plain C", NULL},
        /* only part of AVX-512 (Skylake-X's F/DQ/BW/VL needed for SkylakeX) */
        {"Prescott", AVX2 | OOC_CPU_AVX512F, NULL, true, "OPENBLAS_CORETYPE=Haswell", NULL},
        /* kernels that suit the CPU: no warning */
        {"Haswell", AVX2, NULL, false, NULL, NULL},
        {"Zen", AVX2 | AMD, NULL, false, NULL, NULL},
        {"Haswell", AVX512, NULL, false, NULL, NULL},
        {"SkylakeX", AVX512, NULL, false, NULL, NULL},
        {"Cooperlake", AVX512, NULL, false, NULL, NULL},
        {"Zen", AVX512 | AMD, NULL, false, NULL, NULL},
        {"Haswell", AVX2, "Haswell", false, NULL, NULL},
        /* a CPU without AVX2: OpenBLAS has nothing much faster for it */
        {"Prescott", AVX, NULL, false, NULL, NULL},
        {"Sandybridge", AVX, NULL, false, NULL, NULL},
        {"Nehalem", SSE, NULL, false, NULL, NULL},
        /* not OpenBLAS, or a core this table does not know: no opinion */
        {NULL, AVX2, NULL, false, NULL, NULL},
        {"", AVX2, NULL, false, NULL, NULL},
        {"Unknown", AVX2, NULL, false, NULL, NULL},
        {"Zen5", AVX512 | AMD, NULL, false, NULL, NULL},
        {"armv8", 0, NULL, false, NULL, NULL},
        /* the environment forced the old kernels: say so, and suggest a replacement */
        {"Prescott", AVX2, "Prescott", true, "forced by OPENBLAS_CORETYPE=Prescott", "Haswell instead"},
        {"Nehalem", AVX2 | AMD, "nehalem", true, "forced by OPENBLAS_CORETYPE=nehalem", "Zen instead"},
        /* the environment asked for another core, OpenBLAS ran an old one */
        {"Prescott", AVX2, "Zen3", true, "environment sets OPENBLAS_CORETYPE=Zen3", "Haswell instead"},
        /* forced kernels the CPU cannot run */
        {"SkylakeX", AVX2 | AMD, "SkylakeX", true, "illegal instruction", "unset it"},
        {"Haswell", AVX, "Haswell", true, "lacks AVX2 and FMA", NULL},
        {"SkylakeX", AVX2, NULL, true, "illegal instruction", "export OPENBLAS_CORETYPE=Haswell"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const warn_case *c = &cases[i];
        char text[640];
        memset(text, 'x', sizeof text);
        bool warned = ooc_blas_core_warning(c->core, c->flags, c->env, text, sizeof text);
        const char *core = c->core ? c->core : "(null)";
        CHECK_MSG(warned == c->warns, "case %zu (%s, flags 0x%x, env %s): warned %d: %s", i, core,
                  c->flags, c->env ? c->env : "unset", warned, text);
        if (!c->warns) {
            CHECK_MSG(text[0] == '\0', "case %zu: no warning, but text \"%s\"", i, text);
            continue;
        }
        CHECK_MSG(strstr(text, c->want), "case %zu (%s): \"%s\" lacks \"%s\"", i, core, text,
                  c->want);
        CHECK_MSG(!c->also || strstr(text, c->also), "case %zu (%s): \"%s\" lacks \"%s\"", i,
                  core, text, c->also);
        CHECK_MSG(strstr(text, c->core) && !strchr(text, '\n'),
                  "case %zu: one line naming the core: \"%s\"", i, text);
        CHECK_MSG(!c->env || strstr(text, c->env), "case %zu: names the environment's value: %s",
                  i, text);
    }
    /* a short buffer: truncated, terminated, still a warning */
    char small[24];
    CHECK(ooc_blas_core_warning("Prescott", AVX2, NULL, small, sizeof small));
    CHECK(strlen(small) == sizeof small - 1);
}

static void test_extension_names(void)
{
    char buf[128];
    ooc_cpu_extension_names(AVX512 | AMD, buf, sizeof buf);
    CHECK_STREQ(buf, "sse4.2 avx avx2 fma avx512f avx512dq avx512bw avx512vl");
    ooc_cpu_extension_names(OOC_CPU_FMA | OOC_CPU_AVX512VL, buf, sizeof buf);
    CHECK_STREQ(buf, "fma avx512vl");
    ooc_cpu_extension_names(AMD, buf, sizeof buf);
    CHECK_STREQ(buf, "");
    ooc_cpu_extension_names(AVX512, buf, 12); /* whole names only */
    CHECK_STREQ(buf, "sse4.2 avx");
}

/* Whether `word` is one of the space-separated words of `list`. */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static void test_gathered_facts(void)
{
    ooc_cpu_info info;
    ooc_cpu_info_gather(0, &info);
    CHECK(info.model[0] != '\0');
    /* BLAS: what OpenBLAS itself says */
    CHECK_STREQ(info.blas_core, openblas_get_corename());
    CHECK_STREQ(info.blas_config, openblas_get_config());
    CHECK_STREQ(info.blas, "OpenBLAS");
    CHECK(info.blas_version[0] && strstr(openblas_get_config(), info.blas_version));
    CHECK(info.blas_threads == openblas_get_num_threads());
    /* the rows kernel: the build tsqr_rows.c chose */
    CHECK_STREQ(info.rows_kernel, ooc_tsqr_rows_isa());
    CHECK(info.rows_kernel_max_p == (int)ooc_tsqr_rows_max_p());
    /* threads: the CPU backend's default of 2 workers, input on every online CPU */
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(info.solver_threads == 2);
    CHECK(info.input_threads == (online > 0 ? (int)online : 1));
    ooc_cpu_info three;
    ooc_cpu_info_gather(3, &three);
    CHECK(three.solver_threads == 3 && three.input_threads == 3);
    /* the environment, read as it is */
    const char *coretype = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    CHECK_STREQ(info.openblas_coretype, coretype ? coretype : "");
    CHECK_STREQ(info.openblas_l2_size, l2 ? l2 : "");
    char expect[sizeof info.blas_warning];
    ooc_blas_core_warning(info.blas_core, info.flags, coretype && *coretype ? coretype : NULL,
                          expect, sizeof expect);
    CHECK_STREQ(info.blas_warning, expect);
    printf("cpu: %s | %s | rows kernel %s | %s | warning: %s\n", info.model, info.extensions,
           info.rows_kernel, info.blas_config, info.blas_warning[0] ? info.blas_warning : "none");
#if defined(__x86_64__)
    /* extensions: each flag and name as libgcc reports it */
    __builtin_cpu_init();
    const struct {
        const char *name;
        unsigned flag;
        bool has;
    } ext[] = {
        {"sse4.2", OOC_CPU_SSE42, __builtin_cpu_supports("sse4.2")},
        {"avx", OOC_CPU_AVX, __builtin_cpu_supports("avx")},
        {"avx2", OOC_CPU_AVX2, __builtin_cpu_supports("avx2")},
        {"fma", OOC_CPU_FMA, __builtin_cpu_supports("fma")},
        {"avx512f", OOC_CPU_AVX512F, __builtin_cpu_supports("avx512f")},
        {"avx512dq", OOC_CPU_AVX512DQ, __builtin_cpu_supports("avx512dq")},
        {"avx512bw", OOC_CPU_AVX512BW, __builtin_cpu_supports("avx512bw")},
        {"avx512vl", OOC_CPU_AVX512VL, __builtin_cpu_supports("avx512vl")},
    };
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        CHECK_MSG(ext[i].has == !!(info.flags & ext[i].flag), "flag %s", ext[i].name);
        CHECK_MSG(ext[i].has == has_word(info.extensions, ext[i].name), "\"%s\" and %s",
                  info.extensions, ext[i].name);
    }
    CHECK(!!__builtin_cpu_is("amd") == !!(info.flags & OOC_CPU_AMD));
    /* the rows kernel agrees with the extensions (AVX-512F, else AVX2 + FMA, else base) */
    const char *isa = info.flags & OOC_CPU_AVX512F                           ? "avx512"
                      : (info.flags & (OOC_CPU_AVX2 | OOC_CPU_FMA)) ==
                                (OOC_CPU_AVX2 | OOC_CPU_FMA) ? "avx2"
                                                             : "base";
    CHECK_STREQ(info.rows_kernel, isa);
#endif
}

/* The facts' table: unique keys, every fact labelled; and the JSON object. */
static void test_facts_and_json(void)
{
    ooc_cpu_info info;
    ooc_cpu_info_gather(0, &info);
    ooc_cpu_fact facts[OOC_CPU_NFACTS];
    ooc_cpu_info_facts(&info, facts);
    for (size_t i = 0; i < OOC_CPU_NFACTS; i++) {
        CHECK(facts[i].key && facts[i].label && facts[i].absent);
        for (size_t j = 0; j < i; j++)
            CHECK_MSG(strcmp(facts[i].key, facts[j].key), "key %s twice", facts[i].key);
    }

    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    CHECK(f != NULL);
    if (!f)
        return;
    ooc_report_cpu_json(f, &info);
    fclose(f);
    ooc_json_value *v = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_json_parse(doc, len, "cpu", &v, &err) == OOC_OK, "%s: %s", err.message, doc);
    if (v) {
        CHECK(v->type == OOC_JSON_OBJECT && v->n == OOC_CPU_NFACTS + 1);
        const ooc_json_value *core = ooc_json_get(v, "blas_core");
        CHECK(core && core->type == OOC_JSON_STRING && !strcmp(core->string, info.blas_core));
        const ooc_json_value *ext = ooc_json_get(v, "extensions");
        CHECK(ext && ext->type == OOC_JSON_ARRAY);
        for (size_t i = 0; ext && i < ext->n; i++)
            CHECK(ext->items[i].type == OOC_JSON_STRING &&
                  has_word(info.extensions, ext->items[i].string));
        const ooc_json_value *threads = ooc_json_get(v, "solver_threads");
        CHECK(threads && threads->type == OOC_JSON_NUMBER && threads->number == 2);
        const ooc_json_value *env = ooc_json_get(v, "openblas_coretype");
        CHECK(env && (info.openblas_coretype[0] ? env->type == OOC_JSON_STRING
                                                : env->type == OOC_JSON_NULL));
        const ooc_json_value *warn = ooc_json_get(v, "blas_warning");
        CHECK(warn && (info.blas_warning[0] ? warn->type == OOC_JSON_STRING &&
                                                  !strcmp(warn->string, info.blas_warning)
                                            : warn->type == OOC_JSON_NULL));
    }
    ooc_json_free(v);
    free(doc);

    /* unknown values read as null: a BLAS that is not OpenBLAS */
    ooc_cpu_info other = info;
    other.blas[0] = other.blas_version[0] = other.blas_config[0] = other.blas_core[0] = '\0';
    other.blas_threads = -1;
    doc = NULL;
    f = open_memstream(&doc, &len);
    if (!f)
        return;
    ooc_report_cpu_json(f, &other);
    fclose(f);
    CHECK_MSG(strstr(doc, "\"blas\": null") && strstr(doc, "\"blas_core\": null") &&
                  strstr(doc, "\"blas_threads\": null"),
              "%s", doc);
    free(doc);
}

int main(void)
{
    test_classifier();
    test_extension_names();
    test_gathered_facts();
    test_facts_and_json();
    return TEST_EXIT();
}

/* test_cluster.c — the cluster covariance's hash table (solve/cluster.c): sums of many groups
 * in random order against a reference by sorting, growth keeping every sum and the order of
 * first sight, keys that differ only in high bits or in word order (what a weak hash would
 * collide), the meat Σ S_g S_gᵀ against a direct sum, and the memory limit's message.  Values
 * are small integers, so every sum is exact and compared with ==. */
#include "solve/cluster.h"

#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define K 3

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef struct row {
    uint64_t key;
    double v[K];
    size_t order;
} row;

static int by_key(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key ? 1 : x->order < y->order ? -1 : 1;
}

/* 600k rows over ~200k groups (keys spread over 64 bits), then every group's sum and the
 * first-sight order against a sort. */
static void test_many_groups(void)
{
    const size_t n = 600000, ngroups = 200000;
    uint64_t seed = 88172645463325252ull;
    uint64_t *group_keys = malloc(ngroups * sizeof *group_keys);
    row *rows = malloc(n * sizeof *rows);
    CHECK(group_keys && rows);
    if (!group_keys || !rows)
        goto out;
    for (size_t g = 0; g < ngroups; g++)
        group_keys[g] = next_random(&seed);
    ooc_cluster_table t;
    ooc_cluster_table_init(&t, K, 1, 0, "the test's groups");
    ooc_error err;
    size_t slots_seen = 0, grows = 0;
    for (size_t i = 0; i < n; i++) {
        rows[i].key = group_keys[next_random(&seed) % ngroups];
        rows[i].order = i;
        for (int h = 0; h < K; h++)
            rows[i].v[h] = (double)(int)(next_random(&seed) % 201) - 100.0;
        CHECK(ooc_cluster_table_add(&t, &rows[i].key, rows[i].v, 2.0, &err) == OOC_OK);
        if (t.nslots != slots_seen) {
            grows++;
            slots_seen = t.nslots;
        }
        CHECK(2 * t.n <= t.nslots);
    }
    CHECK_MSG(grows >= 10, "the index grew %zu times", grows);
    qsort(rows, n, sizeof *rows, by_key);
    /* the table's entries sorted by key (entry index in `order`), walked beside the rows */
    row *entries = malloc(t.n * sizeof *entries);
    CHECK(entries != NULL);
    if (!entries)
        goto done;
    for (size_t e = 0; e < t.n; e++) {
        entries[e].key = t.keys[e];
        entries[e].order = e;
    }
    qsort(entries, t.n, sizeof *entries, by_key);
    size_t e = 0, *first_row = malloc(t.n * sizeof *first_row);
    CHECK(first_row != NULL);
    for (size_t i = 0; i < n && first_row;) {
        double sum[K] = {0};
        size_t j = i;
        for (; j < n && rows[j].key == rows[i].key; j++)
            for (int h = 0; h < K; h++)
                sum[h] += 2.0 * rows[j].v[h];
        CHECK_MSG(e < t.n && entries[e].key == rows[i].key, "group %llx missing",
                  (unsigned long long)rows[i].key);
        if (e < t.n && entries[e].key == rows[i].key) {
            size_t at = entries[e].order;
            for (int h = 0; h < K; h++)
                CHECK(t.sums[at * K + h] == sum[h]);
            first_row[at] = rows[i].order; /* rows[i]: the group's first row (by_key) */
        }
        e++;
        i = j;
    }
    CHECK_MSG(e == t.n, "%zu groups in the rows, %zu in the table", e, t.n);
    /* entries in order of first sight */
    for (size_t a = 1; first_row && a < t.n; a++)
        CHECK(first_row[a - 1] < first_row[a]);
    free(first_row);
    free(entries);
done:
    ooc_cluster_table_free(&t);
out:
    free(group_keys);
    free(rows);
}

/* Keys a weak hash would collide: equal low bits (multiples of 2^40), and pairs in both word
 * orders; each must stay its own group, in the order first seen. */
static void test_colliding_keys(void)
{
    ooc_cluster_table t;
    ooc_error err;
    const double one[2] = {1.0, -1.0};
    ooc_cluster_table_init(&t, 2, 2, 0, "pairs");
    for (int rep = 0; rep < 3; rep++)
        for (uint64_t a = 0; a < 500; a++) {
            uint64_t k1[2] = {a << 40, (a + 1) << 40}, k2[2] = {(a + 1) << 40, a << 40};
            CHECK(ooc_cluster_table_add(&t, k1, one, 1.0, &err) == OOC_OK);
            CHECK(ooc_cluster_table_add(&t, k2, one, 3.0, &err) == OOC_OK);
        }
    CHECK_MSG(t.n == 1000, "%zu groups, 1000 wanted", t.n);
    for (size_t e = 0; e < t.n && e < 1000; e++) {
        uint64_t a = e / 2;
        bool second = e % 2;
        CHECK(t.keys[2 * e] == (second ? (a + 1) << 40 : a << 40));
        CHECK(t.sums[2 * e] == (second ? 9.0 : 3.0) && t.sums[2 * e + 1] == -t.sums[2 * e]);
    }
    ooc_cluster_table_free(&t);
    /* the extremes of one word: 0, all ones, a NaN pattern (a text key) */
    ooc_cluster_table_init(&t, 2, 1, 0, "extremes");
    const uint64_t keys[3] = {0, UINT64_MAX, UINT64_C(0x7FF8000000000001)};
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < 3; i++)
            CHECK(ooc_cluster_table_add(&t, &keys[i], one, (double)(i + 1), &err) == OOC_OK);
    CHECK(t.n == 3);
    for (size_t e = 0; e < t.n; e++)
        CHECK(t.keys[e] == keys[e] && t.sums[2 * e] == 2.0 * (double)(e + 1));
    ooc_cluster_table_free(&t);
}

/* The meat against Σ_g S_g S_gᵀ summed directly (upper triangle). */
static void test_meat(void)
{
    ooc_cluster_table t;
    ooc_error err;
    ooc_cluster_table_init(&t, K, 1, 0, "meat");
    uint64_t seed = 12345;
    for (int i = 0; i < 5000; i++) {
        uint64_t key = next_random(&seed) % 97;
        double v[K];
        for (int h = 0; h < K; h++)
            v[h] = (double)(int)(next_random(&seed) % 21) - 10.0;
        CHECK(ooc_cluster_table_add(&t, &key, v, 1.0, &err) == OOC_OK);
    }
    double m[K * K], want[K * K] = {0};
    ooc_cluster_table_meat(&t, m);
    for (size_t e = 0; e < t.n; e++)
        for (int a = 0; a < K; a++)
            for (int b = a; b < K; b++)
                want[a * K + b] += t.sums[e * K + a] * t.sums[e * K + b];
    for (int a = 0; a < K; a++)
        for (int b = a; b < K; b++)
            CHECK_MSG(m[a * K + b] == want[a * K + b], "meat[%d][%d] %g vs %g", a, b,
                      m[a * K + b], want[a * K + b]);
    ooc_cluster_table_free(&t);
}

/* Past max_bytes: OOC_ERR_NOMEM naming the table, the estimate and the option; the sums so far
 * are kept. */
static void test_limit(void)
{
    ooc_cluster_table t;
    ooc_error err = {0};
    const double v[K] = {1, 2, 3};
    ooc_cluster_table_init(&t, K, 1, 8192, "the groups of 'g'");
    ooc_status st = OOC_OK;
    uint64_t key = 0;
    for (; key < 100000 && st == OOC_OK; key++)
        st = ooc_cluster_table_add(&t, &key, v, 1.0, &err);
    CHECK(st == OOC_ERR_NOMEM);
    CHECK_MSG(strstr(err.message, "the groups of 'g'") && strstr(err.message, "MiB") &&
                  strstr(err.message, "--max-cluster-memory"),
              "%s", err.message);
    CHECK(key < 1000 && t.n == key - 1);
    CHECK((double)t.cap * (K + 1) * 8 + (double)t.nslots * sizeof(ooc_cluster_slot) <= 8192.0);
    ooc_cluster_table_free(&t);
    CHECK(ooc_cluster_default_max_bytes() > ((size_t)1 << 26));
}

int main(void)
{
    test_many_groups();
    test_colliding_keys();
    test_meat();
    test_limit();
    return TEST_EXIT();
}

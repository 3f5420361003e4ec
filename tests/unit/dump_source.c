/* dump_source.c — test helper: open an HDF5 file as an ooc_source and write
 * every block, in delivery order, as raw native doubles (row-major [X y w])
 * to OUT, so a Python oracle can compare them with numpy bit-for-bit.
 *
 * usage: dump_source FILE.h5 OUT.bin [--x NAME] [--y NAME] [--y-column NAME]
 *                    [--w NAME] [--w-column NAME] [--no-y] [--block-rows N]
 *                    [--threads N] [--ring N]
 * stdout (success): one line "nrows=N ncols=K p=P has_y=0|1 has_w=0|1 blocks=B"
 * then one line per X column name.  On failure: exit 1, stderr
 * "status=<code> <message>". */
#include "stream/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(ooc_status st, const char *message)
{
    fprintf(stderr, "status=%d %s\n", (int)st, message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE.h5 OUT.bin [options]\n", argv[0]);
        return 2;
    }
    ooc_source_options o;
    ooc_source_options_init(&o);
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-y") == 0) {
            o.need_y = false;
            o.y_dataset = NULL;
            continue;
        }
        if (!v) {
            fprintf(stderr, "%s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--x") == 0)
            o.x_dataset = v;
        else if (strcmp(a, "--y") == 0)
            o.y_dataset = v;
        else if (strcmp(a, "--y-column") == 0)
            o.y_column = v;
        else if (strcmp(a, "--w") == 0)
            o.w_dataset = v;
        else if (strcmp(a, "--w-column") == 0)
            o.w_column = v;
        else if (strcmp(a, "--block-rows") == 0)
            o.block_rows = (size_t)strtoull(v, NULL, 10);
        else if (strcmp(a, "--threads") == 0)
            o.nthreads = atoi(v);
        else if (strcmp(a, "--ring") == 0)
            o.ring_size = atoi(v);
        else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }

    ooc_error err = {0};
    ooc_source *src = NULL;
    ooc_status st = ooc_h5_source_open(argv[1], &o, &src, &err);
    if (st != OOC_OK)
        return fail(st, err.message);
    FILE *out = fopen(argv[2], "wb");
    if (!out) {
        ooc_source_free(src);
        return fail(OOC_ERR_IO, "cannot create the output file");
    }
    ooc_block *b;
    uint64_t blocks = 0;
    int rc = 0;
    while ((st = src->vt->next(src, &b, &err)) == OOC_OK && b) {
        if (fwrite(b->data, sizeof(double), b->nrows * b->ncols, out) != b->nrows * b->ncols)
            rc = 1;
        blocks++;
        src->vt->release(src, b);
    }
    if (fclose(out) != 0)
        rc = 1;
    if (st != OOC_OK) {
        rc = fail(st, err.message);
    } else if (rc) {
        rc = fail(OOC_ERR_IO, "writing the output failed");
    } else {
        printf("nrows=%llu ncols=%zu p=%zu has_y=%d has_w=%d blocks=%llu\n",
               (unsigned long long)src->nrows, src->ncols, src->p, (int)src->has_y,
               (int)src->has_weights, (unsigned long long)blocks);
        for (size_t j = 0; j < src->p; j++)
            printf("%s\n", src->column_names[j]);
    }
    ooc_source_free(src);
    return rc;
}

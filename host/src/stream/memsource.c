/*
 * memsource.c — ooc_source over caller-owned arrays (see memsource.h).
 * Blocks are copied into a ring of two buffers so consumers see the same
 * [X y w] row-major layout and ownership rules as with file sources.
 */
#include "stream/memsource.h"

#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MEM_RING = 2 };

typedef struct mem_source {
    ooc_source pub;            /* must be first */
    ooc_mem_source_spec spec;
    ooc_block blocks[MEM_RING];
    bool busy[MEM_RING];
    uint64_t next_row;
} mem_source;

static ooc_status mem_next(ooc_source *src, ooc_block **blk, ooc_error *err)
{
    mem_source *m = (mem_source *)src;
    *blk = NULL;
    if (m->next_row >= m->spec.nrows)
        return OOC_OK;
    int slot = -1;
    for (int s = 0; s < MEM_RING; s++)
        if (!m->busy[s]) {
            slot = s;
            break;
        }
    if (slot < 0)
        return OOC_FAIL(err, OOC_ERR_INTERNAL,
                        "memory source: all %d ring buffers are held; release blocks first",
                        MEM_RING);
    ooc_block *b = &m->blocks[slot];
    uint64_t left = m->spec.nrows - m->next_row;
    size_t n = left < m->pub.block_rows ? (size_t)left : m->pub.block_rows;
    size_t p = m->spec.p, nc = m->pub.ncols;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = m->next_row + i;
        double *dst = b->data + i * nc;
        memcpy(dst, m->spec.x + r * p, p * sizeof(double));
        size_t c = p;
        if (m->spec.y)
            dst[c++] = m->spec.y[r];
        if (m->spec.w)
            dst[c] = m->spec.w[r];
    }
    b->nrows = n;
    b->ncols = nc;
    b->first_row = m->next_row;
    b->slot = slot;
    m->busy[slot] = true;
    m->next_row += n;
    *blk = b;
    return OOC_OK;
}

static void mem_release(ooc_source *src, ooc_block *blk)
{
    mem_source *m = (mem_source *)src;
    if (blk && blk->slot >= 0 && blk->slot < MEM_RING)
        m->busy[blk->slot] = false;
}

static ooc_status mem_rewind(ooc_source *src, ooc_error *err)
{
    mem_source *m = (mem_source *)src;
    for (int s = 0; s < MEM_RING; s++)
        if (m->busy[s])
            return OOC_FAIL(err, OOC_ERR_INTERNAL, "memory source: rewind with a block still held");
    m->next_row = 0;
    return OOC_OK;
}

static void mem_destroy(ooc_source *src)
{
    mem_source *m = (mem_source *)src;
    for (int s = 0; s < MEM_RING; s++)
        if (m->blocks[s].data)
            m->spec.allocator.free(m->blocks[s].data, m->spec.allocator.ctx);
    ooc_source_free_description(&m->pub);
    free(m);
}

static const ooc_source_vtable mem_vtable = {mem_next, mem_release, mem_rewind, mem_destroy};

ooc_status ooc_mem_source_open(const ooc_mem_source_spec *spec, ooc_source **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    if (spec->p == 0 || (spec->nrows > 0 && !spec->x))
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "memory source: need p >= 1 columns and an X array (p = %zu)", spec->p);
    mem_source *m = calloc(1, sizeof *m);
    if (!m)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "memory source: out of memory");
    m->spec = *spec;
    if (!m->spec.allocator.alloc)
        m->spec.allocator = ooc_default_allocator;
    m->pub.vt = &mem_vtable;
    m->pub.nrows = spec->nrows;
    m->pub.p = spec->p;
    m->pub.has_y = spec->y != NULL;
    m->pub.has_weights = spec->w != NULL;
    m->pub.ncols = spec->p + (spec->y ? 1 : 0) + (spec->w ? 1 : 0);
    m->pub.block_rows = spec->block_rows ? spec->block_rows : 65536;
    for (int s = 0; s < MEM_RING; s++)
        m->blocks[s].slot = -1;
    m->pub.column_names = calloc(spec->p, sizeof(char *));
    OOC_FAIL_IF(!m->pub.column_names, err, OOC_ERR_NOMEM, "memory source: out of memory");
    for (size_t j = 0; j < spec->p; j++) {
        char generic[32];
        snprintf(generic, sizeof generic, "x%zu", j);
        m->pub.column_names[j] =
            strdup(spec->column_names && spec->column_names[j] ? spec->column_names[j] : generic);
        OOC_FAIL_IF(!m->pub.column_names[j], err, OOC_ERR_NOMEM, "memory source: out of memory");
    }
    if (spec->y) {
        m->pub.y_name = strdup(spec->y_name ? spec->y_name : "y");
        OOC_FAIL_IF(!m->pub.y_name, err, OOC_ERR_NOMEM, "memory source: out of memory");
    }
    for (int s = 0; s < MEM_RING; s++) {
        m->blocks[s].data = m->spec.allocator.alloc(m->pub.block_rows * m->pub.ncols * sizeof(double),
                                                    m->spec.allocator.ctx);
        OOC_FAIL_IF(!m->blocks[s].data, err, OOC_ERR_NOMEM,
                    "memory source: out of memory for a %zu-row block", m->pub.block_rows);
    }
    *out = &m->pub;
out:
    if (status != OOC_OK)
        mem_destroy(&m->pub);
    return status;
}

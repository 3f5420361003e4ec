/*
 * u_writer.h — svd's second pass: U = W^½X · V_k Σ_k⁻¹, block by block,
 * into a new PyTables-compatible HDF5 file (u_writer.c).
 */
#ifndef OOC_SOLVE_U_WRITER_H
#define OOC_SOLVE_U_WRITER_H

#include "backend/backend.h"
#include "oocsolve.h"

/* Write U for r's k singular triplets (r->s, r->vt) to o->u_out, as /X with
 * columns u0..u{k-1}; r->u_path records it.  The file appears only when
 * complete.  Errors: OOC_ERR_NUMERIC (a zero singular value), the source's,
 * the backend's, the HDF5 writer's, OOC_ERR_INTERRUPTED, OOC_ERR_NOMEM. */
ooc_status ooc_write_u(ooc_source *src, ooc_backend *be, const ooc_svd_options *o,
                       ooc_svd_result *r, ooc_error *err);

#endif

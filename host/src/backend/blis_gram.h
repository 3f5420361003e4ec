/*
 * blis_gram.h — the Gram update of the CPU backend's method normal,
 * C(upper) += A·Aᵀ, by OpenBLAS (linked) or BLIS (loaded at run time).
 *
 * Where OpenBLAS falls back to kernels written for older CPUs (some CPUs
 * make these machines set OPENBLAS_CORETYPE), BLIS picks its own kernels for
 * the CPU and measured faster on dsyrk (docs/BENCHMARKS.md).  BLIS exports
 * the same BLAS/CBLAS names as OpenBLAS, and its CBLAS wrappers call the
 * Fortran names, which the process resolves to OpenBLAS's.  So BLIS is never
 * linked: libblis.so.4 is dlopen'ed with RTLD_LOCAL and its own typed API
 * (bli_dsyrk, whose names no other library has) taken by name.  Building
 * this path needs blis.h (Debian: libblis-pthread-dev, which
 * cmake/bootstrap.sh installs); without it the choice is OpenBLAS only.
 */
#ifndef OOC_BACKEND_BLIS_GRAM_H
#define OOC_BACKEND_BLIS_GRAM_H

#include "backend/backend.h"

#include <stddef.h>

/* C += A·Aᵀ on the upper triangle: A is p x k column-major (leading
 * dimension lda), C p x p column-major (ldc).  Single-threaded: the
 * backend's workers call it in parallel. */
typedef void (*ooc_gram_update_fn)(int p, int k, const double *a, int lda, double *c, int ldc);

/* The Gram update for `asked` (backend.h's rule for auto) into *fn, and
 * what runs it into desc[size]: "openblas (Cooperlake)", "blis 0.9.0
 * (zen3)".  Errors: OOC_ERR_UNSUPPORTED (BLIS asked for and not loadable,
 * with the reason). */
ooc_status ooc_gram_update_choose(ooc_cpu_gram_blas asked, ooc_gram_update_fn *fn, char *desc,
                                  size_t size, ooc_error *err);

#endif

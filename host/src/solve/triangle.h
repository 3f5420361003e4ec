/*
 * triangle.h — finalize's dense steps on the p x p (or p_aug x p_aug)
 * row-major upper triangle a pass leaves (triangle.c).  Costs are O(p³), or
 * O(m²p) when only the first m rows are nonzero (fewer rows than columns):
 * docs/ARCHITECTURE.md, "Finalize: the robust covariance, and what it costs".
 */
#ifndef OOC_SOLVE_TRIANGLE_H
#define OOC_SOLVE_TRIANGLE_H

#include "backend/backend.h"
#include "oocsolve.h"

/* Rows of r (p x p, leading dimension ld) up to its last nonzero row. */
size_t ooc_triangle_rows(const double *r, size_t ld, size_t p);

/* Singular values (descending, p of them, zero after the first m) of r
 * (p x p, ld, zero from row m on), its columns scaled to unit norm when
 * `scaled`; vt (may be NULL) gets the first m rows of Vᵀ (m x p).  The full
 * triangle goes to the backend (ooc_backend_svd_triangle), a trapezoid to
 * LAPACK here.  Errors: OOC_ERR_NOMEM, OOC_ERR_NUMERIC (no convergence), the
 * backend's. */
ooc_status ooc_triangle_singular_values(ooc_backend *be, const double *r, size_t ld, size_t p,
                                        size_t m, bool scaled, double *s, double *vt,
                                        ooc_error *err);

/* Refuse (OOC_ERR_NOMEM, naming each size) the dense arrays of `what`
 * ("fit" / "svd") that cannot fit in the memory available now: the
 * p_aug x p_aug triangle (0: already held), the p_cov x p_cov covariance (0:
 * none), the SVD of m nonzero rows of p columns, and a k_vt x p Vᵀ (0: none). */
ooc_status ooc_check_dense_memory(const char *what, size_t p_aug, size_t p_cov, size_t p,
                                  size_t m, size_t k_vt, ooc_error *err);

/* Aliased columns of r (p columns, ld, zero from row m on), in formula
 * order: a column whose part orthogonal to the kept ones before it is at most
 * tol times its norm.  aliased: p flags; *rank: columns kept.
 * Errors: OOC_ERR_NOMEM. */
ooc_status ooc_find_aliased(const double *r, size_t ld, size_t p, size_t m, double tol,
                            bool *aliased, size_t *rank, ooc_error *err);

/* QR of the k kept columns of R_aug (p_aug x p_aug) plus its last (y)
 * column: rk is (k+1) x (k+1) row-major upper with a non-negative diagonal.
 * Errors: OOC_ERR_NOMEM, OOC_ERR_NUMERIC. */
ooc_status ooc_retriangularize(const double *r_aug, size_t p_aug, const bool *aliased, size_t k,
                               double *rk, ooc_error *err);

#endif

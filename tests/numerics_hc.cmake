# tests/numerics_hc.cmake — the HC covariance and robust F against exact rational arithmetic, and
# designs with fewer rows than columns (time, memory refusal, cancel in finalize, numpy's SVD).
ooc_add_unit_test(test_fit_wide unit/test_fit_wide.c)
ooc_add_py_test(hc_exact interop/hc_exact.py)
ooc_add_py_test(svd_wide interop/svd_wide.py)

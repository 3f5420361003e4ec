# tests/fit.cmake — backend, finalize/statistics, and fit/svd CLI tests.
ooc_add_unit_test(test_tsqr_rows unit/test_tsqr_rows.c)
ooc_add_unit_test(test_backend unit/test_backend.c)
ooc_add_unit_test(test_block_scan unit/test_block_scan.c)
ooc_add_unit_test(test_fit unit/test_fit.c)
ooc_add_py_test(nist_strd interop/nist.py)
ooc_add_py_test(oracle_statsmodels interop/oracle_statsmodels.py)
ooc_add_py_test(fit_reference_size interop/reference_size.py)

# tests/fit.cmake — backend, finalize/statistics, and fit/svd CLI tests.
ooc_add_unit_test(test_tsqr_rows test_tsqr_rows.c)
ooc_add_unit_test(test_backend test_backend.c)
ooc_add_unit_test(test_fit test_fit.c)
ooc_add_py_test(nist_strd nist.py)
ooc_add_py_test(oracle_statsmodels oracle_statsmodels.py)
ooc_add_py_test(fit_reference_size reference_size.py)

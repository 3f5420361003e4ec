# tests/formula_scale.cmake — the formula module at scale and its reports: wide formulas
# (100 000 terms) and categoricals of 100 000 levels in bounded time and memory, the level
# count before any column is built, the max_levels refusal and the warnings about non-finite
# values (unit test); 20 000 terms and 100 000 levels through `oocsolve ingest`, checked
# against patsy and under a peak-RSS bound, the non-finite warnings on the CLI, and patsy's
# term algebra on operator chains (interop).
ooc_add_unit_test(test_formula_scale unit/test_formula_scale.c)
# Sanitizer builds: no address-space limit (ASan reserves terabytes) and a looser RSS bound.
if(OOC_SANITIZE)
  set(ooc_formula_scale_args --sanitized)
endif()
ooc_add_py_test(formula_scale_cli interop/formula_scale_cli.py ${ooc_formula_scale_args})
ooc_add_py_test(formula_nonfinite_cli interop/formula_nonfinite_cli.py)
ooc_add_py_test(formula_algebra_cli interop/formula_algebra_cli.py)

# tests/glm.cmake — generalized linear models (solve/glm*.c, `oocsolve glm`): the family and
# link formulas and ooc_glm on in-memory sources against references written in C
# (test_glm), and the command against statsmodels' GLM.fit() on random and shipped data
# (glm_statsmodels).
ooc_add_unit_test(test_glm unit/test_glm.c)
ooc_add_py_test(glm_statsmodels interop/glm_statsmodels.py)

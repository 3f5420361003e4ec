# tests/python_package.cmake — the Python package (pyproject.toml, host/python/oocsolve):
# python_package_wheel builds the wheel from the source tree with the .venv's pip and
# scikit-build-core (no network) and installs it into a fresh venv in this build folder (a fixture:
# once per ctest run; its CMake build folder is kept, so reruns are incremental);
# python_package runs the checks of interop/python_package.py, python_formula_vars those of
# interop/python_formula_vars.py (names in formulas, as patsy's eval_env), python_glm those of
# interop/python_glm.py (oocsolve.glm against statsmodels), with that venv's Python.
# Labelled slow: the wheel is a Release build of its own, so the sanitizer run skips it.
set(OOC_PYTHON_PACKAGE_DIR "${CMAKE_CURRENT_BINARY_DIR}/python_package")
add_test(NAME python_package_wheel
  COMMAND ${OOC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/interop/python_package.py setup
          ${PROJECT_SOURCE_DIR} ${OOC_PYTHON_PACKAGE_DIR}
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(python_package_wheel PROPERTIES LABELS "interop;python;slow" TIMEOUT 1800
                     FIXTURES_SETUP python_package_venv)
add_test(NAME python_package
  COMMAND ${OOC_PYTHON_PACKAGE_DIR}/venv/bin/python
          ${CMAKE_CURRENT_SOURCE_DIR}/interop/python_package.py check
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(python_package PROPERTIES LABELS "interop;python;slow" TIMEOUT 600
                     FIXTURES_REQUIRED python_package_venv ENVIRONMENT "OOC_NIST=${OOC_NIST_DIR}")
add_test(NAME python_formula_vars
  COMMAND ${OOC_PYTHON_PACKAGE_DIR}/venv/bin/python
          ${CMAKE_CURRENT_SOURCE_DIR}/interop/python_formula_vars.py
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(python_formula_vars PROPERTIES LABELS "interop;python;slow" TIMEOUT 600
                     FIXTURES_REQUIRED python_package_venv ENVIRONMENT "OOC_NIST=${OOC_NIST_DIR}")
add_test(NAME python_glm
  COMMAND ${OOC_PYTHON_PACKAGE_DIR}/venv/bin/python ${CMAKE_CURRENT_SOURCE_DIR}/interop/python_glm.py
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(python_glm PROPERTIES LABELS "interop;python;slow" TIMEOUT 600
                     FIXTURES_REQUIRED python_package_venv)

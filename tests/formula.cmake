# tests/formula.cmake — test registrations for the formula area: unit tests of the
# formula module, the patsy interop tests through the CLI (the core corpus, and the
# extended language: contrasts, boolean and numpy expressions, combinatorially; string
# comparisons; the stateful transforms, and the same on 5M rows for memory and exact knots; fit,
# svd and glm of a CSV with another file's transforms), and
# the libFuzzer target when OOC_FUZZ is ON.
ooc_add_unit_test(test_formula unit/test_formula.c)
target_link_libraries(test_formula PRIVATE Threads::Threads)
ooc_add_py_test(interop_patsy interop/interop_patsy.py)
ooc_add_py_test(interop_patsy_extended interop/interop_patsy_extended.py)
ooc_add_py_test(interop_patsy_transforms interop/interop_patsy_transforms.py)
ooc_add_py_test(interop_patsy_strings interop/interop_patsy_strings.py)
set_tests_properties(interop_patsy_strings PROPERTIES TIMEOUT 600)
set_tests_properties(interop_patsy_transforms PROPERTIES TIMEOUT 900)
ooc_add_py_test(transforms_from_csv interop/transforms_from_csv.py)
set_tests_properties(transforms_from_csv PROPERTIES TIMEOUT 600)
ooc_add_py_test(transforms_scale interop/transforms_scale.py)
set_tests_properties(transforms_scale PROPERTIES TIMEOUT 600 LABELS "interop;slow")
set_tests_properties(interop_patsy_extended PROPERTIES TIMEOUT 900)

if(OOC_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "OOC_FUZZ=ON needs clang: configure with -DCMAKE_C_COMPILER=clang")
  endif()
  # The formula sources are compiled into the target so that they carry the
  # fuzzer's coverage instrumentation; 30 s from the seed corpus of formulas.
  add_executable(fuzz_formula fuzz/fuzz_formula.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/formula_lex.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/text_index.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/pyexpr.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/termset.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/terms.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/model.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/fields.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/bind.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/levels.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/columns.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/eval.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/transforms.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/transform_state.c
    ${PROJECT_SOURCE_DIR}/host/src/formula/splines.c
    ${PROJECT_SOURCE_DIR}/host/src/csv/numparse.c
    ${PROJECT_SOURCE_DIR}/host/src/base/error.c
    ${PROJECT_SOURCE_DIR}/host/src/base/dtoa.c
    ${PROJECT_SOURCE_DIR}/host/src/base/json.c
    ${PROJECT_SOURCE_DIR}/host/src/base/textbuf.c
    ${PROJECT_SOURCE_DIR}/host/src/base/tempfile.c
    ${PROJECT_SOURCE_DIR}/host/src/base/sorted_spill.c)
  target_include_directories(fuzz_formula PRIVATE ${PROJECT_SOURCE_DIR}/host/src
                             ${PROJECT_SOURCE_DIR}/host/include)
  target_compile_options(fuzz_formula PRIVATE -fsanitize=fuzzer,address,undefined
                         -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
  target_link_options(fuzz_formula PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_formula PRIVATE OpenBLASLapacke::OpenBLASLapacke m)
  ooc_set_warnings(fuzz_formula)
  set(scratch ${CMAKE_CURRENT_BINARY_DIR}/fuzz_formula_corpus)
  file(MAKE_DIRECTORY ${scratch})
  add_test(NAME fuzz_formula
           COMMAND fuzz_formula -max_total_time=30 -timeout=10 -rss_limit_mb=1024
                   ${scratch} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/formula)
  set_tests_properties(fuzz_formula PROPERTIES LABELS fuzz TIMEOUT 120)
endif()

# tests/trace.cmake — profiling: spans, counters, JSON trace, summary, SVG, progress.
ooc_add_unit_test(test_trace unit/test_trace.c)

# trace_demo writes a realistic multi-threaded trace without a data set;
# trace_render renders it (and an `ingest --profile` trace) through the CLI.
add_executable(trace_demo unit/trace_demo.c)
target_include_directories(trace_demo PRIVATE ${PROJECT_SOURCE_DIR}/host/src)
target_link_libraries(trace_demo PRIVATE oocsolve_core)
ooc_set_warnings(trace_demo)
ooc_add_py_test(trace_render interop/trace_render.py $<TARGET_FILE:trace_demo>)
# Real profiled runs of ingest, fit and svd (trace content, summary, progress, SVG).
ooc_add_py_test(profile_cli interop/profile_cli.py)

if(OOC_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "OOC_FUZZ=ON needs clang: configure with -DCMAKE_C_COMPILER=clang")
  endif()
  # The JSON reader compiled into the target for coverage; 30 s from the seed traces.
  add_executable(fuzz_json fuzz/fuzz_json.c ${PROJECT_SOURCE_DIR}/host/src/base/json.c
                 ${PROJECT_SOURCE_DIR}/host/src/base/textbuf.c
                 ${PROJECT_SOURCE_DIR}/host/src/base/error.c)
  target_include_directories(fuzz_json PRIVATE ${PROJECT_SOURCE_DIR}/host/src
                             ${PROJECT_SOURCE_DIR}/host/include)
  target_compile_options(fuzz_json PRIVATE -fsanitize=fuzzer,address,undefined
                         -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
  target_link_options(fuzz_json PRIVATE -fsanitize=fuzzer,address,undefined)
  ooc_set_warnings(fuzz_json)
  set(scratch ${CMAKE_CURRENT_BINARY_DIR}/fuzz_json_corpus)
  file(MAKE_DIRECTORY ${scratch})
  add_test(NAME fuzz_json
           COMMAND fuzz_json -max_total_time=30 -timeout=10 -rss_limit_mb=1024
                   ${scratch} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/json)
  set_tests_properties(fuzz_json PROPERTIES LABELS fuzz TIMEOUT 120)
endif()

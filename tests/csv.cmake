# tests/csv.cmake — test registrations for the csv area: the CSV tokenizer, a file cut
# into shares for several processes, and the number parser (unit tests), and their libFuzzer targets when OOC_FUZZ is ON.
ooc_add_unit_test(test_numparse unit/test_numparse.c)
ooc_add_unit_test(test_csv unit/test_csv.c)
ooc_add_unit_test(test_csv_split unit/test_csv_split.c)

if(OOC_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "OOC_FUZZ=ON needs clang: configure with -DCMAKE_C_COMPILER=clang")
  endif()
  # Each target compiles the module sources itself so that they carry the fuzzer's
  # coverage instrumentation.  ctest runs each for 30 s from the seed corpus; inputs
  # libFuzzer finds interesting go to a scratch corpus in the build tree.
  foreach(area IN ITEMS csv:tokens numparse:numbers)
    string(REPLACE ":" ";" parts ${area})
    list(GET parts 0 name)
    list(GET parts 1 seeds)
    set(target fuzz_${name})
    add_executable(${target} fuzz/${target}.c
      ${PROJECT_SOURCE_DIR}/host/src/csv/csv.c
      ${PROJECT_SOURCE_DIR}/host/src/csv/bytesource.c
      ${PROJECT_SOURCE_DIR}/host/src/csv/numparse.c
      ${PROJECT_SOURCE_DIR}/host/src/base/error.c
      ${PROJECT_SOURCE_DIR}/host/src/base/tempfile.c)
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/host/src
                               ${PROJECT_SOURCE_DIR}/host/include)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined
                           -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${target} PRIVATE ooc_compression Threads::Threads m)
    ooc_set_warnings(${target})
    set(scratch ${CMAKE_CURRENT_BINARY_DIR}/${target}_corpus)
    file(MAKE_DIRECTORY ${scratch})
    add_test(NAME ${target}
             COMMAND ${target} -max_total_time=30 -timeout=10 -rss_limit_mb=1024
                     ${scratch} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/csv/${seeds})
    set_tests_properties(${target} PROPERTIES LABELS fuzz TIMEOUT 120)
  endforeach()
endif()

# tests/api.cmake — the public C API (<oocsolve.h> only) and the growing-fit state.
# test_api links liboocsolve.so, not the internals (oocsolve_core), and includes no host/src
# header: it builds only if the public header is enough and every function it calls is
# exported.  HDF5 (to damage a state file) and LAPACKE (the reference SVD) are its own.
add_executable(test_api unit/test_api.c)
target_include_directories(test_api PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
target_link_libraries(test_api PRIVATE oocsolve_shared HDF5::HDF5
                      OpenBLASLapacke::OpenBLASLapacke m)
ooc_set_warnings(test_api)
add_test(NAME test_api COMMAND test_api WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(test_api PROPERTIES LABELS unit)
# test_progress_api: the public progress counter, polled from a second thread during a fit;
# linked as test_api (liboocsolve.so, <oocsolve.h> only).
add_executable(test_progress_api unit/test_progress_api.c)
target_include_directories(test_progress_api PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
target_link_libraries(test_progress_api PRIVATE oocsolve_shared Threads::Threads)
ooc_set_warnings(test_progress_api)
add_test(NAME test_progress_api COMMAND test_progress_api
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(test_progress_api PROPERTIES LABELS unit)
ooc_add_py_test(state_file interop/state_file.py)

# tests/gpu_check.cmake — the one-command GPU check (bench/gpu_check.sh, issue 11).
# Included from tests/CMakeLists.txt after cuda.cmake (it uses ooc_add_cuda_backend and
# ooc_add_cuda_test).
#  - test_cuda_backend_racy_gpu (label gpu): the planted race (accumulate() returns before its
#    host-to-device copy completed) on real hardware.  There the race may or may not show, so
#    the test records and does not assert: it passes once the scenario ran and printed its
#    difference (PASS_REGULAR_EXPRESSION ignores the exit status), whichever way it went;
#    bench/gpu_check.sh reads the printed difference.  Exit 77 (skipped) without a GPU.
#  - gpu_check_emulated (label interop): the whole check, bench/gpu_check.sh --emulate, on small
#    sizes through the emulated plugin, reusing this build (--build); it fails when any stage
#    failed, so the script cannot rot between GPU runs.
if(NOT OOC_HAVE_CUDA)
  return()
endif()

ooc_add_cuda_backend(ooc_device_racy LIBS CUDA::cudart CUDA::cublas CUDA::cusolver
                     DEFINES OOC_CUDA_TEST_SKIP_COPY_WAIT)
ooc_add_cuda_test(test_cuda_backend_racy_gpu unit/test_cuda_backend.c LIBS ooc_device_racy
  DEFINES OOC_TEST_RACY_BACKEND=1 ARGS ${OOC_NIST_DIR} LABELS gpu)
set_tests_properties(test_cuda_backend_racy_gpu PROPERTIES
  PASS_REGULAR_EXPRESSION "planted race \\(accumulate returns before its copy\\): [^\n]*= [-+0-9.a-z]+")

add_test(NAME gpu_check_emulated
         COMMAND bash ${PROJECT_SOURCE_DIR}/bench/gpu_check.sh --emulate
                 --build ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR}/gpu_check_emulated
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(gpu_check_emulated PROPERTIES LABELS interop TIMEOUT 300
  ENVIRONMENT "OOC_GPU_CHECK_PYTHON=${OOC_PYTHON}")

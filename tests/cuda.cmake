# tests/cuda.cmake — the GPU backend, verified here through a strict CPU emulation of the
# CUDA runtime / cuBLAS / cuSOLVER calls it makes (cuda_emu/), plus the real-GPU suite
# (label gpu; exits 77 = skipped when `oocsolve devices` would find no GPU).
if(NOT OOC_HAVE_CUDA)
  return()
endif()

# The emulator: compiled against the real CUDA headers so its signatures cannot drift.
add_library(ooc_cuda_emu STATIC cuda_emu/cuda_emu.c)
target_include_directories(ooc_cuda_emu PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/cuda_emu)
target_include_directories(ooc_cuda_emu SYSTEM PUBLIC ${CUDAToolkit_INCLUDE_DIRS})
target_link_libraries(ooc_cuda_emu PUBLIC OpenBLASLapacke::OpenBLASLapacke m)
ooc_set_warnings(ooc_cuda_emu)

# backend_cuda.c built again, linked to the emulator instead of the toolkit's libraries;
# the "racy" variant returns from accumulate() before its copy completed (planted bug).
ooc_add_cuda_backend(ooc_device_emu LIBS ooc_cuda_emu)
ooc_add_cuda_backend(ooc_device_emu_racy LIBS ooc_cuda_emu DEFINES OOC_CUDA_TEST_SKIP_COPY_WAIT)

# backend selection over the emulated backend
add_library(oocsolve_backends_emu STATIC ${PROJECT_SOURCE_DIR}/host/src/backend_select.c)
target_include_directories(oocsolve_backends_emu PUBLIC ${PROJECT_SOURCE_DIR}/host/src)
target_compile_definitions(oocsolve_backends_emu PRIVATE OOC_HAVE_CUDA=1)
target_link_libraries(oocsolve_backends_emu PUBLIC ooc_device_emu oocsolve_core)
ooc_set_warnings(oocsolve_backends_emu)

# ooc_add_cuda_test(name source LIBS... DEFINES... ARGS...)
function(ooc_add_cuda_test name source)
  cmake_parse_arguments(ARG "" "" "LIBS;DEFINES;ARGS;LABELS" ${ARGN})
  add_executable(${name} ${source})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/host/src ${CMAKE_CURRENT_SOURCE_DIR})
  if(ARG_DEFINES)
    target_compile_definitions(${name} PRIVATE ${ARG_DEFINES})
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} oocsolve_core OpenBLASLapacke::OpenBLASLapacke m)
  ooc_set_warnings(${name})
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" SKIP_RETURN_CODE 77)
endfunction()

set(OOC_NIST_DIR "${OOC_SHARED_DIR}/data/nist-strd")

ooc_add_cuda_test(test_cuda_emu test_cuda_emu.c LIBS ooc_cuda_emu LABELS unit)
ooc_add_cuda_test(test_cuda_backend_emu test_cuda_backend.c
  LIBS oocsolve_backends_emu ooc_device_emu ooc_cuda_emu
  DEFINES OOC_TEST_EMULATED=1 ARGS ${OOC_NIST_DIR} LABELS unit)
ooc_add_cuda_test(test_cuda_backend_racy_emu test_cuda_backend.c
  LIBS ooc_device_emu_racy ooc_cuda_emu
  DEFINES OOC_TEST_EMULATED=1 OOC_TEST_RACY_BACKEND=1 ARGS ${OOC_NIST_DIR} LABELS unit)
# The same comparisons on real GPUs (the only place the toolkit's libraries run).
ooc_add_cuda_test(test_cuda_backend_gpu test_cuda_backend.c
  LIBS oocsolve_backends ARGS ${OOC_NIST_DIR} LABELS gpu)

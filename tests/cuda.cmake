# tests/cuda.cmake — the GPU backend, verified here through a strict CPU emulation of the
# CUDA runtime / cuBLAS / cuSOLVER calls it makes (cuda_emu/), linked directly and as a
# dlopen()ed plugin; the plugin loader; plus the real-GPU suite (label gpu; exits 77 =
# skipped when `oocsolve devices` would find no GPU).
if(NOT OOC_HAVE_CUDA)
  return()
endif()

# The emulator: compiled against the real CUDA headers so its signatures cannot drift.
# Position-independent: it is also linked into the emulated plugin.  With nvCOMP's headers
# (cmake/FindNVCOMP.cmake: the .venv's wheel) it also emulates the GPU decoder: the kernels'
# CPU twins (decode_emu.c, over device/decode_kernels.h) and an nvCOMP stand-in inflating with
# libdeflate (nvcomp.c), and the emulated backends are built with the decoder.
set(ooc_emu_sources cuda_emu/runtime.c cuda_emu/cublas.c cuda_emu/cusolver.c)
set(ooc_emu_decoder "")
if(NVCOMP_INCLUDE_DIR)
  list(APPEND ooc_emu_sources cuda_emu/decode_emu.c cuda_emu/nvcomp.c)
  set(ooc_emu_decoder OOC_HAVE_NVCOMP=1 OOC_NVCOMP_EMULATED=1)
endif()
add_library(ooc_cuda_emu STATIC ${ooc_emu_sources})
target_include_directories(ooc_cuda_emu PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/cuda_emu)
target_include_directories(ooc_cuda_emu SYSTEM PUBLIC ${CUDAToolkit_INCLUDE_DIRS})
target_link_libraries(ooc_cuda_emu PUBLIC OpenBLASLapacke::OpenBLASLapacke m)
if(NVCOMP_INCLUDE_DIR)
  target_include_directories(ooc_cuda_emu PRIVATE ${OOC_DEVICE_DIR} ${PROJECT_SOURCE_DIR}/host/src)
  target_include_directories(ooc_cuda_emu SYSTEM PRIVATE ${NVCOMP_INCLUDE_DIR})
  target_link_libraries(ooc_cuda_emu PUBLIC LibDeflate::LibDeflate)
endif()
set_target_properties(ooc_cuda_emu PROPERTIES POSITION_INDEPENDENT_CODE ON)
ooc_set_warnings(ooc_cuda_emu)

# backend_cuda.c built again, linked to the emulator instead of the toolkit's libraries;
# the "racy" variant returns from accumulate() before its copy completed (planted bug).
ooc_add_cuda_backend(ooc_device_emu LIBS ooc_cuda_emu DEFINES ${ooc_emu_decoder})
ooc_add_cuda_backend(ooc_device_emu_racy LIBS ooc_cuda_emu DEFINES OOC_CUDA_TEST_SKIP_COPY_WAIT
                     ${ooc_emu_decoder})

# The plugin over the emulator (1 device unless OOC_EMU_DEVICE_COUNT says otherwise): loaded
# through OOC_CUDA_PLUGIN it exercises the real dlopen path of oocsolve on a machine without GPU.
ooc_add_cuda_plugin(oocsolve_cuda_emu LIBS ooc_cuda_emu DEFINES ${ooc_emu_decoder})

# Modules that look like plugins but must be refused: wrong ABI version, right version with
# other struct sizes, no entry symbol (test_cuda_plugin_fake.c, one per OOC_FAKE_PLUGIN).
foreach(kind abi sizes noentry)
  add_library(ooc_fake_plugin_${kind} MODULE unit/test_cuda_plugin_fake.c)
  target_include_directories(ooc_fake_plugin_${kind} PRIVATE ${OOC_DEVICE_DIR}
    ${PROJECT_SOURCE_DIR}/host/src ${PROJECT_SOURCE_DIR}/host/include)
  target_compile_definitions(ooc_fake_plugin_${kind} PRIVATE OOC_FAKE_PLUGIN_${kind}=1)
  set_target_properties(ooc_fake_plugin_${kind} PROPERTIES PREFIX "" SUFFIX ".so")
  ooc_set_warnings(ooc_fake_plugin_${kind})
endforeach()

# ooc_add_cuda_test(name source LIBS... DEFINES... ARGS...)
function(ooc_add_cuda_test name source)
  cmake_parse_arguments(ARG "" "" "LIBS;DEFINES;ARGS;LABELS" ${ARGN})
  add_executable(${name} ${source})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/host/src ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  if(ARG_DEFINES)
    target_compile_definitions(${name} PRIVATE ${ARG_DEFINES})
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} oocsolve_core OpenBLASLapacke::OpenBLASLapacke m)
  ooc_set_warnings(${name})
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" SKIP_RETURN_CODE 77)
endfunction()

ooc_add_cuda_test(test_cuda_emu unit/test_cuda_emu.c LIBS ooc_cuda_emu LABELS unit)
# The GPU decoder's per-element functions (device/decode_kernels.h) against references.
ooc_add_cuda_test(test_decode_kernels unit/test_decode_kernels.c LABELS unit)
target_include_directories(test_decode_kernels PRIVATE ${OOC_DEVICE_DIR})
ooc_add_cuda_test(test_cuda_backend_emu unit/test_cuda_backend.c
  LIBS oocsolve_core ooc_device_emu ooc_cuda_emu
  DEFINES OOC_TEST_EMULATED=1 ARGS ${OOC_NIST_DIR} LABELS unit)
ooc_add_cuda_test(test_cuda_backend_racy_emu unit/test_cuda_backend.c
  LIBS ooc_device_emu_racy ooc_cuda_emu
  DEFINES OOC_TEST_EMULATED=1 OOC_TEST_RACY_BACKEND=1 ARGS ${OOC_NIST_DIR} LABELS unit)
# The plugin loader (search, dlopen, ABI checks, selection) on the emulated and fake plugins.
ooc_add_cuda_test(test_cuda_plugin unit/test_cuda_plugin.c LIBS oocsolve_core ${CMAKE_DL_LIBS}
  ARGS $<TARGET_FILE:oocsolve_cuda_emu> $<TARGET_FILE:ooc_fake_plugin_abi>
       $<TARGET_FILE:ooc_fake_plugin_sizes> $<TARGET_FILE:ooc_fake_plugin_noentry>
  LABELS unit)
add_dependencies(test_cuda_plugin oocsolve_cuda_emu ooc_fake_plugin_abi ooc_fake_plugin_sizes
                 ooc_fake_plugin_noentry)
# The oocsolve executable: links no CUDA library (the plugin does), and through the emulated
# plugin `fit/svd --device gpu` agree with --device cpu; device notes and errors on stderr.
add_test(NAME cuda_plugin_cli
         COMMAND ${OOC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/interop/test_cuda_plugin_cli.py
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(cuda_plugin_cli PROPERTIES LABELS interop ENVIRONMENT
  "OOCSOLVE=$<TARGET_FILE:oocsolve>;OOC_PLUGIN_REAL=$<TARGET_FILE:oocsolve_cuda>;OOC_PLUGIN_EMU=$<TARGET_FILE:oocsolve_cuda_emu>")
# The same comparisons on real GPUs (the only place the toolkit's libraries run).
ooc_add_cuda_test(test_cuda_backend_gpu unit/test_cuda_backend.c
  LIBS oocsolve_core ooc_device ARGS ${OOC_NIST_DIR} LABELS gpu)
# Chunks decoded on the GPU (--gpu-decode) through the emulated plugin: bit for bit the host
# decoder's rows, damaged chunks named; needs the emulated decoder (nvCOMP's headers).
if(NVCOMP_INCLUDE_DIR)
  add_test(NAME gpu_decode_emulated
           COMMAND ${OOC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/interop/gpu_decode.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(gpu_decode_emulated PROPERTIES LABELS interop ENVIRONMENT
    "OOCSOLVE=$<TARGET_FILE:oocsolve>;OOC_PLUGIN_EMU=$<TARGET_FILE:oocsolve_cuda_emu>;PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}/interop")
endif()

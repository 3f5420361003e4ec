# FindNVCOMP.cmake — finds nvCOMP, NVIDIA's GPU compression library: its headers
# (nvcomp/deflate.h) and library (libnvcomp.so, or the wheel's libnvcomp.so.6).  Looked for in
# NVCOMP_ROOT (CMake or environment), then in the nvidia-libnvcomp-cu13 wheel that
# tests/requirements.txt installs into the project's .venv (site-packages/nvidia/libnvcomp),
# then in the system's paths.  Sets NVCOMP_INCLUDE_DIR, NVCOMP_LIBRARY, NVCOMP_LIBRARY_DIR,
# NVCOMP_VERSION; NVCOMP_FOUND needs both files; the target NVCOMP::NVCOMP.  The headers alone
# (NVCOMP_INCLUDE_DIR) are what the CUDA emulator's stand-in (tests/cuda_emu/nvcomp.c) needs.
file(GLOB _ooc_nvcomp_wheels "${PROJECT_SOURCE_DIR}/.venv/lib/python3*/site-packages/nvidia/libnvcomp")
set(_ooc_nvcomp_hints ${NVCOMP_ROOT} $ENV{NVCOMP_ROOT} ${_ooc_nvcomp_wheels})
find_path(NVCOMP_INCLUDE_DIR nvcomp/deflate.h HINTS ${_ooc_nvcomp_hints} PATH_SUFFIXES include)
find_library(NVCOMP_LIBRARY NAMES nvcomp libnvcomp.so.6 HINTS ${_ooc_nvcomp_hints}
             PATH_SUFFIXES lib64 lib)
if(NVCOMP_INCLUDE_DIR AND EXISTS "${NVCOMP_INCLUDE_DIR}/nvcomp/version.h")
  file(STRINGS "${NVCOMP_INCLUDE_DIR}/nvcomp/version.h" _ooc_nvcomp_ver
       REGEX "#define NVCOMP_VER_(MAJOR|MINOR|PATCH) ")
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*" "\\1.\\2.\\3"
         NVCOMP_VERSION "${_ooc_nvcomp_ver}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NVCOMP REQUIRED_VARS NVCOMP_LIBRARY NVCOMP_INCLUDE_DIR
                                  VERSION_VAR NVCOMP_VERSION)
if(NVCOMP_FOUND AND NOT TARGET NVCOMP::NVCOMP)
  get_filename_component(NVCOMP_LIBRARY_DIR "${NVCOMP_LIBRARY}" DIRECTORY)
  add_library(NVCOMP::NVCOMP UNKNOWN IMPORTED)
  set_target_properties(NVCOMP::NVCOMP PROPERTIES
    IMPORTED_LOCATION "${NVCOMP_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${NVCOMP_INCLUDE_DIR}")
endif()

# FindOpenBLASLapacke.cmake — finds OpenBLAS (cblas) and LAPACKE;
# defines OpenBLASLapacke::OpenBLASLapacke.
find_path(OpenBLASLapacke_LAPACKE_INCLUDE_DIR lapacke.h)
find_path(OpenBLASLapacke_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas)
find_library(OpenBLASLapacke_LAPACKE_LIBRARY NAMES lapacke)
find_library(OpenBLASLapacke_OPENBLAS_LIBRARY NAMES openblas)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenBLASLapacke REQUIRED_VARS
  OpenBLASLapacke_OPENBLAS_LIBRARY OpenBLASLapacke_LAPACKE_LIBRARY
  OpenBLASLapacke_LAPACKE_INCLUDE_DIR OpenBLASLapacke_CBLAS_INCLUDE_DIR)
if(OpenBLASLapacke_FOUND AND NOT TARGET OpenBLASLapacke::OpenBLASLapacke)
  add_library(OpenBLASLapacke::OpenBLASLapacke INTERFACE IMPORTED)
  set_target_properties(OpenBLASLapacke::OpenBLASLapacke PROPERTIES
    INTERFACE_LINK_LIBRARIES "${OpenBLASLapacke_LAPACKE_LIBRARY};${OpenBLASLapacke_OPENBLAS_LIBRARY};m"
    INTERFACE_INCLUDE_DIRECTORIES "${OpenBLASLapacke_LAPACKE_INCLUDE_DIR};${OpenBLASLapacke_CBLAS_INCLUDE_DIR}")
endif()

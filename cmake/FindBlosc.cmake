# FindBlosc.cmake — finds c-blosc 1.x (Debian: libblosc-dev) through pkg-config (blosc.pc), else
# by its header and library; defines Blosc::Blosc.  The HDF5 blosc filter's chunks (PyTables,
# hdf5plugin) are written and read with it (host/src/hdf5/zcodec.c).
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_BLOSC QUIET blosc)
endif()
find_path(Blosc_INCLUDE_DIR blosc.h HINTS ${PC_BLOSC_INCLUDE_DIRS})
find_library(Blosc_LIBRARY NAMES blosc HINTS ${PC_BLOSC_LIBRARY_DIRS})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Blosc REQUIRED_VARS Blosc_LIBRARY Blosc_INCLUDE_DIR)
if(Blosc_FOUND AND NOT TARGET Blosc::Blosc)
  add_library(Blosc::Blosc UNKNOWN IMPORTED)
  set_target_properties(Blosc::Blosc PROPERTIES
    IMPORTED_LOCATION "${Blosc_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Blosc_INCLUDE_DIR}")
endif()

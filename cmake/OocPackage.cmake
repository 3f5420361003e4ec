# OocPackage.cmake — liboocsolve as an installed package.
#  - OOC_SOVERSION: the shared library's SONAME version (host/CMakeLists.txt).
#  - ooc_install_package(STATIC_TARGET): installs the CMake package (oocsolveConfig.cmake,
#    its version file and the export set oocsolveTargets: oocsolve::oocsolve,
#    oocsolve::oocsolve_static) and the pkg-config file oocsolve.pc, both listing what the
#    static library needs, derived from STATIC_TARGET's link libraries.
include(CMakePackageConfigHelpers)

# SONAME liboocsolve.so.MAJOR from 1.0 on; before it, liboocsolve.so.0.MINOR: a 0.y release
# makes no ABI promise to the one before (semver's rule for 0.y), so each minor release gets its
# own SONAME and a program linked against 0.1 is never run with 0.2.  find_package's version
# check follows the same line.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(OOC_SOVERSION "0.${PROJECT_VERSION_MINOR}")
  set(OOC_VERSION_COMPATIBILITY SameMinorVersion)
else()
  set(OOC_SOVERSION "${PROJECT_VERSION_MAJOR}")
  set(OOC_VERSION_COMPATIBILITY SameMajorVersion)
endif()

# How pkg-config names each package the static library needs (the namespace of its imported
# target): modules go to Requires.private; flags (starting with -) to Libs.private, for what
# Debian ships no .pc file for.
set(OOC_PKGCONFIG_Threads -pthread)
set(OOC_PKGCONFIG_HDF5 hdf5)
set(OOC_PKGCONFIG_LibDeflate libdeflate)
set(OOC_PKGCONFIG_ISAL libisal)
set(OOC_PKGCONFIG_Blosc blosc)
set(OOC_PKGCONFIG_OpenBLASLapacke lapacke openblas)
set(OOC_PKGCONFIG_ZLIB zlib)
set(OOC_PKGCONFIG_Zstd libzstd)
set(OOC_PKGCONFIG_BZip2 -lbz2)
set(OOC_PKGCONFIG_LibLZMA liblzma)

# ooc_static_dependencies(target): sets OOC_DEPENDENCY_PACKAGES (for find_dependency),
# OOC_PC_REQUIRES_PRIVATE and OOC_PC_LIBS_PRIVATE from target's link libraries: imported
# targets (Package::Name) by package, plain names as -l flags, and the interface library
# ooc_compression (cmake/OocCompression.cmake) by what it links.
function(ooc_static_dependencies target)
  get_target_property(libraries ${target} LINK_LIBRARIES)
  get_target_property(compression ooc_compression INTERFACE_LINK_LIBRARIES)
  list(REMOVE_ITEM libraries ooc_compression)
  if(compression)
    list(APPEND libraries ${compression})
  endif()
  set(packages "")
  set(requires "")
  set(flags "")
  foreach(library IN LISTS libraries)
    if(library MATCHES "^([A-Za-z0-9_]+)::")
      set(package ${CMAKE_MATCH_1})
      if(NOT DEFINED OOC_PKGCONFIG_${package})
        message(FATAL_ERROR "OocPackage.cmake: no pkg-config name for ${package} (OOC_PKGCONFIG_)")
      endif()
      list(APPEND packages ${package})
      foreach(name IN LISTS OOC_PKGCONFIG_${package})
        if(name MATCHES "^-")
          list(APPEND flags ${name})
        else()
          list(APPEND requires ${name})
        endif()
      endforeach()
    else()
      list(APPEND flags -l${library})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES packages)
  list(JOIN requires ", " requires)
  list(JOIN flags " " flags)
  set(OOC_DEPENDENCY_PACKAGES "${packages}" PARENT_SCOPE)
  set(OOC_PC_REQUIRES_PRIVATE "${requires}" PARENT_SCOPE)
  set(OOC_PC_LIBS_PRIVATE "${flags}" PARENT_SCOPE)
endfunction()

function(ooc_install_package static_target)
  set(package_dir "${CMAKE_INSTALL_LIBDIR}/cmake/oocsolve")
  set(staging "${PROJECT_BINARY_DIR}/package")
  ooc_static_dependencies(${static_target})

  # CMake package.  The find modules the dependencies need that CMake does not ship
  # (cmake/Find*.cmake) are installed beside the config file, which puts them on the module path.
  install(EXPORT oocsolveTargets NAMESPACE oocsolve:: DESTINATION "${package_dir}")
  configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/oocsolveConfig.cmake.in"
    "${staging}/oocsolveConfig.cmake" INSTALL_DESTINATION "${package_dir}")
  write_basic_package_version_file("${staging}/oocsolveConfigVersion.cmake"
    COMPATIBILITY ${OOC_VERSION_COMPATIBILITY})
  set(files "${staging}/oocsolveConfig.cmake" "${staging}/oocsolveConfigVersion.cmake")
  foreach(package IN LISTS OOC_DEPENDENCY_PACKAGES)
    if(EXISTS "${PROJECT_SOURCE_DIR}/cmake/Find${package}.cmake")
      list(APPEND files "${PROJECT_SOURCE_DIR}/cmake/Find${package}.cmake")
    endif()
  endforeach()
  install(FILES ${files} DESTINATION "${package_dir}")

  # pkg-config file, relocatable: its prefix is found from its own place (${pcfiledir}), so
  # `cmake --install --prefix` and DESTDIR installs work without regenerating it.
  set(pc_dir "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig")
  file(RELATIVE_PATH OOC_PC_PREFIX "${pc_dir}" "${CMAKE_INSTALL_PREFIX}")
  string(REGEX REPLACE "/$" "" OOC_PC_PREFIX "${OOC_PC_PREFIX}")
  file(RELATIVE_PATH OOC_PC_LIBDIR "${CMAKE_INSTALL_PREFIX}" "${CMAKE_INSTALL_FULL_LIBDIR}")
  file(RELATIVE_PATH OOC_PC_INCLUDEDIR "${CMAKE_INSTALL_PREFIX}"
       "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/oocsolve.pc.in" "${staging}/oocsolve.pc" @ONLY)
  install(FILES "${staging}/oocsolve.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endfunction()

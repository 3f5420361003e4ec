# tests/install.cmake — the installed package (headers, liboocsolve.so/.a, CMake package,
# oocsolve.pc) used from outside the build: tests/install/check_install.sh.  Programs built
# against the library get the link options every target of this build gets (the sanitizers'
# in an ASan build, whose runtime the library needs).
get_directory_property(OOC_CONSUMER_FLAGS DIRECTORY ${PROJECT_SOURCE_DIR} LINK_OPTIONS)
list(JOIN OOC_CONSUMER_FLAGS " " OOC_CONSUMER_FLAGS)
add_test(NAME install_package
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/check_install.sh ${PROJECT_BINARY_DIR}
          ${CMAKE_INSTALL_LIBDIR} ${PROJECT_VERSION} ${CMAKE_C_COMPILER} "${OOC_CONSUMER_FLAGS}"
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(install_package PROPERTIES LABELS install)

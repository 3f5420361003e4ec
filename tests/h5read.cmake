# tests/h5read.cmake — the HDF5 block source (h5source.c) and its ring (ring.c):
# unit test with files written through the HDF5 C API, and an interop test
# reading files written by h5py and PyTables through tests/unit/dump_source.c.
ooc_add_unit_test(test_h5source unit/test_h5source.c)

add_executable(dump_source unit/dump_source.c)
target_include_directories(dump_source PRIVATE ${PROJECT_SOURCE_DIR}/host/src)
target_link_libraries(dump_source PRIVATE oocsolve_core)
ooc_set_warnings(dump_source)

ooc_add_py_test(interop_h5read interop/interop_h5read.py)
set_property(TEST interop_h5read APPEND PROPERTY ENVIRONMENT "OOC_DUMP_SOURCE=$<TARGET_FILE:dump_source>")

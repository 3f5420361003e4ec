# tests/hdf5_helpers.cmake — the HDF5 attribute helpers (hdf5/h5attr.c) and the
# output file written under a temporary name (base/outfile.c): unit test, which
# also has the venv's h5py write a file it reads and read a file it writes.
ooc_add_unit_test(test_h5attr unit/test_h5attr.c)
set_property(TEST test_h5attr APPEND PROPERTY ENVIRONMENT "OOC_PYTHON=${OOC_PYTHON}")

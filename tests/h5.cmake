# tests/h5.cmake — test registrations for the h5 area: the HDF5 writer,
# shuffle/zlib/blosc codecs and `info` (unit), PyTables/h5py/h5dump interop,
# ingest --codec's blosc files with PyTables and hdf5plugin (codec_blosc).
ooc_add_unit_test(test_h5write unit/test_h5write.c)
ooc_add_py_test(interop_pytables interop/interop_pytables.py $<TARGET_FILE:test_h5write>)
ooc_add_py_test(codec_blosc interop/codec_blosc.py)

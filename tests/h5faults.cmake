# tests/h5faults.cmake — HDF5 failure paths: the writer on a file system that
# refuses writes (unit test: RLIMIT_FSIZE swept over the whole file; CLI:
# ingest and svd --u-out into a 2 MiB tmpfs, skipped with 77 where mounting is
# not permitted) and fit / svd / info / the source on damaged files (chunk
# index nodes, chunk addresses and offsets, chunks that do not decode).
ooc_add_unit_test(test_h5faults unit/test_h5faults.c)
ooc_add_py_test(h5faults_disk_full interop/h5faults_disk_full.py)
set_tests_properties(h5faults_disk_full PROPERTIES SKIP_RETURN_CODE 77)
ooc_add_py_test(h5faults_damage interop/h5faults_damage.py)

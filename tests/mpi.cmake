# tests/mpi.cmake — fit, svd and ingest across MPI ranks (host/cli/cli_mpi.c, host/src/dist/): only in a
# build with MPI (OOC_HAVE_MPI).  Open MPI's own allocations at start-up are not ours: leak
# checking is off for these runs under ASan.
if(OOC_HAVE_MPI)
  ooc_add_py_test(mpi_cli interop/mpi_cli.py)
  set_tests_properties(mpi_cli PROPERTIES TIMEOUT 900
    ENVIRONMENT "OOCSOLVE=$<TARGET_FILE:oocsolve>;OOC_TESTS=${CMAKE_CURRENT_SOURCE_DIR};MPIEXEC=${MPIEXEC_EXECUTABLE};ASAN_OPTIONS=detect_leaks=0:abort_on_error=1")
  ooc_add_py_test(mpi_ingest interop/mpi_ingest.py)
  set_tests_properties(mpi_ingest PROPERTIES TIMEOUT 900
    ENVIRONMENT "OOCSOLVE=$<TARGET_FILE:oocsolve>;OOC_TESTS=${CMAKE_CURRENT_SOURCE_DIR};MPIEXEC=${MPIEXEC_EXECUTABLE};ASAN_OPTIONS=detect_leaks=0:abort_on_error=1")
endif()

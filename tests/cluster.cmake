# tests/cluster.cmake — the cluster-robust covariance (solve/cluster.c) and `ingest --keep`:
# the groups' hash table (test_cluster: many groups, growth, colliding hashes, the memory limit)
# and fit / glm --cov cluster against statsmodels (cluster_statsmodels), through the emulated
# CUDA plugin too when it is built, and across MPI ranks in a build with MPI.
ooc_add_unit_test(test_cluster unit/test_cluster.c)
ooc_add_py_test(cluster_statsmodels interop/cluster_statsmodels.py)
if(TARGET oocsolve_cuda_emu)
  set_property(TEST cluster_statsmodels APPEND PROPERTY ENVIRONMENT
               "OOC_PLUGIN_EMU=$<TARGET_FILE:oocsolve_cuda_emu>")
endif()
if(OOC_HAVE_MPI)
  set_property(TEST cluster_statsmodels APPEND PROPERTY ENVIRONMENT
               "MPIEXEC=${MPIEXEC_EXECUTABLE}")
endif()

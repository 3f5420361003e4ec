# tests/ingest.cmake — end-to-end ingest through the CLI.
ooc_add_py_test(ingest_cli interop/ingest_cli.py)
ooc_add_py_test(ingest_reference interop/ingest_reference.py)
ooc_add_py_test(fit_csv_weights interop/fit_csv_weights.py)

# tests/ingest.cmake — end-to-end ingest through the CLI.
ooc_add_py_test(ingest_cli ingest_cli.py)
ooc_add_py_test(ingest_reference ingest_reference.py)
ooc_add_py_test(fit_csv_weights fit_csv_weights.py)

# tests/cli_safety.cmake — what the CLI promises about files and input: outputs never destroy an
# input or a special file; every terminating signal leaves no temporary file (SIGKILL leaves a
# recognisable one); input from standard input, FIFOs and compressed files; the small CLI fixes
# (messages, repeated --var, stdout write errors, exit status in --help).  The byte source under
# the CSV reader has its unit test here too.
ooc_add_unit_test(test_bytesource unit/test_bytesource.c)
ooc_add_py_test(cli_outputs interop/cli_outputs.py)
ooc_add_py_test(cli_signals interop/cli_signals.py)
ooc_add_py_test(cli_inputs interop/cli_inputs.py)
ooc_add_py_test(cli_small interop/cli_small.py)
set_tests_properties(cli_signals cli_inputs PROPERTIES TIMEOUT 600)

# tests/cpuinfo.cmake — the CPU path a run reports (cpuinfo.h): the OpenBLAS kernel warning's
# classifier and the gathered facts (C), `oocsolve devices`, fit/svd --json and --profile
# metadata (CLI); and the width of fit's text summary with long column names.
ooc_add_unit_test(test_cpuinfo unit/test_cpuinfo.c)
ooc_add_py_test(cpuinfo_cli interop/cpuinfo_cli.py)
ooc_add_py_test(report_width interop/report_width.py)

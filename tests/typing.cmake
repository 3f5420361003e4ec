# typing.cmake — column types: the categorical warning, --dtype, --max-levels,
# --na-values / --keep-default-na, and the non-finite error of fit/svd from a CSV.
ooc_add_py_test(typing_cli interop/typing_cli.py)

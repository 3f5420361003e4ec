# tests/concat.cmake — several input files read as one matrix (stream/concat_source.c).
ooc_add_unit_test(test_concat_source unit/test_concat_source.c)

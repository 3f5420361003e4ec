# tests/base.cmake — the shared pieces of host/src/base: text buffer, JSON string writer, clock.
ooc_add_unit_test(test_base unit/test_base.c)

#!/usr/bin/env bash
# run.sh — the whole test suite, from a fresh Debian 12 machine:
#   1. installs what is missing (Debian packages, .venv) and builds with warnings as errors;
#   2. runs every test (unit, interop with the Python oracles, NIST, reference-size numerics);
#   3. rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the tests again;
#   4. builds the libFuzzer targets with clang and runs each for a bounded time;
#   and, after step 2, runs the benchmark harness once in --quick mode (a smoke test).
# Usage: bash tests/run.sh [--no-asan] [--no-fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."
source cmake/bootstrap.sh

asan=1 fuzz=1
for arg in "$@"; do
  case "$arg" in
    --no-asan) asan=0 ;;
    --no-fuzz) fuzz=0 ;;
    *) echo "usage: bash tests/run.sh [--no-asan] [--no-fuzz]" >&2; exit 2 ;;
  esac
done

ooc_install_packages
ooc_make_venv
jobs=$(nproc)

echo "== build (Release, -Werror) and test"
ooc_build build-test -DOOC_WERROR=ON
ctest --test-dir build-test --output-on-failure -j"$jobs" -LE fuzz

echo "== benchmark harness smoke test (bench/run.py --quick; timings not asserted)"
OOC_BUILD="$PWD/build-test" .venv/bin/python bench/run.py --quick --workloads W1,W3

if [ "$asan" = 1 ]; then
  echo "== build (ASan + UBSan, -Werror) and test"
  ooc_build build-asan -DOOC_WERROR=ON -DOOC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE "fuzz|slow"
fi

if [ "$fuzz" = 1 ]; then
  echo "== fuzz targets (clang libFuzzer, bounded time)"
  CC=clang ooc_build build-fuzz -DOOC_FUZZ=ON -DOOC_BUILD_TESTS=ON
  ctest --test-dir build-fuzz --output-on-failure -L fuzz
fi

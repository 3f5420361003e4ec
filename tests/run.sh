#!/usr/bin/env bash
# run.sh — the whole test suite, from a fresh Debian 12 machine:
#   1. installs what is missing (Debian packages, .venv) and builds with warnings as errors;
#   2. runs every test (unit, interop with the Python oracles, NIST, reference-size numerics);
#   3. runs the benchmark harness once in --quick mode (a smoke test; timings not asserted);
#   4. rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the tests again;
#   5. builds the libFuzzer targets with clang and runs each for a bounded time.
# A failing stage does not stop the later ones (the smoke test needs the Release build): every
# stage runs, each prints its time, and the summary at the end names the stages that failed.
# Exit status: 0 when every stage passed, 1 otherwise, 2 for a usage error.
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

export jobs=$(nproc)
suite_start=$SECONDS
summary=() failed=()

# stage NAME FUNCTION: run one stage's function in a bash process of its own, print its wall
# time, record the outcome.  A new process, not a subshell: a subshell that is part of an `||`
# list runs with `set -e` switched off, so a failing step inside a stage would go unnoticed.
stage() {
  local name="$1"; shift
  local start=$SECONDS status=0
  echo "== $name"
  bash -euo pipefail -c "source cmake/bootstrap.sh; $(declare -f "$1"); $1" || status=$?
  local took=$((SECONDS - start)) result="passed"
  [ "$status" -eq 0 ] || { result="FAILED (exit $status)"; failed+=("$name"); }
  summary+=("$(printf '%-58s %5d s  %s' "$name" "$took" "$result")")
  echo "== $name: $result in ${took} s"
  return "$status"
}

setup() { ooc_install_packages; ooc_make_venv; }

release_tests() {
  ooc_build build-test -DOOC_WERROR=ON
  ctest --test-dir build-test --output-on-failure -j"$jobs" -LE fuzz
}

bench_smoke() {
  OOC_BUILD="$PWD/build-test" .venv/bin/python bench/run.py --quick --workloads W1,W3
}

asan_tests() {
  ooc_build build-asan -DOOC_WERROR=ON -DOOC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE "fuzz|slow"
}

fuzz_targets() {
  CC=clang ooc_build build-fuzz -DOOC_FUZZ=ON -DOOC_BUILD_TESTS=ON
  ctest --test-dir build-fuzz --output-on-failure -L fuzz
}

if stage "set-up (Debian packages, .venv)" setup; then
  if stage "build (Release, -Werror) and test" release_tests; then
    stage "benchmark harness smoke test (bench/run.py --quick)" bench_smoke || true
  fi
  [ "$asan" = 0 ] || stage "build (ASan + UBSan, -Werror) and test" asan_tests || true
  [ "$fuzz" = 0 ] || stage "fuzz targets (clang libFuzzer, bounded time)" fuzz_targets || true
fi

echo
echo "== summary (total $((SECONDS - suite_start)) s)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: ${#failed[@]} stage(s) failed: ${failed[*]}"
  exit 1
fi
echo "run.sh: every stage passed"

#!/usr/bin/env bash
# check_install.sh — liboocsolve installed and used from outside the build, as a user would:
#   1. `cmake --install BUILD --prefix TMP`; the headers, libraries, CMake package, oocsolve.pc
#      and CLI are where GNUInstallDirs puts them;
#   2. liboocsolve.so has a SONAME (installed as a link) and exports ooc_ functions only;
#   3. example.c built with CMake (find_package(oocsolve CONFIG), CMAKE_PREFIX_PATH=TMP) against
#      oocsolve::oocsolve and oocsolve::oocsolve_static, and run;
#   4. example.c built with `cc $(pkg-config --cflags --libs oocsolve)` (rpath to TMP's libdir),
#      and with `pkg-config --static` (liboocsolve.a; its dependencies as the system has them),
#      and run.
# Usage: check_install.sh BUILD_DIR LIBDIR VERSION CC [FLAGS]
#   LIBDIR: CMAKE_INSTALL_LIBDIR (relative); VERSION: the project's; FLAGS: compile and link
#   flags every program needs to load the library (the sanitizer runtime of an ASan build).
# Exit status 0 when every check passed; the first failure stops it with a message.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: check_install.sh BUILD_DIR LIBDIR VERSION CC [FLAGS]" >&2; exit 2; }
build=$1 libdir=$2 version=$3 cc=$4 flags=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/oocsolve-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix lib=$tmp/prefix/$libdir

fail() { echo "check_install: FAIL: $*" >&2; exit 1; }
step() { echo "check_install: $*"; }

# run_example NAME PROGRAM: run PROGRAM in a folder of its own (it writes example.csv/.h5).
run_example() {
  mkdir "$tmp/run-$1"
  (cd "$tmp/run-$1" && "$2") || fail "$1: the example failed"
}

# linked_soname PROGRAM: the liboocsolve PROGRAM loads (its DT_NEEDED entry), or nothing.
linked_soname() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(liboocsolve[^]]*\)\]/\1/p'; }

step "installing $build into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/oocsolve.h include/oocsolve/export.h include/oocsolve/version.h \
         "$libdir/liboocsolve.so" "$libdir/liboocsolve.a" "$libdir/pkgconfig/oocsolve.pc" \
         "$libdir/cmake/oocsolve/oocsolveConfig.cmake" \
         "$libdir/cmake/oocsolve/oocsolveConfigVersion.cmake" bin/oocsolve; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
cli_version=$("$prefix/bin/oocsolve" --version)
grep -qx "oocsolve $version" <<<"$cli_version" || fail "oocsolve --version: $cli_version"

step "SONAME and exported symbols"
so=$(readlink -f "$lib/liboocsolve.so")
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] || fail "liboocsolve.so has no SONAME"
[ "$(readlink -f "$lib/$soname")" = "$so" ] || fail "$soname is not installed as a link to $so"
echo "  SONAME $soname"
exports=$(nm -D --defined-only "$so" | awk '{ print $NF }')
others=$(grep -v -E '^(ooc_|_init$|_fini$|_edata$|_end$|__bss_start$)' <<<"$exports" || true)
[ -z "$others" ] || fail "liboocsolve.so exports symbols outside ooc_: $(tr '\n' ' ' <<<"$others")"
for f in ooc_version ooc_strerror ooc_ingest_options_init ooc_ingest; do
  grep -qx "$f" <<<"$exports" || fail "liboocsolve.so does not export $f"
done
! grep -qx ooc_error_set <<<"$exports" || fail "liboocsolve.so exports internal ooc_error_set"
echo "  $(grep -c '^ooc_' <<<"$exports") ooc_ functions exported"

step "CMake consumer (find_package(oocsolve $version CONFIG))"
cmake -S "$here" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DOOC_EXPECTED_VERSION="$version" -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null || fail "configuring the CMake consumer"
cmake --build "$tmp/cmake-build" >/dev/null || fail "building the CMake consumer"
[ "$(linked_soname "$tmp/cmake-build/example_shared")" = "$soname" ] ||
  fail "example_shared does not load $soname"
[ -z "$(linked_soname "$tmp/cmake-build/example_static")" ] || fail "example_static: not static"
run_example cmake-shared "$tmp/cmake-build/example_shared"
run_example cmake-static "$tmp/cmake-build/example_static"

step "pkg-config consumer"
export PKG_CONFIG_PATH=$lib/pkgconfig
[ "$(pkg-config --modversion oocsolve)" = "$version" ] || fail "pkg-config --modversion"
# shellcheck disable=SC2046,SC2086  # the flags are lists of words
$cc $flags -o "$tmp/example_pc" "$here/example.c" $(pkg-config --cflags --libs oocsolve) \
  -Wl,-rpath,"$lib" || fail "cc \$(pkg-config --cflags --libs oocsolve)"
[ "$(linked_soname "$tmp/example_pc")" = "$soname" ] || fail "example_pc does not load $soname"
run_example pc-shared "$tmp/example_pc"
# -l:liboocsolve.a for -loocsolve: the archive, not the .so beside it.
static_libs=$(pkg-config --static --libs oocsolve)
# shellcheck disable=SC2046,SC2086
$cc $flags -o "$tmp/example_pc_static" "$here/example.c" $(pkg-config --static --cflags oocsolve) \
  ${static_libs/-loocsolve/-l:liboocsolve.a} || fail "cc \$(pkg-config --static --libs oocsolve)"
[ -z "$(linked_soname "$tmp/example_pc_static")" ] || fail "example_pc_static: not static"
run_example pc-static "$tmp/example_pc_static"

step "every check passed"

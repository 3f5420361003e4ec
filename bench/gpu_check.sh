#!/usr/bin/env bash
# gpu_check.sh — the one-command GPU check (issue 11): everything a short loan of a GPU machine
# should do, prepared and tested here.
#
# On the GPU machine (the device tool; one command, results under $OUT):
#
#     command: bash bench/gpu_check.sh "$OUT"      carry: [".gpu-pack"]      timeout_s: 600
#
#   Before that, here (Debian 12): `bash bench/gpu_check.sh --pack` (makes .gpu-pack/, which
#   .gitignore ignores, so it travels only because `carry` names it).  The machine has CUDA 13,
#   CMake, ninja, Python 3.12 with numpy/pandas, but not Debian's libhdf5, OpenBLAS, LAPACKE,
#   libdeflate, ISA-L or libblosc: the pack holds those (shared libraries + headers, xz-compressed).
#   Record what a run shows in docs/GPU_RUNS.md (date, GPU, driver, commit, results.md).
#
# Usage:
#   bash bench/gpu_check.sh [options] OUTDIR          the check (on the GPU machine)
#   bash bench/gpu_check.sh --emulate [options] OUTDIR
#                     the same stages here through the CUDA emulator plugin (tests/cuda_emu),
#                     small sizes; exit 1 when any stage failed (ctest gpu_check_emulated)
#   bash bench/gpu_check.sh --pack [DIR]             (Debian 12) make the library pack in DIR
#                                                     (default .gpu-pack)
#   bash bench/gpu_check.sh --verify-pack [DIR]      (Debian 12, root) the emulated check built
#                     ONLY from the pack: Debian's HDF5/OpenBLAS/LAPACK(E)/libdeflate/ISA-L/
#                     libblosc/gfortran files hidden by overlay whiteouts in a private mount
#                     namespace
#   bash bench/gpu_check.sh --fingerprint            the tree fingerprint results.md records
# Options:
#   --build DIR      use this existing build directory as it is (nothing configured or built;
#                    its own libraries); default: configure + build against the pack
#   --pack-dir DIR   the pack to build against (default .gpu-pack in the repository root)
#   --budget S       wall-clock budget in seconds (default 450 on the device: the tool allows
#                    600 s a command; 240 emulated); stages that no longer fit are skipped
#   --quick          the emulated (small) sizes on the device too
#   --keep-work      keep the scratch folder (data, build when emulated) and say where
#
# Stages (each: status, seconds, note and log tail in OUTDIR/results.md, rewritten after every
# stage, so a run cut short still reports; a failing stage does not stop the next ones):
#   preflight     host, toolchain, Python, source (commit or tree fingerprint), pack facts
#   nvidia-smi    `nvidia-smi -q` (OUTDIR/nvidia-smi-q.txt), name/driver/clocks/memory/cc
#   pack          verify (sha256) and unpack the pack into the build folder
#   build         Release, CUDA backend, ninja, all cores: oocsolve + oocsolve_cuda.so +
#                 bench_decode + the gpu-labelled tests only (emulated: + the emulated plugin)
#   ldd           RPATH and ldd of every binary: nothing missing, pack libraries from the pack
#   gpu-tests     ctest -L gpu: test_cuda_backend_gpu (GPU vs CPU, NIST bounds) and
#                 test_cuda_backend_racy_gpu (the planted race: recorded, not asserted)
#   devices       oocsolve devices (its time: plugin load + CUDA initialisation)
#   data-W, time-W   for W1 (2.5M x 12, the seed formula), P200 (500k x 200), P1000
#                 (100k x 1000): bench/gen_data.py in parallel parts, oocsolve ingest (W1
#                 also with the response I(y > 1), for glm); then fit qr, fit normal, svd and
#                 (W1) glm --family binomial with --device gpu and --device cpu (--threads =
#                 all cores), alternating, --profile traces, peak RSS, GPU-vs-CPU agreement,
#                 and bench_decode's decompression limit; fit qr also with --device gpu
#                 --gpu-decode off: chunks inflated on the GPU (nvCOMP) against the host
#   nvidia-smi-after   clocks, temperature, memory after the runs
# OUTDIR gets results.md, results.json, nvidia-smi-q.txt, traces.tar.gz, logs.tar.gz (<= 8
# files, each well under 16 MiB).  Exit status: 0 when no stage failed, 1 otherwise, 2 usage.
set -uo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
HELPER="$ROOT/bench/gpu_check.py"
PACK_NAME=oocsolve-gpu-pack.tar.xz
SEED_RHS="0 + a + b + c + d + d:c + a:b + a:c + C(cat1, Treatment, levels=lnames)"

usage() {
  sed -n '/^# Usage:/,/^# Stages/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
say() { echo "gpu_check: $*"; }

# ----------------------------------------------------------------------- python ----------
# PY: a Python with numpy + pandas (bench/gen_data.py); HPY: any Python 3 (the helper).
pick_python() {
  local c
  for c in "${OOC_GPU_CHECK_PYTHON:-}" /opt/torch/.venv/bin/python3 "$ROOT/.venv/bin/python" python3; do
    [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import numpy, pandas' >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  command -v python3 || echo python3
}

# ===================================================================== --pack (Debian) =====
# The libraries the build links (libhdf5 serial, OpenBLAS pthread, LAPACKE, libdeflate, ISA-L,
# libblosc) and everything they load (ldd), except the C library family, libgcc_s and libstdc++
# (libsnappy's, under libblosc), which every Linux with a compiler has (the pack's libraries
# need glibc >= the version MANIFEST records; a pack copy of libstdc++ would shadow the newer
# one CUDA's libraries may need); their headers; dev symlinks for the linker.  Copied from this
# installed system (the same files the tests here use), xz-compressed because OpenBLAS alone is
# 36 MB.
PACK_EXCLUDE='^(linux-vdso|ld-linux|libc\.so|libm\.so|libmvec\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so|libutil\.so|libanl\.so|libnsl\.so|libgcc_s\.so|libstdc\+\+\.so)'
LIBDIR=/usr/lib/x86_64-linux-gnu

pack_main() {
  local dir
  dir=$(mkdir -p "$1" && cd "$1" && pwd) || { echo "gpu_check --pack: cannot create $1" >&2; exit 1; }
  set -e
  [ "$(uname -m)" = x86_64 ] || { echo "--pack: x86_64 only" >&2; exit 1; }
  grep -q '^12' /etc/debian_version 2>/dev/null ||
    echo "--pack: warning: not Debian 12 ($(cat /etc/debian_version 2>/dev/null)); the pack holds this system's libraries" >&2
  local roots=() f
  for f in "$LIBDIR/hdf5/serial/libhdf5.so" "$LIBDIR/libopenblas.so" "$LIBDIR/liblapacke.so" \
           "$LIBDIR/libdeflate.so" "$LIBDIR/libisal.so" "$LIBDIR/libblosc.so"; do
    [ -e "$f" ] || { echo "--pack: $f missing: install the build's packages (source cmake/bootstrap.sh; ooc_install_packages)" >&2; exit 1; }
    roots+=("$(readlink -f "$f")")
  done
  PACK_STAGE=$(mktemp -d)
  trap 'rm -rf "$PACK_STAGE"' EXIT
  local tree="$PACK_STAGE/pack"
  mkdir -p "$tree/lib" "$tree/include"
  # closure: soname -> file
  declare -A lib_of=()
  local r name path soname
  for r in "${roots[@]}"; do
    soname=$(readelf -d "$r" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    lib_of[$soname]=$r
    while read -r name path; do
      [[ "$name" =~ $PACK_EXCLUDE ]] && continue
      [ -n "$path" ] && [ -e "$path" ] || { echo "--pack: $r needs $name, not found" >&2; exit 1; }
      lib_of[$name]=$(readlink -f "$path")
    done < <(ldd "$r" | awk '/=>/ {print $1, $3}')
  done
  for name in "${!lib_of[@]}"; do
    cp -L "${lib_of[$name]}" "$tree/lib/$name"
  done
  # names the linker and the find modules look for
  local dev
  for dev in "libhdf5.so:${roots[0]}" "libopenblas.so:${roots[1]}" "liblapacke.so:${roots[2]}" \
             "libdeflate.so:${roots[3]}" "libisal.so:${roots[4]}" "libblosc.so:${roots[5]}"; do
    soname=$(readelf -d "${dev#*:}" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    ln -s "$soname" "$tree/lib/${dev%%:*}"
  done
  # headers (flat include/: FindHDF5 with HDF5_ROOT looks in include/)
  cp -a /usr/include/hdf5/serial/. "$tree/include/"
  cp -a /usr/include/lapack.h /usr/include/lapacke.h /usr/include/lapacke_config.h \
        /usr/include/lapacke_mangling.h /usr/include/lapacke_utils.h /usr/include/libdeflate.h \
        /usr/include/isa-l.h /usr/include/isa-l /usr/include/blosc.h /usr/include/blosc-export.h \
        "$tree/include/"
  # nvCOMP (the GPU decoder, --gpu-decode): the wheel tests/requirements.txt installs in .venv
  local nvc
  nvc=$(ls -d "$ROOT"/.venv/lib/python3*/site-packages/nvidia/libnvcomp 2>/dev/null | head -1)
  [ -n "$nvc" ] && [ -f "$nvc/lib64/libnvcomp.so.6" ] ||
    { echo "--pack: nvCOMP missing: install tests/requirements.txt into .venv (nvidia-libnvcomp-cu13)" >&2; exit 1; }
  mkdir -p "$tree/nvcomp/lib64"
  cp -L "$nvc/lib64/libnvcomp.so.6" "$tree/nvcomp/lib64/"
  ln -s libnvcomp.so.6 "$tree/nvcomp/lib64/libnvcomp.so"
  cp -a "$nvc/include" "$tree/nvcomp/include"
  cp -L /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h \
        /usr/include/x86_64-linux-gnu/openblas-pthread/f77blas.h \
        /usr/include/x86_64-linux-gnu/openblas-pthread/openblas_config.h "$tree/include/"
  # manifest: files, their packages and versions, the newest glibc symbol version needed
  local glibc
  glibc=$(find "$tree/lib" -type f -exec objdump -T {} + 2>/dev/null | grep -o 'GLIBC_[0-9.]*' |
          sed 's/GLIBC_//' | sort -uV | tail -1)
  local commit="unknown"
  if command -v git >/dev/null && [ -d "$ROOT/.git" ]; then
    commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  fi
  {
    echo "file	bytes	sha256	from	package"
    for name in $(printf '%s\n' "${!lib_of[@]}" | sort); do
      path=${lib_of[$name]}
      local pkg
      pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "${path/#\/usr\/lib/\/lib}" 2>/dev/null || echo "?: ?")
      pkg=${pkg%%:*}
      local ver
      ver=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || echo "?")
      echo "lib/$name	$(stat -c %s "$tree/lib/$name")	$(sha256sum "$tree/lib/$name" | cut -c1-16)	$path	$pkg $ver"
    done
  } > "$tree/MANIFEST.tsv"
  cat > "$tree/README.txt" <<EOF
oocsolve GPU-check library pack (bench/gpu_check.sh --pack), made $(date -u '+%Y-%m-%d %H:%M UTC')
on $(. /etc/os-release; echo "$PRETTY_NAME") ($(uname -m)), tree commit $commit.
lib/      shared libraries by SONAME (MANIFEST.tsv: source file, Debian package, version) and
          the unversioned names the linker wants; needs glibc >= $glibc, libgcc_s and libstdc++.
include/  HDF5 (serial), cblas/openblas_config, LAPACKE, libdeflate, ISA-L, blosc headers.
nvcomp/   nvCOMP's library and headers from the nvidia-libnvcomp-cu13 wheel (the GPU decoder).
bench/gpu_check.sh builds with HDF5_ROOT and the find modules' variables pointing here and
links with -Wl,--disable-new-dtags + RPATH to lib/, so the binaries load these copies (and their
libcurl/libcrypto/... dependencies) without LD_LIBRARY_PATH.
EOF
  local raw nfiles
  raw=$(du -sb "$tree" | cut -f1)
  nfiles=$(find "$tree" -type f | wc -l)
  rm -f "$dir/$PACK_NAME" "$dir/$PACK_NAME.sha256" "$dir/manifest.json"
  tar -C "$tree" -cf - . | xz -T0 -6 > "$dir/$PACK_NAME.partial"
  mv "$dir/$PACK_NAME.partial" "$dir/$PACK_NAME"
  (cd "$dir" && sha256sum "$PACK_NAME" > "$PACK_NAME.sha256")
  local sha
  sha=$(cut -d' ' -f1 "$dir/$PACK_NAME.sha256")
  cp "$tree/MANIFEST.tsv" "$dir/MANIFEST.tsv"
  printf '{"archive": "%s", "sha256": "%s", "files": %d, "raw_bytes": %d, "archive_bytes": %d, "made": "%s", "source": "%s, commit %s", "glibc_needed": "%s"}\n' \
    "$PACK_NAME" "$sha" "$nfiles" "$raw" "$(stat -c %s "$dir/$PACK_NAME")" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(. /etc/os-release; echo "$PRETTY_NAME")" "$commit" \
    "$glibc" > "$dir/manifest.json"
  local tree_bytes=0 pack_bytes
  if command -v git >/dev/null && [ -d "$ROOT/.git" ]; then
    tree_bytes=$(cd "$ROOT" && git ls-files -z -co --exclude-standard | xargs -0 -r du -cb 2>/dev/null | awk '/\ttotal$/ {s += $1} END {print s + 0}')
  fi
  pack_bytes=$(du -sb "$dir" | cut -f1)
  echo "gpu_check --pack: $dir/$PACK_NAME: ${#lib_of[@]} libraries + headers, $nfiles files," \
       "$((raw / 1048576)) MiB unpacked, $(( $(stat -c %s "$dir/$PACK_NAME") / 1048576 )) MiB compressed; needs glibc >= $glibc"
  echo "gpu_check --pack: travel size: pack folder $((pack_bytes / 1024)) KiB + working tree $((tree_bytes / 1024)) KiB" \
       "= $(( (pack_bytes + tree_bytes) / 1048576 )) MiB of 64 MiB"
  echo "gpu_check --pack: device command: bash bench/gpu_check.sh \"\$OUT\"   carry: [\".gpu-pack\"]"
}

# ============================================================== --verify-pack (Debian) =====
# The emulated check, building ONLY from the pack: a private mount namespace where overlay
# whiteouts hide the Debian files of HDF5, OpenBLAS, LAPACK(E), BLAS, tmglib, libdeflate,
# ISA-L, libblosc, libsz/libaec, gfortran/quadmath (libraries, headers, h5cc, CMake/pkg-config files), as
# on the GPU machine.  libcurl, libcrypto, zlib... stay visible (the GPU machine has its own;
# cmake needs them), so the ldd stage's check that every pack library comes from the pack is
# what shows they are not taken from the system.
HIDE_LIB=(hdf5 blas lapack openblas-pthread 'libaec*' 'libblas*' 'libdeflate*' 'libgfortran*'
  'libhdf5*' 'libisal*' 'liblapack*' 'libopenblas*' 'libquadmath*' 'libsz*' 'libtmglib*'
  'libblosc*' cmake/openblas 'pkgconfig/hdf5*' 'pkgconfig/blas*' 'pkgconfig/lapack*'
  'pkgconfig/openblas*' 'pkgconfig/libdeflate*' 'pkgconfig/libisal*' 'pkgconfig/blosc*')
HIDE_INC=(hdf5 isa-l isa-l.h 'lapack*.h' libdeflate.h blosc.h blosc-export.h
  'x86_64-linux-gnu/cblas*' x86_64-linux-gnu/f77blas.h x86_64-linux-gnu/openblas-pthread
  x86_64-linux-gnu/openblas_config.h)
HIDE_BIN=('h5*')

verify_pack_main() {
  local dir; dir=$(cd "$1" && pwd) || { echo "--verify-pack: no pack folder $1 (make it with --pack)" >&2; exit 1; }
  [ "$(id -u)" = 0 ] && command -v unshare >/dev/null ||
    { echo "--verify-pack: needs root and unshare (a private mount namespace)" >&2; exit 1; }
  local out="${2:-$(mktemp -d)/out}"
  mkdir -p "$out"
  local ov; ov=$(mktemp -d)
  unshare -m bash -s "$SELF" "$dir" "$out" "$ov" "$(declare -p HIDE_LIB HIDE_INC HIDE_BIN)" <<'EOF'
set -euo pipefail
SELF=$1 dir=$2 out=$3 ov=$4
eval "$5"
mount --make-rprivate /
hide() {   # hide MOUNTPOINT PATTERNS...: overlay with a whiteout per existing match
  local mp=$1 tag; shift
  tag=$(echo "$mp" | tr / _)
  mkdir -p "$ov/$tag/u" "$ov/$tag/w"
  local p m n=0
  shopt -s nullglob
  for p in "$@"; do
    for m in "$mp"/$p; do
      local rel=${m#"$mp"/}
      mkdir -p "$ov/$tag/u/$(dirname "$rel")"
      mknod "$ov/$tag/u/$rel" c 0 0
      n=$((n + 1))
    done
  done
  mount -t overlay overlay -o "lowerdir=$mp,upperdir=$ov/$tag/u,workdir=$ov/$tag/w" "$mp"
  echo "verify-pack: hid $n entries of $mp"
}
hide /usr/lib/x86_64-linux-gnu "${HIDE_LIB[@]}"
hide /usr/include "${HIDE_INC[@]}"
hide /usr/bin "${HIDE_BIN[@]}"
for f in /usr/include/hdf5 /usr/include/lapacke.h /usr/include/x86_64-linux-gnu/cblas.h \
         /usr/lib/x86_64-linux-gnu/libopenblas.so.0 /usr/lib/x86_64-linux-gnu/libhdf5_serial.so.103 \
         /usr/lib/x86_64-linux-gnu/libgfortran.so.5 /usr/lib/x86_64-linux-gnu/libblosc.so.1 \
         /usr/include/blosc.h /usr/bin/h5cc; do
  [ ! -e "$f" ] || { echo "verify-pack: $f still visible" >&2; exit 1; }
done
echo "verify-pack: system HDF5/OpenBLAS/LAPACKE/libdeflate/ISA-L/libblosc/gfortran hidden; running the emulated check from the pack"
rc=0
bash "$SELF" --emulate --pack-dir "$dir" --budget 900 "$out" || rc=$?
echo "verify-pack: emulated check exit $rc; results in $out/results.md"
exit $rc
EOF
  local rc=$?
  rm -rf "$ov"
  return $rc
}

# ================================================================== the check =============
# Stage functions run in a process of their own (`bash gpu_check.sh __stage NAME`, under
# `timeout`), with the settings in exported variables.  Exit 0 = passed, 77 = skipped (reason
# in $STATE/NAME.skip), anything else = failed; a note for the table in $STATE/NAME.note.
note() { echo "$*" > "$STATE/$STAGE.note"; echo "note: $*"; }
skip() { echo "$*" > "$STATE/$STAGE.skip"; echo "skipped: $*"; exit 77; }
need_exe() { [ -x "$OOC_EXE" ] || skip "no oocsolve executable (the build stage did not pass)"; }
hrun() { "$HPY" "$HELPER" "$@"; }

stage_preflight() {
  hrun facts --out "$STATE/facts.json" --root "$ROOT" --mode "$MODE" --py "$PY" --work "$WORK"
  cat "$STATE/facts.json"
  local bad=()
  [ "$(uname -m)" = x86_64 ] || bad+=("not x86_64 (the pack is amd64)")
  command -v cmake >/dev/null || bad+=("no cmake")
  command -v cc >/dev/null || command -v gcc >/dev/null || bad+=("no C compiler")
  if [ "$MODE" = device ] && [ -z "$REUSE_BUILD" ]; then
    command -v nvcc >/dev/null || bad+=("no nvcc (CUDA toolkit) on PATH or in /usr/local/cuda")
  fi
  "$PY" -c 'import numpy, pandas' 2>/dev/null || bad+=("$PY has no numpy+pandas (data stages will fail)")
  local free; free=$(df -Pk "$WORK" | awk 'NR == 2 {print int($4 / 1048576)}')
  [ "$MODE" = emulate ] || [ "$free" -ge 16 ] || bad+=("only $free GiB free in $WORK")
  if [ ${#bad[@]} -gt 0 ]; then
    note "problems: $(IFS=';'; echo "${bad[*]}")"
    return 1
  fi
  note "$(uname -m), $NPROC cores, $free GiB free; data Python $PY"
}

stage_nvidia_smi() {
  command -v nvidia-smi >/dev/null || { note "nvidia-smi not found"; return 1; }
  timeout 60 nvidia-smi -q > "$OUTDIR/nvidia-smi-q.txt" 2>&1 || echo "nvidia-smi -q: exit $?"
  local rc=0
  hrun smi --out "$STATE/gpu.json" --q "$OUTDIR/nvidia-smi-q.txt" > "$STATE/smi.out" || rc=$?
  cat "$STATE/smi.out"
  note "$(tail -1 "$STATE/smi.out")"
  return $rc
}

stage_nvidia_smi_after() {
  command -v nvidia-smi >/dev/null || { note "nvidia-smi not found"; return 1; }
  local rc=0
  hrun smi --out "$STATE/gpu_after.json" > "$STATE/smi-after.out" || rc=$?
  cat "$STATE/smi-after.out"
  note "$(tail -1 "$STATE/smi-after.out")"
  return $rc
}

stage_pack() {
  [ -z "$REUSE_BUILD" ] || skip "--build: the existing build and its libraries are used"
  local archive="$PACK_DIR/$PACK_NAME"
  [ -f "$archive" ] || { note "no $archive: run 'bash bench/gpu_check.sh --pack' on Debian 12 and carry .gpu-pack"; return 1; }
  if [ -f "$archive.sha256" ]; then
    (cd "$PACK_DIR" && sha256sum -c "$PACK_NAME.sha256") || { note "sha256 mismatch: $archive is damaged"; return 1; }
  fi
  rm -rf "$PACK_TREE"
  mkdir -p "$PACK_TREE"
  if command -v xz >/dev/null; then
    tar -C "$PACK_TREE" -xJf "$archive"
  else
    # no xz binary: Python's tarfile reads xz (lzma) itself
    "$HPY" -c 'import sys, tarfile
kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
tarfile.open(sys.argv[1]).extractall(sys.argv[2], **kw)' "$archive" "$PACK_TREE"
  fi || { note "cannot unpack $archive"; return 1; }
  [ -f "$PACK_DIR/manifest.json" ] && cp "$PACK_DIR/manifest.json" "$STATE/pack.json"
  cat "$PACK_TREE/README.txt" 2>/dev/null
  local need have
  need=$(sed -n 's/.*"glibc_needed": "\([0-9.]*\)".*/\1/p' "$PACK_DIR/manifest.json" 2>/dev/null)
  have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  if [ -n "$need" ] && [ -n "$have" ] &&
     [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
    note "the pack needs glibc >= $need, this machine has $have"
    return 1
  fi
  note "$(find "$PACK_TREE" -type f | wc -l) files, $(du -sm "$PACK_TREE" | cut -f1) MiB unpacked; glibc $have >= $need"
}

stage_build() {
  if [ -n "$REUSE_BUILD" ]; then
    [ -x "$OOC_EXE" ] || { note "--build $B has no host/oocsolve"; return 1; }
    [ -f "$GPU_PLUGIN" ] || { note "--build $B has no $(basename "$GPU_PLUGIN")"; return 1; }
    note "reused $B (not rebuilt)"
    return 0
  fi
  [ -f "$PACK_TREE/lib/libhdf5.so" ] || { note "no unpacked pack in $PACK_TREE (the pack stage did not pass)"; return 1; }
  local P="$PACK_TREE" gen=() arch=() lf
  command -v ninja >/dev/null && gen=(-G Ninja)
  if command -v nvidia-smi >/dev/null; then
    # the GPU decoder's kernels (device/decode_kernels.cu) for this GPU
    local cc; cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
    [ -n "$cc" ] && arch=(-DCMAKE_CUDA_ARCHITECTURES="$cc")
  fi
  lf="-Wl,--disable-new-dtags -Wl,-rpath-link,$P/lib"
  local t0=$SECONDS
  rm -f "$B/CMakeCache.txt"
  cmake -S "$ROOT" -B "$B" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DOOC_CUDA=ON -DOOC_BUILD_TESTS=ON \
    -DOOC_PYTHON="$PY" "${arch[@]}" \
    -DHDF5_ROOT="$P" -DHDF5_NO_FIND_PACKAGE_CONFIG_FILE=ON -DHDF5_PREFER_PARALLEL=OFF \
    -DCMAKE_PREFIX_PATH="$P" -DNVCOMP_ROOT="$P/nvcomp" \
    -DLibDeflate_INCLUDE_DIR="$P/include" -DLibDeflate_LIBRARY="$P/lib/libdeflate.so" \
    -DISAL_INCLUDE_DIR="$P/include" -DISAL_LIBRARY="$P/lib/libisal.so" \
    -DBlosc_INCLUDE_DIR="$P/include" -DBlosc_LIBRARY="$P/lib/libblosc.so" \
    -DOpenBLASLapacke_LAPACKE_INCLUDE_DIR="$P/include" -DOpenBLASLapacke_CBLAS_INCLUDE_DIR="$P/include" \
    -DOpenBLASLapacke_LAPACKE_LIBRARY="$P/lib/liblapacke.so" \
    -DOpenBLASLapacke_OPENBLAS_LIBRARY="$P/lib/libopenblas.so" \
    -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON -DCMAKE_DISABLE_FIND_PACKAGE_Zstd=ON \
    -DCMAKE_DISABLE_FIND_PACKAGE_BZip2=ON -DCMAKE_DISABLE_FIND_PACKAGE_LibLZMA=ON \
    -DCMAKE_EXE_LINKER_FLAGS="$lf" -DCMAKE_SHARED_LINKER_FLAGS="$lf" -DCMAKE_MODULE_LINKER_FLAGS="$lf" \
    -DCMAKE_BUILD_RPATH="$P/lib;$P/nvcomp/lib64" || { note "configure failed"; return 1; }
  local tconf=$((SECONDS - t0))
  # only what the check runs: the CLI (its dependency builds the plugin), bench_decode, the
  # gpu-labelled test programs (test names that are targets), and emulated: the emulated plugin
  local targets=(oocsolve oocsolve_cuda bench_decode) help t
  help=$(cmake --build "$B" --target help 2>/dev/null)
  for t in $(ctest --test-dir "$B" -N -L gpu 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: \(.*\)$/\1/p'); do
    grep -qE "(^|[ .:])$t(:| |$)" <<< "$help" && targets+=("$t")
  done
  [ "$MODE" = emulate ] && targets+=(oocsolve_cuda_emu test_cuda_backend_racy_emu)
  echo "targets: ${targets[*]}"
  cmake --build "$B" -j "$NPROC" --target "${targets[@]}" || { note "build failed (configure ${tconf} s)"; return 1; }
  grep -E '^(HDF5_C_LIBRARY_hdf5|HDF5_C_INCLUDE_DIR|OpenBLASLapacke_[A-Z_]*|LibDeflate_[A-Z]*|ISAL_[A-Z]*|Blosc_[A-Z]*|CUDAToolkit_(BIN_DIR|INCLUDE_DIR|LIBRARY_ROOT)|CMAKE_GENERATOR|CMAKE_C_COMPILER):' "$B/CMakeCache.txt"
  note "${gen[1]:-Makefiles}, $NPROC jobs: configure ${tconf} s, build $((SECONDS - t0 - tconf)) s; targets ${targets[*]}"
}

stage_ldd() {
  need_exe
  local f outside=() missing=() wrong=() packlibs=""
  [ -n "$REUSE_BUILD" ] || packlibs=$(ls "$PACK_TREE/lib")
  local bins=("$OOC_EXE" "$B/host/oocsolve_cuda.so" "$B/bench/bench_decode"
              "$B/tests/test_cuda_backend_gpu" "$B/tests/test_cuda_backend_racy_gpu")
  [ "$MODE" = emulate ] && bins+=("$GPU_PLUGIN")
  for f in "${bins[@]}"; do
    [ -e "$f" ] || continue
    echo "== $f"
    readelf -d "$f" | grep -E 'R(UN)?PATH' || echo "(no RPATH/RUNPATH)"
    local line name path
    while read -r line; do
      echo "  $line"
      name=${line%% *}
      path=$(sed -n 's/.*=> \(\/[^ ]*\).*/\1/p' <<< "$line")
      if [[ "$line" == *"not found"* ]]; then
        missing+=("$(basename "$f"): $name")
      elif [ -n "$packlibs" ] && grep -qxF "$name" <<< "$packlibs"; then
        [[ "$path" == "$PACK_TREE/lib/"* ]] || wrong+=("$(basename "$f"): $name => $path")
      elif [ -n "$path" ] && ! [[ "$name" =~ $PACK_EXCLUDE ]]; then
        outside+=("$name")
      fi
    done < <(ldd "$f" 2>&1 | sed 's/^[[:space:]]*//; s/ (0x[0-9a-f]*)$//')
  done
  local others="none"
  [ ${#outside[@]} -eq 0 ] || others=$(printf '%s\n' "${outside[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//')
  if [ ${#missing[@]} -gt 0 ] || [ ${#wrong[@]} -gt 0 ]; then
    note "not found: ${missing[*]:-none}; pack libraries from elsewhere: ${wrong[*]:-none}"
    return 1
  fi
  if [ -n "$packlibs" ]; then
    note "every library resolved; the pack's from the pack; from the system besides glibc/libgcc_s: $others"
  else
    note "every library resolved (--build: the build's own libraries, $(wc -w <<< "$others") besides glibc/libgcc_s; see the log)"
  fi
}

stage_gpu_tests() {
  need_exe
  local log="$STATE/ctest.log" rc=0
  ctest --test-dir "$B" -L gpu -V --timeout 180 > "$log" 2>&1 || rc=$?
  if [ "$MODE" = emulate ]; then
    # the planted race through the emulator (where it must show), to exercise the recording
    ctest --test-dir "$B" -R '^test_cuda_backend_racy_emu$' -V --timeout 60 >> "$log" 2>&1 || rc=$?
  fi
  cat "$log"
  hrun ctest --log "$log" --rec "$STATE/ctest.json" > "$STATE/gpu-tests.summary" || rc=1
  cat "$STATE/gpu-tests.summary"
  local n skipped
  n=$(grep -c . "$STATE/gpu-tests.summary")
  skipped=$(grep -c ': Skipped' "$STATE/gpu-tests.summary")
  [ "$n" -gt 0 ] || { note "ctest ran no test (exit $rc)"; return 1; }
  note "$(tr '\n' ';' < "$STATE/gpu-tests.summary" | sed 's/;$//; s/;/; /g')"
  if [ "$MODE" = device ] && [ "$skipped" -gt 0 ]; then
    echo "on the GPU machine a skipped gpu test means the CUDA runtime saw no GPU"
    return 1
  fi
  if [ "$MODE" = emulate ] && ! grep -q 'racy_emu: Passed.*the race showed' "$STATE/gpu-tests.summary"; then
    echo "emulated: the planted race must show"
    return 1
  fi
  return $rc
}

stage_devices() {
  need_exe
  local rc=0
  hrun run --rec "$STATE/devices-run.json" --log "$STATE/devices.txt" --timeout 120 -- "$OOC_EXE" devices || rc=$?
  cat "$STATE/devices.txt"
  "$OOC_EXE" devices --json > "$STATE/devices.json" 2> "$STATE/devices-json.err" || rc=$?
  cat "$STATE/devices.json" "$STATE/devices-json.err"
  local secs; secs=$(sed -n 's/.*"wall_s": \([0-9]*\.[0-9]\{0,3\}\).*/\1/p' "$STATE/devices-run.json" | head -1)
  if ! grep -q '"gpus": \[{' "$STATE/devices.json"; then
    note "oocsolve devices lists no GPU"
    return 1
  fi
  note "oocsolve devices: $(sed -n 's/^\(gpu:0 .*\)$/\1/p' "$STATE/devices.txt" | head -1) in ${secs:-?} s (plugin load + CUDA initialisation)"
  return $rc
}

workload() {   # workload NAME -> ROWS PEXTRA
  local w
  for w in $WORKLOADS; do
    IFS=: read -r n rows extra <<< "$w"
    [ "$n" = "$1" ] && { echo "$rows $extra"; return 0; }
  done
  return 1
}

formula() {
  local k f="y ~ $SEED_RHS"
  for ((k = 0; k < $1; k++)); do f+=" + e$k"; done
  echo "$f"
}

stage_data() {   # data-NAME
  need_exe
  local name=${STAGE#data-} rows extra
  read -r rows extra < <(workload "$name")
  local csv="$WORK/$name.csv" h5="$WORK/$name.h5" rc=0
  rm -f "$h5"
  hrun gen --py "$PY" --out "$csv" --rows "$rows" --p-extra "$extra" --jobs "$NPROC" \
    --rec "$STATE/gen-$name.json" --log "$LOGS/gen_data-$name.log" || { tail -5 "$LOGS/gen_data-$name.log"; note "gen_data.py failed"; return 1; }
  hrun run --rec "$STATE/ingest-$name.json" --log "$LOGS/ingest-$name.log" --timeout 300 -- \
    "$OOC_EXE" ingest "$csv" -f "$(formula "$extra")" --var lnames=0,1,2,3,4 -o "$h5" -q --progress off || rc=$?
  tail -5 "$LOGS/ingest-$name.log"
  if [ "$name" = W1 ] && [ "$rc" = 0 ]; then   # the logit's data: the same design, y > 1 as 0/1
    hrun run --rec "$STATE/ingest-$name-logit.json" --log "$LOGS/ingest-$name-logit.log" --timeout 300 -- \
      "$OOC_EXE" ingest "$csv" -f "I((y > 1) * 1.0) ~ $SEED_RHS" --var lnames=0,1,2,3,4 \
      -o "$WORK/$name-logit.h5" -q --progress off || rc=$?
  fi
  rm -f "$csv"
  [ "$rc" = 0 ] && [ -f "$h5" ] || { note "ingest failed (exit $rc)"; return 1; }
  "$OOC_EXE" info "$h5" | head -30
  "$HPY" - "$STATE" "$name" "$h5" "$rows" "$((12 + extra))" <<'EOF'
import json, os, sys
st, name, h5, rows, p = sys.argv[1:]
def rd(f):
    try:
        return json.load(open(os.path.join(st, f)))
    except (OSError, ValueError):
        return {}
d = {"workload": name, "rows": int(rows), "p": int(p), "gen": rd(f"gen-{name}.json"),
     "ingest": rd(f"ingest-{name}.json"), "h5_mb": round(os.path.getsize(h5) / 1e6)}
json.dump(d, open(os.path.join(st, f"data-{name}.json"), "w"), indent=1)
print(f"{name}: {rows} rows x {p}: gen {d['gen'].get('gen_s', 0):.1f} s ({d['gen'].get('jobs')} parts), "
      f"ingest {d['ingest'].get('wall_s', 0):.2f} s, {d['ingest'].get('maxrss_mb', 0):.0f} MB peak, "
      f"HDF5 {d['h5_mb']} MB")
EOF
  note "$(tail -1 "$LOGS/$STAGE.log" 2>/dev/null || true)"
}

stage_time() {   # time-NAME
  need_exe
  local name=${STAGE#time-} h5="$WORK/${STAGE#time-}.h5" rc=0
  [ -f "$h5" ] || skip "no data (stage data-$name did not pass)"
  local GLM_H5="$WORK/$name-logit.h5"
  [ -f "$GLM_H5" ] || GLM_H5=""
  hrun bench --exe "$OOC_EXE" --workload "$name" --h5 "$h5" --threads "$NPROC" --runs "$RUNS" \
    --deadline "$DEADLINE" --traces "$WORK/traces" --logs "$LOGS/runs" --rec "$STATE/bench-$name.json" \
    --decode "$B/bench/bench_decode" --tol 1e-8 \
    ${GLM_H5:+--glm-h5 "$GLM_H5"} || rc=$?
  "$HPY" - "$STATE/bench-$name.json" > "$STATE/$STAGE.note" <<'EOF'
import json, sys
try:
    b = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("no record written (see the log)")
    sys.exit(0)
parts = []
for s in b.get("steps", []):
    g, c, h = s.get("gpu_median_s"), s.get("cpu_median_s"), s.get("gpu-host_median_s")
    parts.append(f"{s['step']} CPU {c:.2f} s / GPU {g:.2f} s (decode {s.get('gpu_decode')})"
                 + (f" / GPU, host decode {h:.2f} s" if h else "") if g and c
                 else f"{s['step']} incomplete")
if b.get("decode_limit_s") is not None:
    parts.append(f"decode limit {b['decode_limit_s']:.2f} s")
probs = b.get("problems", [])
print("; ".join(parts) + (f"; {len(probs)} PROBLEM(S), first: {probs[0]}" if probs else ""))
EOF
  cat "$STATE/$STAGE.note"
  return $rc
}

stage_dispatch() {
  STAGE=$1
  export STAGE
  case "$STAGE" in
    preflight) stage_preflight ;;
    nvidia-smi) stage_nvidia_smi ;;
    nvidia-smi-after) stage_nvidia_smi_after ;;
    pack) stage_pack ;;
    build) stage_build ;;
    ldd) stage_ldd ;;
    gpu-tests) stage_gpu_tests ;;
    devices) stage_devices ;;
    data-*) stage_data ;;
    time-*) stage_time ;;
    *) echo "unknown stage $STAGE" >&2; exit 2 ;;
  esac
}

report() {
  "$HPY" "$HELPER" report --state "$STATE" --out "$OUTDIR/results.md" --json "$OUTDIR/results.json" \
    > /dev/null 2> "$STATE/report.err" || say "report failed: $(tail -3 "$STATE/report.err")"
}

FAILED=0
run_stage() {   # run_stage NAME LIMIT_S MIN_LEFT_S
  local name=$1 limit=$2 min_left=$3 now left status rc=0
  now=$(date +%s)
  left=$((DEADLINE - now))
  local log="$LOGS/$name.log" t0
  if [ "$left" -lt "$min_left" ]; then
    echo "time budget: ${left} s left, the stage needs ${min_left} s" | tee "$STATE/$name.skip" > "$log"
    rc=77
    # emulated, every stage must run (that is what keeps the script from rotting)
    [ "$MODE" = emulate ] && { cp "$STATE/$name.skip" "$STATE/$name.note"; rc=3; }
  else
    [ "$limit" -le "$left" ] || limit=$left
    t0=$(date +%s.%N)
    timeout -k 10 "$limit" bash "$SELF" __stage "$name" > "$log" 2>&1 || rc=$?
  fi
  local secs; secs=$(awk -v a="${t0:-0}" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", a ? b - a : 0}')
  local note=""
  case $rc in
    0) status=passed ;;
    77) status=skipped; note=$(tail -1 "$STATE/$name.skip" 2>/dev/null) ;;
    124|137) status="timed out (${limit} s)"; FAILED=$((FAILED + 1)) ;;
    *) status="FAILED (exit $rc)"; FAILED=$((FAILED + 1)) ;;
  esac
  [ -f "$STATE/$name.note" ] && note="${note:+$note; }$(tr '\n\t' '  ' < "$STATE/$name.note" | sed 's/ *$//')"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$secs" "$note" "$log" >> "$STATE/stages.tsv"
  say "$name: $status in ${secs} s${note:+ — $note}"
  bundle     # after every stage, like results.md: a run cut short still returns what it has
  report
}

write_config() {
  "$HPY" - "$STATE/config.json" "$@" <<'EOF'
import json, sys, os
path, mode, started, budget, command, threads, runs, workloads, finished = sys.argv[1:10]
wl = []
for w in workloads.split():
    n, rows, extra = w.split(":")
    wl.append({"name": n, "rows": int(rows), "p": 12 + int(extra)})
json.dump({"mode": mode, "started_epoch": float(started), "started_utc": os.environ.get("STARTED_UTC"),
           "budget_s": int(budget), "command": command, "threads": int(threads), "runs": int(runs),
           "workloads": wl, "finished": finished == "1",
           "sizes": ", ".join(f"{w['name']} {w['rows']:,} rows x p {w['p']}" for w in wl) +
                    f"; {runs} run(s) per device and step"},
          open(path, "w"), indent=1)
EOF
}

bundle() {
  # traces: one tar.gz (<= 15 MiB: the later runs' traces are left out if it is larger); written
  # under a temporary name and renamed, as a kill may come at any time
  local t="$OUTDIR/bundle.tmp"
  if [ -d "$WORK/traces" ]; then
    tar -C "$WORK" -czf "$t" traces
    [ "$(stat -c %s "$t")" -le $((15 << 20)) ] ||
      tar -C "$WORK" -czf "$t" --exclude='*-[2-9].json' traces
    mv "$t" "$OUTDIR/traces.tar.gz"
  fi
  mkdir -p "$LOGS/state"
  cp "$STATE"/*.json "$STATE"/*.tsv "$STATE"/*.log "$LOGS/state/" 2>/dev/null
  [ -f "$B/CMakeCache.txt" ] && cp "$B/CMakeCache.txt" "$LOGS/state/"
  tar -C "$WORK" -czf "$t" logs
  [ "$(stat -c %s "$t")" -le $((15 << 20)) ] || tar -C "$WORK" -czf "$t" --exclude='logs/runs' logs
  mv "$t" "$OUTDIR/logs.tar.gz"
}

# Emulated, a stand-in nvidia-smi answers the queries the stages make, so that their code runs
# here too; every value it gives says EMULATED or is made up.
fake_nvidia_smi() {
  mkdir -p "$1"
  cat > "$1/nvidia-smi" <<'EOF'
#!/usr/bin/env bash
# stand-in for nvidia-smi (bench/gpu_check.sh --emulate): made-up values
case "$*" in
  -q*) printf '==============NVSMI LOG==============\nDriver Version : EMULATED\nCUDA Version : EMULATED\nAttached GPUs : 1\nGPU 00000000:00:00.0\n    Product Name : EMULATED (no GPU)\n' ;;
  --version) echo "NVIDIA-SMI stand-in (bench/gpu_check.sh --emulate)" ;;
  --query-gpu=*)
    q=${1#--query-gpu=}
    out=""
    for f in ${q//,/ }; do
      case $f in
        name) v="EMULATED (no GPU)" ;; driver_version) v=EMULATED ;; compute_cap) v=8.0 ;;
        memory.total) v="8192 MiB" ;; memory.used) v="0 MiB" ;; pci.bus_id) v=00000000:00:00.0 ;;
        *) v="[N/A]" ;;
      esac
      out+="${out:+, }$v"
    done
    echo "$out" ;;
  *) echo "nvidia-smi stand-in: unsupported: $*" >&2; exit 2 ;;
esac
EOF
  chmod +x "$1/nvidia-smi"
}

check_main() {
  [ -n "$OUTDIR" ] || usage
  mkdir -p "$OUTDIR" && OUTDIR=$(cd "$OUTDIR" && pwd) || { echo "cannot create $OUTDIR" >&2; exit 1; }
  rm -f "$OUTDIR/results.md" "$OUTDIR/results.json" "$OUTDIR/traces.tar.gz" "$OUTDIR/logs.tar.gz" \
        "$OUTDIR/nvidia-smi-q.txt"
  START=$(date +%s)
  STARTED_UTC=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/oocsolve-gpu-check.XXXXXX")
  STATE="$WORK/state"
  LOGS="$WORK/logs"
  mkdir -p "$STATE" "$LOGS/runs" "$WORK/traces"
  NPROC=$(nproc)
  PY=$(pick_python)
  HPY=$PY
  if [ "$MODE" = emulate ]; then
    BUDGET=${BUDGET:-240}
    B=${REUSE_BUILD:-$WORK/build}
    WORKLOADS="W1:20000:0 P200:2000:188 P1000:1100:988"
    RUNS=1
  else
    BUDGET=${BUDGET:-450}
    B=${REUSE_BUILD:-$ROOT/build-gpucheck}
    if [ "$QUICK" = 1 ]; then
      WORKLOADS="W1:20000:0 P200:2000:188 P1000:1100:988"
      RUNS=1
    else
      WORKLOADS="W1:2500000:0 P200:500000:188 P1000:100000:988"
      RUNS=3
    fi
  fi
  B=$(mkdir -p "$B" && cd "$B" && pwd)
  PACK_TREE="$B/gpu-pack"
  OOC_EXE="$B/host/oocsolve"
  unset OOC_CUDA_PLUGIN OOC_EMU_DEVICE_COUNT
  if [ "$MODE" = emulate ]; then
    GPU_PLUGIN="$B/tests/oocsolve_cuda_emu.so"
    export OOC_CUDA_PLUGIN="$GPU_PLUGIN" OOC_EMU_DEVICE_COUNT=1
    fake_nvidia_smi "$WORK/fakebin"
    PATH="$WORK/fakebin:$PATH"
  else
    GPU_PLUGIN="$B/host/oocsolve_cuda.so"
    [ -x /usr/local/cuda/bin/nvcc ] && ! command -v nvcc >/dev/null && PATH="/usr/local/cuda/bin:$PATH"
  fi
  DEADLINE=$((START + BUDGET - 20))   # 20 s kept for the report and the bundles
  export MODE ROOT HELPER OUTDIR WORK STATE LOGS NPROC PY HPY B PACK_DIR PACK_TREE OOC_EXE \
         GPU_PLUGIN REUSE_BUILD WORKLOADS RUNS DEADLINE STARTED_UTC PATH PACK_NAME
  local cmdline="bash bench/gpu_check.sh $ORIG_ARGS"
  write_config "$MODE" "$START" "$BUDGET" "$cmdline" "$NPROC" "$RUNS" "$WORKLOADS" 0
  say "mode $MODE, budget $BUDGET s, build $B, scratch $WORK, results $OUTDIR/results.md"
  trap 'say "interrupted"; write_config "$MODE" "$START" "$BUDGET" "$cmdline" "$NPROC" "$RUNS" "$WORKLOADS" 0; bundle; report; exit 1' INT TERM

  # name, time limit, time that must be left to start it (device sizes; emulated all small)
  run_stage preflight 60 10
  run_stage nvidia-smi 60 10
  run_stage pack 60 20
  run_stage build 300 60
  run_stage ldd 30 10
  run_stage gpu-tests 240 30
  run_stage devices 60 10
  local w n
  for w in $WORKLOADS; do
    n=${w%%:*}
    case "$MODE:$QUICK:$n" in
      device:0:W1) run_stage "data-$n" 120 40; run_stage "time-$n" 200 30 ;;
      device:0:*) run_stage "data-$n" 150 70; run_stage "time-$n" 200 40 ;;
      *) run_stage "data-$n" 120 10; run_stage "time-$n" 120 10 ;;
    esac
  done
  run_stage nvidia-smi-after 30 0

  write_config "$MODE" "$START" "$BUDGET" "$cmdline" "$NPROC" "$RUNS" "$WORKLOADS" 1
  bundle
  report
  say "done in $(( $(date +%s) - START )) s: $FAILED stage(s) failed; $OUTDIR/results.md"
  if [ "$KEEP" = 1 ]; then
    say "scratch kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  [ "$FAILED" -eq 0 ]
}

# ------------------------------------------------------------------------- arguments --
# a stage's own process: the settings come from the environment (check_main exports them)
[ "${1:-}" = __stage ] && { stage_dispatch "$2"; exit $?; }
MODE=device OUTDIR="" REUSE_BUILD="" PACK_DIR="$ROOT/.gpu-pack" BUDGET="" KEEP=0 QUICK=0
ORIG_ARGS="$*"
case "${1:-}" in
  --pack) pack_main "${2:-$ROOT/.gpu-pack}"; exit $? ;;
  --verify-pack) verify_pack_main "${2:-$ROOT/.gpu-pack}" "${3:-}"; exit $? ;;
  --fingerprint) exec "$(pick_python)" "$HELPER" fingerprint "$ROOT" ;;
esac
while [ $# -gt 0 ]; do
  case "$1" in
    --emulate) MODE=emulate ;;
    --build) REUSE_BUILD=$(cd "${2:?--build DIR}" && pwd) || exit 2; shift ;;
    --pack-dir) PACK_DIR=$(cd "${2:?--pack-dir DIR}" && pwd) || exit 2; shift ;;
    --budget) BUDGET=${2:?--budget S}; shift ;;
    --quick) QUICK=1 ;;
    --keep-work) KEEP=1 ;;
    -h|--help) usage ;;
    -*) echo "gpu_check: unknown option $1" >&2; usage ;;
    *) [ -z "$OUTDIR" ] || usage; OUTDIR=$1 ;;
  esac
  shift
done
check_main

#!/usr/bin/env bash
# bootstrap.sh — set up a fresh Debian 12 machine for oocsolve and build it.
#
#   source cmake/bootstrap.sh; ooc_bootstrap [BUILD_DIR] [extra cmake args...]
#
# Installs the Debian packages the build and tests need (when missing; needs
# root or sudo), creates the Python virtual environment .venv from
# tests/requirements.txt (when missing or when the requirements changed), and
# configures + builds oocsolve in BUILD_DIR (default: build).
set -euo pipefail

OOC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OOC_APT_PACKAGES=(build-essential cmake pkg-config clang libclang-rt-14-dev
  libhdf5-dev hdf5-tools libopenblas-dev liblapacke-dev libdeflate-dev libisal-dev libblosc-dev
  libblis-pthread-dev openmpi-bin libopenmpi-dev
  python3-venv librsvg2-bin zlib1g-dev libzstd-dev libbz2-dev liblzma-dev zstd)

ooc_install_packages() {
  local missing=()
  for p in "${OOC_APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ooc_python() {
  # A Python >= 3.10 for the venv: prefer the one on PATH.
  command -v python3
}

ooc_make_venv() {
  local venv="$OOC_ROOT/.venv" req="$OOC_ROOT/tests/requirements.txt"
  local stamp="$venv/.requirements.sha256"
  local want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "bootstrap: creating Python environment $venv"
  [ -x "$venv/bin/python" ] || "$(ooc_python)" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  "$venv/bin/pip" install -q -r "$req"
  echo "$want" > "$stamp"
}

ooc_build() {
  local dir="$1"; shift
  cmake -S "$OOC_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}

ooc_bootstrap() {
  local dir="${1:-$OOC_ROOT/build}"
  [ $# -gt 0 ] && shift
  ooc_install_packages
  ooc_make_venv
  ooc_build "$dir" "$@"
}

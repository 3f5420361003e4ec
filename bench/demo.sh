#!/usr/bin/env bash
# demo.sh — the main job on built-in demo data, from a fresh Debian 12 machine:
# installs what is missing, builds, generates the reference workload (2.5M rows, the seed's data and
# formula) if missing, then ingests it, describes the file, fits OLS and computes the SVD.
# Usage: bash bench/demo.sh [NROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
source cmake/bootstrap.sh
ooc_bootstrap build
rows=${1:-2500000}
mkdir -p bench/data
csv=bench/data/seed-$rows.csv h5=bench/data/seed-$rows.ooc.h5
[ -f "$csv" ] || { echo "demo: generating $csv"; .venv/bin/python bench/gen_data.py "$csv" "$rows"; }
exe=build/host/oocsolve
formula="y ~ 0 + a + b + c + d + d:c + a:b + a:c + C(cat1, Treatment, levels=lnames)"
set -x
"$exe" ingest "$csv" -f "$formula" --var lnames=0,1,2,3,4 -o "$h5"
"$exe" info "$h5"
"$exe" fit "$h5"
"$exe" svd "$h5"

#!/usr/bin/env python3
"""wide.py — wide designs against their limit and against dask, in one run (issue 14's table).

For each shape n×p it writes an h5py file as a dask/h5py user would (X n×p and Y of standard
normal values, first column 1, chunks of ~1 MiB rows, shuffle + deflate level 1), then runs,
alternating, --runs times each: `oocsolve fit --method normal`, `oocsolve fit --method qr` (CPU
backend) and the reference pipeline's `solve` (bench/reference/seed_pipeline.py: dask forms XᵀX
and Xᵀy and solves).  It also measures the two halves of the limit on the same machine:
  - decode: bench_decode's pipelined read + decode of every chunk on all cores (nothing else);
  - gram: bench_gram's dsyrk of n rows of p + 1 columns on all cores (the better of one
    single-threaded call per core, as the CPU backend's workers run, and one threaded call).
The limit is their sum (both need every core).  Fits print their text summary (as a user runs
them; --json adds the p×p covariance as text, 24 MB at p = 1000).  It prints medians, normal /
limit, the streaming pass alone against the limit (accumulate / limit; the fit's O(p³) finalize,
from one --json run, is the rest), qr / normal, the speed-ups over dask, and the OpenBLAS core.

usage: .venv/bin/python bench/wide.py [--shapes 300000x200,60000x1000] [--runs 3]
Environment: OOC_BUILD (default build/), as bench/run.py.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import DATA, PY, SEED, alternate, build_dir, decode_limit, timed_rss  # noqa: E402


def ensure_h5(n, p):
    """The shape's h5py file under bench/data (written once)."""
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"wide-{n}x{p}.h5py.h5")
    if os.path.exists(path):
        return path
    import h5py
    import numpy as np
    print(f"wide: writing {path}", file=sys.stderr)
    rng = np.random.default_rng(0)
    chunk = max(1, (1 << 20) // (8 * p))
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        x = f.create_dataset("X", (n, p), "f8", chunks=(chunk, p), shuffle=True,
                             compression="gzip", compression_opts=1)
        y = f.create_dataset("Y", (n,), "f8", chunks=(chunk,), shuffle=True,
                             compression="gzip", compression_opts=1)
        beta = rng.standard_normal(p)
        for s in range(0, n, 20_000):
            e = min(n, s + 20_000)
            block = rng.standard_normal((e - s, p))
            block[:, 0] = 1.0
            x[s:e] = block
            y[s:e] = block @ beta + rng.standard_normal(e - s)
    os.replace(tmp, path)
    return path


def gram_limit(n, p, runs):
    """(seconds, GF/s, OpenBLAS core) of bench_gram for n rows of p + 1 columns."""
    exe = os.path.join(build_dir(), "bench", "bench_gram")
    _, _, out = timed_rss([exe, str(p + 1), str(n), str(os.cpu_count()), str(max(runs, 3))])
    m = re.search(r"gram limit\s+([0-9.]+) s\s+([0-9.]+) GF/s", out)
    core = re.search(r"OpenBLAS core (\S+)", out)
    if not m or not core:
        raise RuntimeError(f"bench_gram output not understood:\n{out}")
    return float(m.group(1)), float(m.group(2)), core.group(1)


def finalize_seconds(fit):
    """The fit's own split: (accumulate, finalize) seconds of one --json run."""
    import json
    _, _, out = timed_rss(fit + ["--json"])
    t = json.loads(out)["timings"]
    return t["accumulate"], t["finalize"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="300000x200,60000x1000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    exe = os.path.join(build_dir(), "host", "oocsolve")
    print("| n × p | fit normal s | fit qr s | dask solve s | decode limit s | gram limit s "
          "(GF/s) | normal: accumulate + finalize s | normal / limit | accumulate / limit | "
          "qr / normal | normal vs dask | qr vs dask |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for shape in args.shapes.split(","):
        n, p = (int(v) for v in shape.lower().split("x"))
        h5 = ensure_h5(n, p)
        # the text summary, as a user runs it (--json adds the p×p covariance as text)
        fit = [exe, "fit", h5, "--device", "cpu", "--method"]
        normal, dask = alternate(args.runs, fit + ["normal"], [PY, SEED, "solve", h5])
        qr, _ = alternate(args.runs, fit + ["qr"], None)
        normal_s, qr_s, dask_s = (statistics.median(s for s, _ in v) for v in (normal, qr, dask))
        acc_s, fin_s = finalize_seconds(fit + ["normal"])
        decode_s, _ = decode_limit(h5, args.runs)
        gram_s, gflops, core = gram_limit(n, p, args.runs)
        limit = decode_s + gram_s
        print(f"| {n} × {p} | {normal_s:.2f} | {qr_s:.2f} | {dask_s:.2f} | {decode_s:.2f} | "
              f"{gram_s:.2f} ({gflops:.0f}) | {acc_s:.2f} + {fin_s:.2f} | {normal_s / limit:.2f} | "
              f"{acc_s / limit:.2f} | {qr_s / normal_s:.2f} | {dask_s / normal_s:.1f}× | "
              f"{dask_s / qr_s:.1f}× |", flush=True)
    print(f"\nmedians of {args.runs}; OpenBLAS core: {core}; build: {build_dir()}")


if __name__ == "__main__":
    main()

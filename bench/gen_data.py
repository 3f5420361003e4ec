#!/usr/bin/env python3
"""gen_data.py — the reference workload's CSV, without patsy.

Writes exactly the bytes `bench/reference/seed_pipeline.py gen-csv OUT NROWS SEED` writes (same
random stream, same design, same float format; tests/interop/ingest_reference.py checks this),
without patsy, so benchmarks and the demo can make the data with numpy and pandas alone.

usage: gen_data.py OUT.csv NROWS [SEED] [--p-extra K]
  --p-extra K   add K more standard-normal columns e0..e{K-1} (wider workloads, not seed-identical)
"""
import argparse
import os

import numpy as np
import pandas as pd

NCAT = 5
CHUNK = 500_000


def seed_design(d):
    """The seed formula's design: C(cat1)[0..4], a, b, c, d, d:c, a:b, a:c (patsy's order)."""
    dummies = (d["cat1"].to_numpy()[:, None] == np.arange(NCAT)[None, :]).astype(float)
    a, b, c, dd = (d[k].to_numpy() for k in "abcd")
    return np.column_stack([dummies, a, b, c, dd, dd * c, a * b, a * c])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("nrows", type=int)
    ap.add_argument("seed", type=int, nargs="?", default=0)
    ap.add_argument("--p-extra", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    tmp = args.out + ".partial"
    done, first = 0, True
    while done < args.nrows:
        m = min(CHUNK, args.nrows - done)
        d = pd.DataFrame(rng.standard_normal((m, 4)), columns=list("abcd"))
        d["cat1"] = rng.integers(0, NCAT, m)
        x = seed_design(d)
        beta = np.arange(0, 1, 1.0 / x.shape[1])
        d["y"] = x @ beta + rng.standard_normal(m)
        if args.p_extra:
            extra = rng.standard_normal((m, args.p_extra))
            for k in range(args.p_extra):
                d[f"e{k}"] = extra[:, k]
            d["y"] += extra @ np.linspace(-1, 1, args.p_extra)
        d.to_csv(tmp, mode="w" if first else "a", header=first, index=False, float_format="%.17g")
        first = False
        done += m
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()

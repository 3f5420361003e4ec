#!/usr/bin/env python3
"""seed_pipeline.py — the reference pipeline that oocsolve's benchmarks compare against.

oocsolve replaces a Python workflow for least-squares fits and SVDs of design matrices larger
than memory.  This file is that workflow, written the way its users write it, and staged so that
bench/run.py can time each step in its own process:

    gen-csv   synthetic data: columns a b c d (standard normal), cat1 (integer 0..4) and y
    ingest    CSV -> pandas.read_csv in chunks -> patsy.dmatrix -> PyTables EArrays /X, /Y (zlib 1)
    solve     dask: beta = solve(X'X, X'y), the normal equations (the workflow's usual method)
    lstsq     dask: beta = lstsq(X, y), dask's tall-skinny QR (TSQR)
    svd       dask: the singular values of X, through the same TSQR

Each stage prints exactly one JSON line on stdout, and nothing else goes to stdout:

    {"cmd": "solve", "seconds": 3.75, "result": [0.0012, 0.0831, ...]}

`seconds` is the wall time of the stage itself, from opening its input to having its result
(Python's start-up and the imports are not counted; bench/run.py times the whole process anyway);
`result` is the coefficients (solve, lstsq), the singular values, largest first (svd), or null
(gen-csv, ingest).  Messages, the progress bar and profiler notes go to stderr.

Why each step is done this way (it is what the benchmark measures, so it must stay the users'
way, not a tuned one):

* **gen-csv** draws the data in 500 000-row blocks from numpy's default_rng(SEED), in this order
  per block: a 4-column standard-normal block (a, b, c, d), the integers cat1, then the noise.
  It builds each block's design with patsy and the seed formula, sets beta = arange(0, 1, 1/p)
  and y = X beta + noise, and appends the block with to_csv(float_format="%.17g", index=False),
  the header only on the first block.  %.17g makes every double round-trip exactly, so both
  pipelines read the very same numbers.  bench/gen_data.py writes exactly the same bytes without
  patsy (tests/interop/ingest_reference.py checks this).
* **ingest** reads the CSV with pandas.read_csv(chunksize=50 000), because the whole file does not
  fit in memory.  Each chunk goes through patsy.dmatrix with the seed formula.  The categorical
  term names its levels (`levels=lnames`, lnames = 0..4): without it, patsy takes the levels from
  the values present in each chunk, and a chunk that missed one would get fewer columns.  patsy
  looks `lnames` up in the calling function's variables (dmatrix's eval_env), so it is a local
  variable there.  The rows are appended to PyTables EArrays, which grow along the rows, with the
  seed's Filters(complevel=1, complib="zlib") (PyTables adds its shuffle filter).  No
  expectedrows is given, as users do not give one, so PyTables picks its default chunk shape
  (682 x 12 for X and 8192 for Y with the seed's design): small chunks are part of what "the
  reference's file" costs a reader.  The file is written under a temporary name and renamed when
  complete, so an interrupted ingest never leaves a file that looks whole.
* **solve / lstsq / svd** open the file with PyTables and wrap /X and /Y with
  dask.array.from_array, with dask's default ("auto", 128 MiB) chunks: about 1.4M rows x 12 for the
  seed's design.  solve forms X'X and X'y blockwise and solves the small system (squaring the
  condition number, which is harmless for this well-conditioned design).  dask's lstsq and svd
  use TSQR, which needs exactly one column of row blocks, so X is rechunked to (rows of its first
  row block, all columns) first, and y to the same row blocks.  The default threaded scheduler
  runs the tasks, as it does for users.

Options of solve, lstsq and svd:

* `--progress` shows dask.diagnostics.ProgressBar on stderr.
* `--profile OUT` runs the computation under dask.diagnostics' Profiler (each task's start, end
  and worker thread), ResourceProfiler (memory and CPU of the process, sampled every
  --profile-dt seconds; it needs psutil) and CacheProfiler (when each task's result entered and
  left the scheduler's cache, and its size in bytes), and writes their records to OUT as JSON:

      {"cmd", "input", "dask_version", "seconds",
       "tasks":     [{"key", "name", "function", "start", "end", "worker_id"}, ...],
       "resources": [{"time", "mem_mb", "cpu_percent"}, ...]   (null, with "resources_missing",
                                                                when psutil is not installed),
       "cache":     [{"key", "name", "nbytes", "cached", "freed"}, ...],
       "summary":   {"tasks", "task_seconds", "by_name": {name: {"count", "seconds"}},
                     "peak_mem_mb", "peak_cache_nbytes"}}

  Times are seconds since the profilers started.  When OUT ends with .html, the JSON goes beside
  it (OUT with .json instead of .html) and dask.diagnostics.visualize draws the three profiles
  into OUT.  That needs bokeh, which is not among the project's requirements: without it the JSON
  is still written, a note on stderr says that bokeh is missing, and the stage succeeds.
  The profilers' cost, and writing their records, are included in `seconds`.
"""
import argparse
import contextlib
import json
import os
import sys
import time

import numpy as np

# The seed's model: no intercept, the four numeric columns, three interactions and the five
# dummies of cat1 (full rank because there is no intercept).  `lnames` is looked up by patsy in
# the function that calls dmatrix.
FORMULA = "0 + a + b + c + d + d:c + a:b + a:c + C(cat1, Treatment, levels=lnames)"
NCAT = 5                 # cat1 takes the values 0..NCAT-1
GEN_BLOCK = 500_000      # rows drawn and written per block by gen-csv (part of the byte stream)
READ_CHUNK = 50_000      # rows per pandas.read_csv chunk in ingest


def partial_name(path):
    """The temporary name an output is written under before it is renamed into place."""
    return path + ".partial"


# --------------------------------------------------------------------------- gen-csv

def gen_csv(out, nrows, seed=0):
    """Write NROWS rows of synthetic data to OUT.  The byte stream depends on the order of the
    random draws and on GEN_BLOCK, and must equal bench/gen_data.py's."""
    import pandas as pd
    from patsy import dmatrix

    lnames = np.arange(NCAT)  # noqa: F841  (used by the formula, through patsy)
    rng = np.random.default_rng(seed)
    tmp = partial_name(out)
    done = 0
    try:
        while done < nrows:
            m = min(GEN_BLOCK, nrows - done)
            frame = pd.DataFrame(rng.standard_normal((m, 4)), columns=["a", "b", "c", "d"])
            frame["cat1"] = rng.integers(0, NCAT, m)
            design = np.asarray(dmatrix(FORMULA, frame))
            beta = np.arange(0, 1, 1.0 / design.shape[1])
            frame["y"] = design @ beta + rng.standard_normal(m)
            frame.to_csv(tmp, mode="w" if done == 0 else "a", header=done == 0, index=False,
                         float_format="%.17g")
            done += m
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- ingest

def ingest(csv_path, h5_path, chunksize=READ_CHUNK):
    """CSV -> design matrix /X and response /Y in a PyTables file, one read_csv chunk at a time.
    Returns the number of rows written."""
    import pandas as pd
    import tables
    from patsy import dmatrix

    lnames = np.arange(NCAT)  # noqa: F841  (used by the formula, through patsy)
    filters = tables.Filters(complevel=1, complib="zlib")
    tmp = partial_name(h5_path)
    rows = 0
    try:
        with tables.open_file(tmp, mode="w") as h5:
            X = Y = None
            for chunk in pd.read_csv(csv_path, chunksize=chunksize):
                if chunk.empty:
                    continue
                design = np.asarray(dmatrix(FORMULA, chunk))
                if len(design) != len(chunk):
                    # patsy drops rows with missing values from X; y would no longer line up.
                    raise SystemExit(f"seed_pipeline.py: {csv_path}: missing values in data rows "
                                     f"{rows + 1}..{rows + len(chunk)}; this pipeline expects "
                                     "complete data")
                if X is None:
                    X = h5.create_earray(h5.root, "X", tables.Float64Atom(),
                                         shape=(0, design.shape[1]), filters=filters)
                    Y = h5.create_earray(h5.root, "Y", tables.Float64Atom(), shape=(0,),
                                         filters=filters)
                X.append(design)
                Y.append(chunk["y"].to_numpy(dtype=np.float64))
                rows += len(chunk)
            if X is None:
                raise SystemExit(f"seed_pipeline.py: {csv_path}: no data rows")
        os.replace(tmp, h5_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return rows


# --------------------------------------------------------------------------- dask stages

def one_column_of_blocks(X, y):
    """X rechunked to (rows of its first row block, all columns) and y to the same row blocks:
    the layout dask's TSQR (lstsq, svd) requires."""
    rows = X.chunks[0][0]
    Xr = X.rechunk((rows, X.shape[1]))
    return Xr, y.rechunk((Xr.chunks[0],))


def build(cmd, X, y):
    """The lazy dask array whose value is the stage's result."""
    import dask.array as da

    if cmd == "solve":
        return da.linalg.solve(X.T @ X, X.T @ y)
    if cmd == "lstsq":
        Xr, yr = one_column_of_blocks(X, y)
        return da.linalg.lstsq(Xr, yr)[0]
    if cmd == "svd":
        Xr, _ = one_column_of_blocks(X, y)
        return da.linalg.svd(Xr)[1]
    raise ValueError(cmd)


def nbytes(value):
    """Size in bytes of a task's result, for CacheProfiler (arrays, and tuples of them)."""
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    return int(getattr(value, "nbytes", 0))


def task_function(task):
    """A short name for the function a task runs (tasks are Task objects or legacy tuples)."""
    from dask.utils import funcname

    func = getattr(task, "func", None)
    if func is None and isinstance(task, tuple) and task and callable(task[0]):
        func = task[0]
    try:
        return funcname(func) if func is not None else type(task).__name__
    except Exception:
        return type(task).__name__


def peak_of_intervals(intervals):
    """Largest sum of weights alive at once, over (start, end, weight) intervals."""
    events = sorted([(s, w) for s, _, w in intervals] + [(e, -w) for _, e, w in intervals],
                    key=lambda ev: (ev[0], ev[1]))  # at equal times, frees before entries
    live = peak = 0
    for _, w in events:
        live += w
        peak = max(peak, live)
    return peak


def profile_record(cmd, path, seconds, prof, rprof, cprof, resources_missing):
    import dask
    from dask.utils import key_split

    t0 = prof.start_time
    tasks = [{"key": str(r.key), "name": key_split(r.key), "function": task_function(r.task),
              "start": r.start_time - t0, "end": r.end_time - t0, "worker_id": r.worker_id}
             for r in prof.results]
    tasks.sort(key=lambda t: t["start"])
    by_name = {}
    for t in tasks:
        entry = by_name.setdefault(t["name"], {"count": 0, "seconds": 0.0})
        entry["count"] += 1
        entry["seconds"] += t["end"] - t["start"]
    cache = [{"key": str(r.key), "name": key_split(r.key), "nbytes": r.metric,
              "cached": r.cache_time - t0, "freed": r.free_time - t0} for r in cprof.results]
    cache.sort(key=lambda c: c["cached"])
    resources = None
    if rprof is not None:
        resources = [{"time": r.time - t0, "mem_mb": r.mem, "cpu_percent": r.cpu}
                     for r in rprof.results]
    record = {
        "cmd": cmd,
        "input": path,
        "dask_version": dask.__version__,
        "seconds": seconds,
        "tasks": tasks,
        "resources": resources,
        "cache": cache,
        "summary": {
            "tasks": len(tasks),
            "task_seconds": sum(t["end"] - t["start"] for t in tasks),
            "by_name": by_name,
            "peak_mem_mb": max((r["mem_mb"] for r in resources or ()), default=None),
            "peak_cache_nbytes": peak_of_intervals([(c["cached"], c["freed"], c["nbytes"])
                                                    for c in cache]),
        },
    }
    if resources_missing:
        record["resources_missing"] = resources_missing
    return record


def write_json(path, obj):
    tmp = partial_name(path)
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def compute(cmd, path, result, profile=None, progress=False, profile_dt=0.1):
    """Compute `result`, under the requested diagnostics; write the profile if asked."""
    from dask.diagnostics import CacheProfiler, Profiler, ProgressBar, ResourceProfiler

    with contextlib.ExitStack() as stack:
        if progress:
            stack.enter_context(ProgressBar(out=sys.stderr))
        prof = rprof = cprof = None
        resources_missing = None
        if profile:
            prof = stack.enter_context(Profiler())
            try:
                import psutil  # noqa: F401  (ResourceProfiler's sampler needs it)
            except ImportError:
                resources_missing = ("psutil is not installed, so dask's ResourceProfiler cannot "
                                     "sample memory and CPU (pip install psutil)")
                print(f"seed_pipeline.py: {resources_missing}", file=sys.stderr)
            else:
                rprof = stack.enter_context(ResourceProfiler(dt=profile_dt))
            cprof = stack.enter_context(CacheProfiler(metric=nbytes, metric_name="nbytes"))
        t = time.perf_counter()
        value = result.compute()
        seconds = time.perf_counter() - t
    if profile:
        html = profile.endswith(".html")
        json_path = profile[:-len(".html")] + ".json" if html else profile
        write_json(json_path, profile_record(cmd, path, seconds, prof, rprof, cprof,
                                             resources_missing))
        print(f"seed_pipeline.py: profile written to {json_path}", file=sys.stderr)
        if html:
            try:
                import bokeh  # noqa: F401
            except ImportError:
                print(f"seed_pipeline.py: bokeh is not installed, so {profile} was not drawn "
                      f"(pip install bokeh); the profile's records are in {json_path}",
                      file=sys.stderr)
            else:
                from dask.diagnostics import visualize
                visualize([p for p in (prof, rprof, cprof) if p is not None], filename=profile,
                          show=False, save=True)
                print(f"seed_pipeline.py: profile drawn to {profile}", file=sys.stderr)
    return value


def dask_stage(cmd, path, profile=None, progress=False, profile_dt=0.1):
    import dask.array as da
    import tables

    with tables.open_file(path, mode="r") as h5:
        X = da.from_array(h5.root.X)
        y = da.from_array(h5.root.Y)
        return compute(cmd, path, build(cmd, X, y), profile, progress, profile_dt)


# --------------------------------------------------------------------------- command line

def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def parser():
    ap = argparse.ArgumentParser(
        prog="seed_pipeline.py",
        description="The reference pipeline (pandas + patsy + PyTables + dask) that oocsolve's "
                    "benchmarks compare against, one stage per command.  Each stage prints one "
                    'JSON line on stdout: {"cmd", "seconds", "result"}.',
        epilog="Example: seed_pipeline.py gen-csv d.csv 2500000 && seed_pipeline.py ingest d.csv "
               "d.h5 && seed_pipeline.py solve d.h5")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="STAGE")

    g = sub.add_parser("gen-csv", help="write synthetic data (columns a b c d cat1 y)",
                       description="Write NROWS rows of the seed's synthetic data; the same "
                                   "bytes as bench/gen_data.py OUT NROWS SEED.")
    g.add_argument("out", metavar="OUT.csv")
    g.add_argument("nrows", metavar="NROWS", type=positive_int)
    g.add_argument("seed", metavar="SEED", type=int, nargs="?", default=0,
                   help="numpy default_rng seed (default 0)")

    i = sub.add_parser("ingest", help="CSV -> patsy design -> PyTables /X, /Y (zlib level 1)",
                       description="Read IN.csv with pandas in chunks, build the seed formula's "
                                   "design with patsy, append it to PyTables EArrays /X and /Y.")
    i.add_argument("csv", metavar="IN.csv")
    i.add_argument("h5", metavar="OUT.h5")
    i.add_argument("--chunksize", type=positive_int, default=READ_CHUNK, metavar="N",
                   help=f"rows per read_csv chunk (default {READ_CHUNK})")

    for name, text in (("solve", "dask: solve(X'X, X'y), the normal equations"),
                       ("lstsq", "dask: lstsq(X, y) by TSQR"),
                       ("svd", "dask: singular values of X by TSQR")):
        s = sub.add_parser(name, help=text, description=text + ", on /X and /Y of IN.h5.")
        s.add_argument("h5", metavar="IN.h5")
        s.add_argument("--progress", action="store_true",
                       help="show dask's progress bar on stderr")
        s.add_argument("--profile", metavar="OUT",
                       help="run under dask's Profiler, ResourceProfiler and CacheProfiler and "
                            "write their records to OUT as JSON; if OUT ends with .html, the JSON "
                            "goes to OUT with .json and, when bokeh is installed, the plots to OUT")
        s.add_argument("--profile-dt", type=positive_float, default=0.1, metavar="SECONDS",
                       help="ResourceProfiler's sampling interval (default 0.1)")
    return ap


def main(argv=None):
    ap = parser()
    args = ap.parse_args(argv)
    source = args.csv if args.cmd == "ingest" else getattr(args, "h5", None)
    if source is not None and not os.path.isfile(source):
        ap.error(f"{args.cmd}: {source}: " + ("not a regular file" if os.path.exists(source)
                                               else "no such file"))
    # Import what the stage needs before the clock starts: `seconds` is the stage's own work.
    if args.cmd in ("gen-csv", "ingest"):
        import pandas  # noqa: F401
        import patsy  # noqa: F401
        import tables  # noqa: F401
    else:
        import dask.array  # noqa: F401
        import dask.diagnostics  # noqa: F401
        import tables  # noqa: F401, F811
    t = time.perf_counter()
    result = None
    if args.cmd == "gen-csv":
        gen_csv(args.out, args.nrows, args.seed)
    elif args.cmd == "ingest":
        ingest(args.csv, args.h5, args.chunksize)
    else:
        result = [float(v) for v in dask_stage(args.cmd, args.h5, args.profile, args.progress,
                                               args.profile_dt)]
    seconds = time.perf_counter() - t
    print(json.dumps({"cmd": args.cmd, "seconds": round(seconds, 6), "result": result}), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""run.py — the one benchmark command: oocsolve vs the reference pipeline, same data, same run.

For each workload it generates the CSV if missing (bench/gen_data.py writes the bytes that
bench/reference/seed_pipeline.py gen-csv writes; wide workloads add standard-normal columns e0,
e1, ...), then runs oocsolve (ingest, fit with each method, svd) and the reference pipeline
(bench/reference/seed_pipeline.py: its ingest, solve, lstsq, svd), alternating them, --runs times
each, and prints one table of medians, ratios and peak RSS, plus the measured decompression limit
(bench_decode: all chunks read on one thread while all cores inflate them, nothing else; and, for
comparison, the ideal max(read alone, decode alone)).  The reference's ingest has the seed formula
built in, so for the wide workloads (W3, W4) the reference steps run on oocsolve's file (PyTables
reads it natively).  The reference prints one JSON line per stage; only its process is timed.

usage: .venv/bin/python bench/run.py [--workloads W1,W2,W3,W4] [--runs K] [--runs-for W2=1,...]
                                      [--quick] [--no-reference] [--update-doc]
                                      [--codecs deflate,blosc:lz4,blosc:zstd]
  --quick       small sizes, one run: a smoke test of the whole harness (timings meaningless)
  --update-doc  rewrite the results table in docs/BENCHMARKS.md
  --codecs L    ingest codecs to compare (default: deflate, and no comparison).  With any other,
                each workload is also ingested with every codec in L and fitted (qr, CPU), the
                codecs taking turns within each run, and a second table gives per codec the
                medians of ingest and fit time, their peak RSS and the file size (MB = 1e6 bytes).
When `oocsolve devices` finds a GPU, fit also runs with --device gpu beside --device cpu.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
SEED = os.path.join(ROOT, "bench", "reference", "seed_pipeline.py")  # the reference pipeline
PY = sys.executable
SEED_RHS = "0 + a + b + c + d + d:c + a:b + a:c + C(cat1, Treatment, levels=lnames)"
DOC = os.path.join(ROOT, "docs", "BENCHMARKS.md")
BEGIN, END = "<!-- bench/run.py results begin -->", "<!-- bench/run.py results end -->"

# name: (rows, extra columns beyond the seed's 12, rows in --quick mode)
WORKLOADS = {
    "W1": (2_500_000, 0, 20_000),
    "W2": (25_000_000, 0, 50_000),
    "W3": (1_000_000, 188, 5_000),
    "W4": (200_000, 988, 2_000),
}


def build_dir():
    return os.environ.get("OOC_BUILD", os.path.join(ROOT, "build"))


def timed_rss(cmd):
    """Run cmd; return (wall seconds, peak RSS in MB of that child, stdout).  Dirty pages of
    earlier steps are flushed first (os.sync), so a step is not charged for writing back the
    previous step's output: a 25M-row ingest measured 18 s right after other large files were
    written and 9.3-10 s after a sync."""
    os.sync()
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    p.stdout.close()
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {err.decode()[-2000:]}")
    return dt, ru.ru_maxrss / 1024.0, out.decode()


def reference_cells(script, args, ours, key):
    """Run a statsmodels reference (`PY -c script args...`, printing JSON with "seconds" and
    `key`) in a child; its table cells: "fit s, with reading s (RSS MB)" and the largest
    relative difference of `key` between ours (a list) and its (entries where it is 0 left
    out)."""
    s, rss, out = timed_rss([PY, "-c", script] + list(args))
    ref = json.loads(out)
    diff = max(abs(a - b) / abs(b) for a, b in zip(ours, ref[key]) if b)
    return f"{ref['seconds']:.2f} fit, {s:.2f} with reading ({rss:.0f})", f"{diff:.1e}"


def formula(extra):
    return "y ~ " + SEED_RHS + "".join(f" + e{k}" for k in range(extra))


def ensure_csv(rows, extra):
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"seed-{rows}" + (f"-e{extra}" if extra else "") + ".csv")
    if not os.path.exists(path):
        print(f"bench: generating {path}", file=sys.stderr)
        cmd = [PY, os.path.join(ROOT, "bench", "gen_data.py"), path, str(rows)]
        if extra:
            cmd += ["--p-extra", str(extra)]
        subprocess.run(cmd, check=True)
    return path


class Table:
    def __init__(self):
        self.rows = []

    def add(self, workload, step, ours, ref=None, note=""):
        """ours/ref: lists of (seconds, rss_mb) or None."""
        row = {"workload": workload, "step": step, "note": note}
        if ours:
            row["ours_s"] = statistics.median(s for s, _ in ours)
            row["ours_rss"] = max(m for _, m in ours)
        if ref:
            row["ref_s"] = statistics.median(s for s, _ in ref)
            row["ref_rss"] = max(m for _, m in ref)
        if ours and ref:
            row["ratio"] = row["ref_s"] / row["ours_s"]
        self.rows.append(row)
        print(self.format_row(row), file=sys.stderr, flush=True)

    @staticmethod
    def header():
        return ("| workload | step | oocsolve s | reference s | speed-up | oocsolve peak RSS MB | "
                "reference peak RSS MB | note |\n|---|---|---:|---:|---:|---:|---:|---|")

    @staticmethod
    def format_row(r):
        def f(key, fmt):
            return format(r[key], fmt) if key in r else "–"
        return (f"| {r['workload']} | {r['step']} | {f('ours_s', '.2f')} | {f('ref_s', '.2f')} | "
                f"{f('ratio', '.1f')}{'×' if 'ratio' in r else ''} | {f('ours_rss', '.0f')} | "
                f"{f('ref_rss', '.0f')} | {r['note']} |")

    def markdown(self):
        return "\n".join([self.header()] + [self.format_row(r) for r in self.rows])


def alternate(runs, ours_cmd, ref_cmd):
    ours, ref = [], []
    for _ in range(runs):
        if ours_cmd:
            s, m, _ = timed_rss(ours_cmd)
            ours.append((s, m))
        if ref_cmd:
            s, m, _ = timed_rss(ref_cmd)
            ref.append((s, m))
    return ours or None, ref or None


def decode_limit(h5, runs):
    """(measured, ideal) decompression limits from bench_decode: the wall time of reading every
    chunk on one thread while all cores decode them, nothing else (the median of 2·runs + 1
    passes, at least 5, as fit's time is a median); and max(read alone, decode alone), best of
    those passes, which assumes reading costs no CPU the decoders need."""
    exe = os.path.join(build_dir(), "bench", "bench_decode")
    _, _, out = timed_rss([exe, h5, str(os.cpu_count()), str(max(2 * runs + 1, 5))])
    ideal = re.search(r"limit\s+overlapped max\(r,d\)\s+([0-9.]+) s", out)
    measured = re.search(r"limit\s+pipelined read\+decode\s+([0-9.]+) s", out)
    if not ideal or not measured:
        raise RuntimeError(f"bench_decode output not understood:\n{out}")
    return float(measured.group(1)), float(ideal.group(1))


def gpu_present(exe):
    """True when `oocsolve devices` lists at least one GPU (it prints 'no GPUs' otherwise)."""
    r = subprocess.run([exe, "devices"], capture_output=True, text=True)
    return r.returncode == 0 and "no GPUs" not in r.stdout + r.stderr


def run_workload(name, rows, extra, runs, reference, table):
    exe = os.path.join(build_dir(), "host", "oocsolve")
    csv = ensure_csv(rows, extra)
    stem = os.path.splitext(csv)[0]
    ours_h5, ref_h5 = stem + ".ooc.h5", stem + ".ref.h5"
    fml = formula(extra)
    ingest = [exe, "ingest", csv, "-f", fml, "--var", "lnames=0,1,2,3,4", "-o", ours_h5, "-q"]
    seed_shape = extra == 0
    ref_ingest = [PY, SEED, "ingest", csv, ref_h5] if reference and seed_shape else None
    ours, ref = alternate(runs, ingest, ref_ingest)
    table.add(name, "ingest (CSV → HDF5)", ours, ref,
              "" if ref else ("reference ingest has the seed formula built in" if reference else ""))
    files = [("ours", ours_h5)] + ([("reference's", ref_h5)] if ref_ingest else [])
    for label, h5 in files:
        rref = h5 if reference else None
        ours, ref = alternate(runs, [exe, "fit", h5, "--method", "qr", "--device", "cpu", "--json"],
                              [PY, SEED, "solve", rref] if rref else None)
        table.add(name, f"fit qr vs dask solve, {label} file", ours, ref)
        fit_qr = ours
        ours, ref = alternate(runs, [exe, "fit", h5, "--method", "normal", "--device", "cpu", "--json"],
                              [PY, SEED, "lstsq", rref] if rref else None)
        table.add(name, f"fit normal vs dask lstsq, {label} file", ours, ref)
        ours, ref = alternate(runs, [exe, "svd", h5, "--device", "cpu", "--json"],
                              [PY, SEED, "svd", rref] if rref else None)
        table.add(name, f"svd vs dask svd, {label} file", ours, ref)
        if label == "ours" and gpu_present(exe):
            for method in ("qr", "normal"):
                gpu, cpu = alternate(runs, [exe, "fit", h5, "--method", method, "--device", "gpu", "--json"],
                                     [exe, "fit", h5, "--method", method, "--device", "cpu", "--json"])
                table.add(name, f"fit {method}: GPU (oocsolve) vs CPU (as reference column)", gpu, cpu)
        limit, ideal = decode_limit(h5, runs)
        fit_s = statistics.median(s for s, _ in fit_qr)
        table.add(name, f"decompression limit, {label} file", [(limit, 0.0)], None,
                  f"fit qr takes {fit_s / limit:.2f}× the limit ({fit_s / ideal:.2f}× the ideal "
                  f"max(read, decode) = {ideal:.2f} s)")


class CodecTable:
    """Per workload and codec: ingest and fit qr times (medians), their peak RSS, file size, and
    the file's measured decode limit (bench_decode)."""

    def __init__(self):
        self.rows = []

    HEADER = ("| workload | codec | ingest s | ingest peak RSS MB | file MB | fit qr s | "
              "fit peak RSS MB | decode limit s |\n|---|---|---:|---:|---:|---:|---:|---:|")

    def add(self, workload, codec, ingest, size, fit, limit):
        row = (f"| {workload} | {codec} | {statistics.median(s for s, _ in ingest):.2f} | "
               f"{max(m for _, m in ingest):.0f} | {size / 1e6:.1f} | "
               f"{statistics.median(s for s, _ in fit):.2f} | {max(m for _, m in fit):.0f} | "
               f"{limit:.2f} |")
        self.rows.append(row)
        print(row, file=sys.stderr, flush=True)

    def markdown(self):
        return "\n".join([self.HEADER] + self.rows)


def run_codecs(name, rows, extra, runs, codecs, table):
    """Ingest the workload's CSV with each codec and fit each file (qr, CPU), the codecs taking
    turns within each run so that a drifting load touches them alike."""
    exe = os.path.join(build_dir(), "host", "oocsolve")
    csv = ensure_csv(rows, extra)
    stem = os.path.splitext(csv)[0]
    files = {c: f"{stem}.{c.replace(':', '-')}.ooc.h5" for c in codecs}
    ingest = {c: [] for c in codecs}
    fit = {c: [] for c in codecs}
    for _ in range(runs):
        for c in codecs:
            s, m, _ = timed_rss([exe, "ingest", csv, "-f", formula(extra), "--var",
                                 "lnames=0,1,2,3,4", "-o", files[c], "--codec", c, "-q"])
            ingest[c].append((s, m))
    for _ in range(runs):
        for c in codecs:
            s, m, _ = timed_rss([exe, "fit", files[c], "--method", "qr", "--device", "cpu",
                                 "--json"])
            fit[c].append((s, m))
    for c in codecs:
        table.add(name, c, ingest[c], os.path.getsize(files[c]), fit[c],
                  decode_limit(files[c], runs)[0])


def update_doc(table, args, load_before):
    """Rewrite the results block of docs/BENCHMARKS.md.  Rows (and run descriptions) of workloads
    this run did not measure are kept, so workloads can be rerun separately."""
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    load_after = os.getloadavg()[0]
    measured = set(args.workloads.split(","))
    cmd = "bench/run.py " + " ".join(sys.argv[1:])
    run_line = (f"Run {stamp} ({','.join(sorted(measured))}) on {platform.machine()}, {os.cpu_count()} "
                f"cores: `.venv/bin/python {cmd}` (medians of {args.runs} run(s) unless --runs-for "
                f"says otherwise, alternating oocsolve and the reference; speed-up = reference / "
                f"oocsolve). Load average (1 min) before / after: {load_before:.2f} / {load_after:.2f}.")
    text = open(DOC).read() if os.path.exists(DOC) else "# Benchmarks\n\n"
    old_runs, old_rows = [], []
    if BEGIN in text:
        old = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
        for line in old.splitlines():
            m = re.match(r"Run .*?\(([W0-9,]+)\)", line)
            if m and not set(m.group(1).split(",")) <= measured:
                redone = sorted(set(m.group(1).split(",")) & measured)
                if redone and "superseded" not in line:
                    line += f" (Its rows for {','.join(redone)} are superseded by a later run.)"
                old_runs.append(line)
            m = re.match(r"\| (W[0-9]+) \|", line)
            if m and m.group(1) not in measured:
                old_rows.append(line)
    rows = sorted(old_rows + [Table.format_row(r) for r in table.rows],
                  key=lambda line: line.split("|")[1].strip())  # stable: keeps step order
    block = "\n\n".join(old_runs + [run_line]) + "\n\n" + "\n".join([Table.header()] + rows)
    block = f"{BEGIN}\n{block}\n{END}"
    if BEGIN in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text += "\n" + block + "\n"
    with open(DOC + ".tmp", "w") as f:
        f.write(text)
    os.replace(DOC + ".tmp", DOC)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="W1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--runs-for", default="",
                    help="per-workload run counts overriding --runs, e.g. W2=1,W4=1")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--update-doc", action="store_true")
    ap.add_argument("--codecs", default="deflate",
                    help="ingest codecs to compare, e.g. deflate,blosc:lz4,blosc:zstd")
    args = ap.parse_args()
    codecs = args.codecs.split(",")
    if args.quick:
        args.runs = 1
    table = Table()
    codec_table = CodecTable() if codecs != ["deflate"] else None
    load_before = os.getloadavg()[0]
    runs_for = dict(item.split("=") for item in args.runs_for.split(",") if item)
    for name in args.workloads.split(","):
        rows, extra, quick_rows = WORKLOADS[name]
        runs = 1 if args.quick else int(runs_for.get(name, args.runs))
        run_workload(name, quick_rows if args.quick else rows, extra, runs,
                     not args.no_reference, table)
        if codec_table:
            run_codecs(name, quick_rows if args.quick else rows, extra, runs, codecs, codec_table)
    print(table.markdown())
    if codec_table:
        print()
        print(codec_table.markdown())
    if args.update_doc:
        update_doc(table, args, load_before)


if __name__ == "__main__":
    main()

"""profile_cli.py — `--profile` and `--progress` of ingest, fit and svd, end to end.

Generates a 300,000-row CSV (several CSV blocks, HDF5 chunks and 65,536-row
fit blocks), then runs the real commands with --profile and checks:
  - the trace is valid Chrome trace-event JSON (trace_render.check_trace_json)
    with the spans of the stages each pipeline has, the thread lanes named by
    the pipeline, the counter tracks and the run metadata;
  - the summary table on stderr names a bounding stage, and --json stdout
    still parses (nothing else is written to stdout);
  - `--progress on` writes its lines to stderr only, `--progress off` none;
  - a failed run still writes its trace, marked "failed";
  - profile-svg renders the fit and svd traces and rsvg-convert makes a
    non-trivial PNG showing the stages' colours (trace_render.check_render).
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trace_render  # noqa: E402  (shared checks; needs $OOCSOLVE)
from trace_render import OOCSOLVE, check, check_render, check_trace_json, run  # noqa: E402

ROWS = 300_000
FORMULA = "y ~ a + b + a:b + C(c)"


def write_csv(path):
    with open(path, "w") as f:
        f.write("y,a,b,c\n")
        for i in range(ROWS):
            a, b = i % 97, (i * 31) % 101 / 3.0
            y = 1.5 + 0.25 * a - 0.5 * b + 0.01 * a * b + ((i * 7919) % 1000) / 1000.0
            f.write(f"{y:.6f},{a},{b:.6f},{'xyz'[i % 3]}\n")


def spans_by_stage(doc):
    stages = {}
    for e in doc["traceEvents"]:
        if e.get("ph") == "X":
            stages[e["name"]] = stages.get(e["name"], 0) + 1
    return stages


def thread_names(doc):
    return {e["args"]["name"] for e in doc["traceEvents"]
            if e.get("ph") == "M" and e.get("name") == "thread_name"}


def counter_values(doc, name):
    return [v for e in doc["traceEvents"] if e.get("ph") == "C" and e.get("name") == name
            for v in e["args"].values()]


def check_summary(stderr, label):
    check("bounded by:" in stderr and "stage" in stderr and "spans" in stderr,
          f"{label}: summary table with a bounding stage on stderr:\n{stderr}")


def profiled(label, args, work):
    """Run an oocsolve command with --profile; returns (result, trace document or None)."""
    trace = os.path.join(work, label + ".json")
    r = run([OOCSOLVE, *args, "--profile", trace])
    check(r.returncode == 0, f"{label}: exit {r.returncode}: {r.stderr}")
    if r.returncode != 0 or not os.path.exists(trace):
        return r, None
    check_summary(r.stderr, label)
    doc = check_trace_json(trace, label)
    return r, doc


def test_ingest(work, csv, h5):
    r, doc = profiled("ingest", ["ingest", csv, "-f", FORMULA, "-o", h5, "--json",
                                 "--threads", "2"], work)
    if not doc:
        return
    stats = json.loads(r.stdout)  # stdout is the JSON document alone
    check(stats["rows_written"] == ROWS, f"ingest: rows_written {stats}")
    stages = spans_by_stage(doc)
    for stage in ("csv tokenize", "formula eval", "compress", "chunk write", "write output"):
        check(stages.get(stage, 0) >= 1, f"ingest: '{stage}' spans ({stages})")
    check(stages.get("compress", 0) >= 4, f"ingest: a compress span per chunk ({stages})")
    names = thread_names(doc)
    check({"main", "compress 1", "compress 2"} <= names, f"ingest: thread lanes {names}")
    other = doc["otherData"]
    check(other.get("rows") == str(ROWS) and other.get("formula") == FORMULA,
          f"ingest: metadata {other}")


def test_fit(work, h5):
    r, doc = profiled("fit", ["fit", h5, "--json", "--refine", "--cov", "HC1", "--threads", "2",
                              "--device", "cpu"], work)
    if not doc:
        return
    res = json.loads(r.stdout)
    check(res["nobs"] == ROWS, f"fit: --json nobs {res.get('nobs')}")
    stages = spans_by_stage(doc)
    blocks = -(-ROWS // 65536)
    check(stages.get("accumulate", 0) >= blocks,
          f"fit: an accumulate span per block on the caller ({stages})")
    for stage in ("chunk read", "decompress", "unshuffle", "finalize", "residual pass"):
        check(stages.get(stage, 0) >= 1, f"fit: '{stage}' spans ({stages})")
    names = thread_names(doc)
    # qr on 13 columns uses the rows kernel, which runs on the caller alone below 9 threads
    check({"main", "hdf5 reader", "decode 1", "decode 2"} <= names and
          not any(n.startswith("qr worker") for n in names), f"fit: thread lanes {names}")
    in_use = counter_values(doc, "ring buffers in use")
    check(in_use and max(in_use) >= 1 and min(in_use) >= 0,
          f"fit: 'ring buffers in use' counter samples {in_use}")
    other = doc["otherData"]
    for key, want in (("input", h5), ("method", "qr"), ("p", str(len(res["names"]))),
                      ("rows", str(ROWS)),
                      ("threads", "2"), ("device", "cpu"), ("cov", "HC1")):
        check(other.get(key) == want, f"fit: metadata {key}={other.get(key)!r}, want {want!r}")
    check_render(os.path.join(work, "fit.json"), work, "fit", b"\xed\xc9\x48", "decompress")


def test_fit_csv(work, csv):
    r, doc = profiled("fit_csv", ["fit", csv, "-f", FORMULA, "--json", "--threads", "2"], work)
    if not doc:
        return
    json.loads(r.stdout)
    stages = spans_by_stage(doc)
    for stage in ("csv tokenize", "formula eval", "accumulate", "finalize"):
        check(stages.get(stage, 0) >= 1, f"fit (CSV): '{stage}' spans ({stages})")


def test_svd(work, h5):
    u_out = os.path.join(work, "u.h5")
    r, doc = profiled("svd", ["svd", h5, "--json", "--u-out", u_out, "-k", "3", "--threads", "2",
                              "--method", "normal", "--device", "cpu"], work)
    if not doc:
        return
    res = json.loads(r.stdout)
    check(len(res.get("singular_values", [])) == 3, f"svd: --json singular values {res}")
    stages = spans_by_stage(doc)
    for stage in ("chunk read", "decompress", "accumulate", "finalize", "residual pass",
                  "write output", "compress", "chunk write"):
        check(stages.get(stage, 0) >= 1, f"svd: '{stage}' spans ({stages})")
    names = thread_names(doc)
    check({"syrk worker 1", "compress 1"} <= names, f"svd: thread lanes {names}")
    check_render(os.path.join(work, "svd.json"), work, "svd", b"\x9c\x75\x5f", "accumulate")


def test_progress(work, h5):
    r = run([OOCSOLVE, "fit", h5, "--json", "--progress", "on"])
    check(r.returncode == 0, f"fit --progress on: {r.stderr}")
    json.loads(r.stdout)  # progress never reaches stdout
    lines = [line for line in r.stderr.splitlines() if line.startswith("fit: ")]
    check(lines and "done" in lines[-1] and f"{ROWS:,} rows" in lines[-1],
          f"fit --progress on: progress lines on stderr: {r.stderr!r}")
    r = run([OOCSOLVE, "fit", h5, "--json", "--progress", "off"])
    check(r.returncode == 0 and not any(line.startswith("fit: ") for line in r.stderr.splitlines()),
          f"fit --progress off prints no progress: {r.stderr!r}")
    r = run([OOCSOLVE, "svd", h5, "--progress", "sometimes"])
    check(r.returncode == 2 and "--progress must be auto, on or off" in r.stderr,
          f"bad --progress value: {r.returncode} {r.stderr!r}")


def test_failed_run(work):
    trace = os.path.join(work, "failed.json")
    r = run([OOCSOLVE, "fit", os.path.join(work, "missing.h5"), "-f", "y ~ x",
             "--profile", trace])
    check(r.returncode == 1 and "missing.h5" in r.stderr, f"fit of a missing file: {r.stderr}")
    check(os.path.exists(trace), "a failed run still writes its trace")
    if os.path.exists(trace):
        with open(trace) as f:
            other = json.load(f)["otherData"]
        check(other.get("outcome") == "failed", f"failed run: outcome {other.get('outcome')}")


def main():
    with tempfile.TemporaryDirectory() as work:
        csv = os.path.join(work, "data.csv")
        h5 = os.path.join(work, "data.h5")
        write_csv(csv)
        test_ingest(work, csv, h5)
        if os.path.exists(h5):
            test_fit(work, h5)
            test_svd(work, h5)
            test_progress(work, h5)
        test_fit_csv(work, csv)
        test_failed_run(work)
        leftovers = [n for n in os.listdir(work) if ".tmp" in n]
        check(not leftovers, f"temporary files left behind: {leftovers}")
    if trace_render.failures:
        print(f"{len(trace_render.failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("profile_cli: all checks passed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""cpuinfo_cli.py — the CPU path as the oocsolve command shows it (tests/cpuinfo.cmake):

- `oocsolve devices` prints a CPU section first (model, extensions, rows kernel, BLAS and its
  core, threads), agreeing with `devices --json`, whose "cpu" object has every fact;
- `fit --json` and `svd --json` carry the same "cpu" object (the same core name);
- `--gram-blas`: auto's choice follows the BLAS warning; OpenBLAS and BLIS fits agree within
  the normal equations' bound;
- a `--profile` trace has the facts in its metadata (cpu_blas_core, ...), with --threads;
- the OpenBLAS kernel warning, when this machine earns one, is printed once on stderr and
  listed in fit's JSON warnings; when it does not, nothing is said.

Whatever this CPU, its BLAS kernels and OPENBLAS_CORETYPE are: expected values come from
`devices --json`, never from assumptions about the machine (the C test test_cpuinfo checks
the facts against direct calls).  Environment: OOCSOLVE (set by ctest).
"""
import json
import os
import subprocess
import sys
import tempfile

OOCSOLVE = os.environ["OOCSOLVE"]
KEYS = ["model", "extensions", "rows_kernel", "rows_kernel_max_columns", "blas", "blas_version",
        "blas_config", "blas_core", "gram_blas", "blas_threads", "solver_threads", "input_threads",
        "openblas_coretype", "openblas_l2_size", "blas_warning"]
# BLAS threads are read when the report is made: a fit's backend may set them to 1 when
# OPENBLAS_NUM_THREADS asked for more, so they are not compared between commands.
VARYING = {"blas_threads"}
from cliutil import check, failures  # noqa: E402


def run(*args):
    return subprocess.run([OOCSOLVE, *args], capture_output=True, text=True)


def warning_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("oocsolve: warning: OpenBLAS ")]


def same_facts(got, want, label):
    for key in KEYS:
        if key not in VARYING:
            check(got.get(key) == want[key], f"{label}: cpu.{key} {got.get(key)!r} != {want[key]!r}")


def test_devices():
    """The reference facts, from `devices --json`; checks the text output against them."""
    js = run("devices", "--json")
    check(js.returncode == 0, f"devices --json: {js.returncode} {js.stderr}")
    doc = json.loads(js.stdout)
    cpu = doc["cpu"]
    check(list(cpu) == KEYS, f"devices --json: cpu keys {list(cpu)}")
    check(set(doc) == {"cpu", "cuda_plugin", "gpu_decode", "gpus", "no_gpus_reason"}, f"devices --json: {list(doc)}")
    check(isinstance(cpu["extensions"], list) and
          set(cpu["extensions"]) <= {"sse4.2", "avx", "avx2", "fma", "avx512f", "avx512dq",
                                     "avx512bw", "avx512vl"}, f"extensions {cpu['extensions']}")
    check(cpu["rows_kernel"] in ("avx512", "avx2", "base"), f"rows kernel {cpu['rows_kernel']}")
    check(cpu["model"], "a model name (or the fallback)")
    check(cpu["solver_threads"] == 2 and cpu["input_threads"] >= 1, f"threads {cpu}")
    check(cpu["openblas_coretype"] == (os.environ.get("OPENBLAS_CORETYPE") or None),
          f"OPENBLAS_CORETYPE as in the environment: {cpu['openblas_coretype']!r}")
    if cpu["blas"] == "OpenBLAS":
        check(cpu["blas_core"] and cpu["blas_core"] in cpu["blas_config"],
              f"the core is named in OpenBLAS's config: {cpu['blas_core']!r} {cpu['blas_config']!r}")

    text = run("devices")
    lines = text.stdout.splitlines()
    check(text.returncode == 0 and lines and lines[0] == "CPU", f"devices: CPU section first: {lines[:2]}")
    fields = {}
    for line in lines[1:]:
        if not line.startswith("  "):
            break
        fields[line[2:25].strip()] = line[25:]
    check(fields.get("BLAS core") == (cpu["blas_core"] or "unknown"), f"devices: BLAS core line {fields}")
    check(fields.get("qr rows kernel") == cpu["rows_kernel"], f"devices: rows kernel line {fields}")
    check(fields.get("extensions") == (" ".join(cpu["extensions"]) or "none"), f"devices: {fields}")
    check(("  warning: " + cpu["blas_warning"] in lines) if cpu["blas_warning"]
          else not any(line.startswith("  warning:") for line in lines),
          f"devices: the BLAS warning shown exactly when there is one: {text.stdout}")
    check(any(line.startswith("no GPUs: ") or line.startswith("gpu:") for line in lines),
          f"devices: the GPU part follows: {text.stdout}")

    usage = run("devices", "--help")
    check(usage.returncode == 0 and "CPU" in usage.stdout and "--json" in usage.stdout,
          f"devices --help: {usage.stdout}")
    bad = run("devices", "--bogus")
    check(bad.returncode == 2 and "--bogus" in bad.stderr, f"devices --bogus: {bad.returncode}")
    return cpu


def write_csv(path):
    with open(path, "w") as f:
        f.write("y,a,b\n")
        for i in range(2000):
            a, b = i % 37, (i * 7) % 11
            f.write(f"{1 + 0.5 * a - b + (i * 7919 % 100) / 100.0},{a},{b}\n")


def test_fit_svd(cpu, tmp):
    csv = os.path.join(tmp, "d.csv")
    write_csv(csv)
    want_warning = cpu["blas_warning"]

    fit = run("fit", csv, "-f", "y ~ a + b", "--json", "--device", "cpu")
    check(fit.returncode == 0, f"fit --json: {fit.stderr}")
    doc = json.loads(fit.stdout)
    same_facts(doc["cpu"], cpu, "fit --json")
    check(doc["cpu"]["blas_core"] == cpu["blas_core"], "fit --json: the same core name")
    warned = warning_lines(fit.stderr)
    if want_warning:
        check(warned == ["oocsolve: warning: " + want_warning], f"fit --json: warned once: {fit.stderr!r}")
        check(doc["warnings"].count(want_warning) == 1, f"fit --json: listed: {doc['warnings']}")
    else:
        check(not warned and not any(w.startswith("OpenBLAS ") for w in doc["warnings"]),
              f"fit --json: no BLAS warning: {fit.stderr!r} {doc['warnings']}")

    text = run("fit", csv, "-f", "y ~ a + b", "--device", "cpu")
    check(text.returncode == 0 and len(warning_lines(text.stderr)) == (1 if want_warning else 0),
          f"fit (text): the BLAS warning on stderr once when due: {text.stderr!r}")

    svd = run("svd", csv, "-f", "y ~ a + b", "--json", "--device", "cpu", "--threads", "3")
    check(svd.returncode == 0, f"svd --json: {svd.stderr}")
    sdoc = json.loads(svd.stdout)
    check(sdoc["backend"] == "cpu", f"svd --json: backend {sdoc.get('backend')}")
    check(sdoc["cpu"]["solver_threads"] == 3 and sdoc["cpu"]["input_threads"] == 3,
          f"svd --json --threads 3: {sdoc['cpu']}")
    check(sdoc["cpu"]["blas_core"] == cpu["blas_core"], "svd --json: the same core name")
    check(len(warning_lines(svd.stderr)) == (1 if want_warning else 0), f"svd: {svd.stderr!r}")

    trace = os.path.join(tmp, "run.json")
    prof = run("fit", csv, "-f", "y ~ a + b", "--json", "--device", "cpu", "--threads", "3",
               "--profile", trace)
    check(prof.returncode == 0 and os.path.exists(trace), f"fit --profile: {prof.stderr}")
    if prof.returncode == 0:
        meta = json.load(open(trace))["otherData"]
        for key in KEYS:
            value = cpu[key]
            if key in VARYING:
                continue
            if key == "solver_threads" or key == "input_threads":
                value = 3
            if isinstance(value, list):
                value = " ".join(value)
            if value is None:
                check("cpu_" + key not in meta, f"trace: cpu_{key} left out when unknown: {meta}")
            else:
                check(meta.get("cpu_" + key) == str(value),
                      f"trace: cpu_{key} {meta.get('cpu_' + key)!r} != {value!r}")


def test_gram_blas(cpu, tmp):
    """--gram-blas: auto takes BLIS exactly when OpenBLAS's kernels are warned about; each
    library gives the same fit to within the normal equations' error bound; a wrong name is
    a usage error.  BLIS must load here: cmake/bootstrap.sh installs it."""
    check(cpu["gram_blas"].startswith("blis ") == bool(cpu["blas_warning"]) and
          (cpu["gram_blas"].startswith("openblas") or cpu["blas_warning"]),
          f"auto: BLIS exactly when OpenBLAS's kernels are warned about: {cpu}")
    csv = os.path.join(tmp, "g.csv")
    with open(csv, "w") as f:
        f.write("y,a,b,c\n")
        for i in range(3000):
            a, b, c = (i * 7919 % 1000) / 100.0, (i * 104729 % 997) / 50.0, (i % 13) - 6.0
            f.write(f"{1 + 0.5 * a - b + 0.25 * c + (i * 31 % 17) / 17.0},{a},{b},{c}\n")
    params = {}
    for lib in ("openblas", "blis"):
        r = run("fit", csv, "-f", "y ~ a + b + c", "--json", "--device", "cpu", "--method",
                "normal", "--gram-blas", lib)
        check(r.returncode == 0, f"--gram-blas {lib}: {r.returncode} {r.stderr}")
        if r.returncode == 0:
            doc = json.loads(r.stdout)
            check(doc["cpu"]["gram_blas"].startswith(lib + " "), f"{lib}: reported {doc['cpu']}")
            params[lib] = doc["params"]
            kappa = doc["condition_number"]
    if len(params) == 2:
        # Both solve the normal equations of the same rows: each β carries a relative error
        # of at most ~p·κ²·ε (forward error of Cholesky on XᵀX), so they differ by at most
        # twice that; κ is the design's 2-norm condition number the fit reports.
        eps = 2.0 ** -52
        tol = 2 * 4 * kappa * kappa * eps
        norm = max(abs(v) for v in params["openblas"])
        diff = max(abs(a - b) for a, b in zip(params["openblas"], params["blis"]))
        check(diff <= tol * norm, f"openblas vs blis: {diff:.3g} > {tol * norm:.3g}")
    bad = run("fit", csv, "-f", "y ~ a", "--gram-blas", "mkl")
    check(bad.returncode == 2 and "--gram-blas must be auto, openblas or blis" in bad.stderr,
          f"--gram-blas mkl: {bad.returncode} {bad.stderr}")


def main():
    cpu = test_devices()
    print("cpu:", json.dumps(cpu))
    with tempfile.TemporaryDirectory() as tmp:
        test_fit_svd(cpu, tmp)
        test_gram_blas(cpu, tmp)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("cpuinfo_cli: devices, fit/svd --json and --profile agree on the CPU path")


if __name__ == "__main__":
    main()

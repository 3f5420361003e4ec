#!/usr/bin/env python3
"""gpu_check.py — the Python half of bench/gpu_check.sh (standard library only: on the GPU
machine it runs under whatever Python is there; only `gen` needs numpy + pandas, in the Python it
is given with --py, for bench/gen_data.py).

  run      --rec R.json --log L [--timeout S] -- CMD...   one command: wall, CPU, peak RSS (wait4)
  facts    --out F.json --root DIR --mode M [--py PY]      host, toolchain, Python, source facts
  gen      --py PY --out X.csv --rows N [--p-extra K] --jobs J --rec R.json
                                                           bench/gen_data.py in J parts at once
  bench    --exe OOCSOLVE --workload W --h5 F --threads T --runs R --deadline EPOCH
           --traces DIR --logs DIR --rec R.json [--decode EXE] [--tol X] [--glm-h5 F]
                                                           fit qr / fit normal / svd (and glm
                                                           logit on --glm-h5), GPU vs CPU
  smi      --out F.json [--q nvidia-smi-q.txt]              nvidia-smi facts of the GPU
  ctest    --log L --rec R.json                           the gpu tests' outcomes from ctest -V
  report   --state DIR --out results.md [--json results.json]
  fingerprint ROOT                                         what results.md calls the tree
"""
import argparse
import datetime
import glob
import hashlib
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time


# ------------------------------------------------------------------ one timed command --

def timed(cmd, stdout_path, stderr_path, timeout=None, env=None):
    """Run cmd with stdout/stderr to files; wall seconds, user+sys CPU and peak RSS (MB) of the
    child from os.wait4 (no /usr/bin/time needed).  On timeout the child's process group is
    killed and rc is 124."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    err = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL
    t0 = time.perf_counter()
    try:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, start_new_session=True)
    except OSError as e:
        return {"cmd": cmd, "rc": 127, "wall_s": 0.0, "cpu_s": 0.0, "maxrss_mb": 0.0,
                "timed_out": False, "error": str(e)}
    fired = []

    def kill():
        fired.append(True)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if timer:
        timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    for f in (out, err):
        if f is not subprocess.DEVNULL:
            f.close()
    rc = 124 if fired else p.returncode
    return {"cmd": cmd, "rc": rc, "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
            "maxrss_mb": ru.ru_maxrss / 1024.0, "timed_out": bool(fired)}


def cmd_run(a):
    rec = timed(a.command, a.log, a.log, a.timeout)
    write_json(a.rec, rec)
    return rec["rc"]


# --------------------------------------------------------------------------- helpers --

def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, default=str)
    os.replace(tmp, path)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def capture(cmd, timeout=30):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"({cmd[0]}: {e.__class__.__name__})"


def first_line(text):
    return text.splitlines()[0].strip() if text else ""


def tail(path, n=15):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


# ---------------------------------------------------------------------- fingerprint --

SKIP_DIRS = {"__pycache__", ".git", ".venv", ".gpu-pack"}


def fingerprint(root):
    """sha256 over (path, sha256 of content) of the sources that decide what runs: CMakeLists.txt,
    cmake/, host/, device/, tests/, bench/ (without bench/data, __pycache__, *.tmp, *.pyc: the
    rules of .gitignore).  The GPU machine's copy has no .git, so results.md names the tree by
    this; `bash bench/gpu_check.sh --fingerprint` prints it for a checkout."""
    files = []
    for top in ("CMakeLists.txt", "cmake", "host", "device", "tests", "bench"):
        path = os.path.join(root, top)
        if os.path.isfile(path):
            files.append(top)
            continue
        for d, dirs, names in os.walk(path):
            rel = os.path.relpath(d, root)
            dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and
                             os.path.join(rel, x) != os.path.join("bench", "data"))
            for n in names:
                if n.endswith((".tmp", ".pyc")):
                    continue
                files.append(os.path.join(rel, n))
    h = hashlib.sha256()
    for rel in sorted(files):
        with open(os.path.join(root, rel), "rb") as f:
            h.update(rel.encode() + b"\0" + hashlib.sha256(f.read()).hexdigest().encode() + b"\n")
    return h.hexdigest()[:16], len(files)


def cmd_fingerprint(a):
    fp, n = fingerprint(a.root)
    print(f"{fp} ({n} files)")
    return 0


# ---------------------------------------------------------------------------- facts --

def cmd_facts(a):
    root = a.root
    f = {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
         "mode": a.mode, "hostname": platform.node(), "kernel": platform.release(),
         "machine": platform.machine(), "cores": os.cpu_count()}
    try:
        f["glibc"] = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        f["glibc"] = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            m = re.search(r"^model name\s*:\s*(.*)$", fh.read(), re.M)
            f["cpu_model"] = m.group(1).strip() if m else "unknown"
    except OSError:
        f["cpu_model"] = "unknown"
    try:
        with open("/proc/meminfo") as fh:
            m = re.search(r"^MemTotal:\s*(\d+) kB", fh.read(), re.M)
            f["mem_gib"] = round(int(m.group(1)) / 2**20, 1) if m else None
    except OSError:
        f["mem_gib"] = None
    try:
        with open("/etc/os-release") as fh:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', fh.read(), re.M)
            f["os"] = m.group(1) if m else "unknown"
    except OSError:
        f["os"] = "unknown"
    st = shutil.disk_usage(a.work or "/tmp")
    f["disk_free_gib"] = round(st.free / 2**30, 1)
    for tool, args in (("cmake", ["--version"]), ("ninja", ["--version"]), ("cc", ["--version"]),
                       ("nvcc", ["--version"]), ("nvidia-smi", ["--version"])):
        path = shutil.which(tool)
        if not path:
            f[tool] = "not found"
            continue
        out = capture([path] + args)
        if tool == "nvcc":
            m = re.search(r"release [^\n]*", out)
            f[tool] = f"{path}: {m.group(0) if m else first_line(out)}"
        elif tool == "nvidia-smi":
            f[tool] = f"{path}: " + "; ".join(l.strip() for l in out.splitlines() if l.strip())[:200]
        else:
            f[tool] = f"{path}: {first_line(out)}"
    if a.py:
        out = capture([a.py, "-c", "import sys, numpy, pandas; print(sys.version.split()[0], "
                       "numpy.__version__, pandas.__version__)"])
        parts = out.split()
        f["python"] = (f"{a.py}: Python {parts[0]}, numpy {parts[1]}, pandas {parts[2]}"
                       if len(parts) == 3 and "Error" not in out else f"{a.py}: {out[-200:]}")
        f["python_ok"] = len(parts) == 3 and "Error" not in out
    f["helper_python"] = f"{sys.executable} {sys.version.split()[0]}"
    commit = os.environ.get("OOC_GPU_CHECK_COMMIT", "")
    if not commit and os.path.isdir(os.path.join(root, ".git")) and shutil.which("git"):
        commit = capture(["git", "-C", root, "rev-parse", "--short=12", "HEAD"])
        dirty = capture(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"])
        if dirty:
            commit += " (with uncommitted changes)"
    f["commit"] = commit or "unknown (no .git in this copy; set OOC_GPU_CHECK_COMMIT)"
    fp, n = fingerprint(root)
    f["fingerprint"] = f"{fp} ({n} files)"
    write_json(a.out, f)
    return 0


# ------------------------------------------------------------------------------ smi --

SMI_FIELDS = ["name", "driver_version", "pci.bus_id", "memory.total", "memory.used",
              "compute_cap", "clocks.sm", "clocks.max.sm", "clocks.mem", "clocks.max.mem",
              "pstate", "power.draw", "power.limit", "temperature.gpu", "persistence_mode",
              "ecc.mode.current"]


def cmd_smi(a):
    """nvidia-smi facts of GPU 0 (and the count): one query with every field; when the driver
    refuses one of them, field by field."""
    def query(fields):
        r = subprocess.run(["nvidia-smi", "--query-gpu=" + ",".join(fields),
                            "--format=csv,noheader"], capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout.strip().splitlines(), r.stderr.strip()
    info = {}
    rc, lines, err = query(SMI_FIELDS)
    if rc == 0 and lines:
        info = dict(zip(SMI_FIELDS, (v.strip() for v in lines[0].split(","))))
        info["count"] = len(lines)
    else:
        info["query_error"] = (err or "\n".join(lines))[:300]
        for f in SMI_FIELDS:
            rc, lines, _ = query([f])
            if rc == 0 and lines:
                info[f] = lines[0].strip()
                info["count"] = len(lines)
    q = ""
    if a.q:
        try:
            q = open(a.q, errors="replace").read()
        except OSError:
            pass
    m = re.search(r"^\s*CUDA Version\s*:\s*(\S+)", q, re.M)
    if m:
        info["cuda_version"] = m.group(1)
    write_json(a.out, info)
    print(json.dumps(info, indent=1))
    g = info.get
    print(f"{g('name', '?')}, {g('memory.total', '?')} ({g('memory.used', '?')} used), cc "
          f"{g('compute_cap', '?')}, driver {g('driver_version', '?')}, CUDA {g('cuda_version', '?')}; "
          f"SM {g('clocks.sm', '?')} (max {g('clocks.max.sm', '?')}), memory clock {g('clocks.mem', '?')}, "
          f"{g('temperature.gpu', '?')} °C")
    return 0 if info.get("name") else 1


# ------------------------------------------------------------------------------ gen --

def cmd_gen(a):
    """bench/gen_data.py in `jobs` parts at once (part i: seed base+i), concatenated with one
    header.  gen_data.py formats every value with %.17g in pandas, about 3.5 µs a value on one
    core, so a p = 1000 workload is only affordable in parallel.  With jobs = 1 (and seed 0)
    the file is byte-identical to the seed's."""
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_data.py")
    jobs = max(1, min(a.jobs, a.rows // 500))
    per = [a.rows // jobs + (1 if i < a.rows % jobs else 0) for i in range(jobs)]
    parts = [f"{a.out}.part{i}" for i in range(jobs)]
    t0 = time.perf_counter()
    procs = []
    log = open(a.log, "ab") if a.log else subprocess.DEVNULL
    for i, (rows, part) in enumerate(zip(per, parts)):
        cmd = [a.py, gen, part, str(rows), str(a.seed + i)]
        if a.p_extra:
            cmd += ["--p-extra", str(a.p_extra)]
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=log))
    rcs = [p.wait() for p in procs]
    gen_s = time.perf_counter() - t0
    rec = {"rows": a.rows, "p_extra": a.p_extra, "jobs": jobs, "seeds": [a.seed, a.seed + jobs - 1],
           "gen_s": gen_s, "rcs": rcs}
    if any(rcs):
        rec["error"] = f"gen_data.py failed in {sum(1 for r in rcs if r)} of {jobs} parts"
        write_json(a.rec, rec)
        print(rec["error"], file=sys.stderr)
        return 1
    with open(a.out + ".partial", "wb") as out:
        for i, part in enumerate(parts):
            with open(part, "rb") as f:
                if i:
                    f.readline()        # each part has the header
                shutil.copyfileobj(f, out, 16 << 20)
            os.remove(part)
    os.replace(a.out + ".partial", a.out)
    rec["concat_s"] = time.perf_counter() - t0 - gen_s
    rec["csv_bytes"] = os.path.getsize(a.out)
    write_json(a.rec, rec)
    print(f"gen: {a.rows} rows, p_extra {a.p_extra}, {jobs} parts: {gen_s:.1f} s, "
          f"concatenated in {rec['concat_s']:.1f} s, {rec['csv_bytes'] / 1e6:.0f} MB")
    return 0


# ---------------------------------------------------------------------------- bench --

# (step, arguments, the JSON key compared, also timed on the GPU with host decoding): GPU runs
# leave --gpu-decode at auto (the chunks inflated on the GPU when the plugin has nvCOMP and the
# file is deflate); "gpu-host" runs are the same with --gpu-decode off, the decoder's baseline.
STEPS = [("fit qr", ["fit", "--method", "qr"], "params", True),
         ("fit normal", ["fit", "--method", "normal"], "params", False),
         ("svd", ["svd"], "singular_values", False),
         # a logit by IRLS (a pass per iteration) on the workload's design with a 0/1 response
         # (gpu_check.sh's data stage ingests it as --glm-h5)
         ("glm logit", ["glm", "--family", "binomial"], "params", False)]
DEVICE_ARGS = {"gpu": ["--device", "gpu"], "cpu": ["--device", "cpu"],
               "gpu-host": ["--device", "gpu", "--gpu-decode", "off"]}


def rel_diff(a, b):
    """||a - b|| / ||b||; aliased coefficients (null in the JSON) must be null in both."""
    if not a or not b or len(a) != len(b):
        return None
    if any((x is None) != (y is None) for x, y in zip(a, b)):
        return math.inf
    a, b = [x for x in a if x is not None], [y for y in b if y is not None]
    num = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    den = math.sqrt(sum(y * y for y in b))
    return num / den if den else num


def profile_lines(stderr_path):
    keep = []
    try:
        with open(stderr_path, errors="replace") as f:
            for line in f:
                if line.startswith(("profile: wall", "bounded by:", "overlap:", "resources:")):
                    keep.append(line.rstrip())
    except OSError:
        pass
    return keep


def cmd_bench(a):
    """For each step, `runs` rounds of a GPU run and a CPU run (the order alternating between
    rounds; for the steps STEPS marks, also a GPU run decoding on the host, "gpu-host"), every
    run a fresh process with --json --profile; then the bench_decode limit.  A run that fails, a
    GPU run whose JSON does not say backend "cuda", or GPU (either decoder) and CPU results
    further apart than --tol make the exit status 1."""
    rec = {"workload": a.workload, "h5": os.path.basename(a.h5), "threads": a.threads,
           "runs_wanted": a.runs, "steps": [], "problems": []}
    env = dict(os.environ)
    os.makedirs(a.traces, exist_ok=True)
    os.makedirs(a.logs, exist_ok=True)
    for step, args, key, host_decode in STEPS:
        h5 = a.glm_h5 if args[0] == "glm" else a.h5
        if not h5:
            continue
        devs = ("gpu", "cpu", "gpu-host") if host_decode else ("gpu", "cpu")
        srec = {"step": step, "skipped_runs": 0, **{d: [] for d in devs}}
        slug = step.replace(" ", "-")
        results = {}
        for r in range(a.runs):
            order = devs if r % 2 == 0 else devs[::-1]
            for dev in order:
                last = srec[dev][-1]["wall_s"] if srec[dev] else 5.0
                if time.time() + 2 * last + 5 > a.deadline:
                    srec["skipped_runs"] += 1
                    continue
                base = f"{a.workload}-{slug}-{dev}-{r + 1}"
                trace = os.path.join(a.traces, base + ".json")
                out = os.path.join(a.logs, base + ".out.json")
                err = os.path.join(a.logs, base + ".stderr.txt")
                cmd = [a.exe] + args[:1] + [h5] + args[1:] + DEVICE_ARGS[dev] + [
                    "--threads", str(a.threads), "--json", "--progress", "off",
                    "--profile", trace]
                with open(err, "w") as f:
                    f.write("$ " + " ".join(cmd) + "\n")
                t = timed(cmd, out, err, env=env,
                          timeout=max(10.0, min(a.run_timeout, a.deadline + 15 - time.time())))
                doc = read_json(out, {}) or {}
                run = {"wall_s": t["wall_s"], "cpu_s": t["cpu_s"], "maxrss_mb": t["maxrss_mb"],
                       "rc": t["rc"], "backend": doc.get("backend"), "decode": doc.get("decode"),
                       "timings": doc.get("timings"), "profile": profile_lines(err)}
                srec[dev].append(run)
                print(f"{a.workload} {step:10s} {dev} run {r + 1}: rc {t['rc']} "
                      f"{t['wall_s']:.3f} s, {t['maxrss_mb']:.0f} MB, backend {run['backend']}, "
                      f"decode {run['decode']}",
                      flush=True)
                if t["rc"] != 0:
                    why = [l for l in tail(err, 40).splitlines() if re.search(r"error|fatal", l, re.I)]
                    rec["problems"].append(f"{step} {dev} run {r + 1}: exit {t['rc']}" +
                                           (" (timed out)" if t["timed_out"] else "") +
                                           (f": {why[0][:300]}" if why else ""))
                    continue
                want = "cuda" if dev.startswith("gpu") else "cpu"
                if run["backend"] != want:
                    rec["problems"].append(f"{step} {dev} run {r + 1}: backend "
                                           f"{run['backend']!r}, not {want!r}")
                results.setdefault(dev, doc.get(key))
                if os.path.getsize(out) > (1 << 20):   # p = 1000: cov_params alone is ~24 MB
                    with open(out, "w") as f:
                        f.write(f"(JSON of {t['wall_s']:.2f} s run removed after parsing: too large)\n")
        for dev in devs:
            walls = [x["wall_s"] for x in srec[dev] if x["rc"] == 0]
            if walls:
                srec[dev + "_median_s"] = statistics.median(walls)
                srec[dev + "_min_s"] = min(walls)
                srec[dev + "_maxrss_mb"] = max(x["maxrss_mb"] for x in srec[dev] if x["rc"] == 0)
        if srec.get("gpu_median_s") and srec.get("cpu_median_s"):
            srec["cpu_over_gpu"] = srec["cpu_median_s"] / srec["gpu_median_s"]
        srec["gpu_decode"] = next((x["decode"] for x in srec["gpu"] if x["rc"] == 0), None)
        d = rel_diff(results.get("gpu"), results.get("cpu"))
        srec["agreement"] = d
        srec["agreement_of"] = key
        if d is not None and d > a.tol:
            rec["problems"].append(f"{step}: GPU and CPU {key} differ by {d:.3g} (relative, "
                                   f"normwise) > {a.tol:g}")
        if host_decode:
            if srec.get("gpu-host_median_s") and srec.get("gpu_median_s"):
                srec["host_decode_over_gpu_decode"] = srec["gpu-host_median_s"] / srec["gpu_median_s"]
            # the same rows into the same update: equal unless the GPU libraries round differently
            dh = rel_diff(results.get("gpu"), results.get("gpu-host"))
            srec["decode_agreement"] = dh
            if dh is not None and dh > a.tol:
                rec["problems"].append(f"{step}: GPU-decoded and host-decoded {key} differ by "
                                       f"{dh:.3g} > {a.tol:g}")
        if srec["skipped_runs"]:
            rec["problems_soft"] = rec.get("problems_soft", []) + [
                f"{step}: {srec['skipped_runs']} run(s) left out to stay within the time budget"]
        rec["steps"].append(srec)
        write_json(a.rec, rec)
    if a.decode and os.path.exists(a.decode) and time.time() + 30 < a.deadline:
        passes = 3
        out = os.path.join(a.logs, f"{a.workload}-bench_decode.txt")
        t = timed([a.decode, a.h5, str(a.threads), str(passes)], out, out, timeout=120)
        text = open(out, errors="replace").read()
        m = re.search(r"limit\s+pipelined read\+decode\s+([0-9.]+) s", text)
        rec["decode_limit_s"] = float(m.group(1)) if m else None
        # the host's share when the GPU decodes: reading the stored chunks and packing them
        raw = re.search(r"raw source \(GPU decodes\)\s+([0-9.]+) s", text)
        rec["raw_floor_s"] = float(raw.group(1)) if raw else None
        if t["rc"] != 0 or not m:
            rec["problems"].append(f"bench_decode: exit {t['rc']}, limit line "
                                   f"{'found' if m else 'not found'}")
    write_json(a.rec, rec)
    for p in rec["problems"]:
        print("PROBLEM: " + p, file=sys.stderr)
    return 1 if rec["problems"] else 0


# ---------------------------------------------------------------------------- ctest --

def cmd_ctest(a):
    """Per test: result and time from ctest's summary lines, and the lines that say what was
    checked (the race's difference, the seed workload, failures)."""
    try:
        text = open(a.log, errors="replace").read()
    except OSError:
        text = ""
    tests = {}
    for m in re.finditer(r"^\s*\d+/\d+ Test\s+#\d+: (\S+) \.*\s*(\**\s*[A-Za-z][^\n]*?)\s+"
                         r"([0-9.]+) sec", text, re.M):
        tests[m.group(1)] = {"result": m.group(2).strip("* ").strip(), "seconds": float(m.group(3))}
    for name, t in tests.items():
        own = []
        num = re.search(rf"Test\s+#(\d+): {re.escape(name)}\b", text)
        if num:
            own = [l.split(": ", 1)[1] for l in re.findall(rf"^{num.group(1)}: .*$", text, re.M)]
        key = [l.strip() for l in own if re.search(
            r"planted race|synchronisation|seed workload|all checks passed|skipped|CHECK failed|"
            r"check\(s\) failed|no GPU", l)]
        t["lines"] = key[:12]
        m = re.search(r"planted race \(accumulate returns before its copy\): [^\n]*= (\S+)",
                      "\n".join(own))
        if m:
            d = float(m.group(1))
            t["race_diff"] = d
            t["race_showed"] = not (d <= 1e-3)
    rec = {"tests": tests, "summary": [l.strip() for l in re.findall(
        r"^\d+% tests passed.*$|^Total Test time.*$", text, re.M)]}
    write_json(a.rec, rec)
    for name, t in tests.items():
        print(f"{name}: {t['result']} ({t['seconds']} s)" +
              (f"; planted race diff {t['race_diff']:.3g}: "
               f"{'the race showed' if t['race_showed'] else 'the race did not show'}"
               if "race_diff" in t else ""))
    return 0


# --------------------------------------------------------------------------- report --

def fmt(x, spec=".3f", dash="–"):
    return dash if x is None else format(x, spec)


def inproc(runs):
    """The median run's own timings (JSON "timings"): total (accumulate + finalize; glm: all
    its IRLS passes + finalize)."""
    ok = sorted((r for r in runs if r.get("rc") == 0 and r.get("timings")), key=lambda r: r["wall_s"])
    if not ok:
        return "–"
    t = ok[len(ok) // 2]["timings"]
    acc = t.get("accumulate", t.get("passes"))
    fin = t.get("finalize")
    if fin is None and t.get("total") is not None and acc is not None:
        fin = t["total"] - acc - (t.get("u") or 0.0)   # svd: the rest
    return f"{fmt(t.get('total'), '.2f')} ({fmt(acc, '.2f')} + {fmt(fin, '.2f')})"


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def cmd_report(a):
    st = a.state
    facts = read_json(os.path.join(st, "facts.json"), {}) or {}
    conf = read_json(os.path.join(st, "config.json"), {}) or {}
    stages = []
    try:
        with open(os.path.join(st, "stages.tsv")) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 5:
                    stages.append({"stage": p[0], "status": p[1], "seconds": float(p[2]),
                                   "note": p[3], "log": p[4]})
    except OSError:
        pass
    gpu = read_json(os.path.join(st, "gpu.json"), {}) or {}
    gpu_after = read_json(os.path.join(st, "gpu_after.json"), {}) or {}
    ctest = read_json(os.path.join(st, "ctest.json"), {}) or {}
    pack = read_json(os.path.join(st, "pack.json"), {}) or {}
    devices = read_json(os.path.join(st, "devices.json"), {}) or {}
    emulated = conf.get("mode") == "emulate"
    L = []
    started = conf.get("started_utc", facts.get("date_utc", "?"))
    elapsed = time.time() - conf.get("started_epoch", time.time())
    counts = {}
    for s in stages:
        counts[s["status"].split()[0]] = counts.get(s["status"].split()[0], 0) + 1
    L.append("# oocsolve GPU check" + (" (EMULATED: no GPU, timings meaningless)" if emulated else ""))
    L.append("")
    L.append(f"Started {started}; {elapsed:.0f} s so far of a {conf.get('budget_s', '?')} s budget. "
             f"Stages: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) +
             ("." if not conf.get("finished") else "; finished."))
    L.append("")
    rows = [("mode", "emulated: the CUDA emulator plugin (tests/cuda_emu) stands in for the GPU"
             if emulated else "device")]
    if gpu.get("name"):
        rows.append(("GPU", f"{gpu.get('name')}, {gpu.get('memory.total', '?')}, compute capability "
                     f"{gpu.get('compute_cap', '?')}, {gpu.get('count', 1)} device(s), bus "
                     f"{gpu.get('pci.bus_id', '?')}"))
        rows.append(("driver / CUDA", f"driver {gpu.get('driver_version', '?')}, CUDA (driver API) "
                     f"{gpu.get('cuda_version', '?')}"))
        rows.append(("clocks at start", f"SM {gpu.get('clocks.sm', '?')} (max {gpu.get('clocks.max.sm', '?')}), "
                     f"memory {gpu.get('clocks.mem', '?')} (max {gpu.get('clocks.max.mem', '?')}), "
                     f"pstate {gpu.get('pstate', '?')}, power {gpu.get('power.draw', '?')} / "
                     f"{gpu.get('power.limit', '?')}, {gpu.get('temperature.gpu', '?')} °C, "
                     f"persistence {gpu.get('persistence_mode', '?')}, ECC {gpu.get('ecc.mode.current', '?')}"))
    if gpu_after.get("clocks.sm"):
        rows.append(("after the runs", f"SM {gpu_after.get('clocks.sm')}, memory "
                     f"{gpu_after.get('clocks.mem')}, {gpu_after.get('temperature.gpu')} °C, "
                     f"memory used {gpu_after.get('memory.used')}"))
    if devices.get("gpus") is not None:
        g = devices.get("gpus") or []
        rows.append(("oocsolve devices", "; ".join(
            f"gpu:{x.get('ordinal')} {x.get('name')} cc {x.get('compute_capability')} "
            f"{x.get('multiprocessors')} SMs" for x in g) or f"no GPUs ({devices.get('no_gpus_reason')})"))
        c = devices.get("cpu") or {}
        rows.append(("CPU path", f"{c.get('model')}; rows kernel {c.get('rows_kernel')}; "
                     f"{c.get('blas_config')}; core {c.get('blas_core')}"
                     + (f"; WARNING {c.get('blas_warning')}" if c.get("blas_warning") else "")))
    rows += [("host", f"{facts.get('cpu_model', '?')}, {facts.get('cores', '?')} cores, "
              f"{facts.get('mem_gib', '?')} GiB, {facts.get('os', '?')}, kernel {facts.get('kernel', '?')}, "
              f"{facts.get('glibc', '?')}"),
             ("toolchain", "; ".join(str(facts.get(k, "?")) for k in ("cc", "cmake", "ninja", "nvcc"))),
             ("python (data)", facts.get("python", "?")),
             ("source", f"commit {facts.get('commit', '?')}; tree fingerprint "
              f"{facts.get('fingerprint', '?')} (`bash bench/gpu_check.sh --fingerprint`)"),
             ("command", f"`{conf.get('command', '?')}`"),
             ("sizes", conf.get("sizes", "?"))]
    if pack:
        rows.append(("library pack", f"{pack.get('archive', '?')} sha256 {pack.get('sha256', '?')[:16]}…, "
                     f"{pack.get('files', '?')} files, made {pack.get('made', '?')} from "
                     f"{pack.get('source', '?')}; needs glibc ≥ {pack.get('glibc_needed', '?')}"))
    L += ["| | |", "|---|---|"] + [f"| {k} | {md_escape(v)} |" for k, v in rows]
    L += ["", "## Stages", "", "| stage | status | s | note |", "|---|---|---:|---|"]
    for s in stages:
        L.append(f"| {s['stage']} | {s['status']} | {s['seconds']:.1f} | {md_escape(s['note'])} |")

    if ctest.get("tests"):
        L += ["", "## GPU tests (`ctest -L gpu`)", "", "| test | result | s | what it printed |",
              "|---|---|---:|---|"]
        for name, t in ctest["tests"].items():
            L.append(f"| {name} | {t['result']} | {t['seconds']:.2f} | "
                     f"{md_escape('; '.join(t.get('lines', [])))} |")
        for name, t in ctest["tests"].items():
            if "race_diff" in t:
                L += ["", f"Planted race ({name}: accumulate() returns before its host-to-device "
                      f"copy completed): |R − R_cpu|/|R_cpu| = {t['race_diff']:.3g}, so the race "
                      + ("**showed** on this run (a wrong triangle)." if t["race_showed"] else
                         "**did not show** on this run (the copy finished in time; this proves "
                         "nothing about the race's absence).")]
        for line in ctest.get("summary", []):
            L.append(f"`{line}`  ")

    order = [w["name"] for w in conf.get("workloads", [])]
    benches = sorted((read_json(p, {}) for p in glob.glob(os.path.join(st, "bench-*.json"))),
                     key=lambda b: order.index(b.get("workload")) if b.get("workload") in order else 99)
    datas = {d.get("workload"): d for d in
             (read_json(p, {}) for p in sorted(glob.glob(os.path.join(st, "data-*.json"))))}
    if benches or datas:
        L += ["", f"## Timings (`--threads {conf.get('threads', '?')}`; every run a fresh process, "
              "so GPU runs include loading the plugin and creating the CUDA context; the HDF5 file "
              "is in the page cache; `--profile` on; s = median, [all runs])", "",
              "| workload | step | CPU s | GPU s | CPU / GPU | in-process s, CPU / GPU: total (accumulate + finalize) | "
              "peak RSS MB CPU / GPU | GPU vs CPU (relative) / data |",
              "|---|---|---:|---:|---:|---|---:|---:|"]
        for w in conf.get("workloads", []):
            d = datas.get(w["name"], {})
            b = next((x for x in benches if x.get("workload") == w["name"]), None)
            label = f"{w['name']} ({w['rows']:,} × {w['p']})"
            if d.get("ingest"):
                ing = d["ingest"]
                L.append(f"| {label} | data: gen_data.py ×{d.get('gen', {}).get('jobs', '?')} "
                         f"{fmt(d.get('gen', {}).get('gen_s'), '.1f')} s; ingest (CPU) | "
                         f"{fmt(ing.get('wall_s'))} | – | – | – | {fmt(ing.get('maxrss_mb'), '.0f')} / – | "
                         f"{d.get('h5_mb', '?')} MB HDF5 |")
            if not b:
                continue
            for s in b.get("steps", []):
                cw = [x["wall_s"] for x in s["cpu"] if x["rc"] == 0]
                gw = [x["wall_s"] for x in s["gpu"] if x["rc"] == 0]
                dec = f" (GPU decode: {s['gpu_decode']})" if s.get("gpu_decode") else ""
                L.append(f"| {label} | {s['step']}{dec} | {fmt(s.get('cpu_median_s'))} "
                         f"[{', '.join(f'{x:.2f}' for x in cw)}] | {fmt(s.get('gpu_median_s'))} "
                         f"[{', '.join(f'{x:.2f}' for x in gw)}] | {fmt(s.get('cpu_over_gpu'), '.2f')}× | "
                         f"{inproc(s['cpu'])} / {inproc(s['gpu'])} | "
                         f"{fmt(s.get('cpu_maxrss_mb'), '.0f')} / {fmt(s.get('gpu_maxrss_mb'), '.0f')} | "
                         f"{fmt(s.get('agreement'), '.1e')} ({s.get('agreement_of')}) |")
                if s.get("gpu-host"):
                    hw = [x["wall_s"] for x in s["gpu-host"] if x["rc"] == 0]
                    L.append(f"| {label} | {s['step']}, GPU decoding on the host (--gpu-decode off) "
                             f"| – | {fmt(s.get('gpu-host_median_s'))} [{', '.join(f'{x:.2f}' for x in hw)}] "
                             f"| host/GPU decode {fmt(s.get('host_decode_over_gpu_decode'), '.2f')}× | "
                             f"– / {inproc(s['gpu-host'])} | – / {fmt(s.get('gpu-host_maxrss_mb'), '.0f')} | "
                             f"{fmt(s.get('decode_agreement'), '.1e')} (vs GPU-decoded) |")
            if b.get("decode_limit_s") is not None:
                L.append(f"| {label} | decompression limit (bench_decode, {b.get('threads')} threads) | "
                         f"{fmt(b['decode_limit_s'])} | – | – | – | – | – |")
            if b.get("raw_floor_s") is not None:
                L.append(f"| {label} | host floor with --gpu-decode (bench_decode: raw source pass, "
                         f"chunks packed) | – | {fmt(b['raw_floor_s'])} | – | – | – | – |")
        profs = []
        for b in benches:
            for s in b.get("steps", []):
                for dev in ("cpu", "gpu", "gpu-host"):
                    if s.get(dev) and s[dev][0].get("profile"):
                        p = s[dev][0]["profile"]
                        head = next((x for x in p if x.startswith("profile: wall")), "")
                        bound = next((x for x in p if x.startswith("bounded by:")), "")
                        m = re.match(r"profile: wall ([0-9.]+ s)", head)
                        profs.append(f"| {b['workload']} | {s['step']} | {dev} | "
                                     f"{m.group(1) if m else '?'} | {md_escape(bound[12:])} |")
        if profs:
            L += ["", "Profile of the first run of each (the full summaries are in logs.tar.gz, "
                  "the traces in traces.tar.gz):", "",
                  "| workload | step | device | traced wall | bounded by |", "|---|---|---|---:|---|"]
            L += profs
        probs = [p for b in benches for p in b.get("problems", []) + b.get("problems_soft", [])]
        if probs:
            L += ["", "Problems:"] + [f"- {md_escape(p)}" for p in probs]

    L += ["", "## Stage logs (last lines; whole logs in logs.tar.gz)", ""]
    for s in stages:
        L += [f"<details><summary>{s['stage']}: {s['status']}</summary>", "", "```",
              tail(s["log"], 15).replace("```", "'''"), "```", "</details>", ""]
    files = sorted(os.listdir(os.path.dirname(os.path.abspath(a.out))))
    L += ["## Files", "", ", ".join(f"`{f}`" for f in files if not f.endswith(".tmp"))]
    text = "\n".join(L) + "\n"
    with open(a.out + ".tmp", "w") as f:
        f.write(text)
    os.replace(a.out + ".tmp", a.out)
    if a.json:
        write_json(a.json, {"facts": facts, "config": conf, "stages": stages, "gpu": gpu,
                            "gpu_after": gpu_after, "ctest": ctest, "pack": pack,
                            "devices": devices, "data": datas, "bench": benches})
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="sub", required=True)
    p = sub.add_parser("run")
    p.add_argument("--rec", required=True)
    p.add_argument("--log")
    p.add_argument("--timeout", type=float)
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("facts")
    p.add_argument("--out", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--mode", required=True)
    p.add_argument("--py")
    p.add_argument("--work")
    p = sub.add_parser("gen")
    p.add_argument("--py", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--p-extra", type=int, default=0)
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rec", required=True)
    p.add_argument("--log")
    p = sub.add_parser("bench")
    p.add_argument("--exe", required=True)
    p.add_argument("--workload", required=True)
    p.add_argument("--h5", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--deadline", type=float, required=True)
    p.add_argument("--traces", required=True)
    p.add_argument("--logs", required=True)
    p.add_argument("--rec", required=True)
    p.add_argument("--decode")
    p.add_argument("--tol", type=float, default=1e-8)
    p.add_argument("--run-timeout", type=float, default=240)
    p.add_argument("--glm-h5", help="the design with a 0/1 response for the glm step")
    p = sub.add_parser("ctest")
    p.add_argument("--log", required=True)
    p.add_argument("--rec", required=True)
    p = sub.add_parser("report")
    p.add_argument("--state", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--json")
    p = sub.add_parser("smi")
    p.add_argument("--out", required=True)
    p.add_argument("--q")
    p = sub.add_parser("fingerprint")
    p.add_argument("root")
    a = ap.parse_args()
    if a.sub == "run":
        a.command = a.command[1:] if a.command[:1] == ["--"] else a.command
    fn = {"run": cmd_run, "facts": cmd_facts, "gen": cmd_gen, "bench": cmd_bench,
          "ctest": cmd_ctest, "report": cmd_report, "smi": cmd_smi, "fingerprint": cmd_fingerprint}[a.sub]
    return fn(a)


if __name__ == "__main__":
    sys.exit(main())

"""The oocsolve executable and its CUDA plugin (tests/cuda.cmake: cuda_plugin_cli).

- oocsolve links no CUDA library (ldd), while the real plugin does (so the check can fail), and
  `oocsolve --version` stays far below the ~270 MB the CUDA libraries cost at startup;
- through the emulated plugin (OOC_CUDA_PLUGIN, the dlopen path of the product), `fit` and `svd`
  with --device gpu agree with --device cpu (qr and normal, weighted and not) to tolerances
  derived in tests/interop/lsq_bounds.py: both backends are backward stable, so each result is
  within a first-order bound of the exact one (β: κε_A(2 + (κ+1)tan θ) for qr, pγκ²(1 + 1/cos θ)
  for normal; κ of the design computed here with numpy) and the two differ by at most the sum;
- `glm --family binomial` with --device gpu agrees with --device cpu, qr and normal, to twice
  one backend's first-order bound (test_glm_gpu_matches_cpu);
- device notes: auto with a plugin but no device prints one note in text mode and nothing with
  --json; auto without any plugin prints nothing; gpu fails with the reason;
- `oocsolve devices` finds the real plugin next to the executable in the build tree; when it
  lists a real GPU, fit/svd --device gpu through the real plugin are compared with the CPU too.
Environment: OOCSOLVE, OOC_PLUGIN_REAL, OOC_PLUGIN_EMU (set by ctest).
"""
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile

import numpy as np

OOC = os.environ["OOCSOLVE"]
PLUGIN_REAL = os.environ["OOC_PLUGIN_REAL"]
PLUGIN_EMU = os.environ["OOC_PLUGIN_EMU"]
EPS = float(np.finfo(float).eps)
CUDA_LIBS = re.compile(r"lib(cuda|cudart|cublas|cublasLt|cusolver|cusparse|nvJitLink)[^ ]*\.so")
from cliutil import check, failures  # noqa: E402


def run(args, plugin=None, extra_env=None):
    env = {k: v for k, v in os.environ.items() if k not in ("OOC_CUDA_PLUGIN", "OOC_EMU_DEVICE_COUNT")}
    if plugin:
        env["OOC_CUDA_PLUGIN"] = plugin
    env.update(extra_env or {})
    return subprocess.run([OOC] + args, capture_output=True, text=True, env=env)


def quiet(stderr):
    """stderr without the OpenBLAS kernel warning (host/src/cpuinfo.h), which a CPU-backend run
    gives on a machine whose OpenBLAS runs kernels older than its CPU."""
    return "\n".join(line for line in stderr.splitlines()
                     if not line.startswith("oocsolve: warning: OpenBLAS "))


def rel_diff(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    den = np.linalg.norm(b)
    return np.linalg.norm(a - b) / (den if den > 0 else 1.0)


def test_startup_memory():
    # the first child of this process: RUSAGE_CHILDREN's peak is its peak (it starts as a fork of
    # this process, so h5py, scipy and lsq_bounds are imported only later)
    r = run(["--version"])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"oocsolve --version: peak RSS {peak_mb:.1f} MB")
    check(r.returncode == 0, "--version runs")
    check(peak_mb < 100, f"--version peak RSS {peak_mb:.1f} MB: CUDA libraries loaded at startup?")


def test_links():
    exe = subprocess.run(["ldd", OOC], capture_output=True, text=True)
    check(exe.returncode == 0, f"ldd oocsolve: {exe.stderr}")
    found = CUDA_LIBS.findall(exe.stdout)
    check(not found, f"oocsolve links CUDA libraries: {found}")
    plugin = subprocess.run(["ldd", PLUGIN_REAL], capture_output=True, text=True)
    check("libcudart" in plugin.stdout and "libcusolver" in plugin.stdout,
          f"the real plugin should link the CUDA runtime and cuSOLVER:\n{plugin.stdout}")


def make_design(tmp):
    rng = np.random.default_rng(20240607)
    n = 4000
    x1, x2, w = rng.normal(size=n), rng.normal(size=n), rng.uniform(0.5, 2.0, n)
    cat = rng.integers(0, 3, n)
    y = 1.0 + 2.0 * x1 - x2 + 0.5 * cat + rng.normal(size=n)
    csv = os.path.join(tmp, "d.csv")
    with open(csv, "w") as f:
        f.write("x1,x2,cat,w,y\n")
        for i in range(n):
            f.write(f"{float(x1[i])!r},{float(x2[i])!r},{int(cat[i])},{float(w[i])!r},{float(y[i])!r}\n")
    h5 = os.path.join(tmp, "d.h5")
    r = run(["ingest", csv, "-f", "y ~ x1 + x2 + C(cat) + w", "-o", h5])
    if r.returncode != 0:
        raise SystemExit(f"ingest failed: {r.stderr}")
    return h5


def design_of(h5, weights):
    """X, y, w as the fit sees them: with --weights w the column w is the weight, not a regressor."""
    import h5py  # imported late: test_startup_memory's child must fork from a small parent
    with h5py.File(h5) as f:
        X, y = f["X"][:], f["Y"][:].ravel()
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["X"].attrs["column_names"]]
    if not weights:
        return X, y, None
    j = names.index("w")
    return np.delete(X, j, axis=1), y, X[:, j]


def tolerances(h5, method, weights):
    """Normwise relative tolerances (‖gpu - cpu‖/‖cpu‖) per JSON key: twice one backend's bound.
    A lost block, a wrong weight or a wrong triangle moves these results by far more."""
    from lsq_bounds import LsqBounds  # late, as h5py
    X, y, w = design_of(h5, weights)
    b = LsqBounds(X, y, w, method)
    p = b.p
    ssr = float(np.sum((b.b - b.A @ b.beta) ** 2))
    s = np.linalg.svd(b.A, compute_uv=False)
    wt = np.ones_like(y) if w is None else w
    utss = float(np.sum(wt * y * y))
    ctss = float(np.sum(wt * (y - np.sum(wt * y) / np.sum(wt)) ** 2))
    scale = ssr / (b.n - p)
    Vnorm = scale * float(np.linalg.norm(np.linalg.inv(b.A.T @ b.A), 2))
    n = b.n
    llf = -0.5 * n * (math.log(ssr) + 1 + math.log(2 * math.pi / n)) + (
        0.0 if w is None else 0.5 * float(np.sum(np.log(w))))
    return {"params": 2 * b.eta_beta,
            "bse": 2 * b.d_bse(),
            # ‖ΔV‖_F ≤ √p‖ΔV‖₂ and ‖V‖_F ≥ ‖V‖₂
            "cov_params": 2 * math.sqrt(p) * b.cov_abs(scale) / Vnorm,
            "singular_values": 2 * float(np.linalg.norm(b.sv_abs(s)) / np.linalg.norm(s)),
            "ssr": 2 * b.d_ssr,
            "llf": 2 * b.llf_abs(ssr, w) / abs(llf),
            "rsquared": 2 * b.rsquared_abs(ssr, ctss, b.d_tss(ctss, utss, True)) /
                        (1 - ssr / ctss)}


def test_gpu_matches_cpu(h5, plugin, what):
    for method in ("qr", "normal"):
        for weights in ([], ["--weights", "w"]):
            args = ["fit", h5, "--json", "--method", method] + weights
            label = " ".join(args[2:])
            gpu = run(args + ["--device", "gpu"], plugin=plugin)
            cpu = run(args + ["--device", "cpu"], plugin=plugin)
            check(gpu.returncode == 0 and cpu.returncode == 0, f"{label}: {gpu.stderr} {cpu.stderr}")
            check(gpu.stderr == "" and cpu.stderr == "", f"{label}: quiet stderr: {gpu.stderr!r}")
            if gpu.returncode or cpu.returncode:
                continue
            g, c = json.loads(gpu.stdout), json.loads(cpu.stdout)
            check(g["backend"] == "cuda" and c["backend"] == "cpu", f"{label}: backends {g['backend']}")
            tol = tolerances(h5, method, weights)
            worst = 0.0
            for key in ("params", "bse", "cov_params", "singular_values", "ssr", "llf", "rsquared"):
                d = rel_diff(g[key], c[key])
                worst = max(worst, d / tol[key])
                check(d <= tol[key], f"{label}: {key} differs by {d:.3g} > {tol[key]:.3g}")
            print(f"fit {label}: gpu ({what}) vs cpu: params differ by "
                  f"{rel_diff(g['params'], c['params']):.3g}, margin {worst:.2e}")
    gpu = run(["svd", h5, "--json", "--device", "gpu:0"], plugin=plugin)
    cpu = run(["svd", h5, "--json", "--device", "cpu"])
    check(gpu.returncode == 0 and cpu.returncode == 0, f"svd: {gpu.stderr} {cpu.stderr}")
    if gpu.returncode == 0 and cpu.returncode == 0:
        sg, sc = json.loads(gpu.stdout)["singular_values"], json.loads(cpu.stdout)["singular_values"]
        from lsq_bounds import LsqBounds
        X, y, _ = design_of(h5, False)
        tol = 2 * float(np.linalg.norm(LsqBounds(X, y).sv_abs(sc)) / np.linalg.norm(sc))
        d = rel_diff(sg, sc)
        check(d <= tol, f"svd: singular values differ by {d:.3g} > {tol:.3g}")
        print(f"svd: gpu ({what}) vs cpu: singular values differ by {d:.3g}, margin {d / tol:.2e}")


def make_logit_design(tmp):
    """A logit design (HDF5 from ingest) for the GLM's case: X, y and the file."""
    rng = np.random.default_rng(20240608)
    n = 3000
    x1, x2 = rng.normal(size=n), rng.uniform(-1, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + x1 - 0.8 * x2)))).astype(int)
    csv = os.path.join(tmp, "logit.csv")
    with open(csv, "w") as f:
        f.write("x1,x2,y\n")
        for i in range(n):
            f.write(f"{float(x1[i])!r},{float(x2[i])!r},{int(y[i])}\n")
    h5 = os.path.join(tmp, "logit.h5")
    r = run(["ingest", csv, "-f", "y ~ x1 + x2", "-o", h5])
    if r.returncode != 0:
        raise SystemExit(f"ingest failed: {r.stderr}")
    return np.column_stack([np.ones(n), x1, x2]), y.astype(float), h5


def test_glm_gpu_matches_cpu(design, plugin, what):
    """`glm --family binomial` (IRLS, one backend pass per iteration) on the GPU vs the CPU.
    Both run the same iteration and stop at the same one (checked); each iteration's WLS solve
    is backward stable on either backend, so each β is within b = κε(2 + (κ+1)tan θ) of the
    exact solution of its inputs (κ of √W X, W = μ(1-μ) at the CPU's β, tan θ of the working
    response's residual; tests/interop/glm_statsmodels.py has the argument), and IRLS does
    not amplify earlier differences at the solution: the two differ by at most 2b normwise
    (4b for bse, whose W also moves with β)."""
    X, y, h5 = design
    for method in ("qr", "normal"):
        args = ["glm", h5, "--family", "binomial", "--json", "--method", method]
        gpu = run(args + ["--device", "gpu"], plugin=plugin)
        cpu = run(args + ["--device", "cpu"], plugin=plugin)
        check(gpu.returncode == 0 and cpu.returncode == 0, f"glm {method}: {gpu.stderr} {cpu.stderr}")
        if gpu.returncode or cpu.returncode:
            continue
        g, c = json.loads(gpu.stdout), json.loads(cpu.stdout)
        check(g["backend"] == "cuda" and g["iterations"] == c["iterations"],
              f"glm {method}: backend {g['backend']}, iterations {g['iterations']} vs {c['iterations']}")
        beta = np.asarray(c["params"])
        mu = 1 / (1 + np.exp(-(X @ beta)))
        sw = np.sqrt(mu * (1 - mu))
        A = sw[:, None] * X
        kappa = float(np.linalg.cond(A))
        tan = float(np.linalg.norm((y - mu) / sw) / np.linalg.norm(A @ beta))
        b = kappa * EPS * (2 + (kappa + 1) * tan)
        if method == "normal":
            b += 2 * X.shape[1] * kappa ** 2 * EPS
        for key, tol in (("params", 2 * b), ("bse", 4 * b), ("deviance", 4 * b), ("llf", 4 * b)):
            d = rel_diff(g[key], c[key])
            check(d <= tol, f"glm {method}: {key} differs by {d:.3g} > {tol:.3g}")
        print(f"glm {method}: gpu ({what}) vs cpu: params differ by "
              f"{rel_diff(g['params'], c['params']):.3g} (bound {2 * b:.3g})")


def test_notes(h5):
    no_device = {"OOC_EMU_DEVICE_COUNT": "0"}
    text = run(["fit", h5, "--device", "auto"], plugin=PLUGIN_EMU, extra_env=no_device)
    lines = quiet(text.stderr).splitlines()
    check(text.returncode == 0 and "Backend cpu" in text.stdout, f"auto, no device: {text.stderr}")
    check(len(lines) == 1 and lines[0].startswith("oocsolve: note: no usable GPU (cudaErrorNoDevice")
          and "using the CPU backend" in lines[0], f"auto, no device: one note: {text.stderr!r}")
    js = run(["fit", h5, "--json"], plugin=PLUGIN_EMU, extra_env=no_device)
    check(js.returncode == 0 and quiet(js.stderr) == "" and json.loads(js.stdout)["backend"] == "cpu",
          f"auto (default), no device, --json: quiet: {js.stderr!r}")
    gpu = run(["fit", h5, "--device", "gpu"], plugin=PLUGIN_EMU, extra_env=no_device)
    check(gpu.returncode == 1 and "no usable GPU" in gpu.stderr, f"gpu, no device: {gpu.stderr!r}")
    multi = run(["fit", h5, "--device", "gpu:0,1"], plugin=PLUGIN_EMU)
    check(multi.returncode == 1 and "GPU 1 does not exist" in multi.stderr, f"gpu:0,1: {multi.stderr!r}")

    missing = os.path.join(os.path.dirname(h5), "no-such-plugin.so")
    silent = run(["fit", h5], plugin=missing)
    check(silent.returncode == 0 and quiet(silent.stderr) == "" and "Backend cpu" in silent.stdout,
          f"auto without a plugin says nothing: {silent.stderr!r}")
    gpu = run(["fit", h5, "--device", "gpu"], plugin=missing)
    check(gpu.returncode == 1 and "CUDA plugin not found" in gpu.stderr and missing in gpu.stderr,
          f"gpu without a plugin: {gpu.stderr!r}")
    bad = run(["svd", h5, "--device", "tpu"])
    check(bad.returncode == 2 and '"tpu"' in bad.stderr, f"--device tpu is a usage error: {bad.stderr!r}")


def test_devices():
    """True when the real plugin sees a GPU."""
    real = run(["devices"])
    # the CPU section comes first (cpuinfo_cli.py checks it), then the plugin's line
    first = next((line for line in real.stdout.splitlines() if line.startswith("CUDA plugin: ")), "")
    check(real.returncode == 0 and first == "CUDA plugin: " + os.path.realpath(PLUGIN_REAL),
          f"devices finds the plugin next to oocsolve: {real.stdout!r} {real.stderr!r}")
    print("oocsolve devices (real plugin):", real.stdout.strip().replace("\n", " | "))
    emu = run(["devices"], plugin=PLUGIN_EMU)
    check(emu.returncode == 0 and "gpu:0  oocsolve CUDA emulator" in emu.stdout, f"devices: {emu.stdout!r}")
    return real.returncode == 0 and "\ngpu:0 " in real.stdout


def main():
    test_startup_memory()
    test_links()
    real_gpu = test_devices()
    with tempfile.TemporaryDirectory() as tmp:
        h5 = make_design(tmp)
        test_gpu_matches_cpu(h5, PLUGIN_EMU, "emulated plugin")
        logit = make_logit_design(tmp)
        test_glm_gpu_matches_cpu(logit, PLUGIN_EMU, "emulated plugin")
        if real_gpu:
            test_gpu_matches_cpu(h5, None, "real plugin")
            test_glm_gpu_matches_cpu(logit, None, "real plugin")
        test_notes(h5)
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("cuda_plugin_cli: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The oocsolve executable and its CUDA plugin (tests/cuda.cmake: cuda_plugin_cli).

- oocsolve links no CUDA library (ldd), while the real plugin does (so the check can fail), and
  `oocsolve --version` stays far below the ~270 MB the CUDA libraries cost at startup;
- through the emulated plugin (OOC_CUDA_PLUGIN, the dlopen path of the product), `fit` and `svd`
  with --device gpu agree with --device cpu to 1e-12 (qr and normal, weighted and not);
- device notes: auto with a plugin but no device prints one note in text mode and nothing with
  --json; auto without any plugin prints nothing; gpu fails with the reason;
- `oocsolve devices` finds the real plugin next to the executable in the build tree; when it
  lists a real GPU, fit/svd --device gpu through the real plugin are compared with the CPU too.
Environment: OOCSOLVE, OOC_PLUGIN_REAL, OOC_PLUGIN_EMU (set by ctest).
"""
import json
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
CUDA_LIBS = re.compile(r"lib(cuda|cudart|cublas|cublasLt|cusolver|cusparse|nvJitLink)[^ ]*\.so")
# The CPU and CUDA backends are both backward stable; on this well-conditioned design
# (cond ~ 10) they agree to a few eps, so 1e-12 is a wide margin, while a lost block, a wrong
# weight or a wrong triangle changes the results at O(1).
TOL = 1e-12
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(args, plugin=None, extra_env=None):
    env = {k: v for k, v in os.environ.items() if k not in ("OOC_CUDA_PLUGIN", "OOC_EMU_DEVICE_COUNT")}
    if plugin:
        env["OOC_CUDA_PLUGIN"] = plugin
    env.update(extra_env or {})
    return subprocess.run([OOC] + args, capture_output=True, text=True, env=env)


def rel_diff(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    den = np.linalg.norm(b)
    return np.linalg.norm(a - b) / (den if den > 0 else 1.0)


def test_startup_memory():
    # the first child of this process: RUSAGE_CHILDREN's peak is its peak
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
            for key in ("params", "bse", "cov_params", "singular_values", "ssr", "llf", "rsquared"):
                d = rel_diff(g[key], c[key])
                check(d <= TOL, f"{label}: {key} differs by {d:.3g}")
            print(f"fit {label}: gpu ({what}) vs cpu: params differ by "
                  f"{rel_diff(g['params'], c['params']):.3g}")
    gpu = run(["svd", h5, "--json", "--device", "gpu:0"], plugin=plugin)
    cpu = run(["svd", h5, "--json", "--device", "cpu"])
    check(gpu.returncode == 0 and cpu.returncode == 0, f"svd: {gpu.stderr} {cpu.stderr}")
    if gpu.returncode == 0 and cpu.returncode == 0:
        d = rel_diff(json.loads(gpu.stdout)["singular_values"], json.loads(cpu.stdout)["singular_values"])
        check(d <= TOL, f"svd: singular values differ by {d:.3g}")


def test_notes(h5):
    no_device = {"OOC_EMU_DEVICE_COUNT": "0"}
    text = run(["fit", h5, "--device", "auto"], plugin=PLUGIN_EMU, extra_env=no_device)
    lines = text.stderr.splitlines()
    check(text.returncode == 0 and "Backend cpu" in text.stdout, f"auto, no device: {text.stderr}")
    check(len(lines) == 1 and lines[0].startswith("oocsolve: note: no usable GPU (cudaErrorNoDevice")
          and "using the CPU backend" in lines[0], f"auto, no device: one note: {text.stderr!r}")
    js = run(["fit", h5, "--json"], plugin=PLUGIN_EMU, extra_env=no_device)
    check(js.returncode == 0 and js.stderr == "" and json.loads(js.stdout)["backend"] == "cpu",
          f"auto (default), no device, --json: quiet: {js.stderr!r}")
    gpu = run(["fit", h5, "--device", "gpu"], plugin=PLUGIN_EMU, extra_env=no_device)
    check(gpu.returncode == 1 and "no usable GPU" in gpu.stderr, f"gpu, no device: {gpu.stderr!r}")
    multi = run(["fit", h5, "--device", "gpu:0,1"], plugin=PLUGIN_EMU)
    check(multi.returncode == 1 and "GPU 1 does not exist" in multi.stderr, f"gpu:0,1: {multi.stderr!r}")

    missing = os.path.join(os.path.dirname(h5), "no-such-plugin.so")
    quiet = run(["fit", h5], plugin=missing)
    check(quiet.returncode == 0 and quiet.stderr == "" and "Backend cpu" in quiet.stdout,
          f"auto without a plugin says nothing: {quiet.stderr!r}")
    gpu = run(["fit", h5, "--device", "gpu"], plugin=missing)
    check(gpu.returncode == 1 and "CUDA plugin not found" in gpu.stderr and missing in gpu.stderr,
          f"gpu without a plugin: {gpu.stderr!r}")
    bad = run(["svd", h5, "--device", "tpu"])
    check(bad.returncode == 2 and '"tpu"' in bad.stderr, f"--device tpu is a usage error: {bad.stderr!r}")


def test_devices():
    """True when the real plugin sees a GPU."""
    real = run(["devices"])
    first = real.stdout.splitlines()[0] if real.stdout else ""
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
        if real_gpu:
            test_gpu_matches_cpu(h5, None, "real plugin")
        test_notes(h5)
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("cuda_plugin_cli: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

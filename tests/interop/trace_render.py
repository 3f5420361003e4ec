"""trace_render.py — profile traces end to end.

Makes traces (with the trace_demo program given as argv[1], and through
`oocsolve ingest --profile` when the CLI has that option), checks that they
are valid Chrome trace-event JSON with the fields Perfetto / chrome://tracing
need, prints `oocsolve profile-summary`, renders `oocsolve profile-svg`,
converts the SVG to PNG with rsvg-convert and checks the image is not
trivial by decoding the PNG (zlib + PNG row filters, no Pillow).  Also
checks that bad input gives a clear error and exit code 1.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, failures  # noqa: E402


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def check_trace_json(path, label):
    with open(path) as f:
        doc = json.load(f)
    events = doc.get("traceEvents")
    other = doc.get("otherData", {})
    check(isinstance(events, list) and events, f"{label}: traceEvents is a non-empty list")
    check(other.get("trace_format") == "oocsolve-trace 1", f"{label}: otherData.trace_format")
    check(float(other.get("wall_us", "-1")) > 0, f"{label}: otherData.wall_us > 0")
    check("command" in other, f"{label}: otherData.command")
    by_ph = {}
    for e in events:
        by_ph.setdefault(e.get("ph"), []).append(e)
    for ph in ("X", "C", "M"):
        check(by_ph.get(ph), f"{label}: has '{ph}' events")
    for e in by_ph.get("X", []):
        ok = (isinstance(e.get("name"), str) and isinstance(e.get("ts"), (int, float))
              and isinstance(e.get("dur"), (int, float)) and e["dur"] >= 0
              and isinstance(e.get("pid"), int) and isinstance(e.get("tid"), int))
        if not ok:
            check(False, f"{label}: X event fields in {e}")
            break
    for e in by_ph.get("C", []):
        if not (isinstance(e.get("args"), dict) and e["args"]
                and all(isinstance(v, (int, float)) for v in e["args"].values())):
            check(False, f"{label}: C event args in {e}")
            break
    names = {e["tid"]: e["args"]["name"] for e in by_ph.get("M", []) if e.get("name") == "thread_name"}
    span_tids = {e["tid"] for e in by_ph.get("X", [])}
    check(span_tids <= set(names), f"{label}: every span's thread has a thread_name")
    counters = {e["name"] for e in by_ph.get("C", [])}
    check({"RSS", "CPU"} <= counters, f"{label}: RSS and CPU counter tracks ({counters})")
    return doc


def png_pixels(path):
    """Decode an 8-bit RGB/RGBA non-interlaced PNG: (width, height, rows of bytes, channels)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, color, _, _, interlace = ihdr
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unexpected PNG format {ihdr}"
    ch = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * ch
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, ch


def check_render(trace, workdir, label, stage_color=b"\xf2\x8e\x2b", stage="formula eval"):
    """Summary, SVG and PNG of a trace; `stage_color` (RGB bytes of `stage`) must be drawn."""
    svg = os.path.join(workdir, label + ".svg")
    png = os.path.join(workdir, label + ".png")
    r = run([OOCSOLVE, "profile-summary", trace])
    check(r.returncode == 0, f"{label}: profile-summary exit {r.returncode}: {r.stderr}")
    check("bounded by:" in r.stdout and "stage" in r.stdout, f"{label}: summary table\n{r.stdout}")
    print(r.stdout)
    r = run([OOCSOLVE, "profile-svg", trace, "-o", svg, "--width", "1000"])
    check(r.returncode == 0 and os.path.exists(svg), f"{label}: profile-svg: {r.stderr}")
    if not os.path.exists(svg):
        return
    root = ET.parse(svg).getroot()  # well-formed XML
    check(root.tag.endswith("svg") and root.get("width") == "1000", f"{label}: svg root {root.attrib}")
    r = run(["rsvg-convert", svg, "-o", png])
    check(r.returncode == 0, f"{label}: rsvg-convert: {r.stderr}")
    width, height, rows, ch = png_pixels(png)
    check(width == 1000 and height > 300, f"{label}: PNG size {width}x{height}")
    colors, non_white = set(), 0
    for row in rows:
        for x in range(0, len(row), ch):
            px = row[x:x + 3]
            colors.add(px)
            non_white += px != b"\xff\xff\xff"
    frac = non_white / (width * height)
    print(f"{label}: {width}x{height} PNG, {len(colors)} colors, {100 * frac:.1f}% non-white")
    check(len(colors) >= 12, f"{label}: only {len(colors)} distinct colors")
    check(0.05 < frac < 0.9, f"{label}: {100 * frac:.1f}% non-white pixels")
    # The stage palette must appear (default: formula eval orange, #f28e2b).
    check(stage_color in colors, f"{label}: stage colour of {stage} is drawn")
    keep = os.environ.get("OOC_KEEP_PNG")
    if keep:
        shutil.copy(png, os.path.join(keep, label + ".png"))


def cli_supports_profile():
    r = run([OOCSOLVE, "ingest", "--help"])
    return "--profile" in r.stdout


def main():
    demo = sys.argv[1]
    with tempfile.TemporaryDirectory() as work:
        trace = os.path.join(work, "demo.json")
        r = run([demo, trace])
        check(r.returncode == 0, f"trace_demo: {r.stderr}")
        check_trace_json(trace, "demo")
        check_render(trace, work, "demo")

        if cli_supports_profile():
            csv = os.path.join(work, "data.csv")
            with open(csv, "w") as f:
                f.write("y,a,b,c\n")
                for i in range(200000):
                    f.write(f"{(i * 7919) % 1000 / 10.0},{i % 97},{(i * 31) % 101 / 3.0},{'xyz'[i % 3]}\n")
            cli_trace = os.path.join(work, "ingest.json")
            r = run([OOCSOLVE, "ingest", csv, "-f", "y ~ a + b + C(c)", "-o",
                     os.path.join(work, "d.h5"), "--profile", cli_trace])
            check(r.returncode == 0, f"ingest --profile: {r.stderr}")
            check("bounded by:" in r.stderr, f"ingest prints the summary on stderr: {r.stderr}")
            doc = check_trace_json(cli_trace, "ingest")
            check("ingest" in doc["otherData"].get("command", ""), "ingest: command recorded")
            stages = {e["name"] for e in doc["traceEvents"] if e.get("ph") == "X"}
            check({"csv tokenize", "formula eval"} <= stages, f"ingest: stages {stages}")
            check_render(cli_trace, work, "ingest")
        else:
            print("note: `oocsolve ingest` has no --profile yet; CLI trace not tested")

        # Errors: not a trace, missing file, bad width.
        bogus = os.path.join(work, "bogus.json")
        with open(bogus, "w") as f:
            f.write('{"traceEvents": []}')
        r = run([OOCSOLVE, "profile-svg", bogus, "-o", os.path.join(work, "x.svg")])
        check(r.returncode == 1 and "not an oocsolve trace" in r.stderr, f"bogus trace: {r.stderr}")
        check(not os.path.exists(os.path.join(work, "x.svg")), "no SVG left after a failure")
        r = run([OOCSOLVE, "profile-summary", os.path.join(work, "missing.json")])
        check(r.returncode == 1 and "missing.json" in r.stderr, f"missing trace: {r.stderr}")
        with open(bogus, "w") as f:
            f.write('{"traceEvents": [\n  {"ph": "X",}\n]}')
        r = run([OOCSOLVE, "profile-summary", bogus])
        check(r.returncode == 1 and "line 2, column" in r.stderr, f"syntax error position: {r.stderr}")
        r = run([OOCSOLVE, "profile-svg", trace, "-o", os.path.join(work, "y.svg"), "--width", "12"])
        check(r.returncode == 2, "--width 12 is a usage error")
        leftovers = [n for n in os.listdir(work) if ".tmp." in n]
        check(not leftovers, f"temporary files left behind: {leftovers}")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

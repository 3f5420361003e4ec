#!/usr/bin/env python3
"""report_width.py — the rules of `oocsolve fit`'s text summary follow its widest row.

With the seed formula's long categorical names (`C(cat1, Treatment, levels=lnames)[T.1]`) the
coefficient rows run past 78 characters; statsmodels widens its tables with them.  Checks, for
that design and for one with short names:
  - every rule line (==== and ----) is exactly as wide as the widest coefficient row (the
    column header included), and that width is 78 when the names are short;
  - the title is centred in that width and the two-column header block spans it.
`svd`'s text output has no rules: checked to stay so.  Environment: OOCSOLVE (set by ctest).
"""
import os
import re
import subprocess
import sys
import tempfile

OOCSOLVE = os.environ["OOCSOLVE"]
from cliutil import check, failures  # noqa: E402


def write_csv(path):
    with open(path, "w") as f:
        f.write("y,a,bb,cat1\n")
        for i in range(500):
            a, bb, cat = i % 13, (i * 7) % 17, i % 5
            f.write(f"{0.5 * a - 0.25 * bb + cat + (i * 7919 % 100) / 100.0},{a},{bb},{cat}\n")


def check_layout(stdout, label, want_width=None):
    lines = stdout.splitlines()
    rules = [i for i, line in enumerate(lines) if re.fullmatch(r"=+|-+", line)]
    dash = [i for i in rules if lines[i][0] == "-"]
    check(len(rules) == 5 and len(dash) == 1, f"{label}: 4 '=' rules and 1 '-' rule: {stdout}")
    if len(rules) != 5 or len(dash) != 1:
        return
    # the column header sits above the '-' rule; coefficient rows run to the next '=' rule
    end = min(i for i in rules if i > dash[0])
    rows = [lines[dash[0] - 1]] + lines[dash[0] + 1:end]
    width = max(len(row) for row in rows)
    for i in rules:
        check(len(lines[i]) == width, f"{label}: rule on line {i + 1} is {len(lines[i])} wide, "
                                      f"the widest coefficient row {width}")
    if want_width is not None:
        check(width == want_width, f"{label}: width {width}, expected {want_width}")
    title = lines[0]
    pad = len(title) - len(title.lstrip())
    check(title.strip() == "OLS Regression Results" and pad == (width - len(title.strip())) // 2,
          f"{label}: title centred in {width}: {title!r}")
    header = lines[rules[0] + 1:rules[1]]
    check(header and all(len(line) == width for line in header),
          f"{label}: header block {width} wide: {[len(line) for line in header]}")
    check(header and header[0].startswith("Dep. Variable:"), f"{label}: header {header[:1]}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "d.csv")
        write_csv(csv)
        long = subprocess.run([OOCSOLVE, "fit", csv, "-f",
                               "y ~ a + bb + C(cat1, Treatment, levels=lnames)",
                               "--var", "lnames=0,1,2,3,4"], capture_output=True, text=True)
        check(long.returncode == 0, f"fit with long names: {long.stderr}")
        check("C(cat1, Treatment, levels=lnames)[T.4]" in long.stdout, "long names in the table")
        check_layout(long.stdout, "long names")
        width = max(len(line) for line in long.stdout.splitlines() if "levels=lnames" in line)
        check(width > 78, f"long names: rows {width} wide, beyond 78")

        short = subprocess.run([OOCSOLVE, "fit", csv, "-f", "y ~ a + bb"], capture_output=True,
                               text=True)
        check(short.returncode == 0, f"fit with short names: {short.stderr}")
        check_layout(short.stdout, "short names", want_width=78)

        svd = subprocess.run([OOCSOLVE, "svd", csv, "-f", "y ~ a + bb + C(cat1)", "--vectors"],
                             capture_output=True, text=True)
        check(svd.returncode == 0 and not any(re.fullmatch(r"[=-]{3,}", line)
                                              for line in svd.stdout.splitlines()),
              f"svd text: no rules to widen: {svd.stdout}")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("report_width: rules, title and header follow the widest coefficient row")


if __name__ == "__main__":
    main()

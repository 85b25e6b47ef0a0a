#!/usr/bin/python3
"""Every golden case (tests/golden/ci_cases.py: all 14 official variants and the custom nets) in half
precision on an ARMv8.2 CPU: writes tools/bench/fp16_goldens.md, which docs/benchmarks.md includes.

    /usr/bin/python3 tools/bench/fp16_goldens.py [--build build] [--cpu cortex-a76] [--only NAME,...]

Each case is made on the host (PyTorch checkpoint with the official, timm or MMPretrain names, float64
eval-mode logits; tests/golden/make_golden.py), converted by the host's rvgg-convert, and run by the aarch64
rvgg-run under qemu-aarch64 -cpu CPU with --precision fp16. Reported: the max logit error against PyTorch,
relative to the largest logit, and whether every image's top-1 class equals PyTorch's (check_golden.py fails
the case otherwise). The CTest golden suites run a subset under qemu (tests/cross/); this is the whole set,
about 30 minutes of emulation. Build the host and aarch64 presets first.
"""

import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "golden"))
sys.dont_write_bytecode = True
import ci_cases  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--cpu", default="cortex-a76")
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--output", default=os.path.join(HERE, "fp16_goldens.md"))
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    convert = os.path.join(build, "host", "bin", "rvgg-convert")
    arm = os.path.join(build, "aarch64")
    for path in (convert, os.path.join(arm, "bin", "rvgg-run")):
        if not os.path.exists(path):
            sys.exit("fp16_goldens.py: error: %s missing: build the host and aarch64 presets first" % path)
    only = set(filter(None, args.only.split(",")))
    runner = "env QEMU_CPU=%s %s %s --precision fp16" % (args.cpu, os.path.join(arm, "emulator"),
                                                        os.path.join(arm, "bin", "rvgg-run"))
    rows, failed = [], 0
    for name, case in ci_cases.CASES:
        if only and name not in only:
            continue
        t0 = time.time()
        p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "golden", "check_golden.py"),
                            "--convert", convert, "--run", runner, "--reuse", "--fp16-tolerance", "1",
                            "--work", os.path.join(build, "bench", "fp16-goldens", name)] + case,
                           capture_output=True, text=True)
        m = re.search(r"max\|err\| ([0-9.e+-]+) \(rel ([0-9.e+-]+)", p.stdout)
        top = re.search(r"top-1 (same|DIFFERENT)", p.stdout)
        ok = p.returncode == 0 and m and top and top.group(1) == "same"
        failed += not ok
        row = "| %s | %s | %s | %s |" % (
            name, m.group(1) if m else "-", "%.2f%%" % (100 * float(m.group(2))) if m else "-",
            top.group(1) if top else "FAILED: " + (p.stdout + p.stderr).strip().splitlines()[-1][:120])
        print("%s (%.0f s)" % (row, time.time() - t0), file=sys.stderr, flush=True)
        rows.append(row)
    lines = ["### fp16 on every golden case (%s)" % args.cpu, "",
             "`/usr/bin/python3 tools/bench/fp16_goldens.py`: each golden case of `tests/golden/ci_cases.py` "
             "(64x64 batch 2 unless the name says otherwise) through the aarch64 `rvgg-run --precision fp16` "
             "under `qemu-aarch64 -cpu %s`, against PyTorch's float64 logits." % args.cpu, "",
             "| case | max logit error | of max \\|logit\\| | top-1 of every image |",
             "|---|---:|---:|---|"] + rows + [""]
    with open(args.output, "w") as f:
        f.write("\n".join(lines))
    print("wrote %s; %d of %d cases failed" % (os.path.relpath(args.output, ROOT), failed, len(rows)),
          file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

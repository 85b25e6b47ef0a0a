#!/usr/bin/python3
"""rvgg on the two ARM CPU classes, per precision, beside ncnn: writes tools/bench/arm.md, which
docs/benchmarks.md includes.

    /usr/bin/python3 tools/bench/arm_report.py [--build build] [--calibration-images 16]

For RepVGG-A0 at 224 (random fused weights; int8 calibrated on random images), 1 thread, under
qemu-aarch64 with -cpu cortex-a53 (ARMv8.0: Raspberry Pi 3, most cheap boards) and -cpu cortex-a76
(ARMv8.2 with FP16 arithmetic and the dot product: Raspberry Pi 5, phones, Jetson Orin):
  1. guest instructions per inference (count of 2 runs minus count of 1, tools/bench/qemu_insn_count.c
     as the qemu plugin) for --precision fp32, fp16 (ARMv8.2 only) and the int8 model, and AUTO;
  2. what each load takes in caller-owned memory (rvgg-info: arena, packed or transformed weights,
     tables) on that CPU;
  3. the golden A0 (official train checkpoint saved by PyTorch, float64 PyTorch logits,
     tests/golden/) through rvgg-run in each precision: max logit error and top-1.
ncnn's figures are the project's reference measurements (../shared/REFERENCE.md).
Build the host and aarch64 presets first. Models and logs go to BUILD/bench/arm (about 7 minutes).
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CPUS = ["cortex-a53", "cortex-a76"]
NCNN = {  # guest instructions per A0 inference, ../shared/REFERENCE.md (snapshot a4d2ea1)
    "fp32": {"cortex-a53": 195.7e6, "cortex-a76": 195.7e6},
    "default": {"cortex-a53": 195.9e6, "cortex-a76": 103.8e6},
    "int8": {"cortex-a53": 177.7e6, "cortex-a76": 114.7e6},
}


def die(message):
    print("arm_report.py: error: " + message, file=sys.stderr)
    sys.exit(1)


def run(cmd, env=None, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        die("%s failed (exit %d): %s" % (shlex.join(cmd), p.returncode,
                                         (p.stderr or p.stdout).strip()[-1500:]))
    return p


def instructions(arm, plugin, cpu, model, flags):
    env = dict(os.environ, QEMU_PLUGIN="file=" + plugin, QEMU_LOG="plugin", QEMU_CPU=cpu)
    counts = []
    for runs in (1, 2):
        p = run([os.path.join(arm, "emulator"), os.path.join(arm, "bin", "rvgg-bench"), model,
                 "--runs", str(runs), "--warmup", "0"] + flags, env=env)
        m = re.search(r"guest-instructions: (\d+)", p.stdout + p.stderr)
        if not m:
            die("no instruction count from the qemu plugin")
        counts.append(int(m.group(1)))
    return counts[1] - counts[0]


def memory(arm, cpu, model, flags):
    env = dict(os.environ, QEMU_CPU=cpu)
    p = run([os.path.join(arm, "emulator"), os.path.join(arm, "bin", "rvgg-info"), model] + flags,
            env=env)
    total = re.search(r"caller memory (\d+) bytes", p.stdout)
    arena = re.search(r"arena (\d+) \+ backend (\d+)", p.stdout)
    if not total or not arena:
        die("rvgg-info printed no memory lines: " + p.stdout[-500:])
    dtypes = set(re.findall(r"\s(fp32|fp16|int8)\s", p.stdout))
    return {"total": int(total.group(1)), "arena": int(arena.group(1)), "weights": int(arena.group(2)),
            "compute": "+".join(sorted(dtypes))}


def golden(build, work, arm, cpu, flags, model):
    check = ["/usr/bin/python3", os.path.join(ROOT, "tests", "golden", "check_golden.py"),
             "--work", work, "--fp16-tolerance", "1"]
    case = ["--variant", "A0", "--scheme", "official", "--format", "pth", "--dtype", "f32",
            "--wrap", "none", "--deploy", "train", "--input-size", "224"]
    emulator = os.path.join(arm, "emulator")
    runner = "env QEMU_CPU=%s %s %s %s" % (cpu, emulator, os.path.join(arm, "bin", "rvgg-run"),
                                           " ".join(flags))
    p = run(check + ["--run", runner, "--run-only"] + case, check=False)
    m = re.search(r"max\|err\| ([0-9.e+-]+) \(rel ([0-9.e+-]+)", p.stdout)
    top = re.search(r"top-1 (same|DIFFERENT)", p.stdout)
    if not m or not top:
        die("check_golden.py printed no error: " + (p.stdout + p.stderr)[-800:])
    return {"max": float(m.group(1)), "rel": float(m.group(2)), "top1": top.group(1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--calibration-images", type=int, default=16)
    ap.add_argument("--output", default=os.path.join(HERE, "arm.md"))
    ap.add_argument("--render-only", action="store_true",
                    help="write the table from the last run's BUILD/bench/arm/arm.json")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if args.render_only:
        with open(os.path.join(build, "bench", "arm", "arm.json")) as f:
            render(json.load(f), args.output)
        return
    host, arm = os.path.join(build, "host", "bin"), os.path.join(build, "aarch64")
    for path in (os.path.join(host, "rvgg-convert"), os.path.join(arm, "bin", "rvgg-bench")):
        if not os.path.exists(path):
            die(path + " missing: build the host and aarch64 presets first")
    work = os.path.join(build, "bench", "arm")
    os.makedirs(work, exist_ok=True)
    plugin = os.path.join(work, "insn.so")
    run(["gcc", "-O2", "-shared", "-fPIC", "-fvisibility=hidden",
         os.path.join(HERE, "qemu_insn_count.c"), "-o", plugin])

    fp32 = os.path.join(work, "a0.rvgg")
    int8 = os.path.join(work, "a0-int8.rvgg")
    calib = os.path.join(work, "calibration.npy")
    if not os.path.exists(fp32):
        run([os.path.join(host, "rvgg-convert"), "--synthetic", "A0", "--input-size", "224", "-o", fp32])
    if not os.path.exists(int8):
        run(["/usr/bin/python3", "-c",
             "import numpy as np; np.random.seed(0); np.save(%r, np.random.randn(%d, 3, 224, 224)"
             ".astype(np.float32))" % (calib, args.calibration_images)])
        run([os.path.join(host, "rvgg-convert"), "--synthetic", "A0", "--input-size", "224", "-o", int8,
             "--quantize", "int8", "--calibration", calib])
    # The golden A0 case, made on the host once (checkpoint, PyTorch logits, model).
    golden_work = os.path.join(work, "golden-A0-224")
    if not os.path.exists(os.path.join(golden_work, "model.rvgg")):
        run(["/usr/bin/python3", os.path.join(ROOT, "tests", "golden", "check_golden.py"),
             "--convert", os.path.join(host, "rvgg-convert"), "--run", os.path.join(host, "rvgg-run"),
             "--work", golden_work, "--model-only", "--variant", "A0", "--scheme", "official",
             "--format", "pth", "--dtype", "f32", "--wrap", "none", "--deploy", "train",
             "--input-size", "224"])

    configs = [("fp32", fp32, ["--precision", "fp32"]), ("fp16", fp32, ["--precision", "fp16"]),
               ("AUTO", fp32, []), ("int8", int8, [])]
    results = {}
    for cpu in CPUS:
        for name, model, flags in configs:
            if name == "fp16" and cpu == "cortex-a53":
                continue  # refused: no FP16 arithmetic
            print("[arm] %s %s" % (cpu, name), file=sys.stderr, flush=True)
            r = {"instructions": instructions(arm, plugin, cpu, model, flags),
                 "memory": memory(arm, cpu, model, flags)}
            if name != "int8":
                r["golden"] = golden(build, golden_work, arm, cpu, flags, model)
            results["%s %s" % (cpu, name)] = r
    with open(os.path.join(work, "arm.json"), "w") as f:
        json.dump(results, f, indent=1)
    render(results, args.output)


def render(results, output):
    mib = lambda n: "%.1f" % (n / 2**20)  # noqa: E731
    lines = ["## ARM: per CPU class and precision", "",
             "Guest instructions per RepVGG-A0 inference at 224 (1 thread), counted under qemu-aarch64 "
             "(`/usr/bin/python3 tools/bench/arm_report.py`); ncnn's from the project's reference "
             "measurements (snapshot a4d2ea1, its own toolchain, default options). Memory: what "
             "`rvgg_model_memory_size()` asks for on that CPU (`rvgg-info`). Golden: the official A0 "
             "train checkpoint through rvgg-run, against PyTorch's float64 logits.", ""]
    for cpu in CPUS:
        klass = "ARMv8.0" if cpu == "cortex-a53" else "ARMv8.2: FP16 arithmetic, dot product"
        lines += ["**%s** (%s)" % (cpu, klass), "",
                  "| | rvgg | ncnn | rvgg / ncnn | runs in | caller memory (arena + weights) MiB "
                  "| golden A0 max logit error (of max \\|logit\\|) |",
                  "|---|---:|---:|---:|---|---:|---|"]
        for name, ncnn_key in (("fp32", "fp32"), ("fp16", "default"), ("AUTO", None), ("int8", "int8")):
            r = results.get("%s %s" % (cpu, name))
            if r is None:
                lines.append("| %s | refused: no FP16 arithmetic | | | | | |" % name)
                continue
            ins = r["instructions"] / 1e6
            ncnn = NCNN[ncnn_key][cpu] / 1e6 if ncnn_key else None
            mem = r["memory"]
            g = r.get("golden")
            lines.append("| %s | %.1fM | %s | %s | %s | %s (%s + %s) | %s |" % (
                "default (AUTO)" if name == "AUTO" else "--precision " + name if name != "int8" else "int8 model",
                ins, "%.1fM" % ncnn if ncnn else "", "%.2f" % (ins / ncnn) if ncnn else "", mem["compute"],
                mib(mem["total"]), mib(mem["arena"]), mib(mem["weights"]),
                "%.2e (%.2e), top-1 %s" % (g["max"], g["rel"], g["top1"]) if g else ""))
        lines.append("")
    lines += ["ncnn's own max logit errors against PyTorch fp32 (reference notes, its model and input): fp32 5e-7, "
              "fp16 2.5e-3, int8 4.9e-2. Per layer, rvgg's fp16 tiles (2 x k, k <= 5; stride 2: one side <= 3) "
              "have a third of the error of ncnn's fp16 Winograd F(4x4) tile, measured by rvgg's own tool "
              "(docs/winograd_fp16.md: 4x4 against 2x5 on A0's stride-1 layers).", ""]
    with open(output, "w") as f:
        f.write("\n".join(lines))
    print("wrote " + os.path.relpath(output, ROOT), file=sys.stderr)


if __name__ == "__main__":
    main()

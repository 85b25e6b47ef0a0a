#!/usr/bin/python3
"""What rvgg's Winograd path costs and buys, measured; writes tools/bench/winograd.md, which
tools/bench/compare.py includes in docs/benchmarks.md.

    /usr/bin/python3 tools/bench/winograd_report.py [--build build] [--variants A0,...] [--no-arm]

  1. ARM cost: guest instructions per inference of fused RepVGG-A0 at 224, 1 thread, under
     qemu-user (count of 2 timed runs minus count of 1, rvgg-bench from build/aarch64 and
     build/armv7 through their emulator wrappers, tools/bench/qemu_insn_count.c as the plugin),
     with --winograd off and auto.
  2. Memory per official variant at 224 on this host: what rvgg_model_memory_size() asks for
     (arena + XNNPACK's packed or Winograd-transformed weights + tables), via rvgg-info, with
     --winograd off and auto, and how many layers AUTO puts on Winograd.
  3. The budget: A0 with --winograd-budget from 1 byte (plain XNNPACK) to unlimited: memory,
     Winograd layers and the host median (rvgg-bench, 1 thread).
  4. Accuracy per tile size: the A0 golden case at 224 (official train-time checkpoint saved by
     PyTorch, float64 PyTorch logits, tests/golden/) through rvgg-run --winograd off/2/4/6/auto.

Models and logs go to BUILD/bench/winograd. Build the host, aarch64 and armv7 presets first.
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
OFFICIAL = ["A0", "A1", "A2", "B0", "B1", "B1g2", "B1g4", "B2", "B2g2", "B2g4", "B3", "B3g2", "B3g4",
            "D2se"]
BUDGETS = [("1", "1 byte"), ("16M", "16 MiB"), ("32M", "32 MiB"), ("64M", "64 MiB"),
           ("128M", "128 MiB"), ("0", "unlimited (default)")]


def log(*args):
    print("[winograd]", *args, file=sys.stderr, flush=True)


def die(message):
    print("winograd_report.py: error: " + message, file=sys.stderr)
    sys.exit(1)


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        die("%s failed (exit %d): %s" % (shlex.join(cmd), p.returncode,
                                         (p.stderr or p.stdout).strip()[-1500:]))
    return p.stdout + p.stderr


def rel(path):
    return os.path.relpath(path, ROOT)


def mib(n):
    return "%.1f" % (n / 2**20)


def synthetic(convert, work, variant, size=224):
    path = os.path.join(work, "%s-%d.rvgg" % (variant, size))
    if not os.path.exists(path):
        run([convert, "--synthetic", variant, "--input-size", str(size), "-o", path])
    return path


def info(info_tool, model, *flags):
    """rvgg-info's caller-memory total and the layers it puts on Winograd; None when the load is
    refused (the default 2 GiB memory_limit)."""
    p = subprocess.run([info_tool, model] + list(flags), capture_output=True, text=True)
    if p.returncode != 0:
        if "limit" in p.stderr:
            return None
        die("rvgg-info %s %s failed: %s" % (model, " ".join(flags), p.stderr.strip()))
    out = p.stdout
    m = re.search(r"caller memory (\d+) bytes", out)
    if not m:
        die("rvgg-info printed no caller memory for %s %s" % (model, " ".join(flags)))
    rows = [l for l in out.splitlines() if re.match(r"\s+\d+\s+\S+\s+(conv|avgpool|fc|se)\s", l)]
    winograd = sum(1 for l in rows if " winograd" in l)
    convs = sum(1 for l in rows if " conv " in l)
    return {"memory": int(m.group(1)), "winograd_layers": winograd, "convs": convs}


def instructions(build, preset, plugin, model, winograd):
    emulator = os.path.join(build, preset, "emulator")
    bench = os.path.join(build, preset, "bin", "rvgg-bench")
    for path in (emulator, bench):
        if not os.path.exists(path):
            die("%s missing: build the %s preset first (cmake --workflow --preset %s)"
                % (rel(path), preset, preset))
    env = dict(os.environ, QEMU_PLUGIN="file=" + plugin, QEMU_LOG="plugin")
    counts = []
    for runs in (1, 2):
        out = run([emulator, bench, model, "--runs", str(runs), "--warmup", "0", "--winograd", winograd],
                  env=env)
        m = re.search(r"guest-instructions: (\d+)", out)
        if not m:
            die("no instruction count from the qemu plugin (%s)" % preset)
        counts.append(int(m.group(1)))
    return counts[1] - counts[0]


def golden_errors(build, work):
    convert = os.path.join(build, "host", "bin", "rvgg-convert")
    run_tool = os.path.join(build, "host", "bin", "rvgg-run")
    case = os.path.join(work, "golden-A0-224")
    check = ["/usr/bin/python3", os.path.join(ROOT, "tests", "golden", "check_golden.py"),
             "--convert", convert, "--work", case]
    golden = ["--variant", "A0", "--scheme", "official", "--format", "pth", "--dtype", "f32",
              "--wrap", "none", "--deploy", "train", "--input-size", "224"]
    run(check + ["--run", run_tool, "--reuse", "--model-only"] + golden)
    errors = {}
    for mode in ["off", "2", "4", "6", "auto"]:
        out = run(check + ["--run", "%s --winograd %s" % (run_tool, mode), "--run-only"] + golden)
        m = re.search(r"max\|err\| ([0-9.e+-]+) \(rel ([0-9.e+-]+), max\|logit\| ([0-9.e+-]+)", out)
        if not m:
            die("check_golden.py printed no error for --winograd %s: %s" % (mode, out.strip()))
        errors[mode] = (float(m.group(1)), float(m.group(2)), float(m.group(3)))
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="folder holding the host, aarch64 and armv7 preset builds")
    ap.add_argument("--variants", default=",".join(OFFICIAL))
    ap.add_argument("--no-arm", action="store_true", help="skip the qemu instruction counts")
    ap.add_argument("--reuse-arm", action="store_true",
                    help="take the instruction counts of the previous run (BUILD/bench/winograd/arm.json) "
                         "when the ARM rvgg-bench binaries have not changed since")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--output", default=os.path.join(HERE, "winograd.md"))
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    host = os.path.join(build, "host", "bin")
    convert, info_tool, bench = (os.path.join(host, t) for t in ("rvgg-convert", "rvgg-info", "rvgg-bench"))
    for t in (convert, info_tool, bench):
        if not os.path.exists(t):
            die("%s missing: build the host preset first (cmake --workflow --preset host)" % rel(t))
    work = os.path.join(build, "bench", "winograd")
    os.makedirs(work, exist_ok=True)
    a0 = synthetic(convert, work, "A0")
    isa = run([bench, a0, "--json", "--runs", "1", "--warmup", "0"])
    isa = json.loads(isa.strip().splitlines()[-1])["isa"]

    arm = {}
    arm_json = os.path.join(work, "arm.json")
    stamp = [os.path.getmtime(os.path.join(build, p, "bin", "rvgg-bench"))
             if os.path.exists(os.path.join(build, p, "bin", "rvgg-bench")) else 0
             for p in ("aarch64", "armv7")]
    if args.reuse_arm and os.path.exists(arm_json):
        saved = json.load(open(arm_json))
        if saved.get("stamp") == stamp:
            arm = {tuple(k.split(" ")): v for k, v in saved["counts"].items()}
            log("instruction counts reused from", rel(arm_json))
    if not args.no_arm and not arm:
        plugin = os.path.join(work, "qemu_insn_count.so")
        run(["gcc", "-O2", "-shared", "-fPIC", "-fvisibility=hidden",
             os.path.join(HERE, "qemu_insn_count.c"), "-o", plugin])
        for preset in ("aarch64", "armv7"):
            for mode in ("off", "auto"):
                arm[preset, mode] = instructions(build, preset, plugin, a0, mode)
                log("%s --winograd %s: %.1fM instructions per inference" % (preset, mode,
                                                                            arm[preset, mode] / 1e6))
        with open(arm_json, "w") as fh:
            json.dump({"stamp": stamp, "counts": {" ".join(k): v for k, v in arm.items()}}, fh)

    memory = {}
    for v in args.variants.split(","):
        model = synthetic(convert, work, v)
        memory[v] = {"file": os.path.getsize(model), "off": info(info_tool, model, "--winograd", "off"),
                     "auto": info(info_tool, model)}
        log("%s: off %s, auto %s" % (v, memory[v]["off"], memory[v]["auto"]))
        if v != "A0":
            os.remove(model)

    budgets = []
    for flag, label in BUDGETS:
        i = info(info_tool, a0, "--winograd-budget", flag)
        r = json.loads(run([bench, a0, "--json", "--runs", str(args.runs), "--warmup", "3",
                            "--winograd-budget", flag]).strip().splitlines()[-1])
        budgets.append((flag, label, i, r["median_ms"]))
        log("budget %s: %s MiB, %d Winograd layers, %.1f ms" % (label, mib(i["memory"]),
                                                                 i["winograd_layers"], r["median_ms"]))

    errors = golden_errors(build, work)
    for mode, (e, r, s) in errors.items():
        log("golden A0 --winograd %s: max |err| %.3g (rel %.2e)" % (mode, e, r))

    L = []
    add = L.append
    add("## Winograd")
    add("")
    add("Written by `/usr/bin/python3 tools/bench/winograd_report.py` (host kernel ISA %s); rerun it "
        "after runtime changes, then `compare.py`." % isa)
    add("")
    add("rvgg runs stride-1 3x3 layers as Winograd F(m x m, 3 x 3) (m = 2..6, rectangular tiles "
        "allowed) and stride-2 3x3 layers in a polyphase Winograd form: rvgg's own NEON/SSE/AVX "
        "input and output transforms (bias and ReLU fused into the output transform) around one "
        "GEMM per transform position: XNNPACK's fully-connected operator on ARM, rvgg's own 6x16 "
        "AVX2/FMA kernel on AVX2 CPUs (`runtime/src/ops/winograd/gemm.h` says why). Transformed "
        "weights are computed at load from the fused kernels, so one `.rvgg` file serves every "
        "device and every memory budget (the converter stores only the fused 3x3 weights); AUTO "
        "picks the tile per layer from a cost model of the shape, per GEMM kernel (on x86 it also "
        "counts the traffic of the transformed weights).")
    add("")
    if arm:
        add("### ARM cost (guest instructions per inference, RepVGG-A0 224, 1 thread)")
        add("")
        add("Counted under qemu-user with `tools/bench/qemu_insn_count.c`: count(`rvgg-bench --runs 2 "
            "--warmup 0`) minus count(`--runs 1`), the same binary and model. Target from the "
            "project's reference: ncnn with Winograd, 195.8M on aarch64.")
        add("")
        add("| target | `--winograd off` (XNNPACK only) | `--winograd auto` | auto / off |")
        add("|---|---:|---:|---:|")
        for preset in ("aarch64", "armv7"):
            off, auto = arm[preset, "off"], arm[preset, "auto"]
            add("| %s | %.1fM | %.1fM | %.2f |" % (preset, off / 1e6, auto / 1e6, auto / off))
        add("")
    add("### Memory per variant (224x224, this host)")
    add("")
    add("Bytes a load asks for in caller-owned memory mode (`rvgg_model_memory_size()`: arena, "
        "XNNPACK's packed weights or the Winograd-transformed ones, indirection buffers, tables), "
        "from `rvgg-info MODEL [--winograd off]`. Weights are packed per CPU, and the x86 cost "
        "model picks other tiles than the ARM one, so ARM figures differ. Transformed weights cost (m+2)^2/9 times the 3x3 weights per layer (F6: 7.1x, "
        "F2: 1.8x). The default budget is unlimited, but Winograd never takes more than half of what "
        "`memory_limit` (2 GiB by default) leaves after the direct path: that cap is what holds the "
        "large variants near 0.9 GiB (fewer and smaller tiles) and keeps every official variant "
        "loadable. On a small device, set `--winograd-budget` / `winograd_budget_bytes`.")
    add("")
    add("| variant | file MiB | memory, Winograd off, MiB | memory, auto, MiB | auto / off | "
        "Winograd layers (auto) |")
    add("|---|---:|---:|---:|---:|---:|")
    for v, m in memory.items():
        off, auto = m["off"], m["auto"]
        if auto is None:
            add("| %s | %s | %s | over the 2 GiB default `memory_limit`: load refused | - | - |"
                % (v, mib(m["file"]), mib(off["memory"]) if off else "over 2 GiB"))
            continue
        add("| %s | %s | %s | %s | %.1f | %d of %d convs |" % (
            v, mib(m["file"]), mib(off["memory"]), mib(auto["memory"]), auto["memory"] / off["memory"],
            auto["winograd_layers"], auto["convs"]))
    add("")
    add("### A memory budget (RepVGG-A0 224)")
    add("")
    add("`--winograd-budget SIZE` in the tools, `rvgg_options.winograd_budget_bytes` in the C API: "
        "over the budget AUTO steps layers down to smaller tiles and then to the direct XNNPACK "
        "convolution where that loses least time per byte freed. A 1-byte budget is the plain "
        "XNNPACK path. Latency: host median of %d runs, 1 thread, one after the other (a shared "
        "machine: compare neighbours)." % args.runs)
    add("")
    add("| budget | memory MiB | Winograd layers | median ms |")
    add("|---|---:|---:|---:|")
    for flag, label, i, ms in budgets:
        add("| %s (`%s`) | %s | %d | %.1f |" % (label, flag, mib(i["memory"]), i["winograd_layers"], ms))
    add("")
    add("### Accuracy per tile size")
    add("")
    add("The golden A0 at 224 (official train-time checkpoint saved by `torch.save`, PyTorch float64 "
        "eval-mode logits; `tests/golden/check_golden.py`). `2`, `4` and `6` force F(m x m) on every "
        "stride-1 3x3 layer (stride-2 layers stay direct); `auto` is the default choice, stride-2 "
        "polyphase layers and rectangular tiles included. Tolerance of the golden tests: 1e-3.")
    add("")
    add("| `--winograd` | max abs logit error | relative to max abs logit (%.3g) |" % errors["off"][2])
    add("|---|---:|---:|")
    for mode, (e, r, _) in errors.items():
        add("| %s | %.2e | %.2e |" % (mode, e, r))
    add("")
    with open(args.output, "w") as fh:
        fh.write("\n".join(L) + "\n")
    print("wrote %s" % rel(args.output))


if __name__ == "__main__":
    main()

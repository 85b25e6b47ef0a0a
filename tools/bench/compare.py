#!/usr/bin/python3
"""rvgg against its peers, measured in one run, and docs/benchmarks.md written from it.

    /usr/bin/python3 tools/bench/compare.py [--build build/host] [--variants A0,A1,B0] [--threads 1,2]
                                            [--reps 5] [--runs 5] [--warmup 2] [--winograd MODE]

For each variant (random weights, the official RepVGG module structure) it
  1. builds the multi-branch train-time network in PyTorch and fuses it; saves the fused deploy
     state dict (torch.save, official `rbr_reparam` names), converts that with rvgg-convert and
     exports both networks to ONNX: every fused runtime runs the very same fused weights;
  2. checks that rvgg, PyTorch and ONNX Runtime give the same logits for one image (fused and
     multi-branch) before timing anything;
  3. times, interleaved: per repetition each runtime in turn (the order rotates between
     repetitions) runs `warmup` untimed and `runs` timed inferences; a runtime's number is the
     median over repetitions of its per-repetition medians. The runtimes:
       rvgg              rvgg-bench --json (one process per repetition, as a user runs it)
       rvgg direct       the same with --winograd off: only XNNPACK's convolutions
       rvgg int8         the same fused weights quantized by rvgg-convert --quantize int8
       XNNPACK raw       tools/bench/xnnpack_floor.cc: the same operators on XNNPACK in a bare loop
       ORT fused / multi-branch     onnxruntime-node 1.30.0 (npm, --ignore-scripts), one worker
       PyTorch fused / multi-branch torch eager, channels-last, inference_mode, one worker
     The workers wait on stdin between requests, so only one runtime computes at a time.
  4. measures the fp32 FMA peak (tools/bench/fma_peak.cc, built with -march=native now) and
     writes docs/benchmarks.md and docs/benchmarks-latency.png.

Everything it downloads or builds goes to BUILD/bench (npm's node_modules, models, binaries).
rvgg's flags pass through (--winograd), so reruns after runtime changes refresh the report.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ORT_VERSION = "1.30.0"

RUNTIMES = [  # key, label
    ("rvgg", "rvgg"),
    ("rvgg_direct", "rvgg direct"),
    ("rvgg_int8", "rvgg int8"),
    ("xnnpack", "XNNPACK raw"),
    ("ort_fused", "ORT fused"),
    ("torch_fused", "PyTorch fused"),
    ("ort_train", "ORT multi-branch"),
    ("torch_train", "PyTorch multi-branch"),
]
LABEL = dict(RUNTIMES)


def log(*args):
    print("[compare]", *args, file=sys.stderr, flush=True)


def die(message):
    print("compare.py: error: " + message, file=sys.stderr)
    sys.exit(1)


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        die("%s failed (exit %d): %s" % (shlex.join(cmd), p.returncode,
                                         (p.stderr or p.stdout).strip()[-2000:]))
    return p.stdout


def rel(path):
    return os.path.relpath(path, ROOT)


class Worker:
    """A long-lived process answering one JSON line per JSON request."""

    def __init__(self, name, cmd):
        self.name = name
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)

    def ask(self, **msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            die("%s worker exited (%s)" % (self.name, shlex.join(self.cmd)))
        reply = json.loads(line)
        if "error" in reply:
            die("%s worker: %s" % (self.name, reply["error"]))
        return reply

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


# ---------------------------------------------------------------------------------------- setup

def tool(build, name):
    for sub in ["bin", "examples", "converter"]:
        p = os.path.join(build, sub, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    die("%s not found under %s (build it first: cmake --build %s -j2)" % (name, build, build))


def npm_install(work):
    modules = os.path.join(work, "node_modules")
    pkg = os.path.join(modules, "onnxruntime-node", "package.json")
    if os.path.exists(pkg) and json.load(open(pkg))["version"] == ORT_VERSION:
        return modules
    cmd = ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", work,
           "onnxruntime-node@" + ORT_VERSION]
    log("installing", shlex.join(cmd))
    run(cmd)
    return modules


def compile_helpers(build, work):
    """fma_peak (-march=native: this machine's widest FMA) and xnnpack_floor, built now."""
    out = {}
    fma = os.path.join(work, "fma_peak")
    out["fma_cmd"] = ["g++", "-O2", "-march=native", "-ffp-contract=fast", "-pthread",
                      os.path.join(HERE, "fma_peak.cc"), "-o", fma]
    run(out["fma_cmd"])
    floor = os.path.join(work, "xnnpack_floor")
    out["floor_cmd"] = ["g++", "-O2", "-std=c++17", "-I", os.path.join(build, "generated"),
                        os.path.join(HERE, "xnnpack_floor.cc"), "-lXNNPACK", "-lpthreadpool",
                        "-lcpuinfo", "-pthread", "-o", floor]
    if not os.path.exists(os.path.join(build, "generated", "schema", "rvgg_generated.h")):
        die("no generated schema header in %s/generated (configure and build rvgg first)" % build)
    run(out["floor_cmd"])
    out["fma"], out["floor"] = fma, floor
    return out


def prepare_models(args, variant, convert, work):
    """Train-time and fused PyTorch state dicts, the .rvgg and both ONNX files, cached by name."""
    import numpy as np
    import torch
    sys.path.insert(0, HERE)
    import repvgg_torch

    d = os.path.join(work, "models", "%s-%d-seed%d" % (variant, args.size, args.seed))
    os.makedirs(d, exist_ok=True)
    f = {k: os.path.join(d, v) for k, v in {
        "train_pt": "train.pt", "fused_pt": "fused.pth", "rvgg": "model.rvgg",
        "fused_onnx": "fused.onnx", "train_onnx": "train.onnx", "x_npy": "x.npy", "x_bin": "x.bin",
        "y_npy": "rvgg_logits.npy"}.items()}
    cached = all(os.path.exists(p) for k, p in f.items() if k != "y_npy")
    f["rvgg_int8"] = os.path.join(d, "model-int8.rvgg")
    f["calibration_npy"] = os.path.join(d, "calibration.npy")
    if cached:
        if not os.path.exists(f["rvgg_int8"]):
            quantize(args, convert, f)
        return f
    log(variant, ": building random weights, fusing, converting, exporting ONNX")
    torch.manual_seed(args.seed)
    train = repvgg_torch.random_train_model(variant, args.seed, size=args.size)
    fused = repvgg_torch.fuse(train)
    torch.save(train.state_dict(), f["train_pt"])
    torch.save(fused.state_dict(), f["fused_pt"])
    x = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(args.seed + 1))
    np.save(f["x_npy"], x.numpy())
    x.numpy().astype("<f4").tofile(f["x_bin"])
    for model, key in [(fused, "fused_onnx"), (train, "train_onnx")]:
        with torch.no_grad():
            torch.onnx.export(model, x, f[key], input_names=["input"], output_names=["logits"],
                              opset_version=13, do_constant_folding=True)
    run([convert, f["fused_pt"], "-o", f["rvgg"], "--input-size", str(args.size)])
    quantize(args, convert, f)
    return f


def quantize(args, convert, f):
    """The int8 model: the same fused weights, calibrated on 16 images drawn like the timed one."""
    import numpy as np
    rng = np.random.default_rng(args.seed + 2)
    np.save(f["calibration_npy"], rng.standard_normal((16, 3, args.size, args.size)).astype(np.float32))
    run([convert, f["fused_pt"], "-o", f["rvgg_int8"], "--input-size", str(args.size),
         "--quantize", "int8", "--calibration", f["calibration_npy"]])


# ---------------------------------------------------------------------------------------- machine

def machine_info():
    cpu = {}
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if ":" in line:
                k, v = (s.strip() for s in line.split(":", 1))
                cpu.setdefault(k, v)
    flags = cpu.get("flags", "").split()
    interesting = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
                   "avx512_bf16", "amx_tile", "asimd", "asimddp", "sve"]
    def version(pkg):
        p = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
        return p.stdout.strip() or "?"

    info = {
        "cpu": cpu.get("model name", platform.processor() or "?"),
        "logical_cpus": os.cpu_count(),
        "flags_present": [f for f in interesting if f in flags],
        "flags_absent": [f for f in ["avx512f", "avx512_vnni", "amx_tile"] if f not in flags
                         and "avx2" in flags],
        "kernel": platform.release(),
        "xnnpack": version("libxnnpack0"),
        "torch_deb": version("python3-torch"),
        "gxx": run(["g++", "-dumpfullversion"]).strip(),
        "node": run(["node", "--version"]).strip(),
        "onnx": version("python3-onnx"),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
    }
    return info


def fma_peak(helpers, threads):
    return json.loads(run([helpers["fma"], "--threads", str(threads)]))["gflops"]


# ---------------------------------------------------------------------------------------- checks

def check_logits(args, variant, f, bench_dir, run_tool, torch_w, ort_w):
    import numpy as np
    run([run_tool, f["rvgg"], "--input", f["x_npy"], "--output", f["y_npy"]])
    got = {"rvgg": np.load(f["y_npy"])[0]}
    for kind in ["fused", "train"]:
        got["torch_" + kind] = np.array(torch_w.ask(cmd="logits", key=kind, input=f["x_npy"])["logits"])
        got["ort_" + kind] = np.array(ort_w.ask(cmd="logits", key=kind + "-1", input=f["x_bin"])["logits"])
    ref = got["torch_fused"]
    scale = max(1.0, float(np.abs(ref).max()))
    diffs = {}
    for k, v in got.items():
        diffs[k] = float(np.abs(v - ref).max())
        if diffs[k] > args.tolerance * scale:
            die("%s: %s logits differ from PyTorch fused by %.3g (max |logit| %.3g, tolerance %g)"
                % (variant, LABEL[k], diffs[k], scale, args.tolerance))
    same_top1 = all(int(np.argmax(v)) == int(np.argmax(ref)) for v in got.values())
    log(variant, ": logits agree (max |diff| vs PyTorch fused: %s; max |logit| %.3g)"
        % (", ".join("%s %.2g" % (k, v) for k, v in diffs.items() if k != "torch_fused"), scale))
    return {"max_abs_logit": scale, "diffs": diffs, "same_top1": same_top1}


# ---------------------------------------------------------------------------------------- timing

def time_variant(args, variant, f, bench, helpers, torch_w, ort_w, threads):
    def measure(key):
        if key in ("rvgg", "rvgg_direct", "rvgg_int8"):
            winograd = "off" if key == "rvgg_direct" else args.winograd
            model = f["rvgg_int8"] if key == "rvgg_int8" else f["rvgg"]
            cmd = [bench, model, "--json", "--threads", str(threads), "--runs", str(args.runs),
                   "--warmup", str(args.warmup)] + (["--winograd", winograd] if winograd else [])
            r = json.loads(run(cmd))
            measure.isa = r["isa"]
            return r["times_ms"]
        if key == "xnnpack":
            cmd = [helpers["floor"], f["rvgg"], "--threads", str(threads), "--runs", str(args.runs),
                   "--warmup", str(args.warmup)]
            return json.loads(run(cmd))["times_ms"]
        runtime, kind = key.split("_")
        if runtime == "ort":
            return ort_w.ask(cmd="time", key="%s-%d" % (kind, threads), runs=args.runs,
                             warmup=args.warmup)["times_ms"]
        return torch_w.ask(cmd="time", key=kind, runs=args.runs, warmup=args.warmup,
                           threads=threads)["times_ms"]

    keys = [k for k, _ in RUNTIMES if k in args.runtimes]
    batches = {k: [] for k in keys}
    raw = {k: [] for k in keys}
    for rep in range(args.reps):
        order = keys[rep % len(keys):] + keys[:rep % len(keys)]
        for k in order:
            t = measure(k)
            batches[k].append(statistics.median(t))
            raw[k].extend(t)
        log("%s %d thread%s rep %d/%d: %s" % (variant, threads, "" if threads == 1 else "s", rep + 1,
                                             args.reps, "  ".join("%s %.1f" % (k, batches[k][-1])
                                                                  for k in keys)))
    out = {k: {"median_ms": statistics.median(batches[k]), "rep_medians_ms": batches[k],
               "min_ms": min(raw[k]), "max_ms": max(raw[k])} for k in keys}
    return out, getattr(measure, "isa", "?")


# ---------------------------------------------------------------------------------------- report

def fmt_ms(v):
    return "%.1f" % v if v >= 10 else "%.2f" % v


def write_plot(path, results, variants, thread_list, peaks, size):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k, _ in RUNTIMES if k in results[variants[0]][str(thread_list[0])]["times"]]
    fig, axes = plt.subplots(1, len(thread_list), figsize=(6.5 * len(thread_list), 4.8), squeeze=False)
    width = 0.8 / len(keys)
    colors = ["#1f77b4", "#9467bd", "#aec7e8", "#2ca02c", "#ff7f0e", "#98df8a", "#ffbb78"]
    for ax, threads in zip(axes[0], thread_list):
        for j, k in enumerate(keys):
            xs = [i + (j - (len(keys) - 1) / 2) * width for i in range(len(variants))]
            ys = [results[v][str(threads)]["times"][k]["median_ms"] for v in variants]
            ax.bar(xs, ys, width, label=LABEL[k], color=colors[j % len(colors)])
        for i, v in enumerate(variants):
            floor = results[v]["gflop"] / peaks[str(threads)] * 1000
            ax.plot([i - 0.45, i + 0.45], [floor, floor], color="black", lw=1.5,
                    label="FMA-peak floor" if i == 0 else None)
        ax.set_xticks(range(len(variants)))
        ax.set_xticklabels(["RepVGG-" + v for v in variants])
        ax.set_ylabel("median latency, ms (batch 1, %dx%d, log scale)" % (size, size))
        ax.set_yscale("log")
        ax.set_title("%d thread%s" % (threads, "" if threads == 1 else "s"))
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_report(path, plot, args, info, peaks, results, variants, thread_list, commands, elapsed,
                 per_layer):
    L = []
    add = L.append
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    add("# Benchmarks")
    add("")
    add("Written by `tools/bench/compare.py` (%s); every number below comes from that one run. Rerun it "
        "to refresh this page: it measures whatever rvgg does at the time (e.g. Winograd, "
        "`--winograd`)." % now)
    add("")
    add("**Read ratios, not absolute times.** The machine is shared (load average %s at the start, %s at "
        "the end, on %d logical CPUs), so every runtime is slowed alike; the runs are interleaved "
        "(round-robin over runtimes in every repetition) to keep the ratios fair."
        % ("/".join(info["loadavg_start"]), "/".join(info["loadavg_end"]), info["logical_cpus"]))
    add("")
    load = max(float(x) for x in info["loadavg_start"] + info["loadavg_end"])
    if load > info["logical_cpus"]:
        add("**Oversubscribed machine.** The load average exceeded the number of CPUs during this run. "
            "Thread pools that wait for every worker at the end of each operator (pthreadpool, which "
            "XNNPACK and so rvgg use; PyTorch's OpenMP) then lose a scheduler time slice whenever one "
            "worker is descheduled, once per operator; ONNX Runtime's pool lets the calling thread "
            "finish the remaining work instead. Multi-thread numbers on such a machine measure the "
            "scheduler more than the kernels; the 1-thread tables are the meaningful comparison.")
        add("")
    add("## Machine")
    add("")
    add("| | |")
    add("|---|---|")
    add("| CPU | %s, %d logical CPUs (`nproc`) |" % (info["cpu"], info["logical_cpus"]))
    add("| /proc/cpuinfo flags | %s%s |" % (" ".join(info["flags_present"]),
                                           ("; absent: " + " ".join(info["flags_absent"]))
                                           if info["flags_absent"] else ""))
    add("| ISA reported by rvgg | %s (`rvgg_kernel_isa()`) |" % info["isa"])
    add("| fp32 FMA peak (measured) | %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on 2 threads "
        "(`tools/bench/fma_peak.cc`, %d-float vectors, g++ -O2 -march=native; best of %d samples "
        "taken through the run: 1 thread %s) |"
        % (peaks["1"], peaks.get("2", float("nan")), info["fma_vector"],
           len(info["peak_samples"]["1"]), " ".join("%.1f" % x for x in info["peak_samples"]["1"])))
    add("| Linux | %s |" % info["kernel"])
    add("| rvgg | commit %s, XNNPACK %s (Debian), %s |" % (info["commit"], info["xnnpack"],
                                                       "winograd " + (args.winograd or "default")))
    add("| ONNX Runtime | %s (npm onnxruntime-node, node %s) |" % (info["ort"], info["node"]))
    add("| PyTorch | %s (Debian python3-torch %s), oneDNN, eager |" % (info["torch"], info["torch_deb"]))
    add("| compiler | g++ %s |" % info["gxx"])
    add("")
    add("Note: the peer figures in the project's reference notes were taken on an AVX-512 machine; "
        "this one %s AVX-512, and CI machines may differ again. Compare ratios measured on one "
        "machine." % ("has" if "avx512f" in info["flags_present"] else "lacks"))
    add("")
    add("## What is measured")
    add("")
    add("- Batch 1, %dx%d, fp32, random weights with the official RepVGG structure "
        "(`tools/bench/repvgg_torch.py`). The multi-branch network is fused in PyTorch; its fused "
        "state dict (`torch.save`, official deploy names) is what rvgg-convert reads and what is "
        "exported to ONNX, so every *fused* runtime runs the same weights. Before timing, each "
        "runtime's logits for one image are compared with PyTorch's (table at the end)."
        % (args.size, args.size))
    add("- Per repetition every runtime runs %d untimed and %d timed inferences; the order of the "
        "runtimes rotates between the %d repetitions. A runtime's number is the median of its "
        "per-repetition medians." % (args.warmup, args.runs, args.reps))
    add("- **rvgg**: `rvgg-bench --json` (a fresh process per repetition, NCHW input, as users run it). "
        "**rvgg int8**: the same on the model `rvgg-convert --quantize int8` makes of the same fused "
        "weights (calibrated on 16 random images drawn like the timed one); its logits differ from "
        "the float ones by the quantization, so it is not in the logits check. "
        "**XNNPACK raw**: `tools/bench/xnnpack_floor.cc`, the model's convolutions, global pool and "
        "classifier created straight on XNNPACK and run in a bare loop: what rvgg would cost with "
        "zero overhead. **ORT**: onnxruntime-node %s, CPU provider, `intraOpNumThreads` = threads, "
        "`interOpNumThreads` 1, sequential, all graph optimizations. **PyTorch**: eager, "
        "channels-last, `torch.inference_mode()`, `torch.set_num_threads`." % info["ort"])
    add("- **multi-branch** is the train-time network (3x3 + 1x1 + identity branches) in eval mode: "
        "what re-parameterization saves. Its ONNX export folds each BatchNorm into its convolution "
        "(torch.onnx's eval-mode peephole) but keeps the three branches and the additions.")
    add("- **floor** = GFLOP / measured FMA peak for that many threads: no direct convolution can beat "
        "it. Winograd (rvgg's default) does fewer multiplications than the GFLOP counted here, so it "
        "can come closer to the floor, or in principle pass it.")
    add("")
    add("## Results")
    add("")
    add("![latency per variant and runtime](%s)" % os.path.relpath(plot, os.path.dirname(path)))
    add("")
    for threads in thread_list:
        keys = [k for k, _ in RUNTIMES if k in results[variants[0]][str(threads)]["times"]]
        add("### %d thread%s (median ms; x = time / rvgg's time)" % (threads, "" if threads == 1 else "s"))
        add("")
        add("| variant | GFLOP | floor | " + " | ".join(LABEL[k] for k in keys) + " |")
        add("|---|---:|---:|" + "---:|" * len(keys))
        for v in variants:
            r = results[v][str(threads)]["times"]
            base = r["rvgg"]["median_ms"]
            floor = results[v]["gflop"] / peaks[str(threads)] * 1000
            cells = []
            for k in keys:
                ms = r[k]["median_ms"]
                cells.append(fmt_ms(ms) + ("" if k == "rvgg" else " (x%.2f)" % (ms / base)))
            add("| %s | %.2f | %s | %s |" % (v, results[v]["gflop"], fmt_ms(floor), " | ".join(cells)))
        add("")
        add("rvgg at the median, in effective GFLOP/s (direct-convolution FLOPs over time; Winograd "
            "executes fewer): " + ", ".join(
            "%s %.1f GFLOP/s (%.0f%% of the measured peak)" % (
                v, results[v]["gflop"] / results[v][str(threads)]["times"]["rvgg"]["median_ms"] * 1000,
                100 * results[v]["gflop"] / results[v][str(threads)]["times"]["rvgg"]["median_ms"] * 1000
                / peaks[str(threads)]) for v in variants) + ".")
        add("")
    if "xnnpack" in args.runtimes:
        direct = "rvgg_direct" if "rvgg_direct" in args.runtimes else "rvgg"
        add("### rvgg against raw XNNPACK")
        add("")
        add("The goal: rvgg's median within 5%% of the same XNNPACK operators called in a bare loop. "
            "The floor program creates XNNPACK's own convolutions, so the comparison is with %s "
            "(`--winograd off`, the same operators); rvgg's Winograd layers are compared with the "
            "peers in the next table." % LABEL[direct])
        add("")
        add("| variant | threads | %s ms | XNNPACK raw ms | ratio | within 5%% |" % LABEL[direct])
        add("|---|---:|---:|---:|---:|---|")
        for v in variants:
            for threads in thread_list:
                r = results[v][str(threads)]["times"]
                ratio = r[direct]["median_ms"] / r["xnnpack"]["median_ms"]
                add("| %s | %d | %s | %s | %.3f | %s |" % (v, threads, fmt_ms(r[direct]["median_ms"]),
                                                        fmt_ms(r["xnnpack"]["median_ms"]), ratio,
                                                        "yes" if ratio <= 1.05 else "**no**"))
        add("")
    if "ort_fused" in args.runtimes:
        add("### rvgg against ONNX Runtime")
        add("")
        add("rvgg's median over ONNX Runtime's, the same fused weights, interleaved in this run "
            "(the Winograd goal for A0 at 1 thread: at most 0.8).")
        add("")
        add("| variant | threads | rvgg ms | ORT fused ms | rvgg / ORT |")
        add("|---|---:|---:|---:|---:|")
        for v in variants:
            for threads in thread_list:
                r = results[v][str(threads)]["times"]
                add("| %s | %d | %s | %s | %.2f |" % (v, threads, fmt_ms(r["rvgg"]["median_ms"]),
                                                     fmt_ms(r["ort_fused"]["median_ms"]),
                                                     r["rvgg"]["median_ms"] / r["ort_fused"]["median_ms"]))
        add("")
    add("### Spread")
    add("")
    add("Per-repetition medians (ms), to judge the noise:")
    add("")
    add("| variant | threads | runtime | repetition medians | min..max of all runs |")
    add("|---|---:|---|---|---|")
    for v in variants:
        for threads in thread_list:
            for k, r in results[v][str(threads)]["times"].items():
                add("| %s | %d | %s | %s | %s..%s |" % (v, threads, LABEL[k],
                                                       " ".join(fmt_ms(x) for x in r["rep_medians_ms"]),
                                                       fmt_ms(r["min_ms"]), fmt_ms(r["max_ms"])))
    add("")
    add("### Same logits")
    add("")
    add("max |logit - PyTorch fused logit| for one random image, before timing (the run stops when one "
        "exceeds %g x max(1, max |logit|)):" % args.tolerance)
    add("")
    check_keys = ["rvgg", "ort_fused", "torch_train", "ort_train"]
    add("| variant | max abs logit | " + " | ".join(LABEL[k] for k in check_keys) + " | same top-1 |")
    add("|---|---:|" + "---:|" * len(check_keys) + "---|")
    for v in variants:
        c = results[v]["check"]
        add("| %s | %.3g | %s | %s |" % (v, c["max_abs_logit"],
                                        " | ".join("%.2g" % c["diffs"][k] for k in check_keys),
                                        "yes" if c["same_top1"] else "no"))
    add("")
    if per_layer:
        add("### rvgg per layer (%s)" % per_layer["title"])
        add("")
        add("```")
        add("$ " + per_layer["cmd"])
        add(per_layer["text"].rstrip())
        add("```")
        add("")
    for extra in args.include:
        if os.path.exists(extra):
            add(open(extra).read().strip())
            add("")
    if args.notes and os.path.exists(args.notes):
        add("## Analysis")
        add("")
        add("Hand-written (`%s`, included verbatim); check it still matches the numbers above after a "
            "rerun." % rel(os.path.abspath(args.notes)))
        add("")
        add(open(args.notes).read().strip())
        add("")
    add("## Commands")
    add("")
    add("The whole run (%.0f s end to end, including model preparation):" % elapsed)
    add("")
    add("```")
    add("$ " + commands["compare"])
    add("```")
    add("")
    add("What it runs for each variant, threads T, repetition:")
    add("")
    add("```")
    for c in commands["per_rep"]:
        add(c)
    add("```")
    add("")
    add("Built at benchmark time:")
    add("")
    add("```")
    for c in commands["build"]:
        add(c)
    add("```")
    add("")
    # The multi-core scaling section (tools/bench/scaling.py) is measured by
    # its own run: keep it.
    begin, end = "<!-- scaling:begin -->", "<!-- scaling:end -->"
    old = open(path).read() if os.path.exists(path) else ""
    if begin in old and end in old:
        add(old[old.index(begin):old.index(end) + len(end)])
        add("")
    with open(path, "w") as fh:
        fh.write("\n".join(L))


# ---------------------------------------------------------------------------------------- main

def main():
    start = time.time()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "host"),
                    help="rvgg build folder (default: the host preset's, build/host)")
    ap.add_argument("--variants", default="A0,A1,B0")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--reps", type=int, default=5, help="round-robin repetitions")
    ap.add_argument("--runs", type=int, default=5, help="timed inferences per runtime per repetition")
    ap.add_argument("--warmup", type=int, default=2, help="untimed inferences before each batch")
    ap.add_argument("--winograd", default=None, help="passed to rvgg-bench (off|auto|2|4|6)")
    ap.add_argument("--runtimes", default=",".join(k for k, _ in RUNTIMES),
                    help="subset of: " + ",".join(k for k, _ in RUNTIMES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tolerance", type=float, default=1e-3)
    ap.add_argument("--report", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--plot", default=os.path.join(ROOT, "docs", "benchmarks-latency.png"))
    ap.add_argument("--notes", default=os.path.join(HERE, "notes.md"),
                    help="hand-written analysis included in the report ('' for none)")
    ap.add_argument("--include", action="append",
                    default=[os.path.join(HERE, n) for n in ("winograd.md", "arm.md", "fp16_goldens.md")],
                    help="markdown written elsewhere (tools/bench/winograd_report.py, arm_report.py, "
                    "fp16_goldens.py) to include")
    ap.add_argument("--json", default=None, help="also write the raw results here "
                    "(default BUILD/bench/results.json)")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    variants = args.variants.split(",")
    thread_list = [int(t) for t in args.threads.split(",")]
    args.runtimes = args.runtimes.split(",")
    if "rvgg" not in args.runtimes:
        die("--runtimes must include rvgg (ratios are against it)")
    work = os.path.join(args.build, "bench")
    os.makedirs(work, exist_ok=True)

    bench, convert, run_tool = (tool(args.build, n) for n in ["rvgg-bench", "rvgg-convert", "rvgg-run"])
    modules = npm_install(work)
    helpers = compile_helpers(args.build, work)
    info = machine_info()
    # The peak is re-measured before every variant and at the end; the best value counts (other
    # work on the machine can only lower it).
    peaks = {}
    peak_samples = {str(t): [] for t in sorted(set([1] + thread_list))}

    def sample_peaks():
        for t in peak_samples:
            peak_samples[t].append(fma_peak(helpers, int(t)))
            peaks[t] = max(peak_samples[t])

    sample_peaks()
    info["fma_vector"] = json.loads(run([helpers["fma"], "--ms", "20"]))["vector_floats"]
    log("FMA peak GFLOP/s:", peaks)
    info["commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip() or "?"

    models = {v: prepare_models(args, v, convert, work) for v in variants}

    torch_cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_worker.py")]
    ort_cmd = ["node", os.path.join(HERE, "ort_worker.js"), modules]
    torch_w = Worker("PyTorch", torch_cmd)
    ort_w = Worker("ONNX Runtime", ort_cmd)
    results = {}
    isa = "?"
    for v in variants:
        f = models[v]
        sample_peaks()
        for kind in ["fused", "train"]:
            info["torch"] = torch_w.ask(cmd="load", key=kind, variant=v, kind=kind,
                                        state=f[kind + "_pt"], size=args.size)["torch"]
            for t in thread_list:
                r = ort_w.ask(cmd="load", key="%s-%d" % (kind, t), path=f[kind + "_onnx"], threads=t,
                              shape=[1, 3, args.size, args.size])
                info["ort"] = r["version"]["node"]
        gflop = 2 * json.loads(run([bench, f["rvgg"], "--json", "--runs", "1", "--warmup", "0"]))["macs"] / 1e9
        results[v] = {"gflop": gflop, "check": check_logits(args, v, f, work, run_tool, torch_w, ort_w)}
        for t in thread_list:
            times, isa = time_variant(args, v, f, bench, helpers, torch_w, ort_w, t)
            results[v][str(t)] = {"times": times}
        for kind in ["fused", "train"]:
            torch_w.ask(cmd="unload", key=kind)
            for t in thread_list:
                ort_w.ask(cmd="unload", key="%s-%d" % (kind, t))
    torch_w.close()
    ort_w.close()
    info["isa"] = isa

    # A per-layer view of rvgg on the first variant, single thread.
    v0 = variants[0]
    pl_cmd = [bench, models[v0]["rvgg"], "--per-layer", "--runs", str(max(args.runs, 10)),
              "--threads", "1"] + (["--winograd", args.winograd] if args.winograd else [])
    per_layer = {"title": "RepVGG-%s, 1 thread" % v0, "cmd": " ".join(rel(c) if c.startswith(ROOT) else c
                                                                   for c in pl_cmd),
                 "text": run(pl_cmd).replace(ROOT + "/", "")}
    sample_peaks()
    log("FMA peak GFLOP/s samples:", peak_samples)
    info["peak_samples"] = peak_samples
    info["loadavg_end"] = open("/proc/loadavg").read().split()[:3]

    elapsed = time.time() - start
    wg = (" --winograd " + args.winograd) if args.winograd else ""
    commands = {
        "compare": "/usr/bin/python3 " + " ".join([rel(sys.argv[0]) if os.path.isabs(sys.argv[0])
                                                   else sys.argv[0]] + sys.argv[1:]),
        "per_rep": [
            "%s MODEL.rvgg --json --threads T --runs %d --warmup %d%s" % (rel(bench), args.runs,
                                                                          args.warmup, wg),
            "%s MODEL.rvgg --threads T --runs %d --warmup %d" % (rel(helpers["floor"]), args.runs,
                                                                 args.warmup),
            "%s   # workers, asked over stdin for %d warm-up + %d timed runs"
            % (" ; ".join(" ".join(rel(c) if c.startswith(ROOT) else c for c in cmd)
                          for cmd in [ort_cmd, torch_cmd]), args.warmup, args.runs),
        ],
        "build": [" ".join(rel(c) if c.startswith(ROOT) else c for c in helpers["fma_cmd"]),
                  " ".join(rel(c) if c.startswith(ROOT) else c for c in helpers["floor_cmd"]),
                  "npm install --ignore-scripts --prefix %s onnxruntime-node@%s" % (rel(work), ORT_VERSION),
                  "rvgg-convert fused.pth -o model.rvgg --input-size %d   # per variant" % args.size],
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    write_plot(args.plot, results, variants, thread_list, peaks, args.size)
    write_report(args.report, args.plot, args, info, peaks, results, variants, thread_list, commands,
                 elapsed, per_layer)
    out_json = args.json or os.path.join(work, "results.json")
    with open(out_json, "w") as fh:
        json.dump({"info": info, "peaks": peaks, "results": results, "elapsed_s": elapsed}, fh, indent=1)

    # The table on stdout too.
    for t in thread_list:
        keys = [k for k, _ in RUNTIMES if k in results[variants[0]][str(t)]["times"]]
        print("\n%d thread%s: median ms (x rvgg)" % (t, "" if t == 1 else "s"))
        print("%-8s %8s" % ("variant", "floor") + "".join("%22s" % LABEL[k] for k in keys))
        for v in variants:
            r = results[v][str(t)]["times"]
            base = r["rvgg"]["median_ms"]
            print("%-8s %8.1f" % (v, results[v]["gflop"] / peaks[str(t)] * 1000) + "".join(
                "%22s" % ("%.1f (x%.2f)" % (r[k]["median_ms"], r[k]["median_ms"] / base)) for k in keys))
    print("\nwrote %s, %s, %s in %.0f s" % (rel(args.report), rel(args.plot), out_json, elapsed))


if __name__ == "__main__":
    main()

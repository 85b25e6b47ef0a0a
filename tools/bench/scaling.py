#!/usr/bin/python3
"""rvgg's multi-core scaling, measured in one run, and the scaling section of docs/benchmarks.md.

    /usr/bin/python3 tools/bench/scaling.py [--build build/host] [--variants A0,A1,B0]
                                            [--threads 2] [--reps 7] [--runs 20] [--warmup 3]
                                            [--no-ort] [--report docs/benchmarks.md]

For each variant (the models tools/bench/compare.py builds: random weights, fused, converted and
exported to ONNX, cached under BUILD/bench/models) it times, interleaved, per repetition in a
rotating order: rvgg-bench --json at 1 and N threads (one process each, as users run it) and
ONNX Runtime 1.30 (onnxruntime-node, the fused ONNX model) at 1 and N threads. A number is the
median over repetitions of the per-repetition medians. Then rvgg-bench --per-layer on the first
variant at 1 and N threads, interleaved, median per layer over the repetitions.

Printed and written (between the <!-- scaling --> markers of the report, which compare.py keeps):
parallel efficiency t(1) / (N x t(N)) per variant, rvgg / ORT at 1 and N threads (both also
paired: the ratio within each repetition, median and range over the repetitions), the per-layer
table, and the conditions: the load average before and after, and the CPU time the rvgg process
used against its wall time over its timed runs at N threads (rvgg-bench's cpu_per_wall: near N
when its threads never waited for a core, lower when other work took one; a virtual CPU that its
host takes away can still count as busy).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import compare  # noqa: E402

BEGIN, END = "<!-- scaling:begin -->", "<!-- scaling:end -->"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "host"))
    ap.add_argument("--variants", default="A0,A1,B0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-ort", action="store_true", help="rvgg only (no npm, no ONNX Runtime)")
    ap.add_argument("--report", default=os.path.join(ROOT, "docs", "benchmarks.md"),
                    help="markdown file whose scaling section is replaced ('' for none)")
    ap.add_argument("--json", default=None, help="also write the raw results here")
    args = ap.parse_args()
    variants = args.variants.split(",")
    n = args.threads
    work = os.path.join(args.build, "bench")
    os.makedirs(work, exist_ok=True)
    bench = compare.tool(args.build, "rvgg-bench")
    load_before = os.getloadavg()
    started = time.time()

    models = {}
    if not all(os.path.exists(os.path.join(work, "models", "%s-%d-seed%d" % (v, args.size, args.seed),
                                           "model.rvgg")) for v in variants) or not args.no_ort:
        convert = compare.tool(args.build, "rvgg-convert")
    for v in variants:
        d = os.path.join(work, "models", "%s-%d-seed%d" % (v, args.size, args.seed))
        if args.no_ort and os.path.exists(os.path.join(d, "model.rvgg")):
            models[v] = {"rvgg": os.path.join(d, "model.rvgg")}
        else:
            models[v] = compare.prepare_models(args, v, convert, work)

    ort = None
    if not args.no_ort:
        modules = compare.npm_install(work)
        ort = compare.Worker("ONNX Runtime", ["node", os.path.join(HERE, "ort_worker.js"), modules])

    def rvgg(model, threads, per_layer=False):
        cmd = [bench, model, "--json", "--threads", str(threads), "--runs", str(args.runs),
               "--warmup", str(args.warmup)] + (["--per-layer"] if per_layer else [])
        return json.loads(compare.run(cmd))

    results = {}
    for v in variants:
        f = models[v]
        keys = ["rvgg-1", "rvgg-%d" % n]
        if ort is not None:
            for t in (1, n):
                ort.ask(cmd="load", key="fused-%d" % t, path=f["fused_onnx"], threads=t,
                        shape=[1, 3, args.size, args.size])
            keys += ["ort-1", "ort-%d" % n]
        med = {k: [] for k in keys}
        cpu_ratio = []
        for rep in range(args.reps):
            order = keys[rep % len(keys):] + keys[:rep % len(keys)]
            for k in order:
                runtime, t = k.split("-")
                if runtime == "rvgg":
                    r = rvgg(f["rvgg"], int(t))
                    med[k].append(statistics.median(r["times_ms"]))
                    if int(t) == n:
                        cpu_ratio.append(r["cpu_per_wall"])
                else:
                    times = ort.ask(cmd="time", key="fused-%s" % t, runs=args.runs,
                                    warmup=args.warmup)["times_ms"]
                    med[k].append(statistics.median(times))
            compare.log("%s rep %d/%d: %s" % (v, rep + 1, args.reps, "  ".join(
                "%s %.2f" % (k, med[k][-1]) for k in keys)))
        if ort is not None:
            for t in (1, n):
                ort.ask(cmd="unload", key="fused-%d" % t)
        results[v] = {k: {"median_ms": statistics.median(x), "rep_medians_ms": x}
                      for k, x in med.items()}
        results[v]["cpu_over_wall"] = statistics.median(cpu_ratio)
    if ort is not None:
        ort.close()

    # Per layer, first variant, interleaved 1 and n threads.
    v0 = variants[0]
    layers = None
    per = {1: [], n: []}
    for rep in range(args.reps):
        for t in ((1, n) if rep % 2 == 0 else (n, 1)):
            r = rvgg(models[v0]["rvgg"], t, per_layer=True)
            per[t].append([layer["ms"] for layer in r["layers"]])
            if layers is None:
                layers = [(layer["name"], layer["type"], layer["output"], layer["kernel"])
                          for layer in r["layers"]]
    per_med = {t: [statistics.median(col) for col in zip(*rows)] for t, rows in per.items()}
    load_after = os.getloadavg()
    elapsed = time.time() - started

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    lines = [BEGIN, "## Multi-core scaling", ""]
    lines.append("Written by `/usr/bin/python3 tools/bench/scaling.py%s` at commit %s, %s UTC, %d "
                 "repetitions of %d runs, %.0f s; load average %.2f before, %.2f after (the machine "
                 "has %d cores and is shared: other work in the run shows as CPU/wall below %d)."
                 % ("" if args.variants == "A0,A1,B0" else " --variants " + args.variants,
                    commit, time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)), args.reps,
                    args.runs, elapsed, load_before[0], load_after[0], os.cpu_count(), n))
    lines += ["", "Parallel efficiency = t(1) / (%d x t(%d)); rvgg / ORT = rvgg's median over ONNX "
              "Runtime's (fused model, interleaved in this run). CPU/wall: CPU time of the rvgg "
              "process at %d threads over the wall time of its timed runs. *Paired*: the same "
              "ratios taken within each repetition (whose runs are at most seconds apart), "
              "median and range over the repetitions: a slow or fast spell of the shared "
              "machine then moves both sides of a ratio alike instead of one median."
              % (n, n, n), ""]
    head = ("| variant | rvgg 1 thread ms | rvgg %d threads ms | speed-up | efficiency | "
            "efficiency paired | CPU/wall |" % n)
    sep = "|---|---|---|---|---|---|---|"
    if ort is not None:
        head += (" ORT 1 ms | ORT %d ms | ORT speed-up | rvgg / ORT 1 | rvgg / ORT %d | "
                 "rvgg / ORT %d paired |" % (n, n, n))
        sep += "---|---|---|---|---|---|"
    lines += [head, sep]

    def paired(a, b, scale=1.0):
        # Median (min-max) over repetitions of a_r / (scale x b_r).
        x = [p / (scale * q) for p, q in zip(a, b)]
        return "%.2f (%.2f-%.2f)" % (statistics.median(x), min(x), max(x))

    for v in variants:
        r = results[v]
        t1, tn = r["rvgg-1"]["median_ms"], r["rvgg-%d" % n]["median_ms"]
        r1, rn = r["rvgg-1"]["rep_medians_ms"], r["rvgg-%d" % n]["rep_medians_ms"]
        row = "| %s | %.2f | %.2f | %.2fx | %.2f | %s | %.2f |" % (
            v, t1, tn, t1 / tn, t1 / (n * tn), paired(r1, rn, n), r["cpu_over_wall"])
        if ort is not None:
            o1, on = r["ort-1"]["median_ms"], r["ort-%d" % n]["median_ms"]
            row += " %.2f | %.2f | %.2fx | %.2f | %.2f | %s |" % (
                o1, on, o1 / on, t1 / o1, tn / on, paired(rn, r["ort-%d" % n]["rep_medians_ms"]))
        lines.append(row)
    lines += ["", "Per layer, RepVGG-%s (rvgg-bench --per-layer, median over the repetitions):" % v0,
              "", "| # | layer | type | output | kernel | 1 thread ms | %d threads ms | speed-up |" % n,
              "|---|---|---|---|---|---|---|---|"]
    for i, (name, kind, output, kernel) in enumerate(layers):
        a, b = per_med[1][i], per_med[n][i]
        lines.append("| %d | %s | %s | %s | %s | %.3f | %.3f | %s |" % (
            i, name, kind, output, kernel, a, b, "%.2fx" % (a / b) if b > 0 else "-"))
    s1, sn = sum(per_med[1]), sum(per_med[n])
    lines.append("| | sum | | | | %.3f | %.3f | %.2fx |" % (s1, sn, s1 / sn))
    lines.append(END)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": results, "per_layer": per_med, "layers": layers,
                       "load": [load_before, load_after]}, fh, indent=1)
    if args.report:
        old = open(args.report).read() if os.path.exists(args.report) else ""
        if BEGIN in old and END in old:
            new = old[:old.index(BEGIN)] + text.rstrip("\n") + old[old.index(END) + len(END):]
        else:
            new = old.rstrip("\n") + "\n\n" + text
        with open(args.report, "w") as fh:
            fh.write(new)
        compare.log("wrote the scaling section of", compare.rel(args.report))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Fits the x86 Winograd cost model (runtime/src/ops/winograd/cost.cc,
GetCostModel() for rvgg's own GEMM) to per-tile layer times, and checks the
shipped model's picks against the fastest measured tile per layer.

    /usr/bin/python3 tools/bench/winograd_fit.py [--build build/host] [--reps 15]

Runs BUILD/bin/rvgg-winograd-tiles (every tile of every distinct RepVGG-A0
3x3 layer, weights cold in cache) and least-squares fits

    ms = a * gemm_macs + b * transform_floats + c * weight_bytes

where gemm_macs counts rows as the 6-row kernel runs them (a partial last
block at least 3 rows), transform_floats = tiles * positions * (5 * in_c +
4 * out_c) (channels padded to 16) and weight_bytes the packed transformed
weights. The model's constants are b / a * (5, 4) per float and c / a per
byte, in the GEMM's multiply-accumulates; the direct convolution's factor is
its ms per multiply-accumulate over a.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def positions(stride, m):
    return m + 2 if stride == 1 else 2 * m + 1


def round_up(v, to):
    return (v + to - 1) // to * to


def features(r):
    s = r["stride"]
    oh, ow = (r["h"] - 1) // s + 1, (r["w"] - 1) // s + 1
    tiles = ((oh + r["rows"] - 1) // r["rows"]) * ((ow + r["cols"] - 1) // r["cols"])
    p = positions(s, r["rows"]) * positions(s, r["cols"])
    # Rows as the kernel runs them: its register block (mr rows, a partial
    # last block costing at least a third of it), per block of the
    # tile-blocked pass when the layer runs it.
    mr = r.get("mr", 6) or 6
    low = {6: 3, 12: 4}.get(mr, 1)

    def rounded(m):
        rest = m % mr
        return m - rest + (max(rest, low) if rest else 0)

    block = r.get("block", 0)
    if block:
        rows = tiles // block * rounded(block) + (rounded(tiles % block) if tiles % block else 0)
    else:
        rows = rounded(tiles)
    n = round_up(r["out_c"], 16)
    gemm = rows * p * r["in_c"] * n
    transform = tiles * p * (5 * round_up(r["in_c"], 16) + 4 * n)
    weights = p * r["in_c"] * n * 4
    return [gemm, transform, weights]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "host"))
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    tool = os.path.join(args.build, "bin", "rvgg-winograd-tiles")
    if not os.path.exists(tool):
        sys.exit("winograd_fit: %s not found; build the host preset first" % tool)
    out = subprocess.run([tool, "--reps", str(args.reps)], check=True, capture_output=True,
                         text=True).stdout
    runs = [json.loads(line) for line in out.splitlines() if line.strip()]
    tiled = [r for r in runs if r["kernel"] == "winograd"]
    x = np.array([features(r) for r in tiled], dtype=float)
    y = np.array([r["ms"] for r in tiled])
    coef, _, _, _ = np.linalg.lstsq(x, y, rcond=None)
    err = np.abs(x @ coef - y) / y
    a = coef[0]
    print("fit over %d tiled runs: mean relative error %.3f, max %.3f" %
          (len(tiled), err.mean(), err.max()))
    print("  GEMM: %.1f G multiply-accumulates per second" % (1e-6 / a))
    print("  input transform %.1f, output transform %.1f per float; weights %.2f per byte"
          % (5 * coef[1] / a, 4 * coef[1] / a, coef[2] / a))
    direct = [r for r in runs if r["kernel"] == "xnnpack"]
    gemm_direct = [r for r in runs if r["kernel"] == "gemm-direct"]
    factors, gemm_factors = [], []
    for r in gemm_direct:
        s = r["stride"]
        macs = ((r["h"] - 1) // s + 1) * ((r["w"] - 1) // s + 1) * 9 * r["in_c"] * r["out_c"]
        gemm_factors.append(r["ms"] / macs / a)
    for r in direct:
        s = r["stride"]
        macs = ((r["h"] - 1) // s + 1) * ((r["w"] - 1) // s + 1) * 9 * r["in_c"] * r["out_c"]
        factors.append(r["ms"] / macs / a)
    print("  direct convolution: %.2f (median over %d layers)" %
          (float(np.median(factors)), len(factors)))
    if gemm_factors:
        print("  direct convolution on rvgg's GEMM: %.2f (median over %d layers)" %
              (float(np.median(gemm_factors)), len(gemm_factors)))
    print("\nthe shipped model's pick per layer against the fastest measured tile:")
    lost = 0.0
    layers = {}
    for r in runs:
        layers.setdefault((r["h"], r["w"], r["in_c"], r["out_c"], r["stride"]), []).append(r)
    for key, rs in layers.items():
        best = min(rs, key=lambda r: r["ms"])
        pick = min(rs, key=lambda r: r["estimate"])
        lost += pick["ms"] - best["ms"]
        name = lambda r: r["kernel"] if r["kernel"] != "winograd" else "%dx%d" % (r["rows"], r["cols"])
        print("  %dx%dx%d -> %d stride %d: fastest %s %.3f ms, picked %s %.3f ms" %
              (key + (name(best), best["ms"], name(pick), pick["ms"])))
    print("time lost to the model's picks, summed over these layers: %.3f ms" % lost)


if __name__ == "__main__":
    main()

"""rvgg-bench driven as a user would: the JSON report parses and holds its fields, the
per-layer table adds up, and bad flags or models fail with one clear line.

No timing is asserted (the machine may be loaded); only the shape and the internal
consistency of the reports.

    rvgg_bench_test.py --convert rvgg-convert --bench rvgg-bench --work DIR
"""

import argparse
import json
import os
import subprocess
import sys
import unittest

ARGS = None
MODEL = None  # synthetic RepVGG-A0 at 32x32
MODEL_96 = None  # the same at 96x96: large enough that AUTO picks Winograd on every CPU's cost model
NUM_LAYERS = 1 + 2 + 4 + 14 + 1 + 2  # 22 fused convs, global pool, classifier


def bench(*flags):
    return subprocess.run([ARGS.bench, *flags], capture_output=True, text=True, timeout=600)


def setUpModule():
    global MODEL, MODEL_96
    os.makedirs(ARGS.work, exist_ok=True)
    MODEL = os.path.join(ARGS.work, "a0-32.rvgg")
    MODEL_96 = os.path.join(ARGS.work, "a0-96.rvgg")
    for path, size in ((MODEL, "32"), (MODEL_96, "96")):
        if not os.path.exists(path):
            subprocess.run([ARGS.convert, "--synthetic", "A0", "--input-size", size, "--seed", "7",
                            "-o", path], check=True, capture_output=True, timeout=600)


class JsonReport(unittest.TestCase):
    def run_json(self, *flags, model=None):
        p = bench(model or MODEL, "--json", *flags)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        lines = p.stdout.strip().splitlines()
        self.assertEqual(len(lines), 1, "exactly one JSON object on stdout: " + p.stdout)
        return json.loads(lines[0])

    def test_fields_and_values(self):
        r = self.run_json("--runs", "5", "--warmup", "1")
        for key, kind in [("model", str), ("threads", int), ("runs", int), ("median_ms", float),
                          ("min_ms", float), ("max_ms", float), ("gflop", float), ("gflops", float),
                          ("isa", str), ("backend", str), ("winograd", str), ("macs", int),
                          ("times_ms", list), ("cpu_per_wall", float)]:
            self.assertIn(key, r)
            self.assertIsInstance(r[key], (int, float) if kind is float else kind, key)
        self.assertEqual(r["model"], MODEL)
        self.assertEqual(r["architecture"], "RepVGG-A0")
        self.assertEqual(r["input"], [32, 32, 3])
        self.assertEqual(r["threads"], 1)
        self.assertEqual(r["runs"], 5)
        self.assertEqual(r["warmup"], 1)
        self.assertEqual(r["backend"], "xnnpack")
        self.assertEqual(r["winograd"], "auto")
        self.assertNotEqual(r["isa"], "")
        self.assertEqual(len(r["times_ms"]), 5)
        times = sorted(r["times_ms"])
        self.assertAlmostEqual(r["min_ms"], times[0], places=3)
        self.assertAlmostEqual(r["max_ms"], times[-1], places=3)
        self.assertAlmostEqual(r["median_ms"], times[2], places=3)
        self.assertGreater(r["min_ms"], 0)
        self.assertAlmostEqual(r["gflop"], 2 * r["macs"] / 1e9, delta=1e-5 * r["gflop"])
        self.assertAlmostEqual(r["gflops"], r["gflop"] / (r["median_ms"] / 1000),
                               delta=1e-4 * r["gflops"])
        self.assertNotIn("layers", r)
        # One thread: the process's CPU time over the timed runs' wall time
        # cannot pass one core (clock granularity allowed for).
        self.assertGreater(r["cpu_per_wall"], 0)
        self.assertLess(r["cpu_per_wall"], 1.5)

    def test_options_pass_through(self):
        r = self.run_json("--runs", "2", "--threads", "2", "--winograd", "off")
        self.assertEqual(r["threads"], 2)
        self.assertEqual(r["winograd"], "off")
        r = self.run_json("--runs", "1", "--warmup", "0", "--backend", "reference")
        self.assertEqual(r["backend"], "reference")
        self.assertEqual(len(r["times_ms"]), 1)

    def test_winograd_budget_bounds_the_choice(self):
        unlimited = self.run_json("--runs", "1", "--per-layer", model=MODEL_96)
        kernels = [l["kernel"] for l in unlimited["layers"]]
        self.assertTrue(any(k.startswith("winograd") for k in kernels), kernels)
        tiny = self.run_json("--runs", "1", "--per-layer", "--winograd-budget", "1", model=MODEL_96)
        kernels = [l["kernel"] for l in tiny["layers"]]
        self.assertFalse(any(k.startswith("winograd") for k in kernels), kernels)
        self.assertEqual(tiny["winograd"], "auto")

    def test_per_layer_adds_up(self):
        for backend in ["xnnpack", "reference"]:
            with self.subTest(backend=backend):
                r = self.run_json("--runs", "3", "--per-layer", "--backend", backend)
                layers = r["layers"]
                self.assertEqual(len(layers), NUM_LAYERS)
                self.assertEqual([l["index"] for l in layers], list(range(NUM_LAYERS)))
                self.assertEqual(layers[0]["name"], "stage0")
                self.assertEqual(layers[0]["type"], "conv3x3/s2")
                self.assertEqual(layers[0]["input"], "32x32x3")
                self.assertEqual(layers[0]["output"], "16x16x48")
                self.assertEqual(layers[-2]["type"], "avgpool")
                self.assertEqual(layers[-1]["type"], "fc")
                self.assertEqual(layers[-1]["output"], "1x1x1000")
                self.assertEqual(sum(l["macs"] for l in layers), r["macs"])
                for l in layers:
                    self.assertGreaterEqual(l["ms"], 0)
                    self.assertNotEqual(l["kernel"], "")
                    if backend == "reference":
                        self.assertEqual(l["kernel"], "reference")
                self.assertAlmostEqual(sum(l["ms"] for l in layers), r["layers_total_ms"],
                                       delta=1e-3 + 1e-4 * r["layers_total_ms"])
                self.assertAlmostEqual(sum(l["percent"] for l in layers), 100.0, delta=0.01)
                # Each layer's median is at most twice its mean (times are >= 0), so the
                # sum of the medians is at most twice the mean run: a bound, not a timing.
                mean = sum(r["times_ms"]) / len(r["times_ms"])
                self.assertLessEqual(r["layers_total_ms"], 2 * mean + 1e-3)


class TextReport(unittest.TestCase):
    def test_summary_and_table(self):
        p = bench(MODEL, "--runs", "3", "--per-layer")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        for word in ["median", "GFLOP/s", "kernel ISA", "RepVGG-A0", "stage3.13", "classifier",
                     "xnnpack"]:
            self.assertIn(word, out)
        rows = [l for l in out.splitlines() if l.strip().split(" ")[0].isdigit()]
        self.assertEqual(len(rows), NUM_LAYERS)
        pct = sum(float(l.split()[7]) for l in rows)  # idx name type in -> out ms %
        self.assertAlmostEqual(pct, 100.0, delta=0.1 * NUM_LAYERS)

    def test_help(self):
        p = bench("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: rvgg-bench", p.stdout)


class Failures(unittest.TestCase):
    def check_fails(self, flags, needle):
        p = bench(*flags)
        self.assertNotEqual(p.returncode, 0, flags)
        self.assertEqual(p.stdout, "", flags)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("rvgg-bench: error: "), lines[0])
        self.assertIn(needle, lines[0])

    def test_bad_flags(self):
        cases = [
            ([MODEL, "--runs", "0"], "--runs expects a whole number"),
            ([MODEL, "--runs", "ten"], "'ten'"),
            ([MODEL, "--runs"], "--runs needs a value"),
            ([MODEL, "--warmup", "-1"], "--warmup expects"),
            ([MODEL, "--threads", "0"], "--threads expects"),
            ([MODEL, "--backend", "gpu"], "--backend expects xnnpack or reference"),
            ([MODEL, "--winograd", "3"], "--winograd expects"),
            ([MODEL, "--winograd-budget", "12Q"], "--winograd-budget expects a byte count"),
            ([MODEL, "--winograd-budget", "-5"], "'-5'"),
            ([MODEL, "--winograd-budget", "99999999999999999999G"], "--winograd-budget expects"),
            ([MODEL, "--fast"], "unknown option '--fast'"),
            ([MODEL, MODEL], "unexpected argument"),
            ([], "no model given"),
        ]
        for flags, needle in cases:
            with self.subTest(flags=flags):
                self.check_fails(flags, needle)

    def test_bad_models(self):
        missing = os.path.join(ARGS.work, "missing.rvgg")
        garbage = os.path.join(ARGS.work, "garbage.rvgg")
        with open(garbage, "wb") as f:
            f.write(b"RVGG" + bytes(range(256)) * 4)
        truncated = os.path.join(ARGS.work, "truncated.rvgg")
        with open(MODEL, "rb") as f:
            head = f.read(4096)
        with open(truncated, "wb") as f:
            f.write(head)
        self.check_fails([missing, "--json"], "No such file")
        self.check_fails([ARGS.work, "--json"], "is a directory")
        self.check_fails([garbage, "--json"], "invalid model")
        self.check_fails([truncated, "--json"], "invalid model")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--convert", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--work", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])

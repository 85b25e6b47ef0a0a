"""rvgg-info on the device it reports for (host, and aarch64/armv7 under qemu): the header and the
layer table describe the model, the kernels follow the options (backend, Winograd), the memory lines
add up, and bad models or flags fail with one clear line.

    rvgg_info_test.py --convert HOST_RVGG_CONVERT --info rvgg-info [--emulator CMD] --work DIR
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import unittest

ARGS = None
MODEL = None  # synthetic RepVGG-A0 at 32x32
NUM_LAYERS = 1 + 2 + 4 + 14 + 1 + 2  # 22 fused convs, global pool, classifier
ROW = re.compile(r"^\s+(\d+)\s+(\S+)\s+(conv|avgpool|fc|se)\s+(\S+)\s+(\d+)\s+(\d+)\s+(fp32|fp16|int8)\s+"
                 r"(\d+x\d+x\d+)\s+(\d+x\d+x\d+)\s+(\d+)\s+([\d.]+)\s+(.+?)\s+(\d+)$")


def info(*args):
    cmd = shlex.split(ARGS.emulator) + [ARGS.info, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def rows(stdout):
    return [ROW.match(line) for line in stdout.splitlines() if ROW.match(line)]


def setUpModule():
    global MODEL
    os.makedirs(ARGS.work, exist_ok=True)
    MODEL = os.path.join(ARGS.work, "a0-32.rvgg")
    if not os.path.exists(MODEL):
        subprocess.run([ARGS.convert, "--synthetic", "A0", "--input-size", "32", "--seed", "3",
                        "-o", MODEL], check=True, capture_output=True, timeout=600)


class Report(unittest.TestCase):
    def test_header_and_table(self):
        p = info(MODEL)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("rvgg model, schema 1", p.stdout)
        self.assertIn("architecture  RepVGG-A0", p.stdout)
        self.assertRegex(p.stdout, r"kernel ISA    \S")
        table = rows(p.stdout)
        self.assertEqual(len(table), NUM_LAYERS, p.stdout)
        self.assertEqual([int(r.group(1)) for r in table], list(range(NUM_LAYERS)))
        self.assertEqual([r.group(3) for r in table[-2:]], ["avgpool", "fc"])
        self.assertEqual(table[0].group(8), "32x32x3")
        self.assertEqual(table[-1].group(9), "1x1x1000")
        # The shapes chain.
        for a, b in zip(table, table[1:]):
            self.assertEqual(a.group(9), b.group(8))
        # What runs each layer, and the memory it owns, add up to the totals.
        backend = int(re.search(r"backend memory beyond the file .*: (\d+) bytes", p.stdout).group(1))
        self.assertEqual(sum(int(r.group(13)) for r in table), backend)
        m = re.search(r"caller memory (\d+) bytes .*: arena (\d+) \+ backend (\d+) \+ tables.* (\d+)$",
                      p.stdout, re.M)
        self.assertIsNotNone(m, p.stdout)
        total, arena, owned, rest = (int(x) for x in m.groups())
        self.assertEqual(total, arena + owned + rest)
        self.assertEqual(owned, backend)

    def test_kernels_follow_the_options(self):
        p = info(MODEL, "--backend", "reference")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual({r.group(12) for r in rows(p.stdout)}, {"reference"})
        p = info(MODEL, "--winograd", "off")
        self.assertEqual(p.returncode, 0, p.stderr)
        kernels = [r.group(12) for r in rows(p.stdout)]
        self.assertEqual(len(kernels), NUM_LAYERS)
        self.assertFalse([k for k in kernels if k.startswith("winograd")], kernels)
        p = info(MODEL, "--winograd", "4", "--precision", "fp32")
        self.assertEqual(p.returncode, 0, p.stderr)
        table = rows(p.stdout)
        for r in table:
            if r.group(3) == "conv" and r.group(5) == "1":
                self.assertEqual(r.group(12), "winograd-f4", r.group(0))


    def test_precision(self):
        p = info(MODEL, "--precision", "fp32")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual({r.group(7) for r in rows(p.stdout)}, {"fp32"})
        fp16_cpu = "fp16 arithmetic" in p.stdout  # the kernel ISA line
        p = info(MODEL, "--precision", "fp16")
        if fp16_cpu:
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual({r.group(7) for r in rows(p.stdout)}, {"fp16"})
            # Half-precision activations: a smaller arena than float32's with the same tiles off.
            a16 = info(MODEL, "--precision", "fp16", "--winograd", "off").stdout
            a32 = info(MODEL, "--precision", "fp32", "--winograd", "off").stdout
            arena = lambda out: int(re.search(r"arena\s+(\d+) bytes", out).group(1))  # noqa: E731
            self.assertLess(arena(a16), arena(a32))
        else:
            self.assertEqual(p.returncode, 1)
            self.assertIn("no FP16 arithmetic", p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = info(MODEL)  # AUTO: fp16 exactly where the CPU has it
        self.assertEqual({r.group(7) for r in rows(p.stdout)}, {"fp16" if fp16_cpu else "fp32"})


class BadInput(unittest.TestCase):
    def fails_with_one_line(self, *args):
        p = info(*args)
        self.assertNotEqual(p.returncode, 0)
        self.assertLess(p.returncode, 128, "no signal: " + p.stderr)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, p.stderr)
        return lines[0]

    def test_missing_file(self):
        self.assertIn("rvgg-info", self.fails_with_one_line(os.path.join(ARGS.work, "absent.rvgg")))

    def test_truncated_model(self):
        cut = os.path.join(ARGS.work, "truncated.rvgg")
        with open(MODEL, "rb") as f, open(cut, "wb") as g:
            g.write(f.read()[:1000])
        self.assertIn("rvgg-info", self.fails_with_one_line(cut))

    def test_bad_flag(self):
        self.fails_with_one_line(MODEL, "--winograd", "5")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--convert", required=True)
    ap.add_argument("--info", required=True)
    ap.add_argument("--emulator", default="")
    ap.add_argument("--work", required=True)
    ARGS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()

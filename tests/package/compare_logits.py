#!/usr/bin/env python3
"""Runs the firmware consumer and holds its output to the expected logits.

  compare_logits.py EXPECTED.txt TOLERANCE [FP16_TOLERANCE] -- COMMAND...

COMMAND (e.g. "<emulator> rvgg-firmware model.rvgg input.f32") must exit 0 and
print "logit I VALUE" lines and a "top-1 I LABEL VALUE" line. Passes when
max |got - expected| <= TOLERANCE * max(1, max |expected|), every class is
there, and top-1 is the expected arg max with its label. When COMMAND reports
"fp16 layers N" with N > 0 (half precision chosen on an ARMv8.2 CPU),
FP16_TOLERANCE applies instead (default 2e-2: fp16's accuracy budget).
"""
import subprocess
import sys


def main():
    if "--" not in sys.argv[3:5]:
        sys.exit(__doc__)
    dash = sys.argv.index("--", 3)
    command = sys.argv[dash + 1:]
    if not command:
        sys.exit(__doc__)
    expected = [float(v) for v in open(sys.argv[1]).read().split()]
    tolerance = float(sys.argv[2])
    fp16_tolerance = float(sys.argv[3]) if dash == 4 else 2e-2
    run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True)
    print(run.stdout, end="")
    if run.returncode != 0:
        sys.exit("FAILED: %s exited with %d" % (command, run.returncode))
    got, top1, fp16_layers = {}, None, None
    for line in run.stdout.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "logit":
            got[int(words[1])] = float(words[2])
        elif len(words) == 3 and words[:2] == ["fp16", "layers"]:
            fp16_layers = int(words[2])
        elif len(words) == 4 and words[0] == "top-1":
            top1 = (int(words[1]), words[2])
    if sorted(got) != list(range(len(expected))):
        sys.exit("FAILED: expected logits 0..%d, got %s" % (len(expected) - 1, sorted(got)))
    if fp16_layers is None:
        sys.exit("FAILED: the command did not report its fp16 layer count")
    if fp16_layers > 0:
        tolerance = fp16_tolerance
    scale = max([1.0] + [abs(v) for v in expected])
    worst = max(abs(got[i] - v) for i, v in enumerate(expected))
    print("max |diff| = %.3g (tolerance %.3g x scale %.3g)" % (worst, tolerance, scale))
    if worst > tolerance * scale:
        sys.exit("FAILED: logits differ from the reference")
    best = max(range(len(expected)), key=lambda i: expected[i])
    if top1 != (best, "class-%d" % best):
        sys.exit("FAILED: top-1 is %s, expected (%d, 'class-%d')" % (top1, best, best))
    print("OK: logits match the reference kernels, top-1 is class-%d" % best)


if __name__ == "__main__":
    main()

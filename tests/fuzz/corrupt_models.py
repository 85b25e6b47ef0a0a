"""End-to-end: randomly corrupted copies of a converted model given to rvgg-run.

usage: python3 corrupt_models.py RVGG_RUN MODEL.rvgg WORK_DIR [COUNT] [SEED]

Each copy (default 1500) gets one of: a few random bytes changed, a run of
bytes zeroed or set to 0xff, a truncation, a chunk duplicated or removed, or
random bytes appended. rvgg-run must then either succeed (exit 0, logits
written) or exit non-zero with exactly one line on stderr; never die of a
signal and never take longer than the timeout. Backends alternate. Prints a
count of each outcome, and fails listing the first offenders (their files are
kept in WORK_DIR/failures/).
"""
import concurrent.futures
import os
import random
import shutil
import struct
import subprocess
import sys

import numpy as np

TIMEOUT_S = 20


def corrupt(data, rng):
    b = bytearray(data)
    kind = rng.randrange(7)
    if kind <= 1:  # a few random bytes
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 2:  # a run zeroed or saturated
        start = rng.randrange(len(b))
        end = min(len(b), start + rng.randint(1, 64))
        fill = rng.choice([0x00, 0xFF])
        b[start:end] = bytes([fill]) * (end - start)
    elif kind == 3:  # truncated
        b = b[: rng.randrange(len(b))]
    elif kind == 4:  # a chunk duplicated
        start = rng.randrange(len(b))
        chunk = b[start:start + rng.randint(1, 256)]
        at = rng.randrange(len(b))
        b[at:at] = chunk
    elif kind == 5:  # a chunk removed
        start = rng.randrange(len(b))
        del b[start:start + rng.randint(1, 256)]
    else:  # a 32-bit field set to an extreme value, plus trailing garbage
        at = rng.randrange(max(1, len(b) - 4)) & ~3
        b[at:at + 4] = struct.pack("<I", rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000, 16385]))
        b += bytes(rng.randrange(256) for _ in range(rng.randint(0, 32)))
    return bytes(b)


def main():
    rvgg_run, model_path, work = sys.argv[1], sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1500
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 20240601
    os.makedirs(work, exist_ok=True)
    failures_dir = os.path.join(work, "failures")
    shutil.rmtree(failures_dir, ignore_errors=True)
    original = open(model_path, "rb").read()
    rng = random.Random(seed)

    # Input for the original model's shape (3 x 8 x 8, two images); a copy
    # that wants another shape makes rvgg-run refuse the input, cleanly.
    input_path = os.path.join(work, "x.npy")
    np.save(input_path, np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32))

    copies = [corrupt(original, rng) for _ in range(count)]  # deterministic, before any run

    def check(i):
        """None if copy i ran or was refused cleanly, else what went wrong."""
        data = copies[i]
        path = os.path.join(work, "copy%d.rvgg" % i)
        out = os.path.join(work, "y%d.npy" % i)
        with open(path, "wb") as f:
            f.write(data)
        backend = "reference" if i % 2 else "xnnpack"
        cmd = [rvgg_run, path, "--input", input_path, "--output", out, "--backend", backend]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                               timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return "hung (no exit after %d s)" % TIMEOUT_S
        finally:
            os.remove(path)
        lines = p.stderr.splitlines()
        if p.returncode < 0:
            return "killed by signal %d: %s" % (-p.returncode, p.stderr[-300:])
        if p.returncode == 0:
            ok = os.path.exists(out) and np.load(out).shape[0] == 2
            if os.path.exists(out):
                os.remove(out)
            return None if ok else "exit 0 without logits"
        if len(lines) != 1 or not lines[0].startswith("rvgg-run: error: ") or not p.stderr.endswith("\n"):
            return "exit %d with %d stderr lines: %r" % (p.returncode, len(lines), p.stderr[:400])
        return "refused"

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        results = list(pool.map(check, range(count)))
    outcomes = {"ran": results.count(None), "refused": results.count("refused")}
    problems = [(i, copies[i], r) for i, r in enumerate(results) if r not in (None, "refused")]

    print("corrupt_models: %d copies of %s (%d bytes): %d ran, %d refused cleanly, %d problems"
          % (count, os.path.basename(model_path), len(original), outcomes["ran"],
             outcomes["refused"], len(problems)))
    if problems:
        os.makedirs(failures_dir, exist_ok=True)
        for i, data, what in problems[:10]:
            name = os.path.join(failures_dir, "copy%04d.rvgg" % i)
            with open(name, "wb") as f:
                f.write(data)
            print("  copy %d (%s): %s" % (i, name, what))
        sys.exit(1)
    if outcomes["ran"] == 0 or outcomes["refused"] == 0:
        print("  expected both outcomes; the corruption or the check is not working")
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""rvgg-run makes the same number of heap allocations for 1 image as for 64: the runtime allocates at
load, never per image, and the tool reads the whole input and writes the whole output in one buffer
each. Counted with an LD_PRELOAD library (malloc_count.c) over the whole process.

    rvgg_run_allocations_test.py --convert rvgg-convert --run rvgg-run --counter libmalloc_count.so
                                 --work DIR
"""

import argparse
import os
import subprocess
import sys

import numpy as np


def count(args, model, images, extra):
    x = np.random.default_rng(images).standard_normal((images, 3, 32, 32)).astype(np.float32)
    inp = os.path.join(args.work, 'x%d.npy' % images)
    out = os.path.join(args.work, 'y%d.npy' % images)
    counted = os.path.join(args.work, 'count%d' % images)
    np.save(inp, x)
    env = dict(os.environ, LD_PRELOAD=args.counter, RVGG_MALLOC_COUNT_FILE=counted)
    p = subprocess.run([args.run, model, '--input', inp, '--output', out] + extra, env=env,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        print('FAIL: rvgg-run exited with %d: %s' % (p.returncode, p.stderr.strip()))
        sys.exit(1)
    if np.load(out).shape != (images, 1000):
        print('FAIL: output shape %s for %d images' % (np.load(out).shape, images))
        sys.exit(1)
    with open(counted) as f:
        return int(f.read())


def main():
    ap = argparse.ArgumentParser()
    for a in ('--convert', '--run', '--counter', '--work'):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    model = os.path.join(args.work, 'a0-32.rvgg')
    subprocess.run([args.convert, '--synthetic', 'A0', '--input-size', '32', '-o', model], check=True,
                   capture_output=True, timeout=600)
    failed = False
    for extra in ([], ['--winograd', 'off'], ['--threads', '2'], ['--backend', 'reference']):
        one, many = count(args, model, 1, extra), count(args, model, 64, extra)
        ok = one == many and one > 0  # > 0: the counter saw the program (the check can fail)
        failed |= not ok
        print('%s: rvgg-run %s: %d allocations for 1 image, %d for 64' %
              ('PASS' if ok else 'FAIL', ' '.join(extra) or '(defaults)', one, many))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()

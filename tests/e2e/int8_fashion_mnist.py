#!/usr/bin/python3
"""int8 post-training quantization, end to end: a Fashion-MNIST RepVGG checkpoint is converted with rvgg-convert
to float32 and to int8 (calibrated on training images given as an .npy, and again given as image files through
--calibration-images), the models classify the test set with rvgg-run, and the int8 top-1 must stay within
--max-drop points of the float32 one.

  int8_fashion_mnist.py --convert BUILD/bin/rvgg-convert --run BUILD/bin/rvgg-run \
      --checkpoint fashion_mnist.pth --work DIR [--data /usr/share/datasets/fashion-mnist] \
      [--calibration-count 512] [--mean 0.2860 --std 0.3530] [--max-drop 1.0] [--min-fp32 80] \
      [--test-count N] [--emulator "PREFIX"]

--emulator runs rvgg-run through a command prefix (a cross build's qemu wrapper); the converter always
runs on the host.

The images go in as rvgg-run takes them: float32 NCHW [N, 1, 28, 28], x / 255 normalized with the mean/std
the checkpoint was trained with. Calibration images are a fixed random sample of the training set (seed 0).
Exit status: 0 pass, 1 fail, 2 usage or setup error.
"""

import argparse
import gzip
import os
import shlex
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import prerequisites  # noqa: E402


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], 'big')
    dims = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def normalized(images, mean, std):
    x = images.astype(np.float32) / np.float32(255)
    return ((x - np.float32(mean)) / np.float32(std))[:, None, :, :].astype(np.float32)


def run(cmd):
    print('$ ' + ' '.join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(p.stdout, end='', flush=True)
    if p.returncode != 0:
        print(f'FAIL: {os.path.basename(cmd[0])} exited with {p.returncode}')
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--convert', required=True)
    ap.add_argument('--run', required=True)
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    ap.add_argument('--calibration-count', type=int, default=512)
    ap.add_argument('--test-count', type=int, default=0, help='test images (0: all 10000)')
    ap.add_argument('--mean', type=float, default=0.2860)
    ap.add_argument('--std', type=float, default=0.3530)
    ap.add_argument('--max-drop', type=float, default=1.0, help='allowed top-1 drop, percentage points')
    ap.add_argument('--min-fp32', type=float, default=80.0,
                    help='float32 top-1 the checkpoint must reach (a broken pipeline cannot pass)')
    ap.add_argument('--convert-arg', action='append', default=[], help='extra rvgg-convert argument (int8)')
    ap.add_argument('--backend', default='xnnpack')
    ap.add_argument('--emulator', default='', help='command prefix for rvgg-run (cross builds)')
    args = ap.parse_args()

    dataset = [os.path.join(args.data, f) for f in (
        'train-images-idx3-ubyte.gz',
        'train-labels-idx1-ubyte.gz',
        't10k-images-idx3-ubyte.gz',
        't10k-labels-idx1-ubyte.gz')]
    prerequisites.require_files(dataset, 'Debian: dataset-fashion-mnist')
    prerequisites.require_files([args.checkpoint], 'the project\'s trained Fashion-MNIST RepVGG')
    os.makedirs(args.work, exist_ok=True)
    w = lambda name: os.path.join(args.work, name)  # noqa: E731

    train = read_idx(os.path.join(args.data, 'train-images-idx3-ubyte.gz'))
    test = read_idx(os.path.join(args.data, 't10k-images-idx3-ubyte.gz'))
    labels = read_idx(os.path.join(args.data, 't10k-labels-idx1-ubyte.gz')).astype(np.int64)
    if args.test_count:
        test, labels = test[:args.test_count], labels[:args.test_count]
    pick = np.sort(np.random.default_rng(0).choice(len(train), size=args.calibration_count, replace=False))
    np.save(w('calibration.npy'), normalized(train[pick], args.mean, args.std))
    # The same images as files, for --calibration-images (rvgg-classify's preprocessing).
    image_dir = w('calibration_images')
    os.makedirs(image_dir, exist_ok=True)
    for i, k in enumerate(pick):
        with open(os.path.join(image_dir, f'{i:04d}.pgm'), 'wb') as f:
            f.write(b'P5 28 28 255\n' + train[k].tobytes())
    np.save(w('test.npy'), normalized(test, args.mean, args.std))

    norm = ['--input-size', '28', '--mean', str(args.mean), '--std', str(args.std)]
    run([args.convert, args.checkpoint, '-o', w('fp32.rvgg')] + norm)
    run([args.convert, args.checkpoint, '-o', w('int8.rvgg')] + norm +
        ['--quantize', 'int8', '--calibration', w('calibration.npy')] + args.convert_arg)
    run([args.convert, args.checkpoint, '-o', w('int8_images.rvgg')] + norm +
        ['--quantize', 'int8', '--calibration-images', image_dir, '--report-images', '4'] + args.convert_arg)
    top1 = {}
    for name in ('fp32', 'int8', 'int8_images'):
        run(shlex.split(args.emulator) +
            [args.run, w(name + '.rvgg'), '--input', w('test.npy'), '--output', w(name + '_logits.npy'),
             '--backend', args.backend])
        logits = np.load(w(name + '_logits.npy'))
        if logits.shape != (len(labels), 10):
            print(f'FAIL: {name} logits have shape {logits.shape}, expected ({len(labels)}, 10)')
            sys.exit(1)
        top1[name] = 100.0 * float((logits.argmax(1) == labels).mean())
    agree = 100.0 * float((np.load(w('fp32_logits.npy')).argmax(1) == np.load(w('int8_logits.npy')).argmax(1)).mean())
    drop = top1['fp32'] - top1['int8']
    drop_images = top1['fp32'] - top1['int8_images']
    verdict = ('PASS' if max(drop, drop_images) <= args.max_drop and top1['fp32'] >= args.min_fp32
               else 'FAIL')
    print(f"{verdict}: Fashion-MNIST top-1 on {len(labels)} test images: float32 {top1['fp32']:.2f}%, "
          f"int8 {top1['int8']:.2f}% (drop {drop:+.2f} points, limit {args.max_drop}); "
          f"int8 and float32 agree on {agree:.2f}% of the images; {args.calibration_count} calibration images; "
          f"calibrated from the same images as files: int8 {top1['int8_images']:.2f}% (drop {drop_images:+.2f})")
    if top1['fp32'] < args.min_fp32:
        print(f"FAIL: the float32 model reaches only {top1['fp32']:.2f}% (< {args.min_fp32}); wrong checkpoint "
              f"or normalization?")
    sys.exit(0 if verdict == 'PASS' else 1)


if __name__ == '__main__':
    main()

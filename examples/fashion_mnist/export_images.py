#!/usr/bin/python3
"""Writes Fashion-MNIST test images as 8-bit grey PNG files, with their true labels, for rvgg-classify.

  /usr/bin/python3 examples/fashion_mnist/export_images.py --out DIR [--count 10] [--data DIR]

Image i is the (i // 10 + 1)-th test image of class i % 10, so the first 10 cover every class once. Files:
DIR/test_NNNNN.png (NNNNN: index in the 10000-image test set, the image exactly as stored: 28 x 28, no
resizing) and DIR/truth.tsv (FILE<TAB>TRUE LABEL, one line per image, in order), written last.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist as fm  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--count', type=int, default=10)
    ap.add_argument('--data', default=fm.DEFAULT_DATA)
    args = ap.parse_args()
    try:
        images, labels = fm.load_split(args.data, 'test')
    except FileNotFoundError as e:
        sys.exit(f'export_images.py: {e}')
    by_class = [np.nonzero(labels == c)[0] for c in range(10)]
    if args.count < 1 or args.count > 10 * min(len(ix) for ix in by_class):
        sys.exit(f'export_images.py: --count must be from 1 to {10 * min(len(ix) for ix in by_class)}')
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for i in range(args.count):
        k = int(by_class[i % 10][i // 10])
        name = f'test_{k:05d}.png'
        fm.write_png(os.path.join(args.out, name), images[k])
        rows.append(f'{name}\t{fm.LABELS[labels[k]]}\n')
    truth = os.path.join(args.out, 'truth.tsv')
    with open(truth + '.tmp', 'w') as f:
        f.writelines(rows)
    os.replace(truth + '.tmp', truth)
    print(f'export_images.py: {args.count} test images -> {args.out} (true labels in truth.tsv)')


if __name__ == '__main__':
    main()

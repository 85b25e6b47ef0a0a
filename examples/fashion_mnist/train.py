#!/usr/bin/python3
"""Trains the small RepVGG that rvgg ships for its Fashion-MNIST demo and accuracy tests.

  /usr/bin/python3 examples/fashion_mnist/train.py [--epochs 8] [--threads 1] [--out examples/fashion_mnist]

Use Debian's interpreter (python3-torch 1.13, python3-numpy) and the `dataset-fashion-mnist` package's IDX
files; never a pyenv/venv python3 found first on PATH.

The network is tools/pytorch/repvgg_official.py (official module structure and key names) built with
create_custom: one input channel, 28 x 28, 10 classes, blocks and widths from fashion_mnist.py. Training: SGD
with Nesterov momentum, batch 128, one-cycle learning rate (peak 0.1), weight decay 5e-4, random horizontal flips
(--shift N adds random shifts; with 8 epochs they cost more than they give), plain cross-entropy; fixed seeds.
Writes into --out:
  repvgg_fashion_mnist.pth  the train-time (multi-branch) state dict, torch.save(model.state_dict())
  labels.txt                the 10 class names, one per line, in class-index order
  normalization.json        mean/std applied after x / 255, the input size, channels
  training.json             what was run and what it reached (test top-1, wall and CPU time)
rvgg-convert takes the checkpoint as is: --input-size 28 --mean 0.286 --std 0.353 --labels labels.txt
(tools/demo.sh does it).

The same torch build and thread count give the same weights, bit for bit. Another thread count or CPU may round
some sums differently, so the weights and the last digits of the accuracy can differ slightly.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist as fm  # noqa: E402


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def augment(images, rng, shift):
    """Random shifts of up to `shift` pixels (zero fill) and horizontal flips, on uint8 [N, 28, 28]."""
    n, h, w = images.shape
    padded = np.pad(images, ((0, 0), (shift, shift), (shift, shift)))
    dy = rng.integers(0, 2 * shift + 1, size=n)
    dx = rng.integers(0, 2 * shift + 1, size=n)
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    flip = rng.random(n) < 0.5
    out[flip] = out[flip][:, :, ::-1]
    return out


def evaluate(model, x, y):
    model.eval()
    logits = fm.predict(model, x)
    return 100.0 * float((logits.argmax(1) == y).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=fm.DEFAULT_DATA, help='folder with the Fashion-MNIST IDX .gz files')
    ap.add_argument('--out', default=fm.HERE, help='where the checkpoint, labels and normalization go')
    ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--lr', type=float, default=0.1, help='peak learning rate of the one-cycle schedule')
    ap.add_argument('--weight-decay', type=float, default=5e-4)
    ap.add_argument('--shift', type=int, default=0, help='random shifts of up to this many pixels (0: none)')
    ap.add_argument('--threads', type=int, default=1,
                    help='torch threads (the weights are reproducible bit for bit only with the same count)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--limit', type=int, default=0, help='train on the first N images only (smoke tests)')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    wall0, cpu0 = time.time(), cpu_seconds()

    train_images, train_labels = fm.load_split(args.data, 'train')
    test_images, test_labels = fm.load_split(args.data, 'test')
    if args.limit:
        train_images, train_labels = train_images[:args.limit], train_labels[:args.limit]
    x_test = fm.normalize(test_images)

    model = fm.build_model()
    params = sum(p.numel() for p in model.parameters())
    print(f'RepVGG blocks {fm.NUM_BLOCKS} widths {fm.WIDTHS}: {params} train-time parameters; '
          f'{len(train_images)} training images, {args.epochs} epochs, {args.threads} threads', flush=True)

    steps_per_epoch = (len(train_images) + args.batch - 1) // args.batch
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                                weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                   steps_per_epoch=steps_per_epoch, pct_start=0.25)
    y_all = torch.from_numpy(train_labels)
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(train_images))
        x_epoch = torch.from_numpy(fm.normalize(augment(train_images[order], rng, args.shift)))
        y_epoch = y_all[torch.from_numpy(order)]
        total, correct, loss_sum = 0, 0, 0.0
        t0 = time.time()
        for i in range(0, len(order), args.batch):
            xb, yb = x_epoch[i:i + args.batch], y_epoch[i:i + args.batch]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += len(yb)
            correct += int((out.argmax(1) == yb).sum())
            loss_sum += float(loss) * len(yb)
        test_top1 = evaluate(model, x_test, test_labels)
        print(f'epoch {epoch + 1}/{args.epochs}: loss {loss_sum / total:.4f}, train top-1 '
              f'{100.0 * correct / total:.2f}%, test top-1 {test_top1:.2f}% ({time.time() - t0:.0f} s)', flush=True)

    model.eval()
    test_top1 = evaluate(model, x_test, test_labels)
    wall, cpu = time.time() - wall0, cpu_seconds() - cpu0

    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, os.path.basename(fm.CHECKPOINT))
    torch.save(model.state_dict(), checkpoint)
    with open(os.path.join(args.out, 'labels.txt'), 'w') as f:
        f.write('\n'.join(fm.LABELS) + '\n')
    with open(os.path.join(args.out, 'normalization.json'), 'w') as f:
        json.dump({'input_size': [28, 28], 'channels': 1, 'scale': '1/255', 'mean': [fm.MEAN], 'std': [fm.STD]},
                  f, indent=2)
        f.write('\n')
    with open(os.path.join(args.out, 'training.json'), 'w') as f:
        json.dump({'command': ' '.join(['train.py'] + sys.argv[1:]), 'torch': torch.__version__,
                   'num_blocks': fm.NUM_BLOCKS, 'widths': fm.WIDTHS, 'parameters': params,
                   'epochs': args.epochs, 'batch': args.batch, 'shift': args.shift, 'lr': args.lr,
                   'weight_decay': args.weight_decay,
                   'seed': args.seed, 'threads': args.threads, 'train_images': len(train_images),
                   'test_top1': round(test_top1, 2), 'wall_seconds': round(wall), 'cpu_seconds': round(cpu)},
                  f, indent=2)
        f.write('\n')
    print(f'test top-1 {test_top1:.2f}% (eval mode, 10000 images); wall {wall:.0f} s, CPU {cpu:.0f} s; '
          f'wrote {checkpoint} ({os.path.getsize(checkpoint) / 1e6:.2f} MB), labels.txt, normalization.json, '
          f'training.json')


if __name__ == '__main__':
    main()

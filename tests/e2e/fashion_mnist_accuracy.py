#!/usr/bin/python3
"""The project's Fashion-MNIST RepVGG through rvgg agrees with PyTorch.

  fashion_mnist_accuracy.py --mode run|classify --convert BUILD/bin/rvgg-convert \
      (--run BUILD/bin/rvgg-run | --classify BUILD/bin/rvgg-classify) --checkpoint CKPT.pth --work DIR \
      [--emulator "PREFIX"] [--data /usr/share/datasets/fashion-mnist] [--normalization normalization.json]
      [--labels labels.txt] [--test-count N] [--png-count 100] [--backend xnnpack|reference] [--jobs N]

PyTorch side: the checkpoint (any train-time official-key RepVGG trained on Fashion-MNIST; the architecture is read
from its keys) in eval mode, on the test images normalized as in training: x / 255, then (x - mean) / std.

--mode run: the test images as float32 .npy [N, 1, 28, 28] through rvgg-run (--jobs processes at once, each on
  its share of the images: emulated runs of many images go faster that way than on threads). Claims: rvgg's top-1 equals
  PyTorch's within --max-top1-diff points (0.05) and the two predict the same class for at least --min-agreement
  percent of the images (99.9).
--mode classify: --png-count test images (evenly spread) written as 8-bit grey PNG files and given to rvgg-classify
  in one call. Claim: its top-1 label is PyTorch's class for at least --min-png-agree of them (99 of 100); its
  probability is reported next to PyTorch's softmax.
The checkpoint is converted with --input-size 28 and the normalization's mean/std (and the labels for classify).
Exit status: 0 pass, 1 fail, 2 usage or setup error.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import prerequisites  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'examples', 'fashion_mnist'))
import fashion_mnist as fm  # noqa: E402


def run(cmd, timeout=3600):
    shown = shlex.join(cmd)
    print('$ ' + (shown if len(shown) < 400 else shown[:400] + f' ... ({len(cmd)} arguments)'), flush=True)
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if p.returncode != 0:
        print(p.stdout + p.stderr)
        print(f'FAIL: {os.path.basename(cmd[0])} exited with {p.returncode}')
        sys.exit(1)
    print(f'  ({time.time() - t0:.1f} s)', flush=True)
    return p.stdout


def softmax(z):
    e = np.exp(z.astype(np.float64) - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--mode', choices=['run', 'classify'], required=True)
    ap.add_argument('--convert', required=True)
    ap.add_argument('--run')
    ap.add_argument('--classify')
    ap.add_argument('--emulator', default='', help='command prefix for the device tools (cross builds)')
    ap.add_argument('--backend', default='xnnpack')
    ap.add_argument('--checkpoint', default=fm.CHECKPOINT)
    ap.add_argument('--normalization', default=fm.NORMALIZATION_FILE, help='JSON with "mean" and "std" lists')
    ap.add_argument('--labels', default=fm.LABELS_FILE)
    ap.add_argument('--work', required=True)
    ap.add_argument('--data', default=fm.DEFAULT_DATA)
    ap.add_argument('--test-count', type=int, default=0, help='--mode run: first N test images (0: all 10000)')
    ap.add_argument('--png-count', type=int, default=100)
    ap.add_argument('--max-top1-diff', type=float, default=0.05, help='percentage points')
    ap.add_argument('--min-agreement', type=float, default=99.9, help='percent of images')
    ap.add_argument('--min-png-agree', type=int, default=99, help='of --png-count images')
    ap.add_argument('--precision', default='', help='passed to the device tool (auto, fp32, fp16)')
    ap.add_argument('--threads', type=int, default=0, help='passed to the device tool')
    ap.add_argument('--jobs', type=int, default=1, help='--mode run: rvgg-run processes at once')
    ap.add_argument('--fp16-max-top1-diff', type=float, default=0.1,
                    help='--mode run in half precision: top-1 limit, percentage points')
    ap.add_argument('--fp16-min-agreement', type=float, default=99.8,
                    help='--mode run in half precision: same class as PyTorch, percent of images')
    args = ap.parse_args()
    dataset = [os.path.join(args.data, f) for f in (
        't10k-images-idx3-ubyte.gz',
        't10k-labels-idx1-ubyte.gz')]
    prerequisites.require_files(dataset, 'Debian: dataset-fashion-mnist')
    prerequisites.require_files([args.checkpoint], 'the project\'s trained Fashion-MNIST RepVGG')

    try:
        images, truth = fm.load_split(args.data, 'test')
    except FileNotFoundError as e:
        print(f'setup error: {e}')
        sys.exit(2)
    for path in (args.checkpoint, args.normalization, args.labels):
        if not os.path.isfile(path):
            print(f'setup error: {path} is missing')
            sys.exit(2)
    tool = args.run if args.mode == 'run' else args.classify
    if not tool:
        print(f'setup error: --mode {args.mode} needs --{args.mode}')
        sys.exit(2)
    device = shlex.split(args.emulator) + [tool]
    os.makedirs(args.work, exist_ok=True)
    w = lambda name: os.path.join(args.work, name)  # noqa: E731

    mean, std = fm.read_normalization(args.normalization)
    with open(args.labels) as f:
        label_names = [line.rstrip('\n') for line in f if line.strip()]
    if args.mode == 'run' and args.test_count:
        images, truth = images[:args.test_count], truth[:args.test_count]
    if args.mode == 'classify':
        pick = np.linspace(0, len(images) - 1, args.png_count).round().astype(int)
        images, truth = images[pick], truth[pick]
    x = fm.normalize(images, mean[0], std[0])

    t0 = time.time()
    torch_logits = fm.predict(fm.load_checkpoint(args.checkpoint), x)
    torch_pred = torch_logits.argmax(1)
    torch_top1 = 100.0 * float((torch_pred == truth).mean())
    print(f'PyTorch (eval mode): top-1 {torch_top1:.2f}% on {len(truth)} test images ({time.time() - t0:.1f} s)')

    convert = [args.convert, args.checkpoint, '-o', w('model.rvgg'), '--input-size', '28',
               '--mean', ','.join(map(str, mean)), '--std', ','.join(map(str, std))]
    if args.mode == 'classify':
        convert += ['--labels', args.labels]
    run(convert)

    precision = ['--precision', args.precision] if args.precision else []
    if args.threads:
        precision += ['--threads', str(args.threads)]
    if args.mode == 'run':
        jobs = max(1, min(args.jobs, len(x)))
        chunks = np.array_split(np.arange(len(x)), jobs)
        cmds = []
        for j, rows in enumerate(chunks):
            suffix = '' if jobs == 1 else f'.{j}'
            np.save(w(f'test{suffix}.npy'), x[rows])
            cmds.append(device + [w('model.rvgg'), '--input', w(f'test{suffix}.npy'), '--output',
                                  w(f'logits{suffix}.npy'), '--backend', args.backend] + precision)
        print('$ ' + shlex.join(cmds[0]) + (f' (and {jobs - 1} more processes)' if jobs > 1 else ''), flush=True)
        t0 = time.time()
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
        results = [(p.returncode, o, e) for p in procs for o, e in [p.communicate()]]
        for code, _, err in results:
            if code != 0 and args.precision == 'fp16' and 'no FP16 arithmetic' in err:
                # Not a missing prerequisite: this CPU (x86, ARMv8.0) runs float32 only.
                print('SKIPPED: this CPU has no FP16 arithmetic (' + err.strip() + ')')
                sys.exit(77)
        for c, (code, o, err) in zip(cmds, results):
            if code != 0:
                print(f'FAIL: {shlex.join(c)} exited with {code}:\n{o}{err}')
                sys.exit(1)
        print(f'  ({time.time() - t0:.1f} s)', flush=True)
        out = ' '.join(o.strip() for _, o, _ in results)
        logits = np.concatenate([np.load(w('logits%s.npy' % ('' if jobs == 1 else f'.{j}')))
                                 for j in range(jobs)])
        # rvgg-run names the compute types it ran ("fp16" on CPUs with FP16 arithmetic).
        if re.search(r'\bfp16\b', out):
            args.max_top1_diff, args.min_agreement = args.fp16_max_top1_diff, args.fp16_min_agreement
        if logits.shape != torch_logits.shape:
            print(f'FAIL: rvgg-run gave logits of shape {logits.shape}, PyTorch {torch_logits.shape}')
            sys.exit(1)
        pred = logits.argmax(1)
        top1 = 100.0 * float((pred == truth).mean())
        agree = 100.0 * float((pred == torch_pred).mean())
        diff = abs(top1 - torch_top1)
        ok = diff <= args.max_top1_diff + 1e-9 and agree >= args.min_agreement - 1e-9
        print(f'{"PASS" if ok else "FAIL"}: Fashion-MNIST top-1 on {len(truth)} test images: rvgg {top1:.2f}%, '
              f'PyTorch {torch_top1:.2f}% (difference {diff:.2f} points, limit {args.max_top1_diff}); same class '
              f'on {agree:.2f}% of the images (limit {args.min_agreement}%, {int((pred != torch_pred).sum())} '
              f'differ); max |logit difference| {float(np.abs(logits - torch_logits).max()):.2e}; '
              f'{args.backend} backend; {out.strip()}')
        sys.exit(0 if ok else 1)

    # classify
    paths = []
    for i, k in enumerate(pick):
        paths.append(w(f'test{k:05d}_{label_names[truth[i]].replace("/", "-").replace(" ", "_")}.png'))
        fm.write_png(paths[-1], images[i])
    out = run(device + [w('model.rvgg'), '--backend', args.backend] + precision + paths)
    lines = [line.split('\t') for line in out.splitlines()]
    if len(lines) != len(paths) or any(len(l) != 3 or l[0] != p for l, p in zip(lines, paths)):
        print('FAIL: rvgg-classify did not print one IMAGE<TAB>LABEL<TAB>PROBABILITY line per image:\n' + out)
        sys.exit(1)
    unknown = [l[1] for l in lines if l[1] not in label_names]
    if unknown:
        print(f'FAIL: rvgg-classify printed labels that are not in {args.labels}: {unknown[:5]}')
        sys.exit(1)
    pred = np.array([label_names.index(l[1]) for l in lines])
    prob = np.array([float(l[2]) for l in lines])
    torch_prob = softmax(torch_logits).max(1)
    agree = int((pred == torch_pred).sum())
    ok = agree >= args.min_png_agree
    for i in np.nonzero(pred != torch_pred)[0]:
        print(f'  differs: {os.path.basename(paths[i])}: rvgg-classify {label_names[pred[i]]} {prob[i]:.4f}, '
              f'PyTorch {label_names[torch_pred[i]]} {torch_prob[i]:.4f}')
    print(f'{"PASS" if ok else "FAIL"}: rvgg-classify on {len(paths)} Fashion-MNIST test PNGs: same top-1 as '
          f'PyTorch for {agree} (limit {args.min_png_agree}); true label for '
          f'{int((pred == truth).sum())}; max |probability difference| '
          f'{float(np.abs(prob - torch_prob)[pred == torch_pred].max(initial=0)):.4f}; {args.backend} backend')
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""rvgg-classify driven as users drive it, on the project's Fashion-MNIST RepVGG and test images.

  rvgg_classify_test.py --convert BUILD/bin/rvgg-convert --classify BUILD/bin/rvgg-classify \
      --run BUILD/bin/rvgg-run --checkpoint examples/fashion_mnist/repvgg_fashion_mnist.pth --work DIR \
      [--emulator "qemu-aarch64 ..."] [--data /usr/share/datasets/fashion-mnist]

Claims checked (each failure is printed; exit 1 if any):
  - format: every stdout line is IMAGE<TAB>LABEL<TAB>PROBABILITY (4 decimals), images in argument order, the
    top-1 first; --top K gives K lines per image, probabilities non-increasing, distinct classes, all classes
    summing to 1; K above the class count gives every class;
  - the numbers: top-1 and probabilities are the softmax of rvgg-run's logits on the same images
    (normalized here in numpy), within 1e-4;
  - labels vs indices: a model converted without --labels prints class indices, the same classes;
  - bad images among good ones: missing, directory, empty, text, truncated PNG/PGM/BMP each get one line
    IMAGE<TAB>error: ... in their place, the good images' lines are unchanged, exit status 2 and one count line
    on stderr;
  - bad model or flags: exit 1, nothing on stdout, one line on stderr;
  - formats and channels: PNG, BMP, PGM and 8-bit RGB with equal channels give the same lines as the grey PNG;
    a colour image on the 1-channel model equals its ITU-R 601 luma (stb: (77 R + 150 G + 29 B) >> 8) as grey;
    a 3-channel model made from the checkpoint (stage0 kernels / 3 on each channel) gives the 1-channel model's
    answers on grey images; JPEG decodes; a 56x56 image is resized; --threads 2 changes nothing.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import prerequisites  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'examples', 'fashion_mnist'))
import fashion_mnist as fm  # noqa: E402

failures = []


def check(ok, what):
    print(('ok   ' if ok else 'FAIL ') + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def tool(cmd, timeout=600):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


LINE = re.compile(r'^([^\t]+)\t([^\t]+)\t([01]\.\d{4})$')
ERROR_LINE = re.compile(r'^([^\t]+)\terror: (.+)$')


def parse(stdout):
    """[(image, label, probability)] or (image, None, reason) for error lines; None if a line fits neither."""
    out = []
    for line in stdout.splitlines():
        m = LINE.match(line)
        if m:
            out.append((m.group(1), m.group(2), float(m.group(3))))
            continue
        m = ERROR_LINE.match(line)
        if m:
            out.append((m.group(1), None, m.group(2)))
            continue
        return None
    return out


def write_pgm(path, pixels):
    with open(path, 'wb') as f:
        f.write(b'P5\n%d %d\n255\n' % (pixels.shape[1], pixels.shape[0]) + pixels.tobytes())


def softmax(z):
    e = np.exp(z.astype(np.float64) - z.max())
    return e / e.sum()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--convert', required=True, help='host rvgg-convert')
    ap.add_argument('--classify', required=True)
    ap.add_argument('--run', required=True)
    ap.add_argument('--emulator', default='', help='command prefix for the device tools (cross builds)')
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--data', default=fm.DEFAULT_DATA)
    args = ap.parse_args()
    dataset = [os.path.join(args.data, f) for f in (
        't10k-images-idx3-ubyte.gz',
        't10k-labels-idx1-ubyte.gz')]
    prerequisites.require_files(dataset, 'Debian: dataset-fashion-mnist')
    prerequisites.require_files([args.checkpoint], 'the project\'s trained Fashion-MNIST RepVGG')

    import torch
    from PIL import Image  # python3-pil (a dependency of python3-matplotlib in tools/install-deps.sh)

    emu = shlex.split(args.emulator)
    classify = emu + [args.classify]
    run = emu + [args.run]
    os.makedirs(args.work, exist_ok=True)
    w = lambda name: os.path.join(args.work, name)  # noqa: E731

    images, labels = fm.load_split(args.data, 'test')
    picks = [0, 1, 2, 3, 4, 5]
    grey = images[picks]

    # Models: with labels, without labels, and a 3-channel one from the same weights.
    norm = ['--input-size', '28', '--mean', str(fm.MEAN), '--std', str(fm.STD)]
    for cmd in ([args.convert, args.checkpoint, '-o', w('labels.rvgg'), '--labels', fm.LABELS_FILE] + norm,
                [args.convert, args.checkpoint, '-o', w('indices.rvgg')] + norm):
        rc, out, err = tool(cmd)
        if rc != 0:
            print('setup error: ' + shlex.join(cmd) + '\n' + out + err)
            sys.exit(2)
    state = torch.load(args.checkpoint, map_location='cpu')
    for key in ('stage0.rbr_dense.conv.weight', 'stage0.rbr_1x1.conv.weight'):
        state[key] = state[key].repeat(1, 3, 1, 1) / 3
    torch.save(state, w('rgb.pth'))
    rc, out, err = tool([args.convert, w('rgb.pth'), '-o', w('rgb.rvgg'), '--labels', fm.LABELS_FILE,
                         '--input-size', '28', '--mean', ','.join([str(fm.MEAN)] * 3),
                         '--std', ','.join([str(fm.STD)] * 3)])
    if rc != 0:
        print('setup error: 3-channel model\n' + out + err)
        sys.exit(2)

    png = []
    for i, k in enumerate(picks):
        png.append(w(f'grey{i}.png'))
        fm.write_png(png[-1], grey[i])

    # The numbers: rvgg-run's logits on the same images, normalized here.
    np.save(w('grey.npy'), fm.normalize(grey))
    rc, out, err = tool(run + [w('labels.rvgg'), '--input', w('grey.npy'), '--output', w('logits.npy')])
    if not check(rc == 0, 'rvgg-run on the same images'):
        print(out + err)
        sys.exit(1)
    probs = np.stack([softmax(z) for z in np.load(w('logits.npy'))])

    # --- format, --top, numbers --------------------------------------------------------------------------------
    rc, out1, err = tool(classify + [w('labels.rvgg')] + png)
    lines1 = parse(out1)
    check(rc == 0 and err == '', f'{len(png)} good images: exit 0, nothing on stderr (got {rc}, {err!r})')
    check(lines1 is not None and [l[0] for l in lines1] == png,
          'default: one IMAGE<TAB>LABEL<TAB>PROBABILITY line per image, in argument order')
    if lines1 is not None and len(lines1) == len(png):
        check(all(l[1] == fm.LABELS[int(p.argmax())] for l, p in zip(lines1, probs)),
              'top-1 label is the argmax of rvgg-run\'s logits')
        check(all(abs(l[2] - p.max()) <= 1e-4 for l, p in zip(lines1, probs)),
              'top-1 probability is the softmax of rvgg-run\'s logits (within 1e-4)')
        check(sum(l[1] == fm.LABELS[labels[k]] for l, k in zip(lines1, picks)) >= len(picks) - 1,
              'the trained model gets these test images right (at most one miss)')

    rc, out3, _ = tool(classify + [w('labels.rvgg'), '--top', '3'] + png)
    lines3 = parse(out3)
    ok = rc == 0 and lines3 is not None and len(lines3) == 3 * len(png)
    check(ok, '--top 3: three lines per image')
    if ok:
        for i, p in enumerate(png):
            block = lines3[3 * i:3 * i + 3]
            order = np.argsort(-probs[i], kind='stable')[:3]
            check(all(l[0] == p for l in block) and block[0] == lines1[i] and
                  [l[1] for l in block] == [fm.LABELS[j] for j in order] and
                  block[0][2] >= block[1][2] >= block[2][2],
                  f'--top 3 image {i}: its name on each line, top-1 line as without --top, next classes by '
                  f'rvgg-run\'s logits, probabilities non-increasing')

    rc, out10, _ = tool(classify + [w('labels.rvgg'), '--top', '25', png[0]])
    lines10 = parse(out10)
    ok = rc == 0 and lines10 is not None and len(lines10) == 10
    check(ok, '--top 25 on a 10-class model: all 10 classes')
    if ok:
        check(sorted(l[1] for l in lines10) == sorted(fm.LABELS), '--top 25: every label once')
        check(abs(sum(l[2] for l in lines10) - 1.0) <= 10 * 5e-5 + 1e-9, 'the 10 probabilities sum to 1')

    # --- labels vs indices --------------------------------------------------------------------------------------
    rc, outi, _ = tool(classify + [w('indices.rvgg'), '--top', '2'] + png)
    linesi = parse(outi)
    ok = rc == 0 and linesi is not None and lines3 is not None and len(linesi) == 2 * len(png)
    check(ok, 'model without labels: two lines per image with --top 2')
    if ok:
        check(all(re.fullmatch(r'\d', l[1]) for l in linesi), 'model without labels: LABEL is the class index')
        same = all(fm.LABELS[int(li[1])] == l3[1] and li[2] == l3[2]
                   for i in range(len(png)) for li, l3 in zip(linesi[2 * i:2 * i + 2], lines3[3 * i:3 * i + 2]))
        check(same, 'indices name the same classes with the same probabilities as the labels')

    # --- bad images among good ones ----------------------------------------------------------------------------
    with open(png[0], 'rb') as f:
        png_bytes = f.read()
    bad = {}
    bad['missing'] = w('missing.png')
    if os.path.exists(bad['missing']):
        os.remove(bad['missing'])
    bad['directory'] = args.work
    bad['empty'] = w('empty.png')
    open(bad['empty'], 'wb').close()
    bad['text'] = w('notes.jpg')
    with open(bad['text'], 'w') as f:
        f.write('this is not an image\n')
    bad['truncated png'] = w('cut.png')
    with open(bad['truncated png'], 'wb') as f:
        f.write(png_bytes[:len(png_bytes) * 2 // 3])
    write_pgm(w('whole.pgm'), grey[1])
    with open(w('whole.pgm'), 'rb') as f:
        pgm_bytes = f.read()
    bad['truncated pgm'] = w('cut.pgm')
    with open(bad['truncated pgm'], 'wb') as f:
        f.write(pgm_bytes[:-100])
    Image.fromarray(grey[2]).save(w('whole.bmp'))
    with open(w('whole.bmp'), 'rb') as f:
        bmp_bytes = f.read()
    bad['truncated bmp'] = w('cut.bmp')
    with open(bad['truncated bmp'], 'wb') as f:
        f.write(bmp_bytes[:-100])
    bad['pgm header only'] = w('header.pgm')
    with open(bad['pgm header only'], 'wb') as f:
        f.write(b'P5\n# no size\n')
    mixed = [png[0], bad['missing'], bad['directory'], png[1], bad['empty'], bad['text'], png[2],
             bad['truncated png'], bad['truncated pgm'], bad['truncated bmp'], bad['pgm header only'], png[3]]
    rc, out, err = tool(classify + [w('labels.rvgg')] + mixed)
    lines = parse(out)
    check(rc == 2, f'bad images among good ones: exit status 2 (got {rc})')
    check(err.count('\n') == 1 and err.startswith('rvgg-classify: 8 of 12 images could not be classified'),
          f'bad images: one count line on stderr (got {err!r})')
    ok = lines is not None and [l[0] for l in lines] == mixed
    check(ok, 'bad images: exactly one line per image, in argument order')
    if ok:
        for name, path in bad.items():
            line = lines[mixed.index(path)]
            check(line[1] is None and path not in line[2],
                  f'{name}: IMAGE<TAB>error: REASON (reason without the path: {line[2]!r})')
        good = [l for l in lines if l[1] is not None]
        check(good == lines1[:4], 'bad images: the good images\' lines are unchanged')
        reasons = {name: lines[mixed.index(p)][2] for name, p in bad.items()}
        check(reasons['missing'] == 'No such file or directory' and reasons['directory'] == 'is a directory' and
              reasons['empty'] == 'empty file' and reasons['text'].startswith('not a readable image') and
              reasons['truncated pgm'].startswith('truncated') and reasons['truncated bmp'].startswith('truncated'),
              'bad images: the reasons say what is wrong')

    # --- bad model or flags ------------------------------------------------------------------------------------
    with open(w('not_a_model.rvgg'), 'wb') as f:
        f.write(b'\0' * 64)
    for what, argv in [('missing model', [w('none.rvgg'), png[0]]),
                       ('not a model', [w('not_a_model.rvgg'), png[0]]),
                       ('no images', [w('labels.rvgg')]),
                       ('no arguments', []),
                       ('--top 0', [w('labels.rvgg'), '--top', '0', png[0]]),
                       ('--top x', [w('labels.rvgg'), '--top', 'x', png[0]]),
                       ('--top without a value', [w('labels.rvgg'), png[0], '--top']),
                       ('--threads 0', [w('labels.rvgg'), '--threads', '0', png[0]]),
                       ('--backend gpu', [w('labels.rvgg'), '--backend', 'gpu', png[0]]),
                       ('unknown flag', [w('labels.rvgg'), '--colour', png[0]])]:
        rc, out, err = tool(classify + argv)
        check(rc == 1 and out == '' and err.count('\n') == 1 and err.startswith('rvgg-classify: error: '),
              f'{what}: exit 1, one line on stderr, nothing on stdout (got {rc}, {err.strip()!r})')

    # --- formats and channels ----------------------------------------------------------------------------------
    g = grey[4]
    variants = {'png': w('g.png'), 'bmp': w('g.bmp'), 'pgm': w('g.pgm'), 'rgb png': w('g_rgb.png'),
                'rgb bmp': w('g_rgb.bmp')}
    fm.write_png(variants['png'], g)
    Image.fromarray(g).save(variants['bmp'])
    write_pgm(variants['pgm'], g)
    Image.fromarray(np.stack([g] * 3, -1)).save(variants['rgb png'])
    Image.fromarray(np.stack([g] * 3, -1)).save(variants['rgb bmp'])
    rc, out, _ = tool(classify + [w('labels.rvgg'), '--top', '3'] + list(variants.values()))
    lines = parse(out)
    ok = rc == 0 and lines is not None and len(lines) == 3 * len(variants)
    check(ok, 'grey PNG, BMP, PGM and RGB PNG/BMP with equal channels all classified')
    if ok:
        ref = [l[1:] for l in lines[0:3]]
        for i, name in enumerate(variants):
            check([l[1:] for l in lines[3 * i:3 * i + 3]] == ref, f'{name}: same lines as the grey PNG')

    # A colour image on the 1-channel model is its luma.
    rng = np.random.default_rng(1)
    tint = np.clip(np.stack([g * 0.9, g * 1.1, g * 0.6], -1) + rng.integers(-20, 21, (28, 28, 3)), 0, 255)
    tint = tint.astype(np.uint8)
    Image.fromarray(tint).save(w('colour.png'))
    t = tint.astype(np.int32)
    fm.write_png(w('colour_luma.png'), ((77 * t[..., 0] + 150 * t[..., 1] + 29 * t[..., 2]) >> 8).astype(np.uint8))
    rc, out, _ = tool(classify + [w('labels.rvgg'), '--top', '10', w('colour.png'), w('colour_luma.png')])
    lines = parse(out)
    check(rc == 0 and lines is not None and len(lines) == 20 and
          [l[1:] for l in lines[:10]] == [l[1:] for l in lines[10:]],
          'RGB image on a 1-channel model: the same 10 lines as its luma saved as grey')

    # Grey images on the 3-channel model. Comparisons across models and backends within 2e-4 need
    # float32 on both sides (on a CPU with FP16 arithmetic the default precision is fp16).
    fp32 = ['--precision', 'fp32']
    rc, out3_fp32, _ = tool(classify + [w('labels.rvgg'), '--top', '3'] + fp32 + png)
    lines3_fp32 = parse(out3_fp32)
    rc_rgb, out_rgb, _ = tool(classify + [w('rgb.rvgg'), '--top', '3'] + fp32 + png)
    lines_rgb = parse(out_rgb)
    ok = (rc == 0 and rc_rgb == 0 and lines_rgb is not None and lines3_fp32 is not None and
          len(lines_rgb) == len(lines3_fp32))
    check(ok, 'grey images on a 3-channel model: classified')
    if ok:
        check(all(a[1] == b[1] for a, b in zip(lines_rgb, lines3_fp32)) and
              all(abs(a[2] - b[2]) <= 2e-4 for a, b in zip(lines_rgb, lines3_fp32)),
              'grey images on the 3-channel model: the 1-channel model\'s classes and probabilities (2e-4)')

    # JPEG decodes; a larger image is resized; threads change nothing.
    Image.fromarray(g).save(w('g.jpg'), quality=95)
    Image.fromarray(g).resize((56, 56), Image.NEAREST).save(w('g56.png'))
    rc, out, _ = tool(classify + [w('labels.rvgg'), w('g.jpg'), w('g56.png')])
    lines = parse(out)
    check(rc == 0 and lines is not None and len(lines) == 2 and all(l[1] in fm.LABELS for l in lines),
          'JPEG and a 56x56 PNG (resized to 28x28) are classified')
    rc, out_t, _ = tool(classify + [w('labels.rvgg'), '--threads', '2', '--top', '3'] + png)
    check(rc == 0 and out_t == out3, '--threads 2: the same output as one thread')
    rc, out_r, _ = tool(classify + [w('labels.rvgg'), '--backend', 'reference', '--top', '3'] + png)
    lines_r = parse(out_r)
    check(rc == 0 and lines_r is not None and lines3_fp32 is not None and
          len(lines_r) == len(lines3_fp32) and
          all(a[:2] == b[:2] and abs(a[2] - b[2]) <= 2e-4 for a, b in zip(lines_r, lines3_fp32)),
          '--backend reference: the same classes and probabilities (2e-4)')

    print(f'{"FAIL" if failures else "PASS"}: rvgg-classify, {len(failures)} failed check(s)')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()

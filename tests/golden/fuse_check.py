#!/usr/bin/python3
"""Self-test of the PyTorch side of the golden tests (no C++ tools needed).

For every official variant (default 64x64, batch 2, 1000 classes):
  1. official module, randomized as make_golden does; train logits in float64;
  2. upstream-style deploy conversion (repvgg_model_convert) in float64: logits equal within 1e-4 relative
     (expect ~1e-13), and a "mixed" model (every third block converted) likewise;
  3. deploy parameter count against the paper table (1000 classes, 3 input channels);
  4. timm and MMPretrain modules load the renamed official state dict strictly (train and deploy forms)
     and give the same logits (float32, 1e-5 relative); their own reparameterisation agrees too; timm's
     per-stage group rule gives the official groups; MMPretrain's upstream deploy-SE slip is measured for D2se;
  5. a checkpoint in one (scheme, format, dtype, wrap) combination (rotating over variants) is written with
     checkpoint_io and read back bit-exactly.
Then every format x wrap x dtype combination is round-tripped on a small custom net, and a few generated
cases are fed to the PyTorch stand-in tools (fake_tools.py) through check_golden.py.
Prints one line per variant with timings; exits non-zero on any failure.
"""

import argparse
import copy
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree (CTest runs from it)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, '..', '..', 'tools', 'pytorch')))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import checkpoint_io  # noqa: E402
import golden_init  # noqa: E402
import repvgg_mmpretrain  # noqa: E402
import repvgg_official  # noqa: E402
import schemes  # noqa: E402
from variants import PAPER_DEPLOY_PARAMS_M, VARIANT_NAMES, official_spec, custom_spec  # noqa: E402

FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print('  FAILED: ' + msg, flush=True)
    return cond


def rel(a, b):
    return float((a.double() - b.double()).abs().max()) / max(float(b.double().abs().max()), 1e-30)


def load64(scheme, spec, sd, deploy_blocks=()):
    m = schemes.build(scheme, spec, deploy_blocks=deploy_blocks, init=False, dtype=torch.float64)
    m.load_state_dict({k: (v.double() if v.is_floating_point() else v) for k, v in sd.items()}, strict=True)
    return m.eval()


def load32(scheme, spec, sd, deploy_blocks=()):
    m = schemes.build(scheme, spec, deploy_blocks=deploy_blocks, init=False)
    m.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}, strict=True)
    return m.eval()


COMBOS = [  # (scheme, format, dtype, wrap) rotated over the variants for the per-variant file round trip
    ('official', 'pth', 'f32', 'none'), ('timm', 'safetensors', 'f32', 'none'),
    ('mmpretrain', 'pth', 'f16', 'state_dict'), ('official', 'pth', 'bf16', 'model'),
    ('timm', 'bin', 'f32', 'state_dict'), ('official', 'pth', 'f32', 'state_dict+module'),
    ('timm', 'safetensors', 'bf16', 'module'), ('mmpretrain', 'pth', 'f32', 'model_ema'),
    ('official', 'safetensors', 'f16', 'none'), ('official', 'bin', 'f32', 'module'),
]


def roundtrip(sd, tmp, scheme, fmt, dtype, wrap, arch='RepVGG-x'):
    d = os.path.join(tmp, f'rt_{scheme}_{fmt}_{dtype}_{wrap}')
    os.makedirs(d, exist_ok=True)
    sd_s = checkpoint_io.cast_state_dict(schemes.rename_from_official(scheme, sd), checkpoint_io.DTYPES[dtype])
    other = None
    if wrap == 'model_ema':
        other = {k: (v * 2 if v.is_floating_point() else v) for k, v in sd_s.items()}
    path, key = checkpoint_io.save_checkpoint(sd_s, d, fmt, wrap, scheme, arch, other_sd=other)
    back = checkpoint_io.load_state_dict(path, key)
    ok = sorted(back) == sorted(sd_s) and all(
        back[k].dtype == v.dtype and back[k].shape == v.shape and torch.equal(back[k], v) for k, v in sd_s.items())
    size = os.path.getsize(path)
    shutil.rmtree(d)
    return ok, size


def variant_check(v, idx, args, tmp):
    t0 = time.perf_counter()
    h, w = args.size
    spec = official_spec(v, num_classes=args.classes)
    rng_w = np.random.default_rng([args.seed, 3])
    x = golden_init.make_images(np.random.default_rng([args.seed, 1]), args.batch, 3, h, w)
    calib = torch.cat([x, golden_init.make_images(np.random.default_rng([args.seed, 2]), 4, 3, h, w)])
    m = schemes.build('official', spec, init=False)
    golden_init.randomize(m, calib, rng_w, n_track=args.batch)
    sd = m.state_dict()
    del m
    t_rand = time.perf_counter() - t0
    names = [n for n, _ in spec_blocks(spec)]
    mixed = [n for i, n in enumerate(names) if i % 3 == 0]
    notes = []

    # 1-2. official, float64: train vs upstream deploy conversion vs mixed
    t = time.perf_counter()
    x64 = x.double()
    ref = load64('official', spec, sd)
    with torch.no_grad():
        y_train = ref(x64)
        dep = repvgg_official.repvgg_model_convert(ref, do_copy=True)
        y_dep = dep(x64)
        mix = copy.deepcopy(ref)
        schemes.switch_blocks(mix, mixed)
        y_mix = mix(x64)
    sd_dep = dep.state_dict()
    sd_mix = mix.state_dict()
    del mix
    r_dep, r_mix = rel(y_dep, y_train), rel(y_mix, y_train)
    check(r_dep <= 1e-4, f'{v}: official deploy vs train rel {r_dep:.2e}')
    check(r_mix <= 1e-4, f'{v}: official mixed vs train rel {r_mix:.2e}')
    check(all('rbr_dense' not in k and 'rbr_1x1' not in k and 'rbr_identity' not in k for k in sd_dep),
          f'{v}: deploy state dict still has train branches')
    diag = golden_init.logit_diagnostics(y_train)
    check(0.3 < diag['max_abs_logit'] < 1000 and diag['batch_variation'] > 0.02,
          f'{v}: badly conditioned logits {diag}')
    # 3. deploy parameter count
    if args.classes == 1000 and v in PAPER_DEPLOY_PARAMS_M:
        n = sum(p.numel() for p in dep.parameters()) / 1e6
        check(abs(n - PAPER_DEPLOY_PARAMS_M[v]) < 0.015, f'{v}: deploy params {n:.3f}M, paper {PAPER_DEPLOY_PARAMS_M[v]}M')
        notes.append(f'params {n:.2f}M')
    del ref, dep
    t_off = time.perf_counter() - t

    # 4. timm / MMPretrain, float32
    t = time.perf_counter()
    with torch.no_grad():
        y32 = load32('official', spec, sd)(x)
        off_groups = [b.rbr_dense.conv.groups for _, b in load32('official', spec, sd).rvgg_blocks()]
        for scheme in ('timm', 'mmpretrain'):
            sdr = schemes.rename_from_official(scheme, sd)
            mm = load32(scheme, spec, sdr)
            y = mm(x)
            check(rel(y, y32) <= 1e-5, f'{v}: {scheme} train vs official rel {rel(y, y32):.2e}')
            if scheme == 'timm':
                check(mm.block_groups() == off_groups, f'{v}: timm groups {mm.block_groups()} != official {off_groups}')
            # own reparameterisation
            mm2 = copy.deepcopy(mm)
            schemes.switch_blocks(mm2, names)
            y2 = mm2(x)
            check(rel(y2, y32) <= 1e-4, f'{v}: {scheme} own deploy vs official train rel {rel(y2, y32):.2e}')
            # renamed official deploy / mixed checkpoints load into the scheme's deploy forms
            y3 = load32(scheme, spec, schemes.rename_from_official(scheme, sd_dep), deploy_blocks=names)(x)
            check(rel(y3, y32) <= 1e-4, f'{v}: {scheme} loading official deploy rel {rel(y3, y32):.2e}')
            y4 = load32(scheme, spec, schemes.rename_from_official(scheme, sd_mix), deploy_blocks=mixed)(x)
            check(rel(y4, y32) <= 1e-4, f'{v}: {scheme} loading official mixed rel {rel(y4, y32):.2e}')
            if scheme == 'mmpretrain' and spec.use_se:
                repvgg_mmpretrain.RepVGGBlock.DEPLOY_SKIPS_SE = True
                try:
                    y5 = mm2(x)
                finally:
                    repvgg_mmpretrain.RepVGGBlock.DEPLOY_SKIPS_SE = False
                notes.append(f'MMPretrain upstream deploy forward (SE skipped) is off by {rel(y5, y32):.1e} x max|logit|')
            del mm, mm2
    t_schemes = time.perf_counter() - t

    # 5. one file round trip
    t = time.perf_counter()
    combo = COMBOS[idx % len(COMBOS)]
    ok, size = roundtrip(sd_dep if idx % 2 else sd, tmp, *combo)
    check(ok, f'{v}: round trip {combo} changed tensors')
    t_io = time.perf_counter() - t

    total = time.perf_counter() - t0
    print(f'{v:5s} deploy rel {r_dep:.1e} mixed {r_mix:.1e} | max|logit| {diag["max_abs_logit"]:.2f} '
          f'batch var {diag["batch_variation"]:.2f} | timm+mmpretrain ok | file {"/".join(combo)} {size / 1e6:.0f} MB | '
          f'{total:.1f} s (rand {t_rand:.1f}, f64 {t_off:.1f}, schemes {t_schemes:.1f}, io {t_io:.1f})'
          + (' | ' + '; '.join(notes) if notes else ''), flush=True)


def spec_blocks(spec):
    return [(n, None) for _, n, *_ in spec.block_layout()]


def io_matrix(tmp):
    """Every format x wrap x dtype on a small custom net (SE, groups) in every scheme."""
    spec = custom_spec([1, 2, 2, 1], widths=[16, 16, 32, 64, 128], num_classes=10, in_channels=1,
                       groups_map={2: 2, 4: 2}, use_se=True)
    m = schemes.build('official', spec)
    x = golden_init.make_images(np.random.default_rng(5), 2, 1, 28, 28)
    golden_init.randomize(m, torch.cat([x, x.flip(0)]), np.random.default_rng(6), n_track=2)
    sd = m.state_dict()
    n = 0
    for scheme in schemes.SCHEMES:
        for fmt in checkpoint_io.FORMATS:
            wraps = ['none', 'module'] if fmt == 'safetensors' else checkpoint_io.WRAPS
            for wrap in wraps:
                for dtype in checkpoint_io.DTYPES:
                    ok, _ = roundtrip(sd, tmp, scheme, fmt, dtype, wrap)
                    check(ok, f'io matrix: {scheme}/{fmt}/{dtype}/{wrap} round trip changed tensors')
                    n += 1
    # safetensors files are valid: header length, alignment, offsets cover the data exactly
    path = os.path.join(tmp, 'x.safetensors')
    checkpoint_io.save_safetensors(checkpoint_io.cast_state_dict(sd, torch.bfloat16), path)
    with open(path, 'rb') as f:
        raw = f.read()
    (hl,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + hl])
    check(hl % 8 == 0, 'safetensors header not 8-byte padded')
    check(header.get('__metadata__') == {'format': 'pt'}, 'safetensors metadata')
    spans = sorted(tuple(v['data_offsets']) for k, v in header.items() if k != '__metadata__')
    check(spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:])) and spans[-1][1] == len(raw) - 8 - hl,
          'safetensors data offsets do not tile the data section')
    check(header['stage0.rbr_dense.bn.num_batches_tracked']['dtype'] == 'I64', 'num_batches_tracked not I64')
    print(f'io matrix: {n} scheme x format x wrap x dtype round trips ok; safetensors layout ok', flush=True)


def tools_smoke(tmp):
    """check_golden.py end to end with the PyTorch stand-in tools (fake_tools.py)."""
    fake = os.path.join(HERE, 'fake_tools.py')
    conv = os.path.join(tmp, 'rvgg-convert')
    run = os.path.join(tmp, 'rvgg-run')
    for path, sub in ((conv, 'convert'), (run, 'run')):
        with open(path, 'w') as f:
            f.write(f'#!/bin/sh\nexec {sys.executable} {fake} {sub} "$@"\n')
        os.chmod(path, 0o755)
    cases = [
        ['--variant', 'A0', '--scheme', 'timm', '--format', 'safetensors', '--dtype', 'bf16', '--deploy', 'mixed'],
        ['--variant', 'custom', '--in-channels', '1', '--classes', '10', '--input-size', '28', '--custom-se',
         '--custom-groups', '2:2,4:2', '--scheme', 'mmpretrain', '--wrap', 'model_ema'],
        ['--variant', 'A0', '--input-size', '64x96', '--wrap', 'state_dict+module', '--deploy', 'deploy'],
    ]
    for c in cases:
        cmd = [sys.executable, os.path.join(HERE, 'check_golden.py'), '--convert', conv, '--run', run,
               '--work', os.path.join(tmp, 'case')] + c
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print('  ' + r.stdout.strip().replace('\n', '\n  '), flush=True)
        check(r.returncode == 0, f'check_golden with fake tools failed: {" ".join(c)}')
    # a wrong model must fail
    cmd = [sys.executable, os.path.join(HERE, 'check_golden.py'), '--run', f'{sys.executable} -c "import sys, numpy; '
           f'numpy.save(sys.argv[sys.argv.index(\'--output\') + 1], numpy.zeros((2, 1000), numpy.float32))"',
           '--work', os.path.join(tmp, 'case'), '--run-only']
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(r.returncode == 1 and r.stdout.startswith('FAIL'), 'check_golden accepted wrong logits')
    print('  wrong logits rejected: ' + r.stdout.splitlines()[0][:100], flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--variants', default=','.join(VARIANT_NAMES))
    p.add_argument('--input-size', default='64')
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--classes', type=int, default=1000)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--skip-tools', action='store_true', help='skip the check_golden.py smoke test')
    args = p.parse_args(argv)
    s = args.input_size.lower()
    args.size = tuple(int(v) for v in s.split('x')) if 'x' in s else (int(s), int(s))
    print(f'torch {torch.__version__}, numpy {np.__version__}, {torch.get_num_threads()} threads, '
          f'input {args.size[0]}x{args.size[1]}, batch {args.batch}', flush=True)
    t0 = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix='rvgg_fuse_check_')
    try:
        for i, v in enumerate(args.variants.split(',')):
            variant_check(v, i, args, tmp)
        t = time.perf_counter()
        io_matrix(tmp)
        print(f'  ({time.perf_counter() - t:.1f} s)')
        if not args.skip_tools:
            t = time.perf_counter()
            print('check_golden.py with fake_tools.py:', flush=True)
            tools_smoke(tmp)
            print(f'  ({time.perf_counter() - t:.1f} s)')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f'total {time.perf_counter() - t0:.1f} s, {len(FAILURES)} failure(s)')
    for f in FAILURES:
        print('FAILED: ' + f)
    return 1 if FAILURES else 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/python3
"""Generates one golden case: a RepVGG checkpoint with random, well-conditioned weights, an input and the
PyTorch logits.

  make_golden.py --variant A0 --scheme official --format pth --dtype f32 --wrap none --deploy train \
                 --input-size 64 --batch 2 --out DIR

writes DIR/checkpoint.pth | DIR/pytorch_model.bin | DIR/model.safetensors, DIR/input.npy (float32 NCHW),
DIR/logits.npy (float32 [N, classes], computed in float64 from exactly the stored -- possibly f16/bf16 --
weights, in eval mode, by the module of the requested naming scheme) and DIR/meta.json.
"""

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree (CTest runs from it)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, '..', '..', 'tools', 'pytorch')))

import numpy as np  # noqa: E402

from variants import VARIANT_NAMES, official_spec, custom_spec  # noqa: E402

# torch (about a second of CPU to import) and the modules built on it are imported by generate() only, so that
# check_golden.py --run-only and the argument parsing stay light. The choices below are checked against those
# modules' own tables there.
SCHEME_CHOICES = ['mmpretrain', 'official', 'timm']
FORMAT_FILES = {'pth': 'checkpoint.pth', 'bin': 'pytorch_model.bin', 'safetensors': 'model.safetensors'}
DTYPE_CHOICES = ['f32', 'f16', 'bf16']
WRAP_CHOICES = ['none', 'state_dict', 'model', 'model_ema', 'module', 'state_dict+module']

DEPLOY_MODES = ['train', 'deploy', 'mixed']
# Bump when the generated files change for the same arguments (weights recipe, input images, file layout):
# check_golden.py --reuse then regenerates instead of reusing stale cases.
GENERATOR_VERSION = 1
GOLDEN_FILES = ('input.npy', 'logits.npy', 'meta.json')


def parse_size(s):
    s = str(s).lower()
    if 'x' in s:
        h, w = s.split('x', 1)
        return int(h), int(w)
    return int(s), int(s)


def parse_int_list(s):
    return [int(v) for v in s.split(',') if v.strip()] if s else []


def parse_groups(s):
    """'2:2,4:2' -> {2: 2, 4: 2}"""
    out = {}
    for item in (s or '').split(','):
        if item.strip():
            k, v = item.split(':')
            out[int(k)] = int(v)
    return out


def add_golden_args(p):
    g = p.add_argument_group('golden case')
    g.add_argument('--variant', default='A0', help='|'.join(VARIANT_NAMES) + '|custom (RepVGG- prefix allowed)')
    g.add_argument('--scheme', default='official', choices=SCHEME_CHOICES)
    g.add_argument('--format', default='pth', choices=list(FORMAT_FILES))
    g.add_argument('--dtype', default='f32', choices=DTYPE_CHOICES)
    g.add_argument('--wrap', default='none', choices=WRAP_CHOICES)
    g.add_argument('--deploy', default='train', choices=DEPLOY_MODES,
                   help='train: multi-branch; deploy: every block fused; mixed: blocks with global index %% 3 == 0 '
                        'fused, the rest multi-branch')
    g.add_argument('--input-size', default='64', help='N or HxW')
    g.add_argument('--batch', type=int, default=2)
    g.add_argument('--classes', type=int, default=1000)
    g.add_argument('--in-channels', type=int, default=3)
    g.add_argument('--seed', type=int, default=0)
    g.add_argument('--custom-blocks', default='1,2,2,1', help='custom: blocks per stage 1..4')
    g.add_argument('--custom-widths', default='16,16,32,64,128', help='custom: widths of stage0..stage4')
    g.add_argument('--custom-groups', default='', help="custom: global block index -> groups, e.g. '2:2,4:2'")
    g.add_argument('--custom-se', action='store_true', help='custom: SE in every block (D2se style)')
    g.add_argument('--verify', action='store_true', help='read the checkpoint back and compare every tensor')
    return p


def canonical_variant(v):
    v = v.strip()
    if v.lower().startswith('repvgg-'):
        v = v[len('repvgg-'):]
    for n in VARIANT_NAMES + ['custom']:
        if n.lower() == v.lower():
            return n
    raise SystemExit(f'make_golden: unknown variant {v!r} (choose {", ".join(VARIANT_NAMES)}, custom)')


def spec_from_args(args):
    variant = canonical_variant(args.variant)
    if variant == 'custom':
        return custom_spec(parse_int_list(args.custom_blocks), widths=parse_int_list(args.custom_widths),
                           num_classes=args.classes, in_channels=args.in_channels,
                           groups_map=parse_groups(args.custom_groups), use_se=args.custom_se)
    return official_spec(variant, num_classes=args.classes, in_channels=args.in_channels)


def case_args(args):
    """The arguments that determine the generated files (for --reuse and meta.json)."""
    keys = ['variant', 'scheme', 'format', 'dtype', 'wrap', 'deploy', 'input_size', 'batch', 'classes',
            'in_channels', 'seed']
    d = {k: getattr(args, k) for k in keys}
    d['generator_version'] = GENERATOR_VERSION
    d['variant'] = canonical_variant(d['variant'])
    d['input_size'] = 'x'.join(str(v) for v in parse_size(args.input_size))
    if d['variant'] == 'custom':
        d.update(custom_blocks=args.custom_blocks, custom_widths=args.custom_widths,
                 custom_groups=args.custom_groups, custom_se=bool(args.custom_se))
    return d


def case_label(args):
    d = case_args(args)
    return (f"{d['variant']}/{d['scheme']}/{d['format']}/{d['dtype']}/{d['wrap']}/{d['deploy']}"
            f" {d['input_size']} b{d['batch']} c{d['classes']} in{d['in_channels']}")


def deploy_block_names(all_names, mode):
    if mode == 'train':
        return []
    if mode == 'deploy':
        return list(all_names)
    return [n for i, n in enumerate(all_names) if i % 3 == 0]


def existing_case_matches(out_dir, args):
    try:
        with open(os.path.join(out_dir, 'meta.json')) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    if meta.get('case') != case_args(args):
        return False
    files = list(GOLDEN_FILES) + [meta.get('checkpoint', '')]
    return all(os.path.isfile(os.path.join(out_dir, f)) for f in files)


def generate(args, out_dir, log=print):
    import torch
    import checkpoint_io
    import golden_init
    import schemes
    assert (sorted(schemes.SCHEMES) == SCHEME_CHOICES and checkpoint_io.FORMATS == FORMAT_FILES and
            list(checkpoint_io.DTYPES) == DTYPE_CHOICES and checkpoint_io.WRAPS == WRAP_CHOICES)
    t_start = time.perf_counter()
    cpu_start = time.process_time()
    timing = {}
    spec = spec_from_args(args)
    h, w = parse_size(args.input_size)
    if args.format == 'safetensors' and args.wrap not in ('none', 'module'):
        raise SystemExit('make_golden: safetensors holds only tensors; use --wrap none or module')
    os.makedirs(out_dir, exist_ok=True)
    for f in list(GOLDEN_FILES) + list(FORMAT_FILES.values()):
        p = os.path.join(out_dir, f)
        if os.path.exists(p):
            os.remove(p)

    rng_w = np.random.default_rng([args.seed, 3])
    rng_in = np.random.default_rng([args.seed, 1])
    rng_cal = np.random.default_rng([args.seed, 2])

    t = time.perf_counter()
    model = schemes.build(args.scheme, spec, init=False)
    timing['build'] = time.perf_counter() - t

    # The test inputs are part of the calibration batch (see golden_init), plus a few more images.
    t = time.perf_counter()
    x = golden_init.make_images(rng_in, args.batch, spec.in_channels, h, w)
    n_extra = max(2, min(6, int(4 * 64 * 64 / (h * w))))
    calib = torch.cat([x, golden_init.make_images(rng_cal, n_extra, spec.in_channels, h, w)])
    block_stats = golden_init.randomize(model, calib, rng_w, n_track=min(args.batch, 4))
    del calib
    timing['randomize'] = time.perf_counter() - t

    t = time.perf_counter()
    names = schemes.block_names(model)
    deploy_names = deploy_block_names(names, args.deploy)
    # Fuse in float32: the golden logits are computed from the stored (fused, rounded) tensors, so the
    # precision of the fusion itself does not matter, and float64 doubles the memory traffic.
    with schemes.no_init():
        for name, blk in model.rvgg_blocks():
            if name in deploy_names:
                blk.rvgg_switch_to_deploy()
    store_dtype = checkpoint_io.DTYPES[args.dtype]
    sd = checkpoint_io.cast_state_dict(model.state_dict(), store_dtype)
    del model
    other_sd = None
    if args.wrap == 'model_ema':
        # The non-averaged weights: the same tensors, visibly perturbed.
        g = torch.Generator().manual_seed(args.seed + 7)
        other_sd = checkpoint_io.cast_state_dict(
            {k: (v.float() * (1 + 0.1 * torch.randn(v.shape, generator=g)) if v.is_floating_point() else v)
             for k, v in sd.items()}, store_dtype)
    timing['convert'] = time.perf_counter() - t

    t = time.perf_counter()
    ckpt_path, weights_key = checkpoint_io.save_checkpoint(sd, out_dir, args.format, args.wrap, args.scheme,
                                                            schemes.arch_label(args.scheme, spec), other_sd=other_sd)
    timing['save'] = time.perf_counter() - t

    if args.verify:
        t = time.perf_counter()
        back = checkpoint_io.load_state_dict(ckpt_path, weights_key)
        assert list(back) == list(sd) or sorted(back) == sorted(sd), 'key set changed on reload'
        for k, v in sd.items():
            assert back[k].dtype == v.dtype and torch.equal(back[k], v), f'{k} changed on reload'
        timing['verify'] = time.perf_counter() - t

    # Reference: float64 eval-mode forward of exactly the stored tensors, by the scheme's own modules.
    t = time.perf_counter()
    ref = schemes.build(args.scheme, spec, deploy_blocks=deploy_names, init=False, dtype=torch.float64)
    ref.load_state_dict({k: (v.double() if v.is_floating_point() else v) for k, v in sd.items()}, strict=True)
    logits64 = golden_init.model_logits(ref, x.double())
    timing['logits_f64'] = time.perf_counter() - t
    diag = golden_init.logit_diagnostics(logits64)

    problems = []
    if not (0.3 <= diag['max_abs_logit'] <= 1000):
        problems.append(f"max|logit| = {diag['max_abs_logit']:.3g} outside [0.3, 1000]")
    if args.batch > 1 and not diag['batch_variation'] >= 0.01:
        problems.append(f"logits barely vary across the batch ({diag['batch_variation']:.3g})")
    if not torch.isfinite(logits64).all():
        problems.append('non-finite logits')
    if problems:
        raise SystemExit('make_golden: badly conditioned case: ' + '; '.join(problems))

    np.save(os.path.join(out_dir, 'input.npy'), x.numpy().astype(np.float32))
    np.save(os.path.join(out_dir, 'logits.npy'), logits64.numpy().astype(np.float32))
    n_params = sum(int(v.numel()) for k, v in sd.items() if v.is_floating_point())
    timing['total'] = time.perf_counter() - t_start
    timing['cpu'] = time.process_time() - cpu_start
    meta = {
        'case': case_args(args),
        'label': case_label(args),
        'variant': spec.name,
        'scheme': args.scheme,
        'format': args.format,
        'dtype': args.dtype,
        'wrap': args.wrap,
        'deploy': args.deploy,
        'input_size': [h, w],
        'input_shape': list(x.shape),
        'batch': args.batch,
        'classes': spec.num_classes,
        'in_channels': spec.in_channels,
        'num_blocks': spec.num_blocks,
        'widths': spec.widths,
        'groups_map': {str(k): v for k, v in sorted(spec.groups_map.items())},
        'use_se': spec.use_se,
        'seed': args.seed,
        'checkpoint': os.path.basename(ckpt_path),
        'checkpoint_bytes': os.path.getsize(ckpt_path),
        'weights_key': weights_key,
        'module_prefix': args.wrap in ('module', 'state_dict+module'),
        'deploy_blocks': deploy_names,
        'num_tensors': len(sd),
        'num_float_values': n_params,
        'logit_scale': diag['max_abs_logit'],
        'logit_std': diag['logit_std'],
        'batch_variation': diag['batch_variation'],
        'max_block_gain': max(b['gain'] for b in block_stats),
        'min_active_fraction': min(b['pos'] for b in block_stats),
        'reference': 'float64 eval-mode forward of the stored tensors (PyTorch modules of the same scheme)',
        'torch_version': torch.__version__,
        'numpy_version': np.__version__,
        'timing_s': {k: round(v, 3) for k, v in timing.items()},
    }
    with open(os.path.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    log(f"generated {meta['label']}: {meta['checkpoint']} {meta['checkpoint_bytes'] / 1e6:.1f} MB, "
        f"max|logit| {diag['max_abs_logit']:.3f}, batch variation {diag['batch_variation']:.3f}, "
        f"{timing['total']:.2f} s ({timing['cpu']:.2f} s CPU)")
    return meta


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_golden_args(p)
    p.add_argument('--out', required=True, help='output directory')
    args = p.parse_args(argv)
    generate(args, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/python3
"""A PyTorch stand-in for rvgg-convert and rvgg-run, with the same command lines, for testing the golden
driver (check_golden.py) before the C++ tools exist, and for showing that an independent float32 fused
implementation meets the tolerance.

  fake_tools.py convert CHECKPOINT -o MODEL [--input-size N|HxW] [--mean ..] [--std ..] [--labels FILE]
  fake_tools.py run MODEL --input X.npy --output Y.npy [--threads N] [--backend xnnpack|reference]

The "model" is a torch.save'd list of fused float32 layers. Like the real converter, it reads only the
checkpoint: it unwraps (model_ema > state_dict > model > plain), strips 'module.', recognises the naming scheme
from the keys, infers widths, groups and SE from tensor shapes and fuses every block in float32.
It is not part of the product.
"""

import argparse
import os
import re
import sys

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree (CTest runs from it)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, '..', '..', 'tools', 'pytorch')))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import checkpoint_io  # noqa: E402

EPS = 1e-5


def unwrap(obj):
    if isinstance(obj, dict) and not all(torch.is_tensor(v) for v in obj.values()):
        for key in ('model_ema', 'state_dict', 'model'):
            if key in obj and isinstance(obj[key], dict):
                return unwrap(obj[key])
        raise SystemExit('fake convert: no state dict in checkpoint')
    sd = dict(obj)
    if sd and all(k.startswith('module.') for k in sd):
        sd = {k[len('module.'):]: v for k, v in sd.items()}
    return sd


def to_official(sd):
    """Any of the three schemes -> official key names."""
    if any(k.startswith('stage0.') for k in sd):
        return sd
    out = {}
    if any(k.startswith('backbone.') for k in sd):
        pairs = [('branch_3x3.conv.', 'rbr_dense.conv.'), ('branch_3x3.norm.', 'rbr_dense.bn.'),
                 ('branch_1x1.conv.', 'rbr_1x1.conv.'), ('branch_1x1.norm.', 'rbr_1x1.bn.'),
                 ('branch_norm.', 'rbr_identity.'), ('se_layer.conv1.conv.', 'se.down.'),
                 ('se_layer.conv2.conv.', 'se.up.'), ('branch_reparam.', 'rbr_reparam.')]
        for k, v in sd.items():
            if k.startswith('head.fc.'):
                out['linear.' + k[len('head.fc.'):]] = v
                continue
            m = re.match(r'backbone\.(stem|stage_(\d)\.(\d+))\.(.*)', k)
            blk = 'stage0' if m.group(1) == 'stem' else f'stage{m.group(2)}.{m.group(3)}'
            rest = m.group(4)
            for a, b in pairs:
                if rest.startswith(a):
                    rest = b + rest[len(a):]
                    break
            out[f'{blk}.{rest}'] = v
        return out
    pairs = [('conv_kxk.conv.', 'rbr_dense.conv.'), ('conv_kxk.bn.', 'rbr_dense.bn.'),
             ('conv_1x1.conv.', 'rbr_1x1.conv.'), ('conv_1x1.bn.', 'rbr_1x1.bn.'), ('identity.', 'rbr_identity.'),
             ('attn.fc1.', 'se.down.'), ('attn.fc2.', 'se.up.'), ('reparam_conv.', 'rbr_reparam.')]
    for k, v in sd.items():
        if k.startswith('head.fc.'):
            out['linear.' + k[len('head.fc.'):]] = v
            continue
        m = re.match(r'(stem|stages\.(\d)\.(\d+))\.(.*)', k)
        blk = 'stage0' if m.group(1) == 'stem' else f'stage{int(m.group(2)) + 1}.{m.group(3)}'
        rest = m.group(4)
        for a, b in pairs:
            if rest.startswith(a):
                rest = b + rest[len(a):]
                break
        out[f'{blk}.{rest}'] = v
    return out


def fuse_bn(kernel, sd, p):
    std = (sd[p + 'running_var'] + EPS).sqrt()
    t = sd[p + 'weight'] / std
    return kernel * t.reshape(-1, 1, 1, 1), sd[p + 'bias'] - sd[p + 'running_mean'] * t


def convert(args):
    if args.checkpoint.endswith('.safetensors'):
        sd, _ = checkpoint_io.load_safetensors(args.checkpoint)
    else:
        sd = torch.load(args.checkpoint, map_location='cpu')
    sd = {k: (v.float() if v.is_floating_point() else v) for k, v in to_official(unwrap(sd)).items()}
    names = sorted({m.group(1) for k in sd for m in [re.match(r'(stage\d(?:\.\d+)?)\.', k)] if m},
                   key=lambda n: (int(n[5]), int(n.split('.')[1]) if '.' in n else -1))
    layers = []
    for i, n in enumerate(names):
        if n + '.rbr_reparam.weight' in sd:
            k, b = sd[n + '.rbr_reparam.weight'], sd[n + '.rbr_reparam.bias']
        else:
            k, b = fuse_bn(sd[n + '.rbr_dense.conv.weight'], sd, n + '.rbr_dense.bn.')
            k1, b1 = fuse_bn(sd[n + '.rbr_1x1.conv.weight'], sd, n + '.rbr_1x1.bn.')
            k = k + F.pad(k1, [1, 1, 1, 1])
            b = b + b1
            if n + '.rbr_identity.weight' in sd:
                cin = k.shape[0]
                per_group = k.shape[1]
                ident = torch.zeros_like(k)
                for c in range(cin):
                    ident[c, c % per_group, 1, 1] = 1
                ki, bi = fuse_bn(ident, sd, n + '.rbr_identity.')
                k, b = k + ki, b + bi
        first = n == 'stage0' or n.endswith('.0')
        # groups = input channels / kernel input channels; the input is the previous block's output.
        groups = layers[-1]['weight'].shape[0] // k.shape[1] if layers else 1
        se = None
        if n + '.se.down.weight' in sd:
            se = tuple(sd[n + s].flatten(1) if s.endswith('weight') else sd[n + s]
                       for s in ('.se.down.weight', '.se.down.bias', '.se.up.weight', '.se.up.bias'))
        layers.append({'name': n, 'weight': k.contiguous(), 'bias': b, 'stride': 2 if first else 1,
                       'groups': groups, 'se': se})
    model = {'layers': layers, 'fc_weight': sd['linear.weight'], 'fc_bias': sd['linear.bias'],
             'input_size': args.input_size}
    torch.save(model, args.output)
    return 0


@torch.no_grad()
def run(args):
    model = torch.load(args.model)
    x = torch.from_numpy(np.load(args.input)).float()
    for L in model['layers']:
        x = F.conv2d(x, L['weight'], L['bias'], stride=L['stride'], padding=1, groups=L['groups'])
        if L['se'] is not None:
            dw, db, uw, ub = L['se']
            s = torch.sigmoid(F.relu(x.mean((2, 3)) @ dw.t() + db) @ uw.t() + ub)
            x = x * s[:, :, None, None]
        x = F.relu(x)
    y = x.mean((2, 3)) @ model['fc_weight'].t() + model['fc_bias']
    np.save(args.output, y.numpy().astype(np.float32))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='tool', required=True)
    c = sub.add_parser('convert')
    c.add_argument('checkpoint')
    c.add_argument('-o', dest='output', required=True)
    c.add_argument('--input-size')
    c.add_argument('--mean')
    c.add_argument('--std')
    c.add_argument('--labels')
    r = sub.add_parser('run')
    r.add_argument('model')
    r.add_argument('--input', required=True)
    r.add_argument('--output', required=True)
    r.add_argument('--threads', type=int)
    r.add_argument('--backend', choices=['xnnpack', 'reference'])
    args = p.parse_args(argv)
    return convert(args) if args.tool == 'convert' else run(args)


if __name__ == '__main__':
    sys.exit(main())

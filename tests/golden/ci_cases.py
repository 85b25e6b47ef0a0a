#!/usr/bin/python3
"""The golden cases recommended for CI, in one place.

  ci_cases.py --list            one case per line: NAME<TAB>make_golden/check_golden arguments
  ci_cases.py --names           test names only
  ci_cases.py --measure DIR     generate every case into DIR/NAME, print wall/CPU time and checkpoint size
                                (--only NAME[,NAME...] to measure a subset)

Coverage, at 64x64 batch 2 unless noted: every official variant once; every naming scheme, file format, storage
dtype, wrapper and deploy mode several times (see the table printed by --coverage); grouped blocks in train,
deploy and mixed form; SE (D2se and small custom nets) in all three schemes and all three deploy modes; A0 and
B1g4 at 224x224; 1-channel 10-class 28x28 custom nets (stage4 at 1x1); non-square 64x96 and 40x72 inputs;
batch 1 and 3. The large variants are stored in f16/bf16 to halve their files.
"""

import argparse
import os
import shlex
import sys
import time

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree (CTest runs from it)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CUSTOM_SE = ['--variant', 'custom', '--custom-blocks', '1,2,2,1', '--custom-widths', '16,16,32,64,128',
             '--custom-se', '--custom-groups', '2:2,4:2']


def _c(variant, scheme, fmt, dtype, wrap, deploy, size='64', extra=()):
    args = ['--variant', variant, '--scheme', scheme, '--format', fmt, '--dtype', dtype, '--wrap', wrap,
            '--deploy', deploy, '--input-size', size] + list(extra)
    return args


# (name, arguments). Names are stable CTest-friendly identifiers.
CASES = [
    ('A0_official_pth_f32_none_train', _c('A0', 'official', 'pth', 'f32', 'none', 'train')),
    ('A1_timm_safetensors_f32_none_deploy', _c('A1', 'timm', 'safetensors', 'f32', 'none', 'deploy')),
    ('A2_mmpretrain_pth_f32_state_dict_mixed', _c('A2', 'mmpretrain', 'pth', 'f32', 'state_dict', 'mixed')),
    ('B0_official_pth_f16_model_ema_train', _c('B0', 'official', 'pth', 'f16', 'model_ema', 'train')),
    ('B1_timm_bin_f32_state_dict_mixed', _c('B1', 'timm', 'bin', 'f32', 'state_dict', 'mixed')),
    ('B1g2_official_pth_f32_state_dict+module_deploy',
     _c('B1g2', 'official', 'pth', 'f32', 'state_dict+module', 'deploy')),
    ('B1g4_mmpretrain_pth_bf16_model_ema_train', _c('B1g4', 'mmpretrain', 'pth', 'bf16', 'model_ema', 'train')),
    ('B2_official_safetensors_bf16_module_mixed', _c('B2', 'official', 'safetensors', 'bf16', 'module', 'mixed')),
    ('B2g2_mmpretrain_pth_f16_state_dict_deploy', _c('B2g2', 'mmpretrain', 'pth', 'f16', 'state_dict', 'deploy')),
    ('B2g4_timm_safetensors_f16_none_train', _c('B2g4', 'timm', 'safetensors', 'f16', 'none', 'train')),
    ('B3_official_pth_bf16_module_deploy', _c('B3', 'official', 'pth', 'bf16', 'module', 'deploy')),
    ('B3g2_timm_bin_bf16_none_mixed', _c('B3g2', 'timm', 'bin', 'bf16', 'none', 'mixed')),
    ('B3g4_mmpretrain_pth_f16_state_dict+module_train',
     _c('B3g4', 'mmpretrain', 'pth', 'f16', 'state_dict+module', 'train')),
    # timm's D2se: SE widths by its own rule (round-half-up C/16), SE on the stem too; mixed deploy.
    ('D2se_timm_pth_f16_model_mixed', _c('D2se', 'timm', 'pth', 'f16', 'model', 'mixed')),
    ('A0_timm_safetensors_f32_none_train_224', _c('A0', 'timm', 'safetensors', 'f32', 'none', 'train', '224')),
    ('B1g4_official_pth_f32_none_deploy_224', _c('B1g4', 'official', 'pth', 'f32', 'none', 'deploy', '224')),
    ('A0_mmpretrain_pth_f32_state_dict_deploy_64x96',
     _c('A0', 'mmpretrain', 'pth', 'f32', 'state_dict', 'deploy', '64x96')),
    ('custom1ch_official_pth_f32_none_train_28',
     _c('custom', 'official', 'pth', 'f32', 'none', 'train', '28',
        ['--in-channels', '1', '--classes', '10', '--custom-blocks', '1,2,2,1',
         '--custom-widths', '16,16,32,64,128'])),
    ('custom1ch_se_g2_timm_safetensors_f32_none_mixed_28',
     _c('custom', 'timm', 'safetensors', 'f32', 'none', 'mixed', '28',
        ['--in-channels', '1', '--classes', '10'] + CUSTOM_SE[2:])),
    ('custom1ch_se_g2_mmpretrain_pth_f32_state_dict_deploy_28',
     _c('custom', 'mmpretrain', 'pth', 'f32', 'state_dict', 'deploy', '28',
        ['--in-channels', '1', '--classes', '10'] + CUSTOM_SE[2:])),
    ('custom_se_g2_timm_bin_f16_state_dict_deploy_40x72_b3',
     _c('custom', 'timm', 'bin', 'f16', 'state_dict', 'deploy', '40x72', ['--batch', '3'] + CUSTOM_SE[2:])),
    ('custom_se_g2_official_pth_f32_model_mixed_64_b1',
     _c('custom', 'official', 'pth', 'f32', 'model', 'mixed', '64', ['--batch', '1'] + CUSTOM_SE[2:])),
]


def coverage():
    from collections import Counter
    keys = {'--variant': Counter(), '--scheme': Counter(), '--format': Counter(), '--dtype': Counter(),
            '--wrap': Counter(), '--deploy': Counter()}
    for _, a in CASES:
        for k in keys:
            keys[k][a[a.index(k) + 1]] += 1
    for k, c in keys.items():
        print(f'{k[2:]:8s} ' + ', '.join(f'{v} {n}' for v, n in sorted(c.items())))


def measure(out_dir, only):
    import make_golden
    rows = []
    for name, a in CASES:
        if only and name not in only:
            continue
        p = argparse.ArgumentParser()
        make_golden.add_golden_args(p)
        args = p.parse_args(a)
        t = time.perf_counter()
        c = time.process_time()
        meta = make_golden.generate(args, os.path.join(out_dir, name), log=lambda *x: None)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        rows.append((name, wall, cpu, meta['checkpoint_bytes'], meta['logit_scale'], meta['batch_variation']))
        print(f'{name:58s} {wall:6.1f} s wall {cpu:6.1f} s CPU {meta["checkpoint_bytes"] / 1e6:7.1f} MB '
              f'max|logit| {meta["logit_scale"]:.2f} batch var {meta["batch_variation"]:.2f}', flush=True)
    print(f'{"total":58s} {sum(r[1] for r in rows):6.1f} s wall {sum(r[2] for r in rows):6.1f} s CPU '
          f'{sum(r[3] for r in rows) / 1e6:7.1f} MB')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('--list', action='store_true')
    g.add_argument('--names', action='store_true')
    g.add_argument('--coverage', action='store_true')
    g.add_argument('--measure', metavar='DIR')
    p.add_argument('--only', default='')
    args = p.parse_args(argv)
    if args.list:
        for name, a in CASES:
            print(f'{name}\t{shlex.join(a)}')
    elif args.names:
        for name, _ in CASES:
            print(name)
    elif args.coverage:
        coverage()
    else:
        measure(args.measure, set(filter(None, args.only.split(','))))
    return 0


if __name__ == '__main__':
    sys.exit(main())

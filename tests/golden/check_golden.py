#!/usr/bin/python3
"""End-to-end golden check: PyTorch checkpoint -> rvgg-convert -> rvgg-run -> compare with PyTorch logits.

  check_golden.py --convert BUILD/rvgg-convert --run BUILD/rvgg-run --work DIR \
                  [--backend xnnpack|reference] [--threads N] [--tolerance 1e-3] [--reuse] \
                  [--model-only | --run-only] <make_golden.py arguments>

  1. generates the case into DIR with make_golden (or reuses it with --reuse when DIR/meta.json describes the
     same case and its files exist);
  2. rvgg-convert DIR/<checkpoint> -o DIR/model.rvgg --input-size N|HxW
  3. <run> DIR/model.rvgg --input DIR/input.npy --output DIR/out.npy [--backend B] [--threads N]
  4. asserts max|out - logits| <= tolerance (absolute) and prints one line per case. Where rvgg-run
     reports that the model ran in half precision (rvgg_precision AUTO on a CPU with FP16
     arithmetic, or --precision fp16), the bound is --fp16-tolerance times max |logit| instead (a guard
     against gross errors: wider and deeper variants accumulate more fp16 rounding), and the top-1 class of
     every image must equal PyTorch's.
With --check-summary, step 2 also asserts what rvgg-convert's summary says about the checkpoint: the format and
storage dtype, the naming scheme and deploy form, where the weights were found (the EMA copy for model_ema), the
official variant name (or custom) and the input size.

--run is one string, split like a shell would, so an emulator prefix fits:
  --run "qemu-aarch64 -L /usr/aarch64-linux-gnu BUILD-arm64/rvgg-run"
or the same tokens unquoted (everything up to the next option of this script):
  --run qemu-aarch64 -L /usr/aarch64-linux-gnu BUILD-arm64/rvgg-run --work DIR ...
--model-only stops after step 2 (a cross build can run the model later); --run-only does steps 3-4 on a DIR
prepared by --model-only (the golden arguments are still needed only to label the case; meta.json is used).
Exit status: 0 pass, 1 mismatch or tool failure, 2 usage error.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree (CTest runs from it)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_golden  # noqa: E402


def fail(label, msg, detail=None):
    print(f'FAIL  {label}: {msg}', flush=True)
    if detail:
        print(detail.rstrip(), flush=True)
    return 1


def tail(text, lines=40):
    text = (text or '').rstrip()
    parts = text.splitlines()
    if len(parts) > lines:
        parts = [f'... ({len(parts) - lines} earlier lines)'] + parts[-lines:]
    return '\n'.join('    ' + p for p in parts)


def run_tool(cmd, timeout):
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except FileNotFoundError as e:
        return None, f'cannot execute: {e}', time.perf_counter() - t
    except subprocess.TimeoutExpired as e:
        out = (e.stderr or b'')
        out = out.decode('utf-8', 'replace') if isinstance(out, bytes) else out
        return None, f'timed out after {timeout} s\n' + tail(out), time.perf_counter() - t
    return r, None, time.perf_counter() - t


def join_run_tokens(parser, argv):
    """Accept `--run qemu-aarch64 -L /sysroot /path/rvgg-run` unquoted too: every token after --run up to the
    next option of this script belongs to the run command."""
    known = set(parser._option_string_actions)
    if '--run' not in argv:
        return argv
    i = argv.index('--run')
    j = i + 1
    while j < len(argv) and argv[j].split('=', 1)[0] not in known:
        j += 1
    if j - i > 2:
        argv = argv[:i + 1] + [shlex.join(argv[i + 1:j])] + argv[j:]
    return argv


SCHEME_NAMES = {'official': 'official', 'timm': 'timm', 'mmpretrain': 'MMPretrain'}
DEPLOY_NAMES = {'train': 'train-time', 'deploy': 'deploy', 'mixed': 'mixed train/deploy'}
DTYPE_NAMES = {'f32': 'float32', 'f16': 'float16', 'bf16': 'bfloat16'}


def summary_problems(stdout, meta):
    """What rvgg-convert's summary gets wrong about the case (empty when all is right)."""
    fields = {}
    for line in stdout.splitlines()[1:]:
        if line.startswith('  ') and len(line) > 16:
            fields[line[2:16].strip()] = line[16:]
    container = 'safetensors' if meta['format'] == 'safetensors' else 'torch.save zip archive'
    h, w = meta['input_size']
    arch = 'custom' if meta['variant'] == 'custom' else 'RepVGG-' + meta['variant']
    want = {
        'format': (lambda v: v == f"{container}, {DTYPE_NAMES[meta['dtype']]} tensors"),
        'naming': (lambda v: v == f"{SCHEME_NAMES[meta['scheme']]} {DEPLOY_NAMES[meta['deploy']]}"),
        'architecture': (lambda v: v.startswith(arch + ': ')),
        'input': (lambda v: v.startswith(f"{meta['in_channels']} x {h} x {w} (C x H x W), {meta['classes']} classes")),
    }
    key = meta['weights_key']
    expect_weights = (f"'{key}'" if key else 'top-level state dict')
    if meta['wrap'] == 'model_ema':
        expect_weights += " (the file also holds 'model'; pick one with --weights)"
    if meta['module_prefix']:
        expect_weights += ', module. prefix stripped'
    want['weights'] = lambda v: v == expect_weights
    problems = []
    for name, ok in want.items():
        if name not in fields:
            problems.append(f'summary has no {name!r} line')
        elif not ok(fields[name]):
            problems.append(f'summary {name!r} is {fields[name]!r}' +
                            (f', expected {expect_weights!r}' if name == 'weights' else ''))
    return problems


def size_arg(h, w):
    return str(h) if h == w else f'{h}x{w}'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    t = p.add_argument_group('tools')
    t.add_argument('--convert', help='path to rvgg-convert (not needed with --run-only)')
    t.add_argument('--run', help='rvgg-run command line, emulator prefix allowed (not needed with --model-only)')
    t.add_argument('--work', required=True, help='case directory (created)')
    t.add_argument('--backend', choices=['xnnpack', 'reference'], help='passed to rvgg-run')
    t.add_argument('--threads', type=int, help='passed to rvgg-run')
    t.add_argument('--tolerance', type=float, default=1e-3, help='max absolute logit error (default 1e-3)')
    t.add_argument('--fp16-tolerance', type=float, default=2e-2,
                   help='fp16 runs: max logit error relative to max |logit| (default 2e-2); the top-1 '
                        'class must agree too')
    t.add_argument('--reuse', action='store_true', help='keep an existing identical golden case in --work')
    t.add_argument('--timeout', type=float, default=900, help='seconds per tool invocation')
    t.add_argument('--convert-arg', action='append', default=[], help='extra argument for rvgg-convert (repeatable)')
    t.add_argument('--check-summary', action='store_true',
                   help="assert rvgg-convert's summary: format, dtype, scheme, deploy form, weights key, variant")
    t.add_argument('--clean', action='store_true',
                   help='after a PASS delete the checkpoint, model.rvgg and out.npy (large), keep input/logits/meta')
    mode = t.add_mutually_exclusive_group()
    mode.add_argument('--model-only', action='store_true', help='generate and convert only')
    mode.add_argument('--run-only', action='store_true', help='run and compare only (case prepared before)')
    make_golden.add_golden_args(p)
    args = p.parse_args(join_run_tokens(p, sys.argv[1:] if argv is None else list(argv)))

    import numpy as np  # after argument errors, which should be fast

    work = os.path.abspath(args.work)
    label = make_golden.case_label(args)
    if args.backend:
        label += f' [{args.backend}]'
    if not args.run_only and not args.convert:
        p.error('--convert is required unless --run-only')
    if not args.model_only and not args.run:
        p.error('--run is required unless --model-only')

    model_path = os.path.join(work, 'model.rvgg')
    out_path = os.path.join(work, 'out.npy')
    t_gen = 0.0
    t_conv = None

    if not args.run_only:
        if args.reuse and make_golden.existing_case_matches(work, args):
            with open(os.path.join(work, 'meta.json')) as f:
                meta = json.load(f)
        else:
            t0 = time.perf_counter()
            try:
                meta = make_golden.generate(args, work, log=lambda *a: None)
            except SystemExit as e:
                return fail(label, f'golden generation failed: {e}')
            t_gen = time.perf_counter() - t0
        for f in (model_path, out_path):
            if os.path.exists(f):
                os.remove(f)
        h, w = meta['input_size']
        cmd = [args.convert, os.path.join(work, meta['checkpoint']), '-o', model_path, '--input-size', size_arg(h, w)]
        cmd += args.convert_arg
        r, err, t_conv = run_tool(cmd, args.timeout)
        if err:
            return fail(label, f'rvgg-convert {err}', '    $ ' + shlex.join(cmd))
        if r.returncode != 0:
            return fail(label, f'rvgg-convert exited with status {r.returncode}',
                        '    $ ' + shlex.join(cmd) + '\n' + tail(r.stderr or r.stdout))
        if not os.path.isfile(model_path):
            return fail(label, 'rvgg-convert succeeded but wrote no model', '    $ ' + shlex.join(cmd))
        if args.check_summary:
            problems = summary_problems(r.stdout, meta)
            if problems:
                return fail(label, '; '.join(problems), '    $ ' + shlex.join(cmd) + '\n' + tail(r.stdout))
        if args.model_only:
            print(f'MODEL {label}: {model_path} {os.path.getsize(model_path) / 1e6:.1f} MB '
                  f'(generate {t_gen:.1f} s, convert {t_conv:.1f} s)', flush=True)
            return 0
    else:
        try:
            with open(os.path.join(work, 'meta.json')) as f:
                meta = json.load(f)
        except (OSError, ValueError) as e:
            return fail(label, f'--run-only: no golden case in {work} ({e})')
        label = meta.get('label', label) + (f' [{args.backend}]' if args.backend else '')
        for f in ('input.npy', 'logits.npy', 'model.rvgg'):
            if not os.path.isfile(os.path.join(work, f)):
                return fail(label, f'--run-only: {f} missing in {work} (run with --model-only first)')
        if os.path.exists(out_path):
            os.remove(out_path)

    cmd = shlex.split(args.run) + [model_path, '--input', os.path.join(work, 'input.npy'), '--output', out_path]
    if args.backend:
        cmd += ['--backend', args.backend]
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    r, err, t_run = run_tool(cmd, args.timeout)
    if err:
        return fail(label, f'rvgg-run {err}', '    $ ' + shlex.join(cmd))
    if r.returncode != 0:
        return fail(label, f'rvgg-run exited with status {r.returncode}',
                    '    $ ' + shlex.join(cmd) + '\n' + tail(r.stderr or r.stdout))
    try:
        out = np.load(out_path)
    except (OSError, ValueError) as e:
        return fail(label, f'cannot read rvgg-run output {out_path}: {e}', '    $ ' + shlex.join(cmd))
    ref = np.load(os.path.join(work, 'logits.npy'))
    if out.shape != ref.shape:
        return fail(label, f'output shape {list(out.shape)} != expected {list(ref.shape)}')
    if out.dtype != np.float32:
        return fail(label, f'output dtype {out.dtype} != float32')
    if not np.all(np.isfinite(out)):
        return fail(label, f'output has {int(np.sum(~np.isfinite(out)))} non-finite values')
    diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
    err = float(diff.max())
    scale = float(np.abs(ref).max())
    # rvgg-run's summary names the compute types ("fp16", "fp32", "int8+fp32").
    fp16 = re.search(r'\bfp16\b', r.stdout or '') is not None
    tolerance = args.fp16_tolerance * scale if fp16 else args.tolerance
    n, c = np.unravel_index(int(diff.argmax()), diff.shape)
    top_ok = bool(np.all(out.argmax(axis=1) == ref.argmax(axis=1)))
    times = (f'generate {t_gen:.1f} s, ' if t_gen else '') + (f'convert {t_conv:.2f} s, ' if t_conv is not None else '')
    summary = (f'max|err| {err:.3g} (rel {err / max(scale, 1e-30):.2e}, max|logit| {scale:.3g}, '
               f'tol {tolerance:g}{" fp16" if fp16 else ""}), '
               f'top-1 {"same" if top_ok else "DIFFERENT"}; {times}run {t_run:.2f} s')
    if not err <= tolerance or (fp16 and not top_ok):
        return fail(label, summary, f'    worst: image {n} class {c}: got {out[n, c]:.7g}, expected {ref[n, c]:.7g}'
                    f'\n    $ {shlex.join(cmd)}')
    print(f'PASS  {label}: {summary}', flush=True)
    if args.clean:
        for f in (meta.get('checkpoint'), 'model.rvgg', 'out.npy'):
            if f and os.path.isfile(os.path.join(work, f)):
                os.remove(os.path.join(work, f))
    return 0


if __name__ == '__main__':
    sys.exit(main())

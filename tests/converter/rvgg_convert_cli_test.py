#!/usr/bin/python3
"""rvgg-convert driven exactly as a user drives it: every kind of bad input fails with one clear line and
leaves the output alone; good inputs give the summary and the models users expect.

    rvgg_convert_cli_test.py --convert rvgg-convert --info rvgg-info --run rvgg-run --work DIR [-k PATTERN]

For every failure case the tool must exit with status 1 (not a signal), print nothing on stdout and exactly
one line on stderr holding the case's key words, write no output, leave an existing output file byte-identical
with the same mtime, and leave no temporary file in the output folder. The checkpoints are written here by
Debian's torch (tools/pytorch modules), so they are what users have.
"""

import argparse
import collections
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import unittest
import zipfile

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, '..', '..', 'tools', 'pytorch')))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import checkpoint_io  # noqa: E402
import golden_init  # noqa: E402
import schemes  # noqa: E402
from variants import custom_spec  # noqa: E402

ARGS = None
FIX = {}  # fixture name -> path
SD = None  # the tiny official state dict (float32) every broken checkpoint starts from
TINY = dict(num_blocks=[1, 2, 2, 1], widths=[8, 8, 16, 16, 32], num_classes=10, in_channels=3)
EXISTING = b'an existing model the failed conversion must not touch\n'
OLD_MTIME_NS = 1_500_000_000_123_456_789


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def snapshot(folder):
    """name -> (mtime_ns, bytes or None for folders) of everything in `folder`."""
    out = {}
    for name in os.listdir(folder):
        p = os.path.join(folder, name)
        out[name] = (os.stat(p).st_mtime_ns, read_bytes(p) if os.path.isfile(p) else None)
    return out


def convert(*args, timeout=600):
    return subprocess.run([ARGS.convert, *args], capture_output=True, text=True, timeout=timeout)


def tiny_model(scheme='official', deploy=(), seed=0, se=False, groups=None):
    spec = custom_spec(**TINY, use_se=se, groups_map=groups or {})
    model = schemes.build(scheme, spec)
    rng = np.random.default_rng([seed, 3])
    calib = golden_init.make_images(np.random.default_rng([seed, 1]), 4, 3, 32, 32)
    golden_init.randomize(model, calib, rng, n_track=2)
    names = [n for n in schemes.block_names(model) if n in set(deploy)]
    schemes.switch_blocks(model, names)
    return model.eval()


def logits_of(model, x):
    m = model.double().eval()
    with torch.no_grad():
        return m(torch.from_numpy(x).double()).numpy()


def save(name, obj, **kw):
    path = os.path.join(ARGS.work, 'fixtures', name)
    torch.save(obj, path, **kw)
    FIX[name] = path
    return path


def write(name, data):
    path = os.path.join(ARGS.work, 'fixtures', name)
    with open(path, 'wb') as f:
        f.write(data)
    FIX[name] = path
    return path


def modified(**changes):
    """SD with keys replaced (value) or removed (None)."""
    sd = collections.OrderedDict((k, v.clone()) for k, v in SD.items())
    for k, v in changes.items():
        assert k in sd, k
        if v is None:
            del sd[k]
        else:
            sd[k] = v
    return sd


def safetensors_bytes(sd):
    buf = os.path.join(ARGS.work, 'fixtures', '_tmp.safetensors')
    checkpoint_io.save_safetensors(sd, buf)
    with open(buf, 'rb') as f:
        data = f.read()
    os.remove(buf)
    return data


def patch_header(data, fn):
    """Applies fn to the JSON header text; pads with spaces to the same length (data offsets unchanged)."""
    (n,) = struct.unpack('<Q', data[:8])
    header = data[8:8 + n].decode()
    new = fn(header)
    assert len(new) <= n, 'patched header must not grow'
    return data[:8] + (new + ' ' * (n - len(new))).encode() + data[8 + n:]


class ResNetLike(nn.Module):
    """torchvision's resnet18 key names and shapes (conv1, bn1, layer1.0.conv1, ..., fc), written out here
    because Debian has no torchvision."""

    class Basic(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        chans = [64, 128, 256, 512]
        cin = 64
        for i, c in enumerate(chans):
            setattr(self, f'layer{i + 1}', nn.Sequential(self.Basic(cin, c, 1 if i == 0 else 2), self.Basic(c, c, 1)))
            cin = c
        self.fc = nn.Linear(512, 1000)


def setUpModule():
    global SD
    shutil.rmtree(ARGS.work, ignore_errors=True)
    os.makedirs(os.path.join(ARGS.work, 'fixtures'))
    torch.manual_seed(0)
    model = tiny_model()
    SD = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    save('good.pth', SD)
    good = read_bytes(FIX['good.pth'])

    write('empty.pth', b'')
    rnd = bytearray(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    rnd[0], rnd[8] = 0x17, 0x42  # neither a pickle, a zip, nor a safetensors header
    write('random.bin', bytes(rnd))
    write('truncated.pth', good[:len(good) // 2])
    # A zip archive with every entry of a torch.save file except data.pkl.
    out = io.BytesIO()
    with zipfile.ZipFile(FIX['good.pth']) as zin, zipfile.ZipFile(out, 'w') as zout:
        for info in zin.infolist():
            if not info.filename.endswith('/data.pkl'):
                zout.writestr(info, zin.read(info))
    write('no_data_pkl.pth', out.getvalue())
    save('legacy.pth', SD, _use_new_zipfile_serialization=False)
    save('missing_key.pth', modified(**{'stage1.0.rbr_1x1.bn.running_var': None}))
    save('missing_identity.pth', modified(**{k: None for k in SD if k.startswith('stage2.1.rbr_identity.')}))
    save('wrong_shape_bn.pth', modified(**{'stage2.1.rbr_dense.bn.running_mean': torch.zeros(15)}))
    save('wrong_shape_1x1.pth', modified(**{'stage2.1.rbr_1x1.conv.weight': torch.zeros(16, 8, 1, 1)}))
    save('wrong_shape_linear.pth', modified(**{'linear.weight': torch.zeros(10, 24)}))
    w = SD['stage3.0.rbr_dense.conv.weight'].clone()
    w.view(-1)[7] = float('nan')
    save('nan.pth', modified(**{'stage3.0.rbr_dense.conv.weight': w}))
    b = SD['linear.bias'].clone()
    b[3] = float('-inf')
    save('inf.pth', modified(**{'linear.bias': b}))
    v = SD['stage3.1.rbr_identity.running_var'].clone()
    v[2] = -1.0
    save('negative_var.pth', modified(**{'stage3.1.rbr_identity.running_var': v}))
    save('resnet.pth', ResNetLike().state_dict())
    save('not_a_dict.pth', [SD['linear.weight']])
    save('no_tensors.pth', {'epoch': 3, 'arch': 'RepVGG-A0', 'best_acc1': 71.0})
    save('odd_key.pth', {'epoch': 3, 'weights': SD})
    save('stage_gap.pth', collections.OrderedDict(
        (k.replace('stage3.', 'stage5.') if k.startswith('stage3.') else k, v) for k, v in SD.items()))
    huge = collections.OrderedDict(SD)
    huge['stage1.' + '1' * 1_000_000 + '.rbr_dense.conv.weight'] = torch.zeros(1)
    save('huge_key.pth', huge)
    save('block_gap.pth', collections.OrderedDict(
        (k.replace('stage2.1.', 'stage2.2.') if k.startswith('stage2.1.') else k, v) for k, v in SD.items()))

    st = safetensors_bytes(SD)
    write('good.safetensors', st)
    (n,) = struct.unpack('<Q', st[:8])
    write('st_header_past_end.safetensors', struct.pack('<Q', len(st) + 100) + st[8:])

    def offsets_past_end(header):
        h = json.loads(header)
        name = 'stage2.0.rbr_dense.conv.weight'
        b0, e0 = h[name]['data_offsets']
        end = len(st) - 8 - n
        h[name]['data_offsets'] = [end - (e0 - b0) + 64, end + 64]
        return json.dumps(h, separators=(',', ':'))
    write('st_offsets_past_end.safetensors', patch_header(st, offsets_past_end))
    write('st_broken_json.safetensors', patch_header(st, lambda h: h[:len(h) // 2]))
    labels9 = os.path.join(ARGS.work, 'fixtures', 'labels9.txt')
    with open(labels9, 'w') as f:
        f.write('\n'.join(f'class {i}' for i in range(9)) + '\n')
    FIX['labels9.txt'] = labels9
    os.makedirs(os.path.join(ARGS.work, 'fixtures', 'a_directory'))
    FIX['a_directory'] = os.path.join(ARGS.work, 'fixtures', 'a_directory')


class Failures(unittest.TestCase):
    """Each case: (arguments before -o, output kind, key words that must all appear in the one error line)."""

    def check_failure(self, name, args, words, output='file'):
        case = os.path.join(ARGS.work, 'cases', name)
        for existing in (False, True):
            with self.subTest(existing_output=existing):
                shutil.rmtree(case, ignore_errors=True)
                os.makedirs(case)
                out = os.path.join(case, 'model.rvgg')
                if output == 'missing-folder':
                    out = os.path.join(case, 'no', 'such', 'folder', 'model.rvgg')
                elif output == 'directory':
                    out = os.path.join(case, 'a_folder')
                    os.makedirs(out)
                elif output == 'same-as-input':
                    out = os.path.join(case, 'checkpoint.pth')
                    shutil.copyfile(args[0], out)
                    args = [out] + list(args[1:])
                if existing and output == 'file':
                    with open(out, 'wb') as f:
                        f.write(EXISTING)
                    os.utime(out, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
                before = snapshot(case)
                p = convert(*args, '-o', out)
                self.assertGreaterEqual(p.returncode, 0, f'killed by signal {-p.returncode}: {p.stderr}')
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual(p.stdout, '')
                self.assertTrue(p.stderr.endswith('\n'), repr(p.stderr))
                lines = p.stderr.splitlines()
                self.assertEqual(len(lines), 1, 'exactly one line on stderr: ' + p.stderr)
                line = lines[0]
                if ARGS.show:
                    print(f'\n    {line}', end=' ', flush=True)
                self.assertTrue(line.startswith('rvgg-convert: error: '), line)
                for w in words:
                    self.assertIn(w, line)
                self.assertEqual(snapshot(case), before, 'the output folder changed (output written or temporary file left)')
                if output == 'missing-folder':
                    self.assertFalse(os.path.exists(os.path.join(case, 'no')))
                if output == 'directory':
                    self.assertEqual(os.listdir(out), [])
                if existing and output == 'file':
                    self.assertEqual(read_bytes(out), EXISTING)
                    self.assertEqual(os.stat(out).st_mtime_ns, OLD_MTIME_NS)
                if output != 'file':
                    break  # the existing-output variant only applies to a plain output file

    # Files that are not checkpoints.
    def test_empty_file(self):
        self.check_failure('empty', [FIX['empty.pth']], ['empty.pth', 'file is empty'])

    def test_random_bytes(self):
        self.check_failure('random', [FIX['random.bin']],
                           ['random.bin', 'not a PyTorch or safetensors checkpoint', 'starts with 17'])

    def test_truncated_zip(self):
        self.check_failure('truncated', [FIX['truncated.pth']], ['truncated.pth', 'zip', 'truncated or corrupt'])

    def test_zip_without_data_pkl(self):
        self.check_failure('no_data_pkl', [FIX['no_data_pkl.pth']], ['no_data_pkl.pth', 'no data.pkl'])

    def test_legacy_torch_save(self):
        self.check_failure('legacy', [FIX['legacy.pth']],
                           ['legacy.pth', 'legacy torch.save format', 'PyTorch < 1.6',
                            '_use_new_zipfile_serialization', 're-save', 'torch.save(torch.load('])

    # Checkpoints that are not (complete, sane) RepVGG weights.
    def test_missing_key(self):
        self.check_failure('missing_key', [FIX['missing_key.pth']],
                           ["missing key 'stage1.0.rbr_1x1.bn.running_var'"])

    def test_missing_identity_branch(self):
        self.check_failure('missing_identity', [FIX['missing_identity.pth']],
                           ["missing key 'stage2.1.rbr_identity.weight'", 'identity branch'])

    def test_wrong_shape_batchnorm(self):
        self.check_failure('wrong_shape_bn', [FIX['wrong_shape_bn.pth']],
                           ["tensor 'stage2.1.rbr_dense.bn.running_mean'", 'has shape [15]', 'expected [16]'])

    def test_wrong_shape_1x1(self):
        self.check_failure('wrong_shape_1x1', [FIX['wrong_shape_1x1.pth']],
                           ["tensor 'stage2.1.rbr_1x1.conv.weight'", 'has shape [16, 8, 1, 1]',
                            'expected [16, 16, 1, 1]', "'stage2.1.rbr_dense.conv.weight' [16, 16, 3, 3]"])

    def test_wrong_shape_classifier(self):
        self.check_failure('wrong_shape_linear', [FIX['wrong_shape_linear.pth']],
                           ["tensor 'linear.weight'", 'has shape [10, 24]', 'expected [classes, 32]',
                            "'stage4.0' has 32 output channels"])

    def test_nan_weight(self):
        self.check_failure('nan', [FIX['nan.pth']],
                           ["tensor 'stage3.0.rbr_dense.conv.weight'", 'NaN', 'flat index 7'])

    def test_inf_weight(self):
        self.check_failure('inf', [FIX['inf.pth']], ["tensor 'linear.bias'", 'Inf', 'flat index 3'])

    def test_negative_variance(self):
        self.check_failure('negative_var', [FIX['negative_var.pth']],
                           ["'stage3.1.rbr_identity.running_var'", 'negative variance', 'index 2'])

    def test_other_network(self):
        self.check_failure('resnet', [FIX['resnet.pth']],
                           ['not a RepVGG checkpoint', "'conv1.weight'", 'rbr_dense', 'conv_kxk', 'branch_3x3'])

    def test_not_a_dict(self):
        self.check_failure('not_a_dict', [FIX['not_a_dict.pth']], ['does not hold a dict of tensors', 'list'])

    def test_no_tensors(self):
        self.check_failure('no_tensors', [FIX['no_tensors.pth']],
                           ['holds no tensors', "'state_dict'", "'model_ema'", "'epoch'", "'arch'"])

    def test_weights_under_unusual_key(self):
        self.check_failure('odd_key', [FIX['odd_key.pth']],
                           ['no state dict under the usual keys', "'weights'", '--weights weights'])

    def test_unknown_weights_key(self):
        self.check_failure('weights_key', [FIX['odd_key.pth'], '--weights', 'model_ema'],
                           ["--weights 'model_ema'", 'no such entry', "'epoch'", "'weights'"])

    def test_stage_sequence(self):
        self.check_failure('stage_gap', [FIX['stage_gap.pth']],
                           ["block 'stage4.0'", 'breaks the sequence', 'expected stage 2 block 2 or stage 3 block 0'])

    def test_block_sequence(self):
        self.check_failure('block_gap', [FIX['block_gap.pth']],
                           ["block 'stage2.2'", 'breaks the sequence', 'expected stage 2 block 1'])

    def test_million_digit_key(self):
        # std::regex recursed once per digit here and overflowed the stack.
        self.check_failure('huge_key', [FIX['huge_key.pth']],
                           ["unexpected tensor 'stage1.1111", '...', 'is this another network?'])

    # Broken safetensors files.
    def test_safetensors_header_past_end(self):
        self.check_failure('st_header', [FIX['st_header_past_end.safetensors']],
                           ['st_header_past_end.safetensors', 'header length', 'runs past the end of the file'])

    def test_safetensors_offsets_past_end(self):
        self.check_failure('st_offsets', [FIX['st_offsets_past_end.safetensors']],
                           ["'stage2.0.rbr_dense.conv.weight'", 'data_offsets', 'past the data section'])

    def test_safetensors_broken_json(self):
        self.check_failure('st_json', [FIX['st_broken_json.safetensors']], ['header is not valid JSON'])

    # Paths.
    def test_missing_input(self):
        self.check_failure('missing_input', [os.path.join(ARGS.work, 'fixtures', 'nope.pth')],
                           ['nope.pth', 'no such file'])

    def test_directory_input(self):
        self.check_failure('dir_input', [FIX['a_directory']], ['a_directory', 'is a directory'])

    def test_output_folder_missing(self):
        self.check_failure('out_folder', [FIX['good.pth']], ['output folder', 'no/such/folder', 'does not exist'],
                           output='missing-folder')

    def test_output_is_directory(self):
        self.check_failure('out_dir', [FIX['good.pth']], ['a_folder', 'is a directory'], output='directory')

    def test_output_is_the_input(self):
        self.check_failure('out_same', [FIX['good.pth']], ['is the input checkpoint'], output='same-as-input')

    # Flags.
    def test_input_size_zero(self):
        self.check_failure('size0', [FIX['good.pth'], '--input-size', '0'], ['--input-size', "'0'", 'N or HxW'])

    def test_input_size_malformed(self):
        self.check_failure('size_bad', [FIX['good.pth'], '--input-size', '64x'], ['--input-size', "'64x'"])

    def test_mean_count(self):
        self.check_failure('mean2', [FIX['good.pth'], '--mean', '0.5,0.5'],
                           ['--mean has 2 values', '3 input channels'])

    def test_std_not_positive(self):
        self.check_failure('std0', [FIX['good.pth'], '--std', '0.2,0,0.2'], ['--std', 'positive'])

    def test_labels_count(self):
        self.check_failure('labels9', [FIX['good.pth'], '--labels', FIX['labels9.txt']],
                           ['labels9.txt', 'has 9 labels', '10 classes'])

    def test_labels_missing(self):
        self.check_failure('labels_missing', [FIX['good.pth'], '--labels', FIX['labels9.txt'] + '.nope'],
                           ['cannot read labels file'])

    def test_labels_directory(self):
        self.check_failure('labels_dir', [FIX['good.pth'], '--labels', FIX['a_directory']],
                           ["labels file '", "a_directory' is a directory"])

    def test_unknown_option(self):
        self.check_failure('unknown_option', [FIX['good.pth'], '--fuse-harder'], ["unknown option '--fuse-harder'"])

    def test_missing_value(self):
        # The value-less flag must come last, so -o goes first here.
        case = os.path.join(ARGS.work, 'cases', 'missing_value')
        shutil.rmtree(case, ignore_errors=True)
        os.makedirs(case)
        p = convert(FIX['good.pth'], '-o', os.path.join(case, 'm.rvgg'), '--input-size')
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.splitlines(), ['rvgg-convert: error: --input-size needs a value'])
        self.assertEqual(os.listdir(case), [])


class Conversions(unittest.TestCase):
    """What users see on success: the summary, the chosen weights, the recorded input size."""

    def out(self, name):
        d = os.path.join(ARGS.work, 'ok')
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, name)

    def run_model(self, model, x):
        xin, yout = model + '.in.npy', model + '.out.npy'
        np.save(xin, x.astype(np.float32))
        p = subprocess.run([ARGS.run, model, '--input', xin, '--output', yout], capture_output=True, text=True,
                           timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr)
        return np.load(yout)

    def convert_ok(self, *args):
        p = convert(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, '')
        return dict((line[2:16].strip(), line[16:]) for line in p.stdout.splitlines()[1:] if line.startswith('  '))

    def test_summary_of_a_plain_checkpoint(self):
        s = self.convert_ok(FIX['good.pth'], '-o', self.out('good.rvgg'), '--input-size', '32')
        self.assertEqual(s['format'], 'torch.save zip archive, float32 tensors')
        self.assertEqual(s['naming'], 'official train-time')
        self.assertEqual(s['weights'], 'top-level state dict')
        self.assertTrue(s['architecture'].startswith('custom: stages 1/1/2/2/1, widths 8/8/16/16/32'),
                        s['architecture'])

    def test_model_ema_preferred_and_weights_flag(self):
        ema = tiny_model(seed=1)
        raw = tiny_model(seed=2)
        path = save('ema.pth', {'model': raw.state_dict(), 'model_ema': ema.state_dict(), 'epoch': 9,
                                'optimizer': {'state': {}, 'param_groups': []}})
        x = golden_init.make_images(np.random.default_rng(9), 2, 3, 32, 32).numpy()
        s = self.convert_ok(path, '-o', self.out('ema.rvgg'), '--input-size', '32')
        self.assertEqual(s['weights'], "'model_ema' (the file also holds 'model'; pick one with --weights)")
        s = self.convert_ok(path, '-o', self.out('raw.rvgg'), '--input-size', '32', '--weights', 'model')
        self.assertEqual(s['weights'], "'model' (chosen with --weights)")
        got_ema = self.run_model(self.out('ema.rvgg'), x)
        got_raw = self.run_model(self.out('raw.rvgg'), x)
        want_ema, want_raw = logits_of(ema, x), logits_of(raw, x)
        self.assertGreater(np.abs(want_ema - want_raw).max(), 0.1, 'the two weight sets must differ')
        np.testing.assert_allclose(got_ema, want_ema, atol=1e-3, rtol=0)
        np.testing.assert_allclose(got_raw, want_raw, atol=1e-3, rtol=0)

    def test_nested_weights_key_and_prefix(self):
        m = tiny_model(seed=3)
        sd = collections.OrderedDict(('module.' + k, v) for k, v in m.state_dict().items())
        path = save('nested.pth', {'checkpoint': {'state_dict': sd}, 'meta': {'epoch': 1}})
        s = self.convert_ok(path, '-o', self.out('nested.rvgg'), '--input-size', '32',
                            '--weights', 'checkpoint.state_dict')
        self.assertEqual(s['weights'], "'checkpoint.state_dict' (chosen with --weights), module. prefix stripped")
        x = golden_init.make_images(np.random.default_rng(4), 1, 3, 32, 32).numpy()
        np.testing.assert_allclose(self.run_model(self.out('nested.rvgg'), x), logits_of(m, x), atol=1e-3, rtol=0)

    def test_whole_pickled_models(self):
        # torch.save(model): read as model.state_dict() without importing the class.
        m = tiny_model(seed=7)
        path = save('whole.pth', m)
        s = self.convert_ok(path, '-o', self.out('whole.rvgg'), '--input-size', '32')
        self.assertEqual(s['weights'], 'the pickled model (repvgg_official.RepVGG, saved with torch.save(model)), '
                                       'its state dict')
        x = golden_init.make_images(np.random.default_rng(8), 2, 3, 32, 32).numpy()
        np.testing.assert_allclose(self.run_model(self.out('whole.rvgg'), x), logits_of(m, x), atol=1e-3, rtol=0)
        # A DataParallel-wrapped timm model with SE and a fused block, under 'model'.
        t = tiny_model('timm', deploy=['stage2.0'], seed=9, se=True)
        path = save('whole_dp.pth', {'model': nn.DataParallel(t), 'epoch': 4})
        s = self.convert_ok(path, '-o', self.out('whole_dp.rvgg'), '--input-size', '32')
        self.assertTrue(s['weights'].startswith("'model', a pickled model (torch.nn.parallel.data_parallel."
                                                "DataParallel"), s['weights'])
        self.assertTrue(s['weights'].endswith('module. prefix stripped'), s['weights'])
        self.assertEqual(s['naming'], 'timm mixed train/deploy')
        np.testing.assert_allclose(self.run_model(self.out('whole_dp.rvgg'), x), logits_of(t, x), atol=1e-3, rtol=0)

    def test_torchscript_model(self):
        m = tiny_model('mmpretrain', deploy=['stage0', 'stage3.1'], seed=10, groups={3: 2})
        x = golden_init.make_images(np.random.default_rng(11), 2, 3, 32, 32).numpy()
        path = os.path.join(ARGS.work, 'fixtures', 'traced.pt')
        torch.jit.save(torch.jit.trace(m.float(), torch.from_numpy(x)), path)
        s = self.convert_ok(path, '-o', self.out('traced.rvgg'), '--input-size', '32')
        self.assertTrue(s['weights'].startswith('the TorchScript model ('), s['weights'])
        self.assertTrue(s['weights'].endswith('saved with torch.jit.save), its parameters and buffers'), s['weights'])
        self.assertEqual(s['naming'], 'MMPretrain mixed train/deploy')
        np.testing.assert_allclose(self.run_model(self.out('traced.rvgg'), x), logits_of(m, x), atol=1e-3, rtol=0)

    def test_summary_names_dtype_scheme_and_deploy_form(self):
        m = tiny_model('timm', deploy=['stage0', 'stage2.1', 'stage3.0'], seed=4, se=True, groups={3: 2})
        sd = checkpoint_io.cast_state_dict(m.state_dict(), torch.bfloat16)
        path = os.path.join(ARGS.work, 'fixtures', 'timm.safetensors')
        checkpoint_io.save_safetensors(sd, path)
        s = self.convert_ok(path, '-o', self.out('timm.rvgg'), '--input-size', '32')
        self.assertEqual(s['format'], 'safetensors, bfloat16 tensors')
        self.assertEqual(s['naming'], 'timm mixed train/deploy')
        self.assertEqual(s['weights'], 'top-level state dict')
        self.assertIn('squeeze-excite in 7 blocks', s['architecture'])
        self.assertIn('1 grouped blocks (up to 2 groups)', s['architecture'])
        self.assertEqual(s['blocks'], '7 (3 already fused in the checkpoint)')

    def test_official_variant_named(self):
        s = self.convert_ok('--synthetic', 'B1g4', '-o', self.out('b1g4.rvgg'), '--input-size', '32')
        self.assertTrue(s['architecture'].startswith('RepVGG-B1g4: stages 1/4/6/16/1'), s['architecture'])

    def test_non_square_input_size(self):
        m = tiny_model(seed=5)
        path = save('hxw.pth', m.state_dict())
        model = self.out('hxw.rvgg')
        s = self.convert_ok(path, '-o', model, '--input-size', '40x72')
        self.assertTrue(s['input'].startswith('3 x 40 x 72 (C x H x W), 10 classes'), s['input'])
        info = subprocess.run([ARGS.info, model], capture_output=True, text=True, timeout=600)
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertIn('input         3 x 40 x 72 (C x H x W)', info.stdout)
        rows = [line.split() for line in info.stdout.splitlines() if line.strip().startswith(('0 ', '1 '))]
        self.assertEqual(rows[0][1], 'stage0')
        # Input and output shapes are the two adjacent HxWxC columns.
        shapes = [[f for f in row if f.count('x') == 2] for row in rows]
        self.assertEqual(shapes[0], ['40x72x3', '20x36x8'])
        self.assertEqual(shapes[1], ['20x36x8', '10x18x8'])
        x = golden_init.make_images(np.random.default_rng(6), 2, 3, 40, 72).numpy()
        np.testing.assert_allclose(self.run_model(model, x), logits_of(m, x), atol=1e-3, rtol=0)
        # The transposed image is refused, naming the shape the model takes.
        xt = os.path.join(ARGS.work, 'ok', 'transposed.npy')
        np.save(xt, np.zeros((1, 3, 72, 40), np.float32))
        p = subprocess.run([ARGS.run, model, '--input', xt, '--output', xt + '.out.npy'], capture_output=True,
                           text=True, timeout=600)
        self.assertEqual(p.returncode, 1)
        self.assertIn('[N, 3, 40, 72]', p.stderr)
        self.assertFalse(os.path.exists(xt + '.out.npy'))

    def test_help_documents_weights(self):
        p = convert('--help')
        self.assertEqual(p.returncode, 0)
        self.assertIn('--weights KEY', p.stdout)
        self.assertIn('model_ema', p.stdout)
        self.assertIn('--input-size N|HxW', p.stdout)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--convert', required=True)
    p.add_argument('--info', required=True)
    p.add_argument('--run', required=True)
    p.add_argument('--work', required=True)
    p.add_argument('--show', action='store_true', help='print every error line')
    ARGS, rest = p.parse_known_args()
    ARGS.work = os.path.abspath(ARGS.work)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == '__main__':
    main()

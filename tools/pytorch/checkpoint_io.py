"""Checkpoint writing (and reading back) for the golden tests.

Formats
  - torch zip pickle (`torch.save`, the default since PyTorch 1.6): `.pth` files and timm/HF-style
    `pytorch_model.bin` (same container, different name).
  - safetensors, written here by hand (no `safetensors` package on Debian): 8-byte little-endian header length,
    a JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {"format": "pt"}}
    padded with spaces to a multiple of 8 bytes, then the raw little-endian tensor bytes. Tensors are laid out
    like the reference writer (largest dtype first, then by name) so every tensor is aligned to its item size.
    Dtypes written: F64, F32, F16, BF16, I64, I32, U8, BOOL.

Wrappers (what `torch.load` returns around the state dict)
  none             the state dict itself (official release files, timm hub files)
  state_dict       {'epoch', 'arch', 'state_dict', 'best_acc1', 'optimizer', ...} (official train.py, timm
                   train.py (plus 'args' Namespace, 'version', 'metric'), MMPretrain ('meta', 'message_hub'))
  model            {'model', 'optimizer', 'lr_scheduler', 'max_accuracy', 'epoch', 'config'} (RepVGG main.py,
                   the Swin-Transformer training code it is based on)
  model_ema        as `model` plus 'model_ema'; the golden weights are in 'model_ema' and 'model' holds
                   *different* (non-averaged) weights, so a converter that picks the wrong one fails
  module           the state dict with DDP's 'module.' prefix on every key
  state_dict+module  `state_dict` wrapper whose state dict has the 'module.' prefix (official train.py under
                   DistributedDataParallel)
"""

import argparse
import json
import os
import struct
from collections import OrderedDict

import numpy as np
import torch

WRAPS = ['none', 'state_dict', 'model', 'model_ema', 'module', 'state_dict+module']
FORMATS = {'pth': 'checkpoint.pth', 'bin': 'pytorch_model.bin', 'safetensors': 'model.safetensors'}
DTYPES = {'f32': torch.float32, 'f16': torch.float16, 'bf16': torch.bfloat16}

_ST_DTYPES = {
    torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
    torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8',
    torch.bool: 'BOOL',
}
_ST_FROM_NAME = {v: k for k, v in _ST_DTYPES.items()}


def cast_state_dict(sd, dtype):
    """Floating tensors to `dtype` (the storage precision); integer buffers (num_batches_tracked) unchanged."""
    out = OrderedDict()
    for k, v in sd.items():
        out[k] = v.detach().to(dtype).contiguous() if v.is_floating_point() else v.detach().clone()
    return out


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        arr = t.view(torch.int16).numpy()
    else:
        arr = t.numpy()
    return arr.astype(arr.dtype.newbyteorder('<'), copy=False).tobytes()


def save_safetensors(tensors, path, metadata=None):
    meta = {'format': 'pt'}
    if metadata:
        meta.update({str(k): str(v) for k, v in metadata.items()})
    items = []
    for name, t in tensors.items():
        if t.dtype not in _ST_DTYPES:
            raise TypeError(f'safetensors: unsupported dtype {t.dtype} for {name}')
        items.append((name, t))
    items.sort(key=lambda kv: (-kv[1].element_size(), kv[0]))
    header = {'__metadata__': meta}
    offset = 0
    blobs = []
    for name, t in items:
        b = _tensor_bytes(t)
        header[name] = {'dtype': _ST_DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    hjson = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hjson += b' ' * ((8 - len(hjson) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Reads a safetensors file into an OrderedDict of tensors (header order); returns (tensors, metadata)."""
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', {})
    base = 8 + n
    out = OrderedDict()
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
        b, e = info['data_offsets']
        dt = _ST_FROM_NAME[info['dtype']]
        raw = data[base + b: base + e]
        if dt == torch.bfloat16:
            arr = np.frombuffer(raw, dtype='<i2').copy()
            t = torch.from_numpy(arr).view(torch.bfloat16)
        elif dt == torch.bool:
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.bool_).copy())
        else:
            np_dt = torch.empty(0, dtype=dt).numpy().dtype.newbyteorder('<')
            t = torch.from_numpy(np.frombuffer(raw, dtype=np_dt).astype(np_dt.newbyteorder('='), copy=True))
        out[name] = t.reshape(info['shape'])
    return out, meta


def _sgd_state(sd, num_buffers=4, seed=0):
    """A realistic SGD optimizer state dict (momentum 0.9). Momentum buffers only for the first few
    parameters, to keep files small; param ids cover every trainable tensor like torch does."""
    g = torch.Generator().manual_seed(seed)
    params = [k for k, v in sd.items() if v.is_floating_point() and 'running_' not in k]
    state = {}
    for i, k in enumerate(params[:num_buffers]):
        state[i] = {'momentum_buffer': torch.randn(sd[k].shape, generator=g, dtype=torch.float32) * 1e-3}
    return {'state': state,
            'param_groups': [{'lr': 0.0125, 'momentum': 0.9, 'dampening': 0, 'weight_decay': 1e-4,
                              'nesterov': False, 'maximize': False, 'foreach': None,
                              'params': list(range(len(params)))}]}


def _config_namespace(arch, scheme):
    return argparse.Namespace(arch=arch, data='/data/imagenet', workers=8, epochs=120, start_epoch=0,
                              batch_size=256, lr=0.1, momentum=0.9, weight_decay=1e-4, print_freq=10,
                              resume='', evaluate=False, pretrained=False, world_size=8, rank=0,
                              dist_url='tcp://127.0.0.1:23456', dist_backend='nccl', seed=None, gpu=None,
                              multiprocessing_distributed=True, scheme=scheme, input_size=224,
                              mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


def _prefix(sd, p):
    return OrderedDict((p + k, v) for k, v in sd.items())


def wrap_checkpoint(sd, wrap, scheme, arch, other_sd=None):
    """Builds the object to torch.save. Returns (obj, weights_key) where weights_key names the entry holding the
    golden state dict ('' when the object is the state dict itself)."""
    if wrap not in WRAPS:
        raise ValueError(f'unknown wrap {wrap}')
    if wrap == 'none':
        return sd, ''
    if wrap == 'module':
        return _prefix(sd, 'module.'), ''
    inner = _prefix(sd, 'module.') if wrap == 'state_dict+module' else sd
    if wrap in ('state_dict', 'state_dict+module'):
        obj = {'epoch': 120, 'arch': arch, 'state_dict': inner, 'best_acc1': torch.tensor(72.41),
               'optimizer': _sgd_state(sd)}
        if scheme == 'timm':
            obj.update({'version': 2, 'args': _config_namespace(arch, scheme), 'metric': 72.41})
        if scheme == 'mmpretrain':
            obj = {'meta': {'epoch': 120, 'iter': 600480, 'seed': 1234, 'mmengine_version': '0.7.4',
                            'mmpretrain_version': '1.0.0rc7', 'experiment_name': f'repvgg-{arch}_8xb32_in1k',
                            'time': '20230418_182243',
                            'dataset_meta': {'classes': [f'class_{i}' for i in range(8)]},
                            'hook_msgs': {'last_ckpt': 'work_dirs/epoch_120.pth'}},
                   'state_dict': inner,
                   'message_hub': {'log_scalars': {}, 'runtime_info': {'epoch': 120, 'iter': 600480},
                                   'resumed_keys': {'epoch': False, 'iter': False}},
                   'optimizer': _sgd_state(sd),
                   'param_schedulers': [{'T_max': 120, 'eta_min': 0, 'base_lrs': [0.1], 'last_epoch': 120}]}
        return obj, 'state_dict'
    obj = {'optimizer': _sgd_state(sd), 'lr_scheduler': {'t_initial': 120, 'lr_min': 0.0, 'last_epoch': 120},
           'max_accuracy': 72.41, 'epoch': 119, 'config': _config_namespace(arch, scheme)}
    if wrap == 'model':
        obj['model'] = sd
        return obj, 'model'
    assert other_sd is not None, 'model_ema needs the non-EMA weights too'
    obj['model'] = other_sd
    obj['model_ema'] = sd
    return obj, 'model_ema'


def save_checkpoint(sd, out_dir, fmt, wrap, scheme, arch, other_sd=None):
    """Writes DIR/<checkpoint.pth | pytorch_model.bin | model.safetensors>; returns (path, weights_key)."""
    path = os.path.join(out_dir, FORMATS[fmt])
    if fmt == 'safetensors':
        if wrap not in ('none', 'module'):
            raise ValueError('safetensors holds only tensors: --wrap must be none or module')
        tensors = _prefix(sd, 'module.') if wrap == 'module' else sd
        save_safetensors(tensors, path)
        return path, ''
    obj, key = wrap_checkpoint(sd, wrap, scheme, arch, other_sd=other_sd)
    torch.save(obj, path)
    return path, key


def load_state_dict(path, weights_key=''):
    """Reads back what save_checkpoint wrote: the golden state dict, 'module.' prefix removed."""
    if path.endswith('.safetensors'):
        sd, _ = load_safetensors(path)
    else:
        obj = torch.load(path, map_location='cpu')
        sd = obj[weights_key] if weights_key else obj
    if all(k.startswith('module.') for k in sd):
        sd = OrderedDict((k[len('module.'):], v) for k, v in sd.items())
    return sd

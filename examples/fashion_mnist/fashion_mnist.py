"""Fashion-MNIST and the project's small RepVGG: the pieces train.py, export_images.py and the accuracy tests
share (IDX reading, the normalization used in training, the network built from a checkpoint's keys).

Runs with Debian's /usr/bin/python3 (python3-torch 1.13, python3-numpy); the IDX files come from the
`dataset-fashion-mnist` package. The network is tools/pytorch/repvgg_official.py: the official module structure
and key names, with one input channel.
"""

import gzip
import json
import os
import re
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_DATA = '/usr/share/datasets/fashion-mnist'

# The shipped files (reproduced by train.py).
CHECKPOINT = os.path.join(HERE, 'repvgg_fashion_mnist.pth')
LABELS_FILE = os.path.join(HERE, 'labels.txt')
NORMALIZATION_FILE = os.path.join(HERE, 'normalization.json')

LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
          'Ankle boot']
# Pixel statistics of the 60000 training images after x / 255 (what train.py normalizes with).
MEAN = 0.2860
STD = 0.3530


def read_idx(path):
    """An IDX file (optionally gzipped) as a uint8 array: images [N, 28, 28] or labels [N]."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], 'big')
    if magic >> 8 != 0x08:
        raise ValueError(f'{path}: not an unsigned-byte IDX file (magic {magic:#x})')
    dims = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(data_dir, split):
    """(images uint8 [N, 28, 28], labels int64 [N]) for split 'train' or 'test'."""
    prefix = 'train' if split == 'train' else 't10k'
    paths = [os.path.join(data_dir, f'{prefix}-{kind}-idx{n}-ubyte.gz') for kind, n in (('images', 3),
                                                                                        ('labels', 1))]
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f'{p} is missing (Debian package: dataset-fashion-mnist)')
    return read_idx(paths[0]), read_idx(paths[1]).astype(np.int64)


def normalize(images, mean=MEAN, std=STD):
    """uint8 [N, H, W] -> float32 NCHW [N, 1, H, W], (x / 255 - mean) / std: exactly what the network is fed in
    training and what rvgg-classify computes from an 8-bit grey image."""
    x = images.astype(np.float32) / np.float32(255)
    return ((x - np.float32(mean)) / np.float32(std))[:, None, :, :].astype(np.float32)


def read_normalization(path=NORMALIZATION_FILE):
    with open(path) as f:
        n = json.load(f)
    return n['mean'], n['std']


def write_png(path, pixels):
    """An 8-bit greyscale PNG from a uint8 [H, W] array (zlib only: no imaging library needed)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape
    raw = b''.join(b'\x00' + pixels[y].tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))

    png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
           chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(png)
    os.replace(tmp, path)


def import_repvgg_official():
    sys.path.insert(0, os.path.join(ROOT, 'tools', 'pytorch'))
    import repvgg_official  # noqa: E402 (tools/pytorch/repvgg_official.py)
    return repvgg_official


# The architecture train.py builds: 1 + 6 blocks, 28 -> 14 -> 7 -> 4 -> 2 -> 1 pixels.
NUM_BLOCKS = [1, 2, 2, 1]
WIDTHS = [32, 32, 64, 128, 256]


def build_model(num_blocks=NUM_BLOCKS, widths=WIDTHS, num_classes=10, in_channels=1, groups_map=None):
    return import_repvgg_official().create_custom(num_blocks=num_blocks, widths=widths, num_classes=num_classes,
                                                  in_channels=in_channels, groups_map=groups_map)


def model_from_state_dict(state):
    """The train-time official-key RepVGG whose tensors `state` holds (any depth, widths, groups), loaded."""
    blocks = [0, 0, 0, 0]
    for key in state:
        m = re.match(r'stage([1-4])\.(\d+)\.', key)
        if m:
            s, i = int(m.group(1)) - 1, int(m.group(2))
            blocks[s] = max(blocks[s], i + 1)
    w0 = state['stage0.rbr_dense.conv.weight']
    widths = [w0.shape[0]] + [state[f'stage{s}.0.rbr_dense.conv.weight'].shape[0] for s in range(1, 5)]
    groups_map, index, in_ch = {}, 1, widths[0]
    for s in range(4):
        for i in range(blocks[s]):
            w = state[f'stage{s + 1}.{i}.rbr_dense.conv.weight']
            if w.shape[1] != in_ch:
                groups_map[index] = in_ch // w.shape[1]
            in_ch = w.shape[0]
            index += 1
    model = build_model(num_blocks=blocks, widths=widths, num_classes=state['linear.weight'].shape[0],
                        in_channels=w0.shape[1], groups_map=groups_map)
    model.load_state_dict(state)
    return model


def load_checkpoint(path):
    import torch
    state = torch.load(path, map_location='cpu')
    for wrapper in ('state_dict', 'model'):
        if isinstance(state, dict) and wrapper in state and isinstance(state[wrapper], dict):
            state = state[wrapper]
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    return model_from_state_dict(state).eval()


def predict(model, x, batch=500):
    """Eval-mode logits (float32 numpy [N, classes]) for normalized NCHW float32 input."""
    import torch
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(torch.from_numpy(x[i:i + batch])).numpy())
    return np.concatenate(out).astype(np.float32)

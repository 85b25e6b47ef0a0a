"""Writes fuzzing seeds that need torch: a tiny RepVGG checkpoint (official
train-time names, as torch.save and as a hand-written safetensors file) and
the data.pkl streams of every torch.save archive found, for fuzz_torch_pickle.

usage: /usr/bin/python3 make_seeds.py OUT_DIR [MORE_PTH_DIRS...]

OUT_DIR/checkpoint/ receives the checkpoints, OUT_DIR/pickle/ the pickles;
OUT_DIR/tiny_repvgg.pth is what tools/fuzz.sh converts into a real .rvgg.
"""
import collections
import json
import os
import struct
import sys
import zipfile

import torch

out = sys.argv[1]
ckpt_dir = os.path.join(out, "checkpoint")
pickle_dir = os.path.join(out, "pickle")
os.makedirs(ckpt_dir, exist_ok=True)
os.makedirs(pickle_dir, exist_ok=True)
torch.manual_seed(8)


def conv_bn(state, prefix, cin, cout, k):
    state[prefix + ".conv.weight"] = torch.randn(cout, cin, k, k) * 0.3
    bn(state, prefix + ".bn", cout)


def bn(state, prefix, c):
    state[prefix + ".weight"] = torch.rand(c) + 0.5
    state[prefix + ".bias"] = torch.randn(c) * 0.1
    state[prefix + ".running_mean"] = torch.randn(c) * 0.1
    state[prefix + ".running_var"] = torch.rand(c) + 0.5
    state[prefix + ".num_batches_tracked"] = torch.tensor(7)


# stem 3 -> 4, then stages of (blocks, width); a second block has an identity.
state = collections.OrderedDict()
cin = 3
for stage, (blocks, width) in enumerate([(1, 4), (2, 4), (1, 8), (1, 8), (1, 8)]):
    for i in range(blocks):
        p = "stage0" if stage == 0 else "stage%d.%d" % (stage, i)
        conv_bn(state, p + ".rbr_dense", cin, width, 3)
        conv_bn(state, p + ".rbr_1x1", cin, width, 1)
        if i > 0 and cin == width:
            bn(state, p + ".rbr_identity", width)
        cin = width
state["linear.weight"] = torch.randn(5, cin) * 0.3
state["linear.bias"] = torch.randn(5) * 0.1
torch.save(state, os.path.join(out, "tiny_repvgg.pth"))
torch.save(state, os.path.join(ckpt_dir, "tiny_repvgg.pth"))
torch.save({"epoch": 3, "state_dict": {"module." + k: v for k, v in state.items()}},
           os.path.join(ckpt_dir, "tiny_repvgg_wrapped.pth"), pickle_protocol=2)

# safetensors by hand: 8-byte header length, JSON, then the raw data.
header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
for name, t in state.items():
    t = t.contiguous()
    if t.dtype == torch.int64:
        code, data = "I64", t.numpy().tobytes()
    elif name.endswith("running_var"):
        code, data = "F16", t.half().numpy().tobytes()
    else:
        code, data = "F32", t.numpy().tobytes()
    header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(os.path.join(ckpt_dir, "tiny_repvgg.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

# The pickle inside every torch.save archive.
for directory in [ckpt_dir] + sys.argv[2:]:
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not zipfile.is_zipfile(path):
            continue
        with zipfile.ZipFile(path) as z:
            for entry in z.namelist():
                if entry.endswith("/data.pkl"):
                    with open(os.path.join(pickle_dir, name + ".pkl"), "wb") as f:
                        f.write(z.read(entry))

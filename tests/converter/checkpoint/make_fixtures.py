"""Writes the checkpoint-reader fixtures with the real torch.save (PyTorch 1.13).

usage: python3 make_fixtures.py OUTPUT_DIR

Besides the checkpoints it writes expected.json: for every tensor the readers
must produce, its path inside the checkpoint, shape, dtype and torch's own
float32 view of the values as IEEE bit patterns (exact, NaN and inf
included). Run with Debian's /usr/bin/python3 (torch, numpy); the C++ tests
read these files and never run Python themselves.
"""
import argparse
import collections
import io
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
if os.path.exists(os.path.join(OUT, "EXECUTED")):  # the marker malicious.pth would create
    os.remove(os.path.join(OUT, "EXECUTED"))
torch.manual_seed(1234)

DTYPE_NAMES = {
    torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
    torch.float64: "float64", torch.int64: "int64", torch.int32: "int32",
    torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool",
}
expected = {}


def path_of(p):
    return os.path.join(OUT, p)


def bits(t):
    f = t.detach().to(torch.float32).contiguous().reshape(-1).numpy()
    return f.view(np.uint32).tolist()


def describe(path, t):
    return {"path": path, "shape": list(t.shape), "dtype": DTYPE_NAMES[t.dtype], "bits": bits(t)}


def expect(name, container, tensors, keys=None):
    expected[name] = {"container": container, "tensors": tensors}
    if keys is not None:
        expected[name]["keys"] = keys


def tensors_of(d, prefix=()):
    """Every tensor in nested dicts, with its key path."""
    out = []
    for k, v in d.items():
        if isinstance(v, torch.Tensor):
            out.append(describe(list(prefix) + [k], v))
        elif isinstance(v, dict):
            out += tensors_of(v, tuple(prefix) + (k,))
    return out


# 1. A plain state dict (an OrderedDict with _metadata), float32 plus BN's int64 counter.
model = torch.nn.Sequential(collections.OrderedDict([
    ("conv", torch.nn.Conv2d(3, 4, 3, padding=1, bias=False)),
    ("bn", torch.nn.BatchNorm2d(4)),
    ("fc", torch.nn.Linear(4, 2)),
]))
with torch.no_grad():
    model.bn.running_mean.uniform_(-1, 1)
    model.bn.running_var.uniform_(0.5, 2)
    model.bn.num_batches_tracked.fill_(12345)
sd = model.state_dict()
assert isinstance(sd, collections.OrderedDict) and hasattr(sd, "_metadata")
torch.save(sd, path_of("plain_state_dict.pth"))
expect("plain_state_dict.pth", "torch-zip", tensors_of(sd), list(sd.keys()))

# The same with pickle protocols 4 and 5 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE).
torch.save(sd, path_of("protocol4.pth"), pickle_protocol=4)
expect("protocol4.pth", "torch-zip", tensors_of(sd), list(sd.keys()))
torch.save(sd, path_of("protocol5.pth"), pickle_protocol=5)
expect("protocol5.pth", "torch-zip", tensors_of(sd), list(sd.keys()))

# Saved to a buffer: the archive's folder is "archive", and the file name says safetensors.
buffer = io.BytesIO()
torch.save(sd, buffer)
with open(path_of("torch_zip_named.safetensors"), "wb") as f:
    f.write(buffer.getvalue())
assert zipfile.ZipFile(path_of("torch_zip_named.safetensors")).namelist()[0].startswith("archive/")
expect("torch_zip_named.safetensors", "torch-zip", tensors_of(sd), list(sd.keys()))

# Re-zipped with deflate (torch stores entries uncompressed; other tools may not).
with zipfile.ZipFile(path_of("plain_state_dict.pth")) as src, \
        zipfile.ZipFile(path_of("deflated.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))
expect("deflated.pth", "torch-zip", tensors_of(sd), list(sd.keys()))

# 2. Every supported dtype, with awkward values.
dtypes = collections.OrderedDict()
dtypes["f32"] = torch.tensor([1.5, -0.0, float("inf"), float("-inf"), 3.4e38, 1e-45])
dtypes["f16"] = torch.tensor([1.0, -2.5, 65504.0, 6e-8, 0.0, float("inf"), float("nan"), 1e-5],
                             dtype=torch.float16)
dtypes["bf16"] = torch.tensor([1.0, -3.140625, 1e30, -1e-30, float("inf")], dtype=torch.bfloat16)
dtypes["f64"] = torch.tensor([[0.1, -1e300], [1e-300, 2.0 ** 60 + 1]], dtype=torch.float64)
dtypes["num_batches_tracked"] = torch.tensor(987654, dtype=torch.int64)
dtypes["i64"] = torch.tensor([-(2 ** 62), 2 ** 40 + 1, -1, 0], dtype=torch.int64)
dtypes["i32"] = torch.tensor([-(2 ** 31), 2 ** 31 - 1, 7], dtype=torch.int32)
dtypes["i16"] = torch.tensor([-32768, 32767], dtype=torch.int16)
dtypes["i8"] = torch.tensor([-128, 127, -1], dtype=torch.int8)
dtypes["u8"] = torch.tensor([0, 255, 128], dtype=torch.uint8)
dtypes["bool"] = torch.tensor([True, False, True])
torch.save(dtypes, path_of("dtypes.pth"))
expect("dtypes.pth", "torch-zip", tensors_of(dtypes), list(dtypes.keys()))

# 3. Views: non-contiguous strides, offsets, shared storages, 0-d, zero-size, stride 0.
base = torch.arange(24, dtype=torch.float32) * 0.5
grid = torch.arange(60, dtype=torch.float32).reshape(6, 10)
views = collections.OrderedDict()
views["transposed"] = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()
views["strided_slice"] = grid[1::2, 2::3]
views["base"] = base
views["shared_a"] = base[2:8].view(2, 3)
views["shared_b"] = base[5:]
views["scalar"] = torch.tensor(3.25)
views["empty"] = torch.empty(0, 3)
views["empty_slice"] = base[7:7]
views["expanded"] = torch.tensor([1.0, 2.0, 3.0]).expand(4, 3)
views["channels_last"] = torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last)
views["half_transposed"] = torch.randn(3, 5).half().t()
assert views["strided_slice"].storage_offset() == 12 and views["strided_slice"].stride() == (20, 3)
assert views["shared_a"].storage().data_ptr() == base.storage().data_ptr()
assert views["expanded"].stride() == (0, 1)
torch.save(views, path_of("views.pth"))
expect("views.pth", "torch-zip", tensors_of(views), list(views.keys()))
with zipfile.ZipFile(path_of("views.pth")) as z:
    # base, shared_a, shared_b and empty_slice share one storage.
    assert len([n for n in z.namelist() if "/data/" in n]) == len(views) - 3

# 4. nn.Parameters (torch._utils._rebuild_parameter).
linear = torch.nn.Linear(3, 2)
params = dict(linear.named_parameters())
assert all(isinstance(p, torch.nn.Parameter) for p in params.values())
torch.save(params, path_of("parameters.pth"))
expect("parameters.pth", "torch-zip", tensors_of(params), list(params.keys()))

# 5. A training checkpoint, wrapped, with an optimizer and script objects.
net = torch.nn.Linear(3, 2)
net_sd = collections.OrderedDict(("module." + k, v) for k, v in net.state_dict().items())
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
net(torch.randn(4, 3)).sum().backward()
optimizer.step()
training = {
    "state_dict": net_sd,
    "optimizer": optimizer.state_dict(),
    "epoch": 7,
    "args": argparse.Namespace(lr=0.1, arch="RepVGG-A0", epochs=120),
    "best_acc1": torch.tensor(71.5),
    "numpy_scalar": np.float64(0.5),
    "numpy_array": np.arange(3),
    "device": torch.device("cpu"),
    "size": torch.Size([1, 3, 224, 224]),
    "tags": {"fused"},
    "frozen": frozenset(),
    "nothing": None,
    "flag": True,
    "raw": b"\x00\x01\x02\xff",
    "empty_raw": b"",
    "buffer": bytearray(b"\x05\xe9"),
    "big": 2 ** 40,
    "negative": -5,
    "very_negative": -(2 ** 62),
    "ratio": 0.25,
    "pair": (1, "two"),
}
torch.save(training, path_of("training.pth"))
expect("training.pth", "torch-zip",
       tensors_of({"state_dict": net_sd, "best_acc1": training["best_acc1"]}) +
       [describe(["optimizer", "state", i, "momentum_buffer"], s["momentum_buffer"])
        for i, s in optimizer.state_dict()["state"].items()],
       list(training.keys()))

# 6. Legacy (pre-1.6) format.
torch.save(sd, path_of("legacy.pth"), _use_new_zipfile_serialization=False)

# 7. Hostile and broken torch zips.
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + path_of("EXECUTED"),))


torch.save({"evil": Evil(), "w": torch.ones(2)}, path_of("malicious.pth"))
recursive = []
recursive.append(recursive)
torch.save({"loop": recursive}, path_of("recursive.pth"))


def rewrite(src_name, dst_name, drop=(), replace=None, add=None):
    replace = replace or {}
    with zipfile.ZipFile(path_of(src_name)) as src, zipfile.ZipFile(path_of(dst_name), "w") as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for k, v in (add or {}).items():
            dst.writestr(k, v)


rewrite("plain_state_dict.pth", "no_data_pkl.pth", drop={"plain_state_dict/data.pkl"})
rewrite("plain_state_dict.pth", "missing_storage.pth", drop={"plain_state_dict/data/0"})
rewrite("plain_state_dict.pth", "short_storage.pth", replace={"plain_state_dict/data/0": b"\x00" * 12})
rewrite("plain_state_dict.pth", "big_endian.pth", add={"plain_state_dict/byteorder": b"big"})
rewrite("plain_state_dict.pth", "little_endian.pth", add={"plain_state_dict/byteorder": b"little"})
expect("little_endian.pth", "torch-zip", tensors_of(sd), list(sd.keys()))
rewrite("plain_state_dict.pth", "unsupported_opcode.pth",
        replace={"plain_state_dict/data.pkl": b"\x80\x02I1\n."})
with zipfile.ZipFile(path_of("plain_state_dict.pth")) as z:
    assert z.read("plain_state_dict/data.pkl").find(b"plain_state_dict") < 0  # keys only
    assert "plain_state_dict/data/0" in z.namelist()



def write_overlapping_zip(name, pickle_bytes, count, payload):
    """A stored zip whose storage entries overlap: entry i's data is everything
    after its local header (the later entries' headers, then the payload), the
    overlapping-entry zip bomb. Each entry is individually well formed."""
    import zlib

    def local_header(entry, crc, size):
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, size, size,
                           len(entry), 0) + entry

    out = bytearray()
    central = []  # (name, local header offset, crc, size)
    pkl = b"archive/data.pkl"
    central.append((pkl, 0, zlib.crc32(pickle_bytes), len(pickle_bytes)))
    out += local_header(pkl, zlib.crc32(pickle_bytes), len(pickle_bytes)) + pickle_bytes

    names = [("archive/data/%d" % i).encode() for i in range(count)]
    lengths = [30 + len(n) for n in names]
    offsets = [len(out) + sum(lengths[:i]) for i in range(count)]
    body = bytearray(b"\0" * sum(lengths)) + payload
    base = len(out)
    # A header's CRC covers the later headers, so fill them in from the last.
    for i in reversed(range(count)):
        begin = offsets[i] - base
        data = bytes(body[begin + lengths[i]:])
        crc = zlib.crc32(data)
        body[begin:begin + lengths[i]] = local_header(names[i], crc, len(data))
        central.append((names[i], offsets[i], crc, len(data)))
    out += body

    cd_offset = len(out)
    for entry, offset, crc, size in central:
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc, size,
                           size, len(entry), 0, 0, 0, 0, 0, offset) + entry
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                       len(out) - cd_offset, cd_offset, 0)
    with open(path_of(name), "wb") as f:
        f.write(bytes(out))
    # Python's zip reader sees every entry, reads the innermost, and refuses
    # the outer ones for the same reason the C++ reader must.
    with zipfile.ZipFile(path_of(name)) as z:
        assert len(z.namelist()) == count + 1
        assert z.read(names[-1].decode()) == payload
        try:
            z.read(names[0].decode())
            raise AssertionError("overlapping entries were not detected")
        except zipfile.BadZipFile as e:
            assert "Overlapped entries" in str(e)


write_overlapping_zip("overlapping.pth", b"\x80\x02}.", 16, b"\0" * 256)

# A small state dict for the truncation / bit-flip property tests.
small = collections.OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3),
                                b=torch.tensor([0.5, -1.0], dtype=torch.float16),
                                n=torch.tensor(3))
torch.save(small, path_of("small.pth"))
expect("small.pth", "torch-zip", tensors_of(small), list(small.keys()))


# 8. safetensors, written by hand (the safetensors package is not installed).
def write_safetensors(name, tensors, metadata=None):
    header = collections.OrderedDict()
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    codes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
             torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
    for key, t in tensors.items():
        raw = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        header[key] = {"dtype": codes[t.dtype], "shape": list(t.shape),
                       "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    with open(path_of(name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    # Keys in header order, which is deliberately not sorted.
    expect(name, "safetensors", [describe([k], t) for k, t in tensors.items()], list(tensors.keys()))


st = collections.OrderedDict()
st["stem.conv.weight"] = torch.randn(4, 3, 3, 3)
st["head.fc.weight"] = torch.randn(2, 4).half()
st["stem.bn.bias"] = torch.randn(4).to(torch.bfloat16)
st["head.fc.bias"] = torch.tensor([0.5, float("inf")], dtype=torch.float16)
write_safetensors("model.safetensors", st, {"format": "pt"})

st_types = collections.OrderedDict((k, v) for k, v in dtypes.items())
st_types["scalar"] = torch.tensor(2.5)
st_types["empty"] = torch.empty(0, 4)
write_safetensors("dtypes.safetensors", st_types)
write_safetensors("small.safetensors",
                  collections.OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3),
                                          b=torch.tensor([0.5, -1.0], dtype=torch.bfloat16)))

with open(path_of("expected.json"), "w") as f:
    json.dump(expected, f)
print("wrote", len(os.listdir(OUT)), "files to", OUT)

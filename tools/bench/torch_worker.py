"""PyTorch eager timing worker for tools/bench/compare.py (Debian's /usr/bin/python3, torch 1.13).

Reads one JSON command per line on stdin and answers one JSON line each:
  {"cmd": "load", "key": K, "variant": "A0", "kind": "fused"|"train", "state": "m.pt", "size": 224}
      builds the module (fused deploy or multi-branch train-time, eval mode), loads the state dict,
      moves it and a fixed pseudo-random input in [-2, 2) to channels-last
  {"cmd": "logits", "key": K, "input": "x.npy"}
  {"cmd": "time", "key": K, "runs": R, "warmup": W, "threads": T}
      torch.set_num_threads(T), then R timed forwards under torch.inference_mode()
  {"cmd": "unload", "key": K}
Idle between commands (blocked on stdin).
"""

import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import repvgg_torch  # noqa: E402

torch.set_num_interop_threads(1)
models = {}


def handle(msg):
    cmd = msg["cmd"]
    if cmd == "load":
        model = repvgg_torch.RepVGG(msg["variant"], deploy=msg["kind"] == "fused")
        model.load_state_dict(torch.load(msg["state"]))
        model.eval().to(memory_format=torch.channels_last)
        g = torch.Generator().manual_seed(12345)
        x = (torch.rand(1, 3, msg["size"], msg["size"], generator=g) * 4 - 2).contiguous(
            memory_format=torch.channels_last)
        models[msg["key"]] = (model, x)
        return {"ok": True, "torch": torch.__version__}
    model, x = models[msg["key"]]
    if cmd == "logits":
        inp = torch.from_numpy(np.load(msg["input"])).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return {"logits": model(inp)[0].tolist()}
    if cmd == "time":
        torch.set_num_threads(msg["threads"])
        times = []
        with torch.inference_mode():
            for _ in range(msg["warmup"]):
                model(x)
            for _ in range(msg["runs"]):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1000.0)
        return {"times_ms": times, "threads": torch.get_num_threads()}
    if cmd == "unload":
        del models[msg["key"]]
        return {"ok": True}
    raise ValueError("unknown command " + cmd)


def main():
    for line in sys.stdin:
        try:
            reply = handle(json.loads(line))
        except Exception as e:  # reported to compare.py, which stops with it
            reply = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

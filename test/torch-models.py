"""Ordinary PyTorch modules for the ONNX round-trip tests (test/onnx-torch.test.ts), with Debian's python3-torch.

  python3 test/torch-models.py export DIR
      For each model: DIR/NAME.onnx (torch.onnx.export, eval mode, dynamic batch), DIR/NAME-x.npy (a batch of
      inputs), DIR/NAME-out.npy (the module's float64 outputs on it), DIR/NAME-ntk.npy (float64 J·Jᵀ over all
      parameters, output-major: row a·n + i is output a of example i), DIR/NAME-y.npy (targets to train on).
  python3 test/torch-models.py load DIR NAME STATE.safetensors OUT.npy
      Builds NAME's module afresh, load_state_dict(STATE, strict=True), and writes its float64 outputs on
      DIR/NAME-x.npy to OUT.npy.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn


class SmallCnn(nn.Module):
    """Conv, batch norm, ReLU, max pooling, conv, tanh, average pooling, flatten, linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.pool1 = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(4, 3, 3, padding=1)
        self.pool2 = nn.AvgPool2d(2)
        self.fc = nn.Linear(3 * 2 * 2, 2)

    def forward(self, x):
        x = self.pool1(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool2(torch.tanh(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class Residual(nn.Module):
    """A residual MLP: x + fc2(relu(fc1(x))), twice, with a sigmoid head."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(6, 8)
        self.block1 = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
        self.block2 = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.inp(x)
        h = h + self.block1(h)
        h = h + self.block2(torch.sigmoid(h))
        return self.head(h)


class PreNormBlock(nn.Module):
    """A pre-norm MLP block on feature vectors: x + fc2(gelu(fc1(layernorm(x)))), then layer norm and a head."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(5, 8)
        self.norm1 = nn.LayerNorm(8)
        self.fc1 = nn.Linear(8, 16)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(16, 8)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        h = self.embed(x)
        h = h + self.fc2(self.act(self.fc1(self.norm1(h))))
        return self.head(self.norm(h))


MODELS = {"cnn": (SmallCnn, (2, 8, 8)), "residual": (Residual, (6,)), "block": (PreNormBlock, (5,))}
N = 5


def build(name):
    torch.manual_seed(7)
    module = MODELS[name][0]()
    # Batch norm's statistics and affine part away from their initial 0 and 1, as a trained net's are.
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
    return module.eval()


def ntk(module, x):
    """J·Jᵀ in float64, output-major, by one backward pass per output of each example."""
    params = [p for p in module.parameters()]
    out = module(x)
    n, k = out.shape
    rows = []
    for a in range(k):
        for i in range(n):
            grads = torch.autograd.grad(out[i, a], params, retain_graph=True)
            rows.append(torch.cat([g.reshape(-1) for g in grads]))
    J = torch.stack(rows)
    return (J @ J.T).numpy()


def export(folder):
    for name, (_, shape) in MODELS.items():
        module = build(name)
        torch.manual_seed(11)
        x = torch.randn(N, *shape)
        torch.onnx.export(module, x, f"{folder}/{name}.onnx", input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                          training=torch.onnx.TrainingMode.PRESERVE, opset_version=14 if name != "block" else 17)
        m64 = build(name).double()
        x64 = x.double()
        with torch.no_grad():
            out = m64(x64).numpy()
        np.save(f"{folder}/{name}-x.npy", x.numpy())
        np.save(f"{folder}/{name}-out.npy", out)
        np.save(f"{folder}/{name}-ntk.npy", ntk(m64, x64))
        np.save(f"{folder}/{name}-y.npy", np.sign(out).astype(np.float32))


def load_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    body = raw[8 + n:]
    dtypes = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
    return {k: torch.from_numpy(np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], dtypes[v["dtype"]]).reshape(v["shape"]).copy())
            for k, v in header.items()}


def load(folder, name, state, out):
    module = build(name)
    module.load_state_dict(load_safetensors(state), strict=True)
    x = torch.from_numpy(np.load(f"{folder}/{name}-x.npy"))
    with torch.no_grad():
        np.save(out, module.double()(x.double()).numpy())


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    else:
        load(*sys.argv[2:6])

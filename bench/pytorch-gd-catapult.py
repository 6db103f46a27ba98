"""The gd-catapult quick run in PyTorch on the CPU, for scale: how far a CPU WebGPU driver is from a CPU library.

The same work as `catapult run gd-catapult` (quick scale): the rank-2 task (n = 128, d = 100, 500 test points),
a 2-layer ReLU net of width 1024 under NTK parameterization without biases, GD at 1.5 x eta_crit(init) for
100 steps, and every step the tracked set's NTK formed (structured formula), 20 warm-started power iterations
for lambda_max, the top-5 spectrum (here exactly, by eigvalsh) and the loss split; the test loss every 10
steps. Other random draws than the engine's, so the numbers differ; the work is the same.

Usage: python3 bench/pytorch-gd-catapult.py   (Debian: apt-get install python3-torch). Prints JSON.
"""
import json
import os
import time

import torch

torch.manual_seed(0)
torch.set_num_threads(os.cpu_count() or 1)
n, d, width, n_test, steps = 128, 100, 1024, 500, 100


def task(m):
    x = torch.randn(m, d)
    return x, x[:, 0] * x[:, 1] + 0.1 * torch.randn(m)


x, y = task(n)
x_test, y_test = task(n_test)
w1 = torch.randn(width, d)
w2 = torch.randn(1, width)
c1, c2 = d ** -0.5, width ** -0.5
xx = x @ x.T  # the first layer's input Gram: fixed inputs, formed once (as the engine does)


def forward(inputs, w1, w2):
    h = c1 * inputs @ w1.T
    a = torch.relu(h)
    return h, a, (c2 * a @ w2.T).squeeze(1)


def ntk(w1, w2):
    h, a, _ = forward(x, w1, w2)
    delta1 = c2 * (h > 0).float() * w2  # d f / d h for each example (n x width)
    return (delta1 @ delta1.T) * (c1 ** 2 * xx) + c2 ** 2 * (a @ a.T)


def power(k, v, iterations):
    for _ in range(iterations):
        w = k @ v
        lam = w.norm()
        v = w / lam
    return lam.item(), v


k0 = ntk(w1, w2)
lam0, v = power(k0, torch.randn(n), 300)
lr = 1.5 * n / lam0

t0 = time.perf_counter()
records = []
for t in range(steps):
    k = ntk(w1, w2)
    lam, v = power(k, v, 20)
    top = torch.linalg.eigvalsh(k)[-5:]
    w1.requires_grad_(True)
    w2.requires_grad_(True)
    _, _, f = forward(x, w1, w2)
    r = f - y
    loss = (r ** 2).sum() / n
    g1, g2 = torch.autograd.grad(loss, (w1, w2))
    with torch.no_grad():
        loss_top = (v @ r.detach()) ** 2 / n
        w1 = (w1 - lr * g1).detach()
        w2 = (w2 - lr * g2).detach()
        if t % 10 == 0:
            test = ((forward(x_test, w1, w2)[2] - y_test) ** 2).mean().item()
    records.append((loss.item(), lam, loss_top.item(), top[-1].item()))
seconds = time.perf_counter() - t0
losses = [r[0] for r in records]
print(json.dumps({
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "steps": steps,
    "seconds": round(seconds, 3),
    "steps_per_second": round(steps / seconds, 1),
    "lambda_before": round(lam0, 3),
    "lambda_after": round(records[-1][1], 3),
    "peak_loss": round(max(losses), 2),
    "final_loss": losses[-1],
}))

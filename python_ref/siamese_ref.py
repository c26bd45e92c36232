#!/usr/bin/python3
"""PyTorch (CPU) reference for mahal's Siamese layer: the same network, weights and batch give
the same losses and gradients. Prints the golden values pasted into tests/test_nn_torch_golden.cpp.

Run with Debian's system interpreter and its python3-torch package (CPU only, small):
    apt-get install python3-torch
    /usr/bin/python3 python_ref/siamese_ref.py

Inputs are closed-form (no files, no random streams) so the C++ test rebuilds them exactly:
    X[i, j] = sin(0.37 (i + 1) + 0.11 (j + 1) (i + 2))        d x n, one sample per column
    W_l[r, c] = 0.5 cos(0.23 (r + 1) (c + 2) + 0.71 (c + 1) + l)      layer l's weight (out x in)
    b_l[r] = 0.3 + 0.1 sin(r + 1 + l)
Network: Linear(5, 7) ReLU Linear(7, 6) Tanh Linear(6, 3) [L2-normalisation for the triplet].
For each loss: the loss and, per parameter, sum(grad * P) with P[r, c] = cos(r + 2 c + 1) and the
Frobenius norm of the gradient.
"""
import math

import torch

torch.set_default_dtype(torch.float64)
D, N = 5, 8
SIZES = [(5, 7), (7, 6), (6, 3)]
PAIRS = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 7), (1, 6), (3, 4)]
SIMILAR = [1, 0, 1, 0, 0, 1, 0]
TRIPLETS = [(0, 1, 2), (3, 4, 5), (6, 7, 0), (1, 3, 5), (2, 4, 6)]


def make_x():
    return torch.tensor([[math.sin(0.37 * (i + 1) + 0.11 * (j + 1) * (i + 2)) for j in range(N)]
                         for i in range(D)])


def make_layers():
    layers = []
    for l, (fin, fout) in enumerate(SIZES):
        lin = torch.nn.Linear(fin, fout)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(
                [[0.5 * math.cos(0.23 * (r + 1) * (c + 2) + 0.71 * (c + 1) + l) for c in range(fin)]
                 for r in range(fout)]))
            lin.bias.copy_(torch.tensor([0.3 + 0.1 * math.sin(r + 1 + l) for r in range(fout)]))
        layers.append(lin)
    return layers


def network(normalise):
    l1, l2, l3 = make_layers()
    mods = [l1, torch.nn.ReLU(), l2, torch.nn.Tanh(), l3]
    return torch.nn.Sequential(*mods), normalise


def embed(net, x):
    seq, normalise = net
    z = seq(x.T)  # torch: one sample per row
    return torch.nn.functional.normalize(z, dim=1) if normalise else z


def contrastive(z, margin, squared):
    i = torch.tensor([p[0] for p in PAIRS])
    j = torch.tensor([p[1] for p in PAIRS])
    s = torch.tensor(SIMILAR, dtype=torch.float64)
    d = (z[i] - z[j]).pow(2).sum(1).sqrt()
    h = torch.clamp(margin - d, min=0)
    if squared:
        per = s * 0.5 * d.pow(2) + (1 - s) * 0.5 * h.pow(2)
    else:
        per = s * d + (1 - s) * h
    return per.mean()


def triplet(z, alpha):
    a = torch.tensor([t[0] for t in TRIPLETS])
    p = torch.tensor([t[1] for t in TRIPLETS])
    n = torch.tensor([t[2] for t in TRIPLETS])
    v = (z[a] - z[p]).pow(2).sum(1) - (z[a] - z[n]).pow(2).sum(1) + alpha
    return torch.clamp(v, min=0).mean()


def report(name, net, loss_fn, dtype):
    seq, _ = net
    seq.to(dtype)
    x = make_x().to(dtype)
    loss = loss_fn(embed(net, x))
    seq.zero_grad()
    loss.backward()
    print(f"// {name} ({dtype}): loss, then per parameter sum(grad * P) and ||grad||")
    print(f"{{\"{name}\", {loss.item():.17g}, {{", end="")
    parts = []
    for prm in seq.parameters():
        g = prm.grad.double()
        g2 = g if g.dim() == 2 else g.unsqueeze(1)
        P = torch.tensor([[math.cos(r + 2 * c + 1) for c in range(g2.shape[1])]
                          for r in range(g2.shape[0])])
        parts.append(f"{{{(g2 * P).sum().item():.17g}, {g2.norm().item():.17g}}}")
    print(", ".join(parts) + "}},")


if __name__ == "__main__":
    print(f"// torch {torch.__version__}")
    for dtype in (torch.float64, torch.float32):
        report("contrastive_squared", network(False), lambda z: contrastive(z, 1.0, True), dtype)
        report("contrastive_unsquared", network(False), lambda z: contrastive(z, 1.0, False), dtype)
        report("triplet_l2", network(True), lambda z: triplet(z, 0.2), dtype)

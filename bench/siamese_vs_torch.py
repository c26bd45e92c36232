"""The PyTorch side of the Siamese benchmark: the same network, sampling, loss, optimiser, batch
and step count as `mahal fit --algo siamese|triplet`, on the CPU, then the same quality figures
(siamese_quality.py).

    python3 bench/siamese_vs_torch.py --train digits_train.csv --test digits_test.csv \
        [--algo siamese|triplet] [--steps 2000] [--batch 256] [--threads 1] [--seed 0]

Protocol (as mahal): features z-scored with the training statistics; MLP d→128→ReLU→128→ReLU→32
(PyTorch's default init); Adam lr 1e-3; siamese: balanced pairs (half same-class), squared
contrastive loss ½D² / ½max(0, m−D)², margin 1, mean; triplet: random triplets, L2-normalised
embeddings, max(0, D²(a,p) − D²(a,n) + α), α = 0.2, mean. Each step embeds the batch's distinct
samples once (as mahal does), so both run the same FLOPs. Timing covers the training loop only
(sampling included, data loading and evaluation excluded). Prints one JSON object.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from siamese_quality import quality  # noqa: E402


def read(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return a[:, 1:], a[:, 0].astype(int)


class sampler:
    def __init__(self, y, seed):
        self.rng = np.random.default_rng(seed)
        self.classes = np.unique(y)
        self.members = [np.flatnonzero(y == c) for c in self.classes]
        self.sizes = np.array([len(m) for m in self.members])
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self.flat = np.concatenate(self.members)

    def member(self, c):
        return self.flat[self.offsets[c] + (self.rng.random(len(c)) * self.sizes[c]).astype(int)]

    def two_members(self, c):
        i = (self.rng.random(len(c)) * self.sizes[c]).astype(int)
        j = (self.rng.random(len(c)) * (self.sizes[c] - 1)).astype(int)
        j += j >= i
        return self.flat[self.offsets[c] + i], self.flat[self.offsets[c] + j]

    def other_class(self, c):
        k = len(self.classes)
        o = (self.rng.random(len(c)) * (k - 1)).astype(int)
        return o + (o >= c)

    def pairs(self, count):
        ns = (count + 1) // 2
        c = self.rng.integers(0, len(self.classes), count)
        a, b = self.two_members(c[:ns])
        c2 = self.other_class(c[ns:])
        a = np.concatenate([a, self.member(c[ns:])])
        b = np.concatenate([b, self.member(c2)])
        same = np.zeros(count, dtype=np.float32)
        same[:ns] = 1
        return a, b, same

    def triplets(self, count):
        c = self.rng.integers(0, len(self.classes), count)
        a, p = self.two_members(c)
        n = self.member(self.other_class(c))
        return a, p, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--algo", default="siamese", choices=["siamese", "triplet"])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--margin", type=float, default=None)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    Xtr, ytr = read(a.train)
    Xte, yte = read(a.test)
    mu, sd = Xtr.mean(0), Xtr.std(0)
    sd[sd == 0] = 1
    Xtr_s = torch.tensor((Xtr - mu) / sd, dtype=torch.float32)
    Xte_s = torch.tensor((Xte - mu) / sd, dtype=torch.float32)
    d = Xtr.shape[1]
    net = torch.nn.Sequential(torch.nn.Linear(d, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                              torch.nn.ReLU(), torch.nn.Linear(128, 32))
    triplet = a.algo == "triplet"
    margin = a.margin if a.margin is not None else (0.2 if triplet else 1.0)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    s = sampler(ytr, a.seed)

    def embed(x):
        z = net(x)
        return torch.nn.functional.normalize(z, dim=1) if triplet else z

    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        if triplet:
            idx = s.triplets(a.batch)
        else:
            i, j, same = s.pairs(a.batch)
            idx = (i, j)
        cols, inv = np.unique(np.concatenate(idx), return_inverse=True)
        z = embed(Xtr_s[torch.from_numpy(cols)])
        inv = torch.from_numpy(inv).view(len(idx), a.batch)
        if triplet:
            za, zp, zn = z[inv[0]], z[inv[1]], z[inv[2]]
            dp = (za - zp).pow(2).sum(1)
            dn = (za - zn).pow(2).sum(1)
            loss = torch.clamp(dp - dn + margin, min=0).mean()
        else:
            d2 = (z[inv[0]] - z[inv[1]]).pow(2).sum(1)
            dist = torch.sqrt(torch.clamp(d2, min=1e-12))
            sm = torch.from_numpy(same)
            loss = (sm * 0.5 * d2 + (1 - sm) * 0.5 * torch.clamp(margin - dist, min=0).pow(2)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start

    with torch.no_grad():
        Etr, Ete = embed(Xtr_s).numpy(), embed(Xte_s).numpy()
    out = {"impl": "pytorch " + torch.__version__, "algo": a.algo, "threads": a.threads,
           "steps": a.steps, "batch": a.batch, "train_seconds": seconds,
           "train_cpu_seconds": cpu_seconds, "items_per_second": a.steps * a.batch / seconds,
           "final_loss": float(loss)}
    out.update(quality(Etr.astype(np.float64), ytr, Ete.astype(np.float64), yte))
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()

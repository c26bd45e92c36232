"""Quality of an embedding, computed the same way for every implementation (numpy only).

    python3 bench/siamese_quality.py TRAIN_EMB.csv TEST_EMB.csv [--pairs 5000] [--seed 0]

Inputs are CSVs with a header and the label in the first column (as `mahal transform` writes
them): the training embeddings are the gallery. Prints one JSON object:
  knn1, knn3      : 1-NN and 3-NN test accuracy (Euclidean in the embedding, ties → lowest label)
  pair_accuracy   : accuracy of "same class iff distance <= t" at the best t, on `pairs` balanced
                    random test pairs (half same-class, half different-class; seeded)
  pair_auc        : ROC AUC of the negated distance on those pairs (ties count one half)
"""
import argparse
import json
import sys

import numpy as np


def read(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return a[:, 1:], a[:, 0].astype(int)


def knn_accuracy(Etr, ytr, Ete, yte, k):
    d2 = (Ete ** 2).sum(1)[:, None] + (Etr ** 2).sum(1)[None, :] - 2 * Ete @ Etr.T
    nn = np.argsort(d2, axis=1, kind="stable")[:, :k]
    pred = []
    for row in ytr[nn]:
        counts = np.bincount(row)
        pred.append(int(np.argmax(counts)))
    return float(np.mean(np.array(pred) == yte))


def balanced_pairs(y, count, seed):
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    members = {c: np.flatnonzero(y == c) for c in classes}
    half = count // 2
    a, b, same = [], [], []
    for _ in range(half):
        c = rng.choice(classes)
        i, j = rng.choice(members[c], 2, replace=False)
        a.append(i), b.append(j), same.append(1)
    for _ in range(count - half):
        c1, c2 = rng.choice(classes, 2, replace=False)
        a.append(rng.choice(members[c1])), b.append(rng.choice(members[c2])), same.append(0)
    return np.array(a), np.array(b), np.array(same)


def auc(scores, labels):
    """AUC of `scores` (higher = more likely positive) by the rank-sum, ties averaged."""
    order = np.argsort(scores, kind="stable")
    s = scores[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def best_threshold_accuracy(dist, same):
    order = np.argsort(dist, kind="stable")
    d, s = dist[order], same[order]
    # Accept the first i pairs (distance <= d[i-1]): correct = accepted genuine + rejected impostors.
    acc_genuine = np.concatenate([[0], np.cumsum(s)])
    rej_impostor = (1 - s).sum() - np.concatenate([[0], np.cumsum(1 - s)])
    correct = acc_genuine + rej_impostor
    # Only cut between distinct distances.
    valid = np.concatenate([[True], d[1:] != d[:-1], [True]])
    return float(correct[valid].max() / len(d))


def quality(Etr, ytr, Ete, yte, pairs=5000, seed=0):
    a, b, same = balanced_pairs(yte, pairs, seed)
    dist = np.sqrt(((Ete[a] - Ete[b]) ** 2).sum(1))
    return {
        "knn1": knn_accuracy(Etr, ytr, Ete, yte, 1),
        "knn3": knn_accuracy(Etr, ytr, Ete, yte, 3),
        "pair_accuracy": best_threshold_accuracy(dist, same),
        "pair_auc": auc(-dist, same),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("train")
    p.add_argument("test")
    p.add_argument("--pairs", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    Etr, ytr = read(a.train)
    Ete, yte = read(a.test)
    json.dump(quality(Etr, ytr, Ete, yte, a.pairs, a.seed), sys.stdout)
    print()


if __name__ == "__main__":
    main()

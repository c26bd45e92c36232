"""K-means side by side: `mahal cluster` against scikit-learn's KMeans (Lloyd) on the same data,
the same K, restarts, iteration cap and tolerance, one machine, the same thread count.

    python3 bench/kmeans_vs_sklearn.py --mahal build/apps/mahal --data-dir DIR \
        [--sets digits,letters,synthetic,fashion] [--threads 1] [--repeat 3] [--restarts 10]
        [--clusters K]

Data (z-scored with their own statistics, written once as CSV for mahal, the same array for
scikit-learn): digits (scikit-learn's load_digits, 1797 x 64, K = 10), letters (DIR/letters.csv,
20000 x 16, K = 26), synthetic (100000 x 32, 10 Gaussian classes as in lmnn_scaling.py, K = 10),
fashion (Fashion-MNIST's 60000 training images on 128 principal components, when Debian's
dataset-fashion-mnist is installed; K = 10). --clusters sets one K for every set.

Both sides: greedy k-means++ seeding (2 + ln K candidates per centre), --restarts runs, the
lowest inertia kept, at most 300 Lloyd iterations, tol 1e-4 (scikit-learn's rule and default:
centroid shift relative to the mean feature variance). Time: the clustering call alone (mahal's
cluster_seconds, scikit-learn's fit), best of --repeat. Quality: the inertia of each side's result
(lower is better) and Xing's balanced pair accuracy against the classes, both computed here from
the assignments.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def balanced_pair_accuracy(y, a):
    """Xing et al.'s accuracy for > 2 classes from the contingency table, O(n + C·K)."""
    _, yi = np.unique(y, return_inverse=True)
    _, ai = np.unique(a, return_inverse=True)
    table = np.zeros((yi.max() + 1, ai.max() + 1))
    np.add.at(table, (yi, ai), 1)
    pairs = lambda c: (c * (c - 1) / 2).sum()  # noqa: E731
    n = len(y)
    same = pairs(table.sum(1))
    together = pairs(table.sum(0))
    both = pairs(table)
    diff = n * (n - 1) / 2 - same
    apart = diff - (together - both)
    return 0.5 * both / same + 0.5 * apart / diff


def inertia(Z, a):
    return sum(((Z[a == k] - Z[a == k].mean(0)) ** 2).sum() for k in np.unique(a))


def load_set(name, data_dir):
    if name == "digits":
        from sklearn.datasets import load_digits
        d = load_digits()
        return d.data.astype(float), d.target, 10
    if name == "letters":
        a = np.loadtxt(os.path.join(data_dir, "letters.csv"), delimiter=",", skiprows=1)
        return a[:, 1:], a[:, 0].astype(int), 26
    if name == "synthetic":
        from lmnn_scaling import make
        X, y = make(100000)
        return X, y, 10
    if name == "fashion":
        from fashion_mnist_pca import load
        X, labels = load("/usr/share/datasets/fashion-mnist", "train")
        X -= X.mean(0)
        _, _, vt = np.linalg.svd(X[::6], full_matrices=False)  # basis from every 6th image
        return X @ vt[:128].T, labels.astype(int), 10
    raise ValueError(f"unknown set {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mahal", default="build/apps/mahal")
    ap.add_argument("--data-dir", default="../shared/datasets")
    ap.add_argument("--sets", default="digits,letters,synthetic")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--restarts", type=int, default=10)
    ap.add_argument("--clusters", type=int, default=0,
                    help="K for every set (default: each set's number of classes)")
    args = ap.parse_args()
    from sklearn import __version__ as sklearn_version
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            X, y, K = load_set(name, args.data_dir)
            K = args.clusters or K
            sd = X.std(0)
            Z = (X - X.mean(0)) / np.where(sd > 0, sd, 1)
            path = os.path.join(tmp, name + ".csv")
            header = "label," + ",".join(f"x{t}" for t in range(Z.shape[1]))
            np.savetxt(path, np.column_stack([y, Z]), delimiter=",", header=header, comments="",
                       fmt="%.17g")
            Z = np.loadtxt(path, delimiter=",", skiprows=1)[:, 1:]  # the very values mahal reads
            out = os.path.join(tmp, name + ".clusters")
            mahal_s, sk_s = [], []
            for _ in range(args.repeat):
                p = subprocess.run([args.mahal, "cluster", "--data", path, "--clusters", str(K),
                                    "--restarts", str(args.restarts), "--tol", "1e-4",
                                    "--max-iter", "300", "--seed", "0", "--out", out, "--json",
                                    "-q"], capture_output=True, text=True, check=True, env=env)
                mahal_s.append(json.loads(p.stdout)["cluster_seconds"])
                with threadpool_limits(args.threads):
                    t0 = time.perf_counter()
                    km = KMeans(K, init="k-means++", n_init=args.restarts, max_iter=300,
                                tol=1e-4, random_state=0, algorithm="lloyd").fit(Z)
                    sk_s.append(time.perf_counter() - t0)
            a_mahal = np.loadtxt(out, skiprows=1, dtype=int)
            row = dict(set=name, n=Z.shape[0], d=Z.shape[1], K=K, threads=args.threads,
                       mahal_s=min(mahal_s), sklearn_s=min(sk_s),
                       mahal_inertia=inertia(Z, a_mahal), sklearn_inertia=inertia(Z, km.labels_),
                       mahal_acc=balanced_pair_accuracy(y, a_mahal),
                       sklearn_acc=balanced_pair_accuracy(y, km.labels_))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    print(f"scikit-learn {sklearn_version}, {args.threads} thread(s), {args.restarts} restarts, "
          f"best of {args.repeat}\n")
    print("| set | n × d | K | mahal s | scikit-learn s | scikit-learn / mahal | inertia mahal / "
          "scikit-learn | pair accuracy mahal / scikit-learn |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['set']} | {r['n']} × {r['d']} | {r['K']} | {r['mahal_s']:.3f} | "
              f"{r['sklearn_s']:.3f} | {r['sklearn_s'] / r['mahal_s']:.2f}× | "
              f"{r['mahal_inertia']:.6g} / {r['sklearn_inertia']:.6g} | "
              f"{r['mahal_acc']:.4f} / {r['sklearn_acc']:.4f} |")


if __name__ == "__main__":
    main()

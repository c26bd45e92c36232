#!/usr/bin/env python3
"""mahal's exact k-NN search beside scikit-learn's brute-force NearestNeighbors, same data, same run.

For every (n, d) the script draws n reference points and `--queries` query points, standard
normal in float64, from numpy's PCG64 seeded with `--seed` + 1000·n + d; times
NearestNeighbors(algorithm='brute', n_jobs=threads).fit(R).kneighbors(Q) and the mahal driver
(bench/knn_driver.cpp, which reads the same arrays from binary files) with the same number of
threads; checks that both return the same neighbours (a query whose index lists differ still
agrees when the two lists have the same exact distances, i.e. they differ only in ties); and
prints a Markdown table. Times are the best of `--repeats` runs, each covering the whole call
(sklearn: fit + kneighbors; mahal: upload + search + download).

  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 \
    python3 bench/knn_vs_sklearn.py --driver build/bench/mahal_knn_driver --threads 2
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import sklearn
import threadpoolctl
from sklearn.neighbors import NearestNeighbors


def write_matrix(path, x):
    """Writes x (shape (cols, rows), C order) as the rows×cols column-major MAHALF64 file."""
    x = np.ascontiguousarray(x, dtype="<f8")
    with open(path, "wb") as f:
        f.write(b"MAHALF64")
        f.write(np.array([x.shape[1], x.shape[0]], dtype="<i8").tobytes())
        f.write(x.tobytes())


def read_indices(path):
    """Reads a k×nq MAHALI64 file as an array of shape (nq, k)."""
    with open(path, "rb") as f:
        assert f.read(8) == b"MAHALI64", path
        rows, cols = np.frombuffer(f.read(16), dtype="<i8")
        return np.frombuffer(f.read(), dtype="<i8").reshape(cols, rows)


def run_driver(driver, refs, queries, k, repeats, out, api, env):
    cmd = [driver, refs, queries, str(k), str(repeats), out, api]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    last = proc.stdout.strip().splitlines()[-1]
    fields = dict(item.split("=") for item in last.split())
    return float(fields["best_s"])


def time_sklearn(R, Q, k, threads, repeats):
    best = float("inf")
    idx = None
    with threadpoolctl.threadpool_limits(limits=threads):
        for _ in range(repeats):
            start = time.perf_counter()
            nn = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=threads).fit(R)
            idx = nn.kneighbors(Q, return_distance=False)
            best = min(best, time.perf_counter() - start)
    return best, idx


def agreement(R, Q, a, b, rtol=1e-9):
    """(identical lists, lists equal up to ties, real mismatches) over the queries."""
    same = np.all(a == b, axis=1)
    ties = 0
    for q in np.nonzero(~same)[0]:
        da = np.sort(((R[a[q]] - Q[q]) ** 2).sum(axis=1))
        db = np.sort(((R[b[q]] - Q[q]) ** 2).sum(axis=1))
        if np.allclose(da, db, rtol=rtol, atol=0.0):
            ties += 1
    identical = int(same.sum())
    return identical, ties, len(a) - identical - ties


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", required=True, help="path of the mahal_knn_driver program")
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--d", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--queries", type=int, default=1024)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args()

    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(args.threads)
    env["OPENBLAS_NUM_THREADS"] = str(args.threads)
    print(f"# python {platform.python_version()}, numpy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}, threads {args.threads}, k {args.k}, "
          f"{args.queries} queries, best of {args.repeats}")
    with open("/proc/loadavg") as f:
        print(f"# load average at start: {' '.join(f.read().split()[:3])}")
    print()
    print("| n | d | sklearn brute (s) | mahal engine::knn (s) | mahal knn_search (s) | "
          "sklearn / engine | sklearn / knn_search | same lists | ties | mismatches |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        refs_path = os.path.join(tmp, "refs.bin")
        queries_path = os.path.join(tmp, "queries.bin")
        out_path = os.path.join(tmp, "indices.bin")
        for n in args.n:
            for d in args.d:
                rng = np.random.default_rng(args.seed + 1000 * n + d)
                R = rng.standard_normal((n, d))
                Q = rng.standard_normal((args.queries, d))
                write_matrix(refs_path, R)
                write_matrix(queries_path, Q)
                t_sk, idx_sk = time_sklearn(R, Q, args.k, args.threads, args.repeats)
                t_knn = run_driver(args.driver, refs_path, queries_path, args.k, args.repeats,
                                   out_path, "knn_search", env)
                t_eng = run_driver(args.driver, refs_path, queries_path, args.k, args.repeats,
                                   out_path, "engine", env)
                idx_mahal = read_indices(out_path)
                same, ties, bad = agreement(R, Q, idx_mahal, idx_sk)
                failed |= bad > 0
                print(f"| {n} | {d} | {t_sk:.4f} | {t_eng:.4f} | {t_knn:.4f} | "
                      f"{t_sk / t_eng:.2f} | {t_sk / t_knn:.2f} | {same} | {ties} | {bad} |",
                      flush=True)
    with open("/proc/loadavg") as f:
        print(f"\n# load average at end: {' '.join(f.read().split()[:3])}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

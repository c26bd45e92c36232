#!/usr/bin/env python3
"""Cross-check of mahal's C++ primitives against the numpy reference in mahal_ref.py.

Writes seeded random inputs as .npy files, runs the C++ program `ref_probe` on them, and
compares every output with mahal_ref. Prints one line per check and "N passed, M failed".

    python3 python_ref/check_engine.py PATH/TO/ref_probe [--seed S]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mahal_ref as ref  # noqa: E402

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}")


def rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return np.inf
    return float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b)))) if b.size else 0.0


def save(directory, name, array):
    np.save(os.path.join(directory, name), np.ascontiguousarray(array))


def load(directory, name):
    return np.load(os.path.join(directory, name))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("probe")
    parser.add_argument("--seed", type=int, default=20021209)
    args = parser.parse_args()
    print(f"seed {args.seed}")
    rng = np.random.default_rng(args.seed)
    d, n, nq, k, m = 6, 80, 17, 4, 300
    X = rng.normal(size=(d, n))
    Xq = rng.normal(size=(d, nq))
    L = rng.normal(size=(k, d))
    A = rng.normal(size=(d, d))
    A = A + A.T
    pairs = rng.integers(0, n, size=(m, 2))
    w = rng.normal(size=m)
    y = rng.integers(0, 3, size=n)
    y[:3] = [0, 1, 2]
    yq = rng.integers(0, 3, size=nq)

    with tempfile.TemporaryDirectory() as tmp:
        # The library reads numpy (n, d) C-order arrays as d×n: data are saved transposed.
        save(tmp, "X.npy", X.T)
        save(tmp, "Xq.npy", Xq.T)
        save(tmp, "L.npy", L)
        save(tmp, "A.npy", A)
        save(tmp, "pairs.npy", pairs.astype(np.float64))
        save(tmp, "w.npy", w)
        save(tmp, "y.npy", y.astype(np.int32))
        save(tmp, "yq.npy", yq.astype(np.int32))
        proc = subprocess.run([args.probe, tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr)
            check("ref_probe ran", False, proc.stderr.strip())
            return finish()
        out = lambda name: load(tmp, f"out_{name}.npy")

        check("pair_scatter", rel_err(out("scatter"), ref.pair_scatter(X, X, pairs, w)) < 1e-12)
        Z = L @ X
        check("pair_scatter_linear (2 L G)",
              rel_err(out("scatter_linear"), 2 * ref.pair_scatter(Z, X, pairs, w)) < 1e-12)
        check("pair_sqdist", rel_err(out("pair_sqdist").ravel(), ref.pair_sqdist(Z, Z, pairs)) < 1e-12)
        check("all_pairs_sqdist", rel_err(out("all_pairs"), ref.all_pairs_sqdist(Xq, X, L)) < 1e-10)
        idx, sqd = ref.knn(Xq, X, 5, L=L)
        check("knn indices", np.array_equal(out("knn_idx").astype(int), idx))
        check("knn distances", rel_err(out("knn_d"), sqd) < 1e-10)
        pred = ref.knn_classify(Xq, X, y, 5, L=L)
        check("knn_classify", np.array_equal(out("knn_pred").ravel().astype(int), pred))
        for name, filt in (("self_any", "any"), ("self_same", "same"), ("self_diff", "different")):
            idx, sqd = ref.knn(X, X, 5, L=L, exclude_self=True, filter=filt, yq=y, yr=y)
            got = out(f"knn_{name}_idx").astype(int)
            same = np.array_equal(got, idx)
            check(f"knn {name} indices", same,
                  "" if same else f"{np.sum(got != idx)} entries differ")
            check(f"knn {name} distances", rel_err(out(f"knn_{name}_d"), sqd) < 1e-10)
        P = ref.project_psd(A)
        check("project_psd", rel_err(out("project_psd"), P) < 1e-12)
        L3 = ref.psd_to_L(P, rank=3)
        # Rows of L are defined up to sign: compare LᵀL.
        check("psd_to_L rank 3 (LᵀL)", rel_err(out("psd_to_L3").T @ out("psd_to_L3"), L3.T @ L3) < 1e-10)
        _, comp = ref.connected_components(n, pairs)
        check("connected_components", np.array_equal(out("components").ravel().astype(int), comp))
    return finish()


def finish():
    passed = sum(results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""LMNN scaling in n: synthetic data, d = 32, 10 Gaussian classes, a fixed number of L-BFGS
iterations; time per iteration (evaluations and line search), time per all-pairs impostor
search, and the whole fit. Writes a Markdown table to stdout and a log-log plot (matplotlib).

    python3 bench/lmnn_scaling.py --bench build/bench/mahal_lmnn_driver \
        [--sizes 1000,3000,10000,30000,100000] [--iterations 10] [--plot lmnn_scaling.png]

Data: class means ~ N(0, 0.8² I), points = mean + N(0, I), seed 0; 1000 extra points are the
test set. Thread count from OMP_NUM_THREADS / OPENBLAS_NUM_THREADS as set by the caller.
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np


def make(n, d=32, classes=10, seed=0):
    g = np.random.default_rng(seed)
    means = 0.8 * g.standard_normal((classes, d))
    y = np.arange(n) % classes
    g.shuffle(y)
    return means[y] + g.standard_normal((n, d)), y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/mahal_lmnn_driver")
    ap.add_argument("--sizes", default="1000,3000,10000,30000,100000")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--impostors", type=int, default=0,
                    help="K nearest impostors per point (mlpack's objective; 0 = all, the paper)")
    ap.add_argument("--plot", default="")
    ap.add_argument("--from-json", default="",
                    help="tabulate and plot the JSON rows of earlier runs instead of running")
    args = ap.parse_args()
    rows = []
    if args.from_json:
        with open(args.from_json) as f:
            rows = [json.loads(line) for line in f if line.startswith("{")]
        args.sizes = ""
    for n in [int(s) for s in args.sizes.split(",") if s]:
        X, y = make(n + 1000)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "synthetic.csv")
            header = "label," + ",".join(f"x{t}" for t in range(X.shape[1]))
            np.savetxt(path, np.column_stack([y, X]), delimiter=",", header=header,
                       comments="", fmt="%.9g")
            p = subprocess.run([args.bench, "--data", path, "--first", str(n), "--max-iter",
                                str(args.iterations), "--impostors", str(args.impostors)],
                               capture_output=True, text=True, check=True)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        # Per iteration: the objective and gradient evaluations (line search included) — the
        # part that must grow linearly. The rest of the fit is the impostor searches and the one
        # exact k-NN for the target neighbours (both n²; shown per search and as "other").
        row = dict(n=n, fit=r["train_seconds"], iterations=r["iterations"],
                   evaluations=r["evaluations"], searches=r["full_searches"],
                   per_iteration=r["evaluation_seconds"] / max(1, r["iterations"]),
                   other=r["train_seconds"] - r["search_seconds"] - r["evaluation_seconds"],
                   per_search=r["search_seconds"] / max(1, r["full_searches"]),
                   candidates=r["candidate_pairs"], accuracy=r["test_accuracy"],
                   impostors=args.impostors)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("| n | fit s | iterations | evaluations | full searches | s / iteration (evaluations) "
          "| s / full search | other s (target k-NN, set-up) | candidate pairs | 3-NN test acc |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        other = f"{r['other']:.3f}" if "other" in r else "—"
        print(f"| {r['n']} | {r['fit']:.3f} | {r['iterations']} | {r['evaluations']} | "
              f"{r['searches']} | {r['per_iteration']:.4f} | {r['per_search']:.3f} | "
              f"{other} | {r['candidates']} | {r['accuracy']:.4f} |")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        n = np.array([r["n"] for r in rows], dtype=float)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.loglog(n, [r["per_iteration"] for r in rows], "o-", label="per iteration (evaluations)")
        ax.loglog(n, [r["per_search"] for r in rows], "s-", label="per all-pairs search")
        ax.loglog(n, [r["fit"] for r in rows], "^-", label=f"fit ({args.iterations} iterations)")
        ax.loglog(n, n / n[0] * rows[0]["per_iteration"], "k:", label="∝ n")
        ax.loglog(n, (n / n[0]) ** 2 * rows[0]["per_search"], "k--", label="∝ n²")
        ax.set_xlabel("n (training points), d = 32, 10 classes")
        ax.set_ylabel("seconds")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()

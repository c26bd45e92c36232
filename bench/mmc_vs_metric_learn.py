#!/usr/bin/env python3
"""MMC side by side with metric-learn 0.7.0 on exactly the same data and pairs.

For each data set: standardise (z-score, population s.d.), stratified 70/30 split with seed 0
(metric-learn's MMC_Supervised setting used for the issue's timings), training part only; S and D
as MMC_Supervised draws them (num_constraints = 20·C², seed 0) — then exported to .npy and given
to metric-learn's MMC (pairs API) and to mahal's bench/mahal_mmc_pairs_driver driver in reference and fast
mode. Reported: seconds, the paper's objective g(A) = Σ_D ||δ||_A with f(A) = Σ_S ||δ||²_A (both
evaluated here, in numpy, on each returned A), and the speed ratios.

    bench/mmc_vs_metric_learn.sh  (creates the venv, then runs this)
    python3 bench/mmc_vs_metric_learn.py --driver build/bench/mahal_mmc_pairs_driver --data-dir DIR
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def load_csv(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1)
    return a[:, 1:], a[:, 0].astype(int)


def objectives(X, S, D, A):
    dS = X[S[:, 0]] - X[S[:, 1]]
    dD = X[D[:, 0]] - X[D[:, 1]]
    f = np.einsum("ij,jk,ik->", dS, A, dS)
    g = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", dD, A, dD), 0)).sum()
    return g, f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--sets", default="wine,breast_cancer,digits")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    import metric_learn
    from metric_learn import MMC
    from metric_learn.constraints import Constraints
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    print("metric-learn", metric_learn.__version__ if hasattr(metric_learn, "__version__") else "?",
          file=sys.stderr)
    results = []
    for name in args.sets.split(","):
        if name == "digits":
            from sklearn.datasets import load_digits
            X, y = load_digits(return_X_y=True)
        else:
            X, y = load_csv(os.path.join(args.data_dir, name + ".csv"))
        Xtr, _, ytr, _ = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        Xtr = StandardScaler().fit_transform(Xtr)
        C = len(np.unique(ytr))
        a, b, c, d = Constraints(ytr).positive_negative_pairs(20 * C * C, random_state=0)
        S = np.stack([a, b], 1)
        D = np.stack([c, d], 1)
        row = {"set": name, "n": int(Xtr.shape[0]), "d": int(Xtr.shape[1]), "S": len(S),
               "D": len(D)}
        with tempfile.TemporaryDirectory() as tmp:
            np.save(os.path.join(tmp, "X.npy"), np.ascontiguousarray(Xtr, dtype=np.float64))
            np.save(os.path.join(tmp, "S.npy"), S.astype(np.float64))
            np.save(os.path.join(tmp, "D.npy"), D.astype(np.float64))
            for kind in ("full", "diag"):
                pairs = np.concatenate([np.stack([Xtr[S[:, 0]], Xtr[S[:, 1]]], 1),
                                        np.stack([Xtr[D[:, 0]], Xtr[D[:, 1]]], 1)])
                labels = np.concatenate([np.ones(len(S)), -np.ones(len(D))])
                best = None
                for _ in range(args.repeat):
                    m = MMC(diagonal=(kind == "diag"), random_state=0)
                    t0 = time.perf_counter()
                    m.fit(pairs, labels)
                    sec = time.perf_counter() - t0
                    best = sec if best is None else min(best, sec)
                A_ml = m.get_mahalanobis_matrix()
                g_ml, f_ml = objectives(Xtr, S, D, A_ml)
                row[kind] = {"metric_learn": {"seconds": best, "g": g_ml, "f": f_ml}}
                t_bound = None
                for mode in ("reference", "fast"):
                    secs = []
                    for _ in range(args.repeat):
                        out = subprocess.run(
                            [args.driver, os.path.join(tmp, "X.npy"), os.path.join(tmp, "S.npy"),
                             os.path.join(tmp, "D.npy"), kind, mode],
                            check=True, capture_output=True, text=True).stdout
                        r = json.loads(out)
                        secs.append(r["seconds"])
                    d_ = Xtr.shape[1]
                    A = np.array(r["A"]).reshape(d_, d_, order="F")
                    g, f = objectives(Xtr, S, D, A)
                    t_bound = r["bound"] or t_bound
                    row[kind][mode] = {
                        "seconds": min(secs), "g": g, "f": f, "iterations": r["iterations"],
                        "status": r["status"], "bound": r["bound"],
                        "speedup": best / min(secs),
                        "A_rel_diff": float(np.linalg.norm(A - A_ml) / np.linalg.norm(A_ml)),
                    }
                # The paper's objective is g subject to f <= t. g scales as sqrt(f) along the ray
                # through A, so an infeasible A is compared at its rescaling onto f = t.
                if t_bound:
                    for k in ("metric_learn", "reference", "fast"):
                        e = row[kind][k]
                        e["g_feasible"] = e["g"] * np.sqrt(min(1.0, t_bound / e["f"]))
        results.append(row)
        print(json.dumps(row), flush=True)
    print("\n| set | n×d | A | metric-learn s | reference s (×) | ‖ΔA‖/‖A‖ | fast s (×) | "
          "g ml / ref / fast | f ml / ref / fast | g at f <= t: ml / fast |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        for kind in ("full", "diag"):
            k = row[kind]
            ml, ref, fast = k["metric_learn"], k["reference"], k["fast"]
            print("| %s | %d×%d | %s | %.3f | %.4f (%.1f×) | %.1e | %.4f (%.0f×) | "
                  "%.4g / %.4g / %.4g | %.4g / %.4g / %.4g | %s |" % (
                      row["set"], row["n"], row["d"], kind, ml["seconds"], ref["seconds"],
                      ref["speedup"], ref["A_rel_diff"], fast["seconds"], fast["speedup"],
                      ml["g"], ref["g"], fast["g"], ml["f"], ref["f"], fast["f"],
                      "%.4g / %.4g" % (ml["g_feasible"], fast["g_feasible"])
                      if "g_feasible" in ml else "—"))


if __name__ == "__main__":
    main()

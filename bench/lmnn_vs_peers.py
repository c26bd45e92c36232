"""LMNN side by side: mahal (mahal_lmnn_driver), pylmnn, metric-learn and mlpack on the same data,
the same split and the same thread count; 3-NN test accuracy in the learned space.

    python3 bench/lmnn_vs_peers.py --bench build/bench/mahal_lmnn_driver --datasets DIR \
        [--data digits,letters] [--threads 1,2] [--with-slow-peers] [--peers mahal,pylmnn,...]

Every fit runs in its own process with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS =
MKL_NUM_THREADS = the thread count. Features are standardised with the training mean and
standard deviation (scikit-learn's StandardScaler; mahal_lmnn_driver does the same). The learned map L
of every method is scored by the same scikit-learn 3-NN classifier on X·Lᵀ.

Data: digits = scikit-learn's load_digits, stratified 70/30 split, seed 0 (as
bench/make_digits_csv.py writes it); letters = letters.csv, first 16000 rows train, last 4000
test. Peers with their default settings except k = 3 target neighbours (mlpack: optimizer
'lbfgs', the configuration of the reference accuracy 0.967 on letters).
Slow fits (mlpack on letters: minutes; metric-learn on letters) run only with
--with-slow-peers.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SLOW = {("mlpack", "letters"), ("metric-learn", "letters")}


def load(name, datasets):
    import numpy as np
    if name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        X, y = load_digits(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    elif name == "letters":
        A = np.loadtxt(os.path.join(datasets, "letters.csv"), delimiter=",", skiprows=1)
        y, X = A[:, 0].astype(int), A[:, 1:]
        Xtr, Xte, ytr, yte = X[:16000], X[16000:], y[:16000], y[16000:]
    else:
        raise SystemExit(f"unknown data set {name}")
    from sklearn.preprocessing import StandardScaler
    s = StandardScaler().fit(Xtr)
    return s.transform(Xtr), s.transform(Xte), ytr, yte


def score(L, Xtr, Xte, ytr, yte):
    """3-NN test accuracy on X·Lᵀ, two tie rules for 1-1-1 votes: scikit-learn's (smallest
    label) and mahal::knn_classify's (the label of the nearest of the tied)."""
    import numpy as np
    from sklearn.neighbors import KNeighborsClassifier
    knn = KNeighborsClassifier(n_neighbors=3).fit(Xtr @ L.T, ytr)
    Zte = Xte @ L.T
    sk = float((knn.predict(Zte) == yte).mean())
    _, idx = knn.kneighbors(Zte)
    votes = ytr[idx]  # nearest first
    pred = np.empty(len(yte), dtype=ytr.dtype)
    for q, v in enumerate(votes):
        labels, counts = np.unique(v, return_counts=True)
        best = set(labels[counts == counts.max()])
        pred[q] = next(c for c in v if c in best)
    return sk, float((pred == yte).mean())


def fit_peer(peer, Xtr, ytr):
    """Returns (L, seconds, extra) for one peer; runs inside the child process."""
    import numpy as np
    if peer == "pylmnn":
        import types
        # pylmnn's package __init__ imports GPyOpt for its hyper-parameter search only.
        for m in ("GPyOpt", "GPyOpt.methods"):
            mod = types.ModuleType(m)
            mod.BayesianOptimization = None
            sys.modules.setdefault(m, mod)
        import pylmnn.lmnn
        from pylmnn import LargeMarginNearestNeighbor
        # pylmnn 1.6 passes a 2-d x0; SciPy >= 1.11 needs it flat (same values, same method).
        scipy_minimize = pylmnn.lmnn.minimize

        def minimize_flat(**kw):
            kw["x0"] = np.ravel(kw["x0"])
            return scipy_minimize(**kw)
        pylmnn.lmnn.minimize = minimize_flat
        model = LargeMarginNearestNeighbor(n_neighbors=3, random_state=0)
        t = time.perf_counter()
        model.fit(Xtr, ytr)
        sec = time.perf_counter() - t
        return model.components_, sec, {"iterations": int(model.n_iter_)}
    if peer == "metric-learn":
        from metric_learn import LMNN
        model = LMNN(n_neighbors=3, random_state=0)
        t = time.perf_counter()
        model.fit(Xtr, ytr)
        sec = time.perf_counter() - t
        return model.components_, sec, {"iterations": int(getattr(model, "n_iter_", -1))}
    if peer == "mlpack":
        import mlpack
        t = time.perf_counter()
        out = mlpack.lmnn(input_=np.ascontiguousarray(Xtr), labels=ytr.astype(np.uint64), k=3,
                          optimizer="lbfgs")
        sec = time.perf_counter() - t
        return np.asarray(out["output"]), sec, {}
    raise SystemExit(f"unknown peer {peer}")


def child(args):
    Xtr, Xte, ytr, yte = load(args.data[0], args.datasets)
    L, sec, extra = fit_peer(args.peers[0], Xtr, ytr)
    sk, nearest = score(L, Xtr, Xte, ytr, yte)
    out = {"method": args.peers[0], "seconds": sec, "test_accuracy": sk,
           "test_accuracy_nearest_tie": nearest}
    out.update(extra)
    print(json.dumps(out))


MAHAL = {"mahal": [],  # the paper's objective: every impostor
         "mahal-float": ["--precision", "float"],  # the same fit in single precision
         # pylmnn's work: its objective (the plain hinge over every impostor, mu = 0.5) and its
         # budget (max_iter = 50 L-BFGS iterations by default; pylmnn stops there on digits)
         "mahal-iter50": ["--max-iter", "50"],
         # mlpack's objective (the 3 nearest impostors per point), converged as tightly as mlpack
         "mahal-k3": ["--impostors", "3", "--tol", "1e-6"]}


def run_mahal(args, name, data, env):
    import numpy as np
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [args.bench, "--save-L", os.path.join(tmp, "L.csv")] + MAHAL[name]
        if data == "digits":
            cmd += ["--train", os.path.join(args.digits_dir, "digits_train.csv"),
                    "--test", os.path.join(args.digits_dir, "digits_test.csv")]
        else:
            cmd += ["--data", os.path.join(args.datasets, "letters.csv"), "--first", "16000"]
        t = time.perf_counter()
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t
        rec = json.loads(p.stdout.strip().splitlines()[-1])
        L = np.loadtxt(os.path.join(tmp, "L.csv"), delimiter=",", ndmin=2)
    Xtr, Xte, ytr, yte = load(data, args.datasets)
    sk, nearest = score(L, Xtr, Xte, ytr, yte)
    return {"method": name, "seconds": rec["train_seconds"], "process_seconds": wall,
            "test_accuracy": sk, "test_accuracy_nearest_tie": nearest,
            "own_accuracy": rec["test_accuracy"], "iterations": rec["iterations"],
            "full_searches": rec["full_searches"]}


def run_round(args, data, threads):
    """Every method of args.peers once on one data set with the given thread count."""
    env = dict(os.environ)
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(threads)
    # Idle OpenMP threads sleep instead of spinning (the cores may be shared).
    env.setdefault("OMP_WAIT_POLICY", "passive")
    rows = []
    for peer in args.peers:
        if (peer, data) in SLOW and not args.with_slow_peers:
            continue
        if peer in MAHAL:
            rec = run_mahal(args, peer, data, env)
        else:
            p = subprocess.run([sys.executable, __file__, "--child", "--data", data,
                                "--peers", peer, "--datasets", args.datasets],
                               env=env, capture_output=True, text=True)
            if p.returncode != 0:
                print(f"# {peer} on {data} failed: {p.stderr.strip()[-400:]}", file=sys.stderr)
                continue
            rec = json.loads(p.stdout.strip().splitlines()[-1])
        rec.update(data=data, threads=threads)
        print(json.dumps(rec), file=sys.stderr, flush=True)
        rows.append(rec)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/mahal_lmnn_driver")
    ap.add_argument("--datasets", required=True, help="folder holding letters.csv")
    ap.add_argument("--digits-dir", default=None, help="folder with digits_{train,test}.csv")
    ap.add_argument("--data", default="digits,letters")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--peers", default="mahal,mahal-k3,pylmnn,metric-learn,mlpack")
    ap.add_argument("--with-slow-peers", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of every method, interleaved; the table gives their median")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.data = args.data.split(",")
    args.peers = args.peers.split(",")
    if args.child:
        return child(args)
    rows = []
    # Every method once per round, the rounds one after another: a slow spell of a shared
    # machine falls on all methods alike.
    for _ in range(args.repeat):
        for data in args.data:
            for threads in [int(t) for t in args.threads.split(",")]:
                rows += run_round(args, data, threads)
    rows = median_rows(rows)
    # mahal's train s is the fit alone (the driver clock); peers': their fit call.
    print("| data | threads | method | train s | 3-NN acc (sklearn ties) | "
          "3-NN acc (nearest ties) | s / mahal s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        base = [m for m in rows if m["method"] == "mahal" and m["data"] == r["data"]
                and m["threads"] == r["threads"]]
        ratio = f"{r['seconds'] / base[0]['seconds']:.1f}" if base else "-"
        near = r.get("test_accuracy_nearest_tie")
        near = f"{near:.4f}" if near is not None else "-"
        spread = f" ({r['seconds_min']:.3f}–{r['seconds_max']:.3f})" if r["runs"] > 1 else ""
        print(f"| {r['data']} | {r['threads']} | {r['method']} | {r['seconds']:.3f}{spread} | "
              f"{r['test_accuracy']:.4f} | {near} | {ratio} |")


def median_rows(rows):
    """One row per (data, threads, method): the first run's, with the median, least and
    greatest train seconds of all its runs."""
    import statistics
    groups = {}
    for r in rows:
        groups.setdefault((r["data"], r["threads"], r["method"]), []).append(r)
    out = []
    for runs in groups.values():
        seconds = [r["seconds"] for r in runs]
        out.append(dict(runs[0], seconds=statistics.median(seconds), seconds_min=min(seconds),
                        seconds_max=max(seconds), runs=len(runs)))
    return out


if __name__ == "__main__":
    main()

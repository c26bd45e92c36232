#!/usr/bin/env python3
"""The command-line contract of `mahal`, checked end to end on wine.

Every subcommand with --json prints exactly one JSON object on stdout with the keys the issues
name; errors are one object {"error", "kind"} with exit status 1 (2 for usage errors). Beyond
the keys, the numbers are cross-checked against independent computations:
  * `knn --model M` equals Euclidean k-NN on the data mapped by `transform --model M`;
  * `verify`'s AUC and identification accuracy equal the ones computed here, in numpy, from the
    transformed gallery and probes (min-distance score, Mann–Whitney AUC with ties as ½);
  * the ROC written by --roc-out integrates to the reported AUC;
  * `verify --folds P` (one fold per probe, so the shuffle does not matter) equals the
    leave-one-probe-out accuracy computed here with the best-accuracy threshold rule;
  * `verify --claims` accepts exactly the claims whose numpy score is at most the threshold.

    cli_contract.py MAHAL_EXECUTABLE DATA_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python_ref"))
from lmnn_ref import lmnn_objective, target_neighbors  # noqa: E402

FIT_KEYS = {"algo", "train_seconds", "status", "test_accuracy"}
SOLVER_KEYS = FIT_KEYS | {"iterations", "objective"}
NETWORK_KEYS = FIT_KEYS | {"steps", "final_loss"}
VERIFY_KEYS = {"auc", "eer", "tar_at_far", "accuracy"}
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message, file=sys.stderr)


def run(mahal, *args, expect_rc=0):
    p = subprocess.run([mahal, *args, "--json"], capture_output=True, text=True)
    lines = p.stdout.strip().splitlines()
    check(p.returncode == expect_rc,
          f"{' '.join(args)}: exit {p.returncode}, expected {expect_rc}: {p.stderr.strip()}")
    check(len(lines) == 1, f"{' '.join(args)}: {len(lines)} lines on stdout, expected one")
    return json.loads(lines[-1]) if lines else {}


def read_csv(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return a[:, 1:], a[:, 0].astype(int)


def split_wine(data_dir, out):
    lines = open(os.path.join(data_dir, "wine.csv")).read().splitlines()
    header, rows = lines[0], lines[1:]
    for name, part in (("train.csv", rows[0::2]), ("test.csv", rows[1::2])):
        with open(os.path.join(out, name), "w") as f:
            f.write("\n".join([header] + part) + "\n")


def balanced_pair_accuracy(y, a):
    """Xing et al.'s accuracy for more than two classes: same-class and different-class pairs
    i < j weigh ½ each, a pair scoring when the clustering treats it as the labels do."""
    i, j = np.triu_indices(len(y), 1)
    same, together = y[i] == y[j], a[i] == a[j]
    return 0.5 * (together[same].mean() + (~together[~same]).mean())


def count_components(n, pairs):
    """Connected components of the graph on n points with the given edges (union–find)."""
    parent = list(range(n))

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for i, j in pairs:
        parent[root(i)] = root(j)
    return len({root(x) for x in range(n)})


def min_distance_scores(Zg, yg, Zp):
    """scores[p, c] = min over gallery samples g of class c of ||Zp[p] − Zg[g]||."""
    classes = np.unique(yg)
    d = np.sqrt(((Zp[:, None, :] - Zg[None, :, :]) ** 2).sum(-1))
    return classes, np.stack([d[:, yg == c].min(1) for c in classes], 1)


def mann_whitney_auc(genuine, impostor):
    """P(genuine score < impostor score) + ½ P(tie): distances, smaller means same class."""
    g = np.sort(genuine)
    below = np.searchsorted(g, impostor, side="left")   # genuine < impostor
    ties = np.searchsorted(g, impostor, side="right") - below
    return (below.sum() + 0.5 * ties.sum()) / (len(genuine) * len(impostor))


def best_accuracy_threshold(scores, genuine):
    """mahal's rule: the cut (below the smallest score, midpoints between distinct scores, or
    the largest score) with the most correct trials, the smallest such cut on ties."""
    s = np.sort(np.unique(scores))
    cuts = np.concatenate([[np.nextafter(s[0], -np.inf)], (s[:-1] + s[1:]) / 2, [s[-1]]])
    correct = [((scores <= c) == genuine).sum() for c in cuts]
    return cuts[int(np.argmax(correct))]


def leave_one_probe_out(scores, same):
    accuracies = []
    for p in range(scores.shape[0]):
        rest = np.arange(scores.shape[0]) != p
        tau = best_accuracy_threshold(scores[rest].ravel(), same[rest].ravel())
        accuracies.append(((scores[p] <= tau) == same[p]).mean())
    return float(np.mean(accuracies))


def class_spreads(Zg, yg, classes):
    """Mean over a class's samples of the distance to the nearest other sample of the class."""
    spreads = []
    for c in classes:
        Z = Zg[yg == c]
        d = np.sqrt(((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        spreads.append(d.min(1).mean())
    return np.array(spreads)


def score_rounding(model_eps, Zg, Zp, scores):
    """How far the model's scores may sit from float64 ones: mahal computes a squared distance in
    the model's precision as ||a||² + ||b||² − 2a·b (a GEMM), whose rounding is a few ε times
    ||a||² + ||b||², so about that over 2·score in the score itself."""
    norms = (Zg ** 2).sum(1).max() + (Zp ** 2).sum(1).max()
    return 1e-9 + 4 * model_eps * norms / (2 * np.maximum(scores, 1e-12))


def check_decisions(mahal, tmp, model, classes, scores, same, Zg, yg, Zp, model_eps):
    """Claims of each probe's own class and of the next class: accepted iff score <= threshold."""
    test = os.path.join(tmp, "test.csv")
    lines = open(test).read().splitlines()
    claims, decisions = os.path.join(tmp, "claims.csv"), os.path.join(tmp, "decisions.csv")
    own = np.argmax(same, 1)
    other = (own + 1) % len(classes)
    with open(claims, "w") as f:
        f.write(lines[0] + "\n")
        for row, c in zip(lines[1:] * 2, np.concatenate([own, other])):
            f.write(f"{classes[c]}," + row.split(",", 1)[1] + "\n")
    d = run(mahal, "verify", "--model", model, "--gallery", os.path.join(tmp, "train.csv"),
            "--probes", test, "--claims", claims, "--threshold", "accuracy", "--decisions-out",
            decisions, "-q")
    tau = d.get("threshold", np.nan)
    check(d.get("threshold_rule") == "accuracy" and tau == d.get("accuracy_threshold"),
          f"{model}: decision threshold {tau} vs accuracy_threshold {d.get('accuracy_threshold')}")
    n = len(own)
    ours = np.concatenate([scores[np.arange(n), own], scores[np.arange(n), other]])
    table = np.loadtxt(decisions, delimiter=",", skiprows=1, ndmin=2)
    check(table.shape == (2 * n, 5), f"{model}: decisions table {table.shape}")
    if table.shape == (2 * n, 5):
        err = abs(table[:, 2] - ours)
        check(np.all(err <= score_rounding(model_eps, Zg, Zp, ours)),
              f"{model}: decision scores differ from numpy's by {err.max()}")
        check(np.array_equal(table[:, 4] == 1, table[:, 2] <= table[:, 3]),
              f"{model}: a decision disagrees with score <= threshold")
        # Away from the threshold (where the two distance orders may differ) numpy agrees.
        clear = np.abs(ours - tau) > 1e-6 * max(1.0, abs(tau))
        check(np.array_equal((ours <= tau)[clear], (table[:, 4] == 1)[clear]),
              f"{model}: decisions differ from numpy's score <= {tau}")
        check(d.get("accepted") == int(table[:, 4].sum()) and d.get("claims") == 2 * n,
              f"{model}: accepted {d.get('accepted')} of {d.get('claims')}")
    # Subject-specific thresholds: τ · spread_c / the median spread (three classes: the middle).
    d = run(mahal, "verify", "--model", model, "--gallery", os.path.join(tmp, "train.csv"),
            "--probes", test, "--claims", claims, "--threshold", "accuracy", "--per-class",
            "--decisions-out", decisions, "-q")
    spreads = class_spreads(Zg, yg, classes)
    expected = tau * spreads / np.sort(spreads)[len(spreads) // 2]
    table = np.loadtxt(decisions, delimiter=",", skiprows=1, ndmin=2)
    claimed = np.searchsorted(classes, table[:, 1].astype(int))
    check(d.get("per_class") is True and np.allclose(table[:, 3], expected[claimed], rtol=1e-6),
          f"{model}: per-class thresholds {np.unique(table[:, 3])} vs {expected}")


def check_model(mahal, tmp, model, fit):
    train, test = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
    knn = run(mahal, "knn", "--model", model, "--train", train, "--test", test, "-q")
    check(knn.get("test_accuracy") == fit.get("test_accuracy"),
          f"{model}: knn accuracy {knn.get('test_accuracy')} != fit's {fit.get('test_accuracy')}")
    z = {}
    for part in ("train", "test"):
        out = os.path.join(tmp, f"z_{part}.csv")
        t = run(mahal, "transform", "--model", model, "--input", os.path.join(tmp, part + ".csv"),
                "--output", out, "-q")
        check(t.get("rows") == 89 and t.get("input_dim") == 13,
              f"{model}: transform reported {t}")
        z[part] = out
    euclid = run(mahal, "knn", "--train", z["train"], "--test", z["test"], "-q")
    check(euclid.get("test_accuracy") == knn.get("test_accuracy"),
          f"{model}: k-NN in the transformed space {euclid.get('test_accuracy')} != "
          f"k-NN under the model {knn.get('test_accuracy')}")

    roc = os.path.join(tmp, "roc.csv")
    v = run(mahal, "verify", "--model", model, "--gallery", train, "--probes", test,
            "--roc-out", roc, "-q")
    check(VERIFY_KEYS <= v.keys(), f"{model}: verify lacks {VERIFY_KEYS - v.keys()}")
    Zg, yg = read_csv(z["train"])
    Zp, yp = read_csv(z["test"])
    classes, scores = min_distance_scores(Zg, yg, Zp)
    same = yp[:, None] == classes[None, :]
    auc = mann_whitney_auc(scores[same], scores[~same])
    # Distances are computed in a different order here: allow a few near-ties to flip.
    check(abs(v.get("auc", -1) - auc) < 1e-3, f"{model}: verify auc {v.get('auc')} vs {auc}")
    ident = float((classes[scores.argmin(1)] == yp).mean())
    check(abs(v.get("identification_accuracy", -1) - ident) < 0.02,
          f"{model}: identification accuracy {v.get('identification_accuracy')} vs {ident}")
    curve = np.loadtxt(roc, delimiter=",", skiprows=1, ndmin=2)
    far, tar = curve[:, 0], curve[:, 1]
    check(np.all(np.diff(far) >= 0) and np.all(np.diff(tar) >= 0), f"{model}: ROC not monotone")
    area = float(((far[1:] - far[:-1]) * (tar[1:] + tar[:-1]) / 2).sum())
    check(abs(area - v.get("auc", -1)) < 1e-9, f"{model}: ROC area {area}, auc {v.get('auc')}")
    for key in ("eer", "tar_at_far", "accuracy", "kfold_accuracy"):
        check(0 <= v.get(key, -1) <= 1, f"{model}: verify {key} = {v.get(key)}")
    loo = run(mahal, "verify", "--model", model, "--gallery", train, "--probes", test, "--folds",
              str(len(yp)), "-q")
    ours = leave_one_probe_out(scores, same)
    # One flipped near-tie trial moves the mean by 1/267.
    check(abs(loo.get("kfold_accuracy", -1) - ours) < 0.01,
          f"{model}: leave-one-probe-out accuracy {loo.get('kfold_accuracy')} vs {ours}")
    # Networks compute in float32 by default (the fit reports `precision`), metrics in double.
    model_eps = np.finfo(np.float32 if fit.get("precision", "double") == "float" else np.float64).eps
    check_decisions(mahal, tmp, model, classes, scores, same, Zg, yg, Zp, model_eps)


def main():
    mahal, data_dir = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        split_wine(data_dir, tmp)
        train, test = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
        info = run(mahal, "info")
        check({"version", "cuda_compiled", "gpu_devices"} <= info.keys(), f"info: {info}")
        check(info.get("blas_threading") in ("openmp", "pthreads", "sequential")
              and info.get("openmp_threads", 0) >= 1, f"info: BLAS threading {info}")

        baseline = run(mahal, "knn", "--train", train, "--test", test, "--standardize", "-q")
        check(baseline.get("test_accuracy", 0) > 0.9, f"z-scored 3-NN on wine: {baseline}")
        # Verification under the Euclidean metric, z-scored with the gallery's statistics.
        v = run(mahal, "verify", "--gallery", train, "--probes", test, "--standardize", "-q")
        Xg, yg = read_csv(train)
        Xp, yp = read_csv(test)
        mean, std = Xg.mean(0), Xg.std(0)
        classes, scores = min_distance_scores((Xg - mean) / std, yg, (Xp - mean) / std)
        same = yp[:, None] == classes[None, :]
        auc = mann_whitney_auc(scores[same], scores[~same])
        check(v.get("model_kind") == "euclidean" and abs(v.get("auc", -1) - auc) < 1e-3,
              f"Euclidean verify: {v.get('model_kind')}, auc {v.get('auc')} vs {auc}")
        # Every learned metric must stay well above the majority-class rate (0.40). MMC's full A
        # is rank one here (it serves clustering, not k-NN): about 0.83.
        floor = 0.8
        fits = [("mmc", ["--similar", "200", "--dissimilar", "200"], SOLVER_KEYS),
                ("mmc-diag", [], SOLVER_KEYS),
                ("mmc-l", [], SOLVER_KEYS),
                ("lmnn", [], SOLVER_KEYS),
                ("siamese", ["--steps", "200"], NETWORK_KEYS | {"pairs_per_second"}),
                ("triplet", ["--steps", "200"], NETWORK_KEYS | {"triplets_per_second"}),
                ("triplet-hard", ["--steps", "200"], NETWORK_KEYS | {"triplets_per_second"}),
                ("triplet-semi-hard", ["--steps", "200", "--per-class", "4"],
                 NETWORK_KEYS | {"triplets_per_second", "per_class"}),
                ("softmax-contrastive", ["--steps", "200", "--lambda", "0.5"],
                 NETWORK_KEYS | {"pairs_per_second", "lambda"}),
                ("softmax-center", ["--steps", "200", "--optimizer", "sgd", "--lr", "0.05",
                                    "--momentum", "0.5"],
                 NETWORK_KEYS | {"pairs_per_second", "lambda", "momentum"})]
        for algo, extra, keys in fits:
            model = os.path.join(tmp, algo + ".model")
            fit = run(mahal, "fit", "--algo", algo, "--train", train, "--test", test, "--out",
                      model, "-q", *extra)
            check(keys <= fit.keys(), f"fit {algo}: lacks {keys - fit.keys()}")
            check(fit.get("algo") == algo, f"fit {algo}: algo = {fit.get('algo')}")
            check(fit.get("test_accuracy", 0) >= floor,
                  f"fit {algo}: test accuracy {fit.get('test_accuracy')} < {floor:.3f}")
            check_model(mahal, tmp, model, fit)

        # A feature equal to the label: the similar pairs do not vary along it, the dissimilar
        # ones do, so the MMC objectives are unbounded there; the fits say so and still converge.
        planted = os.path.join(tmp, "planted.csv")
        with open(planted, "w") as f:
            rows = open(train).read().splitlines()
            f.write("\n".join([rows[0] + ",copy"] + [r + "," + r.split(",")[0] for r in rows[1:]])
                    + "\n")
        for algo in ("mmc", "mmc-diag", "mmc-l"):
            regular = run(mahal, "fit", "--algo", algo, "--train", train, "-q")
            fit = run(mahal, "fit", "--algo", algo, "--train", planted, "-q")
            check(regular.get("unconstrained_directions") == 0
                  and fit.get("unconstrained_directions") == 1
                  and fit.get("status") == "converged",
                  f"unconstrained {algo}: {regular.get('unconstrained_directions')} on wine, "
                  f"{fit.get('unconstrained_directions')} ({fit.get('status')}) with the label")

        # A warm start continues from the saved L: one more iteration from a converged model is
        # no worse than it, while one iteration from the identity is far from it.
        converged = run(mahal, "fit", "--algo", "lmnn", "--train", train, "-q", "--out",
                        os.path.join(tmp, "lmnn_converged.model"))
        warm = run(mahal, "fit", "--algo", "lmnn", "--train", train, "-q", "--max-iter", "1",
                   "--init", os.path.join(tmp, "lmnn_converged.model"))
        cold = run(mahal, "fit", "--algo", "lmnn", "--train", train, "-q", "--max-iter", "1")
        f_converged = converged.get("objective", np.nan)
        check(warm.get("objective", np.inf) <= f_converged * (1 + 1e-9)
              and cold.get("objective", 0) > 1.5 * f_converged,
              f"warm start: converged {f_converged}, one more iteration {warm.get('objective')}, "
              f"one from the identity {cold.get('objective')}")
        unknown = os.path.join(tmp, "unknown_claim.csv")
        lines = open(test).read().splitlines()
        with open(unknown, "w") as f:
            f.write("\n".join([lines[0], lines[1], "7," + lines[2].split(",", 1)[1]]) + "\n")
        err = run(mahal, "verify", "--gallery", train, "--probes", test, "--claims", unknown,
                  expect_rc=1)
        check("data row 2 claims class 7" in err.get("error", ""), f"unknown claimed class: {err}")
        # Without a model the gallery sets the feature count, and the error says so.
        narrow = os.path.join(tmp, "narrow.csv")
        with open(narrow, "w") as f:
            f.write("\n".join(",".join(l.split(",")[:-1]) for l in lines) + "\n")
        err = run(mahal, "verify", "--gallery", train, "--probes", narrow, expect_rc=1)
        check(f"has 12 features but the gallery {train} has 13" in err.get("error", ""),
              f"probes narrower than the gallery: {err}")
        err = run(mahal, "fit", "--algo", "mmc", "--train", train, "--init", "pca", expect_rc=1)
        check("--init" in err.get("error", ""), f"--init for mmc: {err}")
        # The network's shape and precision: the model file keeps them (transform's width).
        net = os.path.join(tmp, "shaped.model")
        fit = run(mahal, "fit", "--algo", "triplet", "--train", train, "--steps", "20", "-q",
                  "--hidden", "16,8", "--embedding-dim", "4", "--activation", "tanh",
                  "--precision", "double", "--out", net)
        out = run(mahal, "transform", "--model", net, "--input", test, "--output",
                  os.path.join(tmp, "shaped.csv"))
        check(fit.get("layers") == "linear:13:16:bias,tanh,linear:16:8:bias,tanh,linear:8:4:bias,"
              "l2_normalize" and fit.get("precision") == "double" and out.get("output_dim") == 4,
              f"network shape: {fit.get('layers')}, {fit.get('precision')}, {out}")
        err = run(mahal, "fit", "--algo", "siamese", "--train", train, "--hidden", "16,",
                  expect_rc=2)
        check(err.get("kind") == "usage" and "--hidden" in err.get("error", ""),
              f"--hidden 16,: {err}")

        # cluster: K-means of z-scored wine; sizes, inertia and Xing's balanced accuracy are
        # recomputed here from the assignment file.
        out = os.path.join(tmp, "clusters.csv")
        c = run(mahal, "cluster", "--data", train, "--standardize", "--out", out, "-q")
        a = np.loadtxt(out, skiprows=1, dtype=int)
        Z = (Xg - Xg.mean(0)) / Xg.std(0)
        inertia = sum(((Z[a == k] - Z[a == k].mean(0)) ** 2).sum() for k in np.unique(a))
        check({"algo", "clusters", "inertia", "iterations", "status", "accuracy",
               "cluster_sizes"} <= c.keys() and c.get("algo") == "kmeans"
              and c.get("clusters") == 3 and c.get("cluster_sizes") == np.bincount(a).tolist()
              and abs(c.get("inertia", 0) - inertia) < 1e-9 * inertia
              and abs(c.get("accuracy", 0) - balanced_pair_accuracy(yg, a)) < 1e-12
              and c["accuracy"] > 0.9,
              f"cluster: {c}, numpy inertia {inertia}, accuracy {balanced_pair_accuracy(yg, a)}")
        full = run(mahal, "cluster", "--data", train, "--standardize", "--no-bounds", "-q")
        check(full.get("inertia") == c.get("inertia") and full.get("accuracy") == c.get("accuracy")
              and full.get("searched", 0) > c.get("searched", 0),
              f"cluster --no-bounds: {full.get('inertia')} / {full.get('searched')} searches "
              f"against {c.get('inertia')} / {c.get('searched')}")
        # Must-link pairs across classes (a header line, then 0-based rows): each pair ends in
        # one cluster, and the components are counted.
        cross = [(i, j) for i in range(len(yg)) for j in range(i + 1, len(yg)) if yg[i] != yg[j]]
        links = [cross[0], cross[len(cross) // 2], cross[-1]]
        must = os.path.join(tmp, "must.csv")
        with open(must, "w") as f:
            f.write("i,j\n" + "".join(f"{j},{i}\n" for i, j in links))
        c = run(mahal, "cluster", "--data", train, "--standardize", "--must-link", must, "--out",
                out, "-q")
        a = np.loadtxt(out, skiprows=1, dtype=int)
        check(c.get("algo") == "constrained-kmeans" and c.get("must_link_pairs") == 3
              and c.get("components") == count_components(len(yg), links)
              and all(a[i] == a[j] for i, j in links),
              f"constrained cluster: {c.get('algo')}, {c.get('components')} components, "
              f"{[(a[i], a[j]) for i, j in links]}")
        # Under a model: the same clustering as of the transformed data in the Euclidean metric.
        mapped = os.path.join(tmp, "lmnn_mapped.csv")
        run(mahal, "transform", "--model", os.path.join(tmp, "lmnn.model"), "--input", train,
            "--output", mapped)
        by_model = run(mahal, "cluster", "--data", train, "--model",
                       os.path.join(tmp, "lmnn.model"), "--side-information", "much", "-q")
        by_map = run(mahal, "cluster", "--data", mapped, "--side-information", "much", "-q")
        check(by_model.get("inertia") == by_map.get("inertia")
              and by_model.get("accuracy") == by_map.get("accuracy")
              and by_model.get("components") == round(0.7 * len(yg)),
              f"cluster --model: {by_model.get('inertia')} {by_model.get('accuracy')} against "
              f"{by_map.get('inertia')} {by_map.get('accuracy')}, {by_model.get('components')} "
              f"components")
        with open(must, "a") as f:
            f.write("3,x\n")
        err = run(mahal, "cluster", "--data", train, "--must-link", must, expect_rc=1)
        check("must.csv:5: expected two row indices" in err.get("error", ""),
              f"bad must-link line: {err}")
        np.save(os.path.join(tmp, "unlabelled.npy"), Xg)
        err = run(mahal, "cluster", "--data", os.path.join(tmp, "unlabelled.npy"), expect_rc=1)
        check("has no labels: give --clusters" in err.get("error", ""), f"npy without K: {err}")
        c = run(mahal, "cluster", "--data", os.path.join(tmp, "unlabelled.npy"), "--clusters",
                "3", "-q")
        check(c.get("clusters") == 3 and "accuracy" not in c, f"npy with K: {c}")

        # LMNN's μ and squared hinge reach the objective: numpy's dense objective of the
        # transformed training set (targets from the z-scored features) equals the reported one.
        model = os.path.join(tmp, "lmnn_mu.model")
        fit = run(mahal, "fit", "--algo", "lmnn", "--train", train, "--mu", "0.3", "--hinge",
                  "squared", "--out", model, "-q")
        mapped = os.path.join(tmp, "lmnn_mu_train.csv")
        run(mahal, "transform", "--model", model, "--input", train, "--output", mapped)
        Zt, _ = read_csv(mapped)
        ref = lmnn_objective(Zt, yg, np.eye(Zt.shape[1]), k=3, mu=0.3, squared_hinge=True,
                             targets=target_neighbors((Xg - Xg.mean(0)) / Xg.std(0), yg, 3))
        check(fit.get("mu") == 0.3 and fit.get("hinge") == "squared"
              and abs(fit.get("objective", 0) - ref["objective"]) < 1e-9 * ref["objective"],
              f"lmnn --mu 0.3 --hinge squared: objective {fit.get('objective')}, numpy "
              f"{ref['objective']}")
        err = run(mahal, "fit", "--algo", "lmnn", "--train", train, "--lr", "0.1", expect_rc=1)
        check("--lr and --batch apply to lmnn with --solver sgd only" in err.get("error", ""),
              f"--lr for lmnn lbfgs: {err}")

        # MMC from side information given as pairs: S = every same-class pair from a file gives
        # the default fit (D implicit); D given as the list of all other pairs gives it too; a
        # .npy training set (no labels) with the same pairs gives it as well.
        ii, jj = np.triu_indices(len(yg), 1)
        same_pairs = os.path.join(tmp, "S.csv")
        other_pairs = os.path.join(tmp, "D.csv")
        for path, keep in ((same_pairs, yg[ii] == yg[jj]), (other_pairs, yg[ii] != yg[jj])):
            with open(path, "w") as f:
                f.write("i,j\n" + "".join(f"{a},{b}\n" for a, b in zip(ii[keep], jj[keep])))
        np.save(os.path.join(tmp, "train.npy"), Xg)
        for algo in ("mmc", "mmc-diag", "mmc-l"):
            default = run(mahal, "fit", "--algo", algo, "--train", train, "-q")
            runs = {"S file": run(mahal, "fit", "--algo", algo, "--train", train,
                                  "--similar-pairs", same_pairs, "-q"),
                    "S and D files": run(mahal, "fit", "--algo", algo, "--train", train,
                                         "--similar-pairs", same_pairs, "--dissimilar-pairs",
                                         other_pairs, "-q"),
                    "npy": run(mahal, "fit", "--algo", algo, "--train",
                               os.path.join(tmp, "train.npy"), "--similar-pairs", same_pairs,
                               "-q")}
            f0 = default.get("objective", np.nan)
            for name, r in runs.items():
                check(abs(r.get("objective", np.inf) - f0) <= 1e-9 * abs(f0)
                      and r.get("similar_pairs") == default.get("similar_pairs")
                      and r.get("dissimilar_pairs") == default.get("dissimilar_pairs")
                      and r.get("dissimilar_implicit") == (name != "S and D files"),
                      f"{algo} with pairs ({name}): {r.get('objective')} against {f0}, "
                      f"{r.get('similar_pairs')} / {r.get('dissimilar_pairs')} pairs")
        err = run(mahal, "fit", "--algo", "mmc", "--train", os.path.join(tmp, "train.npy"),
                  expect_rc=1)
        check("has no labels" in err.get("error", ""), f"npy without pairs: {err}")
        err = run(mahal, "fit", "--algo", "mmc", "--train", train, "--dissimilar-pairs",
                  other_pairs, expect_rc=1)
        check("--dissimilar-pairs needs --similar-pairs" in err.get("error", ""),
              f"D without S: {err}")
        err = run(mahal, "fit", "--algo", "lmnn", "--train", train, "--similar-pairs",
                  same_pairs, expect_rc=1)
        check("applies to --algo mmc" in err.get("error", ""), f"pairs for lmnn: {err}")

        # The impostor search schedule: more frequent searches, as asked, and reported.
        default = run(mahal, "fit", "--algo", "lmnn", "--train", train, "-q")
        often = run(mahal, "fit", "--algo", "lmnn", "--train", train, "-q", "--search-every",
                    "5", "--stale-check")
        check(often.get("search_every") == 5 and often.get("stale_check") is True
              and often.get("full_searches", 0) > default.get("full_searches", 0),
              f"search schedule: {often.get('full_searches')} searches against "
              f"{default.get('full_searches')} by default")

        # An option the algorithm does not read is an error, not silently ignored.
        err = run(mahal, "fit", "--algo", "mmc", "--train", train, "--rank", "2", expect_rc=1)
        check("--rank applies to --algo lmnn, mmc-l only" in err.get("error", ""),
              f"--rank for mmc: {err}")
        err = run(mahal, "fit", "--algo", "siamese", "--train", train, "--max-iter", "5",
                  expect_rc=1)
        check("--max-iter" in err.get("error", ""), f"--max-iter for siamese: {err}")
        for algo, option, value in [("siamese", "--lambda", "2"), ("triplet", "--per-class", "4"),
                                    ("softmax-center", "--margin", "2"),
                                    ("triplet", "--contrastive-form", "unsquared"),
                                    ("lmnn", "--optimizer", "sgd")]:
            err = run(mahal, "fit", "--algo", algo, "--train", train, option, value,
                      expect_rc=1)
            check(f"{option} applies to --algo" in err.get("error", ""),
                  f"{option} for {algo}: {err}")
        err = run(mahal, "fit", "--algo", "siamese", "--train", train, "--momentum", "0.5",
                  expect_rc=1)
        check("--momentum applies to --optimizer sgd only" in err.get("error", ""),
              f"--momentum with Adam: {err}")
        # The network options reach the trainer: the same seed and batches, another loss form
        # or optimiser, another last-step loss.
        losses = {}
        for name, extra in [("squared", []), ("unsquared", ["--contrastive-form", "unsquared"]),
                            ("sgd", ["--optimizer", "sgd"])]:
            fit = run(mahal, "fit", "--algo", "siamese", "--train", train, "--steps", "20",
                      "-q", *extra)
            losses[name] = fit.get("final_loss")
            check(fit.get("optimizer") == ("sgd" if name == "sgd" else "adam")
                  and fit.get("contrastive_form") == ("unsquared" if name == "unsquared"
                                                      else "squared"),
                  f"siamese {name}: {fit.get('optimizer')}, {fit.get('contrastive_form')}")
        check(len({losses["squared"], losses["unsquared"], losses["sgd"]}) == 3,
              f"siamese loss forms and optimisers: {losses}")

        # Errors: one JSON object, exit 1; usage errors exit 2.
        err = run(mahal, "knn", "--train", os.path.join(tmp, "missing.csv"), "--test", test,
                  expect_rc=1)
        check({"error", "kind"} <= err.keys(), f"missing file: {err}")
        bad = os.path.join(tmp, "nan.csv")
        with open(bad, "w") as f:
            f.write("label,a,b\n0,1,2\n1,nan,3\n0,2,2\n1,4,4\n")
        err = run(mahal, "fit", "--algo", "lmnn", "--train", bad, "--k", "1", expect_rc=1)
        check({"error", "kind"} <= err.keys(), f"NaN input: {err}")
        err = run(mahal, "fit", "--algo", "lmnn", expect_rc=2)
        check(err.get("kind") == "usage", f"usage error: {err}")
        # Out-of-range numbers are usage errors that name the option and the bound.
        for option, value, wanted in [("--k", "0", "must be > 0"), ("--lr", "-1", "must be >= 0"),
                                      ("--steps", "-5", "must be >= 0")]:
            err = run(mahal, "fit", "--algo", "siamese", "--train", test, option, value,
                      expect_rc=2)
            check(err.get("kind") == "usage" and option in err.get("error", "")
                  and wanted in err.get("error", ""), f"{option} {value}: {err}")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("cli contract: all checks passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Checks of the numpy MMC ports (and a few mahal_ref basics) on iris.

Usage:  python3 python_ref/test_mmc_ref.py [DATA_DIR]
DATA_DIR defaults to $MAHAL_DATA_DIR, else ../shared/datasets relative to the
repository root.  Prints "N passed, M failed" and exits 1 on any failure.

Golden values: the 6-decimal values come from the project brief; the
full-precision GOLD_* values were produced by metric-learn 0.7.0 itself
(MMC(...).fit on the same pairs, numpy 2.4, see MMC_REFERENCE.md section 5)
and agree with this port to ~1e-14 relative.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import mahal_ref  # noqa: E402
import mmc_ref    # noqa: E402

PASSED = 0
FAILED = 0


def check(name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"PASS {name}")
    else:
        FAILED += 1
        print(f"FAIL {name} {detail}")


def data_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    env = os.environ.get("MAHAL_DATA_DIR")
    if env:
        return env
    return os.path.join(HERE, "..", "..", "shared", "datasets")


def load_csv(name):
    """Returns (X, y) with X of shape (d, n): one sample per column."""
    D = np.loadtxt(os.path.join(data_dir(), name), delimiter=",", skiprows=1)
    return D[:, 1:].T.copy(), D[:, 0].astype(np.int64)


def all_pairs(y):
    """S = same-class pairs i<j, D = different-class pairs i<j, both in
    lexicographic (i, then j) order."""
    n = len(y)
    S = [(i, j) for i in range(n) for j in range(i + 1, n) if y[i] == y[j]]
    D = [(i, j) for i in range(n) for j in range(i + 1, n) if y[i] != y[j]]
    return np.array(S), np.array(D)


# brief's 6-decimal values
IRIS_FULL_6 = np.array([[.000514, .000868, -.001195, -.001703],
                        [.000868, .001468, -.002021, -.002879],
                        [-.001195, -.002021, .002782, .003964],
                        [-.001703, -.002879, .003964, .005648]])
IRIS_DIAG_6 = np.array([0.0, 0.0, 1.210220, 1.228596])

# metric-learn 0.7.0 outputs (full precision)
GOLD_FULL_I10_TOL001 = np.array([
    [0.0005135614454664545, 0.0008682720793771489,
     -0.0011952137956997015, -0.0017031087519581007],
    [0.0008682720793771489, 0.0014679770268602884,
     -0.002020733403672572, -0.0028794252187777846],
    [-0.0011952137956997015, -0.002020733403672572,
     0.0027816262884247196, 0.003963652439034553],
    [-0.0017031087519581007, -0.0028794252187777846,
     0.003963652439034553, 0.005647969579106077]])
GOLD_FULL_I10_TOL001_NITER = 43
GOLD_FULL_I_TOL1E3 = np.array([
    [0.004693217874483054, 0.008344288422085686,
     -0.01124728451610224, -0.016502842878459597],
    [0.008344288422085686, 0.014835695067453641,
     -0.019997065654650266, -0.02934116515470697],
    [-0.01124728451610224, -0.019997065654650266,
     0.026954088297059375, 0.03954902034012473],
    [-0.016502842878459597, -0.02934116515470697,
     0.03954902034012473, 0.0580292307654955]])
GOLD_FULL_I_TOL1E3_NITER = 59
GOLD_DIAG_C1 = np.array([0.0, 1.5150879827504912e-15,
                         1.2102197992597263, 1.2285963668155124])
GOLD_DIAG_C1E4 = np.array([0.0, 0.1655361447297034, 0.7085446433146514,
                           0.729960541395139])


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) /
                 np.linalg.norm(np.asarray(b)))


def main():
    X, y = load_csv("iris.csv")
    check("iris shape", X.shape == (4, 150) and y.shape == (150,), X.shape)
    S, D = all_pairs(y)
    check("iris pair counts", (len(S), len(D)) == (3675, 7500),
          (len(S), len(D)))

    # --- full, A0 = I/10, tol = 0.01 (brief) ---
    r = mmc_ref.mmc_full_reference(X, S, D, A0=np.eye(4) / 10, tol=0.01)
    A = r["A"]
    check("full A0=I/10 tol=0.01: 6 decimals",
          np.array_equal(np.round(A, 6), IRIS_FULL_6),
          f"\n{np.round(A, 6)}")
    check("full A0=I/10 tol=0.01: metric-learn golden (1e-10 rel)",
          rel(A, GOLD_FULL_I10_TOL001) < 1e-10,
          rel(A, GOLD_FULL_I10_TOL001))
    check("full A0=I/10 tol=0.01: n_iter", r["n_iter"] ==
          GOLD_FULL_I10_TOL001_NITER, r["n_iter"])
    check("full A0=I/10 tol=0.01: converged", r["converged"] is True)
    check("full: eig count = sum of projection passes",
          r["n_eig"] == sum(t["n_proj"] for t in r["trace"]), r["n_eig"])
    check("full: t = sum_S ||d||^2_{A0} / 100",
          abs(r["t"] - np.sum((X[:, S[:, 0]] - X[:, S[:, 1]]) ** 2) / 10 / 100)
          < 1e-12 * r["t"], r["t"])
    check("full: A symmetric PSD",
          np.allclose(A, A.T, atol=0) or rel(A, A.T) < 1e-14)
    check("full: constraint f(A) <= 1.01 t",
          np.sum(mahal_ref.pair_sqdist(mahal_ref.psd_to_L(A) @ X,
                                       mahal_ref.psd_to_L(A) @ X, S))
          <= 1.01 * r["t"] * (1 + 1e-12))

    # --- full, defaults (A0 = I, tol = 1e-3) ---
    r = mmc_ref.mmc_full_reference(X, S, D)
    check("full defaults: metric-learn golden (1e-10 rel)",
          rel(r["A"], GOLD_FULL_I_TOL1E3) < 1e-10, rel(r["A"],
                                                       GOLD_FULL_I_TOL1E3))
    check("full defaults: n_iter", r["n_iter"] == GOLD_FULL_I_TOL1E3_NITER,
          r["n_iter"])

    # --- diag, C = 1, a0 = 1 ---
    r = mmc_ref.mmc_diag_reference(X, S, D, C=1.0, a0=1.0)
    a = r["a"]
    check("diag C=1: 6 decimals", np.array_equal(np.round(a, 6) + 0.0,
                                                 IRIS_DIAG_6), a)
    check("diag C=1: metric-learn golden (1e-10 rel)",
          rel(a, GOLD_DIAG_C1) < 1e-10, rel(a, GOLD_DIAG_C1))
    r = mmc_ref.mmc_diag_reference(X, S, D, C=1e4)
    check("diag C=1e4 (sign slip matters): metric-learn golden",
          rel(r["a"], GOLD_DIAG_C1E4) < 1e-10, rel(r["a"], GOLD_DIAG_C1E4))
    r2 = mmc_ref.mmc_diag_reference(X, S, D, C=1e4, reference=False)
    check("diag C=1e4: corrected variant differs from reference",
          rel(r2["a"], r["a"]) > 0.1, rel(r2["a"], r["a"]))
    r2 = mmc_ref.mmc_diag_reference(X, S, D, C=1.0, reference=False)
    check("diag C=1: corrected variant equals reference on iris",
          rel(r2["a"], GOLD_DIAG_C1) < 1e-10)

    # --- mahal_ref basics ---
    rng = np.random.default_rng(1)
    P = rng.standard_normal((3, 6))
    pairs = np.array([[0, 1], [2, 5], [4, 3]])
    wts = np.array([1.0, 2.0, 0.5])
    G = mahal_ref.pair_scatter(P, P, pairs, wts)
    Dm = P[:, pairs[:, 0]] - P[:, pairs[:, 1]]
    check("pair_scatter = Delta W Delta^T",
          np.allclose(G, (Dm * wts) @ Dm.T, rtol=1e-14, atol=1e-14))
    L = rng.standard_normal((2, 3))
    sq = mahal_ref.pair_sqdist(L @ P, L @ P, pairs)
    Dall = mahal_ref.all_pairs_sqdist(P, P, L)
    check("pair_sqdist matches all_pairs_sqdist",
          np.allclose(sq, Dall[pairs[:, 0], pairs[:, 1]], rtol=1e-13))
    Xt = np.array([[0.0, 1.0, -1.0, 2.0, -2.0]])
    idx, sqd = mahal_ref.knn(Xt[:, :1], Xt, 4)
    check("knn ties to smaller index", idx[:, 0].tolist() == [0, 1, 2, 3]
          and sqd[:, 0].tolist() == [0, 1, 1, 4], idx[:, 0])
    pred = mahal_ref.knn_classify(np.array([[0.0]]), Xt[:, 1:],
                                  np.array([7, 3, 3, 7]), 2)
    check("knn_classify tie -> nearest neighbour's label", pred[0] == 7, pred)
    check("psd_to_L / L_to_A round trip",
          rel(mahal_ref.L_to_A(mahal_ref.psd_to_L(GOLD_FULL_I_TOL1E3)),
              GOLD_FULL_I_TOL1E3) < 1e-12)
    k, comp = mahal_ref.connected_components(6, np.array([[0, 2], [2, 4],
                                                          [5, 3]]))
    check("connected_components", k == 3 and comp.tolist() ==
          [0, 1, 0, 2, 0, 2], (k, comp))
    c = np.array([0, 0, 1, 1, 2, 2])
    check("xing_accuracy perfect", mahal_ref.xing_accuracy(c, c[::-1]) == 1.0)
    # one cluster for everything: same pairs all right, diff pairs all wrong
    check("xing_accuracy balanced all-in-one = 0.5",
          mahal_ref.xing_accuracy(c, np.zeros(6, int)) == 0.5)
    check("xing_accuracy plain all-in-one = 3/15",
          abs(mahal_ref.xing_accuracy(c, np.zeros(6, int), balanced=False)
              - 3 / 15) < 1e-15)

    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

"""Dense numpy reference of the LMNN objective and gradients (small n only: O(n^2 k) memory).

Weinberger & Saul, JMLR 10 (2009):
    eps(L) = (1-mu) sum_{i, j~>i} d_ij + mu sum_{i, j~>i, l: y_l != y_i} [1 + d_ij - d_il]_+
with d_ab = ||L(x_a - x_b)||^2, target neighbours j~>i the k nearest same-class points in the
Euclidean metric (ties broken by the smaller index), and optionally the squared hinge.
Gradients: G = d eps / dM = sum_ab W_ab (x_a - x_b)(x_a - x_b)^T and d eps / dL = 2 L G.
The hinge's derivative at 0 is taken as 0 (only h > 0 counts as active).

X is (n, d) here (numpy rows are samples); mahal's X is its transpose (d x n).
"""
import numpy as np


def target_neighbors(X, y, k):
    """(n, k) indices of the k nearest same-class points, nearest first."""
    n = X.shape[0]
    diff = X[:, None, :] - X[None, :, :]
    D = np.einsum("abt,abt->ab", diff, diff)
    out = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        cand = np.flatnonzero((y == y[i]) & (np.arange(n) != i))
        if cand.size < k:
            raise ValueError(f"class {y[i]} has fewer than {k + 1} points")
        order = np.lexsort((cand, D[i, cand]))  # by distance, then index
        out[i] = cand[order[:k]]
    return out


def lmnn_objective(X, y, L, k=3, mu=0.5, squared_hinge=False, targets=None):
    """Returns dict(objective, pull, push, active, grad_L (r, d), grad_M (d, d), targets)."""
    X = np.asarray(X, dtype=np.float64)
    L = np.asarray(L, dtype=np.float64)
    n = X.shape[0]
    if targets is None:
        targets = target_neighbors(X, y, k)
    Z = X @ L.T
    diff = Z[:, None, :] - Z[None, :, :]
    D = np.einsum("abt,abt->ab", diff, diff)
    rows = np.repeat(np.arange(n), k)
    cols = targets.reshape(-1)
    d_t = D[rows, cols].reshape(n, k)
    pull = d_t.sum()
    impostor = y[None, :] != y[:, None]  # (i, l)
    H = 1.0 + d_t[:, :, None] - D[:, None, :]  # (i, j-slot, l)
    active = (H > 0) & impostor[:, None, :]
    Hp = np.where(active, H, 0.0)
    push = (Hp ** 2).sum() if squared_hinge else Hp.sum()
    g = 2.0 * Hp if squared_hinge else active.astype(np.float64)
    W = np.zeros((n, n))
    np.add.at(W, (rows, cols), (1.0 - mu) + mu * g.sum(axis=2).reshape(-1))
    W -= mu * g.sum(axis=1)  # impostor pairs (i, l)
    # G = sum_ab W_ab (x_a - x_b)(x_a - x_b)^T = X^T (Deg - W - W^T) X
    S = W + W.T
    Lap = np.diag(S.sum(axis=1)) - S
    G = X.T @ Lap @ X
    return dict(objective=(1.0 - mu) * pull + mu * push, pull=pull, push=push,
                active=int(active.sum()), grad_L=2.0 * L @ G, grad_M=G, targets=targets)


if __name__ == "__main__":
    # Hand fixture of tests/test_lmnn.cpp: 1-D, k = 1, classes {0, 1} and {1.5, 3}.
    X = np.array([[0.0], [1.0], [1.5], [3.0]])
    y = np.array([0, 0, 1, 1])
    r = lmnn_objective(X, y, np.eye(1), k=1)
    assert abs(r["objective"] - 6.125) < 1e-15 and r["active"] == 3
    assert abs(r["grad_L"][0, 0] - 9.25) < 1e-15
    r = lmnn_objective(X, y, 2 * np.eye(1), k=1)
    assert abs(r["objective"] - 20.0) < 1e-14
    # Finite differences on random data.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(25, 4))
    y = np.arange(25) % 3
    L = rng.normal(size=(3, 4))
    for sq in (False, True):
        r = lmnn_objective(X, y, L, k=2, squared_hinge=sq)
        E = np.zeros_like(L)
        h = 1e-6
        for a in range(L.shape[0]):
            for b in range(L.shape[1]):
                E[:] = 0
                E[a, b] = h
                fp = lmnn_objective(X, y, L + E, k=2, squared_hinge=sq, targets=r["targets"])
                fm = lmnn_objective(X, y, L - E, k=2, squared_hinge=sq, targets=r["targets"])
                fd = (fp["objective"] - fm["objective"]) / (2 * h)
                assert abs(fd - r["grad_L"][a, b]) < 1e-5 * max(1, abs(fd)), (a, b, fd)
    print("lmnn_ref: hand fixture and finite differences OK")

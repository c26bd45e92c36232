"""Plain numpy reference implementations for mahal.

These functions are the independent reference the C++ library is checked
against.  They favour obvious correctness over speed: loops are used wherever
they make the definition easier to read.

Conventions (the same as the C++ library, see docs/):

* Data ``X`` has shape ``(d, n)``: one sample per COLUMN.  (A numpy array
  loaded as ``(n, d)`` rows must be transposed: ``X = data.T``.)
* Labels are integers ``0..C-1``.
* A linear map ``L`` has shape ``(k, d)``; the metric is ``A = L.T @ L`` and
  ``d_A(x, y)^2 = (x - y)^T A (x - y) = ||L (x - y)||^2``.
* Pairs are an ``(m, 2)`` integer array of column indices ``(i, j)``.

Only numpy is imported.
"""

import numpy as np

__all__ = [
    "pair_scatter",
    "pair_sqdist",
    "all_pairs_sqdist",
    "knn",
    "knn_classify",
    "knn_accuracy",
    "accuracy",
    "project_psd",
    "psd_to_L",
    "L_to_A",
    "connected_components",
    "xing_accuracy",
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _as_data(X, name="X"):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (d, n), got {X.shape}")
    return X


def _as_pairs(pairs, n=None):
    pairs = np.asarray(pairs)
    if pairs.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ValueError(f"pairs must have shape (m, 2), got {pairs.shape}")
    pairs = pairs.astype(np.int64)
    if n is not None and (pairs.min() < 0 or pairs.max() >= n):
        raise ValueError(f"pair index out of range [0, {n})")
    return pairs


def _map(L, d):
    """Return L as a (k, d) array; None means the identity (Euclidean)."""
    if L is None:
        return np.eye(d)
    L = np.asarray(L, dtype=np.float64)
    if L.ndim != 2 or L.shape[1] != d:
        raise ValueError(f"L must have shape (k, {d}), got {L.shape}")
    return L


# --------------------------------------------------------------------------
# pair quantities
# --------------------------------------------------------------------------

def pair_scatter(P, Q, pairs, w=None):
    """Weighted pair scatter  G = sum_k w_k (p_i - p_j)(q_i - q_j)^T.

    P : (dp, n) array, one sample per column.
    Q : (dq, n) array, one sample per column (same n as P).
    pairs : (m, 2) int array; row k is the pair (i, j).
    w : (m,) weights, default all ones.
    Returns G with shape (dp, dq).  With P = Q = X and w = 1 this is the
    Xing similarity matrix M_S = sum_S (x_i - x_j)(x_i - x_j)^T.
    """
    P = _as_data(P, "P")
    Q = _as_data(Q, "Q")
    if P.shape[1] != Q.shape[1]:
        raise ValueError("P and Q must have the same number of columns")
    pairs = _as_pairs(pairs, P.shape[1])
    m = pairs.shape[0]
    w = np.ones(m) if w is None else np.asarray(w, dtype=np.float64)
    if w.shape != (m,):
        raise ValueError(f"w must have shape ({m},), got {w.shape}")
    G = np.zeros((P.shape[0], Q.shape[0]))
    for k in range(m):
        i, j = pairs[k]
        G += w[k] * np.outer(P[:, i] - P[:, j], Q[:, i] - Q[:, j])
    return G


def pair_sqdist(P, Q, pairs):
    """Per-pair inner products  s_k = (p_i - p_j)^T (q_i - q_j).

    P, Q : (d, n) arrays with the same shape, one sample per column.
    pairs : (m, 2) int array.
    Returns an (m,) array.  With P = Q = L X this is d_A(x_i, x_j)^2.
    """
    P = _as_data(P, "P")
    Q = _as_data(Q, "Q")
    if P.shape != Q.shape:
        raise ValueError("P and Q must have the same shape")
    pairs = _as_pairs(pairs, P.shape[1])
    out = np.zeros(pairs.shape[0])
    for k, (i, j) in enumerate(pairs):
        out[k] = np.dot(P[:, i] - P[:, j], Q[:, i] - Q[:, j])
    return out


def all_pairs_sqdist(Xq, Xr, L=None):
    """All squared distances between query and reference columns.

    Xq : (d, nq) queries, Xr : (d, nr) references, one sample per column.
    L : (k, d) linear map or None (identity).
    Returns D with shape (nq, nr):  D[a, b] = ||L (xq_a - xr_b)||^2, computed
    directly from the difference (so it is exactly >= 0, no cancellation).
    """
    Xq = _as_data(Xq, "Xq")
    Xr = _as_data(Xr, "Xr")
    if Xq.shape[0] != Xr.shape[0]:
        raise ValueError("Xq and Xr must have the same number of rows (d)")
    L = _map(L, Xq.shape[0])
    nq, nr = Xq.shape[1], Xr.shape[1]
    D = np.zeros((nq, nr))
    for a in range(nq):
        diff = L @ (Xr - Xq[:, [a]])      # (k, nr)
        D[a, :] = np.sum(diff * diff, axis=0)
    return D


# --------------------------------------------------------------------------
# k nearest neighbours
# --------------------------------------------------------------------------

def knn(Xq, Xr, k, L=None, exclude_self=False, filter="any", yq=None, yr=None):
    """k nearest references of every query under d_L.

    Xq : (d, nq) queries, Xr : (d, nr) references (one sample per column).
    k : number of neighbours.
    L : (k', d) map or None (Euclidean).
    exclude_self : if True, reference index a is never a neighbour of query a
        (use when Xq and Xr are the same set; requires nq == nr).
    filter : 'any' | 'same' | 'different' -- keep only references whose label
        yr[b] equals ('same') or differs from ('different') the query label
        yq[a]; needs yq and yr.
    Returns (idx, sqd), both of shape (k, nq): column a holds the neighbours of
    query a in increasing squared distance; equal distances are ordered by the
    smaller reference index first (a stable sort over increasing indices).
    Raises ValueError if a query has fewer than k admissible references.
    """
    Xq = _as_data(Xq, "Xq")
    Xr = _as_data(Xr, "Xr")
    nq, nr = Xq.shape[1], Xr.shape[1]
    if filter not in ("any", "same", "different"):
        raise ValueError("filter must be 'any', 'same' or 'different'")
    if filter != "any":
        if yq is None or yr is None:
            raise ValueError("filter != 'any' needs yq and yr")
        yq = np.asarray(yq)
        yr = np.asarray(yr)
        if yq.shape != (nq,) or yr.shape != (nr,):
            raise ValueError("yq must have shape (nq,) and yr shape (nr,)")
    if exclude_self and nq != nr:
        raise ValueError("exclude_self needs nq == nr")
    if k < 1:
        raise ValueError("k must be >= 1")
    D = all_pairs_sqdist(Xq, Xr, L)
    idx = np.zeros((k, nq), dtype=np.int64)
    sqd = np.zeros((k, nq))
    for a in range(nq):
        cand = []
        for b in range(nr):
            if exclude_self and a == b:
                continue
            if filter == "same" and yr[b] != yq[a]:
                continue
            if filter == "different" and yr[b] == yq[a]:
                continue
            cand.append(b)
        if len(cand) < k:
            raise ValueError(
                f"query {a} has only {len(cand)} admissible references, k = {k}")
        cand = np.array(cand, dtype=np.int64)        # increasing indices
        order = np.argsort(D[a, cand], kind="stable")  # ties: smaller index
        sel = cand[order[:k]]
        idx[:, a] = sel
        sqd[:, a] = D[a, sel]
    return idx, sqd


def knn_classify(Xq, Xr, yr, k, L=None, exclude_self=False):
    """k-NN majority vote.

    Xq : (d, nq), Xr : (d, nr), one sample per column; yr : (nr,) labels.
    Rule: count the labels of the k nearest references (ordered as in knn());
    the predicted label is the label with the most votes; if several labels
    share the maximum count, the winner is the one among them that occurs
    first in the neighbour list, i.e. the tie goes toward the label of the
    nearest neighbour holding one of the tied labels.
    Returns an (nq,) int array.
    """
    yr = np.asarray(yr)
    idx, _ = knn(Xq, Xr, k, L=L, exclude_self=exclude_self)
    nq = idx.shape[1]
    pred = np.zeros(nq, dtype=np.int64)
    for a in range(nq):
        labels = [int(yr[b]) for b in idx[:, a]]
        counts = {}
        for lab in labels:
            counts[lab] = counts.get(lab, 0) + 1
        best = max(counts.values())
        for lab in labels:                 # nearest first
            if counts[lab] == best:
                pred[a] = lab
                break
    return pred


def accuracy(y_true, y_pred):
    """Fraction of equal entries."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError("shape mismatch")
    return float(np.mean(y_true == y_pred))


def knn_accuracy(Xq, yq, Xr, yr, k, L=None, exclude_self=False):
    """Accuracy of knn_classify on labelled queries (leave-one-out when
    Xq is Xr and exclude_self=True)."""
    return accuracy(yq, knn_classify(Xq, Xr, yr, k, L=L,
                                     exclude_self=exclude_self))


# --------------------------------------------------------------------------
# PSD utilities
# --------------------------------------------------------------------------

def project_psd(A):
    """Nearest PSD matrix in Frobenius norm: symmetrise, then clip negative
    eigenvalues at 0.  A : (d, d).  Returns V diag(max(lambda, 0)) V^T."""
    A = np.asarray(A, dtype=np.float64)
    lam, V = np.linalg.eigh((A + A.T) / 2)
    return (V * np.maximum(lam, 0.0)) @ V.T


def psd_to_L(A, rank=None):
    """Factor a PSD matrix as A = L^T L.

    A : (d, d) symmetric PSD.  rank : number of rows k of L (default d).
    L = diag(sqrt(lambda)) V^T built from the `rank` LARGEST eigenvalues
    (negative ones clipped to 0), rows in decreasing eigenvalue order.
    Returns L with shape (rank, d).
    """
    A = np.asarray(A, dtype=np.float64)
    d = A.shape[0]
    rank = d if rank is None else int(rank)
    if not 1 <= rank <= d:
        raise ValueError(f"rank must be in [1, {d}]")
    lam, V = np.linalg.eigh((A + A.T) / 2)
    order = np.argsort(lam)[::-1][:rank]
    return np.sqrt(np.maximum(lam[order], 0.0))[:, None] * V[:, order].T


def L_to_A(L):
    """A = L^T L for L of shape (k, d); returns (d, d)."""
    L = np.asarray(L, dtype=np.float64)
    return L.T @ L


# --------------------------------------------------------------------------
# Xing side information and clustering accuracy
# --------------------------------------------------------------------------

def connected_components(n, pairs):
    """Connected components of the graph on n nodes whose edges are `pairs`.

    pairs : (m, 2) int array (e.g. the similar set S).
    Returns (n_components, comp) where comp is an (n,) int array; components
    are numbered 0, 1, ... in the order of their smallest member.
    Isolated nodes are components of their own.
    """
    pairs = _as_pairs(pairs, n)
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in pairs:
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    comp = np.full(n, -1, dtype=np.int64)
    root_id = {}
    for a in range(n):
        r = find(a)
        if r not in root_id:
            root_id[r] = len(root_id)
        comp[a] = root_id[r]
    return len(root_id), comp


def xing_accuracy(c, c_hat, balanced=None):
    """Pairwise clustering accuracy of Xing, Ng, Jordan & Russell (NIPS 2002,
    Section 4).

    c : (n,) true labels; c_hat : (n,) cluster assignments (any integer ids).
    For every pair i < j let same = 1[c_i == c_j] and agree =
    1[1[c_i == c_j] == 1[c_hat_i == c_hat_j]].

    * plain form (balanced=False): mean of `agree` over all n(n-1)/2 pairs.
    * balanced form (balanced=True):
          0.5 * mean(agree over pairs with same == 1)
        + 0.5 * mean(agree over pairs with same == 0),
      i.e. pairs are drawn from the same true class with probability 1/2 and
      from different classes with probability 1/2 (the paper's footnote for
      problems with more than two clusters, where the plain score is inflated
      because almost any clustering gets most different-class pairs right).
    * balanced=None (default): plain form when c has <= 2 distinct classes,
      balanced form when it has > 2.  The paper's footnote introduces the
      balanced variant for the case of "many (> 2) clusters", so the 2-class
      case uses the plain form.  (The footnote is paraphrased from the
      published paper; its text could not be retrieved here to re-check the
      wording.)
    If one of the two pair groups is empty, the balanced form falls back to
    the mean over the group that exists.
    """
    c = np.asarray(c)
    c_hat = np.asarray(c_hat)
    if c.shape != c_hat.shape or c.ndim != 1:
        raise ValueError("c and c_hat must be 1-D arrays of equal length")
    n = c.shape[0]
    if n < 2:
        raise ValueError("need at least two points")
    if balanced is None:
        balanced = len(np.unique(c)) > 2
    agree_same = n_same = agree_diff = n_diff = 0
    for i in range(n):
        for j in range(i + 1, n):
            same = c[i] == c[j]
            agree = same == (c_hat[i] == c_hat[j])
            if same:
                n_same += 1
                agree_same += int(agree)
            else:
                n_diff += 1
                agree_diff += int(agree)
    if not balanced:
        return (agree_same + agree_diff) / (n_same + n_diff)
    if n_same == 0:
        return agree_diff / n_diff
    if n_diff == 0:
        return agree_same / n_same
    return 0.5 * agree_same / n_same + 0.5 * agree_diff / n_diff

"""numpy ports of metric-learn's MMC (Xing, Ng, Jordan & Russell, NIPS 2002).

metric-learn 0.7.0, metric_learn/mmc.py, class _BaseMMC: _fit_full, _fit_diag
and their helpers _fD, _fD1, _fS1, _grad_projection, _D_objective,
_D_constraint.  metric-learn's code is itself a port of the authors' MATLAB.

In reference mode these functions reproduce metric-learn operation for
operation (the same numpy expressions in the same order), including its
quirks; see MMC_REFERENCE.md next to this file for the specification.

Conventions: X has shape (d, n), ONE SAMPLE PER COLUMN.  Pairs are (m, 2)
integer arrays of column indices (i, j); the difference used is
x_i - x_j (first minus second), as in metric-learn.

Only numpy is imported.
"""

import numpy as np

__all__ = ["mmc_full_reference", "mmc_diag_reference", "pair_diffs",
           "components_from_metric"]


def pair_diffs(X, pairs):
    """Rows x_i - x_j for every pair (i, j).

    X : (d, n), one sample per column.  pairs : (m, 2) ints.
    Returns an (m, d) C-contiguous array (metric-learn's
    `pairs[:, 0, :] - pairs[:, 1, :]`).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError("X must have shape (d, n)")
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.shape[0] == 0:
        raise ValueError("empty pair set")
    n = X.shape[1]
    if pairs.min() < 0 or pairs.max() >= n:
        raise ValueError(f"pair index out of range [0, {n})")
    Xr = np.ascontiguousarray(X.T)          # (n, d): metric-learn's layout
    return Xr[pairs[:, 0]] - Xr[pairs[:, 1]]


# ---------------------------------------------------------------------------
# helpers, verbatim from metric-learn (argument = difference rows)
# ---------------------------------------------------------------------------

def _fD(neg_diff, A):
    """g(A) = log( sum_D sqrt(d^T A d) + 1e-6 )   (1e-6 OUTSIDE the sum)."""
    return np.log(np.sum(np.sqrt(np.sum(np.dot(neg_diff, A) * neg_diff,
                                        axis=1))) + 1e-6)


def _fD1(neg_diff, A):
    """Gradient of g:  [ sum_D d d^T * 0.5/(sqrt(d^T A d) + 1e-6) ]
                      / ( sum_D sqrt(d^T A d) + 1e-6 )."""
    M = np.einsum('ij,ik->ijk', neg_diff, neg_diff)
    dist = np.sqrt(np.einsum('ijk,jk', M, A))
    sum_deri = np.einsum('ijk,i->jk', M, 0.5 / (dist + 1e-6))
    sum_dist = dist.sum()
    return sum_deri / (sum_dist + 1e-6)


def _fS1(pos_diff):
    """Gradient of f(A) = sum_S d^T A d:  M_S = sum_S d d^T."""
    return np.einsum('ij,ik->jk', pos_diff, pos_diff)


def _grad_projection(grad1, grad2):
    """Component of grad1 orthogonal to grad2, Frobenius-normalised:
       g2 = grad2/||grad2||_F;  g = grad1 - <grad1, g2>_F g2;  g/||g||_F."""
    grad2 = grad2 / np.linalg.norm(grad2)
    gtemp = grad1 - np.sum(grad1 * grad2) * grad2
    norm = np.linalg.norm(gtemp)
    # grad1 parallel to grad2: the reference divides 0 by 0; 0 (no direction) instead.
    return gtemp / norm if norm > 0 else np.zeros_like(gtemp)


def _D_objective(neg_diff, w):
    """log( sum_D sqrt( sum_t d_t^2 w_t + 1e-6 ) )   (1e-6 INSIDE the sqrt)."""
    return np.log(np.sum(np.sqrt(np.sum((neg_diff ** 2) * w[None, :],
                                        axis=1) + 1e-6)))


def _D_constraint(neg_diff, w):
    """Value, gradient and Hessian of log(sum_D sqrt(d^2 . w)) (no 1e-6 in
    the value; distances clamped below at 1e-6 in the derivatives)."""
    diff_sq = neg_diff * neg_diff
    dist = np.sqrt(diff_sq.dot(w))
    sum_deri1 = np.einsum('ij,i', diff_sq, 0.5 / np.maximum(dist, 1e-6))
    sum_deri2 = np.einsum(
        'ij,ik->jk',
        diff_sq,
        diff_sq / (-4 * np.maximum(1e-6, dist ** 3))[:, None]
    )
    sum_dist = dist.sum()
    return (
        np.log(sum_dist),
        sum_deri1 / sum_dist,
        sum_deri2 / sum_dist -
        np.outer(sum_deri1, sum_deri1) / (sum_dist * sum_dist)
    )


def components_from_metric(A):
    """metric-learn's A -> L (L^T L = A), returned as (d, d):
    diagonal A -> diag(sqrt(max(0, diag A))); else cholesky(A).T, and if
    Cholesky fails, V.T * sqrt(max(0, lambda))[:, None] from eigh."""
    A = np.asarray(A, dtype=np.float64)
    if np.array_equal(A, np.diag(np.diag(A))):
        return np.diag(np.sqrt(np.maximum(0, np.diag(A))))
    try:
        return np.linalg.cholesky(A).T
    except np.linalg.LinAlgError:
        lam, V = np.linalg.eigh(A)
        return V.T * np.sqrt(np.maximum(0, lam[:, None]))


# ---------------------------------------------------------------------------
# full A
# ---------------------------------------------------------------------------

def mmc_full_reference(X, S_pairs, D_pairs, A0=None, tol=1e-3, max_iter=100,
                       max_proj=10000, trace=True):
    """metric-learn _BaseMMC._fit_full, ported exactly.

    X : (d, n) data, one sample per column.
    S_pairs, D_pairs : (m, 2) int arrays of similar / dissimilar pairs (the
        order of the rows matters only at rounding level).
    A0 : (d, d) initial metric (metric-learn `init`), default identity.
    tol : metric-learn `tol` (MMC default 1e-3; MMC_Supervised uses 1e-6).
    max_iter : outer cycles (default 100).  max_proj : projection passes per
        cycle (default 10000).

    Returns a dict:
      A          (d, d) the last ACCEPTED iterate (A_old), what metric-learn
                 stores in A_.
      L          components_from_metric(A) as metric-learn computes it.
      n_iter     metric-learn's n_iter_: the 0-based index of the last cycle.
      n_cycles   cycles executed (= n_iter + 1).
      converged  metric-learn's converged_ (delta <= tol at the end).
      delta      final ||alpha M||_F / ||A_old||_F.
      n_eig      number of symmetric eigendecompositions (one per
                 projection pass).
      t          the similarity bound sum_S d^T A0 d / 100.
      trace      per cycle dicts: cycle, n_proj, satisfied, error2 (last
                 (f(A)-t)/t), obj (g of projected A), obj_previous (g of
                 A_old before the update), accepted, alpha (after update),
                 delta.
    """
    X = np.asarray(X, dtype=np.float64)
    num_dim = X.shape[0]
    pos_diff = pair_diffs(X, S_pairs)
    neg_diff = pair_diffs(X, D_pairs)
    if A0 is None:
        A = np.eye(num_dim)
    else:
        A = np.array(A0, dtype=np.float64, copy=True)
        if A.shape != (num_dim, num_dim):
            raise ValueError(f"A0 must be ({num_dim}, {num_dim})")

    eps = 0.01
    w = np.einsum('ij,ik->jk', pos_diff, pos_diff).ravel()
    t = w.dot(A.ravel()) / 100.0
    w_norm = np.linalg.norm(w)
    w1 = w / w_norm
    t1 = t / w_norm

    alpha = 0.1
    grad1 = _fS1(pos_diff)            # NB: initial M = fS1 orthogonal to fD1
    grad2 = _fD1(neg_diff, A)
    M = _grad_projection(grad1, grad2)
    A_old = A.copy()

    n_eig = 0
    records = []
    delta = None
    cycle = 0
    for cycle in range(max_iter):
        satisfy = False
        n_proj = 0
        error2 = None
        for it in range(max_proj):
            x0 = A.ravel()
            if w.dot(x0) <= t:
                x = x0
            else:
                x = x0 + (t1 - w1.dot(x0)) * w1
                A[:] = x.reshape(num_dim, num_dim)
            l, V = np.linalg.eigh((A + A.T) / 2)
            n_eig += 1
            A[:] = np.dot(V * np.maximum(0, l[None, :]), V.T)
            n_proj = it + 1
            fDC2 = w.dot(A.ravel())
            error2 = (fDC2 - t) / t
            if error2 < eps:
                satisfy = True
                break

        obj_previous = _fD(neg_diff, A_old)
        obj = _fD(neg_diff, A)
        accepted = bool(satisfy and (obj > obj_previous or cycle == 0))
        if accepted:
            alpha *= 1.05
            A_old[:] = A
            grad2 = _fS1(pos_diff)
            grad1 = _fD1(neg_diff, A)
            M = _grad_projection(grad1, grad2)
            A += alpha * M
        else:
            alpha /= 2
            A[:] = A_old + alpha * M

        delta = np.linalg.norm(alpha * M) / np.linalg.norm(A_old)
        if trace:
            records.append(dict(cycle=cycle, n_proj=n_proj, satisfied=satisfy,
                                error2=error2, obj=obj,
                                obj_previous=obj_previous, accepted=accepted,
                                alpha=alpha, delta=delta))
        if delta < tol:
            break

    converged = not (delta > tol)
    A_out = A_old.copy()
    return dict(A=A_out, L=components_from_metric(A_out), n_iter=cycle,
                n_cycles=cycle + 1, converged=converged, delta=delta,
                n_eig=n_eig, t=t, trace=records)


# ---------------------------------------------------------------------------
# diagonal A
# ---------------------------------------------------------------------------

def mmc_diag_reference(X, S_pairs, D_pairs, C=1.0, a0=1.0, tol=1e-3,
                       max_iter=100, reference=True, trace=True):
    """metric-learn _BaseMMC._fit_diag (Newton-Raphson + halving line
    search), ported exactly when reference=True.

    X : (d, n) data, one sample per column.
    S_pairs, D_pairs : (m, 2) int arrays.
    C : metric-learn `diagonal_c`.  a0 : initial diagonal, a scalar or a (d,)
        vector (metric-learn: diag of `init`; default identity -> 1).
    tol, max_iter : as metric-learn (MMC default tol 1e-3).
    reference=True  : the line-search / convergence objective is metric-learn's
        h(w) = s.w + C*log(sum_D sqrt(d^2.w + 1e-6))  (sign slip: '+C').
    reference=False : the paper's objective with the sign corrected,
        h(w) = s.w - C*log(sum_D sqrt(d^2.w + 1e-6)); obj_initial likewise
        uses -C*fD0.  Gradient and Hessian are the same in both modes (they
        already belong to the corrected objective).

    Returns a dict: a (d,) learned diagonal, A = diag(a), L, n_iter (outer
    iterations executed; metric-learn does not store it), error (last
    convergence measure), n_inner_total, trace (per iteration: obj_initial,
    obj_previous (accepted line-search value), lambda accepted, n_inner,
    error).
    """
    X = np.asarray(X, dtype=np.float64)
    num_dim = X.shape[0]
    pos_diff = pair_diffs(X, S_pairs)
    neg_diff = pair_diffs(X, D_pairs)
    sign = 1.0 if reference else -1.0

    s_sum = np.sum(pos_diff ** 2, axis=0)
    it = 0
    error = 1.0
    eps = 1e-6
    reduction = 2.0
    w = np.array(np.broadcast_to(np.asarray(a0, dtype=np.float64),
                                 (num_dim,)), copy=True)
    records = []
    n_inner_total = 0

    while error > tol and it < max_iter:
        fD0, fD_1st_d, fD_2nd_d = _D_constraint(neg_diff, w)
        obj_initial = np.dot(s_sum, w) + sign * C * fD0
        fS_1st_d = s_sum
        gradient = fS_1st_d - C * fD_1st_d
        hessian = -C * fD_2nd_d + eps * np.eye(num_dim)
        step = np.dot(np.linalg.inv(hessian), gradient)

        lambd = 1
        w_tmp = np.maximum(0, w - lambd * step)
        obj = np.dot(s_sum, w_tmp) + sign * C * _D_objective(neg_diff, w_tmp)
        if not np.isfinite(obj):
            raise FloatingPointError("non-finite objective in line search")
        obj_previous = np.inf
        inner_it = 0
        lambd_acc = None
        while obj < obj_previous:
            obj_previous = obj
            w_previous = w_tmp.copy()
            lambd_acc = lambd
            lambd /= reduction
            w_tmp = np.maximum(0, w - lambd * step)
            obj = (np.dot(s_sum, w_tmp) +
                   sign * C * _D_objective(neg_diff, w_tmp))
            inner_it += 1
            if not np.isfinite(obj):
                raise FloatingPointError("non-finite objective in line search")

        w[:] = w_previous
        error = np.abs((obj_previous - obj_initial) / obj_previous)
        n_inner_total += inner_it
        if trace:
            records.append(dict(it=it, obj_initial=obj_initial,
                                obj_previous=obj_previous, lambd=lambd_acc,
                                n_inner=inner_it, error=error))
        it += 1

    A = np.diag(w)
    return dict(a=w.copy(), A=A, L=components_from_metric(A), n_iter=it,
                error=error, n_inner_total=n_inner_total, trace=records)

#include "mmc_objective.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "mahal/device_transfer.hpp"
#include "mahal/distances.hpp"
#include "mahal/engine.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mmc_diagonal_sums.hpp"

extern "C" {
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info);
}

namespace mahal::detail {

namespace {

// n×n strictly upper triangular 0/1 mask (entry (a, b) = 1 iff a < b).
template <class T>
device_array<T> upper_mask(backend<T>& be, index_t size) {
  matrix<T> m = matrix<T>::Zero(size, size);
  for (index_t b = 0; b < size; ++b)
    for (index_t a = 0; a < b; ++a) m(a, b) = T(1);
  return to_device<T>(be, m);
}

// Σ δδᵀ over the pairs (δ = x_i − x_j, columns of X), d×d in double: the differences gathered
// in chunks, one GEMM each (one chunk, the same bits as a single GEMM, up to 65536 pairs).
template <class T>
matrix<double> host_pair_scatter(const matrix<T>& X, const pair_list& pairs) {
  constexpr std::size_t chunk = 65536;
  const index_t d = X.rows();
  matrix<double> out = matrix<double>::Zero(d, d);
  matrix<double> Delta;
  for (std::size_t k0 = 0; k0 < pairs.size(); k0 += chunk) {
    const std::size_t m = std::min(chunk, pairs.size() - k0);
    Delta.resize(d, static_cast<index_t>(m));
    for (std::size_t k = 0; k < m; ++k)
      Delta.col(static_cast<index_t>(k)) =
          (X.col(pairs[k0 + k].i) - X.col(pairs[k0 + k].j)).template cast<double>();
    out.noalias() += Delta * Delta.transpose();
  }
  return out;
}

}  // namespace

template <class T>
mmc_problem<T>::mmc_problem(backend<T>& be, matrix_ref<T> X, const pair_list& S, const pair_list* D,
                            index_t block)
    : be_(be),
      blas_guard_(be.where() == device::cpu),
      d_(X.rows()),
      n_(X.cols()),
      implicit_(D == nullptr) {
  // Implicit D uses the expanded form ||p_a||² + ||q_b||² − 2 p_aᵀq_b: centre X (differences
  // are unchanged) so that it does not cancel against a large mean.
  X_host_ = X;
  if (implicit_) X_host_.colwise() -= X_host_.rowwise().mean();
  X_ = to_device<T>(be, X_host_);
  W_ = host_pair_scatter(X_host_, S);  // W = Σ_S δδᵀ on the host in double (d×d, once)
  if (!implicit_) {
    WD_ = host_pair_scatter(X_host_, *D);
    D_host_ = *D;
    D_ = pairs_to_device(be, *D);
    n_dissimilar_ = static_cast<double>(D->size());
    partition_slots();
    return;
  }
  for (const auto& p : S)
    if (p.i != p.j) S_sorted_.emplace_back(std::min(p.i, p.j), std::max(p.i, p.j));
  std::sort(S_sorted_.begin(), S_sorted_.end());
  S_sorted_.erase(std::unique(S_sorted_.begin(), S_sorted_.end()), S_sorted_.end());
  pair_list unique;
  for (const auto& p : S_sorted_) unique.push_back({p.first, p.second});
  // Σ over all pairs i < j of δδᵀ is n·X_c X_cᵀ (X is centred); D's is that less S's distinct
  // pairs.
  const matrix<double> Xc = X_host_.template cast<double>();
  WD_ = static_cast<double>(n_) * (Xc * Xc.transpose()) - host_pair_scatter(X_host_, unique);
  S_unique_ = pairs_to_device(be, unique);
  n_dissimilar_ = 0.5 * static_cast<double>(n_) * static_cast<double>(n_ - 1) -
                  static_cast<double>(unique.size());
  expects(n_dissimilar_ > 0, "mahal::fit_mmc", "S holds every pair of the ", n_,
          " points: the implicit D is empty");
  partition_slots();
  block_ = engine::resolve({block, block}, be.where(), n_, n_).queries;
  if (block <= 0) block_ = be.where() == device::cpu ? 512 : 4096;
  block_ = std::max<index_t>(1, std::min(block_, n_));
  mask_full_ = upper_mask(be, block_);
  if (n_ % block_ != 0) mask_tail_ = upper_mask(be, n_ % block_);
}

template <class T>
void mmc_problem<T>::partition_slots() {
  // About one slot per 4 chunks, at most 64: enough parts to balance any thread count, and
  // the same parts (so the same sums) whatever the thread count.
  chunk_pairs_ = std::max<index_t>(256, 32768 / d_);
  const double chunks = std::ceil(n_dissimilar_ / static_cast<double>(chunk_pairs_));
  slots_ = static_cast<int>(std::clamp(std::ceil(chunks / 4), 1.0, 64.0));
  slot_start_.assign(static_cast<std::size_t>(slots_ + 1), 0);
  if (!implicit_) {
    const index_t m = static_cast<index_t>(D_host_.size());
    for (int s = 0; s <= slots_; ++s) slot_start_[s] = m * s / slots_;
    return;
  }
  // Rows of the upper triangle with about equal pair counts (row i holds n − 1 − i pairs).
  const double total = 0.5 * static_cast<double>(n_) * static_cast<double>(n_ - 1);
  double seen = 0;
  int s = 1;
  for (index_t i = 0; i < n_ && s < slots_; ++i) {
    seen += static_cast<double>(n_ - 1 - i);
    while (s < slots_ && seen >= total * s / slots_) slot_start_[s++] = i + 1;
  }
  while (s <= slots_) slot_start_[s++] = n_;
}

template <class T>
void mmc_problem<T>::for_each_dissimilar_chunk(const chunk_function& f) const {
  const bool reuse = cached_;
  const bool keep = !reuse && static_cast<double>(d_) * n_dissimilar_ <= 8.0 * 1024 * 1024;
  if (keep) chunk_cache_.assign(static_cast<std::size_t>(slots_), {});
  // One slot runs on the calling thread, where each chunk's small BLAS products would otherwise
  // fork a team (digits' diagonal reference fit: 0.09 s against 0.014 s on one thread).
  const blas_serial_scope serial(slots_ == 1);
#pragma omp parallel for schedule(dynamic, 1) if (slots_ > 1)
  for (int slot = 0; slot < slots_; ++slot) {
    if (reuse) {
      for (const auto& Q : chunk_cache_[static_cast<std::size_t>(slot)]) f(Q, slot);
      continue;
    }
    build_chunks(slot, [&](const matrix<double>& Q) {
      if (keep) chunk_cache_[static_cast<std::size_t>(slot)].push_back(Q);
      f(Q, slot);
    });
  }
  if (keep) cached_ = true;
}

template <class T>
diagonal_terms mmc_problem<T>::implicit_diagonal_terms(const vector<double>& a) const {
  expects(implicit_, "mahal::fit_mmc_diagonal", "the block sweep needs the implicit D");
  diagonal_terms terms;
  const std::vector<T> a_host(a.data(), a.data() + d_);
  array w = be_.alloc(d_, 1);
  be_.upload(a_host.data(), w);
  for (index_t q0 = 0; q0 < n_; q0 += block_) {
    const index_t qb = std::min(block_, n_ - q0);
    for (index_t r0 = q0; r0 < n_; r0 += block_)
      be_.mmc_diagonal_terms(X_.col_range(q0, qb), X_.col_range(r0, std::min(block_, n_ - r0)), q0,
                             r0, r0 == q0, w, terms);
  }
  // The sweep counted S's pairs too: take them out with the same formulas, a chunk of pairs at
  // a time (S may hold all same-class pairs, ~n²/C of them).
  constexpr std::size_t chunk = 4096;
  diagonal_sums in_S(d_);
  for (std::size_t k0 = 0; k0 < S_sorted_.size(); k0 += chunk) {
    const std::size_t k1 = std::min(S_sorted_.size(), k0 + chunk);
    matrix<double> Q(d_, static_cast<index_t>(k1 - k0));
    for (std::size_t k = k0; k < k1; ++k)
      Q.col(static_cast<index_t>(k - k0)) =
          (X_host_.col(S_sorted_[k].first) - X_host_.col(S_sorted_[k].second))
              .template cast<double>()
              .array()
              .square()
              .matrix();
    in_S.add_pairs(Q, a);
  }
  terms.sum -= in_S.sum;
  Eigen::Map<vector<double>>(terms.grad.data(), d_) -= in_S.grad;
  Eigen::Map<matrix<double>>(terms.hess.data(), d_, d_) -= in_S.hess();
  return terms;
}

template <class T>
void mmc_problem<T>::build_chunks(int slot,
                                  const std::function<void(const matrix<double>&)>& f) const {
  matrix<double> Q(d_, chunk_pairs_);
  index_t m = 0;
  // Appends the pairs (i, j) for j in [j0, j1): whole column ranges at a time (vectorised).
  auto push_row = [&](index_t i, index_t j0, index_t j1) {
    const vector<double> xi = X_host_.col(i).template cast<double>();
    while (j0 < j1) {
      const index_t len = std::min(j1 - j0, chunk_pairs_ - m);
      Q.middleCols(m, len) =
          (X_host_.middleCols(j0, len).template cast<double>().colwise() - xi).array().square();
      m += len;
      j0 += len;
      if (m == chunk_pairs_) {
        f(Q);
        m = 0;
      }
    }
  };
  const index_t begin = slot_start_[slot], end = slot_start_[slot + 1];
  if (!implicit_) {
    for (index_t k = begin; k < end; ++k) {
      const label_t i = D_host_[k].i, j = D_host_[k].j;
      Q.col(m++) =
          (X_host_.col(i) - X_host_.col(j)).template cast<double>().array().square().matrix();
      if (m == chunk_pairs_) {
        f(Q);
        m = 0;
      }
    }
  } else {
    // Rows [begin, end) of the upper triangle, split around the pairs of S (S_sorted_ is
    // ascending in (i, j)).
    auto s = std::lower_bound(S_sorted_.begin(), S_sorted_.end(),
                              std::pair<label_t, label_t>(static_cast<label_t>(begin), 0));
    for (index_t i = begin; i < end; ++i) {
      index_t j = i + 1;
      for (; s != S_sorted_.end() && s->first == i; ++s) {
        push_row(i, j, s->second);
        j = s->second + 1;
      }
      push_row(i, j, n_);
    }
  }
  if (m > 0) {
    matrix<double> tail = Q.leftCols(m);
    f(tail);
  }
}

template <class T>
T mmc_problem<T>::weights(mmc_weight rule, const array& sqdist, array& w) {
  if (rule == mmc_weight::paper) {
    // 1 / (2 sqrt(d²)) = 0.5 · (1 / sqrt(d²)) exactly: one division per pair instead of a
    // square root and a division (it was a third of a full-A iteration at n = 1e4).
    be_.map(unary_op::reciprocal, w, w);
    return T(0.5);
  }
  // The reference weights have no device op: a host round trip (reference mode only).
  std::vector<T> h(static_cast<std::size_t>(sqdist.size()));
  be_.download(sqdist, h.data());
  for (auto& v : h) v = T(0.5) / (std::sqrt(std::max(v, T(0))) + T(1e-6));
  be_.upload(h.data(), w);
  return T(1);
}

template <class T>
double mmc_problem<T>::dissimilar(const array& dp, const array& dq, const array& sp,
                                  const array& sq, mmc_weight rule, matrix<double>* grad) {
  array G;
  if (grad != nullptr) G = be_.alloc(sp.rows(), sq.rows());
  double total = 0;
  auto pair_part = [&](const device_array<label_t>& pairs, T alpha) {
    const index_t m = pairs.cols();
    if (m == 0) return;
    array sqd = be_.alloc(m, 1), tmp = be_.alloc(m, 1);
    be_.pair_sqdist(dp, dq, pairs, sqd);
    be_.map(unary_op::sqrt, sqd, tmp);
    total += static_cast<double>(alpha) * static_cast<double>(be_.sum(tmp));
    if (grad != nullptr) {
      const T factor = weights(rule, sqd, tmp);
      be_.pair_scatter(sp, sq, pairs, tmp, alpha * factor, T(1), G);
    }
  };
  if (!implicit_) {
    pair_part(D_, T(1));
  } else {
    array pn = be_.alloc(n_, 1);
    be_.col_dots(dp, dq, pn);
    array scratch = be_.alloc(block_ * block_, 1), wscratch = be_.alloc(block_ * block_, 1);
    for (index_t q0 = 0; q0 < n_; q0 += block_) {
      const index_t qb = std::min(block_, n_ - q0);
      for (index_t r0 = q0; r0 < n_; r0 += block_) {
        const index_t rb = std::min(block_, n_ - r0);
        array B = scratch.reshaped(qb, rb), Wb = wscratch.reshaped(qb, rb);
        be_.sqdist_block(dp.col_range(q0, qb), dq.col_range(r0, rb), pn.segment(q0, qb),
                         pn.segment(r0, rb), B);
        const array* mask = nullptr;
        if (r0 == q0) mask = qb == block_ ? &mask_full_ : &mask_tail_;
        if (mask != nullptr) be_.multiply(*mask, B);  // keep a < b only
        be_.map(unary_op::sqrt, B, Wb);
        total += static_cast<double>(be_.sum(Wb));
        if (grad != nullptr) {
          const T factor = weights(rule, B, Wb);
          // Masked pairs have d² = 0: the paper's weight is 0 there already, the reference's not.
          if (mask != nullptr && rule != mmc_weight::paper) be_.multiply(*mask, Wb);
          be_.block_scatter(sp.col_range(q0, qb), sq.col_range(q0, qb), sp.col_range(r0, rb),
                            sq.col_range(r0, rb), Wb, factor, T(1), G);
        }
      }
    }
    pair_part(S_unique_, T(-1));
  }
  if (grad != nullptr) *grad = to_host(be_, G).template cast<double>();
  return total;
}

template <class T>
void check_mmc_inputs(matrix_ref<T> X, const pair_list& S, const pair_list* D, const char* where) {
  expects(X.rows() > 0 && X.cols() > 1, where, "X is ", X.rows(), "x", X.cols(),
          ": need d >= 1 and n >= 2 (one sample per column)");
  check_finite<T>(X, where);
  expects(!S.empty(), where, "the similar pair set S is empty");
  check_pairs(S, X.cols(), where);
  if (D != nullptr) {
    expects(!D->empty(), where,
            "the dissimilar pair set D is empty (pass nullptr for all pairs "
            "not in S)");
    check_pairs(*D, X.cols(), where);
  }
}

matrix<double> initial_metric(const mmc_options& options, index_t d, const char* where) {
  if (!options.A0) return matrix<double>::Identity(d, d);
  const matrix<double>& A0 = *options.A0;
  expects(A0.rows() == d && A0.cols() == d, where, "A0 is ", A0.rows(), "x", A0.cols(),
          " but the data have d = ", d);
  validate_psd<double>(A0, 1e-8, where);
  return A0;
}

namespace {

// A host d×d symmetric eigendecomposition with its workspace kept per thread, without a device
// round trip (the reference full solver does one per projection pass; on the GPU each went
// through cuSOLVER at ~160 µs for d = 30). Small matrices go to Eigen's solver (Householder
// tridiagonalisation, implicit symmetric QR), larger ones to LAPACK's divide and conquer, on one
// core, which measured fastest (µs, one thread, random symmetric):
//   d       13    30    64    96    128    256     512
//   Eigen   12    64   329  1036   2220  12622  113911
//   dsyevd  17    85   480  1119   2028   9277   55202 (41045 on two threads)
class host_eigensolver {
 public:
  void run(const matrix<double>& a, vector<double>& w, matrix<double>& v) {
    const int n = static_cast<int>(a.rows());
    const blas_serial_scope serial(n <= kSerialEigenMaxOrder);
    if (n < kLapackFrom) {
      small_.compute(a);
      expects<numerical_error>(small_.info() == Eigen::Success, "mahal::fit_mmc",
                               "the symmetric eigensolver did not converge (non-finite iterate?)");
      w = small_.eigenvalues();
      v = small_.eigenvectors();
      return;
    }
    if (n != n_) query(n);
    v = a;
    w.resize(n);
    int info = 0;
    dsyevd_("V", "L", &n, v.data(), &n, w.data(), work_.data(), &lwork_, iwork_.data(), &liwork_,
            &info);
    expects<numerical_error>(info == 0, "mahal::fit_mmc", "LAPACK dsyevd failed, info = ", info,
                             " (non-finite iterate?)");
  }

 private:
  static constexpr int kLapackFrom = 96;
  void query(int n) {
    int info = 0, lwork = -1, liwork = -1, iwork = 0;
    double work = 0, dummy_a = 0, dummy_w = 0;
    dsyevd_("V", "L", &n, &dummy_a, &n, &dummy_w, &work, &lwork, &iwork, &liwork, &info);
    lwork_ = static_cast<int>(work) + 1;
    liwork_ = std::max(iwork, 1);
    work_.assign(static_cast<std::size_t>(lwork_), 0.0);
    iwork_.assign(static_cast<std::size_t>(liwork_), 0);
    n_ = n;
  }
  Eigen::SelfAdjointEigenSolver<matrix<double>> small_;
  int n_ = -1, lwork_ = 0, liwork_ = 0;
  std::vector<double> work_;
  std::vector<int> iwork_;
};

}  // namespace

template <class T>
void host_eig(backend<T>&, const matrix<double>& a, vector<double>& w, matrix<double>& v) {
  thread_local host_eigensolver solver;
  solver.run(a, w, v);
}

template <class T>
unconstrained_subspace find_unconstrained(const mmc_problem<T>& p) {
  const matrix<double>& W = p.W();
  unconstrained_subspace u;
  host_eigensolver solver;
  solver.run(W, u.values, u.vectors);
  const vector<double>& lw = u.values;
  u.floor = kScatterFloor * std::max(lw.maxCoeff(), 1e-300);
  index_t below = 0;  // eigenvalues ascend: the first `below` are under the floor
  while (below < lw.size() && lw(below) <= u.floor) ++below;
  u.W_floored = W;
  if (below == 0) return u;
  const matrix<double> Vn = u.vectors.leftCols(below);
  u.W_floored.noalias() +=
      Vn * (u.floor - lw.head(below).array()).matrix().asDiagonal() * Vn.transpose();
  // The rank of D's scatter within that subspace.
  const matrix<double> P = Vn.transpose() * p.dissimilar_scatter() * Vn;
  vector<double> lp;
  matrix<double> unused;
  solver.run(P, lp, unused);
  const double d_floor = 1e-9 * std::max(p.dissimilar_scatter().diagonal().maxCoeff(), 1e-300);
  for (index_t i = 0; i < lp.size(); ++i) u.directions += lp(i) > d_floor ? 1 : 0;
  return u;
}

template <class T>
index_t unconstrained_coordinates(const mmc_problem<T>& p) {
  const vector<double> s = p.W().diagonal(), wd = p.dissimilar_scatter().diagonal();
  const double floor = kScatterFloor * std::max(s.maxCoeff(), 1e-300);
  const double d_floor = 1e-9 * std::max(wd.maxCoeff(), 1e-300);
  index_t count = 0;
  for (index_t i = 0; i < s.size(); ++i) count += s(i) <= floor && wd(i) > d_floor ? 1 : 0;
  return count;
}

template <class T>
device_array<T> times_X(backend<T>& be, const matrix<double>& A, const device_array<T>& X) {
  const matrix<T> At = A.template cast<T>();
  device_array<T> Ad = to_device<T>(be, At), out = be.alloc(X.rows(), X.cols());
  be.gemm(false, false, T(1), Ad, X, T(0), out);
  return out;
}

#define MAHAL_INSTANTIATE(T)                                                                       \
  template void check_mmc_inputs<T>(matrix_ref<T>, const pair_list&, const pair_list*,             \
                                    const char*);                                                  \
  template void host_eig<T>(backend<T>&, const matrix<double>&, vector<double>&, matrix<double>&); \
  template unconstrained_subspace find_unconstrained<T>(const mmc_problem<T>&);                    \
  template index_t unconstrained_coordinates<T>(const mmc_problem<T>&);                            \
  template device_array<T> times_X<T>(backend<T>&, const matrix<double>&, const device_array<T>&);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

template class mmc_problem<float>;
template class mmc_problem<double>;

}  // namespace mahal::detail

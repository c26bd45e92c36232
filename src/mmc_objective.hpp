// The pieces of Xing et al.'s objectives shared by the MMC solvers: the dissimilar-pair sum
// g = Σ_D sqrt(d²) with its scatter gradient Σ_D w(d²) δ_P δ_Qᵀ over an explicit list or the
// implicit D (all pairs not in S, swept in blocks), and the similar-pair scatter W = Σ_S δδᵀ.
#pragma once

#include <memory>
#include <vector>

#include "blas_threads.hpp"
#include "mahal/backend.hpp"
#include "mahal/matrix.hpp"
#include "mahal/mmc.hpp"

namespace mahal::detail {

// How a dissimilar pair's squared distance d² becomes its gradient weight.
enum class mmc_weight {
  paper,      // 1 / (2 sqrt(d²)): d/dA of Σ_D ||δ||_A (0 where d² = 0)
  reference,  // 0.5 / (sqrt(d²) + 1e-6): the reference code's _fD1 numerator weights
};

template <class T>
class mmc_problem {
 public:
  using array = device_array<T>;

  // X d×n (finite, checked by the caller); S non-empty; D nullptr = implicit.
  mmc_problem(backend<T>& be, matrix_ref<T> X, const pair_list& S, const pair_list* D,
              index_t block);

  backend<T>& be() { return be_; }
  index_t dim() const { return d_; }
  index_t n() const { return n_; }
  const array& X() const { return X_; }
  const matrix<double>& W() const { return W_; }  // Σ_S δδᵀ, d×d
  bool implicit() const { return implicit_; }
  double dissimilar_count() const { return n_dissimilar_; }

  // Σ_D sqrt(d²_k) with d²_k = (p_i − p_j)ᵀ(q_i − q_j) for (P, Q) = (dp, dq); when grad is
  // given, also *grad = Σ_D w(d²_k) (sp_i − sp_j)(sq_i − sq_j)ᵀ (sp.rows × sq.rows).
  double dissimilar(const array& dp, const array& dq, const array& sp, const array& sq,
                    mmc_weight rule, matrix<double>* grad);

  // Host copies of the pair differences for the diagonal solver: calls f(Q) with Q d×m (the
  // squared differences δ∘δ of up to `chunk` D pairs) for every chunk of D. The chunks are
  // built once and kept when d·|D| <= 8·2²⁰ doubles (64 MiB), else rebuilt on every call (the
  // diagonal line search sweeps D once per trial step).
  template <class F>
  void for_each_dissimilar_chunk(index_t chunk, F&& f) const;

 private:
  template <class F>
  void for_each_dissimilar_chunk_built(index_t chunk, F&& f) const;

 public:
 private:
  void weights(mmc_weight rule, const array& sqdist, array& w);

  backend<T>& be_;
  blas_single_thread blas_guard_;  // one BLAS thread on the CPU while the fit runs
  index_t d_ = 0, n_ = 0;
  array X_;
  matrix<T> X_host_;
  matrix<double> W_;
  bool implicit_ = false;
  double n_dissimilar_ = 0;
  pair_list D_host_;                // explicit D
  device_array<label_t> D_;         // explicit D on the device
  device_array<label_t> S_unique_;  // implicit D: S deduplicated (i < j), subtracted
  std::vector<std::pair<label_t, label_t>> S_sorted_;  // implicit D: for chunk enumeration
  index_t block_ = 0;
  array mask_full_, mask_tail_;  // strictly upper triangular 0/1 masks
  mutable std::vector<matrix<double>> chunk_cache_;
  mutable index_t cached_chunk_ = 0;
};

// Diagonal A (fit_mmc_diagonal): h(a) = log Σ_D sqrt(q_kᵀa) with q_k = δ_k∘δ_k (d), its
// gradient (d) and Hessian (d×d); in the derivatives the distances are clamped at 1e-6 (the
// reference code's _D_constraint). a >= 0, d entries.
struct mmc_log_term {
  double value = 0;
  vector<double> grad;
  matrix<double> hess;
};
template <class T>
mmc_log_term mmc_diagonal_log_term(const mmc_problem<T>& p, const vector<double>& a);

// L-space (fit_mmc_linear): the scale-invariant ratio r(L) = g(L)·sqrt(t / f(L)) with
// g = Σ_D ||Lδ||, f = Σ_S ||Lδ||² = ⟨W, LᵀL⟩, L k×d; when grad is given also ∇_L r (k×d):
//   ∇r = sqrt(t/f)·(∇g − (g / 2f)·∇f),  ∇g = 2·L·G (G = Σ_D δδᵀ / (2||Lδ||)),  ∇f = 2·L·W.
template <class T>
double mmc_linear_ratio(mmc_problem<T>& p, const matrix<double>& L, double t, matrix<double>* grad);

// Validates X (finite), S (non-empty, in range) and D (non-empty and in range when given).
template <class T>
void check_mmc_inputs(matrix_ref<T> X, const pair_list& S, const pair_list* D, const char* where);

// options.A0 validated (d×d, symmetric PSD) or the identity.
matrix<double> initial_metric(const mmc_options& options, index_t d, const char* where);

// Symmetric eigendecomposition of a host d×d matrix (its lower triangle), eigenvalues
// ascending: LAPACK dsyevd on the host with a reused per-thread workspace (no device round trip).
template <class T>
void host_eig(backend<T>& be, const matrix<double>& a, vector<double>& w, matrix<double>& v);

// A·X for a host d×d A: the d×n product on the device.
template <class T>
device_array<T> times_X(backend<T>& be, const matrix<double>& A, const device_array<T>& X);

// Frobenius inner product and norm on host matrices.
inline double frob_dot(const matrix<double>& a, const matrix<double>& b) {
  return (a.array() * b.array()).sum();
}

}  // namespace mahal::detail

#include <algorithm>

namespace mahal::detail {

template <class T>
template <class F>
void mmc_problem<T>::for_each_dissimilar_chunk(index_t chunk, F&& f) const {
  if (cached_chunk_ == chunk) {
    for (const auto& Q : chunk_cache_) f(Q);
    return;
  }
  const bool keep = static_cast<double>(d_) * n_dissimilar_ <= 8.0 * 1024 * 1024;
  if (keep) {
    chunk_cache_.clear();
    for_each_dissimilar_chunk_built(chunk, [&](const matrix<double>& Q) {
      chunk_cache_.push_back(Q);
      f(Q);
    });
    cached_chunk_ = chunk;
    return;
  }
  for_each_dissimilar_chunk_built(chunk, f);
}

template <class T>
template <class F>
void mmc_problem<T>::for_each_dissimilar_chunk_built(index_t chunk, F&& f) const {
  matrix<double> Q(d_, chunk);
  index_t m = 0;
  auto push = [&](index_t i, index_t j) {
    Q.col(m++) =
        (X_host_.col(i) - X_host_.col(j)).template cast<double>().array().square().matrix();
    if (m == chunk) {
      f(Q);
      m = 0;
    }
  };
  if (!implicit_) {
    for (const auto& p : D_host_) push(p.i, p.j);
  } else {
    std::size_t s = 0;  // S_sorted_ is ascending in (i, j)
    for (index_t i = 0; i < n_; ++i)
      for (index_t j = i + 1; j < n_; ++j) {
        while (s < S_sorted_.size() &&
               (S_sorted_[s].first < i || (S_sorted_[s].first == i && S_sorted_[s].second < j)))
          ++s;
        if (s < S_sorted_.size() && S_sorted_[s].first == i && S_sorted_[s].second == j) continue;
        push(i, j);
      }
  }
  if (m > 0) {
    matrix<double> tail = Q.leftCols(m);
    f(tail);
  }
}

}  // namespace mahal::detail

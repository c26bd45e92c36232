// The pieces of Xing et al.'s objectives shared by the MMC solvers: the dissimilar-pair sum
// g = Σ_D sqrt(d²) with its scatter gradient Σ_D w(d²) δ_P δ_Qᵀ over an explicit list or the
// implicit D (all pairs not in S, swept in blocks), and the similar-pair scatter W = Σ_S δδᵀ.
#pragma once

#include <chrono>
#include <functional>
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

  backend<T>& be() const { return be_; }
  index_t dim() const { return d_; }
  index_t n() const { return n_; }
  const array& X() const { return X_; }
  const matrix<double>& W() const { return W_; }  // Σ_S δδᵀ, d×d
  // Σ_D δδᵀ, d×d (the implicit D's as n·X_c X_cᵀ less S's distinct pairs).
  const matrix<double>& dissimilar_scatter() const { return WD_; }
  bool implicit() const { return implicit_; }
  double dissimilar_count() const { return n_dissimilar_; }

  // Σ_D sqrt(d²_k) with d²_k = (p_i − p_j)ᵀ(q_i − q_j) for (P, Q) = (dp, dq); when grad is
  // given, also *grad = Σ_D w(d²_k) (sp_i − sp_j)(sq_i − sq_j)ᵀ (sp.rows × sq.rows).
  double dissimilar(const array& dp, const array& dq, const array& sp, const array& sq,
                    mmc_weight rule, matrix<double>* grad);

  // Host copies of the pair differences for the diagonal solver: calls f(Q, slot) with Q d×m
  // (the squared differences δ∘δ of up to chunk_pairs_ D pairs) for every chunk of D. The
  // chunks run on OpenMP threads. Each slot in [0, slots()) is a fixed contiguous part of D
  // whose chunks one thread sees in order, so per-slot sums added in slot order do not depend
  // on the thread count or the schedule. The chunks are built once and kept when
  // d·|D| <= 8·2²⁰ doubles (64 MiB), else rebuilt on every call.
  using chunk_function = std::function<void(const matrix<double>& Q, int slot)>;
  void for_each_dissimilar_chunk(const chunk_function& f) const;
  int slots() const { return slots_; }

  // The diagonal solver's sums over the implicit D at a >= 0 from the backend's
  // mmc_diagonal_terms: the upper triangle in blocks, then S's pairs subtracted (host, exact).
  // Device-side on a GPU.
  diagonal_terms implicit_diagonal_terms(const vector<double>& a) const;

 private:
  // Slot `slot`'s part of D, chunk by chunk.
  void build_chunks(int slot, const std::function<void(const matrix<double>&)>& f) const;
  void partition_slots();
  // The gradient weights of the pairs, up to the returned factor (which the caller folds into
  // its scatter's alpha). On entry w holds sqrt(max(sqdist, 0)), as the objective needed it.
  T weights(mmc_weight rule, const array& sqdist, array& w);

  backend<T>& be_;
  blas_single_thread blas_guard_;  // one BLAS thread on the CPU while the fit runs
  index_t d_ = 0, n_ = 0;
  array X_;
  matrix<T> X_host_;
  matrix<double> W_, WD_;
  bool implicit_ = false;
  double n_dissimilar_ = 0;
  pair_list D_host_;                // explicit D
  device_array<label_t> D_;         // explicit D on the device
  device_array<label_t> S_unique_;  // implicit D: S deduplicated (i < j), subtracted
  std::vector<std::pair<label_t, label_t>> S_sorted_;  // implicit D: for chunk enumeration
  index_t block_ = 0;
  array mask_full_, mask_tail_;  // strictly upper triangular 0/1 masks
  index_t chunk_pairs_ = 0;      // about 256 KiB of Q: built and consumed while in the L2 cache
  int slots_ = 1;
  std::vector<index_t> slot_start_;  // slots+1 bounds: rows (implicit D) or pairs (explicit)
  mutable std::vector<std::vector<matrix<double>>> chunk_cache_;  // per slot
  mutable bool cached_ = false;
};

// Where S leaves the paper's objectives unbounded: directions in which the similar pairs do not
// vary (W's eigenvalues at or under kScatterFloor·λ_max(W)) but the dissimilar pairs do. Along
// them Σ_D ||δ||_A grows without limit at no cost in Σ_S, so no maximiser exists. The fast
// solvers solve the problem with those eigenvalues of W raised to the floor: a ridge that fixes
// the scale along them, not the shape (A ends up concentrated on them), and report how many there
// are (mmc_result::unconstrained).
inline constexpr double kScatterFloor = mmc_scatter_floor;
struct unconstrained_subspace {
  index_t directions = 0;    // dimension of the subspace in which only D varies
  vector<double> values;     // W's eigenvalues, ascending,
  matrix<double> vectors;    // and eigenvectors
  double floor = 0;          // kScatterFloor·λ_max(W)
  matrix<double> W_floored;  // W with its eigenvalues under the floor raised to it (W if none)
};
template <class T>
unconstrained_subspace find_unconstrained(const mmc_problem<T>& p);
// The diagonal counterpart: coordinates i with s_i = Σ_S δ_i² at or under kScatterFloor·max(s)
// and Σ_D δ_i² > 0.
template <class T>
index_t unconstrained_coordinates(const mmc_problem<T>& p);

// Diagonal A (fit_mmc_diagonal): h(a) = log Σ_D sqrt(q_kᵀa) with q_k = δ_k∘δ_k (d), its
// gradient (d) and Hessian (d×d); in the derivatives the distances are clamped at 1e-6 (the
// reference code's _D_constraint). a >= 0, d entries.
struct mmc_log_term {
  double value = 0;
  vector<double> grad;
  matrix<double> hess;
};
// Where the sums come from: the host chunks of D (for_each_dissimilar_chunk) or the backend's
// block sweep (implicit D only). `automatic` takes the sweep when D is implicit and the backend
// is not the CPU's (whose chunks, kept in cache and spread over fixed slots, are faster there).
enum class log_term_path { automatic, host_chunks, backend_sweep };
template <class T>
mmc_log_term mmc_diagonal_log_term(const mmc_problem<T>& p, const vector<double>& a,
                                   log_term_path path = log_term_path::automatic);

// L-space (fit_mmc_linear): the scale-invariant ratio r(L) = g(L)·sqrt(t / f(L)) with
// g = Σ_D ||Lδ||, f = Σ_S ||Lδ||² = ⟨W, LᵀL⟩ for the given W (the solver passes the floored
// one, see find_unconstrained), L k×d; when grad is given also ∇_L r (k×d):
//   ∇r = sqrt(t/f)·(∇g − (g / 2f)·∇f),  ∇g = 2·L·G (G = Σ_D δδᵀ / (2||Lδ||)),  ∇f = 2·L·W.
template <class T>
double mmc_linear_ratio(mmc_problem<T>& p, const matrix<double>& W, const matrix<double>& L,
                        double t, matrix<double>* grad);

// The L-space ascent (fit_mmc_linear; fit_mmc_full's first phase): r(L) raised along ∇r·W⁻¹
// from L (rescaled onto f(L) = t first, and after every step) with step adaptation, until a
// step gains less than a relative o.tol·1e-3 (converged), no step gains (stalled) or o.max_iter
// steps. W must be positive definite (the floored scatter). Appends one record per step to
// trace, numbered from first_iteration, and calls o.progress.
struct linear_ascent_result {
  matrix<double> L;
  double g = 0;  // r(L) = g(L) at f(L) = t
  index_t iterations = 0;
  solver_status status = solver_status::iteration_cap;
};
template <class T>
linear_ascent_result linear_ascent(mmc_problem<T>& p, const matrix<double>& W, matrix<double> L,
                                   double t, const mmc_options& o, index_t first_iteration,
                                   std::vector<iteration_record>& trace,
                                   std::chrono::steady_clock::time_point t0);

// Validates X (finite), S (non-empty, in range) and D (non-empty and in range when given).
template <class T>
void check_mmc_inputs(matrix_ref<T> X, const pair_list& S, const pair_list* D, const char* where);

// options.A0 validated (d×d, symmetric PSD) or the identity.
matrix<double> initial_metric(const mmc_options& options, index_t d, const char* where);

// Symmetric eigendecomposition of a host d×d matrix (its lower triangle), eigenvalues
// ascending, on the host with a reused per-thread workspace (no device round trip): Eigen's solver
// below d = 96, LAPACK dsyevd from there.
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

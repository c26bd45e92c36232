// mahal/lmnn.hpp — Large Margin Nearest Neighbour metric learning.
//
// Weinberger & Saul, "Distance Metric Learning for Large Margin Nearest Neighbor
// Classification", JMLR 10 (2009) 207–244. With k target neighbours j⇝i per point (same class,
// nearest in the Euclidean metric of the input) the objective over a metric M = LᵀL is
//
//   ε(M) = (1−μ) Σ_{i, j⇝i} d_M(x_i, x_j)²
//        +   μ   Σ_{i, j⇝i, l: y_l≠y_i} [1 + d_M(x_i, x_j)² − d_M(x_i, x_l)²]_+
//
// (or the squared hinge [·]_+², as in LMNN 3.0 and pylmnn). Its gradient with respect to M is
// one weighted pair scatter G = Σ w_ab (x_a − x_b)(x_a − x_b)ᵀ with weight (1−μ) + μ·#active
// on each target pair (i, j) and −μ·#active on each impostor pair (i, l); with respect to L
// it is 2·L·G. Both are computed by backend::pair_scatter (a sparse Laplacian and one GEMM).
//
// Solvers:
//   * lbfgs   — L-space (L r×d, r <= d), L-BFGS with a strong-Wolfe line search (lbfgs.hpp);
//               it returns, of the points where it searched impostors (the start and the end
//               of each segment), the one with the lowest exact objective: never worse than
//               the start, even when stale candidates hid a rise between two searches;
//   * sgd     — L-space, mini-batches of anchor points with Adam steps, for large n; after
//               five epochs in a row without progress it halves the step, and it stops when a
//               search at that L finds no new impostor that changes the objective;
//   * m_space — the original method: projected subgradient descent on M with step adaptation
//               and projection onto the PSD cone; like lbfgs, it returns the searched point with
//               the lowest exact objective.
// Impostors are kept as an active set of (i, l) pairs with d(i,l)² < max_j d(i,j)² + 1 + band,
// found by a blocked all-pairs sweep (never an n×n matrix); the set is rebuilt at least every
// `full_search_every` iterations (lbfgs: a quarter of that at the start and after a search that
// revealed a rise of over 10 % hidden by the old set, doubling back) or when a bound on the
// change of L says it may be stale (stale_check), and
// the final objective, gradient norm and active-triplet count are exact over all triplets.
// Memory: O(n·k + |active|).
//
// Input rules (invalid_argument otherwise): X finite, labels 0..C−1 one per column, every
// class has at least k+1 points (k target neighbours besides the point itself), k >= 1.
// Duplicated points are allowed (zero distances are well defined; a duplicate of another class
// is an impostor that no metric can push out, it contributes a constant 1 per target).
// Constant features get a zero gradient (up to rounding): their columns of L keep the
// initial values.
//
//   auto be = mahal::make_backend<double>(mahal::device::cpu);
//   mahal::lmnn_options opt;  opt.k = 3;
//   auto r = mahal::fit_lmnn<double>(*be, X, y, opt);   // X d×n, y n labels
//   mahal::metric<double> m = mahal::metric<double>::from_linear_map(r.L);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/engine.hpp"
#include "mahal/matrix.hpp"
#include "mahal/solver.hpp"

namespace mahal {

enum class lmnn_solver { lbfgs, sgd, m_space };
std::string to_string(lmnn_solver solver);
lmnn_solver parse_lmnn_solver(const std::string& name);  // "lbfgs", "sgd", "m-space"

enum class lmnn_init {
  identity,  // L = the first r rows of I_d
  pca,       // L = the r leading principal directions of X (rows of unit length)
  given,     // L = options.L0 (r×d; also the warm start from an earlier result's L)
};

struct lmnn_options {
  index_t k = 3;                    // target neighbours per point
  double mu = 0.5;                  // weight of the push term; (1−μ) weighs the pull term
  bool squared_hinge = false;       // [·]_+² instead of [·]_+ (LMNN 3.0, pylmnn)
  index_t impostors_per_point = 0;  // 0: every impostor l (the paper); K > 0: only the K
                                    // nearest differently labelled points of each i (mlpack)
  lmnn_solver solver = lmnn_solver::lbfgs;
  index_t rank = 0;  // r: rows of L (0 = d); m_space needs r = d
  lmnn_init init = lmnn_init::identity;
  matrix<double> L0;               // initial L (r×d) when init == given
  index_t max_iterations = 1000;   // accepted steps (sgd: epochs)
  double tolerance = 1e-4;         // relative objective decrease / gradient tolerance
  index_t lbfgs_memory = 10;       // L-BFGS curvature pairs
  bool stale_check = false;        // also search when the (loose, worst-case) staleness bound fires
  index_t full_search_every = 20;  // most iterations between full impostor searches (T)
  double band = 0.2;               // candidates: d_il² < (max_j d_ij² + 1)·(1 + band)
  // sgd
  index_t batch_size = 512;     // anchors per mini-batch
  double learning_rate = 1e-2;  // initial Adam step size (on L's entries)
  std::uint64_t seed = 0;       // mini-batch order
  // m_space
  double initial_step = 0;       // first step size; 0 = 0.1·||M||_F / ||G||_F
  engine::block_sizes blocks{};  // all-pairs sweep blocks (0 = backend default)
  progress_callback progress;    // after every iteration
};

template <class T>
struct lmnn_result {
  matrix<T> L;  // r×d learned map
  matrix<T> A;  // d×d metric LᵀL
  solver_status status = solver_status::iteration_cap;
  index_t iterations = 0;               // accepted steps (sgd: epochs)
  index_t evaluations = 0;              // objective/gradient evaluations
  index_t full_searches = 0;            // all-pairs impostor searches
  double objective = 0;                 // exact ε at L over all triplets
  double gradient_norm = 0;             // exact ||∂ε/∂L||_F at L
  index_t active_triplets = 0;          // exact number of triplets with a positive hinge
  std::vector<iteration_record> trace;  // objective, step, time, active pairs
  double seconds = 0;                   // wall time of the fit
  double search_seconds = 0;            // of which in all-pairs impostor searches
  double evaluation_seconds = 0;        // of which in objective and gradient evaluations
  index_t candidate_pairs = 0;          // impostor candidates (i, l) of the last search
  std::string message;                  // why it stopped
};

template <class T>
lmnn_result<T> fit_lmnn(backend<T>& be, matrix_ref<T> X, label_ref y,
                        const lmnn_options& options = {});

// ε and its gradients at a given L, exact over all triplets (for tests and reports).
template <class T>
struct lmnn_evaluation {
  double objective = 0;
  double pull = 0;  // Σ d_ij² over target pairs
  double push = 0;  // Σ of the hinge terms
  index_t active_triplets = 0;
  matrix<T> gradient_L;  // r×d: ∂ε/∂L = 2·L·G
  matrix<T> gradient_M;  // d×d: G = ∂ε/∂M (the subgradient with [0]_+' = 0)
  index_matrix targets;  // k×n target neighbours (nearest first)
};

template <class T>
lmnn_evaluation<T> evaluate_lmnn(backend<T>& be, matrix_ref<T> X, label_ref y, matrix_ref<T> L,
                                 const lmnn_options& options = {});

}  // namespace mahal

// mahal/mmc.hpp — Xing et al.'s metric learning with side information (MMC).
//
// E. P. Xing, A. Y. Ng, M. I. Jordan and S. Russell, "Distance metric learning, with
// application to clustering with side-information", NIPS 2002. Given similar pairs S and
// dissimilar pairs D of the columns of X (d×n, one sample per column):
//
//   full A       maximise g(A) = Σ_D ||x_i − x_j||_A   s.t.  f(A) = Σ_S ||x_i − x_j||²_A <= t,
//                A ⪰ 0                                                       (paper eq. 2–4)
//   diagonal A   minimise Σ_S ||x_i − x_j||²_a − C·log Σ_D ||x_i − x_j||_a over a >= 0 (eq. 6)
//   L-space      A = LᵀL, L k×d (k <= d): maximise Σ_D ||L(x_i − x_j)|| s.t. Σ_S ||L δ||² <= t
//
// Every solver has two modes:
//   * mmc_mode::fast (default) — this library's algorithms:
//       full: first the L-space ascent below with L d×d (A = LᵀL covers every PSD A), then
//             projected gradient ascent on the exact feasible set from its result. With
//             K = W^{-1/2} (W = Σ_S δδᵀ) and A = K B K the constraint set is the spectraplex
//             {B ⪰ 0, tr B <= t}, onto which the Frobenius projection is exact (one d×d
//             eigendecomposition, then the eigenvalues projected onto a capped simplex).
//             g is concave, so the Frank–Wolfe gap t·λ_max(∇_B g) − ⟨∇_B g, B⟩ bounds the
//             distance to the optimum and is the stopping test (gap <= tol·g); the first
//             phase's result usually meets it at once. (Projected steps on A alone crawl near
//             a low-rank optimum, where ∂||δ||_A/∂A grows without bound as δᵀAδ → 0.)
//       diagonal: projected Newton (Bertsekas 1982) on the paper's objective, which is convex
//             on a >= 0: coordinates held at the bound where the gradient points outward,
//             a Newton step on the others, Armijo backtracking along the projection arc.
//       linear: ascent on the scale-invariant ratio g(L)/sqrt(f(L)/t) along ∇r·W⁻¹ (the
//             gradient in M = L·W^{1/2}, one Cholesky factor of W for the whole fit), L
//             rescaled onto f(L) = t after every step; no eigendecomposition in the iterations
//             (one of W, before them, finds the unconstrained directions below).
//   * mmc_mode::reference — the published reference code (metric-learn 0.7.0 `_BaseMMC`, a
//     port of the authors' MATLAB), operation for operation, quirks included; see
//     python_ref/MMC_REFERENCE.md. For regression tests and comparisons.
//
// Unconstrained directions. Where the similar pairs do not vary along a direction (their
// scatter W = Σ_S δδᵀ is singular there: few pairs in many dimensions, or a feature constant
// within classes) but dissimilar pairs do, Σ_D grows without limit at no cost in Σ_S and the
// objectives have no optimum. The fast solvers then raise W's eigenvalues (diagonal A: the
// entries of diag W) under mmc_scatter_floor (1e-12) of the largest to that floor, a ridge that
// bounds the scale along those directions but not the shape: the learned A concentrates on them,
// which collapses the similar pairs there. mmc_result::unconstrained counts them; the reference
// mode keeps the reference code's behaviour (it climbs along them until its iteration cap).
//
// D may be given as a list or left implicit (nullptr): then D is every unordered pair {i, j},
// i ≠ j, that is not in S, swept in blocks through the all-pairs engine (never a list of
// O(n²) pairs). The t bound is Σ_S ||δ||²_{A0} / 100 unless options.bound is set (the
// reference code's rule).
//
//   auto be = mahal::make_backend<double>(mahal::device::cpu);
//   auto [S, D] = mahal::sample_pairs(y, 80, 80, /*seed=*/0);
//   mahal::mmc_result<double> r = mahal::fit_mmc_full(*be, X, S, &D);
//   // r.A (d×d, PSD), r.L (d×d, A = LᵀL), r.objective = g(A), r.status
//   auto r2 = mahal::fit_mmc_full(*be, X, y, mahal::pair_sampling{80, 80, 0});
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/matrix.hpp"
#include "mahal/solver.hpp"

namespace mahal {

// The fast solvers' floor on the similar-pair scatter, relative to its largest eigenvalue (or
// diagonal entry); see "Unconstrained directions" above.
inline constexpr double mmc_scatter_floor = 1e-12;

enum class mmc_mode {
  fast,       // this library's algorithms (see above)
  reference,  // the published reference code's behaviour, exactly (double only)
};

struct mmc_options {
  mmc_mode mode = mmc_mode::fast;
  index_t max_iter = 100;  // outer iterations (reference full: cycles; diagonal: Newton steps)
  double tol = 1e-3;       // stopping tolerance (reference: its delta / error test; fast full:
                           // relative Frank–Wolfe gap; fast diagonal: half the Newton decrement
                           // <= tol·C, i.e. F within ≈ tol·C of its minimum; linear: relative
                           // change)
  // Initial metric: d×d PSD for full A (default I), its diagonal is a0 for diagonal A
  // (default 1); for L-space the initial L is the Cholesky/eigen factor of A0 (default I).
  std::optional<matrix<double>> A0;
  double bound = 0;  // t; 0 = Σ_S ||δ||²_{A0} / 100 (reference rule) — full and linear
  double C = 1.0;    // diagonal A: weight of the log term
  index_t rank = 0;  // L-space: rows k of L (0 = d)
  index_t max_projections = 10000;  // reference full: projection passes per cycle
  index_t block = 0;                // implicit D: all-pairs block size (0 = backend default)
  progress_callback progress;       // called after every iteration (may be empty)
};

// Pairs drawn from labels (constraints.hpp sample_pairs): n_similar same-class and
// n_dissimilar different-class distinct pairs, seeded.
struct pair_sampling {
  index_t n_similar = 0;
  index_t n_dissimilar = 0;
  std::uint64_t seed = 0;
};

template <class T>
struct mmc_result {
  matrix<T> A;  // d×d learned metric (PSD; diagonal for fit_mmc_diagonal)
  matrix<T> L;  // k×d with A = LᵀL (eigen factor; not the reference code's Cholesky form)
  vector<T> a;  // d: diag(A) (the learned vector for fit_mmc_diagonal)
  double objective = 0;   // the paper's g(A) = Σ_D ||x_i − x_j||_A at the returned A
  double similarity = 0;  // f(A) = Σ_S ||x_i − x_j||²_A at the returned A
  double bound = 0;       // t (full and linear; 0 for diagonal)
  std::vector<iteration_record> trace;  // per iteration: the solver's own objective
  index_t iterations = 0;               // outer iterations executed
  index_t eigendecompositions = 0;      // d×d symmetric eigendecompositions done
  index_t projection_passes = 0;        // reference full: C1/C2 passes (fast full: projections)
  // Directions (coordinates, for diagonal A) along which the dissimilar pairs vary but the
  // similar pairs do not. When > 0 the paper's objective is unbounded: see "Unconstrained
  // directions" above.
  index_t unconstrained = 0;
  solver_status status = solver_status::stalled;
  double seconds = 0;
};

// Full A. X d×n finite; S non-empty; D non-empty when given (nullptr = implicit D).
template <class T>
mmc_result<T> fit_mmc_full(backend<T>& be, matrix_ref<T> X, const pair_list& S, const pair_list* D,
                           const mmc_options& options = {});
template <class T>
mmc_result<T> fit_mmc_full(backend<T>& be, matrix_ref<T> X, label_ref y,
                           const pair_sampling& sampling, const mmc_options& options = {});

// Diagonal A (a >= 0). Same inputs.
template <class T>
mmc_result<T> fit_mmc_diagonal(backend<T>& be, matrix_ref<T> X, const pair_list& S,
                               const pair_list* D, const mmc_options& options = {});
template <class T>
mmc_result<T> fit_mmc_diagonal(backend<T>& be, matrix_ref<T> X, label_ref y,
                               const pair_sampling& sampling, const mmc_options& options = {});

// L-space (A = LᵀL, L rank×d). options.mode must be fast (the reference code has no such mode).
template <class T>
mmc_result<T> fit_mmc_linear(backend<T>& be, matrix_ref<T> X, const pair_list& S,
                             const pair_list* D, const mmc_options& options = {});
template <class T>
mmc_result<T> fit_mmc_linear(backend<T>& be, matrix_ref<T> X, label_ref y,
                             const pair_sampling& sampling, const mmc_options& options = {});

}  // namespace mahal

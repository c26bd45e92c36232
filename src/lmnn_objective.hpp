// The LMNN objective over an impostor active set, written once over backend<T>.
//
// Pairs live on the device as one 2×m list: the n·k target pairs (i, j) first, then the
// candidate impostor pairs (i, l) grouped by anchor i (CSR offsets). One evaluation is three
// backend operations, all on the device: the pair distances of all m pairs from Z = LX
// (pair_sqdist), the hinge terms and pair weights per anchor (lmnn_hinge,
// O(n·k + k·|candidates|)), and one pair_scatter for the gradient (zero weights skipped).
// A full search rebuilds the candidates from a blocked all-pairs sweep (impostor_sweep).
//
// The problem stores the points class by class (a stable sort by label): an anchor's target
// neighbours then sit in its class's block of columns, and the pair loops read columns near
// each other instead of anywhere in X (at n = 1e5 the time per evaluation falls by about 40 %).
// Every index the problem takes or returns is a position in that order; original(p) maps back.
#pragma once

#include <cstdint>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/lmnn.hpp"

namespace mahal::detail {

// Wall time since construction.
class stopwatch {
 public:
  stopwatch();
  double seconds() const;

 private:
  std::int64_t start_ns_;
};

struct lmnn_terms {
  double objective = 0;
  double pull = 0;
  double push = 0;
  index_t active_triplets = 0;
  index_t active_pairs = 0;  // candidate impostor pairs with at least one active triplet
};

template <class T>
class lmnn_problem {
 public:
  // Validates X and y, uploads them class by class and finds the k target neighbours in the
  // Euclidean metric.
  lmnn_problem(backend<T>& be, matrix_ref<T> X, label_ref y, const lmnn_options& options,
               const char* where);

  backend<T>& be() { return be_; }
  const device_array<T>& X() const { return X_; }
  index_t n() const { return n_; }
  index_t d() const { return d_; }
  index_t k() const { return k_; }
  const std::vector<label_t>& targets() const { return targets_; }  // k×n, column-major
  // The index in the caller's X of the point at position p.
  label_t original(index_t p) const { return order_[static_cast<std::size_t>(p)]; }
  index_t candidates() const { return static_cast<index_t>(cand_other_.size()); }
  double search_seconds() const { return search_seconds_; }          // spent in full_search
  double evaluation_seconds() const { return evaluation_seconds_; }  // in evaluate + gradients

  // Rebuilds the impostor candidates at Z = LX (r×n): every (i, l) with y_l ≠ y_i and
  // d(i,l)² < (max_j d(i,j)² + 1)·(1 + band), the radius widened by the sweep's rounding
  // error. band = 0 gives the pairs that can be in an active triplet at this Z (and a few more
  // within rounding). Remembers the thresholds for is_stale.
  // With impostors_per_point = K only the 8K nearest of those are kept per anchor (a k-NN
  // sweep with a different-label filter): memory O(n·K) instead of the margin ball's, which
  // grows like n² on overlapping classes. The K nearest impostors are among them, so the
  // K-nearest-impostor objective stays exact at this Z. (8K, not fewer: the spare candidates
  // keep the solver from pushing the K nearest out and letting unseen ones in between
  // searches; with 2K, L-BFGS on letters exploited the cut and never converged.)
  void full_search(const device_array<T>& Z, double band);

  // Objective over the candidates at Z; with want_weights, also the pair weights (device)
  // that the gradient needs.
  lmnn_terms evaluate(const device_array<T>& Z, bool want_weights);
  // ∂ε/∂L = 2·L·G into grad (r×d), after evaluate(Z, true); L (r×d) on the device, Z = L·X.
  void gradient_L(const device_array<T>& Z, const device_array<T>& L, device_array<T>& grad);
  // G = ∂ε/∂M = X·Lap·Xᵀ = pair_scatter(X, X) into G (d×d), after evaluate(·, true).
  void gradient_M(device_array<T>& G);

  // True when, for some anchor, a pair outside the candidates may have come within the margin:
  // with ΔL = L − L_search, d_L(i,l) >= d_search(i,l) − ||ΔL||₂ (|x_i − c| + R) where c is the
  // mean and R the radius of X; stale when that bound falls below sqrt(max_j d_ij² + 1) at L.
  // Z = LX at the current L.
  // When L is square and invertible, the tighter relative bound d_L(i,l) >= (1 − ε)·d_search(i,l)
  // with ε = ||ΔL·L_search⁻¹||₂ is used as well (pass relative < 0 when it does not apply).
  // With capped candidates (impostors_per_point > 0) an anchor is also fresh when no outsider
  // can overtake its K-th nearest candidate: lower bound > that candidate's upper bound.
  bool is_stale(const device_array<T>& Z, double delta_norm, double relative = -1);

  // Restricts the next evaluate/gradient to the anchors in `batch` (all anchors when empty);
  // the terms are scaled by n / |batch|. A batch whose pairs touch at most half of the points
  // (its anchors, their targets and candidates) works on those alone, gathered once into
  // points(), so that a mini-batch step costs O(|those points|·d·r), not O(n·d·r).
  void set_batch(const std::vector<label_t>& batch);
  // The columns evaluate and the gradients read: X, or a batch's points. Z = L·points().
  const device_array<T>& points() const { return batch_points_.empty() ? X_ : batch_X_; }

 private:
  void upload_pairs();
  // Brings gram_ to X·Lap·Xᵀ for the current weights: in full after a new pair list, otherwise
  // by the pairs whose weight changed since the last call (weights count active triplets:
  // between two L-BFGS evaluations of a digits fit the changed pairs touch nearly every point
  // early on, a fifth of them late), every kGramRefresh updates in full again.
  void update_gram();
  // Whether gradient_L goes through gram_: no batch, the plain hinge (the squared one changes
  // every active weight) and 2·L·G no dearer than 2·Z·Lap·Xᵀ (r ≥ d/2, d ≤ n).
  bool gram_pays_off(index_t r) const;
  std::vector<T> target_distances(const device_array<T>& Z);  // k×n
  // The k nearest other columns of Z with the same label, for every column (k×n), searched
  // within each class's block: n²/C distances for C equal classes instead of n². The sort by
  // label is stable, so ties go to the smaller original index, as in an unsorted search.
  std::vector<label_t> same_class_knn(const device_array<T>& Z, index_t k);
  // full_search's candidates when impostors_per_point > 0; theta: the squared ball radii.
  void nearest_impostors(const device_array<T>& Z, const std::vector<T>& theta);

  backend<T>& be_;
  const lmnn_options& options_;
  index_t n_ = 0, d_ = 0, k_ = 0;
  std::vector<label_t> order_;        // n: position → index in the caller's X
  std::vector<index_t> class_start_;  // classes+1: where each class's block of positions starts
  device_array<T> X_;
  std::vector<label_t> targets_;     // k×n
  std::vector<index_t> cand_start_;  // n+1 CSR offsets
  std::vector<label_t> cand_other_;  // impostor l of each candidate pair
  std::vector<double> threshold_;    // n: every non-candidate impostor was at least this far
  std::vector<double> kth_;          // n: capped anchors: the K-th candidate's distance; else inf
  device_array<label_t> labels_;     // n, on the device, for the label-filtered k-NN
  std::vector<double> radius_;       // n: |x_i − c|
  double max_radius_ = 0;
  device_array<label_t> target_pairs_;  // 2×(n·k)
  device_array<T> target_dist_;         // (n·k)×1
  std::vector<label_t> anchors_;        // anchors of the evaluation (all, or a batch)
  std::vector<label_t> batch_points_;   // a batch's points (positions), ascending; empty: all
  std::vector<label_t> local_;          // n: a point's column in batch_X_ (−1: not in the batch)
  device_array<T> batch_X_;             // d×|batch_points_|: their columns of X
  device_array<label_t> pairs_;         // 2×m: anchors' targets, then their candidates
  device_array<label_t> offsets_;       // |anchors|+1: where each anchor's candidates start
  device_array<T> dist_;                // m×1: the pairs' squared distances
  device_array<T> weights_;             // m×1: their weights in the gradient (0: inactive)
  device_array<T> gram_;                // d×d: X·Lap·Xᵀ at prior_weights_
  device_array<T> prior_weights_;       // m×1: the weights gram_ was last brought to
  device_array<T> weight_change_;       // m×1
  index_t gram_updates_ = -1;           // since gram_ was computed in full; −1: invalid
  struct {  // the storage behind the views above, kept between mini-batches (buffers::reuse)
    device_array<label_t> batch_index, pairs, offsets;
    device_array<T> batch_X, dist, weights;
  } store_;
  double scale_ = 1;  // n / |anchors|
  double search_seconds_ = 0, evaluation_seconds_ = 0;
};

// The solvers: each improves L (r×d, double on the host; small) in place and fills status,
// iterations, evaluations, full_searches, trace and message of `result`. fit_lmnn does the
// validation, the initial L and the final exact evaluation.
template <class T>
void solve_lmnn_lbfgs(lmnn_problem<T>& problem, matrix<double>& L, const lmnn_options& options,
                      lmnn_result<T>& result, const stopwatch& clock);
template <class T>
void solve_lmnn_mspace(lmnn_problem<T>& problem, matrix<double>& L, const lmnn_options& options,
                       lmnn_result<T>& result, const stopwatch& clock);
template <class T>
void solve_lmnn_sgd(lmnn_problem<T>& problem, matrix<double>& L, const lmnn_options& options,
                    lmnn_result<T>& result, const stopwatch& clock);

// Z = L·X on the device, L uploaded from the host (r×d).
template <class T>
void transform_into(backend<T>& be, const matrix<double>& L, const device_array<T>& X,
                    device_array<T>& L_dev, device_array<T>& Z);

extern template class lmnn_problem<float>;
extern template class lmnn_problem<double>;

}  // namespace mahal::detail

// mahal/kmeans.hpp — K-means and constrained K-means in the space of a learned metric.
//
// Xing, Ng, Jordan & Russell, "Distance metric learning, with application to clustering with
// side-information", NIPS 2002, §4 evaluate a metric by clustering with it: K-means, and
// "constrained K-means" in which every pair of the similarity set S must end in one cluster
// (Wagstaff, Cardie, Rogers & Schroedl, "Constrained K-means clustering with background
// knowledge", ICML 2001). Under a metric A = LᵀL, clustering X (d×n) is Euclidean clustering of
// Z = LX (k×n), so both functions take Z (or a metric and X).
//
// Algorithm (both functions; Lloyd's iterations over "units"):
//   * A unit is a point (kmeans) or a connected component of the must-link graph S
//     (constrained_kmeans). Unit u has w_u members, mean m_u and internal scatter
//     s_u = Σ_{i∈u} ||z_i − m_u||².
//   * Objective (inertia): J = Σ_i ||z_i − μ_{c(i)}||², summed over every point. Because
//       Σ_{i∈u} ||z_i − μ||² = s_u + w_u·||m_u − μ||²            (bias–variance identity),
//     the cost of putting a whole component into cluster k is s_u + w_u·||m_u − μ_k||²: its
//     best cluster is the centroid nearest to the component's MEAN (s_u and w_u > 0 do not
//     depend on k), and J = Σ_u s_u + Σ_u w_u·||m_u − μ_{c(u)}||².
//   * Assignment: every unit to its nearest centroid (ties: the smaller cluster index). The
//     distances unit-means × centroids and the two nearest of each unit come from one backend
//     top-k sweep (k = 2), so this step runs on the CPU or the GPU. Between steps, Hamerly's
//     bounds (SDM 2010) skip the units that cannot change centre: an upper bound on the
//     distance to the own centre and a lower bound on the distance to any other, moved by the
//     centres' shifts and widened by the backend's rounding, so the assignment is exactly the
//     one a full search would give (kmeans_options::bounds = false searches every unit).
//   * Update (host): μ_k = Σ_{u→k} w_u m_u / Σ_{u→k} w_u, the mean of all member POINTS. The
//     sums are updated incrementally for the units that changed cluster (O(k) each) and
//     rebuilt from scratch at the end of every restart, so the returned centroids are exact.
//   * Empty cluster: it is re-seeded with the unit farthest from its centroid, i.e. the one
//     with the largest cost w_u·||m_u − μ_{c(u)}||² among units of clusters that keep at least
//     one other unit (ties: the smaller unit index); the unit moves there and both centroids
//     are recomputed. This never raises J, so J never increases across iterations.
//   * Stop: no unit changed cluster (converged), or Σ_k ||μ_k − μ_k_prev||² <= tol·v with v
//     the mean over coordinates of the per-coordinate variance of Z (scikit-learn's rule;
//     converged), or max_iter iterations (iteration_cap).
//   * Seeding: greedy k-means++ (Arthur & Vassilvitskii 2007; scikit-learn's variant) over
//     units: the first centre is the mean of a unit drawn with probability ∝ w_u (= the
//     component of a uniformly drawn point); for each next one, `seeding_trials` units are
//     drawn with probability ∝ w_u·D(m_u)², D the distance to the nearest centre so far, and
//     the one leaving the lowest potential Σ_u w_u·min(D², ||m_u − candidate||²) is kept
//     (seeding_trials = 1: plain k-means++). If every D is 0 (fewer distinct unit means than
//     clusters, e.g. duplicated points) the next centre is drawn ∝ w_u among units not yet
//     chosen.
//   * Restarts: `restarts` independent seedings from one detail::rng stream started at `seed`
//     (identical on every platform); the run with the lowest inertia is kept (ties: the first).
//
// Units are handled in coordinates centred on the grand mean (distances do not change; the
// norm expansion on the device and the identity below lose less to cancellation).
// Cost per iteration: a GEMM and a k = 2 top-k on the backend over the units the bounds leave
// (all of them at a restart's first step) plus O(n_units + k·moved) host work; host and device
// exchange the K centroids and, per searched unit, its index and two distances.
// The per-iteration trace objective uses J = Σ_u s_u + Σ_u w_u||m_u||² − Σ_k ||S_k||²/W_k
// (S_k, W_k: cluster sums and masses), O(K·k); the last entry and `inertia` are summed directly.
//
//   auto be = mahal::make_backend<double>(mahal::device::cpu);
//   mahal::kmeans_options opt;  opt.clusters = 3;  opt.seed = 7;
//   auto r = mahal::kmeans(*be, Z, opt);                        // Z k×n
//   auto c = mahal::constrained_kmeans(*be, metric, X, S, opt); // X d×n, S must-link pairs
//   double acc = mahal::xing_accuracy(y, c.assignment);         // clustering_accuracy.hpp
#pragma once

#include <cstdint>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/matrix.hpp"
#include "mahal/metric.hpp"
#include "mahal/solver.hpp"

namespace mahal {

struct kmeans_options {
  index_t clusters = 2;    // K >= 1; at most n (kmeans) or the number of S-components
  index_t restarts = 10;   // independent k-means++ seedings; the lowest inertia is kept
  index_t max_iter = 300;  // Lloyd iterations per restart
  double tol = 1e-6;       // centroid-shift tolerance, relative to the data's mean variance
  std::uint64_t seed = 0;  // seeds the one rng stream of all restarts
  bool bounds = true;      // skip the units Hamerly's bounds show cannot move (same result)
  // Candidates drawn for each k-means++ centre after the first; the one leaving the lowest
  // potential is kept (greedy k-means++). 0: 2 + ⌊ln K⌋, as scikit-learn; 1: plain k-means++.
  index_t seeding_trials = 0;
};

template <class T>
struct kmeans_result {
  label_vector assignment;  // n: cluster of each point, 0..K-1; every cluster is non-empty
  matrix<T> centroids;      // k×K: the mean of each cluster's points (in Z-space)
  double inertia = 0;       // Σ_i ||z_i − μ_{assignment(i)}||² of the kept restart
  index_t iterations = 0;   // Lloyd iterations of the kept restart
  solver_status status = solver_status::converged;  // of the kept restart
  index_t best_restart = 0;                         // which restart was kept (0-based)
  // Kept restart, one record per iteration: objective = inertia after the update, step = the
  // squared centroid shift Σ_k ||μ_k − μ_k_prev||², seconds since the restart began.
  std::vector<iteration_record> trace;
  // Unit-to-centres searches done over all restarts (units × assignment steps without bounds).
  index_t searched = 0;
};

// K-means of the columns of Z (k×n). Throws invalid_argument for K < 1 or K > n, restarts < 1,
// max_iter < 1, tol < 0, seeding_trials < 0, an empty Z, or NaN/Inf in Z.
template <class T>
kmeans_result<T> kmeans(backend<T>& be, matrix_ref<T> Z, const kmeans_options& options);

// K-means of X (d×n) under the metric: of Z = m.transform(X).
template <class T>
kmeans_result<T> kmeans(backend<T>& be, const metric<T>& m, matrix_ref<T> X,
                        const kmeans_options& options);

// Constrained K-means of the columns of Z (k×n): every connected component of the graph whose
// edges are the must-link pairs (indices in [0, n)) is kept whole in one cluster. With no pairs
// it is kmeans. Throws invalid_argument as kmeans, for a pair outside [0, n), and for K larger
// than the number of components.
template <class T>
kmeans_result<T> constrained_kmeans(backend<T>& be, matrix_ref<T> Z, const pair_list& must_link,
                                    const kmeans_options& options);

// Constrained K-means of X (d×n) under the metric: of Z = m.transform(X).
template <class T>
kmeans_result<T> constrained_kmeans(backend<T>& be, const metric<T>& m, matrix_ref<T> X,
                                    const pair_list& must_link, const kmeans_options& options);

}  // namespace mahal

// mahal/xing2002.hpp — the clustering experiment of Xing et al. (NIPS 2002), Figure 6.
//
// E. P. Xing, A. Y. Ng, M. I. Jordan and S. Russell, "Distance metric learning, with
// application to clustering with side-information", NIPS 2002, §4.2. On nine UCI data sets:
//   * S: random same-class pairs, added until the graph on the N points with edges S has Kc
//     connected components ("little" side information, Kc ≈ 0.9N; "much", Kc ≈ 0.7N). The Kc
//     are the paper's own, read from Figure 6 (not exactly 0.9N and 0.7N); where our copy of a
//     data set has a different N (wine: 178 here, 168 in the paper) Kc is scaled by N/N_paper.
//   * D: every pair not in S (implicit: never listed).
//   * Six bars per regime: K-means and constrained K-means (S as must-link, kmeans.hpp), each
//     with the Euclidean metric, the learned diagonal A (fit_mmc_diagonal) and the learned full
//     A (fit_mmc_full), scored with the pairwise accuracy (clustering_accuracy.hpp: plain for
//     2 classes, balanced for more), K = number of classes.
//   * `trials` independent draws of S (the paper: 20; 10 for wine); mean ± standard error
//     (sample s.d. / sqrt(trials)).
// Features are used as given (the paper does not standardise: on our copies plain Euclidean
// K-means then matches its Euclidean bars, e.g. iris 0.869, soy bean 0.769, while z-scoring
// moves wine from 0.69 to 0.95); `standardize` z-scores them first.
// Everything is seeded: trial t of data set k in regime r uses seed mix(seed, k, r, t), so a
// run is reproducible and independent of which data sets are selected.
//
//   auto be = mahal::make_backend<double>(mahal::device::cpu);
//   const auto& sets = mahal::xing2002_datasets();            // the nine panels
//   auto data = mahal::read_csv<double>(dir + "/" + sets[2].file);
//   mahal::xing2002_options o;  o.trials = 20;
//   auto rows = mahal::run_xing2002_dataset(*be, sets[2], data.X, data.y, o);  // 12 rows
//   auto verdict = mahal::xing2002_judge(rows);
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/matrix.hpp"
#include "mahal/mmc.hpp"

namespace mahal {

// One panel of Figure 6.
struct xing2002_dataset {
  std::string name;             // the paper's panel title, e.g. "Iris plants"
  std::string key;              // short id, e.g. "iris"
  std::string file;             // CSV file name in the data directory (label column first)
  index_t paper_n = 0;          // N in the paper
  index_t paper_kc_little = 0;  // the paper's mean number of components, little S
  index_t paper_kc_much = 0;    // ... much S
  index_t trials = 20;          // the paper's trial count (wine: 10)
};

// The nine data sets in the paper's panel order.
const std::vector<xing2002_dataset>& xing2002_datasets();

enum class xing2002_regime { little, much };
enum class xing2002_method {
  kmeans_euclidean,
  kmeans_diag,
  kmeans_full,
  ckmeans_euclidean,
  ckmeans_diag,
  ckmeans_full,
};
inline constexpr std::array<xing2002_method, 6> xing2002_methods = {
    xing2002_method::kmeans_euclidean, xing2002_method::kmeans_diag,
    xing2002_method::kmeans_full,      xing2002_method::ckmeans_euclidean,
    xing2002_method::ckmeans_diag,     xing2002_method::ckmeans_full};
std::string to_string(xing2002_regime regime);        // "little" | "much"
std::string to_string(xing2002_method method);        // "kmeans_euclidean", ... (the JSON keys)
std::string clustering_name(xing2002_method method);  // "kmeans" | "ckmeans"
std::string metric_name(xing2002_method method);      // "euclidean" | "diag" | "full"

struct xing2002_options {
  index_t trials = 0;        // per data set and regime; 0 = the paper's (20, wine 10)
  index_t restarts = 10;     // K-means restarts (k-means++ seedings) per clustering
  std::uint64_t seed = 0;    // base seed of every draw
  bool standardize = false;  // z-score the features first (the paper does not)
  mmc_options full;          // fit_mmc_full options (default: fast mode)
  mmc_options diagonal;      // fit_mmc_diagonal options (default: fast mode, C = 1)
  // Called after every trial (may be empty): data set key, regime, trial index (0-based).
  std::function<void(const std::string&, xing2002_regime, index_t)> progress;
};

// One trial: S drawn to `target_components` components, both metrics learned, six clusterings.
struct xing2002_trial {
  std::array<double, 6> accuracy{};  // in xing2002_methods order
  index_t components = 0;            // connected components of the S-graph
  index_t similar_pairs = 0;         // |S|
  solver_status full_status = solver_status::converged;
  solver_status diagonal_status = solver_status::converged;
  double seconds = 0;
};
// X d×n, y n labels (K = number of distinct labels).
xing2002_trial run_xing2002_trial(backend<double>& be, matrix_ref<double> X, label_ref y,
                                  index_t target_components, std::uint64_t seed,
                                  const xing2002_options& options);

// One bar: the mean and standard error of a method's accuracy over the trials.
struct xing2002_row {
  std::string dataset;  // key
  xing2002_regime regime = xing2002_regime::little;
  xing2002_method method = xing2002_method::kmeans_euclidean;
  double mean = 0;
  double standard_error = 0;  // sample s.d. / sqrt(trials) (0 for one trial)
  index_t trials = 0;
  double components = 0;     // mean number of S-components over the trials
  double similar_pairs = 0;  // mean |S|
  index_t unconverged = 0;   // trials whose metric solver did not report converged
  double seconds = 0;        // total over the trials (whole trial time, shared by 6 rows)
};

// Kc for our copy of the data set: the paper's, scaled by n / paper_n when n differs, clamped to
// [classes, n].
index_t xing2002_target_components(const xing2002_dataset& set, xing2002_regime regime, index_t n,
                                   index_t classes);

// Both regimes × trials × six methods on one data set: 12 rows (regime-major, method order).
std::vector<xing2002_row> run_xing2002_dataset(backend<double>& be, const xing2002_dataset& set,
                                               matrix_ref<double> X, label_ref y,
                                               const xing2002_options& options);

// The paper's claims, checked on a table of rows (ours or the paper's): per (data set, regime)
// panel, with `mean` of each of the six methods.
struct xing2002_verdict {
  index_t panels = 0;
  index_t learned_beats_euclidean = 0;  // best learned bar > both Euclidean bars
  index_t ckmeans_full_best = 0;        // ckmeans_full is the highest of the six
  index_t ckmeans_full_near_best = 0;   // ckmeans_full within 0.01 of the highest
  // Per data set (mean over its regimes): the best bar, and the gain of the best learned bar
  // over the best Euclidean bar. Keys ordered lowest first.
  std::vector<std::string> by_best;  // hardest data set first
  std::vector<std::string> by_gain;  // the data set where learning helps least first
};
xing2002_verdict xing2002_judge(const std::vector<xing2002_row>& rows);

}  // namespace mahal

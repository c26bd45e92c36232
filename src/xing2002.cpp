// The Figure 6 protocol of Xing et al. (NIPS 2002); see include/mahal/xing2002.hpp.
#include "mahal/xing2002.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "mahal/clustering_accuracy.hpp"
#include "mahal/constraints.hpp"
#include "mahal/error.hpp"
#include "mahal/kmeans.hpp"
#include "mahal/metric.hpp"

namespace mahal {

const std::vector<xing2002_dataset>& xing2002_datasets() {
  // N and the mean Kc of every panel, read from the paper's Figure 6
  // (reference/xing2002_figure6.json).
  static const std::vector<xing2002_dataset> sets = {
      {"Boston housing", "boston_housing", "boston_housing.csv", 506, 447, 354, 20},
      {"ionosphere", "ionosphere", "ionosphere.csv", 351, 269, 187, 20},
      {"Iris plants", "iris", "iris.csv", 150, 133, 116, 20},
      {"wine", "wine", "wine.csv", 168, 153, 127, 10},
      {"balance", "balance", "balance_scale.csv", 625, 548, 400, 20},
      {"breast cancer", "breast_cancer", "breast_cancer.csv", 569, 482, 358, 20},
      {"soy bean", "soybean", "soybean_small.csv", 47, 41, 34, 20},
      {"protein", "protein", "protein.csv", 116, 92, 61, 20},
      {"diabetes", "diabetes", "diabetes_pima.csv", 768, 694, 611, 20},
  };
  return sets;
}

std::string to_string(xing2002_regime regime) {
  return regime == xing2002_regime::little ? "little" : "much";
}

std::string to_string(xing2002_method method) {
  return clustering_name(method) + "_" + metric_name(method);
}

std::string clustering_name(xing2002_method method) {
  return static_cast<int>(method) < 3 ? "kmeans" : "ckmeans";
}

std::string metric_name(xing2002_method method) {
  switch (static_cast<int>(method) % 3) {
    case 0:
      return "euclidean";
    case 1:
      return "diag";
    default:
      return "full";
  }
}

namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  // splitmix64 finaliser over h ^ v: distinct (seed, set, regime, trial) give unrelated seeds.
  std::uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t key_hash(const std::string& key) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  return h;
}

index_t count_classes(label_ref y) {
  std::set<label_t> classes(y.data(), y.data() + y.size());
  return static_cast<index_t>(classes.size());
}

}  // namespace

index_t xing2002_target_components(const xing2002_dataset& set, xing2002_regime regime, index_t n,
                                   index_t classes) {
  const index_t kc = regime == xing2002_regime::little ? set.paper_kc_little : set.paper_kc_much;
  index_t target = kc;
  if (n != set.paper_n)
    target = static_cast<index_t>(std::lround(static_cast<double>(kc) * static_cast<double>(n) /
                                              static_cast<double>(set.paper_n)));
  return std::clamp(target, classes, n);
}

xing2002_trial run_xing2002_trial(backend<double>& be, matrix_ref<double> X, label_ref y,
                                  index_t target_components, std::uint64_t seed,
                                  const xing2002_options& options) {
  const char* where = "mahal::run_xing2002_trial";
  expects(X.cols() == y.size() && X.cols() >= 2, where, X.cols(), " samples but ", y.size(),
          " labels (at least 2 needed)");
  expects(options.restarts >= 1, where, "restarts = ", options.restarts, " must be >= 1");
  const auto t0 = std::chrono::steady_clock::now();
  xing2002_trial trial;
  const pair_list S = xing_side_information(y, target_components, mix(seed, 1));
  trial.similar_pairs = static_cast<index_t>(S.size());
  trial.components = connected_components(X.cols(), S).count;
  const index_t d = X.rows();
  // Learned metrics: D = every pair not in S (implicit).
  metric<double> euclidean = metric<double>::identity(d);
  metric<double> diagonal = euclidean, full = euclidean;
  if (!S.empty()) {
    const mmc_result<double> rd = fit_mmc_diagonal<double>(be, X, S, nullptr, options.diagonal);
    const mmc_result<double> rf = fit_mmc_full<double>(be, X, S, nullptr, options.full);
    trial.diagonal_status = rd.status;
    trial.full_status = rf.status;
    diagonal = metric<double>::from_diagonal(rd.a);
    full = metric<double>::from_linear_map(rf.L, metric_form::full);
  }
  kmeans_options ko;
  ko.clusters = count_classes(y);
  ko.restarts = options.restarts;
  ko.seed = mix(seed, 2);
  const std::array<const metric<double>*, 3> metrics = {&euclidean, &diagonal, &full};
  for (int m = 0; m < 3; ++m) {
    const matrix<double> Z = metrics[m]->transform(X);
    trial.accuracy[m] = xing_accuracy(y, kmeans<double>(be, Z, ko).assignment);
    trial.accuracy[m + 3] = xing_accuracy(y, constrained_kmeans<double>(be, Z, S, ko).assignment);
  }
  trial.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return trial;
}

std::vector<xing2002_row> run_xing2002_dataset(backend<double>& be, const xing2002_dataset& set,
                                               matrix_ref<double> X_in, label_ref y,
                                               const xing2002_options& options) {
  const char* where = "mahal::run_xing2002_dataset";
  expects(X_in.cols() == y.size(), where, set.key, ": ", X_in.cols(), " samples but ", y.size(),
          " labels");
  expects(options.trials >= 0, where, "trials = ", options.trials, " must be >= 0");
  matrix<double> X = X_in;
  if (options.standardize) {
    const vector<double> mean = X.rowwise().mean();
    X.colwise() -= mean;
    for (index_t r = 0; r < X.rows(); ++r) {
      const double sd = std::sqrt(X.row(r).squaredNorm() / static_cast<double>(X.cols()));
      if (sd > 0) X.row(r) /= sd;
    }
  }
  const index_t trials = options.trials > 0 ? options.trials : set.trials;
  const index_t classes = count_classes(y);
  std::vector<xing2002_row> rows;
  for (const xing2002_regime regime : {xing2002_regime::little, xing2002_regime::much}) {
    const index_t target = xing2002_target_components(set, regime, X.cols(), classes);
    std::vector<xing2002_trial> results;
    for (index_t t = 0; t < trials; ++t) {
      const std::uint64_t seed =
          mix(mix(mix(options.seed, key_hash(set.key)), static_cast<std::uint64_t>(regime)),
              static_cast<std::uint64_t>(t));
      results.push_back(run_xing2002_trial(be, X, y, target, seed, options));
      if (options.progress) options.progress(set.key, regime, t);
    }
    for (std::size_t m = 0; m < xing2002_methods.size(); ++m) {
      xing2002_row row;
      row.dataset = set.key;
      row.regime = regime;
      row.method = xing2002_methods[m];
      row.trials = trials;
      double sum = 0, sq = 0;
      for (const auto& r : results) {
        sum += r.accuracy[m];
        row.components += static_cast<double>(r.components) / static_cast<double>(trials);
        row.similar_pairs += static_cast<double>(r.similar_pairs) / static_cast<double>(trials);
        row.seconds += r.seconds;
        const solver_status s = metric_name(row.method) == "full"   ? r.full_status
                                : metric_name(row.method) == "diag" ? r.diagonal_status
                                                                    : solver_status::converged;
        if (s != solver_status::converged) ++row.unconverged;
      }
      row.mean = sum / static_cast<double>(trials);
      for (const auto& r : results) sq += (r.accuracy[m] - row.mean) * (r.accuracy[m] - row.mean);
      row.standard_error = trials > 1 ? std::sqrt(sq / static_cast<double>(trials - 1)) /
                                            std::sqrt(static_cast<double>(trials))
                                      : 0.0;
      rows.push_back(row);
    }
  }
  return rows;
}

xing2002_verdict xing2002_judge(const std::vector<xing2002_row>& rows) {
  // panel (data set, regime) → the six means.
  std::map<std::pair<std::string, int>, std::array<double, 6>> panels;
  std::map<std::pair<std::string, int>, int> seen;
  for (const auto& r : rows) {
    const auto key = std::make_pair(r.dataset, static_cast<int>(r.regime));
    panels[key][static_cast<std::size_t>(r.method)] = r.mean;
    ++seen[key];
  }
  xing2002_verdict v;
  std::map<std::string, std::pair<double, double>> best_sum, gain_sum;  // (sum, count)
  for (const auto& [key, means] : panels) {
    if (seen[key] != 6) continue;  // incomplete panel
    ++v.panels;
    const double euclid = std::max(means[0], means[3]);
    const double learned = std::max({means[1], means[2], means[4], means[5]});
    const double best = std::max(euclid, learned);
    if (learned > euclid) ++v.learned_beats_euclidean;
    if (means[5] >= best) ++v.ckmeans_full_best;
    if (means[5] >= best - 0.01) ++v.ckmeans_full_near_best;
    best_sum[key.first].first += best;
    best_sum[key.first].second += 1;
    gain_sum[key.first].first += learned - euclid;
    gain_sum[key.first].second += 1;
  }
  auto order = [](const std::map<std::string, std::pair<double, double>>& m) {
    std::vector<std::pair<double, std::string>> list;
    for (const auto& [k, s] : m) list.emplace_back(s.first / s.second, k);
    std::sort(list.begin(), list.end());
    std::vector<std::string> keys;
    for (const auto& e : list) keys.push_back(e.second);
    return keys;
  };
  v.by_best = order(best_sum);
  v.by_gain = order(gain_sum);
  return v;
}

}  // namespace mahal

// Verification: galleries, scores, thresholds, ROC/AUC/EER/TAR@FAR and the LFW 10-fold protocol.
#include "mahal/verification.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/neighbors.hpp"

namespace mahal {
namespace {

// Distances of e to the columns of G, reduced by the score rule.
template <class T>
double reduce_distances(std::vector<double>& dist, const score_options& options) {
  switch (options.kind) {
    case score_kind::min:
      return *std::min_element(dist.begin(), dist.end());
    case score_kind::mean:
      return std::accumulate(dist.begin(), dist.end(), 0.0) / static_cast<double>(dist.size());
    case score_kind::knn: {
      const auto k = static_cast<std::size_t>(
          std::min<index_t>(std::max<index_t>(options.k, 1), static_cast<index_t>(dist.size())));
      std::partial_sort(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(k), dist.end());
      return std::accumulate(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(k), 0.0) /
             static_cast<double>(k);
    }
  }
  return 0;
}

void check_trials(const std::vector<double>& scores, const std::vector<std::uint8_t>& genuine,
                  const char* where) {
  expects(scores.size() == genuine.size(), where, scores.size(), " scores but ", genuine.size(),
          " genuine flags");
  index_t g = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    expects(std::isfinite(scores[i]), where, "score ", i, " is ", scores[i]);
    g += genuine[i] ? 1 : 0;
  }
  expects(g > 0 && g < static_cast<index_t>(scores.size()), where,
          "needs genuine and impostor trials, got ", g, " genuine of ", scores.size());
}

// Best-accuracy threshold over candidate cut points (midpoints between distinct scores, below
// the smallest and at the largest), the smallest such threshold on ties.
double best_accuracy_threshold(const std::vector<double>& scores,
                               const std::vector<std::uint8_t>& genuine) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return scores[a] < scores[b]; });
  index_t impostors = 0;
  for (auto g : genuine) impostors += g ? 0 : 1;
  // Accept nothing: correct = impostors.
  index_t correct = impostors, best = impostors;
  double best_tau = std::nextafter(scores[order[0]], -std::numeric_limits<double>::infinity());
  for (std::size_t t = 0; t < order.size();) {
    const double s = scores[order[t]];
    while (t < order.size() && scores[order[t]] == s) correct += genuine[order[t++]] ? 1 : -1;
    if (correct > best) {
      best = correct;
      best_tau = t < order.size() ? 0.5 * (s + scores[order[t]]) : s;
    }
  }
  return best_tau;
}

}  // namespace

// ---- gallery -----------------------------------------------------------------------------------
template <class T>
void gallery<T>::enrol(matrix_ref<T> E, label_ref y) {
  const char* where = "mahal::gallery::enrol";
  expects(E.cols() == y.size() && E.cols() > 0, where, "E is ", E.rows(), "x", E.cols(), " with ",
          y.size(), " labels");
  expects(dim_ == 0 || E.rows() == dim_, where, "E has ", E.rows(), " rows but the gallery ", dim_);
  check_finite<T>(E, where, "E");
  check_labels(y, E.cols(), where);
  dim_ = E.rows();
  const label_t max_label = y.maxCoeff();
  if (static_cast<index_t>(members_.size()) <= max_label)
    members_.resize(static_cast<std::size_t>(max_label) + 1, matrix<T>(dim_, 0));
  for (index_t i = 0; i < E.cols(); ++i) {
    matrix<T>& m = members_[static_cast<std::size_t>(y(i))];
    m.conservativeResize(dim_, m.cols() + 1);
    m.col(m.cols() - 1) = E.col(i);
  }
}

template <class T>
index_t gallery<T>::count(label_t c) const {
  return c >= 0 && c < classes() ? members_[static_cast<std::size_t>(c)].cols() : 0;
}

template <class T>
const matrix<T>& gallery<T>::samples(label_t c) const {
  expects(count(c) > 0, "mahal::gallery::samples", "class ", c, " has no enrolled sample");
  return members_[static_cast<std::size_t>(c)];
}

template <class T>
double gallery<T>::score(vector_ref<T> e, label_t claimed, const score_options& options) const {
  const char* where = "mahal::gallery::score";
  expects(e.size() == dim_, where, "the probe has ", e.size(), " entries but the gallery ", dim_);
  expects(count(claimed) > 0, where, "class ", claimed, " has no enrolled sample");
  const matrix<T>& G = members_[static_cast<std::size_t>(claimed)];
  std::vector<double> dist(static_cast<std::size_t>(G.cols()));
  for (index_t i = 0; i < G.cols(); ++i)
    dist[static_cast<std::size_t>(i)] = static_cast<double>((G.col(i) - e).norm());
  return reduce_distances<T>(dist, options);
}

template <class T>
std::vector<double> gallery<T>::scores(matrix_ref<T> E, label_ref claimed,
                                       const score_options& options) const {
  expects(E.cols() == claimed.size(), "mahal::gallery::scores", E.cols(), " probes but ",
          claimed.size(), " claims");
  check_finite<T>(E, "mahal::gallery::scores", "E");
  std::vector<double> out(static_cast<std::size_t>(E.cols()));
  for (index_t j = 0; j < E.cols(); ++j)
    out[static_cast<std::size_t>(j)] = score(E.col(j), claimed(j), options);
  return out;
}

template <class T>
double gallery<T>::spread(label_t c, const score_options& options) const {
  const matrix<T>& G = samples(c);
  if (G.cols() < 2) return 0;
  double total = 0;
  std::vector<double> dist;
  for (index_t i = 0; i < G.cols(); ++i) {
    dist.clear();
    for (index_t j = 0; j < G.cols(); ++j)
      if (j != i) dist.push_back(static_cast<double>((G.col(i) - G.col(j)).norm()));
    total += reduce_distances<T>(dist, options);
  }
  return total / static_cast<double>(G.cols());
}

// ---- thresholds --------------------------------------------------------------------------------
double select_threshold(const std::vector<double>& scores, const std::vector<std::uint8_t>& genuine,
                        threshold_rule rule, double target_far) {
  const char* where = "mahal::select_threshold";
  check_trials(scores, genuine, where);
  switch (rule) {
    case threshold_rule::best_accuracy:
      return best_accuracy_threshold(scores, genuine);
    case threshold_rule::eer:
      return equal_error_rate(scores, genuine).threshold;
    case threshold_rule::target_far: {
      expects(target_far >= 0 && target_far <= 1, where, "target FAR = ", target_far,
              " outside [0, 1]");
      const roc_curve roc = make_roc(scores, genuine);
      double tau = roc.thresholds[0];
      for (std::size_t i = 0; i < roc.far.size(); ++i)
        if (roc.far[i] <= target_far) tau = roc.thresholds[i];
      if (std::isinf(tau))  // even the smallest score is an impostor's: accept nothing
        tau = std::nextafter(*std::min_element(scores.begin(), scores.end()), tau);
      return tau;
    }
  }
  return 0;
}

template <class T>
std::vector<double> per_class_thresholds(const gallery<T>& g, double global_threshold,
                                         const score_options& options) {
  std::vector<double> spread(static_cast<std::size_t>(g.classes()), 0.0), positive;
  for (label_t c = 0; c < g.classes(); ++c)
    if (g.count(c) >= 2) {
      spread[static_cast<std::size_t>(c)] = g.spread(c, options);
      positive.push_back(spread[static_cast<std::size_t>(c)]);
    }
  std::vector<double> out(spread.size(), global_threshold);
  if (positive.empty()) return out;
  std::nth_element(positive.begin(),
                   positive.begin() + static_cast<std::ptrdiff_t>(positive.size() / 2),
                   positive.end());
  const double median = positive[positive.size() / 2];
  if (!(median > 0)) return out;
  for (label_t c = 0; c < g.classes(); ++c)
    if (g.count(c) >= 2)
      out[static_cast<std::size_t>(c)] =
          global_threshold * spread[static_cast<std::size_t>(c)] / median;
  return out;
}

template <class T>
void verifier<T>::use_per_class_thresholds() {
  per_class_ = per_class_thresholds(gallery_, threshold_, options_);
}

template <class T>
double verifier<T>::threshold(label_t c) const {
  if (c >= 0 && static_cast<std::size_t>(c) < per_class_.size())
    return per_class_[static_cast<std::size_t>(c)];
  return threshold_;
}

template <class T>
verify_result verifier<T>::verify(vector_ref<T> e, label_t claimed) const {
  verify_result r;
  r.score = gallery_.score(e, claimed, options_);
  r.threshold = threshold(claimed);
  r.accept = r.score <= r.threshold;
  return r;
}

// ---- evaluation --------------------------------------------------------------------------------
roc_curve make_roc(const std::vector<double>& scores, const std::vector<std::uint8_t>& genuine) {
  check_trials(scores, genuine, "mahal::make_roc");
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return scores[a] < scores[b]; });
  double n_gen = 0, n_imp = 0;
  for (auto g : genuine) (g ? n_gen : n_imp) += 1;
  roc_curve roc;
  roc.far.push_back(0);
  roc.tar.push_back(0);
  roc.thresholds.push_back(-std::numeric_limits<double>::infinity());
  double tp = 0, fp = 0;
  for (std::size_t t = 0; t < order.size();) {
    const double s = scores[order[t]];
    while (t < order.size() && scores[order[t]] == s) (genuine[order[t++]] ? tp : fp) += 1;
    roc.far.push_back(fp / n_imp);
    roc.tar.push_back(tp / n_gen);
    roc.thresholds.push_back(s);
  }
  return roc;
}

double area_under_roc(const roc_curve& roc) {
  double area = 0;
  for (std::size_t i = 1; i < roc.far.size(); ++i)
    area += (roc.far[i] - roc.far[i - 1]) * 0.5 * (roc.tar[i] + roc.tar[i - 1]);
  return area;
}

eer_result equal_error_rate(const std::vector<double>& scores,
                            const std::vector<std::uint8_t>& genuine) {
  const roc_curve roc = make_roc(scores, genuine);
  eer_result r;
  for (std::size_t i = 1; i < roc.far.size(); ++i) {
    const double d1 = roc.far[i] - (1 - roc.tar[i]);
    if (d1 < 0) continue;
    const double d0 = roc.far[i - 1] - (1 - roc.tar[i - 1]);  // < 0 (far 0, frr 1 at i = 0)
    const double t = -d0 / (d1 - d0);
    r.rate = roc.far[i - 1] + t * (roc.far[i] - roc.far[i - 1]);
    r.threshold = std::isinf(roc.thresholds[i - 1])
                      ? roc.thresholds[i]
                      : roc.thresholds[i - 1] + t * (roc.thresholds[i] - roc.thresholds[i - 1]);
    return r;
  }
  return r;  // unreachable: the last point has far = 1, frr = 0
}

double tar_at_far(const roc_curve& roc, double far) {
  expects(far >= 0 && far <= 1, "mahal::tar_at_far", "FAR = ", far, " outside [0, 1]");
  double best = 0;
  for (std::size_t i = 0; i < roc.far.size(); ++i)
    if (roc.far[i] <= far) best = std::max(best, roc.tar[i]);
  return best;
}

double verification_accuracy(const std::vector<double>& scores,
                             const std::vector<std::uint8_t>& genuine, double threshold) {
  expects(scores.size() == genuine.size() && !scores.empty(), "mahal::verification_accuracy",
          scores.size(), " scores and ", genuine.size(), " flags");
  index_t correct = 0;
  for (std::size_t i = 0; i < scores.size(); ++i)
    correct += ((scores[i] <= threshold) == (genuine[i] != 0)) ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(scores.size());
}

kfold_result kfold_accuracy(const std::vector<double>& scores,
                            const std::vector<std::uint8_t>& genuine, index_t folds) {
  const index_t n = static_cast<index_t>(scores.size());
  expects(folds >= 2 && n >= folds, "mahal::kfold_accuracy", folds, " folds for ", n, " trials");
  std::vector<index_t> fold_of(static_cast<std::size_t>(n));
  for (index_t f = 0; f < folds; ++f)
    for (index_t i = f * n / folds; i < (f + 1) * n / folds; ++i)
      fold_of[static_cast<std::size_t>(i)] = f;
  return kfold_accuracy(scores, genuine, fold_of, folds);
}

kfold_result kfold_accuracy(const std::vector<double>& scores,
                            const std::vector<std::uint8_t>& genuine,
                            const std::vector<index_t>& fold_of, index_t folds) {
  const char* where = "mahal::kfold_accuracy";
  check_trials(scores, genuine, where);
  expects(fold_of.size() == scores.size(), where, fold_of.size(), " fold numbers for ",
          scores.size(), " trials");
  expects(folds >= 2, where, folds, " folds: need at least 2");
  std::vector<index_t> size(static_cast<std::size_t>(folds), 0);
  for (index_t f : fold_of) {
    expects(f >= 0 && f < folds, where, "fold number ", f, " outside 0..", folds - 1);
    ++size[static_cast<std::size_t>(f)];
  }
  for (index_t f = 0; f < folds; ++f)
    expects(size[static_cast<std::size_t>(f)] > 0, where, "fold ", f, " has no trial");
  kfold_result r;
  for (index_t f = 0; f < folds; ++f) {
    std::vector<double> tr_s, te_s;
    std::vector<std::uint8_t> tr_g, te_g;
    for (std::size_t i = 0; i < scores.size(); ++i) {
      const bool test = fold_of[i] == f;
      (test ? te_s : tr_s).push_back(scores[i]);
      (test ? te_g : tr_g).push_back(genuine[i]);
    }
    index_t g = 0;
    for (auto v : tr_g) g += v ? 1 : 0;
    expects(g > 0 && g < static_cast<index_t>(tr_g.size()), where, "fold ", f,
            ": the other folds lack genuine or impostor trials");
    const double tau = best_accuracy_threshold(tr_s, tr_g);
    r.thresholds.push_back(tau);
    r.accuracies.push_back(verification_accuracy(te_s, te_g, tau));
  }
  r.mean =
      std::accumulate(r.accuracies.begin(), r.accuracies.end(), 0.0) / static_cast<double>(folds);
  double ss = 0;
  for (double a : r.accuracies) ss += (a - r.mean) * (a - r.mean);
  r.std = std::sqrt(ss / static_cast<double>(folds - 1));
  return r;
}

template class gallery<float>;
template class gallery<double>;
template class verifier<float>;
template class verifier<double>;
template std::vector<double> per_class_thresholds<float>(const gallery<float>&, double,
                                                         const score_options&);
template std::vector<double> per_class_thresholds<double>(const gallery<double>&, double,
                                                          const score_options&);

}  // namespace mahal

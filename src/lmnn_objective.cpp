#include "lmnn_objective.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/neighbors.hpp"
#include "parallel_work.hpp"
#include "reusable_buffer.hpp"

namespace mahal::detail {

template <class T>
lmnn_problem<T>::lmnn_problem(backend<T>& be, matrix_ref<T> X, label_ref y,
                              const lmnn_options& options, const char* where)
    : be_(be), options_(options), n_(X.cols()), d_(X.rows()), k_(options.k) {
  expects(d_ >= 1 && n_ >= 2, where, "X is ", d_, "x", n_,
          ": need at least one feature and two points");
  check_finite<T>(X, where, "X");
  const label_t classes = check_labels(y, n_, where);
  expects(k_ >= 1, where, "k = ", k_, " must be at least 1");
  expects(k_ < n_, where, "k = ", k_, " but there are only ", n_, " points");
  expects(options.mu >= 0 && options.mu <= 1, where, "mu = ", options.mu, " is outside [0, 1]");
  expects(options.impostors_per_point >= 0, where,
          "impostors_per_point = ", options.impostors_per_point, " is negative");
  expects(options.band >= 0 && std::isfinite(options.band), where, "band = ", options.band,
          " must be finite and >= 0");
  std::vector<index_t> count(static_cast<std::size_t>(classes), 0);
  for (index_t t = 0; t < n_; ++t) ++count[y(t)];
  for (label_t c = 0; c < classes; ++c)
    expects(count[c] == 0 || count[c] > k_, where, "class ", c, " has ", count[c],
            " points but k = ", k_, " target neighbours need at least ", k_ + 1);
  // Positions class by class, members in their original order (a counting sort).
  class_start_.assign(static_cast<std::size_t>(classes + 1), 0);
  for (label_t c = 0; c < classes; ++c) class_start_[c + 1] = class_start_[c] + count[c];
  order_.resize(static_cast<std::size_t>(n_));
  std::vector<index_t> next(class_start_.begin(), class_start_.end() - 1);
  for (index_t i = 0; i < n_; ++i) order_[next[y(i)]++] = static_cast<label_t>(i);
  matrix<T> sorted(d_, n_);
  label_vector sorted_y(n_);
  for (index_t p = 0; p < n_; ++p) {
    sorted.col(p) = X.col(order_[p]);
    sorted_y(p) = y(order_[p]);
  }
  X_ = to_device<T>(be, sorted);
  labels_ = labels_to_device<T>(be, sorted_y);
  targets_ = same_class_knn(X_, k_);
  std::vector<label_t> tp(static_cast<std::size_t>(2 * k_ * n_));
  for (index_t i = 0; i < n_; ++i)
    for (index_t a = 0; a < k_; ++a) {
      tp[2 * (i * k_ + a)] = static_cast<label_t>(i);
      tp[2 * (i * k_ + a) + 1] = targets_[i * k_ + a];
    }
  target_pairs_ = be.alloc_labels(2, k_ * n_);
  be.upload_labels(tp.data(), target_pairs_);
  target_dist_ = be.alloc(k_ * n_, 1);
  // Radii for the staleness bound.
  const vector<double> c = X.template cast<double>().rowwise().mean();
  radius_.resize(static_cast<std::size_t>(n_));
  for (index_t p = 0; p < n_; ++p) radius_[p] = (sorted.col(p).template cast<double>() - c).norm();
  max_radius_ = *std::max_element(radius_.begin(), radius_.end());
  cand_start_.assign(static_cast<std::size_t>(n_ + 1), 0);
  threshold_.assign(static_cast<std::size_t>(n_), 0.0);
  kth_.assign(static_cast<std::size_t>(n_), std::numeric_limits<double>::infinity());
  anchors_.resize(static_cast<std::size_t>(n_));
  std::iota(anchors_.begin(), anchors_.end(), 0);
  upload_pairs();
}

template <class T>
std::vector<label_t> lmnn_problem<T>::same_class_knn(const device_array<T>& Z, index_t k) {
  std::vector<label_t> out(static_cast<std::size_t>(k * n_));
  std::vector<label_t> local;
  for (std::size_t c = 0; c + 1 < class_start_.size(); ++c) {
    const index_t first = class_start_[c], size = class_start_[c + 1] - first;
    if (size == 0) continue;
    const device_array<T> Zc = Z.col_range(first, size);
    engine::knn_request request;
    request.k = k;
    request.exclude_self = true;
    request.blocks = options_.blocks;
    const topk_state<T> state = engine::knn(be_, Zc, Zc, request);
    local.resize(static_cast<std::size_t>(k * size));
    be_.download_labels(state.indices, local.data());
    for (index_t t = 0; t < k * size; ++t)
      out[first * k + t] = static_cast<label_t>(first + local[t]);
  }
  return out;
}

template <class T>
std::vector<T> lmnn_problem<T>::target_distances(const device_array<T>& Z) {
  be_.pair_sqdist(Z, Z, target_pairs_, target_dist_);
  std::vector<T> out(static_cast<std::size_t>(k_ * n_));
  be_.download(target_dist_, out.data());
  return out;
}

template <class T>
void lmnn_problem<T>::full_search(const device_array<T>& Z, double band) {
  const stopwatch clock;
  const std::vector<T> td = target_distances(Z);
  device_array<T> zn = be_.alloc(n_, 1);
  be_.col_dots(Z, Z, zn);
  std::vector<T> norms(static_cast<std::size_t>(n_));
  be_.download(zn, norms.data());
  // The sweeps compute d² as |z_i|² + |z_l|² − 2·z_i·z_l, which errs by up to about
  // (r + 2)·ε·(|z_i|² + |z_l|²), while the objective takes direct differences: the radii get
  // that much slack (4× over), so that even with band = 0 no pair that the objective would
  // find active is left out.
  const double slack = 4.0 * static_cast<double>(Z.rows() + 2) * std::numeric_limits<T>::epsilon();
  const double largest = static_cast<double>(*std::max_element(norms.begin(), norms.end()));
  std::vector<T> theta(static_cast<std::size_t>(n_));
  for (index_t i = 0; i < n_; ++i) {
    T m = 0;
    for (index_t a = 0; a < k_; ++a) m = std::max(m, td[i * k_ + a]);
    theta[i] = static_cast<T>((static_cast<double>(m) + 1) * (1 + band) +
                              slack * (static_cast<double>(norms[i]) + largest));
    threshold_[i] = std::sqrt(static_cast<double>(theta[i]));
  }
  if (options_.impostors_per_point > 0) {
    nearest_impostors(Z, theta);
    upload_pairs();
    search_seconds_ += clock.seconds();
    return;
  }
  const engine::block_sizes b = engine::resolve(options_.blocks, be_.where(), n_, n_);
  device_array<T> radius2 = be_.alloc(n_, 1);
  be_.upload(theta.data(), radius2);
  std::vector<index_pair> pairs;
  be_.impostor_sweep(Z, zn, radius2, labels_, b.queries, b.refs, pairs);
  // CSR by anchor, each anchor's impostors ascending (independent of the thread count).
  std::fill(cand_start_.begin(), cand_start_.end(), 0);
  for (const index_pair& p : pairs) ++cand_start_[p.i + 1];
  std::partial_sum(cand_start_.begin(), cand_start_.end(), cand_start_.begin());
  cand_other_.resize(static_cast<std::size_t>(cand_start_[n_]));
  std::vector<index_t> at(cand_start_.begin(), cand_start_.end() - 1);
  for (const index_pair& p : pairs) cand_other_[at[p.i]++] = p.j;
#pragma omp parallel for schedule(dynamic, 256) if (cand_start_[n_] >= kParallelWork)
  for (index_t i = 0; i < n_; ++i)
    std::sort(cand_other_.begin() + cand_start_[i], cand_other_.begin() + cand_start_[i + 1]);
  upload_pairs();
  search_seconds_ += clock.seconds();
}

template <class T>
void lmnn_problem<T>::nearest_impostors(const device_array<T>& Z, const std::vector<T>& theta) {
  const index_t K = options_.impostors_per_point;
  const index_t cap = std::min<index_t>(8 * K, n_ - 1);
  // The cap nearest differently labelled points inside each ball: the search starts its lists at
  // the ball's radius, so that it never keeps, and soon stops testing, the points beyond.
  engine::knn_request request;
  request.k = cap;
  request.exclude_self = true;
  request.filter = label_filter::different;
  request.query_labels = &labels_;
  request.ref_labels = &labels_;
  request.blocks = options_.blocks;
  device_array<T> radius2 = be_.alloc(n_, 1);
  be_.upload(theta.data(), radius2);
  const topk_state<T> state = engine::knn_within(be_, Z, Z, request, radius2);
  std::vector<label_t> idx(static_cast<std::size_t>(cap * n_));
  std::vector<T> dd(static_cast<std::size_t>(cap * n_));
  be_.download_labels(state.indices, idx.data());
  be_.download(state.sqdist, dd.data());
  // Per anchor (a column of the sorted top-cap): the prefix inside the ball. When all `cap`
  // slots are inside it, the ball was cut: outsiders are at least the last slot's distance away.
  cand_start_[0] = 0;
  for (index_t i = 0; i < n_; ++i) {
    index_t kept = 0;
    while (kept < cap && idx[i * cap + kept] >= 0 && dd[i * cap + kept] < theta[i]) ++kept;
    cand_start_[i + 1] = cand_start_[i] + kept;
    const bool cut = kept == cap;
    const auto distance = [&](index_t slot) {
      return std::sqrt(std::max(0.0, static_cast<double>(dd[i * cap + slot])));
    };
    if (cut) threshold_[i] = std::min(threshold_[i], distance(cap - 1));
    kth_[i] = cut && K <= cap ? distance(K - 1) : std::numeric_limits<double>::infinity();
  }
  cand_other_.resize(static_cast<std::size_t>(cand_start_[n_]));
  for (index_t i = 0; i < n_; ++i) {
    const auto first = cand_other_.begin() + cand_start_[i];
    std::copy_n(idx.begin() + i * cap, cand_start_[i + 1] - cand_start_[i], first);
    std::sort(first, cand_other_.begin() + cand_start_[i + 1]);  // by index, as the ball's lists
  }
}

template <class T>
void lmnn_problem<T>::set_batch(const std::vector<label_t>& batch) {
  for (const label_t p : batch_points_) local_[static_cast<std::size_t>(p)] = -1;
  batch_points_.clear();
  if (batch.empty()) {
    anchors_.resize(static_cast<std::size_t>(n_));
    std::iota(anchors_.begin(), anchors_.end(), 0);
  } else {
    anchors_ = batch;
    // The points the batch's pairs touch, numbered in ascending order of position.
    local_.resize(static_cast<std::size_t>(n_), -1);
    const auto touch = [&](label_t p) {
      if (local_[static_cast<std::size_t>(p)] < 0) {
        local_[static_cast<std::size_t>(p)] = 0;
        batch_points_.push_back(p);
      }
    };
    for (const label_t i : anchors_) {
      touch(i);
      for (index_t a = 0; a < k_; ++a) touch(targets_[i * k_ + a]);
      for (index_t c = cand_start_[i]; c < cand_start_[i + 1]; ++c) touch(cand_other_[c]);
    }
    if (2 * static_cast<index_t>(batch_points_.size()) > n_) {
      // Most points are touched: gathering them costs more than transforming them all.
      for (const label_t p : batch_points_) local_[static_cast<std::size_t>(p)] = -1;
      batch_points_.clear();
    } else {
      std::sort(batch_points_.begin(), batch_points_.end());
      for (std::size_t t = 0; t < batch_points_.size(); ++t)
        local_[static_cast<std::size_t>(batch_points_[t])] = static_cast<label_t>(t);
      const index_t nb = static_cast<index_t>(batch_points_.size());
      device_array<label_t> index = buffers::reuse_labels(be_, store_.batch_index, 1, nb);
      be_.upload_labels(batch_points_.data(), index);
      batch_X_ = buffers::reuse(be_, store_.batch_X, d_, nb);
      be_.gather_cols(X_, index, batch_X_);
    }
  }
  upload_pairs();
}

template <class T>
void lmnn_problem<T>::upload_pairs() {
  const index_t na = static_cast<index_t>(anchors_.size());
  std::vector<label_t> offsets(static_cast<std::size_t>(na + 1), 0);
  index_t candidates = 0;
  for (index_t p = 0; p < na; ++p) {
    const label_t i = anchors_[p];
    candidates += cand_start_[i + 1] - cand_start_[i];
    expects(candidates <= std::numeric_limits<label_t>::max(), "mahal::fit_lmnn", "more than ",
            std::numeric_limits<label_t>::max(),
            " impostor candidates; set impostors_per_point (--impostors K) to keep the K "
            "nearest per point");
    offsets[p + 1] = static_cast<label_t>(candidates);
  }
  const index_t m = na * k_ + candidates;
  std::vector<label_t> pairs(static_cast<std::size_t>(2 * m));
  // Columns of points(): positions, or a batch's local numbers.
  const bool batched = !batch_points_.empty();
  const auto column = [&](label_t p) { return batched ? local_[static_cast<std::size_t>(p)] : p; };
#pragma omp parallel for schedule(dynamic, 256) if (m >= kParallelWork)
  for (index_t p = 0; p < na; ++p) {
    const label_t i = anchors_[p];
    for (index_t a = 0; a < k_; ++a) {
      pairs[2 * (p * k_ + a)] = column(i);
      pairs[2 * (p * k_ + a) + 1] = column(targets_[i * k_ + a]);
    }
    index_t e = na * k_ + offsets[p];
    for (index_t c = cand_start_[i]; c < cand_start_[i + 1]; ++c, ++e) {
      pairs[2 * e] = column(i);
      pairs[2 * e + 1] = column(cand_other_[c]);
    }
  }
  pairs_ = buffers::reuse_labels(be_, store_.pairs, 2, m);
  be_.upload_labels(pairs.data(), pairs_);
  offsets_ = buffers::reuse_labels(be_, store_.offsets, na + 1, 1);
  be_.upload_labels(offsets.data(), offsets_);
  dist_ = buffers::reuse(be_, store_.dist, m, 1);
  weights_ = buffers::reuse(be_, store_.weights, m, 1);
  scale_ = static_cast<double>(n_) / static_cast<double>(std::max<index_t>(na, 1));
  gram_updates_ = -1;
}

template <class T>
lmnn_terms lmnn_problem<T>::evaluate(const device_array<T>& Z, bool want_weights) {
  const stopwatch clock;
  be_.pair_sqdist(Z, Z, pairs_, dist_);
  hinge_options hinge;
  hinge.k = k_;
  hinge.nearest = options_.impostors_per_point;
  hinge.mu = options_.mu;
  hinge.scale = scale_;
  hinge.squared = options_.squared_hinge;
  const hinge_sums h = be_.lmnn_hinge(dist_, offsets_, hinge, want_weights ? &weights_ : nullptr);
  lmnn_terms sums;
  sums.pull = h.pull * scale_;
  sums.push = h.push * scale_;
  sums.active_triplets = h.active_triplets;
  sums.active_pairs = h.active_pairs;
  sums.objective = (1 - options_.mu) * sums.pull + options_.mu * sums.push;
  evaluation_seconds_ += clock.seconds();
  return sums;
}

template <class T>
bool lmnn_problem<T>::gram_pays_off(index_t r) const {
  return static_cast<index_t>(anchors_.size()) == n_ && !options_.squared_hinge && 2 * r >= d_ &&
         d_ <= n_;
}

template <class T>
void lmnn_problem<T>::update_gram() {
  constexpr index_t kGramRefresh = 32;  // bounds the rounding that the updates accumulate
  const index_t m = weights_.size();
  if (gram_updates_ < 0 || gram_updates_ >= kGramRefresh) {
    if (gram_.rows() != d_) gram_ = be_.alloc(d_, d_);
    be_.pair_scatter(X_, X_, pairs_, weights_, T(1), T(0), gram_);
    gram_updates_ = 0;
  } else {
    // pair_scatter skips the pairs of weight 0: the unchanged ones cost one subtraction.
    be_.copy(weights_, weight_change_);
    be_.axpy(T(-1), prior_weights_, weight_change_);
    be_.pair_scatter(X_, X_, pairs_, weight_change_, T(1), T(1), gram_);
    ++gram_updates_;
  }
  if (prior_weights_.size() != m) {
    prior_weights_ = be_.alloc(m, 1);
    weight_change_ = be_.alloc(m, 1);
  }
  be_.copy(weights_, prior_weights_);
}

template <class T>
void lmnn_problem<T>::gradient_L(const device_array<T>& Z, const device_array<T>& L,
                                 device_array<T>& grad) {
  const stopwatch clock;
  if (gram_pays_off(Z.rows())) {
    update_gram();
    be_.gemm(false, false, T(2), L, gram_, T(0), grad);
  } else {
    be_.pair_scatter(Z, points(), pairs_, weights_, T(2), T(0), grad);
  }
  evaluation_seconds_ += clock.seconds();
}

template <class T>
void lmnn_problem<T>::gradient_M(device_array<T>& G) {
  if (gram_pays_off(d_)) {
    update_gram();
    be_.copy(gram_, G);
  } else {
    be_.pair_scatter(points(), points(), pairs_, weights_, T(1), T(0), G);
  }
}

template <class T>
bool lmnn_problem<T>::is_stale(const device_array<T>& Z, double delta_norm, double relative) {
  const std::vector<T> td = target_distances(Z);
  for (index_t i = 0; i < n_; ++i) {
    double m = 0;
    for (index_t a = 0; a < k_; ++a) m = std::max(m, static_cast<double>(td[i * k_ + a]));
    const double shift = delta_norm * (radius_[i] + max_radius_);
    double lower = threshold_[i] - shift;
    if (relative >= 0) lower = std::max(lower, (1 - relative) * threshold_[i]);
    if (lower <= 0) return true;
    if (lower * lower >= m + 1) continue;  // outsiders stay outside the margin ball
    if (!std::isfinite(kth_[i])) return true;
    // Capped: outsiders matter only if they can come nearer than the K-th candidate.
    double upper = kth_[i] + shift;
    if (relative >= 0) upper = std::min(upper, (1 + relative) * kth_[i]);
    if (lower <= upper) return true;
  }
  return false;
}

template class lmnn_problem<float>;
template class lmnn_problem<double>;

}  // namespace mahal::detail

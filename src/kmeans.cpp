#include "mahal/kmeans.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "mahal/constraints.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/distances.hpp"
#include "mahal/engine.hpp"
#include "mahal/error.hpp"
#include "vector_clones.hpp"

namespace mahal {
namespace {

// The units Lloyd's iterations move around: single points, or must-link components.
struct unit_set {
  vector<double> origin;  // k: the grand mean of the points; means are stored relative to it
  matrix<double> mean;    // k×m: mean of each unit's points, minus origin
  matrix<double> by_dim;  // m×k: the same, coordinate by coordinate (the seeding's vector loops)
  vector<double> weight;  // m: number of points in each unit
  label_vector unit_of;   // n: the unit of each point
  double scatter = 0;     // Σ_u Σ_{i∈u} ||z_i − m_u||², the part of J no assignment changes
  double variance = 0;    // mean over coordinates of the per-coordinate variance of the points
  double between = 0;  // Σ_u w_u ||m_u||² (centred): J = scatter + between − Σ_k ||S_k||²/W_k
};

template <class T>
void check_common(matrix_ref<T> Z, const kmeans_options& o, const char* where) {
  expects(Z.rows() > 0 && Z.cols() > 0, where, "Z is ", Z.rows(), "x", Z.cols(),
          ": need at least one coordinate and one point");
  expects(o.clusters >= 1, where, "clusters = ", o.clusters, " but at least 1 is needed");
  expects(o.clusters <= Z.cols(), where, "clusters = ", o.clusters, " but there are only ",
          Z.cols(), " points");
  expects(o.restarts >= 1, where, "restarts = ", o.restarts, " but at least 1 is needed");
  expects(o.max_iter >= 1, where, "max_iter = ", o.max_iter, " but at least 1 is needed");
  expects(o.tol >= 0 && o.tol == o.tol, where, "tol = ", o.tol, " must be >= 0");
  expects(o.seeding_trials >= 0, where, "seeding_trials = ", o.seeding_trials,
          " must be >= 0 (0: 2 + ln K)");
  check_finite<T>(Z, where, "Z");
}

template <class T>
unit_set make_units(matrix_ref<T> Z, const label_vector& unit_of, index_t m) {
  const index_t k = Z.rows(), n = Z.cols();
  const matrix<double> Zd = Z.template cast<double>();
  unit_set u;
  u.unit_of = unit_of;
  u.origin = Zd.rowwise().mean();
  u.mean = matrix<double>::Zero(k, m);
  u.weight = vector<double>::Zero(m);
  for (index_t i = 0; i < n; ++i) {
    u.mean.col(unit_of(i)) += Zd.col(i) - u.origin;
    u.weight(unit_of(i)) += 1;
  }
  for (index_t j = 0; j < m; ++j) u.mean.col(j) /= u.weight(j);
  double total = 0;
  for (index_t i = 0; i < n; ++i) {
    const vector<double> centred = Zd.col(i) - u.origin;
    u.scatter += (centred - u.mean.col(unit_of(i))).squaredNorm();
    total += centred.squaredNorm();
  }
  for (index_t j = 0; j < m; ++j) u.between += u.weight(j) * u.mean.col(j).squaredNorm();
  u.variance = total / static_cast<double>(n) / static_cast<double>(k);
  u.by_dim = u.mean.transpose();
  return u;
}

// ||m_j − μ_c||² over raw columns (k is small; this runs O(m·K) times per iteration).
double sqdist_to(const unit_set& u, index_t j, const matrix<double>& centres, index_t c) {
  const index_t k = u.mean.rows();
  const double* mj = u.mean.data() + j * k;
  const double* cc = centres.data() + c * k;
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (index_t r = 0; r < k; ++r) s += (mj[r] - cc[r]) * (mj[r] - cc[r]);
  return s;
}

// Draws indices with probability ∝ weight (weights >= 0, some positive): prefix sums once,
// then a binary search per draw, as the greedy seeding draws several per centre.
class weighted_draw {
 public:
  explicit weighted_draw(const std::vector<double>& weight) : cumulative_(weight.size()) {
    double sum = 0;
    for (std::size_t j = 0; j < weight.size(); ++j) cumulative_[j] = sum += weight[j];
  }
  double total() const { return cumulative_.empty() ? 0.0 : cumulative_.back(); }
  index_t operator()(detail::rng& g) const {
    const double r = g.uniform() * total();
    // The first index whose prefix passes r: never a zero weight, whose prefix equals the last.
    auto at = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
    if (at == cumulative_.end())  // r landed on the rounding error at the top end
      at = std::lower_bound(cumulative_.begin(), cumulative_.end(), total());
    return static_cast<index_t>(at - cumulative_.begin());
  }

 private:
  std::vector<double> cumulative_;
};

// out(j, t) = ||m_j − x_t||² for every unit j and each of `count` points x_t (points k × count,
// out m × count, column-major), from the units stored dimension by dimension (m × k, column r
// holding coordinate r of every unit), so that the loops run over units in vectors. A few
// hundred units at a time stay in cache while every point is measured: the units stream from
// memory once however many points there are.
MAHAL_VECTOR_CLONES void sqdists_to(const matrix<double>& by_dim, const double* points,
                                    index_t count, double* out) {
  constexpr index_t span = 512;
  const index_t m = by_dim.rows(), k = by_dim.cols();
  for (index_t j0 = 0; j0 < m; j0 += span) {
    const index_t j1 = std::min(m, j0 + span);
    for (index_t t = 0; t < count; ++t) std::fill(out + t * m + j0, out + t * m + j1, 0.0);
    for (index_t r = 0; r < k; ++r) {
      const double* coordinate = by_dim.data() + r * m;
      for (index_t t = 0; t < count; ++t) {
        double* o = out + t * m;
        const double xr = points[t * k + r];
#pragma omp simd
        for (index_t j = j0; j < j1; ++j) o[j] += (coordinate[j] - xr) * (coordinate[j] - xr);
      }
    }
  }
}

// Candidates per k-means++ centre: as given, or scikit-learn's 2 + ⌊ln K⌋.
index_t seeding_trials(const kmeans_options& o) {
  if (o.seeding_trials > 0) return o.seeding_trials;
  return 2 + static_cast<index_t>(std::log(static_cast<double>(o.clusters)));
}

// k-means++ over units, centres are unit means (k×K). With trials > 1, greedy k-means++
// (scikit-learn's default): each centre after the first is the best of `trials` candidates
// drawn ∝ w_u·D², the one leaving the lowest potential Σ_u w_u·min(D_u², ||m_u − candidate||²).
matrix<double> seed_plus_plus(const unit_set& u, index_t K, index_t trials, detail::rng& g) {
  const index_t m = u.mean.cols();
  matrix<double> centres(u.mean.rows(), K);
  std::vector<double> nearest(static_cast<std::size_t>(m), std::numeric_limits<double>::infinity());
  std::vector<char> chosen(static_cast<std::size_t>(m), 0);
  std::vector<double> p(static_cast<std::size_t>(m));
  matrix<double> candidates(u.mean.rows(), trials), trial_d(m, trials);
  std::vector<index_t> drawn(static_cast<std::size_t>(trials));
  const double* w = u.weight.data();
  for (index_t c = 0; c < K; ++c) {
    for (index_t j = 0; j < m; ++j) p[j] = c == 0 ? w[j] : w[j] * nearest[j];
    weighted_draw draw(p);
    const bool spread = draw.total() > 0;
    if (!spread) {  // every unit sits on a centre: draw among the units not chosen yet
      for (index_t j = 0; j < m; ++j) p[j] = chosen[j] ? 0.0 : w[j];
      draw = weighted_draw(p);
    }
    const index_t draws = c > 0 && spread ? trials : 1;
    for (index_t t = 0; t < draws; ++t) {
      drawn[t] = draw(g);
      candidates.col(t) = u.mean.col(drawn[t]);
    }
    sqdists_to(u.by_dim, candidates.data(), draws, trial_d.data());
    // The candidate leaving the lowest potential (the first of equals).
    index_t best = 0;
    double best_potential = 0;
    for (index_t t = 0; t < draws; ++t) {
      double* dt = trial_d.col(t).data();
      double potential = 0;
#pragma omp simd reduction(+ : potential)
      for (index_t j = 0; j < m; ++j) {
        dt[j] = std::min(nearest[j], dt[j]);
        potential += w[j] * dt[j];
      }
      if (t == 0 || potential < best_potential) {
        best = t;
        best_potential = potential;
      }
    }
    chosen[drawn[best]] = 1;
    centres.col(c) = u.mean.col(drawn[best]);
    std::copy_n(trial_d.col(best).data(), m, nearest.begin());
  }
  return centres;
}

// The two nearest centres of unit means on the backend: one k = 2 top-k sweep (distance blocks
// consumed while they are in cache) over every unit, or over a subset gathered on the device.
template <class T>
class nearest_two {
 public:
  nearest_two(backend<T>& be, const unit_set& u, index_t K)
      : be_(be),
        m_(u.mean.cols()),
        means_(to_device<T>(be, matrix<T>(u.mean.cast<T>()))),
        mean_norms_(be.alloc(m_, 1)),
        centres_(be.alloc(u.mean.rows(), K)),
        centre_norms_(be.alloc(K, 1)),
        subset_(be.alloc(u.mean.rows(), m_)),
        subset_norms_(be.alloc(m_, 1)),
        subset_index_(be.alloc_labels(1, m_)),
        indices_(be.alloc_labels(2, m_)),
        sqdist_(be.alloc(2, m_)),
        blocks_(engine::resolve({}, be.where(), m_, K)),
        empty_(static_cast<std::size_t>(2 * m_), -1),
        host_centres_(u.mean.rows(), K),
        host_indices_(static_cast<std::size_t>(2 * m_)),
        host_sqdist_(static_cast<std::size_t>(2 * m_)) {
    be_.col_dots(means_, means_, mean_norms_);
  }

  void set_centres(const matrix<double>& centres) {
    host_centres_ = centres.cast<T>();
    be_.upload(host_centres_.data(), centres_);
    be_.col_dots(centres_, centres_, centre_norms_);
  }

  // Units `which` (every unit when null): the nearest centre and the squared distances to the
  // nearest and the second nearest (+inf when K = 1), ties to the smaller index.
  void search(const std::vector<label_t>* which, label_vector& nearest, std::vector<double>& d1,
              std::vector<double>& d2) {
    const index_t r = which ? static_cast<index_t>(which->size()) : m_;
    if (r == 0) return;
    device_array<T> points = means_, norms = mean_norms_;
    if (which) {
      device_array<label_t> index = subset_index_.col_range(0, r);
      be_.upload_labels(which->data(), index);
      points = subset_.col_range(0, r);
      norms = subset_norms_.segment(0, r);
      be_.gather_cols(means_, index, points);
      device_array<T> norms_row = norms.reshaped(1, r);
      be_.gather_cols(mean_norms_.reshaped(1, m_), index, norms_row);
    }
    topk_state<T> state{indices_.col_range(0, r), sqdist_.col_range(0, r)};
    be_.fill(state.sqdist, std::numeric_limits<T>::infinity());
    be_.upload_labels(empty_.data(), state.indices);
    be_.topk_sweep(points, centres_, norms, centre_norms_, blocks_.queries, blocks_.refs,
                   topk_block{}, state);
    be_.download_labels(state.indices, host_indices_.data());
    be_.download(state.sqdist, host_sqdist_.data());
    for (index_t t = 0; t < r; ++t) {
      const index_t j = which ? (*which)[static_cast<std::size_t>(t)] : t;
      nearest(j) = host_indices_[static_cast<std::size_t>(2 * t)];
      d1[static_cast<std::size_t>(j)] = static_cast<double>(host_sqdist_[2 * t]);
      d2[static_cast<std::size_t>(j)] = static_cast<double>(host_sqdist_[2 * t + 1]);
    }
  }

 private:
  backend<T>& be_;
  index_t m_;
  device_array<T> means_, mean_norms_, centres_, centre_norms_, subset_, subset_norms_;
  device_array<label_t> subset_index_, indices_;
  device_array<T> sqdist_;
  engine::block_sizes blocks_;  // the search's blocks (on the CPU: tiles that stay in cache)
  std::vector<label_t> empty_;
  matrix<T> host_centres_;
  std::vector<label_t> host_indices_;
  std::vector<T> host_sqdist_;
};

// Lloyd's assignment step with Hamerly's bounds (G. Hamerly, "Making k-means even faster", SDM
// 2010): each unit keeps an upper bound u on its distance to its centre and a lower bound l on
// its distance to every other centre. When the centres move by s_k, u grows by s_{a} and l
// shrinks by the largest move of another centre; a unit with u < l cannot change centre and is
// not searched. The bounds hold for the exact distances between the points and centres the
// backend sees (cast to T), widened by a bound on the backend's rounding (δ below), and a unit
// is skipped only when u + 2δ < l: its computed nearest centre is then the one it has, so the
// assignment is the one a full search would return. With `bounds` off every step is a full
// search (the reference the tests compare with).
template <class T>
class assigner {
 public:
  assigner(backend<T>& be, const unit_set& u, index_t K, bool bounds)
      : search_(be, u, K),
        bounds_(bounds),
        m_(u.mean.cols()),
        nearest_(m_),
        d1_(static_cast<std::size_t>(m_)),
        d2_(static_cast<std::size_t>(m_)),
        upper_(static_cast<std::size_t>(m_)),
        lower_(static_cast<std::size_t>(m_)),
        mean_norm_(static_cast<std::size_t>(m_)),
        // |computed − exact distance| <= sqrt(|error of the squared distance|), and that error
        // is at most about (k + 3)·ε·(||m|| + ||μ||)² for the norm expansion; 4× margin.
        slack_(4 * std::sqrt((static_cast<double>(u.mean.rows()) + 8) *
                             std::numeric_limits<T>::epsilon())) {
    for (index_t j = 0; j < m_; ++j) mean_norm_[static_cast<std::size_t>(j)] = u.mean.col(j).norm();
  }

  // A new restart: the next call searches every unit.
  void restart() { fresh_ = true; }
  index_t searched() const { return searched_; }  // units searched so far (all restarts)

  const label_vector& operator()(const matrix<double>& centres) {
    const matrix<double> seen = centres.cast<T>().template cast<double>();
    search_.set_centres(centres);
    double reach = 0;  // max_k ||μ_k||
    for (index_t c = 0; c < seen.cols(); ++c) reach = std::max(reach, seen.col(c).norm());
    if (fresh_ || !bounds_) {
      search_.search(nullptr, nearest_, d1_, d2_);
      searched_ += m_;
      for (index_t j = 0; j < m_; ++j) tighten(j, reach);
    } else {
      // How far each centre moved; the largest and second largest moves.
      std::vector<double> move(static_cast<std::size_t>(seen.cols()));
      index_t top = 0;
      for (index_t c = 0; c < seen.cols(); ++c) {
        move[static_cast<std::size_t>(c)] = (seen.col(c) - previous_.col(c)).norm();
        if (move[static_cast<std::size_t>(c)] > move[static_cast<std::size_t>(top)]) top = c;
      }
      double second = 0;
      for (index_t c = 0; c < seen.cols(); ++c)
        if (c != top) second = std::max(second, move[static_cast<std::size_t>(c)]);
      // Branch-free, through local pointers: stores to the bounds cannot then alias the members,
      // and a stale unit is appended by advancing the count (about a quarter are stale, in no
      // predictable order).
      stale_.resize(static_cast<std::size_t>(m_));
      const label_t* nearest = nearest_.data();
      const double *moved = move.data(), *norm = mean_norm_.data();
      double *upper = upper_.data(), *lower = lower_.data();
      label_t* stale = stale_.data();
      const double top_move = move[static_cast<std::size_t>(top)], slack = slack_;
      index_t count = 0;
      for (index_t j = 0; j < m_; ++j) {
        const label_t a = nearest[j];
        upper[j] += moved[a];
        lower[j] -= a == top ? second : top_move;
        stale[count] = static_cast<label_t>(j);
        count += !(upper[j] + 2 * rounding_slack(slack, norm[j], reach) < lower[j]);
      }
      stale_.resize(static_cast<std::size_t>(count));
      // When most units are stale, gathering them costs more than searching them all.
      const bool all = 2 * static_cast<index_t>(stale_.size()) > m_;
      search_.search(all ? nullptr : &stale_, nearest_, d1_, d2_);
      searched_ += all ? m_ : static_cast<index_t>(stale_.size());
      if (all)
        for (index_t j = 0; j < m_; ++j) tighten(j, reach);
      else
        for (const label_t j : stale_) tighten(j, reach);
    }
    previous_ = seen;
    fresh_ = false;
    return nearest_;
  }

 private:
  // How far a computed distance may lie from the exact one, for a unit of norm `norm` and
  // centres within `reach` of the origin.
  static double rounding_slack(double slack, double norm, double reach) {
    return slack * (norm + reach);
  }
  double delta(index_t j, double reach) const {
    return rounding_slack(slack_, mean_norm_[static_cast<std::size_t>(j)], reach);
  }
  // Bounds from freshly computed distances: exact distances lie within δ of them.
  void tighten(index_t j, double reach) {
    const auto s = static_cast<std::size_t>(j);
    const double delta_j = delta(j, reach);
    upper_[s] = std::sqrt(std::max(0.0, d1_[s])) + delta_j;
    lower_[s] = std::sqrt(std::max(0.0, d2_[s])) - delta_j;
  }

  nearest_two<T> search_;
  bool bounds_;
  index_t m_;
  label_vector nearest_;
  std::vector<double> d1_, d2_, upper_, lower_, mean_norm_;
  double slack_;
  bool fresh_ = true;
  index_t searched_ = 0;
  matrix<double> previous_;
  std::vector<label_t> stale_;
};

// Per-cluster sums S_k = Σ_{u→k} w_u m_u, masses W_k = Σ_{u→k} w_u and unit counts, kept up to
// date by moving single units, so that an iteration costs O(k) per unit that changed cluster
// rather than O(k) per unit. Centroids are μ_k = S_k / W_k.
class cluster_sums {
 public:
  cluster_sums(index_t k, index_t K) : sum_(k, K), mass_(K), units_(static_cast<std::size_t>(K)) {}

  void rebuild(const unit_set& u, const label_vector& a) {
    sum_.setZero();
    mass_.setZero();
    std::fill(units_.begin(), units_.end(), 0);
    for (index_t j = 0; j < u.mean.cols(); ++j) add(u, j, a(j), 1.0);
  }
  void move(const unit_set& u, index_t j, index_t from, index_t to) {
    add(u, j, from, -1.0);
    add(u, j, to, 1.0);
  }
  index_t units(index_t c) const { return units_[c]; }
  void centres(matrix<double>& out) const {
    for (index_t c = 0; c < sum_.cols(); ++c)
      out.col(c) =
          mass_(c) > 0 ? vector<double>(sum_.col(c) / mass_(c)) : vector<double>::Zero(sum_.rows());
  }
  // Σ_k ||S_k||² / W_k, so that J = scatter + between − this (the bias–variance identity).
  double explained() const {
    double e = 0;
    for (index_t c = 0; c < sum_.cols(); ++c)
      if (mass_(c) > 0) e += sum_.col(c).squaredNorm() / mass_(c);
    return e;
  }

 private:
  void add(const unit_set& u, index_t j, index_t c, double sign) {
    const index_t k = u.mean.rows();
    const double w = sign * u.weight(j);
    const double* mj = u.mean.data() + j * k;
    double* sc = sum_.data() + c * k;
#pragma omp simd
    for (index_t r = 0; r < k; ++r) sc[r] += w * mj[r];
    mass_(c) += w;
    units_[c] += sign > 0 ? 1 : -1;
  }
  matrix<double> sum_;
  vector<double> mass_;
  std::vector<index_t> units_;
};

// w_u·||m_u − μ_c||².
double unit_cost(const unit_set& u, index_t j, const matrix<double>& centres, index_t c) {
  return u.weight(j) * sqdist_to(u, j, centres, c);
}

// Moves, into each empty cluster, the unit of largest cost w_u·||m_u − μ_{a(u)}||² whose
// cluster keeps another unit (ties: the smaller index); recomputes the centroids after each.
void fill_empty(const unit_set& u, label_vector& a, cluster_sums& sums, matrix<double>& centres) {
  for (index_t c = 0; c < centres.cols(); ++c) {
    if (sums.units(c) > 0) continue;
    index_t far = -1;
    double far_cost = -1;
    for (index_t j = 0; j < u.mean.cols(); ++j) {
      if (sums.units(a(j)) < 2) continue;
      const double cost = unit_cost(u, j, centres, a(j));
      if (cost > far_cost) {
        far = j;
        far_cost = cost;
      }
    }
    // far >= 0: K <= m units in fewer than K clusters leave one cluster with two units.
    sums.move(u, far, a(far), c);
    a(far) = static_cast<label_t>(c);
    sums.centres(centres);
  }
}

// Σ_i ||z_i − μ_{a(i)}||², summed directly (no cancellation).
double exact_inertia(const unit_set& u, const label_vector& a, const matrix<double>& centres) {
  double j_total = u.scatter;
  for (index_t j = 0; j < u.mean.cols(); ++j) j_total += unit_cost(u, j, centres, a(j));
  return j_total;
}

struct run_result {
  label_vector assignment;  // per unit
  matrix<double> centres;   // centred coordinates
  double inertia = 0;
  index_t iterations = 0;
  solver_status status = solver_status::iteration_cap;
  std::vector<iteration_record> trace;
};

template <class T>
run_result lloyd(assigner<T>& assign, const unit_set& u, const kmeans_options& o, detail::rng& g) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  assign.restart();
  const index_t K = o.clusters, m = u.mean.cols();
  run_result r;
  matrix<double> centres = seed_plus_plus(u, K, seeding_trials(o), g);
  matrix<double> next(centres.rows(), K);
  cluster_sums sums(centres.rows(), K);
  label_vector previous = label_vector::Constant(m, -1);
  const double shift_tol = o.tol * u.variance;
  for (index_t it = 1; it <= o.max_iter; ++it) {
    r.assignment = assign(centres);
    if (it == 1) {
      sums.rebuild(u, r.assignment);
    } else {
      for (index_t j = 0; j < m; ++j)
        if (r.assignment(j) != previous(j)) sums.move(u, j, previous(j), r.assignment(j));
    }
    sums.centres(next);
    fill_empty(u, r.assignment, sums, next);
    const double shift = (next - centres).squaredNorm();
    centres.swap(next);
    r.iterations = it;
    const double objective = std::max(0.0, u.scatter + u.between - sums.explained());
    const double seconds = std::chrono::duration<double>(clock::now() - start).count();
    r.trace.push_back({it, objective, shift, seconds, 0});
    if (r.assignment == previous || shift <= shift_tol) {
      r.status = solver_status::converged;
      break;
    }
    previous = r.assignment;
  }
  // The result from scratch: centroids exactly the means, inertia summed without cancellation.
  sums.rebuild(u, r.assignment);
  sums.centres(centres);
  r.inertia = exact_inertia(u, r.assignment, centres);
  r.trace.back().objective = r.inertia;
  r.centres = std::move(centres);
  return r;
}

template <class T>
kmeans_result<T> cluster_units(backend<T>& be, const unit_set& u, const kmeans_options& o) {
  assigner<T> assign(be, u, o.clusters, o.bounds);
  detail::rng g(o.seed);
  run_result best;
  index_t best_restart = -1;
  for (index_t restart = 0; restart < o.restarts; ++restart) {
    run_result r = lloyd(assign, u, o, g);
    if (best_restart < 0 || r.inertia < best.inertia) {
      best = std::move(r);
      best_restart = restart;
    }
  }
  kmeans_result<T> out;
  const index_t n = u.unit_of.size();
  out.assignment.resize(n);
  for (index_t i = 0; i < n; ++i) out.assignment(i) = best.assignment(u.unit_of(i));
  out.centroids = (best.centres.colwise() + u.origin).cast<T>();
  out.inertia = best.inertia;
  out.iterations = best.iterations;
  out.status = best.status;
  out.best_restart = best_restart;
  out.trace = std::move(best.trace);
  out.searched = assign.searched();
  return out;
}

}  // namespace

template <class T>
kmeans_result<T> kmeans(backend<T>& be, matrix_ref<T> Z, const kmeans_options& options) {
  check_common<T>(Z, options, "mahal::kmeans");
  const index_t n = Z.cols();
  label_vector identity(n);
  for (index_t i = 0; i < n; ++i) identity(i) = static_cast<label_t>(i);
  return cluster_units(be, make_units<T>(Z, identity, n), options);
}

template <class T>
kmeans_result<T> kmeans(backend<T>& be, const metric<T>& m, matrix_ref<T> X,
                        const kmeans_options& options) {
  expects(X.rows() == m.dim(), "mahal::kmeans", "X is ", X.rows(), "x", X.cols(),
          " but the metric is on R^", m.dim());
  check_finite<T>(X, "mahal::kmeans", "X");
  return kmeans(be, matrix_ref<T>(m.transform(X)), options);
}

template <class T>
kmeans_result<T> constrained_kmeans(backend<T>& be, matrix_ref<T> Z, const pair_list& must_link,
                                    const kmeans_options& options) {
  const char* where = "mahal::constrained_kmeans";
  check_common<T>(Z, options, where);
  check_pairs(must_link, Z.cols(), where);
  const component_labels comp = connected_components(Z.cols(), must_link);
  expects(options.clusters <= comp.count, where, "clusters = ", options.clusters,
          " but the must-link pairs leave only ", comp.count, " connected components");
  return cluster_units(be, make_units<T>(Z, comp.id, comp.count), options);
}

template <class T>
kmeans_result<T> constrained_kmeans(backend<T>& be, const metric<T>& m, matrix_ref<T> X,
                                    const pair_list& must_link, const kmeans_options& options) {
  expects(X.rows() == m.dim(), "mahal::constrained_kmeans", "X is ", X.rows(), "x", X.cols(),
          " but the metric is on R^", m.dim());
  check_finite<T>(X, "mahal::constrained_kmeans", "X");
  return constrained_kmeans(be, matrix_ref<T>(m.transform(X)), must_link, options);
}

#define MAHAL_INSTANTIATE(T)                                                                    \
  template kmeans_result<T> kmeans<T>(backend<T>&, matrix_ref<T>, const kmeans_options&);       \
  template kmeans_result<T> kmeans<T>(backend<T>&, const metric<T>&, matrix_ref<T>,             \
                                      const kmeans_options&);                                   \
  template kmeans_result<T> constrained_kmeans<T>(backend<T>&, matrix_ref<T>, const pair_list&, \
                                                  const kmeans_options&);                       \
  template kmeans_result<T> constrained_kmeans<T>(backend<T>&, const metric<T>&, matrix_ref<T>, \
                                                  const pair_list&, const kmeans_options&);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal

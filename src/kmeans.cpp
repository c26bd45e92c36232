#include "mahal/kmeans.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

#include "mahal/constraints.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/distances.hpp"
#include "mahal/error.hpp"

namespace mahal {
namespace {

// The units Lloyd's iterations move around: single points, or must-link components.
struct unit_set {
  matrix<double> mean;    // k×m: mean of each unit's points
  vector<double> weight;  // m: number of points in each unit
  label_vector unit_of;   // n: the unit of each point
  double scatter = 0;     // Σ_u Σ_{i∈u} ||z_i − m_u||², the part of J no assignment changes
  double variance = 0;    // mean over coordinates of the per-coordinate variance of the points
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
  check_finite<T>(Z, where, "Z");
}

template <class T>
unit_set make_units(matrix_ref<T> Z, const label_vector& unit_of, index_t m) {
  const index_t k = Z.rows(), n = Z.cols();
  unit_set u;
  u.unit_of = unit_of;
  u.mean = matrix<double>::Zero(k, m);
  u.weight = vector<double>::Zero(m);
  for (index_t i = 0; i < n; ++i) {
    u.mean.col(unit_of(i)) += Z.col(i).template cast<double>();
    u.weight(unit_of(i)) += 1;
  }
  for (index_t j = 0; j < m; ++j) u.mean.col(j) /= u.weight(j);
  vector<double> grand = vector<double>::Zero(k);
  for (index_t i = 0; i < n; ++i) {
    u.scatter += (Z.col(i).template cast<double>() - u.mean.col(unit_of(i))).squaredNorm();
    grand += Z.col(i).template cast<double>();
  }
  grand /= static_cast<double>(n);
  double total = 0;
  for (index_t i = 0; i < n; ++i) total += (Z.col(i).template cast<double>() - grand).squaredNorm();
  u.variance = total / static_cast<double>(n) / static_cast<double>(k);
  return u;
}

// Index drawn with probability ∝ weight (weights >= 0, total > 0).
index_t draw(detail::rng& g, const std::vector<double>& weight, double total) {
  const double r = g.uniform() * total;
  double cumulative = 0;
  index_t last_positive = -1;
  for (std::size_t j = 0; j < weight.size(); ++j) {
    if (weight[j] <= 0) continue;
    cumulative += weight[j];
    last_positive = static_cast<index_t>(j);
    if (r < cumulative) return last_positive;
  }
  return last_positive;  // r landed on the rounding error at the top end
}

// k-means++ over units, centres are unit means (k×K).
matrix<double> seed_plus_plus(const unit_set& u, index_t K, detail::rng& g) {
  const index_t m = u.mean.cols();
  matrix<double> centres(u.mean.rows(), K);
  std::vector<double> nearest(static_cast<std::size_t>(m), std::numeric_limits<double>::infinity());
  std::vector<char> chosen(static_cast<std::size_t>(m), 0);
  std::vector<double> p(static_cast<std::size_t>(m));
  for (index_t c = 0; c < K; ++c) {
    double total = 0;
    for (index_t j = 0; j < m; ++j) {
      p[j] = c == 0 ? u.weight(j) : u.weight(j) * nearest[j];
      total += p[j];
    }
    if (!(total > 0)) {  // every unit sits on a centre: draw among the units not chosen yet
      total = 0;
      for (index_t j = 0; j < m; ++j) {
        p[j] = chosen[j] ? 0.0 : u.weight(j);
        total += p[j];
      }
    }
    const index_t pick = draw(g, p, total);
    chosen[pick] = 1;
    centres.col(c) = u.mean.col(pick);
    for (index_t j = 0; j < m; ++j)
      nearest[j] = std::min(nearest[j], (u.mean.col(j) - centres.col(c)).squaredNorm());
  }
  return centres;
}

// The nearest centre of every unit mean, on the backend: one sqdist_block and a k = 1 top-k.
template <class T>
class assigner {
 public:
  assigner(backend<T>& be, const unit_set& u, index_t K)
      : be_(be),
        means_(to_device<T>(be, matrix<T>(u.mean.cast<T>()))),
        mean_norms_(be.alloc(u.mean.cols(), 1)),
        centres_(be.alloc(u.mean.rows(), K)),
        centre_norms_(be.alloc(K, 1)),
        block_(be.alloc(u.mean.cols(), K)),
        reset_(static_cast<std::size_t>(u.mean.cols()), -1),
        host_centres_(u.mean.rows(), K),
        result_(u.mean.cols()) {
    be_.col_dots(means_, means_, mean_norms_);
    state_.indices = be.alloc_labels(1, u.mean.cols());
    state_.sqdist = be.alloc(1, u.mean.cols());
  }

  const label_vector& operator()(const matrix<double>& centres) {
    host_centres_ = centres.cast<T>();
    be_.upload(host_centres_.data(), centres_);
    be_.col_dots(centres_, centres_, centre_norms_);
    be_.sqdist_block(means_, centres_, mean_norms_, centre_norms_, block_);
    be_.fill(state_.sqdist, std::numeric_limits<T>::infinity());
    be_.upload_labels(reset_.data(), state_.indices);
    be_.topk_merge(block_, topk_block{}, state_);
    be_.download_labels(state_.indices, result_.data());
    return result_;
  }

 private:
  backend<T>& be_;
  device_array<T> means_, mean_norms_, centres_, centre_norms_, block_;
  topk_state<T> state_;
  std::vector<label_t> reset_;
  matrix<T> host_centres_;
  label_vector result_;
};

// Centroids as weighted means of the units assigned to them (k×K); counts units per cluster.
void update_centres(const unit_set& u, const label_vector& a, matrix<double>& centres,
                    vector<double>& mass, std::vector<index_t>& units_in) {
  centres.setZero();
  mass.setZero();
  std::fill(units_in.begin(), units_in.end(), 0);
  for (index_t j = 0; j < u.mean.cols(); ++j) {
    centres.col(a(j)) += u.weight(j) * u.mean.col(j);
    mass(a(j)) += u.weight(j);
    ++units_in[a(j)];
  }
  for (index_t c = 0; c < centres.cols(); ++c)
    if (mass(c) > 0) centres.col(c) /= mass(c);
}

// Moves, into each empty cluster, the unit of largest cost w_u·||m_u − μ_{a(u)}||² whose
// cluster keeps another unit; recomputes the centroids after each move.
void fill_empty(const unit_set& u, label_vector& a, matrix<double>& centres, vector<double>& mass,
                std::vector<index_t>& units_in) {
  for (index_t c = 0; c < centres.cols(); ++c) {
    if (units_in[c] > 0) continue;
    index_t far = -1;
    double far_cost = -1;
    for (index_t j = 0; j < u.mean.cols(); ++j) {
      if (units_in[a(j)] < 2) continue;
      const double cost = u.weight(j) * (u.mean.col(j) - centres.col(a(j))).squaredNorm();
      if (cost > far_cost) {
        far = j;
        far_cost = cost;
      }
    }
    // far >= 0: K <= m units in fewer than K clusters leave one cluster with two units.
    a(far) = static_cast<label_t>(c);
    update_centres(u, a, centres, mass, units_in);
  }
}

double inertia(const unit_set& u, const label_vector& a, const matrix<double>& centres) {
  double j_total = u.scatter;
  for (index_t j = 0; j < u.mean.cols(); ++j)
    j_total += u.weight(j) * (u.mean.col(j) - centres.col(a(j))).squaredNorm();
  return j_total;
}

struct run_result {
  label_vector assignment;  // per unit
  matrix<double> centres;
  double inertia = 0;
  index_t iterations = 0;
  solver_status status = solver_status::iteration_cap;
  std::vector<iteration_record> trace;
};

template <class T>
run_result lloyd(assigner<T>& assign, const unit_set& u, const kmeans_options& o, detail::rng& g) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const index_t K = o.clusters, m = u.mean.cols();
  run_result r;
  matrix<double> centres = seed_plus_plus(u, K, g);
  matrix<double> next(centres.rows(), K);
  vector<double> mass(K);
  std::vector<index_t> units_in(static_cast<std::size_t>(K));
  label_vector previous = label_vector::Constant(m, -1);
  const double shift_tol = o.tol * u.variance;
  for (index_t it = 1; it <= o.max_iter; ++it) {
    r.assignment = assign(centres);
    update_centres(u, r.assignment, next, mass, units_in);
    fill_empty(u, r.assignment, next, mass, units_in);
    const double shift = (next - centres).squaredNorm();
    centres.swap(next);
    r.iterations = it;
    r.inertia = inertia(u, r.assignment, centres);
    const double seconds = std::chrono::duration<double>(clock::now() - start).count();
    r.trace.push_back({it, r.inertia, shift, seconds, 0});
    if (r.assignment == previous || shift <= shift_tol) {
      r.status = solver_status::converged;
      break;
    }
    previous = r.assignment;
  }
  r.centres = std::move(centres);
  return r;
}

template <class T>
kmeans_result<T> cluster_units(backend<T>& be, const unit_set& u, const kmeans_options& o) {
  assigner<T> assign(be, u, o.clusters);
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
  out.centroids = best.centres.cast<T>();
  out.inertia = best.inertia;
  out.iterations = best.iterations;
  out.status = best.status;
  out.best_restart = best_restart;
  out.trace = std::move(best.trace);
  return out;
}

}  // namespace

template <class T>
kmeans_result<T> kmeans(backend<T>& be, matrix_ref<T> Z, const kmeans_options& options) {
  check_common(Z, options, "mahal::kmeans");
  const index_t n = Z.cols();
  label_vector identity(n);
  for (index_t i = 0; i < n; ++i) identity(i) = static_cast<label_t>(i);
  return cluster_units(be, make_units(Z, identity, n), options);
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
  check_common(Z, options, where);
  check_pairs(must_link, Z.cols(), where);
  const component_labels comp = connected_components(Z.cols(), must_link);
  expects(options.clusters <= comp.count, where, "clusters = ", options.clusters,
          " but the must-link pairs leave only ", comp.count, " connected components");
  return cluster_units(be, make_units(Z, comp.id, comp.count), options);
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

// Xing et al.'s MMC with a diagonal A: Newton–Raphson on
//   F(a) = Σ_S ||δ||²_a − C·log Σ_D ||δ||_a,  a >= 0,
// with a halving line search kept feasible by clipping at 0. mmc_mode::reference reproduces
// the reference code's line search, whose objective has +C (python_ref/MMC_REFERENCE.md §2);
// the fast mode searches the paper's objective and accepts only a decrease.
//
// The pair work (squared differences q = δ∘δ, the Hessian Σ c_k q_k q_kᵀ) is done on the host
// in chunks of D (explicit list or the implicit complement of S), with BLAS-3 per chunk.
#include <Eigen/LU>
#include <chrono>
#include <cmath>
#include <limits>

#include "mahal/constraints.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/mmc.hpp"
#include "mmc_objective.hpp"

namespace mahal {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr index_t chunk_pairs = 16384;

// The reference code's _D_objective: log Σ_D sqrt(q·w + 1e-6).
template <class T>
double d_objective(const detail::mmc_problem<T>& p, const vector<double>& w) {
  double sum = 0;
  p.for_each_dissimilar_chunk(chunk_pairs, [&](const matrix<double>& Q) {
    sum += ((Q.transpose() * w).array() + 1e-6).sqrt().sum();
  });
  return std::log(sum);
}

template <class T>
double paper_sum(const detail::mmc_problem<T>& p, const vector<double>& w) {
  double sum = 0;
  p.for_each_dissimilar_chunk(chunk_pairs, [&](const matrix<double>& Q) {
    sum += (Q.transpose() * w).cwiseMax(0.0).cwiseSqrt().sum();
  });
  return sum;
}

}  // namespace

namespace detail {

// The reference code's _D_constraint: value, gradient and Hessian of log Σ_D sqrt(q·w), with
// the distances clamped at 1e-6 in the derivatives.
template <class T>
mmc_log_term mmc_diagonal_log_term(const mmc_problem<T>& p, const vector<double>& w) {
  const index_t d = w.size();
  double sum_dist = 0;
  vector<double> deri1 = vector<double>::Zero(d);
  matrix<double> deri2 = matrix<double>::Zero(d, d);
  p.for_each_dissimilar_chunk(chunk_pairs, [&](const matrix<double>& Q) {
    const vector<double> dist = (Q.transpose() * w).cwiseMax(0.0).cwiseSqrt();
    sum_dist += dist.sum();
    deri1.noalias() += Q * (0.5 / dist.array().max(1e-6)).matrix();
    const vector<double> c = -4.0 * dist.array().cube().max(1e-6);
    deri2.noalias() += Q * c.cwiseInverse().asDiagonal() * Q.transpose();
  });
  mmc_log_term out;
  out.value = std::log(sum_dist);
  out.grad = deri1 / sum_dist;
  out.hess = deri2 / sum_dist - deri1 * deri1.transpose() / (sum_dist * sum_dist);
  return out;
}

template mmc_log_term mmc_diagonal_log_term<float>(const mmc_problem<float>&,
                                                   const vector<double>&);
template mmc_log_term mmc_diagonal_log_term<double>(const mmc_problem<double>&,
                                                    const vector<double>&);

}  // namespace detail

template <class T>
mmc_result<T> fit_mmc_diagonal(backend<T>& be, matrix_ref<T> X, const pair_list& S,
                               const pair_list* D, const mmc_options& o) {
  const char* where = "mahal::fit_mmc_diagonal";
  const auto t0 = clock_type::now();
  detail::check_mmc_inputs<T>(X, S, D, where);
  expects(o.max_iter >= 1 && o.tol > 0, where, "max_iter = ", o.max_iter, ", tol = ", o.tol,
          " must be positive");
  expects(o.C > 0 && std::isfinite(o.C), where, "C = ", o.C, " must be positive");
  const index_t d = X.rows();
  const matrix<double> A0 = detail::initial_metric(o, d, where);
  detail::mmc_problem<T> p(be, X, S, D, o.block);
  const vector<double> s = p.W().diagonal();  // Σ_S δ∘δ
  const bool reference = o.mode == mmc_mode::reference;
  vector<double> w = A0.diagonal();
  mmc_result<T> r;
  r.status = solver_status::iteration_cap;
  double error = 1.0;
  index_t it = 0;
  // The line-search objective. reference: the reference code's, s·a + C·log Σ sqrt(q·a + 1e-6)
  // (its sign slip included). fast: the paper's F(a) = s·a − C·log Σ_D ||δ||_a, +∞ where the
  // dissimilar sum is 0 (so a = 0, which the smoothed form would accept, is never taken).
  auto line_objective = [&](const vector<double>& v) {
    if (reference) return s.dot(v) + o.C * d_objective(p, v);
    const double g = paper_sum(p, v);
    return g > 0 ? s.dot(v) - o.C * std::log(g) : std::numeric_limits<double>::infinity();
  };
  if (!reference) {
    // F(λa) = λ·s·a − (C/2)·log λ − C·log g(a): the best scale of a0 is λ* = C / (2·s·a0) in
    // closed form. Starting there saves the Newton steps that would only shrink a0 (for
    // standardised data with all pairs, s·a0 is 10⁴–10⁶ times C/2).
    const double sa = s.dot(w);
    if (sa > 0) w *= o.C / (2 * sa);
  }
  while (error > o.tol && it < o.max_iter) {
    const detail::mmc_log_term lt = detail::mmc_diagonal_log_term(p, w);
    const double obj_initial = reference ? s.dot(w) + o.C * lt.value : s.dot(w) - o.C * lt.value;
    const vector<double> gradient = s - o.C * lt.grad;
    const matrix<double> hessian = -o.C * lt.hess + 1e-6 * matrix<double>::Identity(d, d);
    const vector<double> step = hessian.inverse() * gradient;
    double lambda = 1;
    vector<double> w_tmp = (w - lambda * step).cwiseMax(0.0);
    double obj = line_objective(w_tmp);
    double obj_previous = std::numeric_limits<double>::infinity();
    vector<double> w_previous = w;
    bool found = false;
    if (reference) {
      // Accept the last λ in 1, 1/2, ... before the first non-decrease (never compared with w).
      while (obj < obj_previous) {
        obj_previous = obj;
        w_previous = w_tmp;
        found = true;
        lambda /= 2;
        w_tmp = (w - lambda * step).cwiseMax(0.0);
        obj = line_objective(w_tmp);
        if (lambda < 1e-300) break;
      }
    } else {
      // Largest λ in 1, 1/2, ... that decreases the paper's objective along the clipped Newton
      // step; if there is none (clipping can turn the Newton step away from descent), the same
      // search along the projected gradient, which descends unless a is a KKT point.
      const double gscale = w.norm() / std::max(gradient.norm(), 1e-300);
      for (int direction = 0; direction < 2 && !found; ++direction) {
        const vector<double> dir = direction == 0 ? step : vector<double>(gscale * gradient);
        lambda = 1;
        for (int k = 0; k < 60; ++k) {
          w_tmp = (w - lambda * dir).cwiseMax(0.0);
          obj = line_objective(w_tmp);
          if (std::isfinite(obj) && obj < obj_initial) {
            obj_previous = obj;
            w_previous = w_tmp;
            found = true;
            break;
          }
          lambda /= 2;
        }
      }
    }
    if (!found || !std::isfinite(obj_previous)) {
      // fast: not even the projected gradient descends at λ = 2⁻⁵⁹ — a is a stationary
      // (KKT) point to working precision. reference: the reference code stops the same way.
      r.status = !reference && std::isfinite(line_objective(w)) ? solver_status::converged
                                                                : solver_status::stalled;
      ++it;
      break;
    }
    w = w_previous;
    error = std::abs((obj_previous - obj_initial) / obj_previous);
    r.trace.push_back({it, obj_previous, lambda,
                       std::chrono::duration<double>(clock_type::now() - t0).count(), 0});
    if (o.progress) o.progress(r.trace.back());
    ++it;
  }
  if (r.status != solver_status::stalled && !(error > o.tol)) r.status = solver_status::converged;
  r.iterations = it;
  r.a = w.cast<T>();
  r.A = r.a.asDiagonal();
  r.L = r.a.cwiseMax(T(0)).cwiseSqrt().asDiagonal();
  r.objective = paper_sum(p, w);
  r.similarity = s.dot(w);
  r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  return r;
}

template <class T>
mmc_result<T> fit_mmc_diagonal(backend<T>& be, matrix_ref<T> X, label_ref y,
                               const pair_sampling& sampling, const mmc_options& options) {
  expects(y.size() == X.cols(), "mahal::fit_mmc_diagonal", y.size(), " labels for ", X.cols(),
          " samples");
  const pair_constraints c =
      sample_pairs(y, sampling.n_similar, sampling.n_dissimilar, sampling.seed);
  return fit_mmc_diagonal<T>(be, X, c.similar, &c.dissimilar, options);
}

#define MAHAL_INSTANTIATE(T)                                                               \
  template mmc_result<T> fit_mmc_diagonal<T>(backend<T>&, matrix_ref<T>, const pair_list&, \
                                             const pair_list*, const mmc_options&);        \
  template mmc_result<T> fit_mmc_diagonal<T>(backend<T>&, matrix_ref<T>, label_ref,        \
                                             const pair_sampling&, const mmc_options&);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal

// Xing et al.'s MMC with a diagonal A: Newton–Raphson on
//   F(a) = Σ_S ||δ||²_a − C·log Σ_D ||δ||_a,  a >= 0,
// with a halving line search kept feasible by clipping at 0. mmc_mode::reference reproduces
// the reference code's line search, whose objective has +C (python_ref/MMC_REFERENCE.md §2);
// the fast mode searches the paper's objective and accepts only a decrease.
//
// The Newton system (the log term's gradient and Hessian Σ c_k q_k q_kᵀ over the squared
// differences q = δ∘δ) is, on the CPU, host work in chunks of D (explicit list or the implicit
// complement of S), one BLAS syrk per chunk, the chunks spread over OpenMP threads. On a GPU
// with the implicit D it is the backend's mmc_diagonal_terms over blocks of the upper triangle
// (S's pairs subtracted on the host), and the fast mode's line search sums Σ_D ||δ||_a with the
// backend's blocked sweep: no pair difference crosses to the host.
#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <chrono>
#include <cmath>
#include <limits>

#include "mahal/constraints.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/mmc.hpp"
#include "mmc_diagonal_sums.hpp"
#include "mmc_objective.hpp"

namespace mahal {
namespace {

using clock_type = std::chrono::steady_clock;

// Σ over D of h(q·w) for h applied to a chunk's vector of q·w, summed per slot and then in
// slot order (reproducible, see for_each_dissimilar_chunk).
template <class T, class H>
double dissimilar_sum(const detail::mmc_problem<T>& p, const vector<double>& w, H h) {
  std::vector<double> part(static_cast<std::size_t>(p.slots()), 0.0);
  p.for_each_dissimilar_chunk([&](const matrix<double>& Q, int slot) {
    part[static_cast<std::size_t>(slot)] += h((Q.transpose() * w).eval());
  });
  double sum = 0;
  for (double v : part) sum += v;
  return sum;
}

// The reference code's _D_objective: log Σ_D sqrt(q·w + 1e-6).
template <class T>
double d_objective(const detail::mmc_problem<T>& p, const vector<double>& w) {
  return std::log(dissimilar_sum(
      p, w, [](const vector<double>& qw) { return (qw.array() + 1e-6).sqrt().sum(); }));
}

// The paper's Σ_D ||δ||_a. Implicit D: one blocked sweep of the backend (GEMM distances of X
// against diag(a)·X, device-side when the backend is), no pair differences on the host.
// Explicit D: the host's chunks (kept in memory), which beat a backend call on short lists.
template <class T>
double paper_sum(detail::mmc_problem<T>& p, const vector<double>& a) {
  if (!p.implicit())
    return dissimilar_sum(
        p, a, [](const vector<double>& qa) { return qa.cwiseMax(0.0).cwiseSqrt().sum(); });
  const device_array<T> aX = detail::times_X(p.be(), matrix<double>(a.asDiagonal()), p.X());
  return p.dissimilar(p.X(), aX, p.X(), p.X(), detail::mmc_weight::paper, nullptr);
}

}  // namespace

namespace detail {
namespace {

// log Σ dist, its gradient and Hessian from Σ dist, Σ q c1 and Σ c2 q qᵀ (c2 < 0).
mmc_log_term log_term(double sum_dist, const vector<double>& deri1, const matrix<double>& deri2) {
  mmc_log_term out;
  out.value = std::log(sum_dist);
  out.grad = deri1 / sum_dist;
  out.hess = deri2 / sum_dist - deri1 * deri1.transpose() / (sum_dist * sum_dist);
  return out;
}

}  // namespace

// The reference code's _D_constraint: value, gradient and Hessian of log Σ_D sqrt(q·w), with
// the distances clamped at 1e-6 in the derivatives.
template <class T>
mmc_log_term mmc_diagonal_log_term(const mmc_problem<T>& p, const vector<double>& w,
                                   log_term_path path) {
  const index_t d = w.size();
  if (path == log_term_path::automatic)
    path = p.implicit() && p.be().where() != device::cpu ? log_term_path::backend_sweep
                                                         : log_term_path::host_chunks;
  if (path == log_term_path::backend_sweep) {
    const diagonal_terms t = p.implicit_diagonal_terms(w);
    const Eigen::Map<const vector<double>> deri1(t.grad.data(), d);
    const matrix<double> deri2 = -Eigen::Map<const matrix<double>>(t.hess.data(), d, d);
    return log_term(t.sum, deri1, deri2);
  }
  std::vector<diagonal_sums> parts(static_cast<std::size_t>(p.slots()), diagonal_sums(d));
  p.for_each_dissimilar_chunk([&](const matrix<double>& Q, int slot) {
    parts[static_cast<std::size_t>(slot)].add_pairs(Q, w);
  });
  diagonal_sums total(d);
  for (const diagonal_sums& part : parts) total.add(part);
  return log_term(total.sum, total.grad, -total.hess());
}

template mmc_log_term mmc_diagonal_log_term<float>(const mmc_problem<float>&, const vector<double>&,
                                                   log_term_path);
template mmc_log_term mmc_diagonal_log_term<double>(const mmc_problem<double>&,
                                                    const vector<double>&, log_term_path);

}  // namespace detail

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The reference code's Newton–Raphson: the Hessian step clipped at 0, its line search on
// s·a + C·log Σ sqrt(q·a + 1e-6) (the sign slip included) accepting the last λ in 1, 1/2, ...
// before the first non-decrease, stopping on the relative change of that objective.
template <class T>
void reference_diagonal(const detail::mmc_problem<T>& p, const vector<double>& s, vector<double>& w,
                        const mmc_options& o, mmc_result<T>& r, clock_type::time_point t0) {
  const index_t d = w.size();
  auto line_objective = [&](const vector<double>& v) { return s.dot(v) + o.C * d_objective(p, v); };
  double error = 1.0;
  index_t it = 0;
  while (error > o.tol && it < o.max_iter) {
    const detail::mmc_log_term lt = detail::mmc_diagonal_log_term(p, w);
    const double obj_initial = s.dot(w) + o.C * lt.value;
    const vector<double> gradient = s - o.C * lt.grad;
    const matrix<double> hessian = -o.C * lt.hess + 1e-6 * matrix<double>::Identity(d, d);
    const vector<double> step = hessian.inverse() * gradient;
    double lambda = 1;
    vector<double> w_tmp = (w - lambda * step).cwiseMax(0.0);
    double obj = line_objective(w_tmp);
    double obj_previous = std::numeric_limits<double>::infinity();
    vector<double> w_previous = w;
    while (obj < obj_previous) {
      obj_previous = obj;
      w_previous = w_tmp;
      lambda /= 2;
      w_tmp = (w - lambda * step).cwiseMax(0.0);
      obj = line_objective(w_tmp);
      if (lambda < 1e-300) break;
    }
    ++it;
    if (!std::isfinite(obj_previous)) {  // the reference code stops the same way
      r.status = solver_status::stalled;
      break;
    }
    w = w_previous;
    error = std::abs((obj_previous - obj_initial) / obj_previous);
    r.trace.push_back({it - 1, obj_previous, lambda, seconds_since(t0), 0});
    if (o.progress) o.progress(r.trace.back());
  }
  r.iterations = it;
  if (r.status != solver_status::stalled)
    r.status = error > o.tol ? solver_status::iteration_cap : solver_status::converged;
}

// The paper's F(a) = s·a − C·log Σ_D ||δ||_a is convex on a >= 0 (log of a sum of square roots
// of linear functions is concave), so a projected Newton method finds its minimum: Bertsekas'
// (1982), since clipping a full Newton step at 0 need not descend. Coordinates at (or within ε
// of) the bound whose gradient points outward are held: their step is the gradient scaled by
// the Hessian's diagonal, cut by the projection. The Newton system is solved on the others.
// Armijo backtracking along the projection arc; stops when the Newton decrement is small (see
// below) or when no step decreases F (a KKT point to working precision).
template <class T>
void fast_diagonal(detail::mmc_problem<T>& p, const vector<double>& s, vector<double>& w,
                   const mmc_options& o, mmc_result<T>& r, clock_type::time_point t0) {
  const index_t d = w.size();
  auto F = [&](const vector<double>& v) {  // +∞ where Σ_D ||δ||_a = 0 (a = 0 is never taken)
    const double g = paper_sum(p, v);
    return g > 0 ? s.dot(v) - o.C * std::log(g) : std::numeric_limits<double>::infinity();
  };
  // F(λa) = λ·s·a − (C/2)·log λ − C·log g(a): the best scale of a0 is λ* = C / (2·s·a0) in
  // closed form. Starting there saves the steps that would only shrink a0 (for standardised
  // data with all pairs, s·a0 is 10⁴–10⁶ times C/2).
  const double sa = s.dot(w);
  if (sa > 0) w *= o.C / (2 * sa);
  double f = F(w);
  r.status = solver_status::iteration_cap;
  index_t it = 0;
  for (; it < o.max_iter; ++it) {
    const detail::mmc_log_term lt = detail::mmc_diagonal_log_term(p, w);
    const vector<double> grad = s - o.C * lt.grad;
    const matrix<double> H = -o.C * lt.hess;  // PSD (F convex)
    const vector<double> h =
        H.diagonal().cwiseMax(1e-12 * std::max(H.diagonal().maxCoeff(), 1e-300));
    // ε shrinks with the scaled KKT residual, so that near a solution the held set is exactly
    // the bound coordinates with an outward gradient.
    const double residual = (w - (w - grad.cwiseQuotient(h)).cwiseMax(0.0)).norm();
    const double eps = std::min(1e-3 * w.maxCoeff(), residual);
    std::vector<char> held(static_cast<std::size_t>(d));
    std::vector<index_t> free;
    for (index_t i = 0; i < d; ++i) {
      held[i] = w(i) <= eps && grad(i) > 0;
      if (!held[i]) free.push_back(i);
    }
    vector<double> step = grad.cwiseQuotient(h);
    if (!free.empty()) {
      const index_t m = static_cast<index_t>(free.size());
      matrix<double> Hf(m, m);
      vector<double> gf(m);
      for (index_t a = 0; a < m; ++a) {
        gf(a) = grad(free[a]);
        for (index_t b = 0; b < m; ++b) Hf(a, b) = H(free[a], free[b]);
      }
      // A ridge relative to each coordinate's own curvature (H is singular along directions in
      // which F is linear): one relative to the largest would swamp the coordinates whose a is
      // orders of magnitude larger (curvature ∝ 1/a², as on unconstrained coordinates).
      const double tiny = 1e-24 * Hf.diagonal().maxCoeff() + 1e-300;
      Hf.diagonal() = (Hf.diagonal() * (1 + 1e-12)).cwiseMax(tiny);
      const vector<double> sf = Hf.ldlt().solve(gf);
      for (index_t a = 0; a < m; ++a) step(free[a]) = sf(a);
    }
    // Newton decrement: half of it estimates F − F* (exactly, for a quadratic F); F − F* <= tol·C
    // means that g is within a relative tol of the optimum's at the same similar-pair sum.
    double decrement = 0;
    for (index_t i = 0; i < d; ++i) decrement += held[i] ? grad(i) * w(i) : grad(i) * step(i);
    if (decrement / 2 <= o.tol * o.C) {
      r.status = solver_status::converged;
      break;
    }
    bool moved = false;
    double lambda = 1, f_new = f;
    for (int k = 0; k < 60 && !moved; ++k, lambda /= 2) {
      const vector<double> trial = (w - lambda * step).cwiseMax(0.0);
      f_new = F(trial);
      // Armijo: the predicted decrease, λ·gᵀp on the free coordinates and gᵀ(a − a(λ)) on the
      // held ones.
      double predicted = 0;
      for (index_t i = 0; i < d; ++i)
        predicted += held[i] ? grad(i) * (w(i) - trial(i)) : lambda * grad(i) * step(i);
      if (std::isfinite(f_new) && f_new < f && f - f_new >= 1e-4 * predicted) {
        w = trial;
        moved = true;
      }
    }
    if (!moved) {
      // No decrease at λ = 2⁻⁵⁹: a KKT point, unless the model itself is not finite (a
      // degenerate D with Σ_D ||δ||_a = 0 near a).
      r.status = std::isfinite(f) && std::isfinite(decrement) ? solver_status::converged
                                                              : solver_status::stalled;
      break;
    }
    f = f_new;
    r.trace.push_back({it, f, 2 * lambda, seconds_since(t0), 0});
    if (o.progress) o.progress(r.trace.back());
  }
  r.iterations = it;
}

}  // namespace

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
  vector<double> w = A0.diagonal();
  mmc_result<T> r;
  r.unconstrained = detail::unconstrained_coordinates(p);
  if (o.mode == mmc_mode::reference) {
    reference_diagonal(p, s, w, o, r, t0);
  } else {
    // The floor of mmc.hpp's "Unconstrained directions": without it F is unbounded below.
    const vector<double> s_floored = s.cwiseMax(detail::kScatterFloor * s.maxCoeff());
    fast_diagonal(p, s_floored, w, o, r, t0);
  }
  r.a = w.cast<T>();
  r.A = r.a.asDiagonal();
  r.L = r.a.cwiseMax(T(0)).cwiseSqrt().asDiagonal();
  r.objective = paper_sum(p, w);
  r.similarity = s.dot(w);
  r.seconds = seconds_since(t0);
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

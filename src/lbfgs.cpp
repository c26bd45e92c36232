#include "mahal/lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "mahal/error.hpp"

namespace mahal {
namespace {

// One trial point of the line search: φ(α) = f(x + αp) and φ'(α) = ∇f(x + αp)ᵀp.
struct trial {
  double alpha = 0;
  double f = 0;
  double d = 0;
};

// Minimiser of the cubic through (a, fa, da) and (b, fb, db); NaN when it does not exist.
double cubic_minimiser(const trial& a, const trial& b) {
  const double d1 = a.d + b.d - 3 * (a.f - b.f) / (a.alpha - b.alpha);
  const double disc = d1 * d1 - a.d * b.d;
  if (!(disc >= 0)) return std::numeric_limits<double>::quiet_NaN();
  const double d2 = std::copysign(std::sqrt(disc), b.alpha - a.alpha);
  const double denom = b.d - a.d + 2 * d2;
  if (denom == 0) return std::numeric_limits<double>::quiet_NaN();
  return b.alpha - (b.alpha - a.alpha) * (b.d + d2 - d1) / denom;
}

class line_search {
 public:
  line_search(const lbfgs_function& f, const vector<double>& x, const vector<double>& p, double f0,
              double d0, const lbfgs_options& o)
      : f_(f), x_(x), p_(p), f0_(f0), d0_(d0), o_(o) {}

  // Returns true with (x_new, g_new, f_new, alpha) set when a step with sufficient decrease
  // was found (strong Wolfe when possible).
  bool run(double alpha, vector<double>& x_new, vector<double>& g_new, double& f_new, double& step,
           index_t& evaluations) {
    trial prev{0, f0_, d0_};
    alpha = std::min(alpha, o_.max_step);
    for (index_t i = 0; i < o_.max_line_search; ++i) {
      const trial t = eval(alpha);
      if (!std::isfinite(t.f) || t.f > f0_ + o_.c1 * t.alpha * d0_ || (i > 0 && t.f >= prev.f)) {
        if (zoom(prev, t)) break;
        break;
      }
      if (std::abs(t.d) <= -o_.c2 * d0_) {
        accepted_ = true;
        break;
      }
      if (t.d >= 0) {
        zoom(t, prev);
        break;
      }
      if (alpha >= o_.max_step) break;
      double next = cubic_minimiser(prev, t);
      if (!std::isfinite(next) || next < 1.1 * alpha || next > 4 * alpha) next = 2 * alpha;
      prev = t;
      alpha = std::min(next, o_.max_step);
    }
    evaluations = evaluations_;
    if (!have_best_) return false;
    x_new = best_x_;
    g_new = best_g_;
    f_new = best_.f;
    step = best_.alpha;
    return true;
  }

 private:
  // Algorithm 3.6: lo satisfies sufficient decrease with the lowest f so far; the minimiser
  // lies between lo and hi.
  bool zoom(trial lo, trial hi) {
    while (evaluations_ < o_.max_line_search) {
      const double a = std::min(lo.alpha, hi.alpha), b = std::max(lo.alpha, hi.alpha);
      const double width = b - a;
      if (width <= 1e-16 * std::max(1.0, b)) return false;
      double alpha =
          std::isfinite(hi.f) ? cubic_minimiser(lo, hi) : std::numeric_limits<double>::quiet_NaN();
      if (!std::isfinite(alpha) || alpha < a + 0.1 * width || alpha > b - 0.1 * width)
        alpha = 0.5 * (a + b);
      const trial t = eval(alpha);
      if (!std::isfinite(t.f) || t.f > f0_ + o_.c1 * t.alpha * d0_ || t.f >= lo.f) {
        hi = t;
      } else {
        if (std::abs(t.d) <= -o_.c2 * d0_) {
          accepted_ = true;
          return true;
        }
        if (t.d * (hi.alpha - lo.alpha) >= 0) hi = lo;
        lo = t;
      }
    }
    return false;
  }

  trial eval(double alpha) {
    ++evaluations_;
    x_trial_ = x_ + alpha * p_;
    const double f = f_(x_trial_, g_trial_);
    const trial t{alpha, f, std::isfinite(f) ? g_trial_.dot(p_) : 0.0};
    // Keep the lowest point with sufficient decrease (the returned one).
    if (std::isfinite(f) && f <= f0_ + o_.c1 * alpha * d0_ && (!have_best_ || f < best_.f)) {
      have_best_ = true;
      best_ = t;
      best_x_ = x_trial_;
      best_g_ = g_trial_;
    }
    return t;
  }

  const lbfgs_function& f_;
  const vector<double>& x_;
  const vector<double>& p_;
  double f0_, d0_;
  const lbfgs_options& o_;
  vector<double> x_trial_, g_trial_, best_x_, best_g_;
  trial best_;
  bool have_best_ = false;
  bool accepted_ = false;
  index_t evaluations_ = 0;
};

// p = −H·g by the two-loop recursion with H0 = (sᵀy / yᵀy)·I.
vector<double> direction(const lbfgs_state& state, const vector<double>& g) {
  vector<double> q = -g;
  const std::size_t m = state.s.size();
  if (m == 0) return q;
  std::vector<double> a(m), rho(m);
  for (std::size_t t = m; t-- > 0;) {
    rho[t] = 1.0 / state.y[t].dot(state.s[t]);
    a[t] = rho[t] * state.s[t].dot(q);
    q -= a[t] * state.y[t];
  }
  q *= state.s[m - 1].dot(state.y[m - 1]) / state.y[m - 1].squaredNorm();
  for (std::size_t t = 0; t < m; ++t) {
    const double b = rho[t] * state.y[t].dot(q);
    q += (a[t] - b) * state.s[t];
  }
  return q;
}

}  // namespace

lbfgs_result minimize_lbfgs(const lbfgs_function& f, vector<double>& x,
                            const lbfgs_options& options, lbfgs_state& state,
                            const lbfgs_callback& callback) {
  const char* where = "mahal::minimize_lbfgs";
  expects(x.size() > 0, where, "x is empty");
  expects(options.memory >= 1 && options.c1 > 0 && options.c1 < options.c2 && options.c2 < 1, where,
          "need memory >= 1 and 0 < c1 < c2 < 1, got memory = ", options.memory,
          ", c1 = ", options.c1, ", c2 = ", options.c2);
  for (std::size_t t = 0; t < state.s.size(); ++t)
    if (state.s[t].size() != x.size()) {
      state.clear();
      state.small_decrease = 0;
      break;
    }
  lbfgs_result r;
  vector<double> g(x.size());
  double fx = f(x, g);
  r.evaluations = 1;
  expects(std::isfinite(fx) && g.allFinite(), where, "f(x0) = ", fx,
          " or its gradient is not finite");
  auto grad_small = [&](double value, const vector<double>& grad) {
    return grad.lpNorm<Eigen::Infinity>() <=
           options.gradient_tolerance * std::max(1.0, std::abs(value));
  };
  r.objective = fx;
  if (grad_small(fx, g)) {
    r.status = solver_status::converged;
    r.message = "gradient below tolerance at the start";
    return r;
  }
  vector<double> x_new, g_new;
  while (r.iterations < options.max_iterations) {
    bool found = false;
    double f_new = 0, step = 0;
    // Try the quasi-Newton direction; when it fails, drop the memory and try steepest descent.
    for (int attempt = 0; attempt < 2 && !found; ++attempt) {
      if (attempt == 1) {
        if (state.s.empty()) break;
        state.clear();
      }
      vector<double> p = direction(state, g);
      double d0 = g.dot(p);
      if (!(d0 < 0)) {
        state.clear();
        p = -g;
        d0 = -g.squaredNorm();
      }
      const double alpha0 = state.s.empty() ? 1.0 / std::sqrt(-d0) : 1.0;
      line_search ls(f, x, p, fx, d0, options);
      index_t evals = 0;
      found = ls.run(alpha0, x_new, g_new, f_new, step, evals);
      r.evaluations += evals;
    }
    if (!found) {
      r.status = solver_status::stalled;
      r.message = "line search found no decrease";
      break;
    }
    vector<double> s = x_new - x, yv = g_new - g;
    const double sy = s.dot(yv);
    if (sy > 1e-12 * s.norm() * yv.norm() && sy > 0) {
      state.s.push_back(std::move(s));
      state.y.push_back(std::move(yv));
      if (static_cast<index_t>(state.s.size()) > options.memory) {
        state.s.erase(state.s.begin());
        state.y.erase(state.y.begin());
      }
    }
    const double f_prev = fx;
    x.swap(x_new);
    g.swap(g_new);
    fx = f_new;
    ++r.iterations;
    r.objective = fx;
    // Convergence before the callback's stop: a caller that stops every step or two (to
    // change its objective) would otherwise never see the whole window.
    state.small_decrease =
        (f_prev - fx <= options.relative_tolerance * std::max(1.0, std::abs(fx)))
            ? state.small_decrease + 1
            : 0;
    const bool stop = callback && !callback(r.iterations, x, fx, g, step);
    if (grad_small(fx, g)) {
      r.status = solver_status::converged;
      r.message = "gradient below tolerance";
      return r;
    }
    if (state.small_decrease >= options.relative_window) {
      r.status = solver_status::converged;
      r.message = "relative decrease below tolerance";
      return r;
    }
    if (stop) {
      r.stopped = true;
      r.status = solver_status::iteration_cap;
      r.message = "stopped by the callback";
      return r;
    }
  }
  if (r.status != solver_status::stalled) r.message = "iteration cap reached";
  return r;
}

}  // namespace mahal

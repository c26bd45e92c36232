// mahal/lbfgs.hpp — limited-memory BFGS with a strong-Wolfe line search, for any solver.
//
// Minimises a smooth (or piecewise-smooth, e.g. hinge) function f: R^p → R given as a callback
// that returns f(x) and writes ∇f(x). The direction is the two-loop recursion over the last
// `memory` curvature pairs (Nocedal, "Updating quasi-Newton matrices with limited storage",
// Math. Comp. 1980); the step satisfies the strong Wolfe conditions, found by bracketing and
// safeguarded cubic-interpolation zoom (Nocedal & Wright, Numerical Optimization, 2nd ed.,
// Algorithms 3.5 and 3.6). Where the function has kinks and no strong-Wolfe point is found
// within the budget, the best point with sufficient decrease is taken and the memory is kept
// only if the curvature condition sᵀy > 0 holds.
//
// The memory lives in an `lbfgs_state`, so a solver can stop the iteration (the callback
// returns false), change its objective slightly (e.g. a new impostor set in LMNN) and continue
// with the curvature information it has.
//
//   mahal::lbfgs_options opt;
//   mahal::lbfgs_state state;
//   mahal::vector<double> x = x0;                          // p×1
//   auto r = mahal::minimize_lbfgs(
//       [](const mahal::vector<double>& x, mahal::vector<double>& g) {
//         g = 2 * x;  return x.squaredNorm();               // f(x) = ||x||²
//       },
//       x, opt, state);
//   // r.status == solver_status::converged, x ≈ 0
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "mahal/matrix.hpp"
#include "mahal/solver.hpp"

namespace mahal {

struct lbfgs_options {
  index_t memory = 10;               // curvature pairs kept (m)
  index_t max_iterations = 1000;     // iterations (accepted steps) of this call
  double gradient_tolerance = 1e-6;  // converged when ||g||_∞ <= tol · max(1, |f|)
  double relative_tolerance = 1e-9;  // converged when f_prev − f <= tol · max(1, |f|) ...
  index_t relative_window = 3;       // ... for this many consecutive iterations
  double c1 = 1e-4;                  // sufficient decrease (Armijo) constant
  double c2 = 0.9;                   // curvature constant of the strong Wolfe condition
  index_t max_line_search = 25;      // function evaluations per line search
  double max_step = 1e10;            // upper bound of the step along a direction
};

// The curvature pairs (s_i = x_{i+1} − x_i, y_i = g_{i+1} − g_i), oldest first, and the
// count of consecutive steps with a relative decrease below tolerance, which also carries over
// to the next call.
struct lbfgs_state {
  std::vector<vector<double>> s;
  std::vector<vector<double>> y;
  index_t small_decrease = 0;
  void clear() {
    s.clear();
    y.clear();
  }
};

// f(x), writing ∇f(x) into grad (resized by the callee if needed).
using lbfgs_function = std::function<double(const vector<double>& x, vector<double>& grad)>;
// Called after every accepted step with (iteration, x, f, g, step); return false to stop
// (the result is `stopped` unless that step also met a convergence test).
using lbfgs_callback =
    std::function<bool(index_t, const vector<double>&, double, const vector<double>&, double)>;

struct lbfgs_result {
  solver_status status = solver_status::iteration_cap;
  double objective = 0;     // f at the returned x
  index_t iterations = 0;   // accepted steps
  index_t evaluations = 0;  // calls of f
  bool stopped = false;     // the callback asked to stop
  std::string message;      // why it stopped, in words
};

// Minimises f from x (p×1, overwritten with the result). Throws invalid_argument when x is
// empty or f(x) is not finite at the start.
lbfgs_result minimize_lbfgs(const lbfgs_function& f, vector<double>& x,
                            const lbfgs_options& options, lbfgs_state& state,
                            const lbfgs_callback& callback = {});

}  // namespace mahal

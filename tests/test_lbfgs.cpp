// L-BFGS with the strong-Wolfe line search on functions with known minimisers.
#include <cmath>

#include "mahal/error.hpp"
#include "mahal/lbfgs.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE("lbfgs minimises the Rosenbrock function") {
  const lbfgs_function rosen = [](const vector<double>& x, vector<double>& g) {
    g.resize(x.size());
    g.setZero();
    double f = 0;
    for (index_t i = 0; i + 1 < x.size(); ++i) {
      const double a = x(i + 1) - x(i) * x(i), b = 1 - x(i);
      f += 100 * a * a + b * b;
      g(i) += -400 * a * x(i) - 2 * b;
      g(i + 1) += 200 * a;
    }
    return f;
  };
  for (const index_t p : {2, 10}) {
    CAPTURE(p);
    vector<double> x = vector<double>::Constant(p, -1.2);
    lbfgs_options opt;
    opt.gradient_tolerance = 1e-10;
    opt.relative_tolerance = 0;
    lbfgs_state state;
    const auto r = minimize_lbfgs(rosen, x, opt, state);
    CHECK(r.status == solver_status::converged);
    CHECK((x - vector<double>::Ones(p)).norm() < 1e-7);
    CHECK(r.iterations < 200);
  }
}

TEST_CASE("lbfgs on an ill-conditioned quadratic, a callback stop and a warm restart") {
  vector<double> diag(20);
  for (index_t i = 0; i < 20; ++i) diag(i) = std::pow(10.0, 4.0 * i / 19.0);  // κ = 1e4
  const lbfgs_function quad = [&](const vector<double>& x, vector<double>& g) {
    g = diag.cwiseProduct(x);
    return 0.5 * x.dot(g);
  };
  vector<double> x = vector<double>::Ones(20);
  lbfgs_options opt;
  opt.gradient_tolerance = 1e-12;
  opt.relative_tolerance = 0;
  lbfgs_state state;
  auto r = minimize_lbfgs(quad, x, opt, state,
                          [](index_t it, const vector<double>&, double, const vector<double>&,
                             double) { return it < 5; });
  CHECK(r.stopped);
  CHECK(r.iterations == 5);
  CHECK(state.s.size() > 0);
  r = minimize_lbfgs(quad, x, opt, state);
  CHECK(r.status == solver_status::converged);
  CHECK(x.lpNorm<Eigen::Infinity>() < 1e-12);
}

TEST_CASE("lbfgs detects a slow decrease across calls stopped every iteration or two") {
  // f = Σ x_i⁴ creeps towards 0: the relative decrease falls below the tolerance long before
  // the gradient does. A caller that stops the iteration every step or two (LMNN between its
  // impostor searches) must still see that window of small decreases.
  const lbfgs_function quartic = [](const vector<double>& x, vector<double>& g) {
    g = 4 * x.array().cube();
    return x.array().pow(4).sum();
  };
  for (const index_t every : {1, 2, 5}) {
    CAPTURE(every);
    vector<double> x = vector<double>::LinSpaced(6, 0.5, 3);
    lbfgs_options opt;
    opt.relative_tolerance = 1e-3;
    lbfgs_state state;
    index_t calls = 0, iterations = 0;
    lbfgs_result r;
    do {
      index_t since = 0;
      r = minimize_lbfgs(quartic, x, opt, state,
                         [&](index_t, const vector<double>&, double, const vector<double>&,
                             double) { return ++since < every; });
      ++calls;
      iterations += r.iterations;
    } while (r.stopped && iterations < 1000);
    CHECK(r.status == solver_status::converged);
    CHECK(r.message == "relative decrease below tolerance");
    CHECK(iterations < 200);
    CHECK(calls >= iterations / every);
  }
}

TEST_CASE("lbfgs reports a stall on a function without a decrease and rejects bad input") {
  const lbfgs_function linear = [](const vector<double>& x, vector<double>& g) {
    g = vector<double>::Ones(x.size());
    return x.sum() > 0 ? x.sum() : 0.0;  // flat below 0 but a gradient that says otherwise
  };
  vector<double> x = -vector<double>::Ones(3);
  lbfgs_state state;
  const auto r = minimize_lbfgs(linear, x, {}, state);
  CHECK(r.status == solver_status::stalled);
  vector<double> empty;
  CHECK_THROWS_AS(minimize_lbfgs(linear, empty, {}, state), invalid_argument);
}

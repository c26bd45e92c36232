// Finite-difference checks of the MMC derivatives that the solvers step along: the diagonal
// solver's log term h(a) = log Σ_D ||δ||_a (gradient and Hessian, the Newton system) and the
// L-space ratio r(L) = g(L)·sqrt(t / f(L)) (gradient); and the wine case that once stalled.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "mahal/backend.hpp"
#include "mahal/constraints.hpp"
#include "mahal/csv.hpp"
#include "mahal/mmc.hpp"
#include "mahal/standardizer.hpp"
#include "mmc_objective.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

struct problem_data {
  matrix<double> X;
  pair_list S, D;
};

problem_data make_data(index_t d, index_t n, std::uint64_t seed) {
  problem_data p{test::random_matrix<double>(d, n, seed), {}, {}};
  const label_vector y = test::random_labels(n, 3, seed + 1);
  for (label_t i = 0; i < n; ++i)
    for (label_t j = i + 1; j < n; ++j) (y(i) == y(j) ? p.S : p.D).push_back({i, j});
  return p;
}

vector<double> positive_vector(index_t d, std::uint64_t seed) {
  return test::random_matrix<double>(d, 1, seed).col(0).array().abs() + 0.5;
}

}  // namespace

TEST_CASE("diagonal log term: gradient and Hessian match central differences") {
  auto be = make_backend<double>(device::cpu);
  const problem_data data = make_data(5, 24, 3);
  for (const bool implicit : {false, true}) {
    CAPTURE(implicit);
    detail::mmc_problem<double> p(*be, data.X, data.S, implicit ? nullptr : &data.D, 0);
    const vector<double> a = positive_vector(5, 11);
    const detail::mmc_log_term at = detail::mmc_diagonal_log_term(p, a);
    // Independent value: log of the sum of distances, pair by pair.
    double sum = 0;
    for (const auto& q : data.D) {
      const vector<double> delta = data.X.col(q.i) - data.X.col(q.j);
      sum += std::sqrt(delta.cwiseProduct(delta).dot(a));
    }
    CHECK(at.value == doctest::Approx(std::log(sum)).epsilon(1e-12));
    const double h = 1e-5;
    vector<double> grad_fd(5);
    matrix<double> hess_fd(5, 5);
    for (index_t k = 0; k < 5; ++k) {
      vector<double> up = a, down = a;
      up(k) += h;
      down(k) -= h;
      const auto tu = detail::mmc_diagonal_log_term(p, up);
      const auto td = detail::mmc_diagonal_log_term(p, down);
      grad_fd(k) = (tu.value - td.value) / (2 * h);
      hess_fd.col(k) = (tu.grad - td.grad) / (2 * h);
    }
    CHECK(test::relative_error(at.grad, grad_fd) < 1e-8);
    CHECK(test::relative_error(at.hess, hess_fd) < 1e-7);
    CHECK(test::relative_error(at.hess, at.hess.transpose()) < 1e-14);
  }
}

TEST_CASE("diagonal log term over many chunks: equals a pair-by-pair sum, for any thread count") {
  // 300 points, d = 16: about 30000 pairs of D in chunks of 2048, so several slots, and the
  // implicit D's rows are split around the pairs of S.
  auto be = make_backend<double>(device::cpu);
  const problem_data data = make_data(16, 300, 5);
  const vector<double> a = positive_vector(16, 13);
  // Reference: the reference code's _D_constraint written out pair by pair.
  double sum = 0;
  vector<double> g = vector<double>::Zero(16);
  matrix<double> h = matrix<double>::Zero(16, 16);
  for (const auto& q : data.D) {
    const vector<double> delta = data.X.col(q.i) - data.X.col(q.j);
    const vector<double> sq = delta.cwiseProduct(delta);
    const double dist = std::sqrt(sq.dot(a));
    sum += dist;
    g += sq * (0.5 / std::max(dist, 1e-6));
    h -= sq * sq.transpose() / (4 * std::max(dist * dist * dist, 1e-6));
  }
  const vector<double> grad = g / sum;
  const matrix<double> hess = h / sum - grad * grad.transpose();
  for (const bool implicit : {false, true}) {
    CAPTURE(implicit);
    detail::mmc_problem<double> p(*be, data.X, data.S, implicit ? nullptr : &data.D, 0);
    REQUIRE(p.slots() > 1);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const detail::mmc_log_term one = detail::mmc_diagonal_log_term(p, a);
    omp_set_num_threads(2);
    const detail::mmc_log_term two = detail::mmc_diagonal_log_term(p, a);
    omp_set_num_threads(threads);
    CHECK(one.value == doctest::Approx(std::log(sum)).epsilon(1e-12));
    CHECK(test::relative_error(one.grad, grad) < 1e-12);
    CHECK(test::relative_error(one.hess, hess) < 1e-12);
    // Bit for bit: the same slots, summed in the same order.
    CHECK(one.value == two.value);
    CHECK(one.grad == two.grad);
    CHECK(one.hess == two.hess);
  }
  // The backend's block sweep (the GPU's path) over blocks of 64 points (a tail of 44), S's
  // pairs subtracted afterwards: the same sums.
  detail::mmc_problem<double> swept(*be, data.X, data.S, nullptr, 64);
  const detail::mmc_log_term s =
      detail::mmc_diagonal_log_term(swept, a, detail::log_term_path::backend_sweep);
  CHECK(s.value == doctest::Approx(std::log(sum)).epsilon(1e-12));
  CHECK(test::relative_error(s.grad, grad) < 1e-12);
  CHECK(test::relative_error(s.hess, hess) < 1e-12);
}

TEST_CASE("L-space ratio: gradient matches central differences, scale invariance") {
  auto be = make_backend<double>(device::cpu);
  const problem_data data = make_data(5, 24, 5);
  for (const bool implicit : {false, true}) {
    CAPTURE(implicit);
    detail::mmc_problem<double> p(*be, data.X, data.S, implicit ? nullptr : &data.D, 0);
    const matrix<double> L = test::random_matrix<double>(3, 5, 17);
    const double t = 2.5;
    matrix<double> grad;
    const double r = detail::mmc_linear_ratio(p, p.W(), L, t, &grad);
    // Independent value.
    double g = 0, f = 0;
    for (const auto& q : data.D) g += (L * (data.X.col(q.i) - data.X.col(q.j))).norm();
    for (const auto& q : data.S) f += (L * (data.X.col(q.i) - data.X.col(q.j))).squaredNorm();
    CHECK(r == doctest::Approx(g * std::sqrt(t / f)).epsilon(1e-12));
    const double h = 1e-6;
    matrix<double> grad_fd(3, 5);
    for (index_t i = 0; i < 3; ++i)
      for (index_t j = 0; j < 5; ++j) {
        matrix<double> up = L, down = L;
        up(i, j) += h;
        down(i, j) -= h;
        grad_fd(i, j) = (detail::mmc_linear_ratio(p, p.W(), up, t, nullptr) -
                         detail::mmc_linear_ratio(p, p.W(), down, t, nullptr)) /
                        (2 * h);
      }
    CHECK(test::relative_error(grad, grad_fd) < 1e-7);
    // r(cL) = r(L), so the gradient is orthogonal to L.
    CHECK(detail::mmc_linear_ratio(p, p.W(), 3.0 * L, t, nullptr) ==
          doctest::Approx(r).epsilon(1e-12));
    CHECK(std::abs(detail::frob_dot(grad, L)) < 1e-10 * grad.norm() * L.norm());
  }
}

TEST_CASE("fast diagonal on standardised wine, all pairs, D implicit: converges to a non-zero a") {
  if (!test::have_data("wine.csv")) {
    MESSAGE("wine.csv absent: skipped");
    return;
  }
  const labelled_data<double> wine = read_csv<double>(test::data_path("wine.csv"));
  const matrix<double> X = standardizer<double>::fit(wine.X).apply(wine.X);
  const pair_list S = same_class_pairs(wine.y);
  auto be = make_backend<double>(device::cpu);
  const mmc_result<double> r = fit_mmc_diagonal<double>(*be, X, S, nullptr);
  CHECK(r.status == solver_status::converged);
  CHECK(r.iterations > 2);
  CHECK(r.a.minCoeff() >= 0);
  CHECK(r.a.maxCoeff() > 0);
  CHECK(r.objective > 0);
  // The paper's F at the result is below F at the best multiple of a0 = 1 (the start).
  const double C = 1;
  const vector<double> s = [&] {
    vector<double> v = vector<double>::Zero(X.rows());
    for (const auto& q : S) v += (X.col(q.i) - X.col(q.j)).cwiseAbs2();
    return v;
  }();
  const vector<double> a0 = vector<double>::Ones(X.rows()) * (C / (2 * s.sum()));
  double g0 = 0;
  for (index_t i = 0; i < X.cols(); ++i)
    for (index_t j = i + 1; j < X.cols(); ++j)
      if (wine.y(i) != wine.y(j)) g0 += std::sqrt((X.col(i) - X.col(j)).cwiseAbs2().dot(a0));
  const double F0 = s.dot(a0) - C * std::log(g0);
  const double F = s.dot(r.a) - C * std::log(r.objective);
  CHECK(F < F0);
  for (std::size_t k = 1; k < r.trace.size(); ++k)
    CHECK(r.trace[k].objective <= r.trace[k - 1].objective);
}

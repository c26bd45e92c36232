// MMC fast modes: feasibility, monotone traces, implicit D equal to its explicit complement,
// the block scatter against the pair scatter, bad input.
#include <doctest/doctest.h>

#include <Eigen/Eigenvalues>
#include <cmath>

#include "mahal/backend.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/mmc.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

struct small_problem {
  matrix<double> X;
  pair_list S, D_complement;
};

small_problem make_problem(index_t d, index_t n, std::uint64_t seed) {
  small_problem p{test::random_matrix<double>(d, n, seed), {}, {}};
  const label_vector y = test::random_labels(n, 3, seed + 1);
  for (label_t i = 0; i < n; ++i)
    for (label_t j = i + 1; j < n; ++j) {
      if (y(i) == y(j) && (i + j) % 2 == 0)
        p.S.push_back({i, j});
      else
        p.D_complement.push_back({i, j});
    }
  return p;
}

double g_paper(const matrix<double>& A, const matrix<double>& X, const pair_list& D) {
  double g = 0;
  for (const auto& q : D) {
    const vector<double> delta = X.col(q.i) - X.col(q.j);
    g += std::sqrt(std::max(0.0, delta.dot(A * delta)));
  }
  return g;
}

}  // namespace

TEST_CASE("block_scatter equals pair_scatter over the block's pairs") {
  auto be = make_backend<double>(device::cpu);
  const matrix<double> P = test::random_matrix<double>(3, 9, 5),
                       Q = test::random_matrix<double>(4, 9, 6);
  const matrix<double> Wb = test::random_matrix<double>(4, 5, 7);  // rows 0..3, cols 4..8
  pair_list pairs;
  vector<double> w(20);
  for (label_t b = 0; b < 5; ++b)
    for (label_t a = 0; a < 4; ++a) {
      pairs.push_back({a, static_cast<label_t>(4 + b)});
      w(a + 4 * b) = Wb(a, b);
    }
  const auto Pd = to_device<double>(*be, P), Qd = to_device<double>(*be, Q);
  auto out = be->alloc(3, 4), ref = be->alloc(3, 4);
  be->fill(out, 1.0);
  be->fill(ref, 1.0);
  be->block_scatter(Pd.col_range(0, 4), Qd.col_range(0, 4), Pd.col_range(4, 5), Qd.col_range(4, 5),
                    to_device<double>(*be, Wb), 0.5, 2.0, out);
  be->pair_scatter(Pd, Qd, pairs_to_device(*be, pairs), to_device<double>(*be, matrix<double>(w)),
                   0.5, 2.0, ref);
  CHECK(test::relative_error(to_host(*be, out), to_host(*be, ref)) < 1e-13);
}

TEST_CASE("fast full: PSD, f(A) <= t, beats the reference objective, implicit D = explicit") {
  auto be = make_backend<double>(device::cpu);
  const auto p = make_problem(4, 40, 11);
  mmc_options o;
  o.tol = 1e-6;
  o.block = 16;  // several blocks, a partial last one
  const auto r = fit_mmc_full<double>(*be, p.X, p.S, &p.D_complement, o);
  CHECK(r.status == solver_status::converged);
  CHECK(r.similarity <= r.bound * (1 + 1e-9));
  Eigen::SelfAdjointEigenSolver<matrix<double>> es(r.A);
  CHECK(es.eigenvalues().minCoeff() >= -1e-12 * es.eigenvalues().maxCoeff());
  CHECK(std::abs(r.objective - g_paper(r.A, p.X, p.D_complement)) < 1e-9 * r.objective);
  for (std::size_t k = 1; k < r.trace.size(); ++k)
    CHECK(r.trace[k].objective >= r.trace[k - 1].objective);
  const auto ri = fit_mmc_full<double>(*be, p.X, p.S, nullptr, o);
  CHECK(test::relative_error(ri.A, r.A) < 1e-7);
  CHECK(std::abs(ri.objective - r.objective) < 1e-9 * r.objective);
  // The reference code at its own tolerance, rescaled onto f = t, does not do better.
  mmc_options ref = o;
  ref.mode = mmc_mode::reference;
  ref.tol = 1e-3;
  const auto rr = fit_mmc_full<double>(*be, p.X, p.S, &p.D_complement, ref);
  CHECK(r.objective >= rr.objective * std::sqrt(rr.bound / rr.similarity) * (1 - 1e-9));
}

TEST_CASE("L-space: f(L) = t, monotone, agrees with the full solver's optimum; implicit D") {
  auto be = make_backend<double>(device::cpu);
  const auto p = make_problem(4, 40, 21);
  mmc_options o;
  o.tol = 1e-6;
  o.max_iter = 2000;
  const auto r = fit_mmc_linear<double>(*be, p.X, p.S, &p.D_complement, o);
  CHECK(std::abs(r.similarity / r.bound - 1) < 1e-9);
  for (std::size_t k = 1; k < r.trace.size(); ++k)
    CHECK(r.trace[k].objective >= r.trace[k - 1].objective);
  const auto full = fit_mmc_full<double>(*be, p.X, p.S, &p.D_complement, o);
  CHECK(r.objective <= full.objective * (1 + 1e-6));  // the full solver's gap certificate
  CHECK(r.objective >= full.objective * (1 - 1e-3));
  o.block = 7;
  o.max_iter = 5;
  const auto a = fit_mmc_linear<double>(*be, p.X, p.S, &p.D_complement, o);
  const auto b = fit_mmc_linear<double>(*be, p.X, p.S, nullptr, o);
  CHECK(test::relative_error(a.L, b.L) < 1e-9);
}

TEST_CASE("fast diagonal: a >= 0, objective decreases, implicit D = explicit") {
  auto be = make_backend<double>(device::cpu);
  const auto p = make_problem(5, 30, 31);
  mmc_options o;
  o.C = 100;
  const auto r = fit_mmc_diagonal<double>(*be, p.X, p.S, &p.D_complement, o);
  CHECK(r.a.minCoeff() >= 0);
  for (std::size_t k = 1; k < r.trace.size(); ++k)
    CHECK(r.trace[k].objective <= r.trace[k - 1].objective);
  const auto ri = fit_mmc_diagonal<double>(*be, p.X, p.S, nullptr, o);
  CHECK(test::relative_error(ri.a, r.a) < 1e-9);
}

TEST_CASE("fast diagonal ends at the minimum of the convex F: the KKT conditions hold") {
  // Features 0–1 separate 3 classes, 2 is noise, 3 differs as much within the classes as
  // between them: some optimal weights are 0, so the bound is active.
  auto be = make_backend<double>(device::cpu);
  detail::rng g(5);
  const index_t n = 90;
  matrix<double> X(4, n);
  label_vector y(n);
  for (index_t i = 0; i < n; ++i) {
    y(i) = static_cast<label_t>(i % 3);
    X(0, i) = y(i) + 0.4 * g.normal();
    X(1, i) = -0.7 * y(i) + 0.4 * g.normal();
    X(2, i) = g.normal();
    X(3, i) = (i % 2 == 0 ? 3.0 : -3.0) + 0.1 * g.normal();
  }
  pair_list S, D;
  for (label_t i = 0; i < n; ++i)
    for (label_t j = i + 1; j < n; ++j) (y(i) == y(j) ? S : D).push_back({i, j});
  mmc_options o;
  o.tol = 1e-10;
  const auto r = fit_mmc_diagonal<double>(*be, X, S, &D, o);
  CHECK(r.status == solver_status::converged);
  // ∂F/∂a = s − C·Σ_D (δ∘δ) / (2||δ||_a) / Σ_D ||δ||_a, pair by pair.
  const vector<double> a = r.a;
  vector<double> s = vector<double>::Zero(4), h = vector<double>::Zero(4);
  double sum = 0;
  for (const auto& q : S) s += (X.col(q.i) - X.col(q.j)).cwiseAbs2();
  for (const auto& q : D) {
    const vector<double> sq = (X.col(q.i) - X.col(q.j)).cwiseAbs2();
    const double dist = std::sqrt(sq.dot(a));
    sum += dist;
    h += sq / (2 * dist);
  }
  const vector<double> grad = s - o.C * h / sum;
  CAPTURE(a.transpose());
  CAPTURE(grad.transpose());
  index_t at_bound = 0;
  for (index_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    if (a(i) > 0) {
      CHECK(std::abs(grad(i)) * a(i) < 1e-6 * o.C);  // stationary in the free coordinates
    } else {
      ++at_bound;
      CHECK(grad(i) > 0);  // at the bound only where F grows inwards
    }
  }
  CHECK(at_bound >= 1);  // the case the clipped Newton step got wrong
  CHECK(at_bound < 4);
}

TEST_CASE("bad input is an invalid_argument naming the function") {
  auto be = make_backend<double>(device::cpu);
  auto p = make_problem(3, 12, 41);
  pair_list empty;
  CHECK_THROWS_AS(fit_mmc_full<double>(*be, p.X, empty, nullptr), invalid_argument);
  CHECK_THROWS_AS(fit_mmc_full<double>(*be, p.X, p.S, &empty), invalid_argument);
  pair_list bad = {{0, 12}};
  CHECK_THROWS_AS(fit_mmc_diagonal<double>(*be, p.X, bad, nullptr), invalid_argument);
  p.X(1, 2) = std::nan("");
  CHECK_THROWS_WITH_AS(fit_mmc_linear<double>(*be, p.X, p.S, nullptr),
                       doctest::Contains("mahal::fit_mmc_linear"), invalid_argument);
  p.X(1, 2) = 0;
  mmc_options o;
  o.A0 = -matrix<double>::Identity(3, 3);
  CHECK_THROWS_AS(fit_mmc_full<double>(*be, p.X, p.S, nullptr, o), invalid_argument);
}

TEST_CASE("diagonal A on a degenerate D (every dissimilar pair a duplicate): a status, no NaN") {
  // Points 0 and 1 coincide, as do 2 and 3; D holds only those two pairs, so Σ_D ||δ||_a = 0 for
  // every a and F = +∞: nothing can be learned.
  auto be = make_backend<double>(device::cpu);
  matrix<double> X(2, 4);
  X << 0, 0, 1, 1,  //
      2, 2, 5, 5;
  const pair_list S = {{0, 2}}, D = {{0, 1}, {2, 3}};
  for (const auto mode : {mmc_mode::fast, mmc_mode::reference}) {
    mmc_options o;
    o.mode = mode;
    const auto r = fit_mmc_diagonal<double>(*be, X, S, &D, o);
    CAPTURE(to_string(r.status));
    CHECK(r.status == solver_status::stalled);
    CHECK(r.a.allFinite());
    CHECK(r.objective == 0);
  }
}

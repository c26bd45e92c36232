// LMNN: objective and gradients against python_ref/lmnn_ref.py (golden values), a hand fixture,
// finite differences, exactness of the reported result, planted-metric recovery for every
// solver, and bad input.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "lmnn_golden.hpp"
#include "mahal/backend.hpp"
#include "mahal/error.hpp"
#include "mahal/lmnn.hpp"
#include "mahal/metric.hpp"
#include "mahal/neighbors.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

matrix<double> from_vec(const std::vector<double>& v, index_t rows, index_t cols) {
  return Eigen::Map<const matrix<double>>(v.data(), rows, cols);
}

// Planted metric: dimensions 0 and 1 separate 3 classes, dimensions 2 and 3 are wide noise.
void planted(index_t n, matrix<double>& X, label_vector& y, std::uint64_t seed) {
  detail::rng g(seed);
  X.resize(4, n);
  y.resize(n);
  for (index_t i = 0; i < n; ++i) {
    const label_t c = static_cast<label_t>(i % 3);
    y(i) = c;
    X(0, i) = 1.0 * c + 0.25 * g.normal();
    X(1, i) = -0.8 * c + 0.25 * g.normal();
    X(2, i) = 3.0 * g.normal();
    X(3, i) = 3.0 * g.normal();
  }
}

}  // namespace

TEST_CASE("lmnn objective and gradients match the numpy reference") {
  auto be = make_backend<double>(device::cpu);
  using namespace lmnn_golden;
  const matrix<double> points = from_vec(X, d, n);
  const label_vector labels = Eigen::Map<const label_vector>(y.data(), n);
  const matrix<double> Lm = from_vec(L, r, d);
  for (const bool squared : {false, true}) {
    CAPTURE(squared);
    lmnn_options opt;
    opt.k = k;
    opt.squared_hinge = squared;
    const auto e = evaluate_lmnn<double>(*be, points, labels, Lm, opt);
    const double f = squared ? squared_objective : hinge_objective;
    CHECK(std::abs(e.objective - f) <= 1e-10 * std::abs(f));
    CHECK(std::abs(e.pull - (squared ? squared_pull : hinge_pull)) <= 1e-10 * std::abs(f));
    CHECK(std::abs(e.push - (squared ? squared_push : hinge_push)) <= 1e-10 * std::abs(f));
    CHECK(e.active_triplets == (squared ? squared_active : hinge_active));
    const matrix<double> gL = from_vec(squared ? squared_grad_L : hinge_grad_L, r, d);
    const matrix<double> gM = from_vec(squared ? squared_grad_M : hinge_grad_M, d, d);
    CHECK(test::relative_error(e.gradient_L, gL) <= 1e-10);
    CHECK(test::relative_error(e.gradient_M, gM) <= 1e-10);
    const index_matrix t = Eigen::Map<const index_matrix>(targets.data(), k, n);
    CHECK(e.targets == t);
  }
}

TEST_CASE("lmnn hand fixture: four points on a line, k = 1") {
  // Classes {0, 1} and {1.5, 3}. Targets 0↔1 (d² = 1) and 2↔3 (2.25): pull = 6.5. Active
  // triplets: (1,0,2) h = 1.75, (2,3,0) h = 1, (2,3,1) h = 3, so push = 5.75 and
  // ε = 0.5·6.5 + 0.5·5.75 = 6.125; ∂ε/∂L = 6.5 + 0.5·(1.5 + 0 + 4) = 9.25 at L = 1.
  // At L = 2 distances scale by 4: pull 26, push 4 + 1 + 9 = 14, ε = 20.
  auto be = make_backend<double>(device::cpu);
  matrix<double> X(1, 4);
  X << 0, 1, 1.5, 3;
  label_vector y(4);
  y << 0, 0, 1, 1;
  lmnn_options opt;
  opt.k = 1;
  auto e = evaluate_lmnn<double>(*be, X, y, matrix<double>::Identity(1, 1), opt);
  CHECK(e.objective == doctest::Approx(6.125).epsilon(1e-15));
  CHECK(e.pull == doctest::Approx(6.5).epsilon(1e-15));
  CHECK(e.push == doctest::Approx(5.75).epsilon(1e-15));
  CHECK(e.active_triplets == 3);
  CHECK(e.gradient_L(0, 0) == doctest::Approx(9.25).epsilon(1e-15));
  CHECK(e.gradient_M(0, 0) == doctest::Approx(4.625).epsilon(1e-15));
  e = evaluate_lmnn<double>(*be, X, y, 2 * matrix<double>::Identity(1, 1), opt);
  CHECK(e.objective == doctest::Approx(20.0).epsilon(1e-15));
}

TEST_CASE("lmnn with the K nearest impostors only (mlpack's objective)") {
  // The four points of the hand fixture with K = 1: the nearest impostors are 0→2 (h < 0),
  // 1→2 (h = 1.75), 2→1 (h = 3) and 3→1 (h < 0); (2,3,0) with h = 1 no longer counts.
  // push = 4.75, ε = 0.5·6.5 + 0.5·4.75 = 5.625; ∂ε/∂L = 6.5 + 0.5·(1.5 + 4) = 9.25.
  auto be = make_backend<double>(device::cpu);
  matrix<double> X(1, 4);
  X << 0, 1, 1.5, 3;
  label_vector y(4);
  y << 0, 0, 1, 1;
  lmnn_options opt;
  opt.k = 1;
  opt.impostors_per_point = 1;
  const auto e = evaluate_lmnn<double>(*be, X, y, matrix<double>::Identity(1, 1), opt);
  CHECK(e.objective == doctest::Approx(5.625).epsilon(1e-15));
  CHECK(e.push == doctest::Approx(4.75).epsilon(1e-15));
  CHECK(e.active_triplets == 2);
  CHECK(e.gradient_L(0, 0) == doctest::Approx(9.25).epsilon(1e-15));
  // Random data, K = 2: brute-force objective over all triplets and finite differences.
  const std::uint64_t seed = 11;
  CAPTURE(seed);
  const matrix<double> Xr = test::random_matrix<double>(4, 36, seed);
  const label_vector yr = test::random_labels(36, 3, seed + 1);
  const matrix<double> L = test::random_matrix<double>(4, 4, seed + 2);
  opt.k = 2;
  opt.impostors_per_point = 2;
  const auto er = evaluate_lmnn<double>(*be, Xr, yr, L, opt);
  // ε over all triplets with each anchor's 2 nearest impostors, by brute force.
  const auto brute_force = [&](const matrix<double>& Lm) {
    const matrix<double> Z = Lm * Xr;
    double pull = 0, push = 0;
    for (index_t i = 0; i < 36; ++i) {
      std::vector<std::pair<double, index_t>> other;
      for (index_t l = 0; l < 36; ++l)
        if (yr(l) != yr(i)) other.push_back({(Z.col(i) - Z.col(l)).squaredNorm(), l});
      std::sort(other.begin(), other.end());
      for (index_t a = 0; a < 2; ++a) {
        const double dij = (Z.col(i) - Z.col(er.targets(a, i))).squaredNorm();
        pull += dij;
        for (index_t b = 0; b < 2; ++b) push += std::max(0.0, 1 + dij - other[b].first);
      }
    }
    return 0.5 * pull + 0.5 * push;
  };
  CHECK(er.objective == doctest::Approx(brute_force(L)).epsilon(1e-12));
  // A fit keeps only the 8K nearest impostors per anchor between searches (and searches again
  // when the staleness bound says an outsider may have overtaken the K-th): the objective it
  // reports is still exact at its L.
  for (const bool stale_check : {false, true}) {
    CAPTURE(stale_check);
    lmnn_options fit_opt = opt;
    fit_opt.stale_check = stale_check;
    fit_opt.full_search_every = 5;
    const auto r = fit_lmnn<double>(*be, Xr, yr, fit_opt);
    CHECK(r.objective == doctest::Approx(brute_force(r.L)).epsilon(1e-12));
    CHECK(r.objective < brute_force(matrix<double>::Identity(4, 4)));
  }
  const double h = 1e-6;
  matrix<double> fd(4, 4);
  for (index_t a = 0; a < 4; ++a)
    for (index_t b = 0; b < 4; ++b) {
      matrix<double> Lp = L, Lm = L;
      Lp(a, b) += h;
      Lm(a, b) -= h;
      fd(a, b) = (evaluate_lmnn<double>(*be, Xr, yr, Lp, opt).objective -
                  evaluate_lmnn<double>(*be, Xr, yr, Lm, opt).objective) /
                 (2 * h);
    }
  CHECK(test::relative_error(er.gradient_L, fd) <= 1e-6);
  opt.impostors_per_point = -1;
  CHECK_THROWS_AS(evaluate_lmnn<double>(*be, Xr, yr, L, opt), invalid_argument);
}

TEST_CASE("lmnn gradient matches central finite differences") {
  auto be = make_backend<double>(device::cpu);
  const std::uint64_t seed = 7;
  CAPTURE(seed);
  const matrix<double> X = test::random_matrix<double>(5, 40, seed);
  const label_vector y = test::random_labels(40, 3, seed + 1);
  const matrix<double> L = test::random_matrix<double>(3, 5, seed + 2);
  for (const bool squared : {false, true}) {
    CAPTURE(squared);
    lmnn_options opt;
    opt.k = 3;
    opt.squared_hinge = squared;
    const auto e = evaluate_lmnn<double>(*be, X, y, L, opt);
    const double h = 1e-6;
    matrix<double> fd(3, 5);
    for (index_t a = 0; a < 3; ++a)
      for (index_t b = 0; b < 5; ++b) {
        matrix<double> Lp = L, Lm = L;
        Lp(a, b) += h;
        Lm(a, b) -= h;
        fd(a, b) = (evaluate_lmnn<double>(*be, X, y, Lp, opt).objective -
                    evaluate_lmnn<double>(*be, X, y, Lm, opt).objective) /
                   (2 * h);
      }
    CHECK(test::relative_error(e.gradient_L, fd) <= 1e-6);
    // ∂ε/∂L = 2·L·G ties the two gradients together.
    CHECK(test::relative_error(e.gradient_L, 2 * L * e.gradient_M) <= 1e-12);
  }
}

TEST_CASE("lmnn solvers recover a planted metric and report exact values") {
  auto be = make_backend<double>(device::cpu);
  matrix<double> X;
  label_vector y;
  planted(150, X, y, 11);
  const metric<double> euclid = metric<double>::identity(4);
  const double before = knn_accuracy<double>(*be, euclid, X, y, X, y, 3);
  for (const lmnn_solver s : {lmnn_solver::lbfgs, lmnn_solver::m_space, lmnn_solver::sgd}) {
    CAPTURE(to_string(s));
    lmnn_options opt;
    opt.solver = s;
    opt.max_iterations = s == lmnn_solver::sgd ? 60 : 300;
    opt.batch_size = 50;
    opt.learning_rate = 0.05;
    const auto r = fit_lmnn<double>(*be, X, y, opt);
    const vector<double> a = r.A.diagonal();
    CHECK(std::min(a(0), a(1)) > 5 * std::max(a(2), a(3)));  // 1 : 1 at the start
    CHECK(std::max(a(2), a(3)) < 0.5);
    const auto m = metric<double>::from_linear_map(r.L);
    CHECK(knn_accuracy<double>(*be, m, X, y, X, y, 3) > before);
    // The reported objective and active count are exact at the returned L.
    const auto e = evaluate_lmnn<double>(*be, X, y, r.L, opt);
    CHECK(r.objective == doctest::Approx(e.objective).epsilon(1e-12));
    CHECK(r.active_triplets == e.active_triplets);
    CHECK(r.objective <
          evaluate_lmnn<double>(*be, X, y, matrix<double>::Identity(4, 4), opt).objective);
    CHECK(!r.trace.empty());
    CHECK(r.full_searches >= 2);
  }
}

TEST_CASE("lmnn lbfgs search schedule: a quarter segment first, and convergence however short") {
  auto be = make_backend<double>(device::cpu);
  matrix<double> X;
  label_vector y;
  planted(150, X, y, 11);
  lmnn_options opt;
  const auto reference = fit_lmnn<double>(*be, X, y, opt);
  REQUIRE(reference.status == solver_status::converged);
  // Segments of 1–3 iterations still see the window of small decreases.
  for (const index_t every : {1, 2, 3}) {
    CAPTURE(every);
    opt.full_search_every = every;
    const auto r = fit_lmnn<double>(*be, X, y, opt);
    CHECK(r.status == solver_status::converged);
    CHECK(r.iterations < 200);
    CHECK(r.objective == doctest::Approx(reference.objective).epsilon(0.01));
  }
  // Searches at the start, after 2 iterations, then after 4 more (or after 2, 2 and 2 where a
  // search revealed a rise): never the fixed schedule's two (the start and the capped end).
  opt.full_search_every = 8;
  opt.max_iterations = 6;
  const auto r = fit_lmnn<double>(*be, X, y, opt);
  REQUIRE(r.iterations == 6);
  CHECK(r.full_searches >= 3);
  CHECK(r.full_searches <= 4);
  // A schedule without a shorter segment: T = 1 searches after every iteration.
  opt.full_search_every = 1;
  CHECK(fit_lmnn<double>(*be, X, y, opt).full_searches == 7);
}

TEST_CASE("lmnn sgd comes within 5 % of L-BFGS whatever the mini-batch order") {
  // The stopping rule once fired on the noise after a full search (the first epochs over the
  // new candidates go up), and a constant step kept oscillating around the minimum: on data 11
  // two mini-batch orders in six stopped at 1.6× the objective, weighting the informative
  // dimensions only 2.6× the noise; on data 5 one ended at 1.66×.
  auto be = make_backend<double>(device::cpu);
  for (const std::uint64_t data : {11, 5}) {
    matrix<double> X;
    label_vector y;
    planted(150, X, y, data);
    const double best = fit_lmnn<double>(*be, X, y, lmnn_options{}).objective;
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      CAPTURE(data);
      CAPTURE(seed);
      lmnn_options opt;
      opt.solver = lmnn_solver::sgd;
      opt.max_iterations = 60;
      opt.batch_size = 50;
      opt.learning_rate = 0.05;
      opt.seed = seed;
      const auto r = fit_lmnn<double>(*be, X, y, opt);
      CHECK(r.objective < 1.05 * best);
      const vector<double> a = r.A.diagonal();
      if (data == 11) CHECK(std::min(a(0), a(1)) > 5 * std::max(a(2), a(3)));
    }
  }
}

TEST_CASE("lmnn lbfgs never returns a point worse than its start") {
  // Found by fuzz/fuzz_solvers.cpp: on these 12 points, with a search every 2 iterations, the
  // candidates go stale between searches and at the cap of 6 iterations the last iterate's
  // exact objective (18.78) was above the start's (18.27). The best searched point is kept.
  auto be = make_backend<double>(device::cpu);
  matrix<double> X(2, 12);
  X << -0.5, 0.8125, 0.125, 1.25, 0.75, 0.5, -0.1875, 1.125, 1.125, 0.4375, 0.9375, 0.8125,  //
      -0.75, -0.5625, -0.375, -0.1875, 0, 0.1875, 0.375, 0.5625, -0.5, 1.75, 0.75, 1.3125;
  label_vector y(12);
  y << 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1;
  lmnn_options opt;
  opt.k = 1;
  opt.full_search_every = 2;
  const double start =
      evaluate_lmnn<double>(*be, X, y, matrix<double>::Identity(2, 2), opt).objective;
  for (const index_t cap : {6, 100}) {
    CAPTURE(cap);
    opt.max_iterations = cap;
    const auto r = fit_lmnn<double>(*be, X, y, opt);
    CHECK(r.objective <= start);
    CHECK(r.objective ==
          doctest::Approx(evaluate_lmnn<double>(*be, X, y, r.L, opt).objective).epsilon(1e-12));
  }
}

TEST_CASE("lmnn low rank, PCA and warm start") {
  auto be = make_backend<double>(device::cpu);
  matrix<double> X;
  label_vector y;
  planted(90, X, y, 5);
  lmnn_options opt;
  opt.rank = 2;
  opt.init = lmnn_init::pca;
  const auto r = fit_lmnn<double>(*be, X, y, opt);
  CHECK(r.L.rows() == 2);
  CHECK(r.L.cols() == 4);
  CHECK(r.status == solver_status::converged);
  opt.init = lmnn_init::given;
  opt.L0 = r.L;
  const auto w = fit_lmnn<double>(*be, X, y, opt);  // warm start from a converged point
  CHECK(w.objective <= r.objective * (1 + 1e-9));
  CHECK(w.iterations <= 5);
}

TEST_CASE("lmnn float agrees with double") {
  auto bd = make_backend<double>(device::cpu);
  auto bf = make_backend<float>(device::cpu);
  using namespace lmnn_golden;
  const matrix<double> points = from_vec(X, d, n);
  const label_vector labels = Eigen::Map<const label_vector>(y.data(), n);
  lmnn_options opt;
  opt.k = k;
  const auto ed = evaluate_lmnn<double>(*bd, points, labels, from_vec(L, r, d), opt);
  const auto ef =
      evaluate_lmnn<float>(*bf, points.cast<float>(), labels, from_vec(L, r, d).cast<float>(), opt);
  CHECK(ef.objective == doctest::Approx(ed.objective).epsilon(1e-5));
  CHECK(test::relative_error(ef.gradient_L.cast<double>(), ed.gradient_L) <= 1e-4);
}

TEST_CASE("lmnn bad input and degenerate data") {
  auto be = make_backend<double>(device::cpu);
  matrix<double> X = test::random_matrix<double>(3, 12, 3);
  label_vector y(12);
  y << 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2;  // class 2 has 2 points
  lmnn_options opt;
  opt.k = 2;
  CHECK_THROWS_WITH_AS(fit_lmnn<double>(*be, X, y, opt), doctest::Contains("class 2 has 2 points"),
                       invalid_argument);
  opt.k = 1;
  CHECK_NOTHROW(fit_lmnn<double>(*be, X, y, opt));
  opt.k = 12;
  CHECK_THROWS_AS(fit_lmnn<double>(*be, X, y, opt), invalid_argument);
  opt.k = 1;
  opt.mu = 1.5;
  CHECK_THROWS_AS(fit_lmnn<double>(*be, X, y, opt), invalid_argument);
  opt.mu = 0.5;
  opt.rank = 4;
  CHECK_THROWS_WITH_AS(fit_lmnn<double>(*be, X, y, opt), doctest::Contains("rank = 4"),
                       invalid_argument);
  opt.rank = 2;
  opt.solver = lmnn_solver::m_space;
  CHECK_THROWS_AS(fit_lmnn<double>(*be, X, y, opt), invalid_argument);
  opt = lmnn_options{};
  opt.k = 1;
  matrix<double> bad = X;
  bad(1, 4) = std::nan("");
  CHECK_THROWS_AS(fit_lmnn<double>(*be, bad, y, opt), invalid_argument);
  bad(1, 4) = INFINITY;
  CHECK_THROWS_AS(fit_lmnn<double>(*be, bad, y, opt), invalid_argument);
  label_vector short_y = y.head(11);
  CHECK_THROWS_AS(fit_lmnn<double>(*be, X, short_y, opt), invalid_argument);
  CHECK_THROWS_AS(parse_lmnn_solver("adam"), invalid_argument);

  // Duplicated points (zero distances) and a constant feature are well defined: the fit runs,
  // the constant feature's column of L keeps its initial value (zero gradient up to the
  // rounding of X·Lap·Xᵀ on a constant row).
  matrix<double> D(3, 12);
  D << X.topRows(2), matrix<double>::Constant(1, 12, 4.0);
  D.col(1) = D.col(0);   // duplicate, same class
  D.col(6) = D.col(5);   // duplicate, same class
  D.col(11) = D.col(0);  // duplicate of another class: an impostor at distance 0
  const auto e = evaluate_lmnn<double>(*be, D, y, matrix<double>::Identity(3, 3), opt);
  CHECK(e.gradient_L.col(2).norm() <= 1e-12 * e.gradient_L.norm());
  const auto r = fit_lmnn<double>(*be, D, y, opt);
  CHECK(r.L.allFinite());
  CHECK(std::abs(r.L(2, 2) - 1.0) <= 1e-10);
  CHECK(r.L.col(2).head(2).norm() <= 1e-10);
}

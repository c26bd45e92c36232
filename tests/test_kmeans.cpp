// K-means and constrained K-means against hand fixtures, exhaustive search over assignments,
// and the invariants of Lloyd's algorithm (non-increasing inertia, centroids = means).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/clustering_accuracy.hpp"
#include "mahal/constraints.hpp"
#include "mahal/error.hpp"
#include "mahal/kmeans.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

template <class T>
matrix<T> row(const std::vector<double>& v) {
  matrix<T> X(1, static_cast<index_t>(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i) X(0, static_cast<index_t>(i)) = static_cast<T>(v[i]);
  return X;
}

// Σ_i ||z_i − μ_{a(i)}||² in double, with μ the means of the assignment's clusters.
template <class T>
double direct_inertia(const matrix<T>& Z, const label_vector& a, index_t K,
                      matrix<double>* means_out = nullptr) {
  const matrix<double> Zd = Z.template cast<double>();
  matrix<double> mu = matrix<double>::Zero(Z.rows(), K);
  vector<double> count = vector<double>::Zero(K);
  for (index_t i = 0; i < Z.cols(); ++i) {
    mu.col(a(i)) += Zd.col(i);
    count(a(i)) += 1;
  }
  for (index_t c = 0; c < K; ++c) mu.col(c) /= count(c);
  double j = 0;
  for (index_t i = 0; i < Z.cols(); ++i) j += (Zd.col(i) - mu.col(a(i))).squaredNorm();
  if (means_out) *means_out = mu;
  return j;
}

// Every cluster 0..K-1 used, nothing outside.
void check_partition(const label_vector& a, index_t K) {
  std::set<label_t> used;
  for (index_t i = 0; i < a.size(); ++i) {
    REQUIRE(a(i) >= 0);
    REQUIRE(a(i) < K);
    used.insert(a(i));
  }
  CHECK(static_cast<index_t>(used.size()) == K);
}

// Three Gaussian blobs (d×n) far apart, labels by blob.
template <class T>
matrix<T> blobs(index_t d, index_t per_blob, std::uint64_t seed, label_vector& y) {
  const matrix<T> noise = test::random_matrix<T>(d, 3 * per_blob, seed);
  matrix<T> X(d, 3 * per_blob);
  y.resize(3 * per_blob);
  for (index_t i = 0; i < 3 * per_blob; ++i) {
    const label_t b = static_cast<label_t>(i % 3);
    y(i) = b;
    X.col(i) = noise.col(i);
    X(0, i) += static_cast<T>(20 * b);
    X(d - 1, i) -= static_cast<T>(15 * b * b);
  }
  return X;
}

template <class T>
double tol() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

}  // namespace

TEST_CASE_TEMPLATE("four points on a line: the hand-computed optimum", T, float, double) {
  auto be = make_backend<T>(device::cpu);
  // {0, 1} and {10, 11}: centroids 0.5 and 10.5, inertia 4 · 0.25 = 1.
  const matrix<T> Z = row<T>({10, 0, 11, 1});
  kmeans_options opt;
  opt.clusters = 2;
  opt.seed = 3;
  const auto r = kmeans(*be, matrix_ref<T>(Z), opt);
  CHECK(r.assignment(0) == r.assignment(2));
  CHECK(r.assignment(1) == r.assignment(3));
  CHECK(r.assignment(0) != r.assignment(1));
  CHECK(r.inertia == doctest::Approx(1.0).epsilon(tol<T>()));
  CHECK(static_cast<double>(r.centroids(0, r.assignment(1))) == doctest::Approx(0.5));
  CHECK(static_cast<double>(r.centroids(0, r.assignment(0))) == doctest::Approx(10.5));
  CHECK(r.status == solver_status::converged);
}

TEST_CASE_TEMPLATE("three separated blobs are found exactly", T, float, double) {
  auto be = make_backend<T>(device::cpu);
  label_vector y;
  const matrix<T> X = blobs<T>(4, 40, 17, y);
  kmeans_options opt;
  opt.clusters = 3;
  opt.seed = 1;
  const auto r = kmeans(*be, matrix_ref<T>(X), opt);
  check_partition(r.assignment, 3);
  CHECK(xing_accuracy(y, r.assignment) == 1.0);
  matrix<double> mu;
  const double j = direct_inertia(X, r.assignment, 3, &mu);
  CHECK(r.inertia == doctest::Approx(j).epsilon(tol<T>()));
  CHECK(test::relative_error(r.centroids.template cast<double>(), mu) < tol<T>());
  CHECK(r.status == solver_status::converged);
  CHECK(r.iterations == static_cast<index_t>(r.trace.size()));
  CHECK(r.trace.back().objective == r.inertia);
}

TEST_CASE("one cluster: the grand mean and the total scatter") {
  auto be = make_backend<double>(device::cpu);
  const matrix<double> Z = test::random_matrix<double>(3, 25, 8);
  kmeans_options opt;
  opt.clusters = 1;
  const auto r = kmeans(*be, matrix_ref<double>(Z), opt);
  const vector<double> mean = Z.rowwise().mean();
  CHECK(test::relative_error(r.centroids.col(0), mean) < 1e-14);
  CHECK(r.inertia == doctest::Approx((Z.colwise() - mean).squaredNorm()).epsilon(1e-13));
  CHECK((r.assignment.array() == 0).all());
}

TEST_CASE("Lloyd's inertia never increases, and the result is the best restart") {
  auto be = make_backend<double>(device::cpu);
  const matrix<double> Z = test::random_matrix<double>(5, 500, 23);  // no structure: many steps
  for (const std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    CAPTURE(seed);
    kmeans_options opt;
    opt.clusters = 6;
    opt.restarts = 1;
    opt.tol = 0;
    opt.seed = seed;
    const auto r = kmeans(*be, matrix_ref<double>(Z), opt);
    REQUIRE(r.trace.size() >= 3);
    for (std::size_t t = 1; t < r.trace.size(); ++t) {
      CAPTURE(t);
      // Rounding only: the assignment compares distances expanded as |m|² + |μ|² − 2mᵀμ.
      CHECK(r.trace[t].objective <= r.trace[t - 1].objective * (1 + 1e-13));
    }
    CHECK(r.inertia == doctest::Approx(direct_inertia(Z, r.assignment, 6)).epsilon(1e-12));
  }
  // Ten restarts from one stream: restart 0 is the single run from the same seed, so the kept
  // (lowest) inertia is at most its inertia, and equal when restart 0 is the one kept.
  kmeans_options opt;
  opt.clusters = 6;
  opt.seed = 9;
  const auto best = kmeans(*be, matrix_ref<double>(Z), opt);
  opt.restarts = 1;
  const auto first = kmeans(*be, matrix_ref<double>(Z), opt);
  CHECK(best.inertia <= first.inertia);
  if (best.best_restart == 0) CHECK(best.inertia == first.inertia);
}

TEST_CASE("runs are reproducible from the seed") {
  auto be = make_backend<double>(device::cpu);
  const matrix<double> Z = test::random_matrix<double>(3, 200, 31);
  kmeans_options opt;
  opt.clusters = 5;
  opt.restarts = 1;
  opt.max_iter = 1;  // the result is the k-means++ seeding plus one Lloyd step
  opt.seed = 77;
  const auto a = kmeans(*be, matrix_ref<double>(Z), opt);
  const auto b = kmeans(*be, matrix_ref<double>(Z), opt);
  CHECK(a.assignment == b.assignment);
  CHECK(a.centroids == b.centroids);
  CHECK(a.inertia == b.inertia);
  CHECK(a.status == solver_status::iteration_cap);
  opt.seed = 78;
  const auto c = kmeans(*be, matrix_ref<double>(Z), opt);
  CHECK(c.centroids != a.centroids);
  // Full runs with restarts too.
  opt.seed = 5;
  opt.max_iter = 300;
  opt.restarts = 4;
  const auto d = kmeans(*be, matrix_ref<double>(Z), opt);
  const auto e = kmeans(*be, matrix_ref<double>(Z), opt);
  CHECK(d.assignment == e.assignment);
  CHECK(d.inertia == e.inertia);
  CHECK(d.best_restart == e.best_restart);
}

TEST_CASE("duplicated points: fewer distinct points than clusters leaves no cluster empty") {
  auto be = make_backend<double>(device::cpu);
  // Values 0 (×4) and 5 (×2), K = 3: k-means++ runs out of distinct points and picks a
  // duplicate; the empty cluster is re-seeded with a point of a cluster that keeps another.
  const matrix<double> Z = row<double>({0, 5, 0, 0, 5, 0});
  kmeans_options opt;
  opt.clusters = 3;
  for (const std::uint64_t seed : {0u, 1u, 2u, 3u, 4u, 5u}) {
    CAPTURE(seed);
    opt.seed = seed;
    const auto r = kmeans(*be, matrix_ref<double>(Z), opt);
    check_partition(r.assignment, 3);
    CHECK(r.inertia == 0.0);  // no cluster mixes 0s and 5s
  }
  // All points equal.
  const matrix<double> same = matrix<double>::Constant(2, 5, 1.5);
  opt.clusters = 4;
  const auto r = kmeans(*be, matrix_ref<double>(same), opt);
  check_partition(r.assignment, 4);
  CHECK(r.inertia == 0.0);
  CHECK(r.status == solver_status::converged);
}

TEST_CASE_TEMPLATE("a must-link pair forces two far points into one cluster", T, float, double) {
  auto be = make_backend<T>(device::cpu);
  // Points 0, 1, 10, 12 with 0 ~ 12. Units: {0, 12} (mean 6, weight 2), {1}, {10}. Of the three
  // 2-partitions of the units: {0,12}|{1,10}: 72 + 40.5 = 112.5;  {0,12,1}|{10}: 798/9;
  // {0,12,10}|{1}: (22/3)² + (14/3)² + (8/3)² = 744/9, the optimum.
  const matrix<T> Z = row<T>({0, 1, 10, 12});
  kmeans_options opt;
  opt.clusters = 2;
  const auto r = constrained_kmeans(*be, matrix_ref<T>(Z), {{0, 3}}, opt);
  CHECK(r.assignment(0) == r.assignment(3));
  CHECK(r.assignment(2) == r.assignment(0));
  CHECK(r.assignment(1) != r.assignment(0));
  CHECK(r.inertia == doctest::Approx(744.0 / 9.0).epsilon(tol<T>()));
  CHECK(static_cast<double>(r.centroids(0, r.assignment(0))) ==
        doctest::Approx(22.0 / 3.0).epsilon(tol<T>()));
  // Unconstrained, the same data split {0, 1} | {10, 12}.
  const auto u = kmeans(*be, matrix_ref<T>(Z), opt);
  CHECK(u.assignment(0) == u.assignment(1));
  CHECK(u.assignment(2) == u.assignment(3));
  CHECK(u.inertia == doctest::Approx(2.5).epsilon(tol<T>()));
}

TEST_CASE("constrained k-means keeps every component whole and matches exhaustive search") {
  auto be = make_backend<double>(device::cpu);
  const index_t n = 10, K = 3;
  const matrix<double> Z = test::random_matrix<double>(2, n, 61);
  const pair_list S = {
      {0, 4}, {4, 7}, {2, 9}, {5, 1}};  // 6 components: {0,4,7} {2,9} {1,5} {3} {6} {8}
  kmeans_options opt;
  opt.clusters = K;
  opt.seed = 13;
  const auto r = constrained_kmeans(*be, matrix_ref<double>(Z), S, opt);
  for (const auto& p : S) CHECK(r.assignment(p.i) == r.assignment(p.j));
  check_partition(r.assignment, K);
  matrix<double> mu;
  CHECK(r.inertia == doctest::Approx(direct_inertia(Z, r.assignment, K, &mu)).epsilon(1e-13));
  CHECK(test::relative_error(r.centroids, mu) < 1e-13);

  // Every assignment of the 6 components to 3 non-empty clusters (3^6 = 729).
  const component_labels comp = connected_components(n, S);
  REQUIRE(comp.count == 6);
  double best = std::numeric_limits<double>::infinity();
  std::vector<label_t> code(static_cast<std::size_t>(comp.count), 0);
  for (index_t word = 0; word < 729; ++word) {
    index_t w = word;
    for (auto& c : code) {
      c = static_cast<label_t>(w % K);
      w /= K;
    }
    label_vector a(n);
    std::set<label_t> used;
    for (index_t i = 0; i < n; ++i) used.insert(a(i) = code[comp.id(i)]);
    if (static_cast<index_t>(used.size()) < K) continue;
    best = std::min(best, direct_inertia(Z, a, K));
  }
  CHECK(r.inertia >= best * (1 - 1e-13));
  CHECK(r.inertia == doctest::Approx(best).epsilon(1e-12));  // 10 restarts find it (seed 13)
}

TEST_CASE("constrained k-means on random components: each kept whole, invariants hold") {
  auto be = make_backend<double>(device::cpu);
  label_vector y;
  const matrix<double> X = blobs<double>(3, 60, 71, y);
  const pair_list S = xing_side_information(y, 60, 72);  // 60 components, each within a class
  kmeans_options opt;
  opt.clusters = 3;
  opt.seed = 2;
  const auto r = constrained_kmeans(*be, matrix_ref<double>(X), S, opt);
  for (const auto& p : S) CHECK(r.assignment(p.i) == r.assignment(p.j));
  check_partition(r.assignment, 3);
  CHECK(xing_accuracy(y, r.assignment) == 1.0);
  CHECK(r.inertia == doctest::Approx(direct_inertia(X, r.assignment, 3)).epsilon(1e-12));
  for (std::size_t t = 1; t < r.trace.size(); ++t)
    CHECK(r.trace[t].objective <= r.trace[t - 1].objective * (1 + 1e-13));

  // No pairs: the same run as plain k-means (same units, same stream).
  const auto a = constrained_kmeans(*be, matrix_ref<double>(X), {}, opt);
  const auto b = kmeans(*be, matrix_ref<double>(X), opt);
  CHECK(a.assignment == b.assignment);
  CHECK(a.inertia == b.inertia);
}

TEST_CASE_TEMPLATE("Hamerly's bounds skip searches and change nothing", T, float, double) {
  // Overlapping classes (many units near the boundaries, slow convergence) and separated ones,
  // plain and constrained, several K: the same assignments, iterations, trace and inertia as a
  // full search at every step, with fewer unit searches.
  auto be = make_backend<T>(device::cpu);
  for (const index_t K : {1, 2, 5, 9}) {
    for (const double spread : {0.5, 3.0}) {
      CAPTURE(K);
      CAPTURE(spread);
      label_vector y;
      matrix<T> X = blobs<T>(6, 700, 81 + K, y);
      X *= static_cast<T>(spread);
      X += test::random_matrix<T>(6, X.cols(), 82);
      const pair_list S = xing_side_information(y, X.cols() - 100, 83);
      for (const bool constrained : {false, true}) {
        kmeans_options opt;
        opt.clusters = K;
        opt.seed = 5;
        opt.restarts = 3;
        opt.bounds = true;
        const auto run = [&](const kmeans_options& o) {
          return constrained ? constrained_kmeans(*be, matrix_ref<T>(X), S, o)
                             : kmeans(*be, matrix_ref<T>(X), o);
        };
        const auto fast = run(opt);
        opt.bounds = false;
        const auto full = run(opt);
        CHECK(fast.assignment == full.assignment);
        CHECK(fast.iterations == full.iterations);
        CHECK(fast.best_restart == full.best_restart);
        CHECK(fast.inertia == full.inertia);
        REQUIRE(fast.trace.size() == full.trace.size());
        for (std::size_t t = 0; t < fast.trace.size(); ++t)
          CHECK(fast.trace[t].objective == full.trace[t].objective);
        CHECK(fast.searched <= full.searched);
        // In float the rounding slack (≈ 5e-3 of the norms) leaves few units skippable when
        // there are more clusters than blobs; in double the bounds must skip some.
        if (std::is_same_v<T, double> && K > 1 && full.iterations > 3)
          CHECK(fast.searched < full.searched);
      }
    }
  }
}

TEST_CASE("the metric overloads cluster Z = LX") {
  auto be = make_backend<double>(device::cpu);
  const matrix<double> X = test::random_matrix<double>(4, 120, 81);
  const matrix<double> L = test::random_matrix<double>(2, 4, 82);
  const auto m = metric<double>::from_linear_map(L);
  const matrix<double> Z = L * X;
  kmeans_options opt;
  opt.clusters = 4;
  opt.seed = 6;
  const auto a = kmeans(*be, m, matrix_ref<double>(X), opt);
  const auto b = kmeans(*be, matrix_ref<double>(Z), opt);
  CHECK(a.assignment == b.assignment);
  CHECK(a.inertia == doctest::Approx(b.inertia).epsilon(1e-13));
  const pair_list S = {{0, 1}, {2, 3}, {3, 50}};
  const auto c = constrained_kmeans(*be, m, matrix_ref<double>(X), S, opt);
  const auto d = constrained_kmeans(*be, matrix_ref<double>(Z), S, opt);
  CHECK(c.assignment == d.assignment);
  CHECK(c.centroids.rows() == 2);
}

TEST_CASE("greedy k-means++ seeding finds separated blobs more often than plain k-means++") {
  // 25 blobs on a 5×5 grid; one restart, so each run lives or dies by its seeding: plain
  // k-means++ more often puts two centres in one blob (and Lloyd cannot move one out) than the
  // greedy variant, which keeps the best of 2 + ln 25 candidates per centre.
  auto be = make_backend<double>(device::cpu);
  const index_t per_blob = 12, blobs_n = 25;
  const matrix<double> noise = test::random_matrix<double>(2, blobs_n * per_blob, 5);
  matrix<double> X(2, blobs_n * per_blob);
  label_vector y(blobs_n * per_blob);
  for (index_t i = 0; i < X.cols(); ++i) {
    const index_t b = i % blobs_n;
    y(i) = static_cast<label_t>(b);
    X(0, i) = 10.0 * static_cast<double>(b % 5) + noise(0, i);
    X(1, i) = 10.0 * static_cast<double>(b / 5) + noise(1, i);
  }
  const auto found = [&](index_t trials, double& mean_inertia) {
    index_t exact = 0;
    mean_inertia = 0;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
      kmeans_options opt;
      opt.clusters = blobs_n;
      opt.restarts = 1;
      opt.seed = seed;
      opt.seeding_trials = trials;
      const auto r = kmeans(*be, matrix_ref<double>(X), opt);
      if (xing_accuracy(y, r.assignment) == 1.0) ++exact;
      mean_inertia += r.inertia / 40;
    }
    return exact;
  };
  double plain_inertia = 0, greedy_inertia = 0;
  const index_t plain = found(1, plain_inertia), greedy = found(0, greedy_inertia);
  CAPTURE(plain);
  CAPTURE(greedy);
  CAPTURE(plain_inertia);
  CAPTURE(greedy_inertia);
  CHECK(greedy >= 36);
  CHECK(greedy > plain + 10);
  CHECK(greedy_inertia < 0.6 * plain_inertia);
}

TEST_CASE("bad input") {
  auto be = make_backend<double>(device::cpu);
  const matrix<double> Z = test::random_matrix<double>(2, 6, 91);
  kmeans_options opt;
  opt.clusters = 7;
  CHECK_THROWS_AS(kmeans(*be, matrix_ref<double>(Z), opt), invalid_argument);  // K > n
  opt.clusters = 0;
  CHECK_THROWS_AS(kmeans(*be, matrix_ref<double>(Z), opt), invalid_argument);
  opt.clusters = 2;
  opt.restarts = 0;
  CHECK_THROWS_AS(kmeans(*be, matrix_ref<double>(Z), opt), invalid_argument);
  opt.restarts = 1;
  opt.max_iter = 0;
  CHECK_THROWS_AS(kmeans(*be, matrix_ref<double>(Z), opt), invalid_argument);
  opt.max_iter = 10;
  opt.tol = -1;
  CHECK_THROWS_AS(kmeans(*be, matrix_ref<double>(Z), opt), invalid_argument);
  opt.tol = std::nan("");
  CHECK_THROWS_AS(kmeans(*be, matrix_ref<double>(Z), opt), invalid_argument);
  opt.tol = 1e-6;
  opt.seeding_trials = -1;
  CHECK_THROWS_AS(kmeans(*be, matrix_ref<double>(Z), opt), invalid_argument);
  opt.seeding_trials = 0;
  CHECK_THROWS_AS(kmeans(*be, matrix_ref<double>(matrix<double>(2, 0)), opt), invalid_argument);
  matrix<double> bad = Z;
  bad(1, 3) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(kmeans(*be, matrix_ref<double>(bad), opt), invalid_argument);
  CHECK_THROWS_AS(constrained_kmeans(*be, matrix_ref<double>(bad), {}, opt), invalid_argument);
  // Components: {0,1,2,3,4,5} is one, so K = 2 is impossible.
  const pair_list chain = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}};
  CHECK_THROWS_AS(constrained_kmeans(*be, matrix_ref<double>(Z), chain, opt), invalid_argument);
  CHECK_THROWS_AS(constrained_kmeans(*be, matrix_ref<double>(Z), {{0, 6}}, opt), invalid_argument);
  CHECK_THROWS_AS(constrained_kmeans(*be, matrix_ref<double>(Z), {{-1, 2}}, opt), invalid_argument);
  const auto m = metric<double>::identity(3);
  CHECK_THROWS_AS(kmeans(*be, m, matrix_ref<double>(Z), opt), invalid_argument);
  CHECK_THROWS_AS(constrained_kmeans(*be, m, matrix_ref<double>(Z), {}, opt), invalid_argument);
  try {
    opt.clusters = 7;
    kmeans(*be, matrix_ref<double>(Z), opt);
  } catch (const invalid_argument& e) {
    const std::string msg = e.what();
    CHECK(msg.find("mahal::kmeans") != std::string::npos);
    CHECK(msg.find("clusters = 7") != std::string::npos);
  }
}

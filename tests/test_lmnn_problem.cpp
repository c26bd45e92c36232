// LMNN's mini-batch evaluation (the sgd solver's step) against the full one: a batch works on
// the points its pairs touch, renumbered (or on all points when it touches most), and over a
// partition of the anchors the batches' objectives, active triplets and gradients add up to the
// full ones.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "lmnn_objective.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/device_transfer.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE_TEMPLATE("mini-batches over a partition of the anchors add up to the full objective", T,
                   float, double) {
  auto be = make_backend<T>(device::cpu);
  const index_t d = 5, n = 400;
  const matrix<T> X = test::random_matrix<T>(d, n, 61);
  const label_vector y = test::random_labels(n, 3, 62);
  for (const index_t impostors : {0, 2}) {
    CAPTURE(impostors);
    lmnn_options options;
    options.impostors_per_point = impostors;
    detail::lmnn_problem<T> problem(*be, X, y, options, "test");
    const matrix<double> L = test::random_matrix<double>(4, d, 63);
    device_array<T> L_dev, Z;
    detail::transform_into(*be, L, problem.X(), L_dev, Z);
    problem.full_search(Z, options.band);
    problem.set_batch({});
    const detail::lmnn_terms full = problem.evaluate(Z, true);
    device_array<T> grad = be->alloc(4, d);
    problem.gradient_L(Z, grad);
    const matrix<double> g_full = to_host(*be, grad).template cast<double>();

    std::vector<label_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    detail::rng g(64);
    for (index_t t = n - 1; t > 0; --t)
      std::swap(order[t], order[g.below(static_cast<std::uint64_t>(t + 1))]);
    double objective = 0;
    index_t active = 0;
    matrix<double> g_sum = matrix<double>::Zero(4, d);
    for (const auto& [first, size] : {std::pair<index_t, index_t>{0, 7}, {7, 60}, {67, n - 67}}) {
      problem.set_batch(std::vector<label_t>(order.begin() + first, order.begin() + first + size));
      // With the 8K nearest candidates a small batch touches few points and works on those
      // alone; with every impostor in reach (overlapping classes) it touches most and works on
      // all. Both kinds occur here, and both must add up.
      if (impostors > 0 && size == 7) CHECK(problem.points().cols() < n / 2);
      device_array<T> Zb;
      detail::transform_into(*be, L, problem.points(), L_dev, Zb);
      const detail::lmnn_terms t = problem.evaluate(Zb, true);
      problem.gradient_L(Zb, grad);
      const double share = static_cast<double>(size) / static_cast<double>(n);  // undoes n/|b|
      objective += t.objective * share;
      active += t.active_triplets;
      g_sum += to_host(*be, grad).template cast<double>() * share;
    }
    const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-11;
    CHECK(objective == doctest::Approx(full.objective).epsilon(tol));
    CHECK(active == full.active_triplets);
    CHECK(test::relative_error(g_sum, g_full) < tol);
    problem.set_batch({});
    CHECK(problem.points().cols() == n);
  }
}

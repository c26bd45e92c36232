// The LMNN problem's evaluations against independent ones:
// - mini-batches (the sgd solver's step): a batch works on the points its pairs touch,
//   renumbered (or on all points when it touches most), and over a partition of the anchors
//   the batches' objectives, active triplets and gradients add up to the full ones;
// - the gradient kept up to date pair by pair (X·Lap·Xᵀ changed by the pairs whose weight
//   changed) equals the gradient computed afresh, over more steps than its periodic refresh.
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
    problem.gradient_L(Z, L_dev, grad);
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
      problem.gradient_L(Zb, L_dev, grad);
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

TEST_CASE_TEMPLATE("the gradient updated pair by pair equals the gradient computed afresh", T,
                   float, double) {
  auto be = make_backend<T>(device::cpu);
  const index_t d = 6, n = 300;
  const matrix<T> X = test::random_matrix<T>(d, n, 71);
  const label_vector y = test::random_labels(n, 3, 72);
  // r = d goes through the updated G; r = 2 < d/2 through the direct 2·Z·Lap·Xᵀ. Both are
  // checked against 2·L·G with G computed in full by a problem that has seen nothing else.
  for (const index_t rank : {d, index_t{2}}) {
    CAPTURE(rank);
    lmnn_options options;
    options.band = 10;  // candidates enough for every step below
    detail::lmnn_problem<T> kept(*be, X, y, options, "test");
    matrix<double> L = matrix<double>::Identity(rank, d);
    device_array<T> L_dev, Z;
    detail::transform_into(*be, L, kept.X(), L_dev, Z);
    kept.full_search(Z, options.band);
    device_array<T> grad = be->alloc(rank, d), fresh_G = be->alloc(d, d);
    detail::rng g(73);
    index_t changes = 0, last_active = -1;
    for (index_t step = 0; step < 45; ++step) {  // past the refresh after 32 updates
      CAPTURE(step);
      for (index_t t = 0; t < L.size(); ++t) L.data()[t] += 0.05 * g.normal();
      detail::transform_into(*be, L, kept.X(), L_dev, Z);
      const detail::lmnn_terms terms = kept.evaluate(Z, true);
      kept.gradient_L(Z, L_dev, grad);
      changes += terms.active_triplets != last_active;
      last_active = terms.active_triplets;
      // The same candidates, weights and gradient in a problem that has seen nothing else.
      detail::lmnn_problem<T> fresh(*be, X, y, options, "test");
      device_array<T> L0_dev, Z0;
      detail::transform_into(*be, matrix<double>::Identity(rank, d), fresh.X(), L0_dev, Z0);
      fresh.full_search(Z0, options.band);
      REQUIRE(fresh.candidates() == kept.candidates());
      const detail::lmnn_terms fresh_terms = fresh.evaluate(Z, true);
      CHECK(fresh_terms.objective == terms.objective);
      // ∂ε/∂L = 2·L·G with G = ∂ε/∂M = X·Lap·Xᵀ computed in full: the other path for r = 2.
      fresh.gradient_M(fresh_G);
      const matrix<double> a = to_host(*be, grad).template cast<double>();
      const matrix<double> b = 2 * L * to_host(*be, fresh_G).template cast<double>();
      CHECK(test::relative_error(a, b) <= (sizeof(T) == 4 ? 1e-5 : 1e-12));
    }
    CHECK(changes >= 30);  // the active set moved at nearly every step
  }
}

// backend::topk_sweep (the fused search the CPU backend runs in one parallel region) and
// engine::knn against brute-force sorting, over several query chunks and reference tiles, with
// exclude_self, label filters and offsets into the state.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/engine.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/neighbors.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

template <class T>
double tol() {
  return std::is_same_v<T, float> ? 1e-4 : 1e-11;
}

}  // namespace

TEST_CASE_TEMPLATE("topk_sweep equals brute force, with filters, blocks and offsets", T, float,
                   double) {
  auto be = make_backend<T>(device::cpu);
  const index_t d = 5, n = 301, k = 6;
  const matrix<T> X = test::random_matrix<T>(d, n, 41);
  const label_vector y = test::random_labels(n, 3, 42);
  auto xd = to_device<T>(*be, X);
  auto yd = labels_to_device(*be, y);
  auto norms = be->alloc(n, 1);
  be->col_dots(xd, xd, norms);
  for (const label_filter filter : {label_filter::any, label_filter::same, label_filter::different})
    for (const index_t block_refs : {index_t{37}, index_t{4096}}) {
      CAPTURE(static_cast<int>(filter));
      CAPTURE(block_refs);
      topk_state<T> state = engine::empty_topk_state(*be, k, n);
      // Queries [0, 120) and [120, n) in two sweeps; references in two halves merged in reverse
      // order, so the state's offsets and out-of-order merges are both exercised.
      for (const index_t r0 : {index_t{150}, index_t{0}})
        for (const index_t q0 : {index_t{0}, index_t{120}}) {
          const index_t qb = q0 == 0 ? 120 : n - 120, rb = r0 == 0 ? 150 : n - 150;
          topk_block at{q0, r0, true, filter, yd.data(), yd.data()};
          be->topk_sweep(xd.col_range(q0, qb), xd.col_range(r0, rb), norms.segment(q0, qb),
                         norms.segment(r0, rb), 16, block_refs, at, state);
        }
      const index_matrix idx = labels_to_host(*be, state.indices);
      const matrix<T> dist = to_host(*be, state.sqdist);
      for (index_t q = 0; q < n; ++q) {
        const auto expected = test::brute_force_knn(X, y, q, k, true, filter);
        for (index_t t = 0; t < k; ++t) {
          if (t < static_cast<index_t>(expected.size())) {
            CHECK(idx(t, q) == expected[t]);
            CHECK(dist(t, q) ==
                  doctest::Approx((X.col(q) - X.col(expected[t])).squaredNorm()).epsilon(tol<T>()));
          } else {
            CHECK(idx(t, q) == -1);
          }
        }
      }
    }
}

TEST_CASE_TEMPLATE(
    "topk_sweep with k = 1, 2 and no filter (the nearest merges) breaks ties by index", T, float,
    double) {
  // Small integer coordinates: many exact ties, duplicated points included (a point's nearest
  // reference is then the first copy, at distance 0). References in two halves merged in
  // reverse order, so a tie can meet a list entry of a larger index; 1 and 2 threads.
  auto be = make_backend<T>(device::cpu);
  const index_t d = 3, n = 301;
  detail::rng g(45);
  matrix<T> X(d, n);
  for (index_t i = 0; i < X.size(); ++i) X.data()[i] = static_cast<T>(g.below(3));
  auto xd = to_device<T>(*be, X);
  auto norms = be->alloc(n, 1);
  be->col_dots(xd, xd, norms);
  const int saved = omp_get_max_threads();
  for (const index_t k : {1, 2})
    for (const int threads : {1, 2})
      for (const index_t block_refs : {index_t{7}, index_t{4096}}) {
        CAPTURE(k);
        CAPTURE(threads);
        CAPTURE(block_refs);
        omp_set_num_threads(threads);
        topk_state<T> state = engine::empty_topk_state(*be, k, n);
        for (const index_t r0 : {index_t{150}, index_t{0}}) {
          const index_t rb = r0 == 0 ? 150 : n - 150;
          const topk_block at{0, r0, false, label_filter::any, nullptr, nullptr};
          be->topk_sweep(xd, xd.col_range(r0, rb), norms, norms.segment(r0, rb), 64, block_refs, at,
                         state);
        }
        const index_matrix idx = labels_to_host(*be, state.indices);
        const matrix<T> dist = to_host(*be, state.sqdist);
        for (index_t q = 0; q < n; ++q) {
          // Every reference by distance, ties in index order.
          std::vector<index_t> order(static_cast<std::size_t>(n));
          std::iota(order.begin(), order.end(), 0);
          const auto dq = [&](index_t r) { return (X.col(q) - X.col(r)).squaredNorm(); };
          std::stable_sort(order.begin(), order.end(),
                           [&](index_t a, index_t b) { return dq(a) < dq(b); });
          for (index_t t = 0; t < k; ++t) {
            CHECK(idx(t, q) == order[static_cast<std::size_t>(t)]);
            CHECK(dist(t, q) == dq(order[static_cast<std::size_t>(t)]));
          }
        }
      }
  omp_set_num_threads(saved);
}

TEST_CASE_TEMPLATE("engine::knn of a set against itself equals brute force", T, float, double) {
  // The CPU backend computes each distance of a self search once and merges it both ways, in
  // rounds of chunk pairs: odd and even chunk counts, 1 and 2 threads, every filter.
  auto be = make_backend<T>(device::cpu);
  const index_t d = 5, n = 301, k = 6;
  const matrix<T> X = test::random_matrix<T>(d, n, 43);
  const label_vector y = test::random_labels(n, 3, 44);
  auto xd = to_device<T>(*be, X);
  auto yd = labels_to_device(*be, y);
  const int saved = omp_get_max_threads();
  for (const int threads : {1, 2})
    for (const index_t block_queries : {index_t{32}, index_t{50}, index_t{4096}})
      for (const label_filter filter :
           {label_filter::any, label_filter::same, label_filter::different})
        for (const bool exclude_self : {true, false}) {
          CAPTURE(threads);
          CAPTURE(block_queries);
          CAPTURE(static_cast<int>(filter));
          CAPTURE(exclude_self);
          omp_set_num_threads(threads);
          engine::knn_request request;
          request.k = k;
          request.exclude_self = exclude_self;
          request.filter = filter;
          request.query_labels = &yd;
          request.ref_labels = &yd;
          request.blocks = {block_queries, 37};
          const auto state = engine::knn(*be, xd, xd, request);
          const index_matrix idx = labels_to_host(*be, state.indices);
          const matrix<T> dist = to_host(*be, state.sqdist);
          for (index_t q = 0; q < n; ++q) {
            const auto expected = test::brute_force_knn(X, y, q, k, exclude_self, filter);
            for (index_t t = 0; t < k; ++t) {
              CHECK(idx(t, q) == expected[t]);
              CHECK(
                  dist(t, q) ==
                  doctest::Approx((X.col(q) - X.col(expected[t])).squaredNorm()).epsilon(tol<T>()));
            }
          }
        }
  omp_set_num_threads(saved);
}

TEST_CASE_TEMPLATE("engine::knn_within keeps the nearest inside each query's radius", T, float,
                   double) {
  // Radii between the m-th and (m+1)-th brute-force distance, m from 0 to past k, so that
  // some lists fill and some stay part empty; a self search with the impostor filter, as LMNN.
  auto be = make_backend<T>(device::cpu);
  const index_t d = 4, n = 203, k = 5;
  const matrix<T> X = test::random_matrix<T>(d, n, 61);
  const label_vector y = test::random_labels(n, 3, 62);
  auto xd = to_device<T>(*be, X);
  auto yd = labels_to_device(*be, y);
  std::vector<std::vector<label_t>> expected(static_cast<std::size_t>(n));
  std::vector<T> radius2(static_cast<std::size_t>(n));
  for (index_t q = 0; q < n; ++q) {
    const auto all = test::brute_force_knn(X, y, q, k + 3, true, label_filter::different);
    auto dq = [&](index_t t) { return (X.col(q) - X.col(all[t])).squaredNorm(); };
    const index_t m = q % (k + 3);  // the number inside the radius
    radius2[q] = m == 0 ? dq(0) / 2 : (dq(m - 1) + dq(m)) / 2;
    expected[q].assign(all.begin(), all.begin() + std::min(m, k));
  }
  device_array<T> rd = be->alloc(n, 1);
  be->upload(radius2.data(), rd);
  const int saved = omp_get_max_threads();
  for (const int threads : {1, 2})
    for (const index_t block_queries : {index_t{32}, index_t{4096}}) {
      CAPTURE(threads);
      CAPTURE(block_queries);
      omp_set_num_threads(threads);
      engine::knn_request request;
      request.k = k;
      request.exclude_self = true;
      request.filter = label_filter::different;
      request.query_labels = &yd;
      request.ref_labels = &yd;
      request.blocks = {block_queries, 37};
      const auto state = engine::knn_within(*be, xd, xd, request, rd);
      const index_matrix idx = labels_to_host(*be, state.indices);
      const matrix<T> dist = to_host(*be, state.sqdist);
      for (index_t q = 0; q < n; ++q) {
        const index_t inside = static_cast<index_t>(expected[q].size());
        for (index_t t = 0; t < k; ++t) {
          CHECK(idx(t, q) == (t < inside ? expected[q][t] : -1));
          if (t >= inside) CHECK(dist(t, q) == radius2[q]);
        }
      }
    }
  omp_set_num_threads(saved);
  CHECK_THROWS_WITH_AS(engine::knn_within(*be, xd, xd, engine::knn_request{}, xd),
                       doctest::Contains("radius2 has"), mahal::invalid_argument);
}

TEST_CASE_TEMPLATE("engine::knn equals brute force for queries and references apart", T, float,
                   double) {
  auto be = make_backend<T>(device::cpu);
  const index_t d = 7, nq = 257, nr = 1500, k = 10;
  const matrix<T> Q = test::random_matrix<T>(d, nq, 51);
  const matrix<T> R = test::random_matrix<T>(d, nr, 52);
  auto qd = to_device<T>(*be, Q), rd = to_device<T>(*be, R);
  engine::knn_request request;
  request.k = k;
  for (const engine::block_sizes blocks : {engine::block_sizes{}, engine::block_sizes{33, 100}}) {
    request.blocks = blocks;
    const auto state = engine::knn(*be, qd, rd, request);
    const index_matrix idx = labels_to_host(*be, state.indices);
    for (index_t q = 0; q < nq; ++q) {
      std::vector<label_t> order(nr);
      for (label_t r = 0; r < nr; ++r) order[r] = r;
      auto dq = [&](label_t r) { return (Q.col(q) - R.col(r)).squaredNorm(); };
      std::stable_sort(order.begin(), order.end(),
                       [&](label_t a, label_t b) { return dq(a) < dq(b); });
      for (index_t t = 0; t < k; ++t) CHECK(idx(t, q) == order[t]);
    }
  }
}

TEST_CASE("knn_search: the identity metric (searched without a transform) agrees with 2·I") {
  auto be = make_backend<double>(device::cpu);
  const index_t d = 4, nq = 40, nr = 300, k = 5;
  const matrix<double> Q = test::random_matrix<double>(d, nq, 61);
  const matrix<double> R = test::random_matrix<double>(d, nr, 62);
  knn_options options;
  options.k = k;
  const auto plain = knn_search<double>(*be, metric<double>::identity(d), Q, R, options);
  const matrix<double> twice = 2.0 * matrix<double>::Identity(d, d);
  const auto scaled =
      knn_search<double>(*be, metric<double>::from_linear_map(twice), Q, R, options);
  CHECK(plain.indices == scaled.indices);
  for (index_t q = 0; q < nq; ++q)
    for (index_t t = 0; t < k; ++t) {
      CHECK(plain.sqdist(t, q) ==
            doctest::Approx((Q.col(q) - R.col(plain.indices(t, q))).squaredNorm()).epsilon(1e-11));
      CHECK(scaled.sqdist(t, q) == doctest::Approx(4.0 * plain.sqdist(t, q)).epsilon(1e-11));
    }
}

// k-NN search and classification: hand fixtures (including ties) and brute force.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "mahal/error.hpp"
#include "mahal/neighbors.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE("hand fixture on a line: neighbours, ties to the smaller index, classification") {
  auto be = make_backend<double>(device::cpu);
  // Points 0, 1, 2, 3, 10 on a line; query at 1.5 is equidistant from 1 and 2.
  matrix<double> X(1, 5);
  X << 0, 1, 2, 3, 10;
  const label_vector y = (label_vector(5) << 0, 0, 1, 1, 1).finished();
  matrix<double> q(1, 2);
  q << 1.5, 9;
  knn_options opt;
  opt.k = 3;
  const auto m = metric<double>::identity(1);
  const auto nn = knn_search<double>(*be, m, q, X, opt);
  CHECK(nn.indices.col(0) == (index_matrix(3, 1) << 1, 2, 0).finished());
  CHECK(nn.sqdist(0, 0) == doctest::Approx(0.25));
  CHECK(nn.sqdist(2, 0) == doctest::Approx(2.25));
  CHECK(nn.indices.col(1) == (index_matrix(3, 1) << 4, 3, 2).finished());
  // Votes: query 0 sees labels (0, 1, 0) → 0; query 1 sees (1, 1, 1) → 1.
  CHECK(knn_classify(nn, y) == (label_vector(2) << 0, 1).finished());
  // A 1–1 tie in votes with k = 2 goes to the nearer neighbour's label.
  opt.k = 2;
  matrix<double> q2(1, 1);
  q2 << 1.6;  // nearest 2 (label 1), then 1 (label 0)
  CHECK(knn_classify(knn_search<double>(*be, m, q2, X, opt), y)(0) == 1);
  // A metric scales distances: L = 2 quadruples them.
  const auto m2 = metric<double>::from_linear_map(matrix<double>::Constant(1, 1, 2));
  CHECK(knn_search<double>(*be, m2, q, X, opt).sqdist(0, 0) == doctest::Approx(1.0));
}

TEST_CASE_TEMPLATE("blocked search equals brute force for every block shape", T, float, double) {
  auto be = make_backend<T>(device::cpu);
  const index_t d = 4, n = 97, nq = 33;
  const matrix<T> X = test::random_matrix<T>(d, n, 71);
  const matrix<T> Q = test::random_matrix<T>(d, nq, 72);
  const matrix<T> L = test::random_matrix<T>(2, d, 73);
  const auto m = metric<T>::from_linear_map(L);
  for (const auto blocks : {engine::block_sizes{}, engine::block_sizes{5, 11},
                            engine::block_sizes{1, 1}, engine::block_sizes{64, 3}}) {
    knn_options opt;
    opt.k = 6;
    opt.blocks = blocks;
    const auto nn = knn_search<T>(*be, m, Q, X, opt);
    for (index_t q = 0; q < nq; ++q) {
      std::vector<index_t> order(n);
      std::iota(order.begin(), order.end(), 0);
      auto dist = [&](index_t r) { return (L * (Q.col(q) - X.col(r))).squaredNorm(); };
      std::stable_sort(order.begin(), order.end(),
                       [&](index_t a, index_t b) { return dist(a) < dist(b); });
      for (index_t t = 0; t < opt.k; ++t) {
        CHECK(nn.indices(t, q) == order[t]);
        CHECK(nn.sqdist(t, q) == doctest::Approx(dist(order[t])).epsilon(1e-4));
      }
    }
  }
}

TEST_CASE("bad input to the search is named") {
  auto be = make_backend<double>(device::cpu);
  const matrix<double> X = test::random_matrix<double>(3, 6, 81);
  const label_vector y = (label_vector(6) << 0, 0, 0, 1, 1, 2).finished();
  const auto m = metric<double>::identity(3);
  knn_options opt;
  opt.k = 6;
  CHECK_NOTHROW(knn_search<double>(*be, m, X, X, opt));
  opt.exclude_self = true;
  CHECK_THROWS_WITH_AS(knn_search<double>(*be, m, X, X, opt), doctest::Contains("k = 6"),
                       invalid_argument);
  opt.k = 2;
  opt.filter = label_filter::same;
  // Class 1 has two members: one same-class candidate each, fewer than k = 2.
  CHECK_THROWS_WITH_AS(knn_search<double>(*be, m, X, y, X, y, opt),
                       doctest::Contains("same-class candidates"), invalid_argument);
  CHECK_THROWS_AS(knn_search<double>(*be, m, X, X, opt), invalid_argument);  // filter, no labels
  opt = {};
  CHECK_THROWS_AS(knn_search<double>(*be, m, matrix<double>(2, 4), X, opt), invalid_argument);
  matrix<double> bad = X;
  bad(2, 3) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(knn_search<double>(*be, m, bad, X, opt),
                       doctest::Contains("queries(2, 3)"), invalid_argument);
  const label_vector out_of_range = (label_vector(6) << 0, 0, 0, 1, -1, 2).finished();
  opt.filter = label_filter::different;
  CHECK_THROWS_WITH_AS(knn_search<double>(*be, m, X, out_of_range, X, y, opt),
                       doctest::Contains("label -1"), invalid_argument);
  CHECK_THROWS_AS(accuracy(y, label_vector(3)), invalid_argument);
}

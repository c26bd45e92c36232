// The pair scatter as a gradient, checked by central finite differences.
#include <doctest/doctest.h>

#include "mahal/distances.hpp"
#include "mahal/error.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

// Σ_k w_k ||L(x_i − x_j)||²
double weighted_sqdist_sum(const matrix<double>& L, const matrix<double>& X, const pair_list& p,
                           const vector<double>& w) {
  double f = 0;
  for (std::size_t k = 0; k < p.size(); ++k)
    f += w(k) * (L * (X.col(p[k].i) - X.col(p[k].j))).squaredNorm();
  return f;
}

// Xing's g(A) = Σ_D sqrt(δᵀAδ), evaluated at A = LᵀL as a function of A.
double xing_g(const matrix<double>& A, const matrix<double>& X, const pair_list& p) {
  double g = 0;
  for (const auto& q : p) {
    const vector<double> delta = X.col(q.i) - X.col(q.j);
    g += std::sqrt(delta.dot(A * delta));
  }
  return g;
}

}  // namespace

TEST_CASE("2·L·G is the gradient of Σ w ||L δ||² with respect to L") {
  auto be = make_backend<double>(device::cpu);
  const index_t d = 6, n = 30, k = 4;
  const matrix<double> X = test::random_matrix<double>(d, n, 41);
  const matrix<double> L = test::random_matrix<double>(k, d, 42);
  detail::rng g(43);
  pair_list pairs;
  vector<double> w(50);
  for (index_t t = 0; t < 50; ++t) {
    pairs.push_back({static_cast<label_t>(g.below(n)), static_cast<label_t>(g.below(n))});
    w(t) = g.normal();
  }
  const matrix<double> grad = pair_scatter_linear<double>(*be, L, X, pairs, w);
  const double h = 1e-6;
  for (index_t r = 0; r < k; ++r)
    for (index_t c = 0; c < d; ++c) {
      matrix<double> Lp = L, Lm = L;
      Lp(r, c) += h;
      Lm(r, c) -= h;
      const double fd =
          (weighted_sqdist_sum(Lp, X, pairs, w) - weighted_sqdist_sum(Lm, X, pairs, w)) / (2 * h);
      CHECK(grad(r, c) == doctest::Approx(fd).epsilon(1e-6));
    }
}

TEST_CASE("scatter with weights 1/(2 d) is the gradient of Xing's g(A) = Σ_D ||δ||_A") {
  auto be = make_backend<double>(device::cpu);
  const index_t d = 4, n = 25;
  const matrix<double> X = test::random_matrix<double>(d, n, 51);
  const matrix<double> B = test::random_matrix<double>(d, d, 52);
  const matrix<double> A = B.transpose() * B + matrix<double>::Identity(d, d);
  pair_list pairs;
  for (label_t i = 0; i < 10; ++i) pairs.push_back({i, static_cast<label_t>(i + 10)});
  // weights w = 1 / (2 sqrt(δᵀAδ)), the derivative of sqrt, from the metric's pair distances
  const auto m = metric<double>::from_psd(A);
  const vector<double> sq = pair_sqdist<double>(*be, m, X, pairs);
  const vector<double> w = (2.0 * sq.array().sqrt()).inverse().matrix();
  const matrix<double> G = pair_scatter<double>(*be, X, pairs, w);
  const double h = 1e-6;
  for (index_t r = 0; r < d; ++r)
    for (index_t c = 0; c < d; ++c) {
      matrix<double> Ap = A, Am = A;
      Ap(r, c) += h;
      Am(r, c) -= h;
      const double fd = (xing_g(Ap, X, pairs) - xing_g(Am, X, pairs)) / (2 * h);
      CHECK(G(r, c) == doctest::Approx(fd).epsilon(1e-6));
    }
}

TEST_CASE("the scatter rejects mismatched and out-of-range input") {
  auto be = make_backend<double>(device::cpu);
  const matrix<double> X = test::random_matrix<double>(3, 5, 1);
  vector<double> w(1);
  w << 1;
  CHECK_THROWS_AS(pair_scatter<double>(*be, X, {{0, 5}}, w), invalid_argument);
  CHECK_THROWS_AS(pair_scatter<double>(*be, X, {{0, 1}, {1, 2}}, w), invalid_argument);
  matrix<double> bad = X;
  bad(1, 2) = std::nan("");
  CHECK_THROWS_WITH_AS(pair_scatter<double>(*be, bad, {{0, 1}}, w),
                       doctest::Contains("X(1, 2)"), invalid_argument);
  CHECK_THROWS_AS(pair_scatter_linear<double>(*be, matrix<double>::Identity(2, 4), X, {{0, 1}}, w),
                  invalid_argument);
}

// The CPU backend's operations against fixtures computed by hand and brute-force loops.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/engine.hpp"
#include "mahal/error.hpp"
#include "pair_scatter_cases.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {
template <class T>
double tol() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}
}  // namespace

TEST_CASE_TEMPLATE("gemm matches a hand-computed product, with transposes and beta", T, float,
                   double) {
  auto be = make_backend<T>(device::cpu);
  matrix<T> A(2, 3), B(3, 2), C(2, 2);
  A << 1, 2, 3, 4, 5, 6;
  B << 7, 8, 9, 10, 11, 12;
  C << 1, 1, 1, 1;
  auto a = to_device<T>(*be, A), b = to_device<T>(*be, B), c = to_device<T>(*be, C);
  be->gemm(false, false, T(1), a, b, T(2), c);
  matrix<T> expected(2, 2);
  expected << 58 + 2, 64 + 2, 139 + 2, 154 + 2;
  CHECK(test::relative_error(to_host(*be, c), expected) < tol<T>());
  // Aᵀ·Aᵀᵀ = AᵀA (3×3)
  auto c2 = be->alloc(3, 3);
  be->gemm(true, false, T(1), a, a, T(0), c2);
  CHECK(test::relative_error(to_host(*be, c2), matrix<T>(A.transpose() * A)) < tol<T>());
  auto bad = be->alloc(3, 3);
  CHECK_THROWS_AS(be->gemm(false, false, T(1), a, a, T(0), bad), invalid_argument);
}

TEST_CASE_TEMPLATE("pair_scatter reads only the points of weighted pairs", T, float, double) {
  auto be = make_backend<T>(device::cpu);
  test::check_scatter_reads_weighted_points(*be);
}

TEST_CASE_TEMPLATE("pair_scatter equals the sum of weighted outer products", T, float, double) {
  auto be = make_backend<T>(device::cpu);
  // Hand fixture: x0 = (0,0), x1 = (1,0), x2 = (3,4); pairs (0,1) twice with weights 2 and 0.5,
  // (1,2) with weight −1:  G = 2.5·[1 0; 0 0] − [4 8; 8 16] = [−1.5 −8; −8 −16].
  matrix<T> X(2, 3);
  X << 0, 1, 3, 0, 0, 4;
  const pair_list pairs = {{0, 1}, {1, 2}, {1, 0}};
  vector<T> w(3);
  w << 2, -1, 0.5;
  auto Xd = to_device<T>(*be, X);
  auto G = be->alloc(2, 2);
  be->pair_scatter(Xd, Xd, pairs_to_device(*be, pairs), to_device<T>(*be, w), T(1), T(0), G);
  matrix<T> expected(2, 2);
  expected << -1.5, -8, -8, -16;
  CHECK(test::relative_error(to_host(*be, G), expected) < tol<T>());

  // Random problem against a loop of outer products, for P = Q and for P = LX ≠ Q, with only
  // some points in pairs (the gathered path) and with all of them.
  for (const index_t m : {5, 400}) {
    const index_t d = 7, n = 60, k = 3;
    CAPTURE(m);
    const matrix<T> Xr = test::random_matrix<T>(d, n, 11);
    const matrix<T> L = test::random_matrix<T>(k, d, 12);
    detail::rng g(13);
    pair_list ps;
    vector<T> ws(m);
    for (index_t t = 0; t < m; ++t) {
      ps.push_back({static_cast<label_t>(g.below(n)), static_cast<label_t>(g.below(n))});
      ws(t) = static_cast<T>(g.normal());
    }
    matrix<double> ref = matrix<double>::Zero(d, d);
    for (index_t t = 0; t < m; ++t) {
      const vector<double> delta = (Xr.col(ps[t].i) - Xr.col(ps[t].j)).template cast<double>();
      ref += static_cast<double>(ws(t)) * delta * delta.transpose();
    }
    auto xd = to_device<T>(*be, Xr);
    auto pd = pairs_to_device(*be, ps);
    auto wd = to_device<T>(*be, ws);
    auto out = be->alloc(d, d);
    be->fill(out, T(3));
    be->pair_scatter(xd, xd, pd, wd, T(1), T(0), out);
    CHECK(test::relative_error(to_host(*be, out).template cast<double>(), ref) < 10 * tol<T>());
    // L-space form: alpha = 2, P = LX, Q = X gives 2·L·G; beta accumulates.
    auto zd = to_device<T>(*be, matrix<T>(L * Xr));
    auto lg = be->alloc(k, d);
    be->fill(lg, T(1));
    be->pair_scatter(zd, xd, pd, wd, T(2), T(1), lg);
    const matrix<double> expected_lg =
        2.0 * L.template cast<double>() * ref + matrix<double>::Ones(k, d);
    CHECK(test::relative_error(to_host(*be, lg).template cast<double>(), expected_lg) <
          10 * tol<T>());
  }
}

TEST_CASE_TEMPLATE("pair_sqdist, col_dots and sqdist_block agree with direct formulas", T, float,
                   double) {
  auto be = make_backend<T>(device::cpu);
  const index_t d = 5, n = 40, nb = 23;
  const matrix<T> P = test::random_matrix<T>(d, n, 21);
  const matrix<T> Q = test::random_matrix<T>(d, nb, 22);
  const pair_list pairs = {{0, 1}, {3, 3}, {39, 2}, {7, 20}};
  auto pd = to_device<T>(*be, P);
  auto out = be->alloc(4, 1);
  be->pair_sqdist(pd, pd, pairs_to_device(*be, pairs), out);
  const matrix<T> got = to_host(*be, out);
  for (std::size_t t = 0; t < pairs.size(); ++t)
    CHECK(got(t) ==
          doctest::Approx((P.col(pairs[t].i) - P.col(pairs[t].j)).squaredNorm()).epsilon(tol<T>()));
  CHECK(got(1) == 0);

  auto qd = to_device<T>(*be, Q);
  auto pn = be->alloc(n, 1), qn = be->alloc(nb, 1);
  be->col_dots(pd, pd, pn);
  be->col_dots(qd, qd, qn);
  auto block = be->alloc(n, nb);
  be->sqdist_block(pd, qd, pn, qn, block);
  const matrix<T> D = to_host(*be, block);
  for (index_t a = 0; a < n; ++a)
    for (index_t b = 0; b < nb; ++b)
      CHECK(D(a, b) ==
            doctest::Approx((P.col(a) - Q.col(b)).squaredNorm()).epsilon(1e3 * tol<T>()));
  // Identical columns give exactly zero (clamped), never a negative distance.
  auto self = be->alloc(n, n);
  be->sqdist_block(pd, pd, pn, pn, self);
  const matrix<T> S = to_host(*be, self);
  CHECK(S.minCoeff() >= 0);
  CHECK(S.diagonal().maxCoeff() < 1e2 * tol<T>());
}

TEST_CASE_TEMPLATE("topk_merge over several blocks equals a full sort, with filters", T, float,
                   double) {
  auto be = make_backend<T>(device::cpu);
  const index_t d = 3, n = 50, k = 4;
  const matrix<T> X = test::random_matrix<T>(d, n, 31);
  const label_vector y = test::random_labels(n, 3, 32);
  auto xd = to_device<T>(*be, X);
  auto yd = labels_to_device(*be, y);
  auto norms = be->alloc(n, 1);
  be->col_dots(xd, xd, norms);
  for (const label_filter filter :
       {label_filter::any, label_filter::same, label_filter::different}) {
    CAPTURE(static_cast<int>(filter));
    topk_state<T> state = engine::empty_topk_state(*be, k, n);
    // Blocks of 16 queries × 7 references, merged in reverse reference order to exercise ties
    // and out-of-order merges.
    for (index_t r0 = (n - 1) / 7 * 7; r0 >= 0; r0 -= 7)
      for (index_t q0 = 0; q0 < n; q0 += 16) {
        const index_t qb = std::min<index_t>(16, n - q0), rb = std::min<index_t>(7, n - r0);
        auto block = be->alloc(qb, rb);
        be->sqdist_block(xd.col_range(q0, qb), xd.col_range(r0, rb), norms.segment(q0, qb),
                         norms.segment(r0, rb), block);
        topk_block at{q0, r0, true, filter, yd.data(), yd.data()};
        be->topk_merge(block, at, state);
      }
    const index_matrix idx = labels_to_host(*be, state.indices);
    const matrix<T> dist = to_host(*be, state.sqdist);
    for (index_t q = 0; q < n; ++q) {
      const std::vector<label_t> order = test::brute_force_knn(X, y, q, k, true, filter);
      auto dq = [&](label_t r) { return (X.col(q) - X.col(r)).squaredNorm(); };
      for (index_t t = 0; t < k; ++t) {
        if (t < static_cast<index_t>(order.size())) {
          CHECK(idx(t, q) == order[t]);
          CHECK(dist(t, q) == doctest::Approx(dq(order[t])).epsilon(1e3 * tol<T>()));
        } else {
          CHECK(idx(t, q) == -1);
        }
      }
    }
  }
}

TEST_CASE_TEMPLATE("sym_eig, map, reductions", T, float, double) {
  auto be = make_backend<T>(device::cpu);
  matrix<T> A(2, 2);
  A << 2, 1, 1, 2;
  auto ad = to_device<T>(*be, A);
  auto w = be->alloc(2, 1), V = be->alloc(2, 2);
  be->sym_eig(ad, w, V);
  const matrix<T> wv = to_host(*be, w), Vh = to_host(*be, V);
  CHECK(wv(0) == doctest::Approx(1).epsilon(tol<T>()));
  CHECK(wv(1) == doctest::Approx(3).epsilon(tol<T>()));
  CHECK(test::relative_error(matrix<T>(Vh * wv.col(0).asDiagonal() * Vh.transpose()), A) <
        tol<T>());

  matrix<T> x(5, 1);
  x << 4, 0, -1, 0.25, 9;
  auto xd = to_device<T>(*be, x);
  auto yd = be->alloc(5, 1);
  be->map(unary_op::sqrt, xd, yd);
  matrix<T> e(5, 1);
  e << 2, 0, 0, 0.5, 3;
  CHECK(test::relative_error(to_host(*be, yd), e) < tol<T>());
  be->map(unary_op::inv_two_sqrt, xd, yd);
  e << 0.25, 0, 0, 1, T(1) / 6;
  CHECK(test::relative_error(to_host(*be, yd), e) < tol<T>());
  be->map(unary_op::reciprocal, xd, yd);
  e << 0.25, 0, -1, 4, T(1) / 9;
  CHECK(test::relative_error(to_host(*be, yd), e) < tol<T>());
  be->map(unary_op::step, xd, yd);
  e << 1, 0, 0, 1, 1;
  CHECK(to_host(*be, yd) == e);
  CHECK(be->sum(xd) == doctest::Approx(12.25));
  CHECK(be->dot(xd, xd) == doctest::Approx(16 + 1 + 0.0625 + 81));
  be->axpy(T(2), xd, yd);  // y = step(x) + 2x
  e << 9, 0, -2, 1.5, 19;
  CHECK(test::relative_error(to_host(*be, yd), e) < tol<T>());
}

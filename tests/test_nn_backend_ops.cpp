// The backend operations added for the neural layer, against plain host loops.
#include <doctest/doctest.h>

#include <limits>
#include <vector>

#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE("pair_laplacian equals the dense Z·Lap on both CPU paths (per pair and per vertex)") {
  auto be = make_backend<double>(device::cpu);
  // rows·m below and above the CPU backend's switch between its two loops (2^18).
  for (index_t rows : {3, 600}) {
    const index_t n = 50, m = 500;
    const matrix<double> Z = test::random_matrix<double>(rows, n, 91);
    detail::rng g(92);
    pair_list pairs;
    vector<double> w(m);
    matrix<double> lap = matrix<double>::Zero(n, n);
    for (index_t k = 0; k < m; ++k) {
      const auto i = static_cast<label_t>(g.below(n)), j = static_cast<label_t>(g.below(n));
      pairs.push_back({i, j});
      w(k) = g.normal();
      lap(i, i) += w(k);
      lap(j, j) += w(k);
      lap(i, j) -= w(k);
      lap(j, i) -= w(k);
    }
    const matrix<double> start = test::random_matrix<double>(rows, n, 93);
    auto out = to_device<double>(*be, start);
    auto wd = to_device<double>(*be, w);
    be->pair_laplacian(to_device<double>(*be, Z), pairs_to_device(*be, pairs), wd, 2.0, out);
    CHECK(test::relative_error(to_host(*be, out), start + 2.0 * Z * lap) < 1e-12);
  }
}

TEST_CASE("pair_laplacian skips pairs of weight zero and self pairs on both CPU paths") {
  // Column 3 is NaN and occurs only in a pair of weight zero and in a self pair: it is never
  // read, so the result is that of the other pairs alone (as for pair_scatter).
  auto be = make_backend<double>(device::cpu);
  for (index_t rows : {2, 600}) {
    const index_t n = 4;
    matrix<double> Z = test::random_matrix<double>(rows, n, 94);
    Z.col(3).setConstant(std::numeric_limits<double>::quiet_NaN());
    pair_list pairs, active;
    std::vector<double> w, w_active;
    for (int copy = 0; copy < 300; ++copy) {  // 600 pairs: rows·m crosses 2^18 for rows = 600
      pairs.insert(pairs.end(), {{0, 1}, {1, 3}, {3, 3}, {2, 0}});
      w.insert(w.end(), {1.5, 0.0, 2.0, -0.5});
      active.insert(active.end(), {{0, 1}, {2, 0}});
      w_active.insert(w_active.end(), {1.5, -0.5});
    }
    auto out = be->alloc(rows, n), expected = be->alloc(rows, n);
    be->fill(out, 0.0);
    be->fill(expected, 0.0);
    const auto vec = [](const std::vector<double>& v) {
      return vector<double>(Eigen::Map<const vector<double>>(v.data(), std::ssize(v)));
    };
    const auto Zd = to_device<double>(*be, Z);
    be->pair_laplacian(Zd, pairs_to_device(*be, pairs), to_device<double>(*be, vec(w)), 0.5, out);
    be->pair_laplacian(Zd, pairs_to_device(*be, active), to_device<double>(*be, vec(w_active)), 0.5,
                       expected);
    const matrix<double> got = to_host(*be, out), want = to_host(*be, expected);
    CHECK(got.allFinite());
    CHECK(test::relative_error(got, want) < 1e-12);
    // alpha = 0 adds nothing at all.
    be->pair_laplacian(Zd, pairs_to_device(*be, pairs), to_device<double>(*be, vec(w)), 0.0, out);
    CHECK(to_host(*be, out) == got);
  }
}

TEST_CASE("gather_cols, add_to_cols, add_row_sums, scale_cols, map2 by hand") {
  auto be = make_backend<float>(device::cpu);
  matrix<float> x(2, 3);
  x << 1, 2, 3, -4, 5, -6;
  auto xd = to_device<float>(*be, x);
  label_vector idx(4);
  idx << 2, 0, 2, 1;
  auto out = be->alloc(2, 4);
  be->gather_cols(xd, labels_to_device(*be, label_ref(idx)), out);
  matrix<float> expect(2, 4);
  expect << 3, 1, 3, 2, -6, -4, -6, 5;
  CHECK(to_host(*be, out) == expect);
  vector<float> b(2);
  b << 10, 20;
  be->add_to_cols(to_device<float>(*be, b), xd);
  matrix<float> xb(2, 3);
  xb << 11, 12, 13, 16, 25, 14;
  CHECK(to_host(*be, xd) == xb);
  auto sums = to_device<float>(*be, b);
  be->add_row_sums(xd, sums);
  CHECK(to_host(*be, sums)(0) == 10 + 36);
  CHECK(to_host(*be, sums)(1) == 20 + 55);
  vector<float> s(3);
  s << 1, 0, -2;
  be->scale_cols(to_device<float>(*be, s), xd);
  matrix<float> xs(2, 3);
  xs << 11, 0, -26, 16, 0, -28;
  CHECK(to_host(*be, xd) == xs);
  auto a = to_device<float>(*be, x), r = be->alloc(2, 3);
  be->map2(binary_op::relu_grad, xd, a, r);  // xd where x > 0
  matrix<float> rg(2, 3);
  rg << 11, 0, -26, 0, 0, 0;
  CHECK(to_host(*be, r) == rg);
  be->map2(binary_op::tanh_grad, a, a, r);  // x (1 − x²)
  CHECK(to_host(*be, r)(0, 1) == 2 * (1 - 4));
  CHECK_THROWS_AS(be->add_to_cols(to_device<float>(*be, s), xd), invalid_argument);
  CHECK_THROWS_AS(be->scale_cols(to_device<float>(*be, b), xd), invalid_argument);
  label_vector bad(1);
  bad << 3;
  auto one = be->alloc(2, 1);
  CHECK_THROWS_AS(be->gather_cols(a, labels_to_device(*be, label_ref(bad)), one), invalid_argument);
}

// pair_scatter on a mini-batch's pairs, against the sum from its definition in
// mahal/backend.hpp. Shared by the CPU and the GPU tests.
#pragma once

#include <doctest/doctest.h>

#include <limits>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/constraints.hpp"
#include "mahal/device_transfer.hpp"
#include "test_support.hpp"

namespace mahal::test {

// Most points are in no pair, some pairs have weight 0, and every column outside the weighted
// pairs holds NaN: only the weighted pairs' points may be read (the GEMM runs over them alone).
// With no weighted pair at all, out = beta·out exactly.
template <class T>
void check_scatter_reads_weighted_points(backend<T>& be) {
  const index_t n = 200, rows_p = 3, rows_q = 6;
  const pair_list pairs = {{4, 9}, {9, 150}, {17, 17}, {60, 199}, {150, 4}, {33, 120}};
  const std::vector<T> w = {T(1.5), T(-0.5), T(2), T(0), T(0.25), T(0)};
  const std::vector<index_t> weighted = {4, 9, 150};  // (17, 17) adds nothing either
  matrix<T> P = matrix<T>::Constant(rows_p, n, std::numeric_limits<T>::quiet_NaN());
  matrix<T> Q = matrix<T>::Constant(rows_q, n, std::numeric_limits<T>::quiet_NaN());
  const matrix<T> values_p = random_matrix<T>(rows_p, n, 85),
                  values_q = random_matrix<T>(rows_q, n, 86);
  for (const index_t v : weighted) {
    P.col(v) = values_p.col(v);
    Q.col(v) = values_q.col(v);
  }
  const matrix<T> out0 = random_matrix<T>(rows_p, rows_q, 87);
  matrix<double> expected = 0.3 * out0.template cast<double>();
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    if (w[k] == T(0) || pairs[k].i == pairs[k].j) continue;
    const vector<double> dp = (P.col(pairs[k].i) - P.col(pairs[k].j)).template cast<double>();
    const vector<double> dq = (Q.col(pairs[k].i) - Q.col(pairs[k].j)).template cast<double>();
    expected += 0.7 * static_cast<double>(w[k]) * dp * dq.transpose();
  }
  const auto pd = pairs_to_device(be, pairs);
  const auto Pd = to_device<T>(be, P), Qd = to_device<T>(be, Q);
  auto wd = be.alloc(static_cast<index_t>(w.size()), 1);
  be.upload(w.data(), wd);
  auto out = to_device<T>(be, out0);
  be.pair_scatter(Pd, Qd, pd, wd, T(0.7), T(0.3), out);
  const matrix<double> got = to_host(be, out).template cast<double>();
  CHECK(got.allFinite());
  CHECK(relative_error(got, expected) < (sizeof(T) == 4 ? 1e-5 : 1e-12));
  be.fill(wd, T(0));
  auto out2 = to_device<T>(be, out0);
  be.pair_scatter(Pd, Qd, pd, wd, T(0.7), T(0.5), out2);
  CHECK(to_host(be, out2) == (T(0.5) * out0).eval());
}

}  // namespace mahal::test

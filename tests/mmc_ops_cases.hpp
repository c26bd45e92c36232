// The backend's MMC operation (mmc_diagonal_terms) against plain loops written from its
// definition in mahal/backend.hpp. Shared by the CPU test and the GPU test.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/device_transfer.hpp"
#include "test_support.hpp"

namespace mahal::test {

// Blocks with and without the upper-triangle rule, clamped distances (a duplicate and a
// near-duplicate point), a zero weight, and sums that add onto earlier ones; d >= 4 (d > 32
// tiles the GPU's Hessian).
template <class T>
void check_mmc_diagonal_terms(backend<T>& be, index_t d) {
  const index_t n = 40;
  matrix<T> X = random_matrix<T>(d, n, 31);
  X.col(12) = X.col(9);  // dist = 0
  X.col(15) = X.col(10);
  X(2, 15) += T(1e-3);  // dist ≈ 1e-3: dist³ below the clamp
  std::vector<T> w(static_cast<std::size_t>(d));
  for (index_t f = 0; f < d; ++f) w[f] = f == 3 ? T(0) : static_cast<T>(0.5 + 0.4 * (f % 4));
  const auto Xd = to_device<T>(be, X);
  auto wd = be.alloc(d, 1);
  be.upload(w.data(), wd);
  struct block {
    index_t r0, nr, c0, nc;
    bool upper;
  };
  for (const block b :
       {block{7, 13, 7, 17, true}, block{0, 9, 20, 20, false}, block{5, 20, 0, 40, true}}) {
    CAPTURE(b.r0);
    CAPTURE(b.c0);
    CAPTURE(b.upper);
    diagonal_terms ref;
    ref.sum = 1.5;  // the operation adds onto what is there
    ref.grad.assign(static_cast<std::size_t>(d), 0.25);
    ref.hess.assign(static_cast<std::size_t>(d * d), -0.5);
    diagonal_terms got = ref;
    for (index_t a = b.r0; a < b.r0 + b.nr; ++a)
      for (index_t c = b.c0; c < b.c0 + b.nc; ++c) {
        if (b.upper && c <= a) continue;
        std::vector<double> q(static_cast<std::size_t>(d));
        double qw = 0;
        for (index_t f = 0; f < d; ++f) {
          const double delta = static_cast<double>(X(f, a)) - static_cast<double>(X(f, c));
          q[f] = delta * delta;
          qw += q[f] * static_cast<double>(w[f]);
        }
        const double dist = std::sqrt(qw);
        ref.sum += dist;
        for (index_t f = 0; f < d; ++f) {
          ref.grad[f] += q[f] / (2 * std::max(dist, 1e-6));
          for (index_t g = 0; g < d; ++g)
            ref.hess[f + d * g] += q[f] * q[g] / (4 * std::max(dist * dist * dist, 1e-6));
        }
      }
    be.mmc_diagonal_terms(Xd.col_range(b.r0, b.nr), Xd.col_range(b.c0, b.nc), b.r0, b.c0, b.upper,
                          wd, got);
    CHECK(got.sum == doctest::Approx(ref.sum).epsilon(1e-12));
    // max |got − ref| relative to max |ref| (no floor: these sums are not of order one).
    const auto relative = [](const std::vector<double>& g, const std::vector<double>& r) {
      double worst = 0, scale = 0;
      for (std::size_t t = 0; t < r.size(); ++t) {
        scale = std::max(scale, std::abs(r[t]));
        worst = std::max(worst, std::abs(g[t] - r[t]));
      }
      return worst / scale;
    };
    CHECK(relative(got.hess, ref.hess) < 1e-12);
    CHECK(relative(got.grad, ref.grad) < 1e-12);
  }
}

}  // namespace mahal::test

// The backend's two LMNN operations (impostor_pairs, lmnn_hinge) against plain loops written
// from their definitions in mahal/backend.hpp. Shared by the CPU test and the GPU test, so the
// CUDA kernels are held to the same independent reference as the CPU code.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "test_support.hpp"

namespace mahal::test {

inline std::vector<index_pair> sorted(std::vector<index_pair> pairs) {
  std::sort(pairs.begin(), pairs.end(), [](const index_pair& a, const index_pair& b) {
    return a.i != b.i ? a.i < b.i : a.j < b.j;
  });
  return pairs;
}

// n random points in 3 dimensions with 3 labels and random squared ball radii in [0, 4), on the
// host and on the backend's device (with the points' squared norms).
template <class T>
struct balls {
  balls(backend<T>& be, index_t points, std::uint64_t seed)
      : n(points), X(random_matrix<T>(3, n, seed)), y(random_labels(n, 3, seed + 1)) {
    detail::rng g(seed + 2);
    r2.resize(static_cast<std::size_t>(n));
    for (T& r : r2) r = static_cast<T>(4 * g.uniform());
    Xd = to_device<T>(be, X);
    yd = labels_to_device<T>(be, y);
    radius2 = be.alloc(n, 1);
    be.upload(r2.data(), radius2);
    norms = be.alloc(n, 1);
    be.col_dots(Xd, Xd, norms);
  }
  index_t n;
  matrix<T> X;
  label_vector y;
  std::vector<T> r2;
  device_array<T> Xd, radius2, norms;
  device_array<label_t> yd;
};

// Every block position and flag of a small sweep: the pairs found, the count returned, and what
// a too-small `found` gets.
template <class T>
void check_impostor_pairs(backend<T>& be) {
  const balls<T> f(be, 70, 5);
  const index_t n = f.n;
  const label_vector& y = f.y;
  const std::vector<T>& r2 = f.r2;
  const auto &Xd = f.Xd, &norms = f.norms, &radius2 = f.radius2;
  const auto& yd = f.yd;
  struct part {
    index_t q0, qb, r0, rb;
  };
  for (const part b : {part{0, n, 0, n}, part{10, 25, 30, 40}, part{40, 30, 0, 50}}) {
    for (const bool upper : {true, false}) {
      CAPTURE(b.q0);
      CAPTURE(b.r0);
      CAPTURE(upper);
      auto block = be.alloc(b.qb, b.rb);
      be.sqdist_block(Xd.col_range(b.q0, b.qb), Xd.col_range(b.r0, b.rb), norms.segment(b.q0, b.qb),
                      norms.segment(b.r0, b.rb), block);
      matrix<T> D(b.qb, b.rb);
      be.download(block, D.data());
      std::vector<index_pair> expected;
      for (index_t a = 0; a < b.qb; ++a)
        for (index_t c = 0; c < b.rb; ++c) {
          const label_t i = static_cast<label_t>(b.q0 + a), l = static_cast<label_t>(b.r0 + c);
          if ((upper && l <= i) || y(i) == y(l)) continue;
          if (D(a, c) < r2[i]) expected.push_back({i, l});
          if (D(a, c) < r2[l]) expected.push_back({l, i});
        }
      REQUIRE(expected.size() > 10);
      const auto total = static_cast<index_t>(expected.size());
      auto found = be.alloc_labels(2, total + 5);
      CHECK(be.impostor_pairs(block, b.q0, b.r0, upper, radius2, yd, found) == total);
      std::vector<index_pair> got(static_cast<std::size_t>(total + 5));
      be.download_labels(found, reinterpret_cast<label_t*>(got.data()));
      got.resize(static_cast<std::size_t>(total));
      CHECK(sorted(got) == sorted(expected));
      // Too small: the true count, and `capacity` of the expected pairs (a sub-multiset: with
      // upper = false an overlapping block meets a pair twice).
      auto small = be.alloc_labels(2, total / 3);
      CHECK(be.impostor_pairs(block, b.q0, b.r0, upper, radius2, yd, small) == total);
      std::vector<index_pair> some(static_cast<std::size_t>(total / 3));
      be.download_labels(small, reinterpret_cast<label_t*>(some.data()));
      some = sorted(some);
      const std::vector<index_pair> all = sorted(expected);
      CHECK(std::includes(all.begin(), all.end(), some.begin(), some.end(),
                          [](const index_pair& a, const index_pair& c) {
                            return a.i != c.i ? a.i < c.i : a.j < c.j;
                          }));
    }
  }
}

// The whole ball search against its definition: every (i, l) with y_i ≠ y_l and
// ||x_i − x_l||² < radius2(i), each exactly once. Pairs whose distance lies within rounding of
// the radius are not judged. Small blocks give the sweep several chunks and tiles (on a GPU:
// the default block loop over sqdist_block and impostor_pairs).
template <class T>
void check_impostor_sweep(backend<T>& be) {
  const balls<T> f(be, 150, 8);
  const index_t n = f.n;
  const matrix<T>& X = f.X;
  const label_vector& y = f.y;
  const std::vector<T>& r2 = f.r2;
  const auto &Xd = f.Xd, &norms = f.norms, &radius2 = f.radius2;
  const auto& yd = f.yd;
  std::vector<index_pair> expected, unclear;
  for (label_t i = 0; i < n; ++i)
    for (label_t l = 0; l < n; ++l) {
      if (y(i) == y(l)) continue;
      const double d = (X.col(i) - X.col(l)).template cast<double>().squaredNorm();
      const double r = static_cast<double>(r2[i]);
      if (std::abs(d - r) <= 1e-4 * std::max(1.0, r))
        unclear.push_back({i, l});
      else if (d < r)
        expected.push_back({i, l});
    }
  REQUIRE(expected.size() > 500);
  const auto is_unclear = [&](const index_pair& p) {
    return std::find(unclear.begin(), unclear.end(), p) != unclear.end();
  };
  for (const auto& block : {std::pair<index_t, index_t>{16, 37}, {4096, 4096}}) {
    const index_t bq = block.first, br = block.second;
    CAPTURE(bq);
    CAPTURE(br);
    std::vector<index_pair> got = {{-1, -1}};  // appended to, not replaced
    be.impostor_sweep(Xd, norms, radius2, yd, bq, br, got);
    CHECK(got.front() == index_pair{-1, -1});
    got.erase(got.begin());
    got.erase(std::remove_if(got.begin(), got.end(), is_unclear), got.end());
    CHECK(sorted(got) == sorted(expected));  // sorted, so duplicates would show
  }
}

// In double precision a ball's edge is resolved to 1e-12: for each point i, one impostor l_i
// sits just inside the ball (radius² = d²(i, l_i)·(1 + 1e-12), i even) or just outside it
// (1 − 1e-12, i odd), and every pair falls as the direct difference says. (The CPU backend
// sweeps in single precision and tests the pairs it finds in double: a single-precision
// answer would be wrong here.)
inline void check_impostor_sweep_edges(backend<double>& be) {
  const index_t n = 120, dim = 8;
  const matrix<double> X = random_matrix<double>(dim, n, 21);
  const label_vector y = random_labels(n, 3, 22);
  std::vector<double> r2(static_cast<std::size_t>(n));
  std::vector<index_pair> edge;
  for (label_t i = 0; i < n; ++i) {
    label_t l = (i + 1) % n;
    while (y(l) == y(i)) l = (l + 1) % n;
    const double d = (X.col(i) - X.col(l)).squaredNorm();
    r2[i] = d * (i % 2 == 0 ? 1 + 1e-12 : 1 - 1e-12);
    edge.push_back({i, l});
  }
  std::vector<index_pair> expected;
  for (label_t i = 0; i < n; ++i)
    for (label_t l = 0; l < n; ++l)
      if (y(i) != y(l) && (X.col(i) - X.col(l)).squaredNorm() < r2[i]) expected.push_back({i, l});
  const auto Xd = to_device<double>(be, X);
  const auto yd = labels_to_device<double>(be, y);
  auto radius2 = be.alloc(n, 1), norms = be.alloc(n, 1);
  be.upload(r2.data(), radius2);
  be.col_dots(Xd, Xd, norms);
  std::vector<index_pair> got;
  be.impostor_sweep(Xd, norms, radius2, yd, 4096, 4096, got);
  CHECK(sorted(got) == sorted(expected));
  for (const index_pair& p : edge) {
    CAPTURE(p.i);
    CHECK((std::find(got.begin(), got.end(), p) != got.end()) == (p.i % 2 == 0));
  }
}

// The hinge of backend.hpp in plain loops: each anchor's counted candidates are the first
// `nearest` by (distance, position).
struct hinge_reference {
  hinge_sums sums;
  std::vector<double> weights;
};

inline hinge_reference reference_hinge(const std::vector<double>& dist,
                                       const std::vector<label_t>& offsets,
                                       const hinge_options& o) {
  const index_t na = static_cast<index_t>(offsets.size()) - 1, k = o.k;
  hinge_reference ref;
  ref.weights.assign(dist.size(), 0.0);
  for (index_t p = 0; p < na; ++p) {
    std::vector<index_t> cand(static_cast<std::size_t>(offsets[p + 1] - offsets[p]));
    std::iota(cand.begin(), cand.end(), na * k + offsets[p]);
    std::stable_sort(cand.begin(), cand.end(),
                     [&](index_t a, index_t b) { return dist[a] < dist[b]; });
    if (o.nearest > 0 && static_cast<index_t>(cand.size()) > o.nearest)
      cand.resize(static_cast<std::size_t>(o.nearest));
    std::vector<double> target_g(static_cast<std::size_t>(k), 0.0);
    for (index_t a = 0; a < k; ++a) ref.sums.pull += dist[p * k + a];
    for (const index_t e : cand) {
      double g_sum = 0;
      bool active = false;
      for (index_t a = 0; a < k; ++a) {
        const double h = 1 + dist[p * k + a] - dist[e];
        if (h <= 0) continue;
        active = true;
        ++ref.sums.active_triplets;
        ref.sums.push += o.squared ? h * h : h;
        const double g = o.squared ? 2 * h : 1;
        g_sum += g;
        target_g[a] += g;
      }
      ref.sums.active_pairs += active ? 1 : 0;
      ref.weights[e] = -o.mu * o.scale * g_sum;
    }
    for (index_t a = 0; a < k; ++a)
      ref.weights[p * k + a] = o.scale * ((1 - o.mu) + o.mu * target_g[a]);
  }
  return ref;
}

// Anchors with no, few and many candidates, distances on a coarse grid (many ties), both hinges,
// all or the 2 nearest candidates, with and without weights; bad offsets are rejected.
template <class T>
void check_lmnn_hinge(backend<T>& be) {
  const index_t na = 150, k = 3;
  detail::rng g(11);
  std::vector<label_t> offsets{0};
  for (index_t p = 0; p < na; ++p)
    offsets.push_back(offsets.back() +
                      static_cast<label_t>(p % 7 == 0 ? 0 : g.below(p % 5 == 0 ? 90 : 6)));
  const index_t m = na * k + offsets.back();
  std::vector<double> dist(static_cast<std::size_t>(m));
  for (double& v : dist) v = 0.25 * static_cast<double>(g.below(16));  // exact in float too
  std::vector<T> dist_t(dist.begin(), dist.end());
  auto dd = be.alloc(m, 1);
  be.upload(dist_t.data(), dd);
  auto od = be.alloc_labels(na + 1, 1);
  be.upload_labels(offsets.data(), od);
  auto wd = be.alloc(m, 1);
  for (const bool squared : {false, true})
    for (const index_t nearest : {index_t{0}, index_t{2}}) {
      CAPTURE(squared);
      CAPTURE(nearest);
      hinge_options o;
      o.k = k;
      o.nearest = nearest;
      o.mu = 0.3;
      o.scale = 1.75;
      o.squared = squared;
      const hinge_reference ref = reference_hinge(dist, offsets, o);
      REQUIRE(ref.sums.active_triplets > 100);
      const hinge_sums got = be.lmnn_hinge(dd, od, o, &wd);
      CHECK(got.active_triplets == ref.sums.active_triplets);
      CHECK(got.active_pairs == ref.sums.active_pairs);
      const double eps = sizeof(T) == 4 ? 1e-6 : 1e-12;
      CHECK(got.pull == doctest::Approx(ref.sums.pull).epsilon(eps));
      CHECK(got.push == doctest::Approx(ref.sums.push).epsilon(eps));
      std::vector<T> w(static_cast<std::size_t>(m));
      be.download(wd, w.data());
      double worst = 0;
      for (index_t e = 0; e < m; ++e)
        worst = std::max(worst, std::abs(static_cast<double>(w[e]) - ref.weights[e]) /
                                    std::max(1.0, std::abs(ref.weights[e])));
      CHECK(worst < eps);
      const hinge_sums no_weights = be.lmnn_hinge(dd, od, o, nullptr);
      CHECK(no_weights.pull == got.pull);
      CHECK(no_weights.push == got.push);
      CHECK(no_weights.active_triplets == got.active_triplets);
    }
  std::vector<label_t> bad = offsets;
  std::swap(bad[10], bad[11]);
  REQUIRE(bad[10] > bad[11]);  // anchor 10 has candidates, so the swap makes offsets decrease
  be.upload_labels(bad.data(), od);
  CHECK_THROWS_AS(be.lmnn_hinge(dd, od, hinge_options{}, nullptr), invalid_argument);
  bad = offsets;
  bad.back() += 1;  // one candidate more than dist holds
  be.upload_labels(bad.data(), od);
  CHECK_THROWS_AS(be.lmnn_hinge(dd, od, hinge_options{}, nullptr), invalid_argument);
}

}  // namespace mahal::test

// The CUDA backend against the CPU backend: every operation on the same random inputs, for float
// and double. Skips at run time when no CUDA device is usable (ctest label `gpu`).
//
// Inputs come from fixed seeds (printed; set MAHAL_TEST_SEED to change the base seed). Results
// agree to a relative 1e-9 (double) or 1e-4 (float) of the reference's scale; the top-k merge,
// fed identical distance blocks on both devices, must agree exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/error.hpp"

using namespace mahal;

namespace {

template <class T>
double tol() {
  return std::is_same_v<T, double> ? 1e-9 : 1e-4;
}

std::uint64_t base_seed() {
  const char* env = std::getenv("MAHAL_TEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20240611ULL;
}

// The seed of one input: the base seed (printed by each test case) plus a fixed offset.
std::uint64_t seed(std::uint64_t offset) { return base_seed() + offset; }

// True (after saying so) when there is no device; otherwise prints the base seed.
bool no_device() {
  if (cuda_device_count() == 0) {
    MESSAGE("no CUDA device: skipped");
    return true;
  }
  MESSAGE("base seed " << base_seed() << " (override with MAHAL_TEST_SEED)");
  return false;
}

template <class T>
std::vector<T> random_values(index_t count, std::uint64_t s, double lo = -1.0, double hi = 1.0) {
  detail::rng g(s);
  std::vector<T> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = static_cast<T>(lo + (hi - lo) * g.uniform());
  return v;
}

// Both devices, and helpers that put the same host data on each.
template <class T>
struct devices {
  std::unique_ptr<backend<T>> cpu = make_backend<T>(device::cpu);
  std::unique_ptr<backend<T>> gpu = make_backend<T>(device::cuda);

  static device_array<T> put(backend<T>& be, index_t rows, index_t cols,
                             const std::vector<T>& host) {
    REQUIRE(static_cast<index_t>(host.size()) == rows * cols);
    auto a = be.alloc(rows, cols);
    be.upload(host.data(), a);
    return a;
  }
  static device_array<label_t> put_labels(backend<T>& be, index_t rows, index_t cols,
                                          const std::vector<label_t>& host) {
    REQUIRE(static_cast<index_t>(host.size()) == rows * cols);
    auto a = be.alloc_labels(rows, cols);
    be.upload_labels(host.data(), a);
    return a;
  }
  static std::vector<T> get(backend<T>& be, const device_array<T>& a) {
    std::vector<T> host(static_cast<std::size_t>(a.size()));
    be.download(a, host.data());
    return host;
  }
  static std::vector<label_t> get_labels(backend<T>& be, const device_array<label_t>& a) {
    std::vector<label_t> host(static_cast<std::size_t>(a.size()));
    be.download_labels(a, host.data());
    return host;
  }
};

// max |a − b| / max(floor, max |ref|): relative to the reference's scale.
template <class T>
double relative_error(const std::vector<T>& a, const std::vector<T>& ref, double floor = 1.0) {
  REQUIRE(a.size() == ref.size());
  double scale = floor, err = 0.0;
  for (std::size_t t = 0; t < a.size(); ++t) {
    scale = std::max(scale, std::abs(static_cast<double>(ref[t])));
    err = std::max(err, std::abs(static_cast<double>(a[t]) - static_cast<double>(ref[t])));
  }
  return err / scale;
}

// Random 2×m pairs over n points: some repeated, some with i == j.
std::vector<label_t> random_pairs(index_t m, index_t n, std::uint64_t s) {
  detail::rng g(s);
  std::vector<label_t> pairs(static_cast<std::size_t>(2 * m));
  for (index_t k = 0; k < m; ++k) {
    if (k % 7 == 3 && k > 0) {  // a repeat of the previous pair
      pairs[2 * k] = pairs[2 * k - 2];
      pairs[2 * k + 1] = pairs[2 * k - 1];
    } else if (k % 11 == 5) {  // a self pair contributes nothing
      pairs[2 * k] = pairs[2 * k + 1] = static_cast<label_t>(g.below(n));
    } else {
      pairs[2 * k] = static_cast<label_t>(g.below(n));
      pairs[2 * k + 1] = static_cast<label_t>(g.below(n));
    }
  }
  return pairs;
}

}  // namespace

TEST_CASE_TEMPLATE("gpu: storage round trips, zero fill, copy, fill, column views", T, float,
                   double) {
  if (no_device()) return;
  devices<T> dev;
  auto& gpu = *dev.gpu;
  CHECK(gpu.where() == device::cuda);
  MESSAGE("backend " << gpu.name());
  CHECK(gpu.name().rfind("cuda:", 0) == 0);

  const index_t rows = 13, cols = 29;
  auto zero = gpu.alloc(rows, cols);
  for (T x : devices<T>::get(gpu, zero)) CHECK(x == T(0));
  auto zero_labels = gpu.alloc_labels(2, 17);
  for (label_t x : devices<T>::get_labels(gpu, zero_labels)) CHECK(x == 0);

  const auto host = random_values<T>(rows * cols, seed(1));
  auto a = devices<T>::put(gpu, rows, cols, host);
  CHECK(devices<T>::get(gpu, a) == host);

  auto b = gpu.alloc(rows, cols);
  gpu.copy(a, b);
  CHECK(devices<T>::get(gpu, b) == host);
  gpu.fill(b, T(2.5));
  for (T x : devices<T>::get(gpu, b)) CHECK(x == T(2.5));

  // A column range is a view: writing through it changes exactly those columns.
  auto view = a.col_range(5, 3);
  gpu.fill(view, T(-1));
  const auto after = devices<T>::get(gpu, a);
  for (index_t j = 0; j < cols; ++j)
    for (index_t i = 0; i < rows; ++i) {
      const T expected = (j >= 5 && j < 8) ? T(-1) : host[static_cast<std::size_t>(i + rows * j)];
      CHECK(after[static_cast<std::size_t>(i + rows * j)] == expected);
    }

  // Overlapping copy (as memmove): shift the columns one to the right.
  auto whole = devices<T>::put(gpu, rows, cols, host);
  auto src = whole.col_range(0, cols - 1);
  auto dst = whole.col_range(1, cols - 1);
  gpu.copy(src, dst);
  const auto shifted = devices<T>::get(gpu, whole);
  for (index_t t = rows; t < rows * cols; ++t)
    CHECK(shifted[static_cast<std::size_t>(t)] == host[static_cast<std::size_t>(t - rows)]);

  std::vector<label_t> labels(34);
  for (std::size_t t = 0; t < labels.size(); ++t) labels[t] = static_cast<label_t>(t * 3 - 7);
  auto l = devices<T>::put_labels(gpu, 2, 17, labels);
  CHECK(devices<T>::get_labels(gpu, l) == labels);
  gpu.synchronize();
}

TEST_CASE_TEMPLATE("gpu: gemm with every transpose, alpha, beta and aliasing", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  const index_t m = 37, n = 23, k = 19;
  for (int variant = 0; variant < 4; ++variant) {
    const bool ta = (variant & 1) != 0, tb = (variant & 2) != 0;
    CAPTURE(ta);
    CAPTURE(tb);
    const index_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    const auto ha = random_values<T>(ar * ac, seed(10 + variant));
    const auto hb = random_values<T>(br * bc, seed(20 + variant));
    const auto hc = random_values<T>(m * n, seed(30 + variant));
    std::vector<T> results[2];
    int side = 0;
    for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
      auto a = devices<T>::put(*be, ar, ac, ha);
      auto b = devices<T>::put(*be, br, bc, hb);
      auto c = devices<T>::put(*be, m, n, hc);
      be->gemm(ta, tb, T(0.75), a, b, T(-0.5), c);
      results[side++] = devices<T>::get(*be, c);
    }
    CHECK(relative_error(results[1], results[0]) < tol<T>());
  }

  // beta = 0 ignores what C held (NaN included); k = 0 scales C by beta.
  std::vector<T> results[2];
  int side = 0;
  const auto ha = random_values<T>(m * k, seed(40));
  const auto hb = random_values<T>(k * n, seed(41));
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    auto a = devices<T>::put(*be, m, k, ha);
    auto b = devices<T>::put(*be, k, n, hb);
    auto c = be->alloc(m, n);
    be->fill(c, std::numeric_limits<T>::quiet_NaN());
    be->gemm(false, false, T(1), a, b, T(0), c);
    auto empty_a = be->alloc(m, 0), empty_b = be->alloc(0, n);
    be->gemm(false, false, T(1), empty_a, empty_b, T(2), c);  // c *= 2
    results[side++] = devices<T>::get(*be, c);
  }
  CHECK(relative_error(results[1], results[0]) < tol<T>());

  // C sharing storage with an input: C = Aᵀ·C for square A (the input is copied first).
  const index_t d = 31;
  const auto hs = random_values<T>(d * d, seed(42));
  side = 0;
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    if (be == dev.cpu.get()) {  // the reference without aliasing
      auto a = devices<T>::put(*be, d, d, hs), b = devices<T>::put(*be, d, d, hs);
      auto c = be->alloc(d, d);
      be->gemm(true, false, T(1), a, b, T(0), c);
      results[side++] = devices<T>::get(*be, c);
    } else {
      auto a = devices<T>::put(*be, d, d, hs), c = devices<T>::put(*be, d, d, hs);
      be->gemm(true, false, T(1), a, c, T(0), c);
      results[side++] = devices<T>::get(*be, c);
    }
  }
  CHECK(relative_error(results[1], results[0]) < tol<T>());
}

TEST_CASE_TEMPLATE("gpu: axpy, scale, dot, sum, multiply and every map", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  const index_t n = 100003;  // not a multiple of any block size; several reduction blocks
  auto hx = random_values<T>(n, seed(50), -3.0, 3.0);
  const auto hy = random_values<T>(n, seed(51), -3.0, 3.0);
  for (index_t t = 0; t < n; t += 97) hx[static_cast<std::size_t>(t)] = T(0);  // exact zeros

  double abs_dot = 0.0, abs_sum = 0.0;
  for (index_t t = 0; t < n; ++t) {
    abs_dot += std::abs(static_cast<double>(hx[t]) * hy[t]);
    abs_sum += std::abs(static_cast<double>(hx[t]));
  }

  T dots[2], sums[2];
  std::vector<T> axpys[2], scales[2], products[2];
  int side = 0;
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    auto x = devices<T>::put(*be, n, 1, hx);
    auto y = devices<T>::put(*be, n, 1, hy);
    dots[side] = be->dot(x, y);
    sums[side] = be->sum(x);
    be->axpy(T(-1.25), x, y);
    axpys[side] = devices<T>::get(*be, y);
    be->scale(T(0.3), y);
    scales[side] = devices<T>::get(*be, y);
    be->multiply(x, y);
    products[side] = devices<T>::get(*be, y);
    ++side;
  }
  CHECK(std::abs(static_cast<double>(dots[1]) - dots[0]) <= tol<T>() * abs_dot);
  CHECK(std::abs(static_cast<double>(sums[1]) - sums[0]) <= tol<T>() * abs_sum);
  CHECK(relative_error(axpys[1], axpys[0]) < tol<T>());
  CHECK(relative_error(scales[1], scales[0]) < tol<T>());
  CHECK(relative_error(products[1], products[0]) < tol<T>());

  for (const unary_op op : {unary_op::sqrt, unary_op::inv_two_sqrt, unary_op::reciprocal,
                            unary_op::square, unary_op::relu, unary_op::step}) {
    CAPTURE(static_cast<int>(op));
    std::vector<T> mapped[2], in_place[2];
    side = 0;
    for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
      auto x = devices<T>::put(*be, n, 1, hx);
      auto y = be->alloc(n, 1);
      be->map(op, x, y);
      mapped[side] = devices<T>::get(*be, y);
      be->map(op, x, x);
      in_place[side] = devices<T>::get(*be, x);
      ++side;
    }
    CHECK(relative_error(mapped[1], mapped[0]) < tol<T>());
    CHECK(in_place[1] == mapped[1]);
  }
}

TEST_CASE_TEMPLATE("gpu: col_dots for short and long columns", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  for (const index_t rows : {1, 3, 6, 12, 31, 70, 513}) {
    CAPTURE(rows);
    const index_t cols = 301;
    const auto hp = random_values<T>(rows * cols, seed(60 + rows));
    const auto hq = random_values<T>(rows * cols, seed(61 + rows));
    std::vector<T> dots[2], norms[2];
    int side = 0;
    for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
      auto p = devices<T>::put(*be, rows, cols, hp);
      auto q = devices<T>::put(*be, rows, cols, hq);
      auto out = be->alloc(cols, 1);
      be->col_dots(p, q, out);
      dots[side] = devices<T>::get(*be, out);
      be->col_dots(p, p, out);
      norms[side] = devices<T>::get(*be, out);
      ++side;
    }
    CHECK(relative_error(dots[1], dots[0]) < tol<T>());
    CHECK(relative_error(norms[1], norms[0]) < tol<T>());
  }
}

TEST_CASE_TEMPLATE("gpu: sym_eig eigenvalues, orthonormal vectors, reconstruction", T, float,
                   double) {
  if (no_device()) return;
  devices<T> dev;
  for (const index_t d : {1, 2, 7, 40, 129}) {
    CAPTURE(d);
    // Symmetric lower triangle; the upper triangle holds garbage that must be ignored.
    auto ha = random_values<T>(d * d, seed(70 + d));
    std::vector<T> sym(ha.size());
    for (index_t j = 0; j < d; ++j)
      for (index_t i = 0; i < d; ++i) {
        const index_t lo = std::max(i, j), hi = std::min(i, j);
        sym[static_cast<std::size_t>(i + d * j)] = ha[static_cast<std::size_t>(lo + d * hi)];
        if (i < j) ha[static_cast<std::size_t>(i + d * j)] = T(1000);
      }
    std::vector<T> w[2], v[2];
    int side = 0;
    for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
      auto a = devices<T>::put(*be, d, d, ha);
      auto wd = be->alloc(d, 1);
      auto vd = be->alloc(d, d);
      be->sym_eig(a, wd, vd);
      w[side] = devices<T>::get(*be, wd);
      v[side] = devices<T>::get(*be, vd);
      ++side;
    }
    CHECK(relative_error(w[1], w[0]) < 10 * tol<T>());
    for (index_t t = 1; t < d; ++t) CHECK(w[1][t - 1] <= w[1][t]);
    // V·diag(w)·Vᵀ = A and VᵀV = I on the GPU's result (eigenvector signs may differ).
    double scale = 1.0, rec_err = 0.0, orth_err = 0.0;
    for (T x : sym) scale = std::max(scale, std::abs(static_cast<double>(x)));
    for (index_t i = 0; i < d; ++i)
      for (index_t j = 0; j < d; ++j) {
        double rec = 0.0, gram = 0.0;
        for (index_t t = 0; t < d; ++t) {
          rec += static_cast<double>(v[1][i + d * t]) * w[1][t] * v[1][j + d * t];
          gram += static_cast<double>(v[1][t + d * i]) * v[1][t + d * j];
        }
        rec_err = std::max(rec_err, std::abs(rec - sym[static_cast<std::size_t>(i + d * j)]));
        orth_err = std::max(orth_err, std::abs(gram - (i == j ? 1.0 : 0.0)));
      }
    CHECK(rec_err / scale < 10 * tol<T>());
    CHECK(orth_err < 10 * tol<T>());
  }
}

TEST_CASE_TEMPLATE("gpu: pair_scatter with repeated pairs, self pairs and negative weights", T,
                   float, double) {
  if (no_device()) return;
  devices<T> dev;
  const index_t n = 90;
  for (const index_t m : {1, 25, 700}) {
    const std::vector<std::pair<index_t, index_t>> shapes = {{7, 7}, {3, 7}, {40, 5}};
    for (const auto& [rows_p, rows_q] : shapes) {
      CAPTURE(m);
      CAPTURE(rows_p);
      CAPTURE(rows_q);
      const auto hq = random_values<T>(rows_q * n, seed(80));
      // P = Q (the d×d gradient G) or a different P (the L-space form).
      const auto hp = rows_p == rows_q ? hq : random_values<T>(rows_p * n, seed(81));
      const auto hpairs = random_pairs(m, n, seed(82 + m));
      const auto hw = random_values<T>(m, seed(83 + m), -2.0, 3.0);
      const auto hout = random_values<T>(rows_p * rows_q, seed(84));
      std::vector<T> results[2];
      int side = 0;
      for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
        auto p = devices<T>::put(*be, rows_p, n, hp);
        auto q = devices<T>::put(*be, rows_q, n, hq);
        auto pairs = devices<T>::put_labels(*be, 2, m, hpairs);
        auto w = devices<T>::put(*be, m, 1, hw);
        auto out = devices<T>::put(*be, rows_p, rows_q, hout);
        be->pair_scatter(p, q, pairs, w, T(0.7), T(0.3), out);
        results[side++] = devices<T>::get(*be, out);
      }
      CHECK(relative_error(results[1], results[0]) < tol<T>());
    }
  }
}

TEST_CASE_TEMPLATE("gpu: pair_sqdist for short and long columns", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  const index_t n = 120, m = 999;
  for (const index_t rows : {2, 5, 9, 20, 100}) {
    CAPTURE(rows);
    const auto hp = random_values<T>(rows * n, seed(90 + rows));
    const auto hq = random_values<T>(rows * n, seed(91 + rows));
    const auto hpairs = random_pairs(m, n, seed(92));
    std::vector<T> same[2], mixed[2];
    int side = 0;
    for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
      auto p = devices<T>::put(*be, rows, n, hp);
      auto q = devices<T>::put(*be, rows, n, hq);
      auto pairs = devices<T>::put_labels(*be, 2, m, hpairs);
      auto out = be->alloc(m, 1);
      be->pair_sqdist(p, p, pairs, out);
      same[side] = devices<T>::get(*be, out);
      be->pair_sqdist(p, q, pairs, out);
      mixed[side] = devices<T>::get(*be, out);
      ++side;
    }
    CHECK(relative_error(same[1], same[0]) < tol<T>());
    CHECK(relative_error(mixed[1], mixed[0]) < tol<T>());
  }
}

TEST_CASE_TEMPLATE("gpu: sqdist_block with duplicate points clamped at zero", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  const index_t d = 17, na = 75, nb = 130;
  auto hp = random_values<T>(d * na, seed(100));
  const auto hq = random_values<T>(d * nb, seed(101));
  for (index_t a = 0; a < na; a += 5)  // some queries coincide with references
    for (index_t t = 0; t < d; ++t) hp[t + d * a] = hq[t + d * (2 * a)];
  std::vector<T> results[2];
  int side = 0;
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    auto p = devices<T>::put(*be, d, na, hp);
    auto q = devices<T>::put(*be, d, nb, hq);
    auto pn = be->alloc(na, 1), qn = be->alloc(nb, 1);
    be->col_dots(p, p, pn);
    be->col_dots(q, q, qn);
    auto out = be->alloc(na, nb);
    be->sqdist_block(p, q, pn, qn, out);
    results[side++] = devices<T>::get(*be, out);
  }
  CHECK(relative_error(results[1], results[0]) < tol<T>());
  for (T x : results[1]) CHECK(x >= T(0));
}

TEST_CASE_TEMPLATE("gpu: topk_merge over blocks with self exclusion and label filters", T, float,
                   double) {
  if (no_device()) return;
  devices<T> dev;
  // One set of n points searched against itself in blocks. The distances are quantised so that
  // ties are frequent and the (distance, index) order is exercised; both devices merge the same
  // blocks, so their states must agree exactly, and with a brute-force reference.
  const index_t n = 333, classes = 4;
  const auto raw = random_values<T>(n * n, seed(110), 0.0, 8.0);
  std::vector<T> dist(raw.size());
  for (std::size_t t = 0; t < raw.size(); ++t) dist[t] = std::floor(raw[t] * T(4)) / T(4);
  std::vector<label_t> labels(static_cast<std::size_t>(n));
  {
    detail::rng g(seed(111));
    for (auto& l : labels) l = static_cast<label_t>(g.below(classes));
  }
  const index_t query_block = 128, ref_block = 57;

  for (const index_t k : {1, 3, 8, 40, 64, 70}) {
    for (const label_filter filter : {label_filter::any, label_filter::same,
                                      label_filter::different}) {
      for (const bool exclude_self : {false, true}) {
        CAPTURE(k);
        CAPTURE(static_cast<int>(filter));
        CAPTURE(exclude_self);
        std::vector<label_t> indices[2];
        std::vector<T> sqdist[2];
        int side = 0;
        for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
          topk_state<T> state;
          state.indices = devices<T>::put_labels(
              *be, k, n, std::vector<label_t>(static_cast<std::size_t>(k * n), -1));
          state.sqdist = devices<T>::put(
              *be, k, n,
              std::vector<T>(static_cast<std::size_t>(k * n), std::numeric_limits<T>::infinity()));
          auto lab = devices<T>::put_labels(*be, n, 1, labels);
          for (index_t q0 = 0; q0 < n; q0 += query_block) {
            const index_t nq = std::min(query_block, n - q0);
            for (index_t r0 = 0; r0 < n; r0 += ref_block) {
              const index_t nr = std::min(ref_block, n - r0);
              std::vector<T> block(static_cast<std::size_t>(nq * nr));
              for (index_t b = 0; b < nr; ++b)
                for (index_t a = 0; a < nq; ++a)
                  block[a + nq * b] = dist[(q0 + a) + n * (r0 + b)];
              auto blk = devices<T>::put(*be, nq, nr, block);
              topk_block at;
              at.first_query = q0;
              at.first_ref = r0;
              at.exclude_self = exclude_self;
              at.filter = filter;
              at.query_labels = lab.data();
              at.ref_labels = lab.data();
              be->topk_merge(blk, at, state);
            }
          }
          indices[side] = devices<T>::get_labels(*be, state.indices);
          sqdist[side] = devices<T>::get(*be, state.sqdist);
          ++side;
        }
        CHECK(indices[1] == indices[0]);
        CHECK(sqdist[1] == sqdist[0]);

        // Brute force: the k smallest admissible (distance, index) per query, then empty slots.
        bool all_match = true;
        for (index_t q = 0; q < n; ++q) {
          std::vector<std::pair<T, label_t>> cands;
          for (index_t r = 0; r < n; ++r) {
            if (exclude_self && r == q) continue;
            if (filter == label_filter::same && labels[r] != labels[q]) continue;
            if (filter == label_filter::different && labels[r] == labels[q]) continue;
            cands.emplace_back(dist[q + n * r], static_cast<label_t>(r));
          }
          std::sort(cands.begin(), cands.end());
          for (index_t s = 0; s < k; ++s) {
            const bool filled = s < static_cast<index_t>(cands.size());
            const label_t want_i = filled ? cands[s].second : -1;
            const T want_d = filled ? cands[s].first : std::numeric_limits<T>::infinity();
            all_match = all_match && indices[1][s + k * q] == want_i &&
                        sqdist[1][s + k * q] == want_d;
          }
        }
        CHECK(all_match);
      }
    }
  }
}

TEST_CASE_TEMPLATE("gpu: bad input throws invalid_argument", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    CAPTURE(be->name());
    auto a = be->alloc(3, 4), b = be->alloc(5, 2), c = be->alloc(3, 2);
    CHECK_THROWS_AS(be->gemm(false, false, T(1), a, b, T(0), c), invalid_argument);
    auto x = be->alloc(7, 1), y = be->alloc(8, 1);
    CHECK_THROWS_AS(be->axpy(T(1), x, y), invalid_argument);
    CHECK_THROWS_AS(be->dot(x, y), invalid_argument);
    auto out = be->alloc(3, 1);
    CHECK_THROWS_AS(be->col_dots(a, a, out), invalid_argument);
    // A pair index outside [0, n): rejected before the output is touched.
    auto p = be->alloc(2, 5);
    auto pairs = devices<T>::put_labels(*be, 2, 2, {0, 1, 2, 5});
    auto w = be->alloc(2, 1);
    auto g = be->alloc(2, 2);
    be->fill(g, T(3));
    CHECK_THROWS_AS(be->pair_scatter(p, p, pairs, w, T(1), T(0), g), invalid_argument);
    for (T v : devices<T>::get(*be, g)) CHECK(v == T(3));
    auto d = be->alloc(2, 1);
    CHECK_THROWS_AS(be->pair_sqdist(p, p, pairs, d), invalid_argument);
  }
  // An array of the CPU backend handed to the CUDA backend.
  auto host_array = dev.cpu->alloc(4, 4);
  auto device_array_ = dev.gpu->alloc(4, 4);
  CHECK_THROWS_AS(dev.gpu->copy(host_array, device_array_), invalid_argument);
  // Label pointers into host memory for a filtered top-k merge.
  const std::vector<label_t> host_labels(4, 0);
  topk_state<T> state{dev.gpu->alloc_labels(2, 4), dev.gpu->alloc(2, 4)};
  auto block = dev.gpu->alloc(4, 4);
  topk_block at;
  at.filter = label_filter::same;
  at.query_labels = host_labels.data();
  at.ref_labels = host_labels.data();
  CHECK_THROWS_AS(dev.gpu->topk_merge(block, at, state), invalid_argument);
  // The backend still works after the errors.
  auto z = dev.gpu->alloc(5, 1);
  dev.gpu->fill(z, T(1));
  CHECK(dev.gpu->sum(z) == T(5));
}

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
#include "mahal/engine.hpp"
#include "mahal/error.hpp"
#include "pair_scatter_cases.hpp"
#include "test_support.hpp"

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
  if (test::no_cuda_device()) return true;
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

  // y += α·y on one array with α = −1: y − y, exactly 0, and NaN where y is infinite.
  std::vector<T> self[2];
  auto hinf = hy;
  hinf[7] = std::numeric_limits<T>::infinity();
  side = 0;
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    auto y = devices<T>::put(*be, n, 1, hinf);
    be->axpy(T(-1), y, y);
    self[side++] = devices<T>::get(*be, y);
  }
  CHECK(std::isnan(self[0][7]));
  CHECK(std::isnan(self[1][7]));
  self[0][7] = self[1][7] = T(0);
  CHECK(self[1] == self[0]);

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
    for (const auto& shape : shapes) {
      const index_t rows_p = shape.first, rows_q = shape.second;
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

TEST_CASE_TEMPLATE("gpu: pair_scatter reads only the points of weighted pairs", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  test::check_scatter_reads_weighted_points(*dev.gpu);
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
  // Many queries per block (one thread per query), and few queries against many references
  // (the references split among threads, then merged).
  const std::vector<std::pair<index_t, index_t>> block_shapes = {{128, 57}, {5, 333}, {37, 200}};

  for (const auto& block_shape : block_shapes) {
    const index_t query_block = block_shape.first, ref_block = block_shape.second;
    for (const index_t k : {1, 3, 8, 40, 64, 70}) {
      for (const label_filter filter :
           {label_filter::any, label_filter::same, label_filter::different}) {
        for (const bool exclude_self : {false, true}) {
          CAPTURE(query_block);
          CAPTURE(ref_block);
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
            state.sqdist = devices<T>::put(*be, k, n,
                                           std::vector<T>(static_cast<std::size_t>(k * n),
                                                          std::numeric_limits<T>::infinity()));
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
              all_match =
                  all_match && indices[1][s + k * q] == want_i && sqdist[1][s + k * q] == want_d;
            }
          }
          CHECK(all_match);
        }
      }
    }
  }
}

TEST_CASE_TEMPLATE("gpu: engine::knn_within starts every list at its query's radius", T, float,
                   double) {
  if (no_device()) return;
  devices<T> dev;
  // LMNN's impostor search: a self search with the impostor filter, each list bounded by a
  // radius that leaves some lists part empty (index −1, distance = the radius). The radii lie
  // halfway between consecutive admissible distances, so both devices' roundings agree on who
  // is inside.
  const index_t d = 6, n = 517, k = 7, classes = 3;
  const auto x = random_values<T>(d * n, seed(120));
  std::vector<label_t> labels(static_cast<std::size_t>(n));
  {
    detail::rng g(seed(121));
    for (auto& l : labels) l = static_cast<label_t>(g.below(classes));
  }
  std::vector<T> radius2(static_cast<std::size_t>(n));
  for (index_t q = 0; q < n; ++q) {
    std::vector<double> dq;
    for (index_t r = 0; r < n; ++r) {
      if (labels[r] == labels[q]) continue;
      double s = 0;
      for (index_t t = 0; t < d; ++t) s += std::pow(double(x[t + d * q]) - x[t + d * r], 2);
      dq.push_back(s);
    }
    std::sort(dq.begin(), dq.end());
    const index_t m = q % (k + 2);
    radius2[q] = static_cast<T>(m == 0 ? dq[0] / 2 : (dq[m - 1] + dq[m]) / 2);
  }
  std::vector<label_t> indices[2];
  std::vector<T> sqdist[2];
  int side = 0;
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    auto X = devices<T>::put(*be, d, n, x);
    auto lab = devices<T>::put_labels(*be, n, 1, labels);
    auto r2 = devices<T>::put(*be, n, 1, radius2);
    engine::knn_request request;
    request.k = k;
    request.exclude_self = true;
    request.filter = label_filter::different;
    request.query_labels = &lab;
    request.ref_labels = &lab;
    const topk_state<T> state = engine::knn_within(*be, X, X, request, r2);
    indices[side] = devices<T>::get_labels(*be, state.indices);
    sqdist[side] = devices<T>::get(*be, state.sqdist);
    ++side;
  }
  CHECK(indices[1] == indices[0]);
  index_t empty = 0;
  for (index_t t = 0; t < k * n; ++t) {
    CHECK(sqdist[1][t] ==
          doctest::Approx(sqdist[0][t]).epsilon(std::is_same_v<T, float> ? 1e-4 : 1e-10));
    if (indices[1][t] < 0) {
      ++empty;
      CHECK(sqdist[1][t] == radius2[t / k]);
    }
  }
  CHECK(empty > 0);
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

TEST_CASE_TEMPLATE("gpu: tanh map and map2 (relu_grad, tanh_grad) in and out of place", T, float,
                   double) {
  if (no_device()) return;
  devices<T> dev;
  const index_t n = 70001;
  auto ha = random_values<T>(n, seed(120), -4.0, 4.0);
  auto hb = random_values<T>(n, seed(121), -2.0, 2.0);
  for (index_t t = 0; t < n; t += 89) hb[static_cast<std::size_t>(t)] = T(0);  // relu's kink

  std::vector<T> tanh_out[2];
  int side = 0;
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    auto x = devices<T>::put(*be, n, 1, ha);
    auto y = be->alloc(n, 1);
    be->map(unary_op::tanh, x, y);
    tanh_out[side] = devices<T>::get(*be, y);
    be->map(unary_op::tanh, x, x);
    CHECK(devices<T>::get(*be, x) == tanh_out[side]);
    ++side;
  }
  CHECK(relative_error(tanh_out[1], tanh_out[0]) < tol<T>());
  // An independent value: tanh(0.5) = (e − 1) / (e + 1).
  const double e = std::exp(1.0);
  auto half = devices<T>::put(*dev.gpu, 1, 1, {T(0.5)});
  dev.gpu->map(unary_op::tanh, half, half);
  CHECK(std::abs(devices<T>::get(*dev.gpu, half)[0] - (e - 1) / (e + 1)) < tol<T>());

  for (const binary_op op : {binary_op::relu_grad, binary_op::tanh_grad}) {
    CAPTURE(static_cast<int>(op));
    // tanh_grad's b is a tanh output, in (−1, 1).
    const auto& b_host = op == binary_op::tanh_grad ? tanh_out[0] : hb;
    std::vector<T> separate[2], into_a[2], into_b[2];
    side = 0;
    for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
      auto a = devices<T>::put(*be, n, 1, ha);
      auto b = devices<T>::put(*be, n, 1, b_host);
      auto out = be->alloc(n, 1);
      be->map2(op, a, b, out);
      separate[side] = devices<T>::get(*be, out);
      be->map2(op, a, b, a);  // out = a
      into_a[side] = devices<T>::get(*be, a);
      auto a2 = devices<T>::put(*be, n, 1, ha);
      be->map2(op, a2, b, b);  // out = b
      into_b[side] = devices<T>::get(*be, b);
      ++side;
    }
    CHECK(relative_error(separate[1], separate[0]) < tol<T>());
    CHECK(into_a[1] == separate[1]);
    CHECK(into_b[1] == separate[1]);
    if (op == binary_op::relu_grad) CHECK(separate[1] == separate[0]);  // a selection: exact
  }
}

TEST_CASE_TEMPLATE("gpu: add_to_cols, add_row_sums and scale_cols", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  const std::vector<std::pair<index_t, index_t>> shapes = {
      {1, 1}, {1, 257}, {5, 300}, {300, 3}, {64, 1000}};
  for (const auto& shape : shapes) {
    const index_t rows = shape.first, cols = shape.second;
    CAPTURE(rows);
    CAPTURE(cols);
    const auto hx = random_values<T>(rows * cols, seed(130 + rows));
    const auto hb = random_values<T>(rows, seed(131 + cols));
    const auto hs = random_values<T>(cols, seed(132 + rows), -2.0, 2.0);
    const auto hacc = random_values<T>(rows, seed(133));
    std::vector<T> added[2], sums[2], scaled[2];
    int side = 0;
    for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
      auto x = devices<T>::put(*be, rows, cols, hx);
      auto b = devices<T>::put(*be, rows, 1, hb);
      be->add_to_cols(b, x);
      added[side] = devices<T>::get(*be, x);
      auto acc = devices<T>::put(*be, rows, 1, hacc);
      be->add_row_sums(x, acc);  // accumulates into what acc held
      sums[side] = devices<T>::get(*be, acc);
      auto s = devices<T>::put(*be, cols, 1, hs);
      be->scale_cols(s, x);
      scaled[side] = devices<T>::get(*be, x);
      ++side;
    }
    CHECK(added[1] == added[0]);  // one addition per entry: exact
    CHECK(relative_error(sums[1], sums[0]) < tol<T>());
    CHECK(scaled[1] == scaled[0]);  // one product per entry: exact
  }
}

TEST_CASE_TEMPLATE("gpu: gather_cols with repeated indices and a bad index", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  const index_t n = 211;
  for (const index_t rows : {1, 7, 40}) {
    CAPTURE(rows);
    const auto hx = random_values<T>(rows * n, seed(140 + rows));
    std::vector<label_t> idx(500);
    detail::rng g(seed(141));
    for (auto& i : idx) i = static_cast<label_t>(g.below(n));
    idx[3] = 0;
    idx[4] = static_cast<label_t>(n - 1);
    const index_t m = static_cast<index_t>(idx.size());
    auto x = devices<T>::put(*dev.gpu, rows, n, hx);
    auto ids = devices<T>::put_labels(*dev.gpu, m, 1, idx);
    auto out = dev.gpu->alloc(rows, m);
    dev.gpu->gather_cols(x, ids, out);
    const auto got = devices<T>::get(*dev.gpu, out);
    bool all_match = true;
    for (index_t t = 0; t < m; ++t)
      for (index_t r = 0; r < rows; ++r)
        all_match = all_match && got[static_cast<std::size_t>(r + rows * t)] ==
                                     hx[static_cast<std::size_t>(r + rows * idx[t])];
    CHECK(all_match);
    // Gathering into storage shared with x: x's first columns receive the gathered ones.
    auto whole = devices<T>::put(*dev.gpu, rows, n, hx);
    auto head = whole.col_range(0, 50);
    auto first50 = ids.segment(0, 50);
    dev.gpu->gather_cols(whole, first50, head);
    const auto in_place = devices<T>::get(*dev.gpu, whole);
    CHECK(std::vector<T>(in_place.begin(), in_place.begin() + rows * 50) ==
          std::vector<T>(got.begin(), got.begin() + rows * 50));
  }
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    CAPTURE(be->name());
    auto x = be->alloc(3, 10);
    auto out = be->alloc(3, 4);
    be->fill(out, T(7));
    for (const label_t bad : {label_t{10}, label_t{-1}}) {
      auto ids = devices<T>::put_labels(*be, 4, 1, {0, 9, bad, 2});
      CHECK_THROWS_AS(be->gather_cols(x, ids, out), invalid_argument);
    }
    for (T v : devices<T>::get(*be, out)) CHECK(v == T(7));
  }
}

TEST_CASE_TEMPLATE("gpu: pair_laplacian accumulates alpha·Z·Lap, also into Z itself", T, float,
                   double) {
  if (no_device()) return;
  devices<T> dev;
  const index_t n = 90;
  for (const index_t m : {1, 25, 700}) {
    for (const index_t rows : {1, 3, 7, 20, 40}) {
      CAPTURE(m);
      CAPTURE(rows);
      const auto hz = random_values<T>(rows * n, seed(150 + rows));
      const auto hpairs = random_pairs(m, n, seed(151 + m));
      const auto hw = random_values<T>(m, seed(152 + m), -2.0, 3.0);
      const auto hout = random_values<T>(rows * n, seed(153));
      std::vector<T> results[2];
      int side = 0;
      for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
        auto z = devices<T>::put(*be, rows, n, hz);
        auto pairs = devices<T>::put_labels(*be, 2, m, hpairs);
        auto w = devices<T>::put(*be, m, 1, hw);
        auto out = devices<T>::put(*be, rows, n, hout);
        be->pair_laplacian(z, pairs, w, T(0.7), out);
        results[side++] = devices<T>::get(*be, out);
      }
      CHECK(relative_error(results[1], results[0]) < tol<T>());

      // out = Z: the GPU reads the Z it was given (a copy), as the CPU with separate arrays.
      std::vector<T> aliased[2];
      side = 0;
      for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
        auto z = devices<T>::put(*be, rows, n, hz);
        auto pairs = devices<T>::put_labels(*be, 2, m, hpairs);
        auto w = devices<T>::put(*be, m, 1, hw);
        if (be == dev.cpu.get()) {
          auto out = devices<T>::put(*be, rows, n, hz);
          be->pair_laplacian(z, pairs, w, T(-1.5), out);
          aliased[side++] = devices<T>::get(*be, out);
        } else {
          be->pair_laplacian(z, pairs, w, T(-1.5), z);
          aliased[side++] = devices<T>::get(*be, z);
        }
      }
      CHECK(relative_error(aliased[1], aliased[0]) < tol<T>());
    }
  }
  // A hand fixture: Z = [0 1 3], pairs (0,1) w=2 and (2,1) w=1, alpha = 0.5:
  //   out(:,0) += 0.5·2·(0 − 1) = −1; out(:,1) −= −1 and −= 0.5·1·(3 − 1) → +1 − 1 = 0;
  //   out(:,2) += 0.5·1·(3 − 1) = 1.
  auto z = devices<T>::put(*dev.gpu, 1, 3, {T(0), T(1), T(3)});
  auto pairs = devices<T>::put_labels(*dev.gpu, 2, 2, {0, 1, 2, 1});
  auto w = devices<T>::put(*dev.gpu, 2, 1, {T(2), T(1)});
  auto out = dev.gpu->alloc(1, 3);
  dev.gpu->pair_laplacian(z, pairs, w, T(0.5), out);
  CHECK(devices<T>::get(*dev.gpu, out) == std::vector<T>{T(-1), T(0), T(1)});
}

TEST_CASE_TEMPLATE("gpu: adam_update over several steps", T, float, double) {
  if (no_device()) return;
  devices<T> dev;
  const index_t rows = 37, cols = 129;
  const T lr = T(1e-2), beta1 = T(0.9), beta2 = T(0.999), eps = T(1e-8);
  const auto hp = random_values<T>(rows * cols, seed(160));
  std::vector<T> p_out[2], m_out[2], v_out[2];
  int side = 0;
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    auto p = devices<T>::put(*be, rows, cols, hp);
    auto m = be->alloc(rows, cols), v = be->alloc(rows, cols);
    for (int t = 1; t <= 5; ++t) {
      auto g = devices<T>::put(*be, rows, cols, random_values<T>(rows * cols, seed(161 + t)));
      const T c1 = T(1) - static_cast<T>(std::pow(static_cast<double>(beta1), t));
      const T c2 = T(1) - static_cast<T>(std::pow(static_cast<double>(beta2), t));
      be->adam_update(lr, beta1, beta2, eps, c1, c2, g, m, v, p);
    }
    p_out[side] = devices<T>::get(*be, p);
    m_out[side] = devices<T>::get(*be, m);
    v_out[side] = devices<T>::get(*be, v);
    ++side;
  }
  CHECK(relative_error(p_out[1], p_out[0]) < tol<T>());
  CHECK(relative_error(m_out[1], m_out[0]) < tol<T>());
  CHECK(relative_error(v_out[1], v_out[0]) < tol<T>());
  // The first step from m = v = 0 moves every entry by lr·sign(g) (up to eps): a closed form.
  auto p = devices<T>::put(*dev.gpu, 3, 1, {T(1), T(2), T(3)});
  auto g = devices<T>::put(*dev.gpu, 3, 1, {T(0.5), T(-4), T(1e-3)});
  auto m = dev.gpu->alloc(3, 1), v = dev.gpu->alloc(3, 1);
  dev.gpu->adam_update(lr, beta1, beta2, eps, T(1) - beta1, T(1) - beta2, g, m, v, p);
  const auto stepped = devices<T>::get(*dev.gpu, p);
  CHECK(std::abs(stepped[0] - (T(1) - lr)) < 10 * tol<T>());
  CHECK(std::abs(stepped[1] - (T(2) + lr)) < 10 * tol<T>());
  CHECK(std::abs(stepped[2] - (T(3) - lr)) < 1e-4);  // eps/|g| = 1e-5 of the step
}

TEST_CASE_TEMPLATE("gpu: block_scatter against the CPU and against an explicit pair list", T, float,
                   double) {
  if (no_device()) return;
  devices<T> dev;
  const std::vector<std::pair<index_t, index_t>> blocks = {{1, 1}, {13, 29}, {100, 60}};
  const std::vector<std::pair<index_t, index_t>> shapes = {{7, 7}, {3, 7}, {40, 5}};
  for (const auto& block : blocks) {
    const index_t ni = block.first, nj = block.second;
    for (const auto& shape : shapes) {
      const index_t rows_p = shape.first, rows_q = shape.second;
      CAPTURE(ni);
      CAPTURE(nj);
      CAPTURE(rows_p);
      CAPTURE(rows_q);
      const auto hqi = random_values<T>(rows_q * ni, seed(170));
      const auto hqj = random_values<T>(rows_q * nj, seed(171));
      const bool same = rows_p == rows_q;  // P = Q (the d×d form) or the L-space form
      const auto hpi = same ? hqi : random_values<T>(rows_p * ni, seed(172));
      const auto hpj = same ? hqj : random_values<T>(rows_p * nj, seed(173));
      const auto hw = random_values<T>(ni * nj, seed(174 + ni), -2.0, 3.0);
      const auto hout = random_values<T>(rows_p * rows_q, seed(175));
      std::vector<T> results[2];
      int side = 0;
      for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
        auto pi = devices<T>::put(*be, rows_p, ni, hpi), pj = devices<T>::put(*be, rows_p, nj, hpj);
        auto qi = devices<T>::put(*be, rows_q, ni, hqi), qj = devices<T>::put(*be, rows_q, nj, hqj);
        auto w = devices<T>::put(*be, ni, nj, hw);
        auto out = devices<T>::put(*be, rows_p, rows_q, hout);
        be->block_scatter(pi, qi, pj, qj, w, T(0.7), T(0.3), out);
        results[side++] = devices<T>::get(*be, out);
      }
      CHECK(relative_error(results[1], results[0]) < tol<T>());

      // The same block as ni·nj pairs over the columns [P_I P_J] through pair_scatter.
      std::vector<T> hp(hpi), hq(hqi);
      hp.insert(hp.end(), hpj.begin(), hpj.end());
      hq.insert(hq.end(), hqj.begin(), hqj.end());
      std::vector<label_t> ij(static_cast<std::size_t>(2 * ni * nj));
      for (index_t b = 0; b < nj; ++b)
        for (index_t a = 0; a < ni; ++a) {
          ij[static_cast<std::size_t>(2 * (a + ni * b))] = static_cast<label_t>(a);
          ij[static_cast<std::size_t>(2 * (a + ni * b) + 1)] = static_cast<label_t>(ni + b);
        }
      auto p = devices<T>::put(*dev.gpu, rows_p, ni + nj, hp);
      auto q = devices<T>::put(*dev.gpu, rows_q, ni + nj, hq);
      auto pairs = devices<T>::put_labels(*dev.gpu, 2, ni * nj, ij);
      auto w = devices<T>::put(*dev.gpu, ni * nj, 1, hw);
      auto out = devices<T>::put(*dev.gpu, rows_p, rows_q, hout);
      dev.gpu->pair_scatter(p, q, pairs, w, T(0.7), T(0.3), out);
      CHECK(relative_error(devices<T>::get(*dev.gpu, out), results[0]) < tol<T>());
    }
  }

  // out sharing storage with P_I = Q_I (square: d = |I|): the inputs are read as given.
  const index_t d = 9, nj = 14;
  const auto hx = random_values<T>(d * d, seed(176));
  const auto hy = random_values<T>(d * nj, seed(177));
  const auto hw = random_values<T>(d * nj, seed(178), 0.0, 1.0);
  std::vector<T> results[2];
  int side = 0;
  for (backend<T>* be : {dev.cpu.get(), dev.gpu.get()}) {
    auto x = devices<T>::put(*be, d, d, hx);
    auto y = devices<T>::put(*be, d, nj, hy);
    auto w = devices<T>::put(*be, d, nj, hw);
    if (be == dev.cpu.get()) {
      auto out = devices<T>::put(*be, d, d, hx);
      be->block_scatter(x, x, y, y, w, T(1), T(0.5), out);
      results[side++] = devices<T>::get(*be, out);
    } else {
      be->block_scatter(x, x, y, y, w, T(1), T(0.5), x);
      results[side++] = devices<T>::get(*be, x);
    }
  }
  CHECK(relative_error(results[1], results[0]) < tol<T>());
}

TEST_CASE_TEMPLATE("gpu: bad input to the new operations throws invalid_argument", T, float,
                   double) {
  if (no_device()) return;
  devices<T> dev;
  auto& gpu = *dev.gpu;
  // pair_laplacian with an index outside [0, n): out is not touched.
  auto z = gpu.alloc(2, 5);
  auto pairs = devices<T>::put_labels(gpu, 2, 2, {0, 1, 5, 2});
  auto w = gpu.alloc(2, 1);
  auto out = gpu.alloc(2, 5);
  gpu.fill(out, T(4));
  CHECK_THROWS_AS(gpu.pair_laplacian(z, pairs, w, T(1), out), invalid_argument);
  for (T v : devices<T>::get(gpu, out)) CHECK(v == T(4));
  // Adam's state arrays must not share storage.
  auto g = gpu.alloc(4, 1), m = gpu.alloc(4, 1), p = gpu.alloc(4, 1);
  CHECK_THROWS_AS(gpu.adam_update(T(0.1), T(0.9), T(0.99), T(1e-8), T(0.1), T(0.01), g, m, m, p),
                  invalid_argument);
  // map2: an output that partly overlaps an input.
  auto big = gpu.alloc(10, 1);
  auto a = big.segment(0, 6), shifted = big.segment(2, 6), b = gpu.alloc(6, 1);
  CHECK_THROWS_AS(gpu.map2(binary_op::relu_grad, a, b, shifted), invalid_argument);
  // Shape errors come from the common checks.
  auto x = gpu.alloc(3, 4), wrong = gpu.alloc(4, 1);
  CHECK_THROWS_AS(gpu.add_to_cols(wrong, x), invalid_argument);
  CHECK_THROWS_AS(gpu.add_row_sums(x, wrong), invalid_argument);
  auto s3 = gpu.alloc(3, 1);
  CHECK_THROWS_AS(gpu.scale_cols(s3, x), invalid_argument);
  // Still usable afterwards.
  gpu.fill(b, T(1));
  CHECK(gpu.sum(b) == T(6));
}

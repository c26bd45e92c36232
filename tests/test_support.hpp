// Shared helpers of the test suite: seeded random data and tolerance checks.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/matrix.hpp"

namespace mahal::test {

// d×n standard normal entries from a fixed seed (printed by the test that uses it).
template <class T>
matrix<T> random_matrix(index_t rows, index_t cols, std::uint64_t seed) {
  detail::rng g(seed);
  matrix<T> X(rows, cols);
  for (index_t j = 0; j < cols; ++j)
    for (index_t i = 0; i < rows; ++i) X(i, j) = static_cast<T>(g.normal());
  return X;
}

inline label_vector random_labels(index_t n, label_t classes, std::uint64_t seed) {
  detail::rng g(seed);
  label_vector y(n);
  for (index_t t = 0; t < n; ++t) y(t) = static_cast<label_t>(t < classes ? t : g.below(classes));
  return y;
}

// max |a − b| / max(1, max |b|): relative to the reference's scale.
template <class A, class B>
double relative_error(const A& a, const B& b) {
  const double scale = std::max(1.0, static_cast<double>(b.cwiseAbs().maxCoeff()));
  return static_cast<double>((a - b).cwiseAbs().maxCoeff()) / scale;
}

// The k nearest references of query q (global index) in brute force, ties by the smaller index.
template <class T>
std::vector<label_t> brute_force_knn(const matrix<T>& X, const label_vector& y, index_t q,
                                     index_t k, bool exclude_self, label_filter filter) {
  std::vector<label_t> order;
  for (label_t r = 0; r < X.cols(); ++r) {
    if (exclude_self && r == q) continue;
    if (filter == label_filter::same && y(r) != y(q)) continue;
    if (filter == label_filter::different && y(r) == y(q)) continue;
    order.push_back(r);
  }
  auto dq = [&](label_t r) { return (X.col(q) - X.col(r)).squaredNorm(); };
  std::stable_sort(order.begin(), order.end(), [&](label_t a, label_t b) { return dq(a) < dq(b); });
  order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(k)));
  return order;
}

inline std::string data_path(const std::string& file) {
  return std::string(MAHAL_TEST_DATA_DIR) + "/" + file;
}
inline bool have_data(const std::string& file) { return std::filesystem::exists(data_path(file)); }

// True, after saying so, when there is no CUDA device: GPU tests return early then.
inline bool no_cuda_device() {
  if (cuda_device_count() > 0) return false;
  MESSAGE("no CUDA device: skipped");
  return true;
}

}  // namespace mahal::test

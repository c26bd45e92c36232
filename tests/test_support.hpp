// Shared helpers of the test suite: seeded random data and tolerance checks.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <string>

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

inline std::string data_path(const std::string& file) {
  return std::string(MAHAL_TEST_DATA_DIR) + "/" + file;
}
inline bool have_data(const std::string& file) { return std::filesystem::exists(data_path(file)); }

}  // namespace mahal::test

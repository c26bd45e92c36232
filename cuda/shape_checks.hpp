// cuda/shape_checks.hpp — the argument checks that only the CUDA backend needs (plain C++).
//
// Shapes are checked once for every device by backend<T>'s public members (src/backend.cpp);
// what remains here is device-specific: an array of another backend handed to this one, output
// storage shared with an input where a kernel cannot allow it, and 32-bit limits of library
// calls. Each check throws mahal::invalid_argument naming the operation and the values, e.g.
//   "mahal::backend::col_dots (cuda): out and p must not share storage".
#pragma once

#include <cstdint>
#include <limits>
#include <ostream>

#include "mahal/backend.hpp"
#include "mahal/error.hpp"

namespace mahal::cuda::checks {

// "3x4"
struct shape {
  index_t rows;
  index_t cols;
  friend std::ostream& operator<<(std::ostream& out, const shape& s) {
    return out << s.rows << "x" << s.cols;
  }
};

template <class U>
shape shape_of(const device_array<U>& x) {
  return {x.rows(), x.cols()};
}

// x lives on the CUDA device (an empty array may come from anywhere).
template <class U>
void on_device(const char* where, const char* name, const device_array<U>& x) {
  expects(x.empty() || x.where() == device::cuda, where, name,
          " is not an array of the CUDA backend (it lives in host memory)");
}

// Whether two arrays share any element (empty arrays overlap nothing).
template <class U, class V>
bool overlap(const device_array<U>& x, const device_array<V>& y) {
  if (x.empty() || y.empty()) return false;
  const auto x0 = reinterpret_cast<std::uintptr_t>(x.data());
  const auto y0 = reinterpret_cast<std::uintptr_t>(y.data());
  const auto x1 = x0 + static_cast<std::uintptr_t>(x.size()) * sizeof(U);
  const auto y1 = y0 + static_cast<std::uintptr_t>(y.size()) * sizeof(V);
  return x0 < y1 && y0 < x1;
}

template <class U, class V>
void disjoint(const char* where, const char* x_name, const device_array<U>& x, const char* y_name,
              const device_array<V>& y) {
  expects(!overlap(x, y), where, x_name, " and ", y_name, " must not share storage");
}

// Sizes handed to 32-bit library interfaces (cuSOLVER's syevd).
inline void fits_int(const char* where, const char* name, index_t value) {
  expects(value <= std::numeric_limits<int>::max(), where, name, " = ", value,
          " exceeds the 32-bit limit of the CUDA library call");
}

}  // namespace mahal::cuda::checks

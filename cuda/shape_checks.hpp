// cuda/shape_checks.hpp — argument checks of the CUDA backend's operations (plain C++).
//
// Each check throws mahal::invalid_argument whose message names the operation, the argument and
// the sizes, e.g. "mahal::backend::gemm (cuda): op(a) is 3×4 but op(b) is 5×2".
// The CPU backend makes the same checks (src/backend_checks.hpp); keep the two in step.
#pragma once

#include <cstdint>
#include <limits>
#include <ostream>

#include "mahal/backend.hpp"
#include "mahal/error.hpp"

namespace mahal::cuda::checks {

// "3×4"
struct shape {
  index_t rows;
  index_t cols;
  friend std::ostream& operator<<(std::ostream& out, const shape& s) {
    return out << s.rows << "×" << s.cols;
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

template <class U>
void has_shape(const char* where, const char* name, const device_array<U>& x, index_t rows,
               index_t cols) {
  on_device(where, name, x);
  expects(x.rows() == rows && x.cols() == cols, where, name, " is ", shape_of(x),
          " but must be ", shape{rows, cols});
}

// A vector argument: any rows×cols with rows·cols == size.
template <class U>
void has_size(const char* where, const char* name, const device_array<U>& x, index_t size) {
  on_device(where, name, x);
  expects(x.size() == size, where, name, " has ", x.size(), " values (", shape_of(x),
          ") but must have ", size);
}

template <class U, class V>
void same_size(const char* where, const char* x_name, const device_array<U>& x,
               const char* y_name, const device_array<V>& y) {
  on_device(where, x_name, x);
  on_device(where, y_name, y);
  expects(x.size() == y.size(), where, x_name, " has ", x.size(), " values (", shape_of(x),
          ") but ", y_name, " has ", y.size(), " (", shape_of(y), ")");
}

template <class U, class V>
void same_shape(const char* where, const char* x_name, const device_array<U>& x,
                const char* y_name, const device_array<V>& y) {
  on_device(where, x_name, x);
  on_device(where, y_name, y);
  expects(x.rows() == y.rows() && x.cols() == y.cols(), where, x_name, " is ", shape_of(x),
          " but ", y_name, " is ", shape_of(y));
}

// A 2×m pair list (an empty list may have any shape with no values).
inline void is_pair_list(const char* where, const char* name, const device_array<label_t>& x) {
  on_device(where, name, x);
  expects(x.empty() || x.rows() == 2, where, name, " is ", shape_of(x),
          " but a pair list must be 2×m");
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
void disjoint(const char* where, const char* x_name, const device_array<U>& x,
              const char* y_name, const device_array<V>& y) {
  expects(!overlap(x, y), where, x_name, " and ", y_name, " must not share storage");
}

// Sizes handed to 32-bit library interfaces (cuSOLVER's syevd).
inline void fits_int(const char* where, const char* name, index_t value) {
  expects(value <= std::numeric_limits<int>::max(), where, name, " = ", value,
          " exceeds the 32-bit limit of the CUDA library call");
}

}  // namespace mahal::cuda::checks

// mahal/error.hpp — the one exception hierarchy of the library.
//
//   mahal::error                     (std::runtime_error)
//   ├── mahal::invalid_argument      bad input from the caller: shapes, NaN/Inf, labels, k, ...
//   ├── mahal::io_error              unreadable, truncated or corrupt files
//   ├── mahal::numerical_error       a computation that cannot give a meaningful result
//   └── mahal::device_error          CUDA / cuBLAS / cuSOLVER failures and missing devices
//
// Messages name the function and the offending values, e.g.
//   "mahal::knn_search: k = 5 but the reference set has 3 points".
// Not converging is not an error: solvers report it as a status in their result.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace mahal {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class invalid_argument : public error {
 public:
  using error::error;
};

class io_error : public error {
 public:
  using error::error;
};

class numerical_error : public error {
 public:
  using error::error;
};

class device_error : public error {
 public:
  using error::error;
};

namespace detail {

// Concatenates the streamable parts into one message.
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

}  // namespace detail

// Throws Error("<where>: <message parts...>") unless cond holds.
//   expects<invalid_argument>(k < n, "mahal::knn_search", "k = ", k, " but n = ", n);
template <class Error = invalid_argument, class... Parts>
void expects(bool cond, const char* where, Parts&&... parts) {
  if (!cond) throw Error(detail::concat(where, ": ", std::forward<Parts>(parts)...));
}

}  // namespace mahal

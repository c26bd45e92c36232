// fuzz_problem.hpp — what the solver fuzz targets share: a tiny labelled problem decoded from the
// input, with coarse values so that repeated points, ties, constant features and one-point
// classes are common; and the check that aborts (a finding) with the promise it broke.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "mahal/matrix.hpp"

namespace mahal::fuzz {

inline void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz: broken promise: %s\n", what);
  std::abort();
}

inline bool finite(double v) { return std::isfinite(v); }

template <class T = double>
struct problem {
  matrix<T> X;  // d×n
  label_vector y;
};

// byte 0 is the target's mode byte; byte 1: d = 1..4; byte 2: n = 2..25; then n labels (0..2),
// then d·n values in steps of 1/16 within [−8, 8). Missing bytes read as 0.
template <class T = double>
problem<T> decode(const std::uint8_t* data, std::size_t size) {
  std::size_t at = 1;
  auto next = [&]() -> std::uint8_t { return at < size ? data[at++] : 0; };
  const index_t d = 1 + next() % 4, n = 2 + next() % 24;
  problem<T> p{matrix<T>(d, n), label_vector(n)};
  for (index_t i = 0; i < n; ++i) p.y[i] = next() % 3;
  for (index_t j = 0; j < n; ++j)
    for (index_t i = 0; i < d; ++i)
      p.X(i, j) = static_cast<T>(static_cast<std::int8_t>(next()) / 16.0);
  return p;
}

}  // namespace mahal::fuzz

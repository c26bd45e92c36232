// Reusable device buffers of mahal::nn. A batch's distinct-sample count varies from step to step
// and creeps up over the first steps; buffers grow to an eighth more than asked (never shrink),
// so that a step at a new maximum rarely reallocates (fresh pages fault and are zeroed: 6 % of a
// 16384-triplet step when every new maximum reallocated).
#pragma once

#include "mahal/backend.hpp"

namespace mahal::nn::buffers {

inline index_t with_headroom(index_t n) { return n + n / 8; }

// The first n columns of a reusable rows×capacity buffer.
template <class T>
device_array<T> columns_of(backend<T>& be, device_array<T>& store, index_t rows, index_t n) {
  if (store.rows() != rows || store.cols() < n || store.where() != be.where())
    store = be.alloc(rows, with_headroom(n));
  return store.col_range(0, n);
}

}  // namespace mahal::nn::buffers

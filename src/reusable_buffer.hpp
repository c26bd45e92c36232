// Reusable backend buffers for work that repeats with varying sizes: a network's batches, LMNN's
// mini-batches. A buffer grows to an eighth more than asked and never shrinks, so a step
// allocates only at a new maximum. On the CPU a fresh allocation faults in and zeroes its pages
// (6 % of a 16384-triplet step when every new maximum reallocated); on a GPU it synchronises
// the device.
#pragma once

#include "mahal/backend.hpp"

namespace mahal::buffers {

inline index_t with_headroom(index_t n) { return n + n / 8; }

// A rows×cols view of the first rows·cols entries of `store`, reallocated when too small or in
// another backend's memory; `alloc(size)` makes a size×1 array.
template <class U, class Alloc>
device_array<U> reuse_with(device_array<U>& store, index_t rows, index_t cols, device where,
                           Alloc alloc) {
  if (store.size() < rows * cols || store.where() != where)
    store = alloc(with_headroom(rows * cols));
  return store.reshaped(rows, cols);
}

template <class T>
device_array<T> reuse(backend<T>& be, device_array<T>& store, index_t rows, index_t cols) {
  return reuse_with(store, rows, cols, be.where(), [&](index_t size) { return be.alloc(size, 1); });
}

template <class T>
device_array<label_t> reuse_labels(backend<T>& be, device_array<label_t>& store, index_t rows,
                                   index_t cols) {
  return reuse_with(store, rows, cols, be.where(),
                    [&](index_t size) { return be.alloc_labels(size, 1); });
}

}  // namespace mahal::buffers

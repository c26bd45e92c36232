// The CPU backend's LMNN operations (backend::impostor_pairs, the scan of impostor_sweep and
// backend::lmnn_hinge) on host memory, with OpenMP. Shapes are validated by backend<T>.
#pragma once

#include <vector>

#include "mahal/backend.hpp"

namespace mahal::cpu {

// Per-thread lists of one impostor_pairs call, kept between calls to reuse their memory.
using pair_lists = std::vector<std::vector<label_t>>;

template <class T>
index_t impostor_pairs(const T* block, index_t rows, index_t cols, index_t first_query,
                       index_t first_ref, bool upper, const T* radius2, const label_t* labels,
                       label_t* found, index_t capacity, pair_lists& lists);

// The impostor_pairs rule on columns [b0, b1) of a distance block (rows × ·, column-major),
// appending each pair found to `out` as i, l. The scan behind impostor_pairs and the CPU's
// impostor_sweep: a function of plain pointers, so that the loads stay in registers across the
// appends.
template <class T>
void scan_impostors(const T* block, index_t rows, index_t b0, index_t b1, index_t first_query,
                    index_t first_ref, bool upper, const T* radius2, const label_t* labels,
                    std::vector<label_t>& out);

// offsets: na + 1 entries; dist and weights (may be null): m entries.
template <class T>
hinge_sums lmnn_hinge(const T* dist, index_t m, const label_t* offsets, index_t na,
                      const hinge_options& options, T* weights);

}  // namespace mahal::cpu

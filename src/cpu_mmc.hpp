// The CPU backend's MMC operation (backend::mmc_diagonal_terms) on host memory, with OpenMP.
// Shapes are validated by backend<T>.
#pragma once

#include "mahal/backend.hpp"

namespace mahal::cpu {

// x_rows d×rows, x_cols d×cols, w d (column-major host arrays); adds into terms (sized).
template <class T>
void mmc_diagonal_terms(const T* x_rows, index_t rows, const T* x_cols, index_t cols, index_t d,
                        index_t first_row, index_t first_col, bool upper, const T* w,
                        diagonal_terms& terms);

}  // namespace mahal::cpu

// mahal/distances.hpp — distances under a metric and the weighted pair scatter, host-level.
//
// The pair scatter is the one engine under every solver's gradient:
//   G = Σ_k w_k (x_i − x_j)(x_i − x_j)ᵀ = X·Lap·Xᵀ            (d×d)
// computed as a sparse Laplacian applied to X followed by one GEMM (never one d×d outer
// product per pair). In L-space (A = LᵀL) the gradient of Σ w_k ||L(x_i − x_j)||² with
// respect to L is 2·L·G, computed as 2·(LX)·Lap·Xᵀ without forming G.
//
//   auto be = mahal::make_backend<double>(mahal::device::cpu);
//   mahal::pair_list pairs = {{0, 1}, {2, 5}};
//   mahal::vector<double> w(2);  w << 1.0, -0.5;
//   mahal::matrix<double> G = mahal::pair_scatter(*be, X, pairs, w);
#pragma once

#include "mahal/backend.hpp"
#include "mahal/matrix.hpp"
#include "mahal/metric.hpp"

namespace mahal {

// d_m(x_i, x_j)² for each pair (m×1). X d×n.
template <class T>
vector<T> pair_sqdist(backend<T>& be, const metric<T>& m, matrix_ref<T> X,
                      const pair_list& pairs);

// All squared distances between the columns of Xa (d×na) and Xb (d×nb) under the metric,
// na×nb, computed blockwise and clamped at 0. Dense output: for large sets use
// engine::for_each_sqdist_block, which never holds more than one block.
template <class T>
matrix<T> pairwise_sqdist(backend<T>& be, const metric<T>& m, matrix_ref<T> Xa,
                          matrix_ref<T> Xb);

// G = Σ_k w_k (x_i − x_j)(x_i − x_j)ᵀ, d×d. Weights may be negative; repeated pairs add up.
template <class T>
matrix<T> pair_scatter(backend<T>& be, matrix_ref<T> X, const pair_list& pairs,
                       vector_ref<T> weights);

// 2·L·G, k×d: the gradient of Σ_k w_k ||L(x_i − x_j)||² with respect to L (k×d).
template <class T>
matrix<T> pair_scatter_linear(backend<T>& be, matrix_ref<T> L, matrix_ref<T> X,
                              const pair_list& pairs, vector_ref<T> weights);

// Throws invalid_argument unless every pair indexes a column of X (0 <= i, j < n).
void check_pairs(const pair_list& pairs, index_t n, const char* where);

}  // namespace mahal

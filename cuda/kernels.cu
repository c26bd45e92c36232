// cuda/kernels.cu — the CUDA kernels of the backend and their launchers (see kernels.hpp).
//
// Conventions: 256-thread blocks, grid-stride loops over 64-bit indices (so a grid of bounded
// size serves any n), column-major arrays, one small op struct per element-wise map run by one
// generic kernel. Kernels that may run in place (map, multiply) take no __restrict__ pointers.
#include <math_constants.h>

#include <cstdint>
#include <cub/device/device_scan.cuh>
#include <type_traits>

#include "cuda_check.hpp"
#include "kernels.hpp"

namespace mahal::cuda::kernels {
namespace {

constexpr int block_threads = 256;
constexpr index_t max_blocks = 4096;  // grid-stride loops cover the rest

// Blocks for `work` items at `per_block` items per block, capped at max_blocks (at least 1).
unsigned grid_for(index_t work, index_t per_block) {
  index_t blocks = (work + per_block - 1) / per_block;
  if (blocks < 1) blocks = 1;
  if (blocks > max_blocks) blocks = max_blocks;
  return static_cast<unsigned>(blocks);
}

__device__ __forceinline__ index_t global_thread() {
  return static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ index_t grid_threads() {
  return static_cast<index_t>(gridDim.x) * blockDim.x;
}

// ---- element-wise ------------------------------------------------------------------------------
// Written as the CPU backend writes them (src/cpu_backend.cpp, apply), NaN handling included:
// sqrt, reciprocal, square and relu pass NaN through; inv_two_sqrt and step map it to 0.

template <class T>
struct sqrt_op {  // sqrt(max(x, 0))
  __device__ T operator()(T x) const { return sqrt(x < T(0) ? T(0) : x); }
};
template <class T>
struct inv_two_sqrt_op {  // 1 / (2 sqrt(x)), 0 where x <= 0
  __device__ T operator()(T x) const { return x > T(0) ? T(1) / (T(2) * sqrt(x)) : T(0); }
};
template <class T>
struct reciprocal_op {  // 1 / x, 0 where x == 0
  __device__ T operator()(T x) const { return x == T(0) ? T(0) : T(1) / x; }
};
template <class T>
struct square_op {
  __device__ T operator()(T x) const { return x * x; }
};
template <class T>
struct relu_op {  // max(x, 0)
  __device__ T operator()(T x) const { return x < T(0) ? T(0) : x; }
};
template <class T>
struct step_op {  // 1 where x > 0, else 0
  __device__ T operator()(T x) const { return x > T(0) ? T(1) : T(0); }
};
template <class T>
struct tanh_op {  // tanhf / tanh of the CUDA math library (within 2 ulp of std::tanh)
  __device__ T operator()(T x) const { return tanh(x); }
};

// The binary maps out = f(a, b), as the CPU backend's do_map2 writes them.
template <class T>
struct relu_grad_op {  // a where b > 0, else 0
  __device__ T operator()(T a, T b) const { return b > T(0) ? a : T(0); }
};
template <class T>
struct tanh_grad_op {  // a·(1 − b²)
  __device__ T operator()(T a, T b) const { return a * (T(1) - b * b); }
};

template <class T, class Op>
__global__ void map_kernel(const T* x, T* y, index_t n, Op op) {
  for (index_t i = global_thread(); i < n; i += grid_threads()) y[i] = op(x[i]);
}

// Each element is read and then written by one thread, so out may be a or b.
template <class T, class Op>
__global__ void map2_kernel(const T* a, const T* b, T* out, index_t n, Op op) {
  for (index_t i = global_thread(); i < n; i += grid_threads()) out[i] = op(a[i], b[i]);
}

template <class T>
__global__ void fill_kernel(T* __restrict__ x, index_t n, T value) {
  for (index_t i = global_thread(); i < n; i += grid_threads()) x[i] = value;
}

template <class T>
__global__ void multiply_kernel(const T* x, T* y, index_t n) {
  for (index_t i = global_thread(); i < n; i += grid_threads()) y[i] = x[i] * y[i];
}

template <class T, class Op>
void launch_map(const T* x, T* y, index_t n, Op op, stream_t stream) {
  map_kernel<<<grid_for(n, block_threads), block_threads, 0, stream>>>(x, y, n, op);
  check_launch("map_kernel");
}

template <class T, class Op>
void launch_map2(const T* a, const T* b, T* out, index_t n, Op op, stream_t stream) {
  map2_kernel<<<grid_for(n, block_threads), block_threads, 0, stream>>>(a, b, out, n, op);
  check_launch("map2_kernel");
}

// ---- row and column broadcasts ---------------------------------------------------------------
// Grid-stride over the rows×cols entries; (i, j) from the linear index (one division each).

template <class T>
__global__ void add_to_cols_kernel(const T* __restrict__ b, T* __restrict__ x, index_t rows,
                                   index_t n) {
  for (index_t t = global_thread(); t < n; t += grid_threads()) x[t] += b[t % rows];
}

// dst may equal src (each entry is read and written by one thread): no __restrict__ on them.
template <class T>
__global__ void scale_cols_kernel(const T* src, const T* __restrict__ s, T* dst, index_t rows,
                                  index_t n) {
  for (index_t t = global_thread(); t < n; t += grid_threads()) dst[t] = src[t] * s[t / rows];
}

template <class T>
__global__ void gather_cols_kernel(const T* __restrict__ x, const label_t* __restrict__ idx,
                                   T* __restrict__ out, index_t rows, index_t n) {
  for (index_t t = global_thread(); t < n; t += grid_threads()) {
    const index_t col = t / rows;
    const index_t row = t - col * rows;
    out[t] = x[row + rows * static_cast<index_t>(idx[col])];
  }
}

// The CPU backend's expression order: (1 − β2)·g·g is ((1 − β2)·g)·g.
template <class T>
__global__ void adam_kernel(T step, T beta1, T beta2, T eps, T root_c2, const T* __restrict__ g,
                            T* __restrict__ m, T* __restrict__ v, T* __restrict__ p, index_t n) {
  const T one_minus_beta1 = T(1) - beta1;
  const T one_minus_beta2 = T(1) - beta2;
  for (index_t t = global_thread(); t < n; t += grid_threads()) {
    const T gt = g[t];
    const T mt = beta1 * m[t] + one_minus_beta1 * gt;
    const T vt = beta2 * v[t] + one_minus_beta2 * gt * gt;
    m[t] = mt;
    v[t] = vt;
    p[t] -= step * mt / (sqrt(vt) / root_c2 + eps);
  }
}

// ---- reductions --------------------------------------------------------------------------------

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); the result is valid in thread 0.
// Call once per kernel (the shared array is not re-synchronised for reuse).
template <class T>
__device__ T block_sum(T v) {
  __shared__ T warp_totals[32];
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) warp_totals[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int n_warps = static_cast<int>(blockDim.x >> 5);
    v = lane < n_warps ? warp_totals[lane] : T(0);
    v = warp_sum(v);
  }
  return v;
}

constexpr index_t reduce_max_partials = 1024;

// Per-block partial sums of x (y null) or x∘y, in double.
template <class T>
__global__ void reduce_partials_kernel(const T* __restrict__ x, const T* __restrict__ y, index_t n,
                                       double* __restrict__ partials) {
  double acc = 0.0;
  if (y == nullptr) {
    for (index_t i = global_thread(); i < n; i += grid_threads()) acc += static_cast<double>(x[i]);
  } else {
    for (index_t i = global_thread(); i < n; i += grid_threads())
      acc += static_cast<double>(x[i]) * static_cast<double>(y[i]);
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

__global__ void reduce_final_kernel(const double* __restrict__ partials, index_t n_partials,
                                    double* __restrict__ result) {
  double acc = 0.0;
  for (index_t i = threadIdx.x; i < n_partials; i += blockDim.x) acc += partials[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) *result = acc;
}

// ---- column and pair kernels -------------------------------------------------------------------
// G lanes cooperate on one item (a column or a pair), striding over its rows: 32 / G items per
// warp. G adapts to the row count so that short columns (d = 2..16) do not idle most lanes.
// The item loop's bound depends only on the warp, so every lane of a warp takes part in each
// shuffle.

template <class T, int G>
__device__ __forceinline__ T group_sum(T v) {
  for (int offset = G / 2; offset > 0; offset >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, offset, G);
  return v;
}

struct group_layout {
  index_t first;   // first item of this warp
  index_t stride;  // items between consecutive iterations of one warp
  int sub;         // this lane's item inside the warp's items
  int lane;        // this lane's index inside its group
};

template <int G>
__device__ __forceinline__ group_layout make_group_layout() {
  constexpr int per_warp = 32 / G;
  const int lane = static_cast<int>(threadIdx.x & 31);
  const index_t warp = global_thread() >> 5;
  const index_t n_warps = grid_threads() >> 5;
  return {warp * per_warp, n_warps * per_warp, lane / G, lane % G};
}

template <class T, int G>
__global__ void col_dots_kernel(const T* __restrict__ p, const T* __restrict__ q, index_t rows,
                                index_t cols, T* __restrict__ out) {
  const group_layout g = make_group_layout<G>();
  for (index_t base = g.first; base < cols; base += g.stride) {
    const index_t c = base + g.sub;
    T acc = T(0);
    if (c < cols) {
      const T* pc = p + c * rows;
      const T* qc = q + c * rows;
      for (index_t r = g.lane; r < rows; r += G) acc += pc[r] * qc[r];
    }
    acc = group_sum<T, G>(acc);
    if (c < cols && g.lane == 0) out[c] = acc;
  }
}

__global__ void check_indices_kernel(const label_t* __restrict__ idx, index_t count, index_t n,
                                     unsigned long long* __restrict__ first_bad) {
  for (index_t t = global_thread(); t < count; t += grid_threads()) {
    const label_t i = idx[t];
    if (i < 0 || i >= n) atomicMin(first_bad, static_cast<unsigned long long>(t));
  }
}

__global__ void check_pairs_kernel(const label_t* __restrict__ pairs, index_t m, index_t n,
                                   unsigned long long* __restrict__ first_bad) {
  for (index_t k = global_thread(); k < m; k += grid_threads()) {
    const label_t i = pairs[2 * k];
    const label_t j = pairs[2 * k + 1];
    if (i < 0 || i >= n || j < 0 || j >= n)
      atomicMin(first_bad, static_cast<unsigned long long>(k));
  }
}

template <class T, int G>
__global__ void pair_laplacian_kernel(const T* __restrict__ q, index_t rows,
                                      const label_t* __restrict__ pairs,
                                      const T* __restrict__ weights, T alpha, index_t m,
                                      const label_t* __restrict__ column_of, T* __restrict__ y) {
  const group_layout g = make_group_layout<G>();
  for (index_t base = g.first; base < m; base += g.stride) {
    const index_t k = base + g.sub;
    if (k >= m) continue;  // no shuffles below: lanes may leave independently
    const T w = alpha * weights[k];
    const index_t i = pairs[2 * k];
    const index_t j = pairs[2 * k + 1];
    if (w == T(0) || i == j) continue;  // contributes exactly zero
    const T* qi = q + i * rows;
    const T* qj = q + j * rows;
    T* yi = y + (column_of != nullptr ? column_of[i] : i) * rows;
    T* yj = y + (column_of != nullptr ? column_of[j] : j) * rows;
    for (index_t r = g.lane; r < rows; r += G) {
      const T delta = w * (qi[r] - qj[r]);
      atomicAdd(yi + r, delta);
      atomicAdd(yj + r, -delta);
    }
  }
}

template <class T>
__global__ void mark_pair_points_kernel(const label_t* __restrict__ pairs,
                                        const T* __restrict__ weights, index_t m,
                                        label_t* __restrict__ mark) {
  for (index_t k = global_thread(); k < m; k += grid_threads()) {
    const label_t i = pairs[2 * k], j = pairs[2 * k + 1];
    if (weights[k] == T(0) || i == j) continue;
    mark[i] = 1;  // racing writes all store the same value
    mark[j] = 1;
  }
}

__global__ void list_marked_kernel(const label_t* __restrict__ mark,
                                   const label_t* __restrict__ position, index_t n,
                                   label_t* __restrict__ points) {
  for (index_t v = global_thread(); v < n; v += grid_threads())
    if (mark[v] != 0) points[position[v]] = static_cast<label_t>(v);
}

template <class T, int G>
__global__ void pair_sqdist_kernel(const T* __restrict__ p, const T* __restrict__ q, index_t rows,
                                   const label_t* __restrict__ pairs, index_t m,
                                   T* __restrict__ out) {
  const group_layout g = make_group_layout<G>();
  for (index_t base = g.first; base < m; base += g.stride) {
    const index_t k = base + g.sub;
    T acc = T(0);
    if (k < m) {
      const index_t i = pairs[2 * k];
      const index_t j = pairs[2 * k + 1];
      const T* pi = p + i * rows;
      const T* pj = p + j * rows;
      const T* qi = q + i * rows;
      const T* qj = q + j * rows;
      for (index_t r = g.lane; r < rows; r += G) acc += (pi[r] - pj[r]) * (qi[r] - qj[r]);
    }
    acc = group_sum<T, G>(acc);
    if (k < m && g.lane == 0) out[k] = acc;
  }
}

// Lanes per item for `rows` rows: the smallest of 4, 8, 16, 32 that covers them.
template <template <class, int> class Launch, class T, class... Args>
void launch_grouped(index_t rows, index_t items, stream_t stream, const char* name, Args... args) {
  const auto launch = [&](auto group) {
    constexpr int G = decltype(group)::value;
    const index_t items_per_block = block_threads / G;
    Launch<T, G>::run(grid_for(items, items_per_block), stream, args...);
    check_launch(name);
  };
  if (rows > 16) {
    launch(std::integral_constant<int, 32>{});
  } else if (rows > 8) {
    launch(std::integral_constant<int, 16>{});
  } else if (rows > 4) {
    launch(std::integral_constant<int, 8>{});
  } else {
    launch(std::integral_constant<int, 4>{});
  }
}

template <class T, int G>
struct col_dots_launch {
  static void run(unsigned grid, stream_t stream, const T* p, const T* q, index_t rows,
                  index_t cols, T* out) {
    col_dots_kernel<T, G><<<grid, block_threads, 0, stream>>>(p, q, rows, cols, out);
  }
};
template <class T, int G>
struct pair_laplacian_launch {
  static void run(unsigned grid, stream_t stream, const T* q, index_t rows, const label_t* pairs,
                  const T* weights, T alpha, index_t m, const label_t* column_of, T* y) {
    pair_laplacian_kernel<T, G>
        <<<grid, block_threads, 0, stream>>>(q, rows, pairs, weights, alpha, m, column_of, y);
  }
};
template <class T, int G>
struct pair_sqdist_launch {
  static void run(unsigned grid, stream_t stream, const T* p, const T* q, index_t rows,
                  const label_t* pairs, index_t m, T* out) {
    pair_sqdist_kernel<T, G><<<grid, block_threads, 0, stream>>>(p, q, rows, pairs, m, out);
  }
};

// ---- all-pairs block
// -----------------------------------------------------------------------------

template <class T>
__global__ void sqdist_epilogue_kernel(T* __restrict__ out, index_t n_queries, index_t n_refs,
                                       const T* __restrict__ pn, const T* __restrict__ qn) {
  for (index_t b = blockIdx.y; b < n_refs; b += gridDim.y) {
    const T qb = qn[b];
    T* col = out + b * n_queries;
    for (index_t a = global_thread(); a < n_queries; a += grid_threads()) {
      const T v = (col[a] + pn[a]) + qb;  // the CPU backend's order of additions
      col[a] = T(0) < v ? v : T(0);       // std::max(0, v): NaN becomes 0, as on the CPU
    }
  }
}

// ---- top-k merge -------------------------------------------------------------------------------
// The order of candidates, as in the CPU backend: by distance, ties by the smaller index; an
// empty slot (index -1, distance +inf) loses to every candidate of equal distance. A candidate
// enters a full list only if it comes strictly before the current last entry, so NaN
// distances never enter.

__device__ __forceinline__ float infinity(float) { return CUDART_INF_F; }
__device__ __forceinline__ double infinity(double) { return CUDART_INF; }

template <class T>
__device__ __forceinline__ bool comes_before(T d1, label_t i1, T d2, label_t i2) {
  return d1 < d2 || (d1 == d2 && (i2 < 0 || i1 < i2));
}

// Whether reference `gr` is a candidate for query `gq` with label `query_label`.
template <class T>
__device__ __forceinline__ bool admissible(const topk_args<T>& a, index_t gq, index_t gr,
                                           label_t query_label) {
  if (a.exclude_self && gr == gq) return false;
  if (a.filter == label_filter::same) return a.ref_labels[gr] == query_label;
  if (a.filter == label_filter::different) return a.ref_labels[gr] != query_label;
  return true;
}

// Loads a sorted list of k = K − pad entries into register slots [pad, K); slots below pad are
// never compared nor written back.
template <class T, int K>
__device__ __forceinline__ void register_load(const T* d_list, const label_t* i_list, index_t pad,
                                              T (&dist)[K], label_t (&idx)[K]) {
#pragma unroll
  for (int s = 0; s < K; ++s) {
    dist[s] = s < pad ? T(0) : d_list[s - pad];
    idx[s] = s < pad ? -1 : i_list[s - pad];
  }
}

// Writes register slots [pad, K) back as a list of k entries.
template <class T, int K>
__device__ __forceinline__ void register_store(const T (&dist)[K], const label_t (&idx)[K],
                                               index_t pad, T* d_list, label_t* i_list) {
#pragma unroll
  for (int s = 0; s < K; ++s) {
    if (s >= pad) {
      d_list[s - pad] = dist[s];
      i_list[s - pad] = idx[s];
    }
  }
}

// Inserts (d, r), known to come before the last entry, into the sorted register list occupying
// slots [pad, K): shifts the entries after it one slot up (the last one drops out).
template <class T, int K>
__device__ __forceinline__ void register_insert(T (&dist)[K], label_t (&idx)[K], index_t pad, T d,
                                                label_t r) {
  bool placed = false;
#pragma unroll
  for (int s = K - 1; s >= 1; --s) {
    if (!placed) {
      if (s > pad && comes_before(d, r, dist[s - 1], idx[s - 1])) {
        dist[s] = dist[s - 1];
        idx[s] = idx[s - 1];
      } else {
        dist[s] = d;
        idx[s] = r;
        placed = true;
      }
    }
  }
  if (!placed) {  // only when pad == 0
    dist[0] = d;
    idx[0] = r;
  }
}

// Offers the admissible references [b_begin, b_end) of the block's column for query qa (global
// index gq) to the register list.
template <class T, int K>
__device__ __forceinline__ void register_scan(const topk_args<T>& a, index_t qa, index_t gq,
                                              index_t b_begin, index_t b_end, T (&dist)[K],
                                              label_t (&idx)[K], index_t pad) {
  const label_t query_label = a.filter == label_filter::any ? 0 : a.query_labels[gq];
  const T* row = a.block + qa;
  for (index_t b = b_begin; b < b_end; ++b) {
    const index_t gr = a.first_ref + b;
    if (!admissible(a, gq, gr, query_label)) continue;
    const T d = row[b * a.n_queries];
    const label_t r = static_cast<label_t>(gr);
    if (comes_before(d, r, dist[K - 1], idx[K - 1])) register_insert<T, K>(dist, idx, pad, d, r);
  }
}

// One thread per query; the list lives in registers (K compile-time slots, every array index
// a compile-time constant after unrolling). For k < K the list occupies the last k slots
// [pad, K) with pad = K − k, so its k-th entry is always slot K − 1; the first pad slots are
// never compared nor written. Reads of the block are coalesced: consecutive threads read
// consecutive rows of one column.
template <class T, int K>
__global__ void __launch_bounds__(128) topk_register_kernel(const topk_args<T> a) {
  const index_t pad = K - a.k;
  for (index_t qa = global_thread(); qa < a.n_queries; qa += grid_threads()) {
    const index_t gq = a.first_query + qa;
    T* dcol = a.sqdist + gq * a.k;
    label_t* icol = a.indices + gq * a.k;
    T dist[K];
    label_t idx[K];
    register_load<T, K>(dcol, icol, pad, dist, idx);
    register_scan<T, K>(a, qa, gq, 0, a.n_refs, dist, idx, pad);
    register_store<T, K>(dist, idx, pad, dcol, icol);
  }
}

// Any k: the same algorithm on the state column itself (each thread owns its query's column,
// so there are no races); slower, used for k > topk_register_max_k.
template <class T>
__global__ void topk_global_kernel(const topk_args<T> a) {
  for (index_t qa = global_thread(); qa < a.n_queries; qa += grid_threads()) {
    const index_t gq = a.first_query + qa;
    T* dcol = a.sqdist + gq * a.k;
    label_t* icol = a.indices + gq * a.k;
    const label_t query_label = a.filter == label_filter::any ? 0 : a.query_labels[gq];
    const T* row = a.block + qa;
    for (index_t b = 0; b < a.n_refs; ++b) {
      const index_t gr = a.first_ref + b;
      if (!admissible(a, gq, gr, query_label)) continue;
      const T d = row[b * a.n_queries];
      const label_t r = static_cast<label_t>(gr);
      if (!comes_before(d, r, dcol[a.k - 1], icol[a.k - 1])) continue;
      index_t s = a.k - 1;
      while (s > 0 && comes_before(d, r, dcol[s - 1], icol[s - 1])) {
        dcol[s] = dcol[s - 1];
        icol[s] = icol[s - 1];
        --s;
      }
      dcol[s] = d;
      icol[s] = r;
    }
  }
}

// Split references, for blocks with few queries (one thread per query would leave most of the
// GPU idle): phase 1 runs one thread per (query, split); each builds the top-k of its share of
// the references (admissible ones only) from an empty list and writes it, sorted, to
// split_sqdist / split_indices (k × (n_queries · splits), column split·n_queries + query).
// Phase 2 runs one thread per query and inserts the split lists into the running state. The
// order (distance, index) is strict and total over distinct references, so the k best of the
// union are the same entries, in the same order, as the one-pass kernel finds.
template <class T, int K>
__global__ void __launch_bounds__(128) topk_split_kernel(const topk_args<T> a) {
  const index_t pad = K - a.k;
  const index_t chunk = (a.n_refs + a.splits - 1) / a.splits;
  const index_t items = a.n_queries * a.splits;
  for (index_t t = global_thread(); t < items; t += grid_threads()) {
    const index_t qa = t % a.n_queries;  // consecutive threads: consecutive queries (coalesced)
    const index_t split = t / a.n_queries;
    const index_t gq = a.first_query + qa;
    T dist[K];
    label_t idx[K];
#pragma unroll
    for (int s = 0; s < K; ++s) {
      dist[s] = s < pad ? T(0) : infinity(T(0));
      idx[s] = -1;
    }
    const index_t b_end = (split + 1) * chunk < a.n_refs ? (split + 1) * chunk : a.n_refs;
    register_scan<T, K>(a, qa, gq, split * chunk, b_end, dist, idx, pad);
    T* dout = a.split_sqdist + t * a.k;
    label_t* iout = a.split_indices + t * a.k;
    register_store<T, K>(dist, idx, pad, dout, iout);
  }
}

template <class T, int K>
__global__ void __launch_bounds__(128) topk_split_merge_kernel(const topk_args<T> a) {
  const index_t pad = K - a.k;
  for (index_t qa = global_thread(); qa < a.n_queries; qa += grid_threads()) {
    const index_t gq = a.first_query + qa;
    T* dcol = a.sqdist + gq * a.k;
    label_t* icol = a.indices + gq * a.k;
    T dist[K];
    label_t idx[K];
    register_load<T, K>(dcol, icol, pad, dist, idx);
    for (index_t split = 0; split < a.splits; ++split) {
      const T* dlist = a.split_sqdist + (split * a.n_queries + qa) * a.k;
      const label_t* ilist = a.split_indices + (split * a.n_queries + qa) * a.k;
      // Each list is sorted: once an entry fails to enter (or is empty), the rest fail too.
      for (index_t j = 0; j < a.k; ++j) {
        const label_t r = ilist[j];
        const T d = dlist[j];
        if (r < 0 || !comes_before(d, r, dist[K - 1], idx[K - 1])) break;
        register_insert<T, K>(dist, idx, pad, d, r);
      }
    }
    register_store<T, K>(dist, idx, pad, dcol, icol);
  }
}

template <class T, int K>
void launch_topk_register(const topk_args<T>& args, stream_t stream) {
  constexpr int threads = 128;
  const index_t blocks = (args.n_queries + threads - 1) / threads;
  if (args.splits <= 1) {
    topk_register_kernel<T, K><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(args);
    check_launch("topk_register_kernel");
    return;
  }
  const index_t split_blocks = (args.n_queries * args.splits + threads - 1) / threads;
  topk_split_kernel<T, K><<<static_cast<unsigned>(split_blocks), threads, 0, stream>>>(args);
  check_launch("topk_split_kernel");
  topk_split_merge_kernel<T, K><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(args);
  check_launch("topk_split_merge_kernel");
}

// ---- LMNN --------------------------------------------------------------------------------------

// Reserves `wanted` (0 or 1 per lane) consecutive slots of *count for the lanes that want one,
// with one atomic per warp; returns this lane's slot. All lanes of the warp must call it.
__device__ __forceinline__ unsigned long long warp_reserve(bool wanted, unsigned long long* count) {
  const unsigned mask = __ballot_sync(0xffffffffu, wanted);
  const int lane = threadIdx.x & 31;
  unsigned long long base = 0;
  if (lane == 0 && mask != 0)
    base = atomicAdd(count, static_cast<unsigned long long>(__popc(mask)));
  base = __shfl_sync(0xffffffffu, base, 0);
  return base + static_cast<unsigned long long>(__popc(mask & ((1u << lane) - 1u)));
}

// One entry of the block per thread, rows fastest; the loop bound is the warp's, so every lane
// takes part in the ballots.
template <class T>
__global__ void impostor_pairs_kernel(const T* __restrict__ block, index_t rows, index_t cols,
                                      index_t first_query, index_t first_ref, bool upper,
                                      const T* __restrict__ radius2,
                                      const label_t* __restrict__ labels,
                                      label_t* __restrict__ found, index_t capacity,
                                      unsigned long long* __restrict__ count) {
  const index_t total = rows * cols;
  const index_t lane = threadIdx.x & 31;
  for (index_t base = global_thread() - lane; base < total; base += grid_threads()) {
    const index_t e = base + lane;
    bool near_i = false, near_l = false;
    index_t i = 0, l = 0;
    if (e < total) {
      i = first_query + e % rows;
      l = first_ref + e / rows;
      if ((!upper || l > i) && labels[i] != labels[l]) {
        const T d = block[e];
        near_i = d < radius2[i];
        near_l = d < radius2[l];
      }
    }
    const unsigned long long slot_i = warp_reserve(near_i, count);
    if (near_i && slot_i < static_cast<unsigned long long>(capacity)) {
      found[2 * slot_i] = static_cast<label_t>(i);
      found[2 * slot_i + 1] = static_cast<label_t>(l);
    }
    const unsigned long long slot_l = warp_reserve(near_l, count);
    if (near_l && slot_l < static_cast<unsigned long long>(capacity)) {
      found[2 * slot_l] = static_cast<label_t>(l);
      found[2 * slot_l + 1] = static_cast<label_t>(i);
    }
  }
}

__global__ void check_offsets_kernel(const label_t* __restrict__ offsets, index_t na,
                                     index_t candidates,
                                     unsigned long long* __restrict__ first_bad) {
  for (index_t p = global_thread(); p <= na; p += grid_threads()) {
    const bool bad = p == 0    ? offsets[0] != 0
                     : p == na ? offsets[na] < offsets[na - 1] || offsets[na] != candidates
                               : offsets[p] < offsets[p - 1];
    if (bad) atomicMin(first_bad, static_cast<unsigned long long>(p));
  }
}

// The cut of the `nearest` rule: candidate e of [e0, e1) counts when it is among the `nearest`
// closest (equal distances: the earlier), as the CPU's nth_element cut, i.e. when its rank by
// (distance, position) is below `nearest`, i.e. when (dist[e], e) <= (cut_d, cut_e) for the
// candidate of rank nearest − 1. Found once per anchor by the whole warp (each lane ranks its
// candidates; with finite distances the order is total and exactly one has that rank), so
// that each later test is O(1) instead of a pass over the anchor's candidates.
template <class T>
struct nearest_cut {
  bool all;  // no cut: at most `nearest` candidates, or no rule (nearest = 0)
  T cut_d;
  index_t cut_e;
  __device__ bool counts(const T* __restrict__ dist, index_t e) const {
    if (all) return true;
    const T v = dist[e];
    return v < cut_d || (v == cut_d && e <= cut_e);
  }
};

template <class T>
__device__ nearest_cut<T> find_nearest_cut(const T* __restrict__ dist, index_t e0, index_t e1,
                                           index_t nearest, index_t lane) {
  const nearest_cut<T> all{true, T(0), 0};
  if (nearest <= 0 || e1 - e0 <= nearest) return all;
  index_t mine = -1;
  for (index_t e = e0 + lane; e < e1; e += 32) {
    const T de = dist[e];
    index_t rank = 0;
    for (index_t f = e0; f < e1 && rank < nearest; ++f) {
      const T v = dist[f];
      rank += (v < de || (v == de && f < e)) ? 1 : 0;
    }
    if (rank == nearest - 1) mine = e;
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    const index_t other = __shfl_xor_sync(0xffffffffu, mine, offset);
    mine = other > mine ? other : mine;
  }
  if (mine < 0) return all;  // only with NaN distances, which have no rank
  return nearest_cut<T>{false, dist[mine], mine};
}

// One warp per anchor: lanes stride over its candidates; per-anchor sums by warp shuffles (a
// fixed order). terms is na×4 (pull, push, active triplets, active pairs), in double.
template <class T>
__global__ void lmnn_hinge_kernel(const T* __restrict__ dist, const label_t* __restrict__ offsets,
                                  index_t na, index_t k, index_t nearest, double mu, double scale,
                                  bool squared, T* __restrict__ weights,
                                  double* __restrict__ terms) {
  const index_t lane = threadIdx.x & 31;
  const index_t warps = grid_threads() / 32;
  for (index_t p = global_thread() / 32; p < na; p += warps) {
    const T* dt = dist + p * k;
    const index_t e0 = na * k + offsets[p], e1 = na * k + offsets[p + 1];
    double pull = 0, push = 0, triplets = 0, pairs = 0;
    for (index_t a = lane; a < k; a += 32) pull += static_cast<double>(dt[a]);
    const nearest_cut<T> cut = find_nearest_cut(dist, e0, e1, nearest, lane);
    for (index_t e = e0 + lane; e < e1; e += 32) {
      const bool in = cut.counts(dist, e);
      const double dl = static_cast<double>(dist[e]);
      double wl = 0;
      bool any = false;
      for (index_t a = 0; in && a < k; ++a) {
        const double h = 1 + static_cast<double>(dt[a]) - dl;
        if (h > 0) {
          triplets += 1;
          any = true;
          push += squared ? h * h : h;
          wl += squared ? 2 * h : 1.0;
        }
      }
      pairs += any ? 1 : 0;
      if (weights != nullptr) weights[e] = in ? static_cast<T>(-mu * scale * wl) : T(0);
    }
    pull = warp_sum(pull);
    push = warp_sum(push);
    triplets = warp_sum(triplets);
    pairs = warp_sum(pairs);
    if (lane == 0) {
      terms[p] = pull;
      terms[na + p] = push;
      terms[2 * na + p] = triplets;
      terms[3 * na + p] = pairs;
    }
    if (weights == nullptr) continue;
    // The targets' weights: Σ over the counted candidates of g, one target at a time.
    for (index_t a = 0; a < k; ++a) {
      const double da = static_cast<double>(dt[a]);
      double g = 0;
      for (index_t e = e0 + lane; e < e1; e += 32) {
        const double h = 1 + da - static_cast<double>(dist[e]);
        if (h > 0 && cut.counts(dist, e)) g += squared ? 2 * h : 1.0;
      }
      g = warp_sum(g);
      if (lane == 0) weights[p * k + a] = static_cast<T>(scale * ((1 - mu) + mu * g));
    }
  }
}

// ---- MMC ---------------------------------------------------------------------------------------

// Per pair t = a + rows·b of the block: dist = sqrt(q·w) and the weights of the two sums,
// c1 = 1 / (2·max(dist, 1e-6)) and c2 = 1 / (4·max(dist³, 1e-6)); all 0 for the pairs that the
// upper-triangle rule leaves out. Differences in double.
template <class T>
__global__ void mmc_diagonal_weights_kernel(const T* __restrict__ x_rows,
                                            const T* __restrict__ x_cols, index_t d, index_t rows,
                                            index_t cols, index_t first_row, index_t first_col,
                                            bool upper, const T* __restrict__ w,
                                            double* __restrict__ dist, double* __restrict__ c1,
                                            double* __restrict__ c2) {
  const index_t m = rows * cols;
  for (index_t t = global_thread(); t < m; t += grid_threads()) {
    const index_t a = t % rows, b = t / rows;
    double dt = 0, w1 = 0, w2 = 0;
    if (!upper || first_col + b > first_row + a) {
      const T* xa = x_rows + a * d;
      const T* xb = x_cols + b * d;
      double qw = 0;
      for (index_t f = 0; f < d; ++f) {
        const double delta = static_cast<double>(xa[f]) - static_cast<double>(xb[f]);
        qw += delta * delta * static_cast<double>(w[f]);
      }
      dt = sqrt(qw > 0 ? qw : 0.0);
      w1 = 0.5 / (dt > 1e-6 ? dt : 1e-6);
      const double cube = dt * dt * dt;
      w2 = 0.25 / (cube > 1e-6 ? cube : 1e-6);
    }
    dist[t] = dt;
    c1[t] = w1;
    c2[t] = w2;
  }
}

constexpr int mmc_tile = 32;

// One mmc_tile × mmc_tile tile (ti >= tj, from blockIdx.x) of Σ c2 q qᵀ over the pairs of split
// blockIdx.y, and for tj = 0 the tile's rows of Σ c1 q. Batches of 32 pairs: their squared
// differences for the tile's rows and columns go to shared memory (read straight from X,
// coalesced along the features); thread (tx, ty) accumulates entries (tx, ty + 8r), r < 4.
template <class T>
__global__ void __launch_bounds__(256)
    mmc_diagonal_moments_kernel(const T* __restrict__ x_rows, const T* __restrict__ x_cols,
                                index_t d, index_t rows, index_t m, index_t per_split,
                                const double* __restrict__ c1, const double* __restrict__ c2,
                                double* __restrict__ hess_parts, double* __restrict__ grad_parts) {
  __shared__ double qi[mmc_tile][mmc_tile + 1];  // [pair][tile row]
  __shared__ double qj[mmc_tile][mmc_tile + 1];  // [pair][tile column]
  __shared__ double w1[mmc_tile], w2[mmc_tile];
  index_t tile = blockIdx.x, ti = 0;  // lower triangle, row by row: row ti holds ti + 1 tiles
  while (tile > ti) {
    tile -= ti + 1;
    ++ti;
  }
  const index_t tj = tile;
  const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
  const index_t row0 = ti * mmc_tile, col0 = tj * mmc_tile;
  const index_t begin = static_cast<index_t>(blockIdx.y) * per_split;
  const index_t end = begin + per_split < m ? begin + per_split : m;
  double acc[4] = {0, 0, 0, 0};
  double gacc = 0;
  for (index_t base = begin; base < end; base += mmc_tile) {
    for (int e = threadIdx.x; e < mmc_tile * mmc_tile; e += blockDim.x) {
      const int p = e / mmc_tile, f = e % mmc_tile;
      const index_t t = base + p;
      double vi = 0, vj = 0;
      if (t < end && c2[t] != 0) {  // 0: a pair the upper-triangle rule leaves out (a == b too)
        const T* xa = x_rows + (t % rows) * d;
        const T* xb = x_cols + (t / rows) * d;
        if (row0 + f < d) {
          const double delta =
              static_cast<double>(xa[row0 + f]) - static_cast<double>(xb[row0 + f]);
          vi = delta * delta;
        }
        if (col0 + f < d) {
          const double delta =
              static_cast<double>(xa[col0 + f]) - static_cast<double>(xb[col0 + f]);
          vj = delta * delta;
        }
      }
      qi[p][f] = vi;
      qj[p][f] = vj;
    }
    if (threadIdx.x < mmc_tile) {
      const index_t t = base + threadIdx.x;
      w1[threadIdx.x] = t < end ? c1[t] : 0.0;
      w2[threadIdx.x] = t < end ? c2[t] : 0.0;
    }
    __syncthreads();
    for (int p = 0; p < mmc_tile; ++p) {
      const double ci = w2[p] * qi[p][tx];
      for (int r = 0; r < 4; ++r) acc[r] += ci * qj[p][ty + 8 * r];
      if (tj == 0 && ty == 0) gacc += w1[p] * qi[p][tx];
    }
    __syncthreads();
  }
  const index_t i = row0 + tx;
  if (i >= d) return;
  double* hp = hess_parts + static_cast<index_t>(blockIdx.y) * d * d;
  for (int r = 0; r < 4; ++r) {
    const index_t j = col0 + ty + 8 * r;
    if (j < d) hp[i + d * j] = acc[r];
  }
  if (tj == 0 && ty == 0) grad_parts[static_cast<index_t>(blockIdx.y) * d + i] = gacc;
}

// out[e] = Σ_k parts[k·count + e] for k < splits, in k order.
__global__ void sum_parts_kernel(const double* __restrict__ parts, index_t count, index_t splits,
                                 double* __restrict__ out) {
  for (index_t e = global_thread(); e < count; e += grid_threads()) {
    double s = 0;
    for (index_t k = 0; k < splits; ++k) s += parts[k * count + e];
    out[e] = s;
  }
}

}  // namespace

// ---- launchers
// -----------------------------------------------------------------------------------

template <class T>
void fill(T* x, index_t n, T value, stream_t stream) {
  if (n <= 0) return;
  fill_kernel<<<grid_for(n, block_threads), block_threads, 0, stream>>>(x, n, value);
  check_launch("fill_kernel");
}

template <class T>
void map(unary_op op, const T* x, T* y, index_t n, stream_t stream) {
  if (n <= 0) return;
  switch (op) {
    case unary_op::sqrt:
      return launch_map(x, y, n, sqrt_op<T>{}, stream);
    case unary_op::inv_two_sqrt:
      return launch_map(x, y, n, inv_two_sqrt_op<T>{}, stream);
    case unary_op::reciprocal:
      return launch_map(x, y, n, reciprocal_op<T>{}, stream);
    case unary_op::square:
      return launch_map(x, y, n, square_op<T>{}, stream);
    case unary_op::relu:
      return launch_map(x, y, n, relu_op<T>{}, stream);
    case unary_op::step:
      return launch_map(x, y, n, step_op<T>{}, stream);
    case unary_op::tanh:
      return launch_map(x, y, n, tanh_op<T>{}, stream);
  }
  throw invalid_argument("mahal::cuda::kernels::map: unknown unary_op");
}

template <class T>
void map2(binary_op op, const T* a, const T* b, T* out, index_t n, stream_t stream) {
  if (n <= 0) return;
  switch (op) {
    case binary_op::relu_grad:
      return launch_map2(a, b, out, n, relu_grad_op<T>{}, stream);
    case binary_op::tanh_grad:
      return launch_map2(a, b, out, n, tanh_grad_op<T>{}, stream);
  }
  throw invalid_argument("mahal::cuda::kernels::map2: unknown binary_op");
}

template <class T>
void add_to_cols(const T* b, T* x, index_t rows, index_t cols, stream_t stream) {
  const index_t n = rows * cols;
  if (n <= 0) return;
  add_to_cols_kernel<<<grid_for(n, block_threads), block_threads, 0, stream>>>(b, x, rows, n);
  check_launch("add_to_cols_kernel");
}

template <class T>
void scale_cols(const T* src, const T* s, T* dst, index_t rows, index_t cols, stream_t stream) {
  const index_t n = rows * cols;
  if (n <= 0) return;
  scale_cols_kernel<<<grid_for(n, block_threads), block_threads, 0, stream>>>(src, s, dst, rows, n);
  check_launch("scale_cols_kernel");
}

template <class T>
void gather_cols(const T* x, const label_t* idx, T* out, index_t rows, index_t count,
                 stream_t stream) {
  const index_t n = rows * count;
  if (n <= 0) return;
  gather_cols_kernel<<<grid_for(n, block_threads), block_threads, 0, stream>>>(x, idx, out, rows,
                                                                               n);
  check_launch("gather_cols_kernel");
}

template <class T>
void adam_update(T step, T beta1, T beta2, T eps, T root_c2, const T* g, T* m, T* v, T* p,
                 index_t n, stream_t stream) {
  if (n <= 0) return;
  adam_kernel<<<grid_for(n, block_threads), block_threads, 0, stream>>>(step, beta1, beta2, eps,
                                                                        root_c2, g, m, v, p, n);
  check_launch("adam_kernel");
}

template <class T>
void multiply(const T* x, T* y, index_t n, stream_t stream) {
  if (n <= 0) return;
  multiply_kernel<<<grid_for(n, block_threads), block_threads, 0, stream>>>(x, y, n);
  check_launch("multiply_kernel");
}

std::size_t reduce_scratch_count() { return static_cast<std::size_t>(reduce_max_partials); }

template <class T>
void reduce(const T* x, const T* y, index_t n, double* scratch, double* result, stream_t stream) {
  index_t blocks = 0;
  if (n > 0) {
    blocks = (n + block_threads - 1) / block_threads;
    if (blocks > reduce_max_partials) blocks = reduce_max_partials;
    reduce_partials_kernel<<<static_cast<unsigned>(blocks), block_threads, 0, stream>>>(x, y, n,
                                                                                        scratch);
    check_launch("reduce_partials_kernel");
  }
  reduce_final_kernel<<<1, block_threads, 0, stream>>>(scratch, blocks, result);  // 0 if n == 0
  check_launch("reduce_final_kernel");
}

template <class T>
void col_dots(const T* p, const T* q, index_t rows, index_t cols, T* out, stream_t stream) {
  if (cols <= 0) return;
  launch_grouped<col_dots_launch, T>(rows, cols, stream, "col_dots_kernel", p, q, rows, cols, out);
}

void check_pairs(const label_t* pairs, index_t m, index_t n, unsigned long long* first_bad,
                 stream_t stream) {
  if (m <= 0) return;
  check_pairs_kernel<<<grid_for(m, block_threads), block_threads, 0, stream>>>(pairs, m, n,
                                                                               first_bad);
  check_launch("check_pairs_kernel");
}

void check_indices(const label_t* idx, index_t count, index_t n, unsigned long long* first_bad,
                   stream_t stream) {
  if (count <= 0) return;
  check_indices_kernel<<<grid_for(count, block_threads), block_threads, 0, stream>>>(idx, count, n,
                                                                                     first_bad);
  check_launch("check_indices_kernel");
}

template <class T>
void pair_laplacian(const T* q, index_t rows, const label_t* pairs, const T* weights, T alpha,
                    index_t m, const label_t* column_of, T* y, stream_t stream) {
  if (m <= 0 || rows <= 0) return;
  launch_grouped<pair_laplacian_launch, T>(rows, m, stream, "pair_laplacian_kernel", q, rows, pairs,
                                           weights, alpha, m, column_of, y);
}

template <class T>
void mark_pair_points(const label_t* pairs, const T* weights, index_t m, label_t* mark,
                      stream_t stream) {
  if (m <= 0) return;
  mark_pair_points_kernel<<<grid_for(m, block_threads), block_threads, 0, stream>>>(pairs, weights,
                                                                                    m, mark);
  check_launch("mark_pair_points_kernel");
}

std::size_t exclusive_scan_bytes(index_t count) {
  std::size_t bytes = 0;
  check_cuda(cub::DeviceScan::ExclusiveSum(nullptr, bytes, static_cast<const label_t*>(nullptr),
                                           static_cast<label_t*>(nullptr), count),
             "cub::DeviceScan::ExclusiveSum (size query)");
  return bytes;
}

void exclusive_scan(const label_t* in, label_t* out, index_t count, void* temp,
                    std::size_t temp_bytes, stream_t stream) {
  if (count <= 0) return;
  check_cuda(cub::DeviceScan::ExclusiveSum(temp, temp_bytes, in, out, count, stream),
             "cub::DeviceScan::ExclusiveSum");
}

void list_marked(const label_t* mark, const label_t* position, index_t n, label_t* points,
                 stream_t stream) {
  if (n <= 0) return;
  list_marked_kernel<<<grid_for(n, block_threads), block_threads, 0, stream>>>(mark, position, n,
                                                                               points);
  check_launch("list_marked_kernel");
}

template <class T>
void pair_sqdist(const T* p, const T* q, index_t rows, const label_t* pairs, index_t m, T* out,
                 stream_t stream) {
  if (m <= 0) return;
  launch_grouped<pair_sqdist_launch, T>(rows, m, stream, "pair_sqdist_kernel", p, q, rows, pairs, m,
                                        out);
}

template <class T>
void sqdist_epilogue(T* out, index_t n_queries, index_t n_refs, const T* pn, const T* qn,
                     stream_t stream) {
  if (n_queries <= 0 || n_refs <= 0) return;
  index_t gx = (n_queries + block_threads - 1) / block_threads;
  if (gx > 8) gx = 8;
  index_t gy = n_refs < 65535 ? n_refs : 65535;
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
  sqdist_epilogue_kernel<<<grid, block_threads, 0, stream>>>(out, n_queries, n_refs, pn, qn);
  check_launch("sqdist_epilogue_kernel");
}

index_t topk_splits(index_t n_queries, index_t n_refs, index_t k) {
  if (k > topk_register_max_k || n_queries <= 0 || n_queries >= topk_split_max_queries) return 1;
  const index_t min_chunk = 2 * k > 64 ? 2 * k : 64;  // references per split, at least
  index_t splits = (topk_split_target_threads + n_queries - 1) / n_queries;
  if (splits > n_refs / min_chunk) splits = n_refs / min_chunk;
  return splits > 1 ? splits : 1;
}

template <class T>
void topk_merge(const topk_args<T>& args, stream_t stream) {
  if (args.k <= 0 || args.n_queries <= 0 || args.n_refs <= 0) return;
  if (args.k <= 1) return launch_topk_register<T, 1>(args, stream);
  if (args.k <= 2) return launch_topk_register<T, 2>(args, stream);
  if (args.k <= 4) return launch_topk_register<T, 4>(args, stream);
  if (args.k <= 8) return launch_topk_register<T, 8>(args, stream);
  if (args.k <= 16) return launch_topk_register<T, 16>(args, stream);
  if (args.k <= 32) return launch_topk_register<T, 32>(args, stream);
  if (args.k <= topk_register_max_k) return launch_topk_register<T, 64>(args, stream);
  const index_t blocks = (args.n_queries + block_threads - 1) / block_threads;
  topk_global_kernel<<<static_cast<unsigned>(blocks), block_threads, 0, stream>>>(args);
  check_launch("topk_global_kernel");
}

template <class T>
void impostor_pairs(const T* block, index_t rows, index_t cols, index_t first_query,
                    index_t first_ref, bool upper, const T* radius2, const label_t* labels,
                    label_t* found, index_t capacity, unsigned long long* count, stream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  impostor_pairs_kernel<<<grid_for(rows * cols, block_threads), block_threads, 0, stream>>>(
      block, rows, cols, first_query, first_ref, upper, radius2, labels, found, capacity, count);
  check_launch("impostor_pairs_kernel");
}

void check_offsets(const label_t* offsets, index_t na, index_t candidates,
                   unsigned long long* first_bad, stream_t stream) {
  check_offsets_kernel<<<grid_for(na + 1, block_threads), block_threads, 0, stream>>>(
      offsets, na, candidates, first_bad);
  check_launch("check_offsets_kernel");
}

template <class T>
void lmnn_hinge(const T* dist, const label_t* offsets, index_t na, index_t k, index_t nearest,
                double mu, double scale, bool squared, T* weights, double* terms, stream_t stream) {
  if (na <= 0) return;
  constexpr index_t anchors_per_block = block_threads / 32;
  lmnn_hinge_kernel<<<grid_for(na, anchors_per_block), block_threads, 0, stream>>>(
      dist, offsets, na, k, nearest, mu, scale, squared, weights, terms);
  check_launch("lmnn_hinge_kernel");
}

index_t mmc_diagonal_splits(index_t d, index_t pairs, index_t multiprocessors) {
  const index_t nt = (d + mmc_tile - 1) / mmc_tile, tiles = nt * (nt + 1) / 2;
  index_t splits = (4 * multiprocessors + tiles - 1) / tiles;  // about 4 blocks per SM
  const index_t batches = (pairs + mmc_tile - 1) / mmc_tile;
  if (splits > batches) splits = batches;
  if (splits > 65535) splits = 65535;
  return splits > 1 ? splits : 1;
}

template <class T>
void mmc_diagonal_terms(const T* x_rows, const T* x_cols, index_t d, index_t rows, index_t cols,
                        index_t first_row, index_t first_col, bool upper, const T* w,
                        index_t splits, double* pair_scratch, double* parts, double* out,
                        stream_t stream) {
  const index_t m = rows * cols;
  if (m <= 0 || d <= 0) return;
  double* dist = pair_scratch;
  double* c1 = dist + m;
  double* c2 = c1 + m;
  mmc_diagonal_weights_kernel<<<grid_for(m, block_threads), block_threads, 0, stream>>>(
      x_rows, x_cols, d, rows, cols, first_row, first_col, upper, w, dist, c1, c2);
  check_launch("mmc_diagonal_weights_kernel");
  double* hess_parts = parts;
  double* grad_parts = parts + splits * d * d;
  const auto part_bytes = static_cast<std::size_t>(splits * (d * d + d)) * sizeof(double);
  check_cuda(cudaMemsetAsync(parts, 0, part_bytes, stream), "cudaMemsetAsync");
  const index_t nt = (d + mmc_tile - 1) / mmc_tile;
  const dim3 grid(static_cast<unsigned>(nt * (nt + 1) / 2), static_cast<unsigned>(splits));
  const index_t per_split = (m + splits - 1) / splits;
  mmc_diagonal_moments_kernel<<<grid, 256, 0, stream>>>(x_rows, x_cols, d, rows, m, per_split, c1,
                                                        c2, hess_parts, grad_parts);
  check_launch("mmc_diagonal_moments_kernel");
  // hess and grad parts are contiguous (splits·d² then splits·d): sum each over the splits.
  sum_parts_kernel<<<grid_for(d * d, block_threads), block_threads, 0, stream>>>(hess_parts, d * d,
                                                                                 splits, out);
  check_launch("sum_parts_kernel");
  sum_parts_kernel<<<grid_for(d, block_threads), block_threads, 0, stream>>>(grad_parts, d, splits,
                                                                             out + d * d);
  check_launch("sum_parts_kernel");
}

// ---- explicit instantiations
// -----------------------------------------------------------------------

#define MAHAL_CUDA_INSTANTIATE(T)                                                                  \
  template void fill<T>(T*, index_t, T, stream_t);                                                 \
  template void map<T>(unary_op, const T*, T*, index_t, stream_t);                                 \
  template void multiply<T>(const T*, T*, index_t, stream_t);                                      \
  template void reduce<T>(const T*, const T*, index_t, double*, double*, stream_t);                \
  template void col_dots<T>(const T*, const T*, index_t, index_t, T*, stream_t);                   \
  template void map2<T>(binary_op, const T*, const T*, T*, index_t, stream_t);                     \
  template void add_to_cols<T>(const T*, T*, index_t, index_t, stream_t);                          \
  template void scale_cols<T>(const T*, const T*, T*, index_t, index_t, stream_t);                 \
  template void gather_cols<T>(const T*, const label_t*, T*, index_t, index_t, stream_t);          \
  template void adam_update<T>(T, T, T, T, T, const T*, T*, T*, T*, index_t, stream_t);            \
  template void pair_laplacian<T>(const T*, index_t, const label_t*, const T*, T, index_t,         \
                                  const label_t*, T*, stream_t);                                   \
  template void mark_pair_points<T>(const label_t*, const T*, index_t, label_t*, stream_t);        \
  template void pair_sqdist<T>(const T*, const T*, index_t, const label_t*, index_t, T*,           \
                               stream_t);                                                          \
  template void sqdist_epilogue<T>(T*, index_t, index_t, const T*, const T*, stream_t);            \
  template void topk_merge<T>(const topk_args<T>&, stream_t);                                      \
  template void impostor_pairs<T>(const T*, index_t, index_t, index_t, index_t, bool, const T*,    \
                                  const label_t*, label_t*, index_t, unsigned long long*,          \
                                  stream_t);                                                       \
  template void lmnn_hinge<T>(const T*, const label_t*, index_t, index_t, index_t, double, double, \
                              bool, T*, double*, stream_t);                                        \
  template void mmc_diagonal_terms<T>(const T*, const T*, index_t, index_t, index_t, index_t,      \
                                      index_t, bool, const T*, index_t, double*, double*, double*, \
                                      stream_t);

MAHAL_CUDA_INSTANTIATE(float)
MAHAL_CUDA_INSTANTIATE(double)
#undef MAHAL_CUDA_INSTANTIATE

}  // namespace mahal::cuda::kernels

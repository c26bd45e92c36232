// cuda/kernels.hpp — launchers of the CUDA kernels of the backend (plain C++ declarations).
//
// The kernels live in kernels.cu (nvcc); this header is included by g++ code and names no CUDA
// type: the stream is passed as a CUstream_st* (the type behind cudaStream_t, declared here
// without the runtime headers). All arrays are raw device pointers, column-major; sizes are
// index_t. Every launcher queues its work on `stream`, checks the launch and returns without
// waiting; launch failures throw mahal::device_error. Launchers do nothing for empty inputs.
// Shapes are validated by the caller (cuda_backend.cpp); launchers assume them.
#pragma once

#include <cstddef>

#include "mahal/backend.hpp"
#include "mahal/types.hpp"

struct CUstream_st;

namespace mahal::cuda::kernels {

using stream_t = CUstream_st*;

// x[0..n) = value.
template <class T>
void fill(T* x, index_t n, T value, stream_t stream);

// y = f(x) element-wise for one of the unary_op maps; x may equal y.
template <class T>
void map(unary_op op, const T* x, T* y, index_t n, stream_t stream);

// y = x∘y element-wise; x may equal y.
template <class T>
void multiply(const T* x, T* y, index_t n, stream_t stream);

// out = f(a, b) element-wise for one of the binary_op maps; out may equal a or b.
template <class T>
void map2(binary_op op, const T* a, const T* b, T* out, index_t n, stream_t stream);

// x(i, j) += b[i] for the rows×cols array x (b must not overlap x).
template <class T>
void add_to_cols(const T* b, T* x, index_t rows, index_t cols, stream_t stream);

// dst(i, j) = src(i, j)·s[j] for rows×cols arrays; dst may equal src (s must not overlap dst).
template <class T>
void scale_cols(const T* src, const T* s, T* dst, index_t rows, index_t cols, stream_t stream);

// out(:, t) = x(:, idx[t]) for t < count (x rows×n, out rows×count, indices valid, no overlap).
template <class T>
void gather_cols(const T* x, const label_t* idx, T* out, index_t rows, index_t count,
                 stream_t stream);

// One Adam step on n entries (PyTorch's arithmetic, as the CPU backend):
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g·g;  p −= step·m / (sqrt(v) / root_c2 + eps)
// with step = lr / c1 and root_c2 = sqrt(c2) computed by the caller. g, m, v, p disjoint.
template <class T>
void adam_update(T step, T beta1, T beta2, T eps, T root_c2, const T* g, T* m, T* v, T* p,
                 index_t n, stream_t stream);

// *result = Σ x[0..n) (y null) or Σ x∘y, accumulated in double by a two-pass tree reduction
// whose shape depends only on n (so the result is the same on every run). `scratch` holds
// reduce_scratch_count() doubles; result is one device double outside it.
std::size_t reduce_scratch_count();
template <class T>
void reduce(const T* x, const T* y, index_t n, double* scratch, double* result, stream_t stream);

// out[c] = p[:, c]ᵀ q[:, c] for the `cols` columns of the rows×cols arrays p and q.
template <class T>
void col_dots(const T* p, const T* q, index_t rows, index_t cols, T* out, stream_t stream);

// Checks that both indices of each of the m pairs (2×m, i above j) lie in [0, n). *first_bad
// (a device word the caller sets to UINT64_MAX first) receives the smallest offending k.
void check_pairs(const label_t* pairs, index_t m, index_t n, unsigned long long* first_bad,
                 stream_t stream);

// Checks that each of the `count` indices lies in [0, n); *first_bad (set to UINT64_MAX by the
// caller) receives the smallest offending position.
void check_indices(const label_t* idx, index_t count, index_t n, unsigned long long* first_bad,
                   stream_t stream);

// y += alpha·Q·Lap for Lap = Σ_k w_k (e_i − e_j)(e_i − e_j)ᵀ: for each pair k,
//   y[:, c(i)] += alpha·w_k (q_i − q_j),   y[:, c(j)] −= alpha·w_k (q_i − q_j),
// accumulated with atomics into y (y must not overlap q), where c(v) = column_of[v], or v when
// column_of is null (y rows×n). Pairs must be valid. Pairs with i == j or alpha·w_k == 0 are
// skipped (they contribute exactly zero for finite q).
template <class T>
void pair_laplacian(const T* q, index_t rows, const label_t* pairs, const T* weights, T alpha,
                    index_t m, const label_t* column_of, T* y, stream_t stream);

// mark[v] = 1 for both points of every pair with w_k != 0 and i != j: the points that
// pair_laplacian (alpha = 1) writes. mark must be zeroed by the caller. Pairs must be valid.
template <class T>
void mark_pair_points(const label_t* pairs, const T* weights, index_t m, label_t* mark,
                      stream_t stream);

// out = the exclusive prefix sums of in[0..count) (CUB); temp: exclusive_scan_bytes(count) bytes.
std::size_t exclusive_scan_bytes(index_t count);
void exclusive_scan(const label_t* in, label_t* out, index_t count, void* temp,
                    std::size_t temp_bytes, stream_t stream);

// points[position[v]] = v for every v < n with mark[v] != 0: the marked points, ascending,
// when position holds the exclusive prefix sums of mark.
void list_marked(const label_t* mark, const label_t* position, index_t n, label_t* points,
                 stream_t stream);

// out[k] = (p_i − p_j)ᵀ (q_i − q_j) for each pair k (p, q: rows×n). Pairs must be valid.
template <class T>
void pair_sqdist(const T* p, const T* q, index_t rows, const label_t* pairs, index_t m, T* out,
                 stream_t stream);

// out(a, b) = max(0, out(a, b) + pn[a] + qn[b]) for the n_queries × n_refs array out (which
// holds −2·PᵀQ on entry).
template <class T>
void sqdist_epilogue(T* out, index_t n_queries, index_t n_refs, const T* pn, const T* qn,
                     stream_t stream);

// One block of a blocked k-nearest-neighbour search, merged into the running top-k.
template <class T>
struct topk_args {
  const T* block = nullptr;  // n_queries × n_refs distances, column-major
  index_t n_queries = 0;
  index_t n_refs = 0;
  index_t first_query = 0;    // global index of the block's first query
  index_t first_ref = 0;      // global index of the block's first reference
  bool exclude_self = false;  // skip global ref == global query
  label_filter filter = label_filter::any;
  const label_t* query_labels = nullptr;  // indexed by global query (unless filter is any)
  const label_t* ref_labels = nullptr;    // indexed by global reference
  label_t* indices = nullptr;             // k × n_queries_total state (column first_query + a)
  T* sqdist = nullptr;                    // k × n_queries_total state
  index_t k = 0;
  // Split references (topk_splits > 1): scratch for k × (n_queries · splits) partial lists.
  index_t splits = 1;
  T* split_sqdist = nullptr;
  label_t* split_indices = nullptr;
};

// Largest k served by the register-resident kernel; larger k runs a slower kernel that keeps
// the list in the state arrays themselves (global memory), with identical results.
constexpr index_t topk_register_max_k = 64;

// Blocks with fewer than topk_split_max_queries queries (and k <= topk_register_max_k) split
// their references among up to topk_split_target_threads / n_queries threads per query, each
// split keeping at least max(64, 2k) references; then a second kernel merges the partial lists.
// topk_splits gives the split count (1: the one-pass kernel), so the caller can size scratch.
constexpr index_t topk_split_max_queries = 16384;
constexpr index_t topk_split_target_threads = 65536;
index_t topk_splits(index_t n_queries, index_t n_refs, index_t k);

template <class T>
void topk_merge(const topk_args<T>& args, stream_t stream);

// backend::impostor_pairs on one block (rows × cols, column-major): the pairs go to found
// (2×capacity) in the slots reserved from *count (a device word the caller zeroes first), which
// ends as the number of pairs, capacity exceeded or not.
template <class T>
void impostor_pairs(const T* block, index_t rows, index_t cols, index_t first_query,
                    index_t first_ref, bool upper, const T* radius2, const label_t* labels,
                    label_t* found, index_t capacity, unsigned long long* count, stream_t stream);

// Checks the na + 1 offsets of backend::lmnn_hinge: offsets[0] = 0, non-decreasing, and
// offsets[na] = candidates. *first_bad (set to UINT64_MAX by the caller) receives the smallest
// offending position.
void check_offsets(const label_t* offsets, index_t na, index_t candidates,
                   unsigned long long* first_bad, stream_t stream);

// backend::lmnn_hinge: per-anchor sums into terms (na×4 doubles: pull, push, active triplets,
// active pairs) and, unless weights is null, the m pair weights. The caller reduces terms.
template <class T>
void lmnn_hinge(const T* dist, const label_t* offsets, index_t na, index_t k, index_t nearest,
                double mu, double scale, bool squared, T* weights, double* terms, stream_t stream);

// backend::mmc_diagonal_terms on one block (x_rows d×rows, x_cols d×cols, w d): the sums go to
// out (d² Hessian entries, column-major, complete in the lower triangle i >= j only, then d
// gradient entries); the caller adds them up and sums dist = pair_scratch[0, rows·cols) itself.
// pair_scratch holds 3·rows·cols doubles, parts splits·(d² + d), splits from
// mmc_diagonal_splits. Every sum has a fixed order for a given shape and split count.
index_t mmc_diagonal_splits(index_t d, index_t pairs, index_t multiprocessors);
template <class T>
void mmc_diagonal_terms(const T* x_rows, const T* x_cols, index_t d, index_t rows, index_t cols,
                        index_t first_row, index_t first_col, bool upper, const T* w,
                        index_t splits, double* pair_scratch, double* parts, double* out,
                        stream_t stream);

}  // namespace mahal::cuda::kernels

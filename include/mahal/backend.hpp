// mahal/backend.hpp — the one interface every solver is written against.
//
// A backend owns a device (the host for `cpu`, an NVIDIA GPU for `cuda`) and the few
// operations that mahal's solvers are made of: dense BLAS-3, the weighted pair scatter,
// pair and all-pairs squared distances, a running top-k merge, a small symmetric
// eigendecomposition and element-wise maps and reductions. Algorithms (k-NN search, MMC,
// LMNN, the Siamese layer) are written once over `backend<T>` and run on either device;
// there is no `#ifdef` for CUDA outside src/backend_factory.cpp and cuda/.
//
// This header is plain C++ (no Eigen) so that the CUDA backend can include it.
//
//   auto be = mahal::make_backend<double>(mahal::device::cpu);
//   auto X = be->alloc(d, n);  be->upload(host_ptr, X);
//   auto G = be->alloc(d, d);
//   be->pair_scatter(X, X, pairs, weights, 1.0, 0.0, G);   // G = Σ w (x_i − x_j)(x_i − x_j)ᵀ
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mahal/types.hpp"

namespace mahal {

enum class device { cpu, cuda };

// A dense column-major rows×cols array in one backend's memory (host memory for the CPU
// backend, device memory for the CUDA backend). Copies share the storage; a column range
// is a view that keeps the storage alive. Vectors are rows×1 arrays.
template <class U>
class device_array {
 public:
  device_array() = default;
  device_array(std::shared_ptr<U> storage, index_t rows, index_t cols, device where)
      : storage_(std::move(storage)), rows_(rows), cols_(cols), where_(where) {}

  U* data() const { return storage_.get(); }
  index_t rows() const { return rows_; }
  index_t cols() const { return cols_; }
  index_t size() const { return rows_ * cols_; }
  bool empty() const { return size() == 0; }
  device where() const { return where_; }

  // Columns [first, first + count): contiguous in column-major storage.
  device_array col_range(index_t first, index_t count) const {
    return device_array(std::shared_ptr<U>(storage_, storage_.get() + first * rows_), rows_, count,
                        where_);
  }
  // The same storage seen as rows×cols (rows·cols must equal size()).
  device_array reshaped(index_t rows, index_t cols) const {
    return device_array(storage_, rows, cols, where_);
  }

 private:
  std::shared_ptr<U> storage_;
  index_t rows_ = 0;
  index_t cols_ = 0;
  device where_ = device::cpu;
};

// Which candidates a top-k merge may keep for a query.
enum class label_filter {
  any,        // every reference point
  same,       // only references with the query's label (LMNN target neighbours)
  different,  // only references with another label (LMNN impostors)
};

// Element-wise maps y = f(x) that solvers need on the device (one generic kernel runs them).
enum class unary_op {
  sqrt,            // sqrt(max(x, 0))
  inv_two_sqrt,    // 1 / (2 sqrt(x)), 0 where x <= 0   (d/dx of sqrt)
  reciprocal,      // 1 / x, 0 where x == 0
  square,          // x²
  relu,            // max(x, 0)
  step,            // 1 where x > 0, else 0
};

// Running top-k state of a blocked nearest-neighbour search: for each query column, k
// reference indices (-1 while empty) and their squared distances (+inf while empty), kept
// sorted by distance ascending, ties broken by the smaller index.
template <class T>
struct topk_state {
  device_array<label_t> indices;  // k × n_queries
  device_array<T> sqdist;         // k × n_queries
};

// Where a block of queries and references sits inside the whole search, and what it may keep.
struct topk_block {
  index_t first_query = 0;       // global index of the block's first query column
  index_t first_ref = 0;         // global index of the block's first reference column
  bool exclude_self = false;     // queries and references are one set: skip ref == query
  label_filter filter = label_filter::any;
  const label_t* query_labels = nullptr;  // device pointers to all labels (needed unless `any`)
  const label_t* ref_labels = nullptr;
};

template <class T>
class backend {
 public:
  virtual ~backend() = default;
  backend() = default;
  backend(const backend&) = delete;
  backend& operator=(const backend&) = delete;

  virtual device where() const = 0;
  virtual std::string name() const = 0;  // e.g. "cpu (OpenBLAS 0.3.21)", "cuda:0 (NVIDIA H200)"

  // ---- storage -------------------------------------------------------------------------------
  virtual device_array<T> alloc(index_t rows, index_t cols) = 0;  // zero-filled
  virtual device_array<label_t> alloc_labels(index_t rows, index_t cols) = 0;
  virtual void upload(const T* host, device_array<T>& dst) = 0;  // dst.size() values
  virtual void download(const device_array<T>& src, T* host) = 0;
  virtual void upload_labels(const label_t* host, device_array<label_t>& dst) = 0;
  virtual void download_labels(const device_array<label_t>& src, label_t* host) = 0;
  virtual void copy(const device_array<T>& src, device_array<T>& dst) = 0;  // same size
  virtual void fill(device_array<T>& x, T value) = 0;
  virtual void synchronize() = 0;  // wait for queued work (a no-op on the CPU)

  // ---- dense linear algebra --------------------------------------------------------------------
  // C = alpha·op(A)·op(B) + beta·C, op = transpose when the flag is set.
  virtual void gemm(bool transpose_a, bool transpose_b, T alpha, const device_array<T>& a,
                    const device_array<T>& b, T beta, device_array<T>& c) = 0;
  virtual void axpy(T alpha, const device_array<T>& x, device_array<T>& y) = 0;  // y += αx
  virtual void scale(T alpha, device_array<T>& x) = 0;                           // x *= α
  virtual T dot(const device_array<T>& x, const device_array<T>& y) = 0;  // Σ x∘y over all
  virtual T sum(const device_array<T>& x) = 0;
  virtual void map(unary_op op, const device_array<T>& x, device_array<T>& y) = 0;
  virtual void multiply(const device_array<T>& x, device_array<T>& y) = 0;  // y = x∘y
  // out_i = p_iᵀ q_i for columns of P and Q (squared column norms when P is Q).
  virtual void col_dots(const device_array<T>& p, const device_array<T>& q,
                        device_array<T>& out) = 0;
  // Symmetric eigendecomposition of the d×d matrix a: eigenvalues ascending into w (d×1),
  // orthonormal eigenvectors into the columns of v (d×d). Only a's lower triangle is read.
  virtual void sym_eig(const device_array<T>& a, device_array<T>& w, device_array<T>& v) = 0;

  // ---- the engine ------------------------------------------------------------------------------
  // Weighted pair scatter:  out = beta·out + alpha · P · Lap · Qᵀ,
  //   Lap = Σ_k w_k (e_{i_k} − e_{j_k})(e_{i_k} − e_{j_k})ᵀ   (n×n, never formed),
  // so with P = Q = X, out = Σ_k w_k (x_i − x_j)(x_i − x_j)ᵀ; with P = LX, Q = X it is the
  // L-space form L·G. pairs is 2×m (i above j), weights m×1. Cost: one GEMM of p×n×q plus
  // O((p + q)·m) for the sparse part.
  virtual void pair_scatter(const device_array<T>& p, const device_array<T>& q,
                            const device_array<label_t>& pairs, const device_array<T>& weights,
                            T alpha, T beta, device_array<T>& out) = 0;
  // out_k = (p_i − p_j)ᵀ(q_i − q_j) for each pair k: ||L(x_i − x_j)||² with P = Q = LX, or
  // δᵀAδ with P = X and Q = AX.
  virtual void pair_sqdist(const device_array<T>& p, const device_array<T>& q,
                           const device_array<label_t>& pairs, device_array<T>& out) = 0;
  // All-pairs block: out(a, b) = max(0, pn_a + qn_b − 2 p_aᵀ q_b) for query columns p_a and
  // reference columns q_b (out is n_queries × n_refs); pn, qn are the col_dots of each side.
  virtual void sqdist_block(const device_array<T>& p, const device_array<T>& q,
                            const device_array<T>& pn, const device_array<T>& qn,
                            device_array<T>& out) = 0;
  // Merges one distance block (n_queries_in_block × n_refs_in_block, from sqdist_block) into
  // the running top-k of those queries.
  virtual void topk_merge(const device_array<T>& block, const topk_block& where,
                          topk_state<T>& state) = 0;
};

// Number of usable CUDA devices: 0 when mahal was built without CUDA or when the driver
// answers with any error (e.g. no GPU on this machine).
int cuda_device_count();
bool cuda_compiled();

// A backend on the given device. Throws device_error when the device is unavailable.
template <class T>
std::unique_ptr<backend<T>> make_backend(device where, int device_id = 0);

// "cpu" / "cuda" (also "gpu") to device; throws invalid_argument otherwise.
device parse_device(const std::string& name);
std::string to_string(device where);

extern template std::unique_ptr<backend<float>> make_backend<float>(device, int);
extern template std::unique_ptr<backend<double>> make_backend<double>(device, int);

}  // namespace mahal

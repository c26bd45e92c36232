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
#include <vector>

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
  // Entries [first, first + count) of the storage as a count×1 vector view.
  device_array segment(index_t first, index_t count) const {
    return device_array(std::shared_ptr<U>(storage_, storage_.get() + first), count, 1, where_);
  }
  // The first rows·cols entries of the storage seen as rows×cols (rows·cols <= size()).
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
  sqrt,          // sqrt(max(x, 0))
  inv_two_sqrt,  // 1 / (2 sqrt(x)), 0 where x <= 0   (d/dx of sqrt)
  reciprocal,    // 1 / x, 0 where x == 0
  square,        // x²
  relu,          // max(x, 0)
  step,          // 1 where x > 0, else 0
  tanh,          // tanh(x)
};

// Element-wise maps out = f(a, b) of two same-size arrays (the activations' backward passes).
enum class binary_op {
  relu_grad,  // a where b > 0, else 0      (a = ∂/∂y, b = the ReLU's input or output)
  tanh_grad,  // a·(1 − b²)                 (a = ∂/∂y, b = tanh's output)
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
  index_t first_query = 0;    // global index of the block's first query column
  index_t first_ref = 0;      // global index of the block's first reference column
  bool exclude_self = false;  // queries and references are one set: skip ref == query
  label_filter filter = label_filter::any;
  const label_t* query_labels = nullptr;  // device pointers to all labels (needed unless `any`)
  const label_t* ref_labels = nullptr;
};

// LMNN's hinge over (anchor, target neighbour, impostor) triplets, see backend::lmnn_hinge.
struct hinge_options {
  index_t k = 3;         // target neighbours per anchor
  index_t nearest = 0;   // only each anchor's `nearest` closest candidates count (0: all)
  double mu = 0.5;       // weight of the push term
  double scale = 1;      // multiplies every weight (n / batch size for a mini-batch)
  bool squared = false;  // squared hinge h² instead of h
};
struct hinge_sums {
  double pull = 0;              // Σ target distances² (unscaled)
  double push = 0;              // Σ hinge terms (unscaled)
  index_t active_triplets = 0;  // triplets with h > 0
  index_t active_pairs = 0;     // candidates in at least one active triplet
};

// Sums over a block of pairs for the diagonal MMC solver's Newton system, see
// backend::mmc_diagonal_terms. In double whatever the backend's scalar type.
struct diagonal_terms {
  double sum = 0;            // Σ dist
  std::vector<double> grad;  // d:   Σ q / (2·max(dist, 1e-6))
  std::vector<double> hess;  // d×d: Σ q qᵀ / (4·max(dist³, 1e-6)), column-major
};

// The interface. Public member functions validate shapes (throwing invalid_argument with the
// function's name and the sizes) and then call the protected `do_*` virtual that a device
// implements, so the checks exist once for every backend.
template <class T>
class backend {
 public:
  using array = device_array<T>;
  using labels = device_array<label_t>;

  virtual ~backend() = default;
  backend() = default;
  backend(const backend&) = delete;
  backend& operator=(const backend&) = delete;

  virtual device where() const = 0;
  virtual std::string name() const = 0;  // e.g. "cpu (OpenBLAS ...)", "cuda:0 (NVIDIA H200)"

  // ---- storage -------------------------------------------------------------------------------
  array alloc(index_t rows, index_t cols);  // zero-filled
  labels alloc_labels(index_t rows, index_t cols);
  void upload(const T* host, array& dst);  // dst.size() values, column-major
  void download(const array& src, T* host);
  void upload_labels(const label_t* host, labels& dst);
  void download_labels(const labels& src, label_t* host);
  void copy(const array& src, array& dst);  // same size
  void fill(array& x, T value);
  virtual void synchronize() = 0;  // wait for queued work (a no-op on the CPU)

  // ---- dense linear algebra --------------------------------------------------------------------
  // C = alpha·op(A)·op(B) + beta·C, op = transpose when the flag is set.
  void gemm(bool transpose_a, bool transpose_b, T alpha, const array& a, const array& b, T beta,
            array& c);
  void axpy(T alpha, const array& x, array& y);  // y += αx (same size)
  void scale(T alpha, array& x);                 // x *= α
  T dot(const array& x, const array& y);         // Σ x∘y over all entries
  T sum(const array& x);
  void map(unary_op op, const array& x, array& y);  // y = f(x), same size; y may be x
  void multiply(const array& x, array& y);          // y = x∘y
  // out_i = p_iᵀ q_i for the columns of P and Q (squared column norms when P is Q); out n×1.
  void col_dots(const array& p, const array& q, array& out);
  void map2(binary_op op, const array& a, const array& b, array& out);  // out may be a or b

  // ---- row and column broadcasts (the neural layer: bias, normalisation, gathers) -----------
  void add_to_cols(const array& b, array& x);     // x(:, j) += b for every column; b rows×1
  void add_row_sums(const array& x, array& out);  // out(i) += Σ_j x(i, j); out rows×1
  void scale_cols(const array& s, array& x);      // x(:, j) *= s(j); s cols×1
  // out(:, t) = x(:, idx(t)) for t < idx.size(); out x.rows()×idx.size(), indices in [0, cols).
  void gather_cols(const array& x, const labels& idx, array& out);
  // out += alpha · Z · Lap with Lap = Σ_k w_k (e_i − e_j)(e_i − e_j)ᵀ (n×n, never formed):
  //   out(:, i) += alpha·w_k (z_i − z_j),  out(:, j) −= alpha·w_k (z_i − z_j)  for each pair k.
  // Z and out r×n, pairs 2×m, weights m×1. The gradient of Σ_k f_k(||z_i − z_j||²) with
  // respect to Z is 2·Z·Lap with w_k = f_k'. (pair_scatter is P·Lap·Qᵀ; this is P·Lap.)
  // As in pair_scatter, pairs with alpha·w_k = 0 or i = j add nothing and are skipped.
  void pair_laplacian(const array& z, const labels& pairs, const array& weights, T alpha,
                      array& out);
  // One Adam step (Kingma & Ba 2015, in PyTorch's arithmetic) on same-size, distinct p, g, m, v:
  //   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;
  //   p −= (lr / c1) · m / (sqrt(v) / sqrt(c2) + eps)   with c1 = 1 − β1ᵗ, c2 = 1 − β2ᵗ.
  void adam_update(T lr, T beta1, T beta2, T eps, T c1, T c2, const array& g, array& m, array& v,
                   array& p);
  // Symmetric eigendecomposition of the d×d matrix a: eigenvalues ascending into w (d×1),
  // orthonormal eigenvectors into the columns of v (d×d). Only a's lower triangle is read.
  void sym_eig(const array& a, array& w, array& v);

  // ---- the engine ------------------------------------------------------------------------------
  // Weighted pair scatter:  out = beta·out + alpha · P · Lap · Qᵀ   (out p×q),
  //   Lap = Σ_k w_k (e_{i_k} − e_{j_k})(e_{i_k} − e_{j_k})ᵀ   (n×n, never formed),
  // so with P = Q = X, out = Σ_k w_k (x_i − x_j)(x_i − x_j)ᵀ; with P = LX, Q = X it is the
  // L-space form L·G. pairs is 2×m (row 0: i, row 1: j), weights m×1, indices in [0, n).
  // Pairs with w_k = 0 or i = j add nothing and are skipped: a column that occurs in no other
  // pair is never read (it may hold anything, NaN included).
  // Cost: one GEMM of p×n'×q over the n' points of the other pairs, plus O(min(p, q)·m).
  void pair_scatter(const array& p, const array& q, const labels& pairs, const array& weights,
                    T alpha, T beta, array& out);
  // out_k = (p_i − p_j)ᵀ(q_i − q_j) for each pair k (out m×1): ||L(x_i − x_j)||² with
  // P = Q = LX, or δᵀAδ with P = X and Q = AX.
  void pair_sqdist(const array& p, const array& q, const labels& pairs, array& out);
  // All-pairs block: out(a, b) = max(0, pn_a + qn_b − 2 p_aᵀ q_b) for query columns p_a and
  // reference columns q_b (out is n_queries × n_refs); pn, qn are each side's col_dots.
  void sqdist_block(const array& p, const array& q, const array& pn, const array& qn, array& out);
  // Dense-block pair scatter, the all-pairs companion of pair_scatter: for the columns
  // a = 0..|I|-1 of P_I, Q_I (block rows) and b = 0..|J|-1 of P_J, Q_J (block columns) and a
  // dense |I|×|J| weight block W (e.g. a function of an sqdist_block),
  //   out = beta·out + alpha · Σ_ab W_ab (p_a − p_b)(q_a − q_b)ᵀ
  //       = beta·out + alpha · [P_I diag(W·1) Q_Iᵀ + P_J diag(Wᵀ·1) Q_Jᵀ − P_I W Q_Jᵀ − P_J Wᵀ
  //       Q_Iᵀ]
  // (out p×q). With P = Q = X this is Σ W_ab (x_a − x_b)(x_a − x_b)ᵀ over a block of all pairs;
  // with P = LX, Q = X the L-space form. Cost: two GEMMs of p×|I|×|J| plus O(p·(|I| + |J|)).
  // The default implementation lists the block's pairs and calls pair_scatter; devices
  // override it with the dense form.
  void block_scatter(const array& p_rows, const array& q_rows, const array& p_cols,
                     const array& q_cols, const array& w, T alpha, T beta, array& out);
  // Merges one distance block (queries × refs of the block, from sqdist_block) into the running
  // top-k of those queries: state columns [where.first_query, + block.rows()).
  void topk_merge(const array& block, const topk_block& where, topk_state<T>& state);
  // A whole top-k search: the distances between the query columns zq (dim×nq) and the reference
  // columns zr (dim×nr), in blocks of at most block_queries × block_refs, each merged into the
  // top-k of its queries, i.e. sqdist_block + topk_merge over every block. qn (nq×1), rn (nr×1):
  // the squared column norms. where.first_query / first_ref: global indices of zq's and zr's
  // first columns (state columns [where.first_query, + nq) are updated). The default runs
  // exactly those two operations block by block; a backend may fuse them (the CPU backend runs
  // one parallel sweep in which each thread computes and consumes its own blocks). A search of a
  // set against itself passes the same array as zq and zr, and as qn and rn (where.first_query
  // = where.first_ref, one label array): the CPU backend then computes each distance once.
  void topk_sweep(const array& zq, const array& zr, const array& qn, const array& rn,
                  index_t block_queries, index_t block_refs, const topk_block& where,
                  topk_state<T>& state);

  // ---- LMNN -------------------------------------------------------------------------------------
  // The impostor pairs in one block of a symmetric all-pairs sweep. block(a, b) is the squared
  // distance between points i = first_query + a and l = first_ref + b; radius2 (n×1) holds
  // each point's squared ball radius and point_labels (n×1) the labels of all points. For
  // every entry with y_i ≠ y_l (and, when `upper`, l > i: each unordered pair once), the pair
  // (i, l) counts when block(a, b) < radius2(i) and the pair (l, i) when block(a, b) <
  // radius2(l). They are written as columns of `found` (2×capacity) from column 0, in no
  // particular order. Returns how many there are; when that exceeds found.cols(), only
  // found.cols() were written (call again with a larger array). A sweep's n² distances stay on
  // the device: only the pairs come back.
  index_t impostor_pairs(const array& block, index_t first_query, index_t first_ref, bool upper,
                         const array& radius2, const labels& point_labels, labels& found);
  // Every impostor pair of a set against itself: for the columns of z (dim×n, squared norms
  // zn), each (i, l) with y_i ≠ y_l and ||z_i − z_l||² < radius2(i), appended to `pairs` on the
  // host in no particular order. The default sweeps the upper triangle in blocks of at most
  // block_queries × block_refs with sqdist_block and impostor_pairs (only the pairs leave the
  // device); the CPU backend fuses the two into one parallel sweep over cache-sized tiles.
  void impostor_sweep(const array& z, const array& zn, const array& radius2,
                      const labels& point_labels, index_t block_queries, index_t block_refs,
                      std::vector<index_pair>& pairs);
  // LMNN's hinge terms and pair weights. dist (m×1) holds squared distances: first the k target
  // pairs of each of the na anchors (anchor p's at p·k … p·k + k − 1), then the candidate
  // impostor pairs, anchor p's at na·k + offsets(p) … na·k + offsets(p + 1) − 1 (offsets is
  // (na+1)×1, non-decreasing from 0 to m − na·k). Triplet (p, target a, candidate l) is active
  // when h = 1 + d_a − d_l > 0; with nearest = K > 0 only each anchor's K closest candidates
  // count (equal distances: the earlier). Returns the sums over all anchors, added in an order
  // that depends only on na (the same bits on every run). With weights (m×1, or null), also
  // the pair weights of the gradient, with g = 1 (or 2h, squared) per active triplet:
  //   target a: scale·((1 − mu) + mu·Σ_l g),  candidate l: −mu·scale·Σ_a g (0 if not counted).
  hinge_sums lmnn_hinge(const array& dist, const labels& offsets, const hinge_options& options,
                        array* weights);

  // ---- MMC -------------------------------------------------------------------------------------
  // The diagonal MMC's log-term sums over one block of pairs, added into `terms`: for the
  // columns a of x_rows (point first_row + a) and b of x_cols (point first_col + b), only
  // those with first_col + b > first_row + a when `upper`, with q = (x_a − x_b)∘(x_a − x_b)
  // and dist = sqrt(q·w) (w d×1, >= 0), the three sums of diagonal_terms (the reference code's
  // clamps). grad and hess are sized d and d×d (zeros) when empty. Differences are formed
  // exactly, in double; the block's sums are added in an order fixed by its shape (and, on a
  // GPU, the device's multiprocessor count): the same bits on every run.
  void mmc_diagonal_terms(const array& x_rows, const array& x_cols, index_t first_row,
                          index_t first_col, bool upper, const array& w, diagonal_terms& terms);

 protected:
  virtual array do_alloc(index_t rows, index_t cols) = 0;
  virtual labels do_alloc_labels(index_t rows, index_t cols) = 0;
  virtual void do_upload(const T* host, array& dst) = 0;
  virtual void do_download(const array& src, T* host) = 0;
  virtual void do_upload_labels(const label_t* host, labels& dst) = 0;
  virtual void do_download_labels(const labels& src, label_t* host) = 0;
  virtual void do_copy(const array& src, array& dst) = 0;
  virtual void do_fill(array& x, T value) = 0;
  virtual void do_gemm(bool transpose_a, bool transpose_b, T alpha, const array& a, const array& b,
                       T beta, array& c) = 0;
  virtual void do_axpy(T alpha, const array& x, array& y) = 0;
  virtual void do_scale(T alpha, array& x) = 0;
  virtual T do_dot(const array& x, const array& y) = 0;
  virtual T do_sum(const array& x) = 0;
  virtual void do_map(unary_op op, const array& x, array& y) = 0;
  virtual void do_multiply(const array& x, array& y) = 0;
  virtual void do_col_dots(const array& p, const array& q, array& out) = 0;
  virtual void do_map2(binary_op op, const array& a, const array& b, array& out) = 0;
  virtual void do_add_to_cols(const array& b, array& x) = 0;
  virtual void do_add_row_sums(const array& x, array& out) = 0;
  virtual void do_scale_cols(const array& s, array& x) = 0;
  virtual void do_gather_cols(const array& x, const labels& idx, array& out) = 0;
  virtual void do_pair_laplacian(const array& z, const labels& pairs, const array& weights, T alpha,
                                 array& out) = 0;
  virtual void do_adam_update(T lr, T beta1, T beta2, T eps, T c1, T c2, const array& g, array& m,
                              array& v, array& p) = 0;
  virtual void do_sym_eig(const array& a, array& w, array& v) = 0;
  virtual void do_pair_scatter(const array& p, const array& q, const labels& pairs,
                               const array& weights, T alpha, T beta, array& out) = 0;
  virtual void do_pair_sqdist(const array& p, const array& q, const labels& pairs, array& out) = 0;
  virtual void do_sqdist_block(const array& p, const array& q, const array& pn, const array& qn,
                               array& out) = 0;
  virtual void do_topk_merge(const array& block, const topk_block& where, topk_state<T>& state) = 0;
  virtual index_t do_impostor_pairs(const array& block, index_t first_query, index_t first_ref,
                                    bool upper, const array& radius2, const labels& point_labels,
                                    labels& found) = 0;
  virtual hinge_sums do_lmnn_hinge(const array& dist, const labels& offsets,
                                   const hinge_options& options, array* weights) = 0;
  virtual void do_mmc_diagonal_terms(const array& x_rows, const array& x_cols, index_t first_row,
                                     index_t first_col, bool upper, const array& w,
                                     diagonal_terms& terms) = 0;
  virtual void do_block_scatter(const array& p_rows, const array& q_rows, const array& p_cols,
                                const array& q_cols, const array& w, T alpha, T beta, array& out);
  // Not pure: the defaults are the block loops described at topk_sweep and impostor_sweep.
  virtual void do_topk_sweep(const array& zq, const array& zr, const array& qn, const array& rn,
                             index_t block_queries, index_t block_refs, const topk_block& where,
                             topk_state<T>& state);
  virtual void do_impostor_sweep(const array& z, const array& zn, const array& radius2,
                                 const labels& point_labels, index_t block_queries,
                                 index_t block_refs, std::vector<index_pair>& pairs);
};

extern template class backend<float>;
extern template class backend<double>;

// Number of usable CUDA devices: 0 when mahal was built without CUDA or when the driver
// answers with any error (e.g. no GPU on this machine).
int cuda_device_count();
// "ok" when a CUDA device is usable, else why not (the CUDA runtime's message, e.g. a driver too
// old for this build, or "built without CUDA").
std::string cuda_status();
bool cuda_compiled();
// The BLAS library the CPU backend runs on, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...".
std::string blas_info();
// Where that BLAS runs its threads: "openmp" (on the library's OpenMP team; what the build links
// where it can), "pthreads" (a pool of its own: the solvers then hold it at one thread) or
// "sequential".
std::string blas_threading();

// A backend on the given device. Throws device_error when the device is unavailable.
template <class T>
std::unique_ptr<backend<T>> make_backend(device where, int device_id = 0);

// "cpu" / "cuda" (also "gpu") to device; throws invalid_argument otherwise.
device parse_device(const std::string& name);
std::string to_string(device where);

extern template std::unique_ptr<backend<float>> make_backend<float>(device, int);
extern template std::unique_ptr<backend<double>> make_backend<double>(device, int);

}  // namespace mahal

// cuda/cuda_backend.cpp — backend<T> on an NVIDIA GPU: cuBLAS, cuSOLVER and the kernels of
// kernels.cu, all queued on the one stream of a `resources` object.
//
// The public members of backend<T> (src/backend.cpp) check shapes and skip empty work; the do_*
// members here implement them on the device.
//
// Synchronisation: operations are asynchronous (queued on the stream) except those that hand a
// value to the host: upload and download (they wait, so the host buffer may be reused or read at
// once), dot and sum (they return a scalar), sym_eig (it reads syevd's info word), and
// pair_scatter / pair_sqdist / pair_laplacian / gather_cols, which check on the device that
// every index lies in [0, n) and read that verdict back before touching their output
// (pair_scatter then also reads back how many points its weighted pairs touch: the GEMM's size).
//
// dot and sum accumulate in double for both scalar types (as the CPU backend does), with a
// fixed-shape two-pass reduction, so results do not vary from run to run.
//
// Arrays: cudaMalloc'd, zero-filled on the stream, freed by a shared_ptr deleter (cudaFree,
// which waits for the device; it never throws). An array may outlive its backend.
//
// A backend object is used from one host thread at a time (its stream and scratch are shared
// by all its operations); arrays may be shared freely, except that a fresh array is zeroed on
// its backend's stream: before another backend object (another stream) uses it, call
// synchronize() on the one that allocated it.
//
// Aliasing: gemm, pair_scatter, sqdist_block, block_scatter, pair_laplacian, gather_cols,
// add_row_sums, add_to_cols and scale_cols accept an output that shares storage with an input
// (the input is copied first); col_dots, pair_sqdist, sym_eig's w, topk_merge and adam_update
// (g, m, v, p pairwise) reject it with invalid_argument; map, map2, multiply, axpy and copy may
// run in place (output the same array as an input) but reject a partial overlap.
//
// Sums over many terms (add_row_sums, block_scatter's W·1 and Wᵀ·1) are cuBLAS products with a
// vector of ones: deterministic, in the scalar type. pair_scatter and pair_laplacian add with
// atomics, so their last bits may vary from run to run.
#include "cuda_backend.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cuda_resources.hpp"
#include "kernels.hpp"
#include "shape_checks.hpp"

namespace mahal::cuda {
namespace {

// ---- typed cuBLAS / cuSOLVER entry points
// --------------------------------------------------------

template <class T>
struct blas;

template <>
struct blas<float> {
  static constexpr const char* gemm_name = "cublasSgemm_64";
  static constexpr const char* axpy_name = "cublasSaxpy_64";
  static constexpr const char* scal_name = "cublasSscal_64";
  static constexpr const char* syevd_name = "cusolverDnSsyevd";
  static cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                             int64_t m, int64_t n, int64_t k, const float* alpha, const float* a,
                             int64_t lda, const float* b, int64_t ldb, const float* beta, float* c,
                             int64_t ldc) {
    return cublasSgemm_64(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  static cublasStatus_t axpy(cublasHandle_t h, int64_t n, const float* alpha, const float* x,
                             float* y) {
    return cublasSaxpy_64(h, n, alpha, x, 1, y, 1);
  }
  static cublasStatus_t scal(cublasHandle_t h, int64_t n, const float* alpha, float* x) {
    return cublasSscal_64(h, n, alpha, x, 1);
  }
  static cusolverStatus_t syevd_buffer_size(cusolverDnHandle_t h, int n, const float* a,
                                            const float* w, int* lwork) {
    return cusolverDnSsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, a, n,
                                       w, lwork);
  }
  static cusolverStatus_t syevd(cusolverDnHandle_t h, int n, float* a, float* w, float* work,
                                int lwork, int* info) {
    return cusolverDnSsyevd(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, a, n, w, work,
                            lwork, info);
  }
};

template <>
struct blas<double> {
  static constexpr const char* gemm_name = "cublasDgemm_64";
  static constexpr const char* axpy_name = "cublasDaxpy_64";
  static constexpr const char* scal_name = "cublasDscal_64";
  static constexpr const char* syevd_name = "cusolverDnDsyevd";
  static cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                             int64_t m, int64_t n, int64_t k, const double* alpha, const double* a,
                             int64_t lda, const double* b, int64_t ldb, const double* beta,
                             double* c, int64_t ldc) {
    return cublasDgemm_64(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  static cublasStatus_t axpy(cublasHandle_t h, int64_t n, const double* alpha, const double* x,
                             double* y) {
    return cublasDaxpy_64(h, n, alpha, x, 1, y, 1);
  }
  static cublasStatus_t scal(cublasHandle_t h, int64_t n, const double* alpha, double* x) {
    return cublasDscal_64(h, n, alpha, x, 1);
  }
  static cusolverStatus_t syevd_buffer_size(cusolverDnHandle_t h, int n, const double* a,
                                            const double* w, int* lwork) {
    return cusolverDnDsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, a, n,
                                       w, lwork);
  }
  static cusolverStatus_t syevd(cusolverDnHandle_t h, int n, double* a, double* w, double* work,
                                int lwork, int* info) {
    return cusolverDnDsyevd(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, a, n, w, work,
                            lwork, info);
  }
};

// Frees device memory on the device it came from; never throws (errors are dropped: at
// program exit the runtime may already be gone).
struct device_free {
  int device = 0;
  void operator()(void* p) const noexcept {
    int previous = -1;
    const bool switched = cudaGetDevice(&previous) == cudaSuccess && previous != device &&
                          cudaSetDevice(device) == cudaSuccess;
    if (cudaFree(p) != cudaSuccess) cudaGetLastError();
    if (switched) cudaSetDevice(previous);
  }
};

std::size_t round_up(std::size_t bytes) { return (bytes + 255) / 256 * 256; }

template <class T>
class cuda_backend final : public backend<T> {
  using array = typename backend<T>::array;
  using labels = typename backend<T>::labels;

 public:
  explicit cuda_backend(int device_id) : res_(device_id) {}

  device where() const override { return device::cuda; }

  std::string name() const override {
    return detail::concat("cuda:", res_.device_id(), " (", res_.device_name(), ")");
  }

  void synchronize() override {
    device_scope scope(res_.device_id());
    res_.synchronize();
  }

  // The public members of backend<T> have checked shapes and dropped empty work before these
  // run; what is checked here is specific to the device (arrays from another backend, storage
  // shared between inputs and outputs, 32-bit limits).
 protected:
  // ---- storage -----------------------------------------------------------------------------

  array do_alloc(index_t rows, index_t cols) override {
    return allocate<T>(rows, cols, "mahal::backend::alloc (cuda)");
  }
  labels do_alloc_labels(index_t rows, index_t cols) override {
    return allocate<label_t>(rows, cols, "mahal::backend::alloc_labels (cuda)");
  }
  void do_upload(const T* host, array& dst) override {
    to_device(host, dst, "mahal::backend::upload (cuda)");
  }
  void do_download(const array& src, T* host) override {
    to_host(src, host, "mahal::backend::download (cuda)");
  }
  void do_upload_labels(const label_t* host, labels& dst) override {
    to_device(host, dst, "mahal::backend::upload_labels (cuda)");
  }
  void do_download_labels(const labels& src, label_t* host) override {
    to_host(src, host, "mahal::backend::download_labels (cuda)");
  }

  void do_copy(const array& src, array& dst) override {
    constexpr const char* fn = "mahal::backend::copy (cuda)";
    checks::on_device(fn, "src", src);
    checks::on_device(fn, "dst", dst);
    if (src.data() == dst.data()) return;
    device_scope scope(res_.device_id());
    // cudaMemcpy's result is undefined for partly overlapping ranges: go through scratch.
    if (checks::overlap(src, dst)) {
      T* tmp = static_cast<T*>(res_.scratch(bytes_of(src)));
      copy_raw(src.data(), tmp, src.size());
      copy_raw(tmp, dst.data(), src.size());
      return;
    }
    copy_raw(src.data(), dst.data(), src.size());
  }

  void do_fill(array& x, T value) override {
    checks::on_device("mahal::backend::fill (cuda)", "x", x);
    device_scope scope(res_.device_id());
    kernels::fill(x.data(), x.size(), value, res_.stream());
  }

  // ---- dense linear algebra -------------------------------------------------------------------

  void do_gemm(bool transpose_a, bool transpose_b, T alpha, const array& a, const array& b, T beta,
               array& c) override {
    constexpr const char* fn = "mahal::backend::gemm (cuda)";
    checks::on_device(fn, "a", a);
    checks::on_device(fn, "b", b);
    checks::on_device(fn, "c", c);
    const index_t k = transpose_a ? a.rows() : a.cols();
    device_scope scope(res_.device_id());
    const array a_in = unaliased(a, c);
    const array b_in = unaliased(b, c);
    gemm_raw(transpose_a, transpose_b, c.rows(), c.cols(), k, alpha, a_in.data(), a.rows(),
             b_in.data(), b.rows(), beta, c.data());
  }

  void do_axpy(T alpha, const array& x, array& y) override {
    constexpr const char* fn = "mahal::backend::axpy (cuda)";
    checks::on_device(fn, "x", x);
    checks::on_device(fn, "y", y);
    device_scope scope(res_.device_id());
    // y += αy reads a copy of y, so that it rounds (and propagates NaN/Inf) as the CPU's
    // y + α·y does; (1 + α)·y would turn y − y of an infinity into 0, not NaN.
    const array x_in = unaliased(x, y);
    check_cublas(blas<T>::axpy(res_.cublas(), x.size(), &alpha, x_in.data(), y.data()),
                 blas<T>::axpy_name);
  }

  void do_scale(T alpha, array& x) override {
    checks::on_device("mahal::backend::scale (cuda)", "x", x);
    device_scope scope(res_.device_id());
    scale_out(alpha, x.data(), x.size());  // alpha = 0 clears NaN/Inf, as BLAS's beta = 0
  }

  T do_dot(const array& x, const array& y) override {
    constexpr const char* fn = "mahal::backend::dot (cuda)";
    checks::on_device(fn, "x", x);
    checks::on_device(fn, "y", y);
    device_scope scope(res_.device_id());
    return reduce(x.data(), y.data(), x.size());
  }

  T do_sum(const array& x) override {
    checks::on_device("mahal::backend::sum (cuda)", "x", x);
    device_scope scope(res_.device_id());
    return reduce(x.data(), nullptr, x.size());
  }

  void do_map(unary_op op, const array& x, array& y) override {
    constexpr const char* fn = "mahal::backend::map (cuda)";
    checks::on_device(fn, "x", x);
    checks::on_device(fn, "y", y);
    expects(x.data() == y.data() || !checks::overlap(x, y), fn,
            "x and y must be the same array or not share storage");
    device_scope scope(res_.device_id());
    kernels::map(op, x.data(), y.data(), x.size(), res_.stream());
  }

  void do_multiply(const array& x, array& y) override {
    constexpr const char* fn = "mahal::backend::multiply (cuda)";
    checks::on_device(fn, "x", x);
    checks::on_device(fn, "y", y);
    expects(x.data() == y.data() || !checks::overlap(x, y), fn,
            "x and y must be the same array or not share storage");
    device_scope scope(res_.device_id());
    kernels::multiply(x.data(), y.data(), x.size(), res_.stream());
  }

  void do_col_dots(const array& p, const array& q, array& out) override {
    constexpr const char* fn = "mahal::backend::col_dots (cuda)";
    checks::on_device(fn, "p", p);
    checks::on_device(fn, "q", q);
    checks::on_device(fn, "out", out);
    checks::disjoint(fn, "out", out, "p", p);
    checks::disjoint(fn, "out", out, "q", q);
    device_scope scope(res_.device_id());
    if (p.rows() == 0) {  // empty columns: zero dots
      kernels::fill(out.data(), out.size(), T(0), res_.stream());
      return;
    }
    kernels::col_dots(p.data(), q.data(), p.rows(), p.cols(), out.data(), res_.stream());
  }

  void do_map2(binary_op op, const array& a, const array& b, array& out) override {
    constexpr const char* fn = "mahal::backend::map2 (cuda)";
    checks::on_device(fn, "a", a);
    checks::on_device(fn, "b", b);
    checks::on_device(fn, "out", out);
    identical_or_disjoint(fn, "out", out, "a", a);
    identical_or_disjoint(fn, "out", out, "b", b);
    device_scope scope(res_.device_id());
    kernels::map2(op, a.data(), b.data(), out.data(), out.size(), res_.stream());
  }

  // ---- row and column broadcasts ---------------------------------------------------------------

  void do_add_to_cols(const array& b, array& x) override {
    constexpr const char* fn = "mahal::backend::add_to_cols (cuda)";
    checks::on_device(fn, "b", b);
    checks::on_device(fn, "x", x);
    device_scope scope(res_.device_id());
    const array b_in = unaliased(b, x);
    kernels::add_to_cols(b_in.data(), x.data(), x.rows(), x.cols(), res_.stream());
  }

  // out = 1·X·1 + out: a matrix-vector product with a vector of ones (cuBLAS, no atomics, so
  // the result does not vary from run to run).
  void do_add_row_sums(const array& x, array& out) override {
    constexpr const char* fn = "mahal::backend::add_row_sums (cuda)";
    checks::on_device(fn, "x", x);
    checks::on_device(fn, "out", out);
    device_scope scope(res_.device_id());
    const array x_in = unaliased(x, out);
    T* ones = static_cast<T*>(res_.scratch(static_cast<std::size_t>(x.cols()) * sizeof(T)));
    kernels::fill(ones, x.cols(), T(1), res_.stream());
    gemm_raw(false, false, x.rows(), 1, x.cols(), T(1), x_in.data(), x.rows(), ones, x.cols(), T(1),
             out.data());
  }

  void do_scale_cols(const array& s, array& x) override {
    constexpr const char* fn = "mahal::backend::scale_cols (cuda)";
    checks::on_device(fn, "s", s);
    checks::on_device(fn, "x", x);
    device_scope scope(res_.device_id());
    const array s_in = unaliased(s, x);
    kernels::scale_cols(x.data(), s_in.data(), x.data(), x.rows(), x.cols(), res_.stream());
  }

  void do_gather_cols(const array& x, const labels& idx, array& out) override {
    constexpr const char* fn = "mahal::backend::gather_cols (cuda)";
    checks::on_device(fn, "x", x);
    checks::on_device(fn, "idx", idx);
    checks::on_device(fn, "out", out);
    device_scope scope(res_.device_id());
    check_indices(fn, idx, x.cols());
    const array x_in = unaliased(x, out);
    kernels::gather_cols(x_in.data(), idx.data(), out.data(), x.rows(), idx.size(), res_.stream());
  }

  void do_pair_laplacian(const array& z, const labels& pairs, const array& weights, T alpha,
                         array& out) override {
    constexpr const char* fn = "mahal::backend::pair_laplacian (cuda)";
    checks::on_device(fn, "z", z);
    checks::on_device(fn, "pairs", pairs);
    checks::on_device(fn, "weights", weights);
    checks::on_device(fn, "out", out);
    const index_t m = pairs.cols();
    device_scope scope(res_.device_id());
    check_pair_indices(fn, pairs, m, z.cols());
    // The kernel reads z and weights while it adds into out: neither may share out's storage.
    const array z_in = unaliased(z, out);
    const array w_in = unaliased(weights, out);
    kernels::pair_laplacian(z_in.data(), z.rows(), pairs.data(), w_in.data(), alpha, m, nullptr,
                            out.data(), res_.stream());
  }

  void do_adam_update(T lr, T beta1, T beta2, T eps, T c1, T c2, const array& g, array& m, array& v,
                      array& p) override {
    constexpr const char* fn = "mahal::backend::adam_update (cuda)";
    checks::on_device(fn, "g", g);
    checks::on_device(fn, "m", m);
    checks::on_device(fn, "v", v);
    checks::on_device(fn, "p", p);
    checks::disjoint(fn, "m", m, "g", g);
    checks::disjoint(fn, "v", v, "g", g);
    checks::disjoint(fn, "p", p, "g", g);
    checks::disjoint(fn, "m", m, "v", v);
    checks::disjoint(fn, "m", m, "p", p);
    checks::disjoint(fn, "v", v, "p", p);
    device_scope scope(res_.device_id());
    // The same host-side constants as the CPU backend: step = lr / c1, sqrt(c2).
    const T step = lr / c1;
    const T root_c2 = std::sqrt(c2);
    kernels::adam_update(step, beta1, beta2, eps, root_c2, g.data(), m.data(), v.data(), p.data(),
                         p.size(), res_.stream());
  }

  void do_sym_eig(const array& a, array& w, array& v) override {
    constexpr const char* fn = "mahal::backend::sym_eig (cuda)";
    checks::on_device(fn, "a", a);
    checks::on_device(fn, "w", w);
    checks::on_device(fn, "v", v);
    checks::disjoint(fn, "w", w, "a", a);
    checks::disjoint(fn, "w", w, "v", v);
    const index_t d = a.rows();
    checks::fits_int(fn, "d", d);
    device_scope scope(res_.device_id());
    // syevd overwrites its matrix with the eigenvectors: work in v.
    if (v.data() != a.data()) {
      const array a_in = unaliased(a, v);
      copy_raw(a_in.data(), v.data(), a.size());
    }
    const int n = static_cast<int>(d);
    int lwork = 0;
    check_cusolver(blas<T>::syevd_buffer_size(res_.cusolver(), n, v.data(), w.data(), &lwork),
                   "cusolverDn<t>syevd_bufferSize");
    T* work = static_cast<T*>(res_.scratch(static_cast<std::size_t>(lwork) * sizeof(T)));
    int* info = static_cast<int*>(res_.status());
    check_cuda(cudaMemsetAsync(info, 0, sizeof(int), res_.stream()), "cudaMemsetAsync");
    check_cusolver(blas<T>::syevd(res_.cusolver(), n, v.data(), w.data(), work, lwork, info),
                   blas<T>::syevd_name);
    int host_info = 0;
    res_.read_back(info, &host_info, sizeof(int));
    expects<device_error>(host_info >= 0, fn, blas<T>::syevd_name, " rejected parameter ",
                          -host_info);
    expects<numerical_error>(host_info == 0, fn, "the eigensolver did not converge for the ", d,
                             "x", d, " matrix (", blas<T>::syevd_name, " info = ", host_info,
                             "; non-finite entries?)");
  }

  // ---- the engine -------------------------------------------------------------------------------

  void do_pair_scatter(const array& p, const array& q, const labels& pairs, const array& weights,
                       T alpha, T beta, array& out) override {
    constexpr const char* fn = "mahal::backend::pair_scatter (cuda)";
    checks::on_device(fn, "p", p);
    checks::on_device(fn, "q", q);
    checks::on_device(fn, "pairs", pairs);
    checks::on_device(fn, "weights", weights);
    checks::on_device(fn, "out", out);
    const index_t m = pairs.cols();
    const index_t n = p.cols();
    device_scope scope(res_.device_id());
    check_pair_indices(fn, pairs, m, n);
    // Only the n' points in a pair of nonzero weight enter the GEMM (LMNN's mini-batches touch a
    // few thousand of n points; and columns of P outside every pair, whatever they hold, never
    // meet it). The points are marked and numbered by a prefix sum; Y = Q·Lap gets one column
    // per point (scratch), P's columns of those points are gathered (unless n' = n), and
    // out = alpha·P'·Yᵀ + beta·out (Lap is symmetric).
    const index_t rows_p = p.rows(), rows_q = q.rows();
    const auto round_up = [](std::size_t bytes) { return (bytes + 255) / 256 * 256; };
    const std::size_t flags_bytes = round_up(sizeof(label_t) * static_cast<std::size_t>(n + 1));
    const std::size_t scan_bytes = kernels::exclusive_scan_bytes(n + 1);
    const std::size_t index_bytes = 3 * flags_bytes + round_up(scan_bytes);
    const auto number_points = [&](char* base) {
      auto* mark = reinterpret_cast<label_t*>(base);
      auto* position = reinterpret_cast<label_t*>(base + flags_bytes);
      check_cuda(cudaMemsetAsync(mark, 0, flags_bytes, res_.stream()), "cudaMemsetAsync");
      kernels::mark_pair_points(pairs.data(), weights.data(), m, mark, res_.stream());
      kernels::exclusive_scan(mark, position, n + 1, base + 3 * flags_bytes, scan_bytes,
                              res_.stream());
    };
    char* base = static_cast<char*>(res_.scratch(index_bytes));
    number_points(base);
    label_t counted = 0;  // position[n]: the number of marked points
    res_.read_back(base + flags_bytes + sizeof(label_t) * static_cast<std::size_t>(n), &counted,
                   sizeof counted);
    const index_t nv = counted;
    if (nv == 0) {  // out = beta·out
      if (beta == T(0))
        check_cuda(cudaMemsetAsync(out.data(), 0, sizeof(T) * out.size(), res_.stream()),
                   "cudaMemsetAsync");
      else
        this->scale(beta, out);
      return;
    }
    const bool gather = nv < n;
    const std::size_t y_bytes = round_up(sizeof(T) * static_cast<std::size_t>(rows_q * nv));
    const std::size_t p_bytes = gather ? sizeof(T) * static_cast<std::size_t>(rows_p * nv) : 0;
    if (index_bytes + y_bytes + p_bytes > res_.scratch_capacity()) {
      base = static_cast<char*>(res_.scratch(index_bytes + y_bytes + p_bytes));
      number_points(base);  // growing the scratch lost them
    }
    const auto* position = reinterpret_cast<const label_t*>(base + flags_bytes);
    T* y = reinterpret_cast<T*>(base + index_bytes);
    check_cuda(cudaMemsetAsync(y, 0, y_bytes, res_.stream()), "cudaMemsetAsync");
    kernels::pair_laplacian(q.data(), rows_q, pairs.data(), weights.data(), T(1), m,
                            gather ? position : nullptr, y, res_.stream());
    if (gather) {
      auto* points = reinterpret_cast<label_t*>(base + 2 * flags_bytes);
      T* p_points = reinterpret_cast<T*>(base + index_bytes + y_bytes);
      kernels::list_marked(reinterpret_cast<const label_t*>(base), position, n, points,
                           res_.stream());
      kernels::gather_cols(p.data(), points, p_points, rows_p, nv, res_.stream());
      gemm_raw(false, true, rows_p, rows_q, nv, alpha, p_points, rows_p, y, rows_q, beta,
               out.data());
      return;
    }
    const array p_in = unaliased(p, out);  // q only feeds Y, which is queued before the GEMM
    gemm_raw(false, true, rows_p, rows_q, n, alpha, p_in.data(), rows_p, y, rows_q, beta,
             out.data());
  }

  void do_pair_sqdist(const array& p, const array& q, const labels& pairs, array& out) override {
    constexpr const char* fn = "mahal::backend::pair_sqdist (cuda)";
    checks::on_device(fn, "p", p);
    checks::on_device(fn, "q", q);
    checks::on_device(fn, "pairs", pairs);
    checks::on_device(fn, "out", out);
    checks::disjoint(fn, "out", out, "p", p);
    checks::disjoint(fn, "out", out, "q", q);
    const index_t m = pairs.cols();
    device_scope scope(res_.device_id());
    check_pair_indices(fn, pairs, m, p.cols());
    if (p.rows() == 0) {
      kernels::fill(out.data(), m, T(0), res_.stream());
      return;
    }
    kernels::pair_sqdist(p.data(), q.data(), p.rows(), pairs.data(), m, out.data(), res_.stream());
  }

  // out = beta·out + alpha·(S_I·Q_Iᵀ + S_J·Q_Jᵀ) with
  //   S_I = P_I·diag(W·1) − P_J·Wᵀ   (p×|I|),   S_J = P_J·diag(Wᵀ·1) − P_I·W   (p×|J|),
  // which regroups the four terms of the dense form (backend.hpp): two GEMMs of p×|I|×|J| and
  // two of p×q×(|I| or |J|). The sums W·1 and Wᵀ·1 are GEMVs with a vector of ones. Scratch:
  // ones, the two sums, S_I and S_J.
  void do_block_scatter(const array& p_rows, const array& q_rows, const array& p_cols,
                        const array& q_cols, const array& w, T alpha, T beta, array& out) override {
    constexpr const char* fn = "mahal::backend::block_scatter (cuda)";
    checks::on_device(fn, "p_rows", p_rows);
    checks::on_device(fn, "q_rows", q_rows);
    checks::on_device(fn, "p_cols", p_cols);
    checks::on_device(fn, "q_cols", q_cols);
    checks::on_device(fn, "w", w);
    checks::on_device(fn, "out", out);
    const index_t ni = w.rows(), nj = w.cols(), pr = p_rows.rows(), qr = q_rows.rows();
    const index_t nmax = ni > nj ? ni : nj;
    device_scope scope(res_.device_id());
    // P_I, P_J and W are consumed into scratch before out is written; Q_I and Q_J are read by
    // the two GEMMs that write out, so they must not share its storage.
    const array qi_in = unaliased(q_rows, out);
    const array qj_in = unaliased(q_cols, out);
    const std::size_t ones_bytes = round_up(static_cast<std::size_t>(nmax) * sizeof(T));
    const std::size_t row_sum_bytes = round_up(static_cast<std::size_t>(ni) * sizeof(T));
    const std::size_t col_sum_bytes = round_up(static_cast<std::size_t>(nj) * sizeof(T));
    const std::size_t si_bytes = round_up(static_cast<std::size_t>(pr * ni) * sizeof(T));
    const std::size_t sj_bytes = round_up(static_cast<std::size_t>(pr * nj) * sizeof(T));
    auto* base = static_cast<unsigned char*>(
        res_.scratch(ones_bytes + row_sum_bytes + col_sum_bytes + si_bytes + sj_bytes));
    T* ones = reinterpret_cast<T*>(base);
    T* row_sum = reinterpret_cast<T*>(base + ones_bytes);
    T* col_sum = reinterpret_cast<T*>(base + ones_bytes + row_sum_bytes);
    T* s_i = reinterpret_cast<T*>(base + ones_bytes + row_sum_bytes + col_sum_bytes);
    T* s_j = reinterpret_cast<T*>(base + ones_bytes + row_sum_bytes + col_sum_bytes + si_bytes);
    kernels::fill(ones, nmax, T(1), res_.stream());
    gemm_raw(false, false, ni, 1, nj, T(1), w.data(), ni, ones, nj, T(0), row_sum);  // W·1
    gemm_raw(true, false, nj, 1, ni, T(1), w.data(), ni, ones, ni, T(0), col_sum);   // Wᵀ·1
    kernels::scale_cols(p_rows.data(), row_sum, s_i, pr, ni, res_.stream());
    kernels::scale_cols(p_cols.data(), col_sum, s_j, pr, nj, res_.stream());
    gemm_raw(false, true, pr, ni, nj, T(-1), p_cols.data(), pr, w.data(), ni, T(1), s_i);
    gemm_raw(false, false, pr, nj, ni, T(-1), p_rows.data(), pr, w.data(), ni, T(1), s_j);
    gemm_raw(false, true, pr, qr, ni, alpha, s_i, pr, qi_in.data(), qr, beta, out.data());
    gemm_raw(false, true, pr, qr, nj, alpha, s_j, pr, qj_in.data(), qr, T(1), out.data());
  }

  void do_sqdist_block(const array& p, const array& q, const array& pn, const array& qn,
                       array& out) override {
    constexpr const char* fn = "mahal::backend::sqdist_block (cuda)";
    checks::on_device(fn, "p", p);
    checks::on_device(fn, "q", q);
    checks::on_device(fn, "pn", pn);
    checks::on_device(fn, "qn", qn);
    checks::on_device(fn, "out", out);
    checks::disjoint(fn, "out", out, "pn", pn);
    checks::disjoint(fn, "out", out, "qn", qn);
    device_scope scope(res_.device_id());
    const array p_in = unaliased(p, out);
    const array q_in = unaliased(q, out);
    // out = −2·PᵀQ, then out = max(0, out + pn_a + qn_b) in one pass.
    gemm_raw(true, false, p.cols(), q.cols(), p.rows(), T(-2), p_in.data(), p.rows(), q_in.data(),
             q.rows(), T(0), out.data());
    kernels::sqdist_epilogue(out.data(), p.cols(), q.cols(), pn.data(), qn.data(), res_.stream());
  }

  void do_topk_merge(const array& block, const topk_block& where, topk_state<T>& state) override {
    constexpr const char* fn = "mahal::backend::topk_merge (cuda)";
    checks::on_device(fn, "block", block);
    checks::on_device(fn, "state.indices", state.indices);
    checks::on_device(fn, "state.sqdist", state.sqdist);
    expects(where.first_ref + block.cols() - 1 <= index_t{std::numeric_limits<label_t>::max()}, fn,
            "reference index ", where.first_ref + block.cols() - 1, " does not fit a label_t");
    checks::disjoint(fn, "block", block, "state.sqdist", state.sqdist);
    device_scope scope(res_.device_id());
    if (where.filter != label_filter::any) {
      device_pointer(fn, "query_labels", where.query_labels);
      device_pointer(fn, "ref_labels", where.ref_labels);
    }
    kernels::topk_args<T> args;
    args.block = block.data();
    args.n_queries = block.rows();
    args.n_refs = block.cols();
    args.first_query = where.first_query;
    args.first_ref = where.first_ref;
    args.exclude_self = where.exclude_self;
    args.filter = where.filter;
    args.query_labels = where.query_labels;
    args.ref_labels = where.ref_labels;
    args.indices = state.indices.data();
    args.sqdist = state.sqdist.data();
    args.k = state.indices.rows();
    args.splits = kernels::topk_splits(args.n_queries, args.n_refs, args.k);
    if (args.splits > 1) {  // few queries: partial lists per split of the references
      const auto entries = static_cast<std::size_t>(args.k * args.n_queries * args.splits);
      const std::size_t dist_bytes = round_up(entries * sizeof(T));
      auto* base =
          static_cast<unsigned char*>(res_.scratch(dist_bytes + entries * sizeof(label_t)));
      args.split_sqdist = reinterpret_cast<T*>(base);
      args.split_indices = reinterpret_cast<label_t*>(base + dist_bytes);
    }
    kernels::topk_merge(args, res_.stream());
  }

  index_t do_impostor_pairs(const array& block, index_t first_query, index_t first_ref, bool upper,
                            const array& radius2, const labels& point_labels,
                            labels& found) override {
    constexpr const char* fn = "mahal::backend::impostor_pairs (cuda)";
    checks::on_device(fn, "block", block);
    checks::on_device(fn, "radius2", radius2);
    checks::on_device(fn, "point_labels", point_labels);
    checks::on_device(fn, "found", found);
    checks::disjoint(fn, "found", found, "point_labels", point_labels);
    expects(radius2.size() - 1 <= index_t{std::numeric_limits<label_t>::max()}, fn, "point index ",
            radius2.size() - 1, " does not fit a label_t");
    device_scope scope(res_.device_id());
    auto* count = static_cast<unsigned long long*>(res_.status());
    check_cuda(cudaMemsetAsync(count, 0, sizeof(unsigned long long), res_.stream()),
               "cudaMemsetAsync");
    kernels::impostor_pairs(block.data(), block.rows(), block.cols(), first_query, first_ref, upper,
                            radius2.data(), point_labels.data(), found.data(), found.cols(), count,
                            res_.stream());
    unsigned long long total = 0;
    res_.read_back(count, &total, sizeof total);
    return static_cast<index_t>(total);
  }

  void do_mmc_diagonal_terms(const array& x_rows, const array& x_cols, index_t first_row,
                             index_t first_col, bool upper, const array& w,
                             diagonal_terms& terms) override {
    constexpr const char* fn = "mahal::backend::mmc_diagonal_terms (cuda)";
    checks::on_device(fn, "x_rows", x_rows);
    checks::on_device(fn, "x_cols", x_cols);
    checks::on_device(fn, "w", w);
    const index_t d = x_rows.rows(), m = x_rows.cols() * x_cols.cols();
    device_scope scope(res_.device_id());
    const index_t splits = kernels::mmc_diagonal_splits(d, m, res_.multiprocessor_count());
    // Scratch, in doubles: per-pair dist, c1, c2 | per-split parts | reduction scratch | summed
    // parts, then Σ dist right after them (one read-back for both).
    const std::size_t reduce_count = kernels::reduce_scratch_count();
    const auto pair_doubles = static_cast<std::size_t>(3 * m);
    const auto part_doubles = static_cast<std::size_t>(splits * (d * d + d));
    const auto out_doubles = static_cast<std::size_t>(d * d + d);
    auto* scratch = static_cast<double*>(res_.scratch(
        (pair_doubles + part_doubles + reduce_count + out_doubles + 1) * sizeof(double)));
    double* parts = scratch + pair_doubles;
    double* reduce_scratch = parts + part_doubles;
    double* out = reduce_scratch + reduce_count;
    kernels::mmc_diagonal_terms(x_rows.data(), x_cols.data(), d, x_rows.cols(), x_cols.cols(),
                                first_row, first_col, upper, w.data(), splits, scratch, parts, out,
                                res_.stream());
    kernels::reduce(scratch, static_cast<const double*>(nullptr), m, reduce_scratch,
                    out + out_doubles, res_.stream());
    std::vector<double> host(out_doubles + 1);
    res_.read_back(out, host.data(), (out_doubles + 1) * sizeof(double));
    terms.sum += host[out_doubles];
    for (index_t i = 0; i < d; ++i) terms.grad[i] += host[d * d + i];
    for (index_t j = 0; j < d; ++j)
      for (index_t i = j; i < d; ++i) {  // the lower triangle, mirrored
        terms.hess[i + d * j] += host[i + d * j];
        if (i != j) terms.hess[j + d * i] += host[i + d * j];
      }
  }

  hinge_sums do_lmnn_hinge(const array& dist, const labels& offsets, const hinge_options& options,
                           array* weights) override {
    constexpr const char* fn = "mahal::backend::lmnn_hinge (cuda)";
    checks::on_device(fn, "dist", dist);
    checks::on_device(fn, "offsets", offsets);
    if (weights != nullptr) {
      checks::on_device(fn, "weights", *weights);
      checks::disjoint(fn, "weights", *weights, "dist", dist);
    }
    const index_t na = offsets.size() - 1;
    const index_t candidates = dist.size() - na * options.k;
    device_scope scope(res_.device_id());
    // The offsets must describe dist exactly before any kernel reads through them.
    auto* first_bad = static_cast<unsigned long long*>(res_.status());
    check_cuda(cudaMemsetAsync(first_bad, 0xff, sizeof(unsigned long long), res_.stream()),
               "cudaMemsetAsync");
    kernels::check_offsets(offsets.data(), na, candidates, first_bad, res_.stream());
    unsigned long long bad = 0;
    res_.read_back(first_bad, &bad, sizeof bad);
    expects(bad == std::numeric_limits<unsigned long long>::max(), fn,
            "offsets must rise from 0 to ", candidates,
            " (the candidates in dist); they do not at position ", bad);
    // Per-anchor terms, then each of the four sums by the fixed-shape reduction.
    const std::size_t count = kernels::reduce_scratch_count();
    const auto terms_count = static_cast<std::size_t>(4 * na);
    auto* terms = static_cast<double*>(res_.scratch((terms_count + count + 4) * sizeof(double)));
    double* reduce_scratch = terms + terms_count;
    double* results = reduce_scratch + count;
    kernels::lmnn_hinge(dist.data(), offsets.data(), na, options.k, options.nearest, options.mu,
                        options.scale, options.squared,
                        weights != nullptr ? weights->data() : nullptr, terms, res_.stream());
    for (index_t r = 0; r < 4; ++r)
      kernels::reduce(terms + r * na, static_cast<const double*>(nullptr), na, reduce_scratch,
                      results + r, res_.stream());
    double host[4] = {0, 0, 0, 0};
    res_.read_back(results, host, sizeof host);
    hinge_sums sums;
    sums.pull = host[0];
    sums.push = host[1];
    sums.active_triplets = static_cast<index_t>(host[2]);
    sums.active_pairs = static_cast<index_t>(host[3]);
    return sums;
  }

 private:
  resources res_;

  template <class U>
  static std::size_t bytes_of(const device_array<U>& x) {
    return static_cast<std::size_t>(x.size()) * sizeof(U);
  }

  template <class U>
  device_array<U> allocate(index_t rows, index_t cols, const char* fn) {
    expects(rows >= 0 && cols >= 0, fn, "shape ", checks::shape{rows, cols},
            " has a negative extent");
    expects(cols == 0 || rows <= std::numeric_limits<index_t>::max() /
                                     static_cast<index_t>(sizeof(U)) / cols,
            fn, "shape ", checks::shape{rows, cols}, " is too large");
    if (rows == 0 || cols == 0)
      return device_array<U>(std::shared_ptr<U>(), rows, cols, device::cuda);
    device_scope scope(res_.device_id());
    const std::size_t bytes = static_cast<std::size_t>(rows * cols) * sizeof(U);
    void* raw = nullptr;
    check_cuda(cudaMalloc(&raw, bytes), "cudaMalloc");
    // If creating the control block throws, shared_ptr frees raw with the deleter.
    std::shared_ptr<U> storage(static_cast<U*>(raw), device_free{res_.device_id()});
    check_cuda(cudaMemsetAsync(raw, 0, bytes, res_.stream()), "cudaMemsetAsync");
    return device_array<U>(std::move(storage), rows, cols, device::cuda);
  }

  template <class U>
  void to_device(const U* host, device_array<U>& dst, const char* fn) {
    checks::on_device(fn, "dst", dst);
    if (dst.empty()) return;
    expects(host != nullptr, fn, "the host pointer is null");
    device_scope scope(res_.device_id());
    check_cuda(
        cudaMemcpyAsync(dst.data(), host, bytes_of(dst), cudaMemcpyHostToDevice, res_.stream()),
        "cudaMemcpyAsync (host to device)");
    res_.synchronize();  // the host buffer may be reused as soon as we return
  }

  template <class U>
  void to_host(const device_array<U>& src, U* host, const char* fn) {
    checks::on_device(fn, "src", src);
    if (src.empty()) return;
    expects(host != nullptr, fn, "the host pointer is null");
    device_scope scope(res_.device_id());
    check_cuda(
        cudaMemcpyAsync(host, src.data(), bytes_of(src), cudaMemcpyDeviceToHost, res_.stream()),
        "cudaMemcpyAsync (device to host)");
    res_.synchronize();
  }

  void copy_raw(const T* src, T* dst, index_t count) {
    check_cuda(cudaMemcpyAsync(dst, src, static_cast<std::size_t>(count) * sizeof(T),
                               cudaMemcpyDeviceToDevice, res_.stream()),
               "cudaMemcpyAsync (device to device)");
  }

  // x, or a fresh copy of x when it shares storage with `out` (which is about to be written).
  device_array<T> unaliased(const device_array<T>& x, const device_array<T>& out) {
    if (!checks::overlap(x, out)) return x;
    device_array<T> fresh = allocate<T>(x.rows(), x.cols(), "mahal::cuda (aliased input)");
    copy_raw(x.data(), fresh.data(), x.size());
    return fresh;
  }

  // c = beta·c with BLAS semantics: beta == 0 sets c to zero (whatever c held, NaN included).
  void scale_out(T beta, T* c, index_t count) {
    if (count == 0 || beta == T(1)) return;
    if (beta == T(0)) {
      check_cuda(cudaMemsetAsync(c, 0, static_cast<std::size_t>(count) * sizeof(T), res_.stream()),
                 "cudaMemsetAsync");
      return;
    }
    check_cublas(blas<T>::scal(res_.cublas(), count, &beta, c), blas<T>::scal_name);
  }

  // Σ x (y == nullptr) or Σ x∘y, accumulated in double (as the CPU backend does) by a
  // deterministic two-pass reduction; waits for the result.
  T reduce(const T* x, const T* y, index_t n) {
    const std::size_t count = kernels::reduce_scratch_count();
    auto* scratch = static_cast<double*>(res_.scratch((count + 1) * sizeof(double)));
    kernels::reduce(x, y, n, scratch, scratch + count, res_.stream());
    double result = 0;
    res_.read_back(scratch + count, &result, sizeof result);
    return static_cast<T>(result);
  }

  // C (m×n, leading dimension m) = alpha·op(A)·op(B) + beta·C, with A's and B's leading
  // dimensions their row counts. Inputs must not overlap C.
  void gemm_raw(bool transpose_a, bool transpose_b, index_t m, index_t n, index_t k, T alpha,
                const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c) {
    if (m == 0 || n == 0) return;
    if (k == 0) {  // op(A)·op(B) = 0
      scale_out(beta, c, m * n);
      return;
    }
    check_cublas(blas<T>::gemm(res_.cublas(), transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                               transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, a, lda, b,
                               ldb, &beta, c, m),
                 blas<T>::gemm_name);
  }

  // Throws invalid_argument unless p is device (or managed) memory: a host pointer read by a
  // kernel would end the CUDA context. No synchronisation.
  static void device_pointer(const char* fn, const char* name, const void* p) {
    cudaPointerAttributes attributes{};
    check_cuda(cudaPointerGetAttributes(&attributes, p), "cudaPointerGetAttributes");
    expects(attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged, fn,
            name, " is not a device pointer (pass the data() of an array of this backend)");
  }

  // Throws invalid_argument unless a and b are the same array or share no storage (element-wise
  // kernels read and write each entry in one thread, so only a partial overlap races).
  template <class U, class V>
  static void identical_or_disjoint(const char* fn, const char* a_name, const device_array<U>& a,
                                    const char* b_name, const device_array<V>& b) {
    expects(static_cast<const void*>(a.data()) == static_cast<const void*>(b.data()) ||
                !checks::overlap(a, b),
            fn, a_name, " and ", b_name, " must be the same array or not share storage");
  }

  // Throws invalid_argument (before any output is written) unless every entry of idx lies in
  // [0, n). Costs one small kernel and one synchronisation.
  void check_indices(const char* fn, const device_array<label_t>& idx, index_t n) {
    const index_t count = idx.size();
    if (count == 0) return;
    auto* first_bad = static_cast<unsigned long long*>(res_.status());
    check_cuda(cudaMemsetAsync(first_bad, 0xff, sizeof(unsigned long long), res_.stream()),
               "cudaMemsetAsync");
    kernels::check_indices(idx.data(), count, n, first_bad, res_.stream());
    unsigned long long bad = 0;
    res_.read_back(first_bad, &bad, sizeof bad);
    if (bad == std::numeric_limits<unsigned long long>::max()) return;
    label_t value = 0;
    check_cuda(cudaMemcpyAsync(&value, idx.data() + static_cast<index_t>(bad), sizeof value,
                               cudaMemcpyDeviceToHost, res_.stream()),
               "cudaMemcpyAsync (device to host)");
    res_.synchronize();
    throw invalid_argument(
        detail::concat(fn, ": index ", bad, " is ", value, " outside [0, ", n, ")"));
  }

  // Throws invalid_argument (before any output is written) unless every index of the m pairs
  // lies in [0, n). Costs one small kernel and one synchronisation.
  void check_pair_indices(const char* fn, const device_array<label_t>& pairs, index_t m,
                          index_t n) {
    if (m == 0) return;
    auto* first_bad = static_cast<unsigned long long*>(res_.status());
    check_cuda(cudaMemsetAsync(first_bad, 0xff, sizeof(unsigned long long), res_.stream()),
               "cudaMemsetAsync");
    kernels::check_pairs(pairs.data(), m, n, first_bad, res_.stream());
    unsigned long long bad = 0;
    res_.read_back(first_bad, &bad, sizeof bad);
    if (bad == std::numeric_limits<unsigned long long>::max()) return;
    label_t pair[2] = {0, 0};
    check_cuda(cudaMemcpyAsync(pair, pairs.data() + 2 * static_cast<index_t>(bad), sizeof pair,
                               cudaMemcpyDeviceToHost, res_.stream()),
               "cudaMemcpyAsync (device to host)");
    res_.synchronize();
    throw invalid_argument(detail::concat(fn, ": pair ", bad, " = (", pair[0], ", ", pair[1],
                                          ") has an index outside [0, ", n, ")"));
  }
};

}  // namespace

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver, no device, driver too old: all mean "none here"
    return 0;
  }
  return count;
}

std::string device_status() {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    cudaGetLastError();
    return cudaGetErrorString(error);
  }
  return count > 0 ? "ok" : "the driver reports no CUDA device";
}

template <class T>
std::unique_ptr<backend<T>> make_backend(int device_id) {
  return std::make_unique<cuda_backend<T>>(device_id);
}

template std::unique_ptr<backend<float>> make_backend<float>(int);
template std::unique_ptr<backend<double>> make_backend<double>(int);

}  // namespace mahal::cuda

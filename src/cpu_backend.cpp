// CPU implementation of backend<T>. Arrays are plain host buffers (64-byte aligned); dense
// products go to OpenBLAS through CBLAS, the symmetric eigenproblem to LAPACK's syevd, and the
// sparse part of the pair scatter and the top-k merge are OpenMP loops.
#include "cpu_backend.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <numeric>
#include <type_traits>
#include <vector>

#include "blas_threads.hpp"
#include "cpu_lmnn.hpp"
#include "cpu_mmc.hpp"
#include "mahal/error.hpp"
#include "parallel_work.hpp"
#include "vector_clones.hpp"

extern "C" {
char* openblas_get_config(void);
void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w,
             float* work, const int* lwork, int* iwork, const int* liwork, int* info);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info);
}

namespace mahal::cpu {
namespace {

// ---- BLAS / LAPACK by scalar type -------------------------------------------------------------
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha,
               const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasColMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha,
               const double* a, int lda, const double* b, int ldb, double beta, double* c,
               int ldc) {
  cblas_dgemm(CblasColMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void lapack_syevd(int n, float* a, float* w, float* work, int lwork, int* iwork, int liwork,
                  int* info) {
  ssyevd_("V", "L", &n, a, &n, w, work, &lwork, iwork, &liwork, info);
}
void lapack_syevd(int n, double* a, double* w, double* work, int lwork, int* iwork, int liwork,
                  int* info) {
  dsyevd_("V", "L", &n, a, &n, w, work, &lwork, iwork, &liwork, info);
}

int blas_int(index_t v, const char* where) {
  expects(v <= std::numeric_limits<int>::max(), where, "dimension ", v,
          " exceeds the BLAS integer range");
  return static_cast<int>(v);
}

template <class U>
std::shared_ptr<U> host_alloc(index_t count) {
  constexpr std::size_t alignment = 64;
  std::size_t bytes = static_cast<std::size_t>(std::max<index_t>(count, 1)) * sizeof(U);
  bytes = (bytes + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return std::shared_ptr<U>(static_cast<U*>(p), [](U* q) { std::free(q); });
}

// Element-wise work on more entries than detail::kParallelWork is split into fixed chunks.
using detail::kParallelWork;
constexpr index_t kChunk = 16384;

// Runs f(begin, end) over [0, n): in one call for small n, else in chunks across the OpenMP
// threads. The kernels keep their loops in f, outside any OpenMP construct, so that the compiler
// vectorises them (branch-free selects instead of unpredictable branches for ReLU masks).
template <class F>
void chunked(index_t n, F f) {
  if (n <= kParallelWork) {
    f(index_t{0}, n);
    return;
  }
  const index_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (index_t c = 0; c < chunks; ++c) f(c * kChunk, std::min(n, (c + 1) * kChunk));
}

// Σ of f(b, e) over the chunks of [0, n), added in chunk order: the same bits for every thread
// count and every run (an OpenMP reduction adds the threads' parts in the order they finish).
template <class F>
double chunked_sum(index_t n, F f) {
  const index_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<std::size_t>(chunks));
#pragma omp parallel for schedule(static) if (n > kParallelWork)
  for (index_t c = 0; c < chunks; ++c) part[c] = f(c * kChunk, std::min(n, (c + 1) * kChunk));
  double acc = 0;
  for (const double v : part) acc += v;
  return acc;
}

// Loops that read the columns of pairs (i, j) in list order miss the cache on every column once
// the array outgrows it (LMNN's impostors, n >= 3e4): they prefetch the columns of the pair this
// many places ahead, about one memory latency's worth of work. Arrays that fit a core's L2
// cache (1 MiB on current server cores) are not prefetched: there the prefetches only add
// instructions (on an AVX2 EPYC, pair distances over 1000 columns of 64 rows: 7 % slower).
constexpr index_t kPrefetchAhead = 8;
constexpr std::size_t kL2Bytes = std::size_t{1} << 20;

template <class A>
bool exceeds_l2(const A& array) {
  return static_cast<std::size_t>(array.size()) * sizeof(*array.data()) > kL2Bytes;
}

template <class T>
inline void prefetch_column(const T* column, index_t rows) {
  const char* bytes = reinterpret_cast<const char*>(column);
  for (std::size_t b = 0; b < static_cast<std::size_t>(rows) * sizeof(T); b += 64)
    __builtin_prefetch(bytes + b);
}

// Pairs handled together by pair_sqdist_kernel: one reduction chain per pair, each vector-wide.
// A single 64-row chain is 16 dependent fused multiply-adds on AVX2, latency-bound at about a
// quarter of the core's rate; four independent chains overlap (with FMA, 10⁴ pairs of 64 rows
// in 0.19 ms instead of 0.31 on an AVX2 EPYC: then reading the columns from L2 is the limit).
constexpr index_t kPairGroup = 4;

// The columns of the pair kPrefetchAhead places after pair k, when there is one.
template <class T>
inline void prefetch_pair(const T* p, const T* q, const label_t* ij, index_t rows, index_t k,
                          index_t hi) {
  if (k + kPrefetchAhead >= hi) return;
  // The first index is often the previous pair's (LMNN lists pairs by anchor): then its column
  // is in cache already.
  const label_t* next = ij + 2 * (k + kPrefetchAhead);
  const bool new_first = next[0] != next[-2];
  if (new_first) prefetch_column(p + rows * next[0], rows);
  prefetch_column(p + rows * next[1], rows);
  if (p != q) {
    if (new_first) prefetch_column(q + rows * next[0], rows);
    prefetch_column(q + rows * next[1], rows);
  }
}

// out[k] = (p_i − p_j)ᵀ(q_i − q_j) for the pairs k in [lo, hi); p = q is the squared distance,
// with half the loads. The reductions may be reordered (omp simd). Every pair goes through the
// same kPairGroup-wide loop, a short last group repeating its last pair, so that a pair's value
// does not depend on where the chunks of the list begin.
template <class T>
MAHAL_VECTOR_CLONES void pair_sqdist_kernel(const T* p, const T* q, const label_t* ij, index_t rows,
                                            bool prefetch, index_t lo, index_t hi, T* out) {
  for (index_t k = lo; k < hi; k += kPairGroup) {
    const T *pi[kPairGroup], *pj[kPairGroup], *qi[kPairGroup], *qj[kPairGroup];
    for (index_t g = 0; g < kPairGroup; ++g) {
      if (prefetch) prefetch_pair(p, q, ij, rows, k + g, hi);
      const index_t e = std::min(k + g, hi - 1);
      pi[g] = p + rows * ij[2 * e];
      pj[g] = p + rows * ij[2 * e + 1];
      qi[g] = q + rows * ij[2 * e];
      qj[g] = q + rows * ij[2 * e + 1];
    }
    T acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
    static_assert(kPairGroup == 4, "one accumulator per pair of the group");
    if (p == q) {
#pragma omp simd reduction(+ : acc0, acc1, acc2, acc3)
      for (index_t t = 0; t < rows; ++t) {
        const T d0 = pi[0][t] - pj[0][t], d1 = pi[1][t] - pj[1][t];
        const T d2 = pi[2][t] - pj[2][t], d3 = pi[3][t] - pj[3][t];
        acc0 += d0 * d0;
        acc1 += d1 * d1;
        acc2 += d2 * d2;
        acc3 += d3 * d3;
      }
    } else {
#pragma omp simd reduction(+ : acc0, acc1, acc2, acc3)
      for (index_t t = 0; t < rows; ++t) {
        acc0 += (pi[0][t] - pj[0][t]) * (qi[0][t] - qj[0][t]);
        acc1 += (pi[1][t] - pj[1][t]) * (qi[1][t] - qj[1][t]);
        acc2 += (pi[2][t] - pj[2][t]) * (qi[2][t] - qj[2][t]);
        acc3 += (pi[3][t] - pj[3][t]) * (qi[3][t] - qj[3][t]);
      }
    }
    const T acc[kPairGroup] = {acc0, acc1, acc2, acc3};
    for (index_t g = 0; g < kPairGroup && k + g < hi; ++g) out[k + g] = acc[g];
  }
}

// block(i, j) = max(0, (block(i, j) + pn[i]) + qn[j]) for a rows × cols block that holds
// −2·PᵀQ: the squared distances, clamped at zero (the expansion can round below it; a NaN
// becomes 0).
template <class T>
MAHAL_VECTOR_CLONES void add_norms_clamped(T* block, index_t rows, index_t cols, const T* pn,
                                           const T* qn) {
  for (index_t j = 0; j < cols; ++j) {
    T* col = block + j * rows;
    const T qj = qn[j];
#pragma omp simd
    for (index_t i = 0; i < rows; ++i) col[i] = std::max(T(0), col[i] + pn[i] + qj);
  }
}

// The order of the top-k lists: by distance, ties to the smaller index; an empty slot (index
// −1) loses to any number, and NaN beats nothing. Two evaluations of the one order: the
// branch-free one for the vector merges, whose compare-and-select loops GCC vectorises only
// without branches (4× on the two-nearest merge), and the short-circuit one for the scalar
// insertions, where the first comparison nearly always decides (8 % faster k-NN searches).
template <bool branch_free = false, class T>
inline bool comes_before(T d, label_t ref, T held, label_t held_idx) {
  if constexpr (branch_free)
    return (d < held) | ((d == held) & ((held_idx < 0) | (ref < held_idx)));
  else
    return d < held || (d == held && (held_idx < 0 || ref < held_idx));
}

// The top-1 merge without a label filter or self exclusion (K-means' assignment, 1-NN): for
// rows [a0, a1) of a distance block (column-major, nq_block rows, nr columns whose first is
// reference first_ref) keep the nearest reference in (distance, index) order, an empty slot
// (index −1) losing to any number. Branch-free, so it runs as a vector loop; NaN never enters.
template <class T>
MAHAL_VECTOR_CLONES void nearest_merge(const T* dist, index_t nq_block, index_t a0, index_t a1,
                                       index_t nr, label_t first_ref, label_t* __restrict best_idx,
                                       T* __restrict best_d) {
  for (index_t b = 0; b < nr; ++b) {
    const T* col = dist + b * nq_block;
    const label_t ref = first_ref + static_cast<label_t>(b);
#pragma omp simd
    for (index_t a = a0; a < a1; ++a) {
      const T d = col[a], held = best_d[a];
      const label_t held_idx = best_idx[a];
      const bool better = comes_before<true>(d, ref, held, held_idx);
      best_d[a] = better ? d : held;
      best_idx[a] = better ? ref : held_idx;
    }
  }
}

// The same for the two nearest (K-means with bounds): slots 2a and 2a + 1 hold row a's nearest
// and second nearest reference. The rows' lists are copied into unit-stride arrays first (at
// most two_merge_rows rows): the interleaved slots kept the loop scalar.
inline constexpr index_t two_merge_rows = 64;
template <class T>
MAHAL_VECTOR_CLONES void nearest_two_merge(const T* dist, index_t nq_block, index_t a0, index_t a1,
                                           index_t nr, label_t first_ref,
                                           label_t* __restrict best_idx, T* __restrict best_d) {
  const index_t rows = a1 - a0;
  T d1[two_merge_rows], d2[two_merge_rows];
  label_t i1[two_merge_rows], i2[two_merge_rows];
  for (index_t t = 0; t < rows; ++t) {
    d1[t] = best_d[2 * (a0 + t)], d2[t] = best_d[2 * (a0 + t) + 1];
    i1[t] = best_idx[2 * (a0 + t)], i2[t] = best_idx[2 * (a0 + t) + 1];
  }
  for (index_t b = 0; b < nr; ++b) {
    const T* col = dist + b * nq_block + a0;
    const label_t ref = first_ref + static_cast<label_t>(b);
#pragma omp simd
    for (index_t t = 0; t < rows; ++t) {
      const T d = col[t], held1 = d1[t], held2 = d2[t];
      const label_t idx1 = i1[t], idx2 = i2[t];
      const bool first = comes_before<true>(d, ref, held1, idx1);
      const bool second = comes_before<true>(d, ref, held2, idx2);
      const T second_d = second ? d : held2;
      const label_t second_i = second ? ref : idx2;
      d2[t] = first ? held1 : second_d;
      i2[t] = first ? idx1 : second_i;
      d1[t] = first ? d : held1;
      i1[t] = first ? ref : idx1;
    }
  }
  for (index_t t = 0; t < rows; ++t) {
    best_d[2 * (a0 + t)] = d1[t], best_d[2 * (a0 + t) + 1] = d2[t];
    best_idx[2 * (a0 + t)] = i1[t], best_idx[2 * (a0 + t) + 1] = i2[t];
  }
}

// Whether d[t] <= bound[t] (or <= the one bound) for some t < count, as the top-k merges
// test their candidates (NaN never passes): once the lists have filled, most groups of a
// distance block cannot change one, and one vector test skips them.
template <class T>
MAHAL_VECTOR_CLONES bool any_at_most(const T* d, const T* bound, index_t count) {
  T lowest = 1;
#pragma omp simd reduction(min : lowest)
  for (index_t t = 0; t < count; ++t) lowest = std::min(lowest, d[t] <= bound[t] ? T(-1) : T(1));
  return lowest < 0;
}
template <class T>
MAHAL_VECTOR_CLONES bool any_at_most(const T* d, T bound, index_t count) {
  T lowest = 1;
#pragma omp simd reduction(min : lowest)
  for (index_t t = 0; t < count; ++t) lowest = std::min(lowest, d[t] <= bound ? T(-1) : T(1));
  return lowest < 0;
}

// One Adam step on [lo, hi). A function of its own, so that the restrict-qualified parameters
// and the scalars are plain locals: inside a lambda the scalars are closure members that every
// store might alias, and GCC ran the loop scalar (8% of a triplet training step).
template <class T>
void adam_kernel(index_t lo, index_t hi, const T* __restrict g, T* __restrict m, T* __restrict v,
                 T* __restrict p, T beta1, T beta2, T step, T root_c2, T eps) {
  for (index_t t = lo; t < hi; ++t) {
    const T gt = g[t];
    const T m1 = beta1 * m[t] + (T(1) - beta1) * gt;
    const T v1 = beta2 * v[t] + (T(1) - beta2) * gt * gt;
    m[t] = m1;
    v[t] = v1;
    p[t] -= step * m1 / (std::sqrt(v1) / root_c2 + eps);
  }
}

template <class T>
T apply(unary_op op, T x) {
  switch (op) {
    case unary_op::sqrt:
      return std::sqrt(std::max(x, T(0)));
    case unary_op::inv_two_sqrt:
      return x > 0 ? T(1) / (T(2) * std::sqrt(x)) : T(0);
    case unary_op::reciprocal:
      return x != 0 ? T(1) / x : T(0);
    case unary_op::square:
      return x * x;
    case unary_op::relu:
      return std::max(x, T(0));
    case unary_op::step:
      return x > 0 ? T(1) : T(0);
    case unary_op::tanh:
      return std::tanh(x);
  }
  return x;
}

// The buffers of the Laplacian products (pair_scatter, pair_laplacian), kept by the backend
// between calls: an LMNN fit makes one product per evaluation, and fresh buffers of that size
// cost page faults and zeroing every time.
template <class T>
struct laplacian_workspace {
  std::vector<label_t> kept_pairs;  // adding_pairs' filtered copy
  std::vector<T> kept_weights;
  std::vector<label_t> position;        // compact's: n → local number, or −1
  std::vector<label_t> vertices;        // original column indices, ascending
  std::vector<label_t> local;           // 2×m: endpoints as positions in `vertices`
  std::vector<index_t> start, fill_at;  // laplacian_apply's CSR by vertex
  std::vector<label_t> other;
  std::vector<T> weight;
  std::vector<T> y, gathered;  // Lap applied to one side; the other side's columns
};

// The pairs of a weighted list that add something to a Laplacian product: weight w_k ≠ 0 and
// i ≠ j (the others add exactly zero, and their points need not be read: they may hold NaN).
// A view of the input when every pair adds; a filtered copy (in the workspace) otherwise.
template <class T>
class adding_pairs {
 public:
  adding_pairs(const label_t* ij, const T* w, index_t m, laplacian_workspace<T>& space)
      : ij_(ij), w_(w), m_(m) {
    const auto adds = [&](index_t k) { return w[k] != T(0) && ij[2 * k] != ij[2 * k + 1]; };
    index_t first_idle = 0;
    while (first_idle < m && adds(first_idle)) ++first_idle;
    if (first_idle == m) return;
    space.kept_pairs.resize(static_cast<std::size_t>(2 * m));
    space.kept_weights.resize(static_cast<std::size_t>(m));
    label_t* pairs = space.kept_pairs.data();
    T* weights = space.kept_weights.data();
    index_t kept = 0;
    for (index_t k = 0; k < m; ++k)
      if (adds(k)) {
        pairs[2 * kept] = ij[2 * k];
        pairs[2 * kept + 1] = ij[2 * k + 1];
        weights[kept++] = w[k];
      }
    ij_ = pairs;
    w_ = weights;
    m_ = kept;
  }
  index_t count() const { return m_; }
  const label_t* pairs() const { return ij_; }
  const T* weights() const { return w_; }

 private:
  const label_t* ij_;
  const T* w_;
  index_t m_;
};

// The vertices that occur in a pair list into space.vertices, and each pair's endpoints
// renumbered 0..n'-1 into space.local.
template <class T>
void compact(const label_t* pairs, index_t m, index_t n, laplacian_workspace<T>& space) {
  std::vector<label_t>& position = space.position;
  position.assign(static_cast<std::size_t>(n), -1);
  for (index_t k = 0; k < 2 * m; ++k) position[pairs[k]] = 0;
  space.vertices.clear();
  for (index_t v = 0; v < n; ++v)
    if (position[v] == 0) {
      position[v] = static_cast<label_t>(space.vertices.size());
      space.vertices.push_back(static_cast<label_t>(v));
    }
  space.local.resize(static_cast<std::size_t>(2 * m));
  for (index_t k = 0; k < 2 * m; ++k) space.local[k] = position[pairs[k]];
}

// y_v = deg(v)·r_v − Σ_e w_e·r_u(e) for the vertices [v0, v1) of laplacian_apply's CSR, two edges
// per pass over y_v (half its loads and stores). r's columns are addressed through cols_of_r
// (the original indices) when r is not compacted.
template <class T>
MAHAL_VECTOR_CLONES void laplacian_rows(const T* r, index_t rows, const label_t* cols_of_r,
                                        const index_t* start, const label_t* other, const T* weight,
                                        bool prefetch, index_t v0, index_t v1, T* y) {
  const index_t edges = start[v1];
  for (index_t v = v0; v < v1; ++v) {
    T* yv = y + rows * v;
    const T* rv = r + rows * static_cast<index_t>(cols_of_r[v]);
    T degree = 0;
    for (index_t e = start[v]; e < start[v + 1]; ++e) degree += weight[e];
#pragma omp simd
    for (index_t t = 0; t < rows; ++t) yv[t] = degree * rv[t];
    index_t e = start[v];
    for (; e + 1 < start[v + 1]; e += 2) {
      if (prefetch)
        for (index_t ahead = e + kPrefetchAhead; ahead < std::min(e + kPrefetchAhead + 2, edges);
             ++ahead)
          prefetch_column(r + rows * static_cast<index_t>(cols_of_r[other[ahead]]), rows);
      const T* ru0 = r + rows * static_cast<index_t>(cols_of_r[other[e]]);
      const T* ru1 = r + rows * static_cast<index_t>(cols_of_r[other[e + 1]]);
      const T w0 = weight[e], w1 = weight[e + 1];
#pragma omp simd
      for (index_t t = 0; t < rows; ++t) yv[t] -= w0 * ru0[t] + w1 * ru1[t];
    }
    if (e < start[v + 1]) {
      const T* ru = r + rows * static_cast<index_t>(cols_of_r[other[e]]);
      const T we = weight[e];
#pragma omp simd
      for (index_t t = 0; t < rows; ++t) yv[t] -= we * ru[t];
    }
  }
}

// Lap·Rᵀ columns without forming Lap, after compact: for every vertex v,
// y_v = Σ_{pairs (v,u)} w (r_v − r_u), into y (rows × |vertices|). Pairs are grouped by vertex
// (CSR) so that each output column is written by one thread. prefetch: r outgrows the L2 cache.
template <class T>
void laplacian_apply(const T* r, index_t rows, const std::vector<label_t>& cols_of_r,
                     laplacian_workspace<T>& space, const T* w, index_t m, bool prefetch, T* y) {
  const index_t nv = static_cast<index_t>(space.vertices.size());
  const std::vector<label_t>& local = space.local;
  std::vector<index_t>& start = space.start;
  start.assign(static_cast<std::size_t>(nv + 1), 0);
  for (index_t k = 0; k < m; ++k) {
    ++start[local[2 * k] + 1];
    ++start[local[2 * k + 1] + 1];
  }
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<index_t>& fill_at = space.fill_at;
  fill_at.assign(start.begin(), start.end() - 1);
  std::vector<label_t>& other = space.other;
  std::vector<T>& weight = space.weight;
  other.resize(static_cast<std::size_t>(2 * m));
  weight.resize(static_cast<std::size_t>(2 * m));
  for (index_t k = 0; k < m; ++k) {
    const label_t a = local[2 * k], b = local[2 * k + 1];
    other[fill_at[a]] = b;
    weight[fill_at[a]++] = w[k];
    other[fill_at[b]] = a;
    weight[fill_at[b]++] = w[k];
  }
  // Small lists stay on this thread: waking the team costs more than the work (an MMC cycle
  // on a few hundred pairs spent half its time in the OpenMP barrier).
  constexpr index_t chunk = 64;
  const index_t chunks = (nv + chunk - 1) / chunk;
#pragma omp parallel for schedule(dynamic, 1) if (2 * m * rows > kParallelWork)
  for (index_t c = 0; c < chunks; ++c)
    laplacian_rows(r, rows, cols_of_r.data(), start.data(), other.data(), weight.data(), prefetch,
                   c * chunk, std::min(nv, (c + 1) * chunk), y);
}

template <class T>
class cpu_backend final : public backend<T> {
  using array = typename backend<T>::array;
  using labels = typename backend<T>::labels;

 public:
  device where() const override { return device::cpu; }
  std::string name() const override { return "cpu (" + blas_info() + ")"; }
  void synchronize() override {}

 protected:
  array do_alloc(index_t rows, index_t cols) override {
    return array(host_alloc<T>(rows * cols), rows, cols, device::cpu);
  }
  labels do_alloc_labels(index_t rows, index_t cols) override {
    return labels(host_alloc<label_t>(rows * cols), rows, cols, device::cpu);
  }
  void do_upload(const T* host, array& dst) override {
    std::memcpy(dst.data(), host, sizeof(T) * dst.size());
  }
  void do_download(const array& src, T* host) override {
    std::memcpy(host, src.data(), sizeof(T) * src.size());
  }
  void do_upload_labels(const label_t* host, labels& dst) override {
    std::memcpy(dst.data(), host, sizeof(label_t) * dst.size());
  }
  void do_download_labels(const labels& src, label_t* host) override {
    std::memcpy(host, src.data(), sizeof(label_t) * src.size());
  }
  void do_copy(const array& src, array& dst) override {
    std::memmove(dst.data(), src.data(), sizeof(T) * src.size());
  }
  void do_fill(array& x, T value) override { std::fill_n(x.data(), x.size(), value); }

  void do_gemm(bool ta, bool tb, T alpha, const array& a, const array& b, T beta,
               array& c) override {
    const char* where = "mahal::backend::gemm";
    const int m = blas_int(c.rows(), where), n = blas_int(c.cols(), where);
    const int k = blas_int(ta ? a.rows() : a.cols(), where);
    blas_gemm(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a.data(), blas_int(std::max<index_t>(a.rows(), 1), where), b.data(),
              blas_int(std::max<index_t>(b.rows(), 1), where), beta, c.data(), m);
  }
  void do_axpy(T alpha, const array& x, array& y) override {
    const T* xs = x.data();
    T* ys = y.data();
    const index_t n = x.size();
#pragma omp parallel for simd if (n > kParallelWork)
    for (index_t t = 0; t < n; ++t) ys[t] += alpha * xs[t];
  }
  void do_scale(T alpha, array& x) override {
    T* xs = x.data();
    const index_t n = x.size();
    if (alpha == T(0)) {  // beta = 0 must clear NaN/Inf, as BLAS does
      std::fill_n(xs, n, T(0));
      return;
    }
#pragma omp parallel for simd if (n > kParallelWork)
    for (index_t t = 0; t < n; ++t) xs[t] *= alpha;
  }
  T do_dot(const array& x, const array& y) override {
    const T* xs = x.data();
    const T* ys = y.data();
    // Accumulated in double, so that float results keep their accuracy on long vectors.
    return static_cast<T>(chunked_sum(x.size(), [=](index_t b, index_t e) {
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (index_t t = b; t < e; ++t) acc += static_cast<double>(xs[t]) * ys[t];
      return acc;
    }));
  }
  T do_sum(const array& x) override {
    const T* xs = x.data();
    return static_cast<T>(chunked_sum(x.size(), [=](index_t b, index_t e) {
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (index_t t = b; t < e; ++t) acc += xs[t];
      return acc;
    }));
  }
  void do_map(unary_op op, const array& x, array& y) override {
    const T* xs = x.data();
    T* ys = y.data();
    const index_t n = x.size();
    // One loop per operation (the switch outside, the op a constant inside), so that each
    // loop vectorises.
    auto run = [&](auto constant) {
      chunked(n, [&](index_t b, index_t e) {
        for (index_t t = b; t < e; ++t) ys[t] = apply(decltype(constant)::value, xs[t]);
      });
    };
    switch (op) {
#define MAHAL_MAP_CASE(name) \
  case unary_op::name:       \
    return run(std::integral_constant<unary_op, unary_op::name>{});
      MAHAL_MAP_CASE(sqrt)
      MAHAL_MAP_CASE(inv_two_sqrt)
      MAHAL_MAP_CASE(reciprocal)
      MAHAL_MAP_CASE(square)
      MAHAL_MAP_CASE(relu)
      MAHAL_MAP_CASE(step)
      MAHAL_MAP_CASE(tanh)
#undef MAHAL_MAP_CASE
    }
  }
  void do_multiply(const array& x, array& y) override {
    const T* xs = x.data();
    T* ys = y.data();
    const index_t n = x.size();
#pragma omp parallel for simd if (n > kParallelWork)
    for (index_t t = 0; t < n; ++t) ys[t] *= xs[t];
  }
  void do_col_dots(const array& p, const array& q, array& out) override {
    const index_t rows = p.rows(), n = p.cols();
    const T* ps = p.data();
    const T* qs = q.data();
    T* os = out.data();
#pragma omp parallel for if (n * rows > kParallelWork)
    for (index_t j = 0; j < n; ++j) {
      T acc = 0;
#pragma omp simd reduction(+ : acc)
      for (index_t t = 0; t < rows; ++t) acc += ps[j * rows + t] * qs[j * rows + t];
      os[j] = acc;
    }
  }
  void do_map2(binary_op op, const array& a, const array& b, array& out) override {
    const T* as = a.data();
    const T* bs = b.data();
    T* os = out.data();
    const index_t n = a.size();
    // In place (out aliasing a or b) is allowed: each entry reads only its own inputs.
    switch (op) {
      case binary_op::relu_grad:
        chunked(n, [=](index_t lo, index_t hi) {
          for (index_t t = lo; t < hi; ++t) {
            const T g = as[t], v = bs[t];  // both loaded: a select, not a branch
            os[t] = v > T(0) ? g : T(0);
          }
        });
        break;
      case binary_op::tanh_grad:
        chunked(n, [=](index_t lo, index_t hi) {
          for (index_t t = lo; t < hi; ++t) os[t] = as[t] * (T(1) - bs[t] * bs[t]);
        });
        break;
    }
  }
  void do_add_to_cols(const array& b, array& x) override {
    const index_t rows = x.rows(), n = x.cols();
    const T* bs = b.data();
    T* xs = x.data();
#pragma omp parallel for if (n * rows > kParallelWork)
    for (index_t j = 0; j < n; ++j) {
      T* col = xs + j * rows;
#pragma omp simd
      for (index_t i = 0; i < rows; ++i) col[i] += bs[i];
    }
  }
  void do_add_row_sums(const array& x, array& out) override {
    const index_t rows = x.rows(), n = x.cols();
    const T* xs = x.data();
    T* os = out.data();
    // Serial over columns so that the summation order (and float result) is fixed.
    for (index_t j = 0; j < n; ++j) {
      const T* col = xs + j * rows;
#pragma omp simd
      for (index_t i = 0; i < rows; ++i) os[i] += col[i];
    }
  }
  void do_scale_cols(const array& s, array& x) override {
    const index_t rows = x.rows(), n = x.cols();
    const T* ss = s.data();
    T* xs = x.data();
#pragma omp parallel for if (n * rows > kParallelWork)
    for (index_t j = 0; j < n; ++j) {
      T* col = xs + j * rows;
      const T sj = ss[j];
#pragma omp simd
      for (index_t i = 0; i < rows; ++i) col[i] *= sj;
    }
  }
  void do_gather_cols(const array& x, const labels& idx, array& out) override {
    const index_t rows = x.rows(), n = x.cols(), m = idx.size();
    const label_t* is = idx.data();
    for (index_t t = 0; t < m; ++t)
      expects(is[t] >= 0 && is[t] < n, "mahal::backend::gather_cols", "index ", t, " is ", is[t],
              " outside [0, ", n, ")");
    const T* xs = x.data();
    T* os = out.data();
#pragma omp parallel for if (m * rows > kParallelWork)
    for (index_t t = 0; t < m; ++t)
      std::memcpy(os + t * rows, xs + static_cast<index_t>(is[t]) * rows, sizeof(T) * rows);
  }
  void do_pair_laplacian(const array& z, const labels& pairs, const array& weights, T alpha,
                         array& out) override {
    const char* where = "mahal::backend::pair_laplacian";
    const index_t rows = z.rows(), n = z.cols();
    check_pair_indices(pairs, n, where);
    if (alpha == T(0)) return;
    const adding_pairs<T> kept(pairs.data(), weights.data(), pairs.cols(), laplacian_);
    const index_t m = kept.count();
    const label_t* ij = kept.pairs();
    const T* w = kept.weights();
    const T* zs = z.data();
    T* os = out.data();
    if (m * rows <= (index_t{1} << 18)) {  // small: one pass over the pairs
      for (index_t k = 0; k < m; ++k) {
        const T* zi = zs + rows * ij[2 * k];
        const T* zj = zs + rows * ij[2 * k + 1];
        T* oi = os + rows * ij[2 * k];
        T* oj = os + rows * ij[2 * k + 1];
        const T a = alpha * w[k];
        for (index_t t = 0; t < rows; ++t) {
          const T delta = a * (zi[t] - zj[t]);
          oi[t] += delta;
          oj[t] -= delta;
        }
      }
      return;
    }
    // Large: the pairs grouped by vertex, one output column per thread.
    compact(ij, m, n, laplacian_);
    const std::vector<label_t>& vertices = laplacian_.vertices;
    const index_t nv = static_cast<index_t>(vertices.size());
    std::vector<T>& y = laplacian_.y;
    y.resize(static_cast<std::size_t>(rows * nv));
    laplacian_apply(zs, rows, vertices, laplacian_, w, m, exceeds_l2(z), y.data());
#pragma omp parallel for if (nv * rows > kParallelWork)
    for (index_t v = 0; v < nv; ++v) {
      T* o = os + rows * static_cast<index_t>(vertices[v]);
      const T* yv = y.data() + rows * v;
      for (index_t t = 0; t < rows; ++t) o[t] += alpha * yv[t];
    }
  }
  void do_adam_update(T lr, T beta1, T beta2, T eps, T c1, T c2, const array& g, array& m, array& v,
                      array& p) override {
    const T* gs = g.data();
    T* ms = m.data();
    T* vs = v.data();
    T* ps = p.data();
    const index_t n = p.size();
    const T step = lr / c1, root_c2 = std::sqrt(c2);
    chunked(n, [=](index_t lo, index_t hi) {
      adam_kernel(lo, hi, gs, ms, vs, ps, beta1, beta2, step, root_c2, eps);
    });
  }
  void do_sym_eig(const array& a, array& w, array& v) override {
    const int n = blas_int(a.rows(), "mahal::backend::sym_eig");
    if (v.data() != a.data()) std::memcpy(v.data(), a.data(), sizeof(T) * a.size());
    int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
    T work_query = 0;
    lapack_syevd(n, v.data(), w.data(), &work_query, lwork, &iwork_query, liwork, &info);
    lwork = static_cast<int>(work_query) + 1;
    liwork = iwork_query;
    std::vector<T> work(static_cast<std::size_t>(lwork));
    std::vector<int> iwork(static_cast<std::size_t>(std::max(liwork, 1)));
    lapack_syevd(n, v.data(), w.data(), work.data(), lwork, iwork.data(), liwork, &info);
    expects<numerical_error>(info == 0, "mahal::backend::sym_eig",
                             "LAPACK syevd failed, info = ", info, " (non-finite entries?)");
  }

  void do_pair_scatter(const array& p, const array& q, const labels& pairs, const array& weights,
                       T alpha, T beta, array& out) override {
    const char* where = "mahal::backend::pair_scatter";
    const index_t n = p.cols();
    check_pair_indices(pairs, n, where);
    // LMNN passes all its candidate pairs, most of them inactive: only the points of the pairs
    // that add something are read, and only they enter the CSR and the GEMM.
    const adding_pairs<T> kept(pairs.data(), weights.data(), pairs.cols(), laplacian_);
    const index_t m = kept.count();
    const label_t* ij = kept.pairs();
    const T* w = kept.weights();
    if (m == 0) {  // out = beta·out
      if (beta == T(0))
        std::fill_n(out.data(), out.size(), T(0));
      else
        this->scale(beta, out);
      return;
    }
    compact(ij, m, n, laplacian_);
    const std::vector<label_t>& vertices = laplacian_.vertices;
    const index_t nv = static_cast<index_t>(vertices.size());
    // Apply Lap to the side with fewer rows; gather the other side's columns when only some
    // points occur in pairs, so the GEMM runs over n' = |vertices| columns.
    const bool lap_on_p = p.rows() <= q.rows();
    const array& r = lap_on_p ? p : q;
    const array& s = lap_on_p ? q : p;
    std::vector<T>& y = laplacian_.y;
    y.resize(static_cast<std::size_t>(r.rows() * nv));
    laplacian_apply(r.data(), r.rows(), vertices, laplacian_, w, m, exceeds_l2(r), y.data());
    const T* s_cols = s.data();
    if (nv < n) {
      std::vector<T>& gathered = laplacian_.gathered;
      gathered.resize(static_cast<std::size_t>(s.rows() * nv));
      for (index_t v = 0; v < nv; ++v)
        std::memcpy(gathered.data() + v * s.rows(), s.data() + vertices[v] * s.rows(),
                    sizeof(T) * s.rows());
      s_cols = gathered.data();
    }
    // out = beta·out + alpha·P·Lap·Qᵀ = alpha·Y_P·Qᵀ (Lap on P) or alpha·P·Y_Qᵀ (Lap on Q).
    const int pr = blas_int(p.rows(), where), qr = blas_int(q.rows(), where);
    const int nvi = blas_int(nv, where);
    if (lap_on_p)
      blas_gemm(CblasNoTrans, CblasTrans, pr, qr, nvi, alpha, y.data(), pr, s_cols, qr, beta,
                out.data(), pr);
    else
      blas_gemm(CblasNoTrans, CblasTrans, pr, qr, nvi, alpha, s_cols, pr, y.data(), qr, beta,
                out.data(), pr);
  }

  void do_pair_sqdist(const array& p, const array& q, const labels& pairs, array& out) override {
    check_pair_indices(pairs, p.cols(), "mahal::backend::pair_sqdist");
    const index_t rows = p.rows(), m = pairs.cols();
    const label_t* ij = pairs.data();
    const T* ps = p.data();
    const T* qs = q.data();
    T* os = out.data();
    const bool prefetch = exceeds_l2(p) || exceeds_l2(q);
    constexpr index_t chunk = 1024;
    const index_t chunks = (m + chunk - 1) / chunk;
#pragma omp parallel for if (m * rows > kParallelWork)
    for (index_t c = 0; c < chunks; ++c)
      pair_sqdist_kernel(ps, qs, ij, rows, prefetch, c * chunk, std::min(m, (c + 1) * chunk), os);
  }

  void do_sqdist_block(const array& p, const array& q, const array& pn, const array& qn,
                       array& out) override {
    const char* where = "mahal::backend::sqdist_block";
    const index_t a = p.cols(), b = q.cols();
    const int d = blas_int(p.rows(), where);
    blas_int(a, where);
    blas_int(b, where);
    const T* pns = pn.data();
    const T* qns = qn.data();
    T* os = out.data();
    // Tiles of reference columns, one GEMM each, each finished (norms added, clamped) by the
    // thread that computed it while the tile is still in that core's L2 cache. The threads are
    // OpenMP's; OpenBLAS runs single-threaded inside the region.
    const index_t tile =
        std::max<index_t>(16, std::min<index_t>(256, (index_t{1} << 15) / std::max<index_t>(a, 1)));
    const index_t tiles = (b + tile - 1) / tile;
    auto run_tile = [&](index_t t) {
      const index_t j0 = t * tile;
      sqdist_tile(p.data(), q.data(), pns, qns, d, 0, a, j0, std::min(tile, b - j0), os + j0 * a);
    };
    const int threads = omp_get_max_threads();
    if (threads == 1 || tiles == 1 || a * b * std::max(d, 1) < kParallelWork) {
      for (index_t t = 0; t < tiles; ++t) run_tile(t);
      return;
    }
    detail::blas_single_thread guard;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (index_t t = 0; t < tiles; ++t) run_tile(t);
  }

  index_t do_impostor_pairs(const array& block, index_t first_query, index_t first_ref, bool upper,
                            const array& radius2, const labels& point_labels,
                            labels& found) override {
    return cpu::impostor_pairs(block.data(), block.rows(), block.cols(), first_query, first_ref,
                               upper, radius2.data(), point_labels.data(), found.data(),
                               found.cols(), impostor_lists_);
  }

  hinge_sums do_lmnn_hinge(const array& dist, const labels& offsets, const hinge_options& options,
                           array* weights) override {
    return cpu::lmnn_hinge(dist.data(), dist.size(), offsets.data(), offsets.size() - 1, options,
                           weights != nullptr ? weights->data() : nullptr);
  }

  void do_mmc_diagonal_terms(const array& x_rows, const array& x_cols, index_t first_row,
                             index_t first_col, bool upper, const array& w,
                             diagonal_terms& terms) override {
    cpu::mmc_diagonal_terms(x_rows.data(), x_rows.cols(), x_cols.data(), x_cols.cols(),
                            x_rows.rows(), first_row, first_col, upper, w.data(), terms);
  }

  void do_topk_merge(const array& block, const topk_block& at, topk_state<T>& state) override {
    const index_t nq = block.rows(), nr = block.cols();
#pragma omp parallel for schedule(static) if (nq * nr > kParallelWork)
    for (index_t q0 = 0; q0 < nq; q0 += merge_chunk)
      merge_rows(block.data(), nq, q0, std::min(nq, q0 + merge_chunk), nr, at, state);
  }

  // One parallel region for the whole search (a region per block costs a barrier per block,
  // which on a loaded machine is paid in scheduler time slices). Each thread takes a chunk of
  // queries, then for every tile of references runs a single-threaded GEMM into its own scratch
  // (sized for its L2 cache), adds the norms and merges the tile into the chunk's top-k while
  // the tile is still in cache.
  //
  // A search of a set against itself (the same columns, norms, labels and first index on both
  // sides) computes each pair's distance once: the block between query chunks a < b serves
  // both, its rows merged into a's lists and its columns into b's. That halves the GEMM work
  // of LMNN's impostor and target searches. Its blocks run in rounds in which no two share a
  // chunk (a round-robin schedule), so that no two threads write the same list.
  void do_topk_sweep(const array& zq, const array& zr, const array& qn, const array& rn,
                     index_t block_queries, index_t block_refs, const topk_block& where_,
                     topk_state<T>& state) override {
    const char* where = "mahal::backend::topk_sweep";
    const index_t nq = zq.cols(), nr = zr.cols();
    const int d = blas_int(zq.rows(), where);
    blas_int(nr, where);
    const int threads = omp_get_max_threads();
    const sweep_shape shape = sweep_shape_of(nq, d, block_queries, block_refs, threads);
    const index_t chunk = shape.chunk, tile = shape.tile, chunks = shape.chunks;
    const T* zqs = zq.data();
    const T* zrs = zr.data();
    const T* qns = qn.data();
    const T* rns = rn.data();
    // Query chunk a against the references [r_begin, r_end), tile by tile; with `both`, each
    // tile's columns are merged into those references' lists as well.
    auto run = [&](T* scratch, index_t a, index_t r_begin, index_t r_end, bool both) {
      const index_t q0 = a * chunk, qb = std::min(chunk, nq - q0);
      topk_block at = where_;
      at.first_query = where_.first_query + q0;
      for (index_t r0 = r_begin; r0 < r_end; r0 += tile) {
        const index_t rb = std::min(tile, r_end - r0);
        sqdist_tile(zqs, zrs, qns, rns, d, q0, qb, r0, rb, scratch);
        at.first_ref = where_.first_ref + r0;
        for (index_t m0 = 0; m0 < qb; m0 += merge_chunk)
          merge_rows(scratch, qb, m0, std::min(qb, m0 + merge_chunk), rb, at, state);
        if (both) merge_cols(scratch, qb, rb, at, state);
      }
    };
    const bool self = zqs == zrs && qns == rns && nq == nr &&
                      where_.first_query == where_.first_ref &&
                      where_.query_labels == where_.ref_labels;
    // Chunk a with chunk b >= a (self) or with every reference.
    auto pair = [&](T* scratch, index_t a, index_t b) {
      if (self)
        run(scratch, a, b * chunk, std::min(nq, (b + 1) * chunk), a != b);
      else
        run(scratch, a, 0, nr, false);
    };
    // Small searches (K-means' assignment on a few hundred points) stay on this thread: waking
    // the team costs more than the work.
    const bool parallel =
        threads > 1 && chunks > 1 && nq * nr * d > kParallelWork && !omp_in_parallel();
    if (!parallel) {
      std::vector<T> scratch(static_cast<std::size_t>(chunk * tile));
      for (index_t a = 0; a < chunks; ++a)
        for (index_t b = a; b < (self ? chunks : a + 1); ++b) pair(scratch.data(), a, b);
      return;
    }
    detail::blas_single_thread guard;
    // Self: the circle method over `players` (chunks rounded up to even; an index >= chunks sits
    // the round out). In round r < players − 1, players − 1 meets r and (r + i) mod (players − 1)
    // meets (r − i) mod (players − 1) for 0 < i < players / 2; the last round is every chunk with
    // itself. Otherwise one round: every chunk against all references.
    const index_t players = chunks + chunks % 2, rounds = self ? players : 1;
#pragma omp parallel num_threads(threads)
    {
      std::vector<T> mine(static_cast<std::size_t>(chunk * tile));
      for (index_t round = 0; round < rounds; ++round) {
        const bool diagonal = !self || round == players - 1;
        const index_t tasks = diagonal ? chunks : players / 2;
#pragma omp for schedule(dynamic, 1)
        for (index_t i = 0; i < tasks; ++i) {
          if (diagonal) {
            pair(mine.data(), i, i);
            continue;
          }
          const index_t ring = players - 1;
          const index_t a = i == 0 ? ring : (round + i) % ring;
          const index_t b = i == 0 ? round : (round - i + ring) % ring;
          if (a < chunks && b < chunks) pair(mine.data(), std::min(a, b), std::max(a, b));
        }
      }
    }
  }

  // The ball search of LMNN's default objective in one parallel region, as topk_sweep: each
  // thread takes a chunk of points and sweeps the references from the chunk's first column on
  // (the upper triangle) tile by tile, scanning each tile for impostor pairs while it is in its
  // L2 cache. (The default block loop writes 4 MiB blocks that sqdist_block and impostor_pairs
  // each pass over in a parallel region of their own.)
  void do_impostor_sweep(const array& z, const array& zn, const array& radius2,
                         const labels& point_labels, index_t block_queries, index_t block_refs,
                         std::vector<index_pair>& pairs) override {
    const index_t n = z.cols();
    const int d = blas_int(z.rows(), "mahal::backend::impostor_sweep");
    const label_t* y = point_labels.data();
    pair_lists& lists = impostor_lists_;
    if constexpr (std::is_same_v<T, double>) {
      if (single_.prepare(z, zn, radius2)) {
        sweep_impostors<float>(single_.z.data(), single_.norms.data(), single_.radius2.data(), y,
                               n, d, block_queries, block_refs, lists);
        keep_inside(z, radius2, lists);
        append_pairs(lists, pairs);
        return;
      }
    }
    sweep_impostors<T>(z.data(), zn.data(), radius2.data(), y, n, d, block_queries, block_refs,
                       lists);
    append_pairs(lists, pairs);
  }

  // out = beta·out + alpha·[P_I diag(W1) Q_Iᵀ + P_J diag(Wᵀ1) Q_Jᵀ − P_I W Q_Jᵀ − P_J Wᵀ Q_Iᵀ]
  void do_block_scatter(const array& p_rows, const array& q_rows, const array& p_cols,
                        const array& q_cols, const array& w, T alpha, T beta, array& out) override {
    const char* where = "mahal::backend::block_scatter";
    const index_t ni = w.rows(), nj = w.cols(), pr = p_rows.rows(), qr = q_rows.rows();
    const T* ws = w.data();
    std::vector<T> row_sum(static_cast<std::size_t>(ni), T(0)),
        col_sum(static_cast<std::size_t>(nj));
    for (index_t b = 0; b < nj; ++b) {
      T acc = 0;
      for (index_t a = 0; a < ni; ++a) {
        acc += ws[a + b * ni];
        row_sum[a] += ws[a + b * ni];
      }
      col_sum[b] = acc;
    }
    // Scaled copies P_I diag(W1) and P_J diag(Wᵀ1), each followed by its GEMM with Q.
    const index_t nmax = std::max(ni, nj);
    std::vector<T> scaled(static_cast<std::size_t>(pr * nmax));
    const int ipr = blas_int(pr, where), iqr = blas_int(qr, where);
    auto scaled_gemm = [&](const array& pside, const array& qside, const std::vector<T>& s,
                           index_t count, T beta_here) {
      for (index_t a = 0; a < count; ++a)
        for (index_t t = 0; t < pr; ++t) scaled[a * pr + t] = pside.data()[a * pr + t] * s[a];
      blas_gemm(CblasNoTrans, CblasTrans, ipr, iqr, blas_int(count, where), alpha, scaled.data(),
                ipr, qside.data(), iqr, beta_here, out.data(), ipr);
    };
    scaled_gemm(p_rows, q_rows, row_sum, ni, beta);
    scaled_gemm(p_cols, q_cols, col_sum, nj, T(1));
    // −P_I W Q_Jᵀ: first P_I W (pr×nj), then its product with Q_Jᵀ; likewise −P_J Wᵀ Q_Iᵀ.
    std::vector<T> pw(static_cast<std::size_t>(pr * nmax));
    blas_gemm(CblasNoTrans, CblasNoTrans, ipr, blas_int(nj, where), blas_int(ni, where), T(1),
              p_rows.data(), ipr, ws, blas_int(ni, where), T(0), pw.data(), ipr);
    blas_gemm(CblasNoTrans, CblasTrans, ipr, iqr, blas_int(nj, where), -alpha, pw.data(), ipr,
              q_cols.data(), iqr, T(1), out.data(), ipr);
    blas_gemm(CblasNoTrans, CblasTrans, ipr, blas_int(ni, where), blas_int(nj, where), T(1),
              p_cols.data(), ipr, ws, blas_int(ni, where), T(0), pw.data(), ipr);
    blas_gemm(CblasNoTrans, CblasTrans, ipr, iqr, blas_int(ni, where), -alpha, pw.data(), ipr,
              q_rows.data(), iqr, T(1), out.data(), ipr);
  }

 private:
  // How the sweeps cut nq queries: chunks of at most block_queries, and enough of them (4 per
  // thread) to balance the load; reference tiles such that a chunk × tile block is about 256 KiB
  // (a quarter of a 1 MiB L2) for d <= 64, growing with d up to the L2 size, where the GEMM
  // dominates and wider tiles amortise the packing of the query chunk; at most block_refs.
  struct sweep_shape {
    index_t chunk, tile, chunks;
  };

  // impostor_sweep in scalar type S: the per-thread lists of (i, l) pairs.
  template <class S>
  static void sweep_impostors(const S* zs, const S* norms, const S* r2, const label_t* y,
                              index_t n, int d, index_t block_queries, index_t block_refs,
                              pair_lists& lists) {
    const int threads = omp_get_max_threads();
    const sweep_shape shape = sweep_shape_of(n, d, block_queries, block_refs, threads);
    auto run = [&](S* scratch, index_t a, std::vector<label_t>& found) {
      const index_t q0 = a * shape.chunk, qb = std::min(shape.chunk, n - q0);
      for (index_t r0 = q0; r0 < n; r0 += shape.tile) {  // the upper triangle: each pair once
        const index_t rb = std::min(shape.tile, n - r0);
        sqdist_tile(zs, zs, norms, norms, d, q0, qb, r0, rb, scratch);
        cpu::scan_impostors(scratch, qb, 0, rb, q0, r0, true, r2, y, found);
      }
    };
    const bool parallel = threads > 1 && shape.chunks > 1 && !omp_in_parallel() &&
                          n * n * std::max(d, 1) >= kParallelWork;
    lists.resize(static_cast<std::size_t>(parallel ? threads : 1));
    for (auto& list : lists) list.clear();
    if (!parallel) {
      std::vector<S> scratch(static_cast<std::size_t>(shape.chunk * shape.tile));
      for (index_t a = 0; a < shape.chunks; ++a) run(scratch.data(), a, lists[0]);
    } else {
      detail::blas_single_thread guard;
#pragma omp parallel num_threads(threads)
      {
        std::vector<S> scratch(static_cast<std::size_t>(shape.chunk * shape.tile));
        std::vector<label_t>& mine = lists[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 1)
        for (index_t a = 0; a < shape.chunks; ++a) run(scratch.data(), a, mine);
      }
    }
  }

  static void append_pairs(const pair_lists& lists, std::vector<index_pair>& pairs) {
    std::size_t total = pairs.size();
    for (const auto& list : lists) total += list.size() / 2;
    pairs.reserve(total);
    for (const auto& list : lists)
      for (std::size_t t = 0; t < list.size(); t += 2) pairs.push_back({list[t], list[t + 1]});
  }
  static sweep_shape sweep_shape_of(index_t nq, int d, index_t block_queries, index_t block_refs,
                                    int threads) {
    const index_t per_task = (nq + 4 * threads - 1) / (4 * threads);
    const index_t chunk =
        std::max<index_t>(1, std::min(block_queries, std::max<index_t>(per_task, 32)));
    const index_t tile = std::max<index_t>(
        1,
        std::min(block_refs, std::max<index_t>(64, (index_t{32} << 10) *
                                                       std::clamp<index_t>(d / 64, 1, 4) / chunk)));
    return {chunk, tile, (nq + chunk - 1) / chunk};
  }

  // scratch (qb × rb) = the squared distances between the columns [q0, q0 + qb) of zq and
  // [r0, r0 + rb) of zr (d rows; squared norms qn and rn), clamped at zero.
  template <class S>
  static void sqdist_tile(const S* zq, const S* zr, const S* qn, const S* rn, int d, index_t q0,
                          index_t qb, index_t r0, index_t rb, S* scratch) {
    if (d > 0)
      blas_gemm(CblasTrans, CblasNoTrans, static_cast<int>(qb), static_cast<int>(rb), d, S(-2),
                zq + q0 * d, d, zr + r0 * d, d, S(0), scratch, static_cast<int>(qb));
    else
      std::fill_n(scratch, qb * rb, S(0));
    add_norms_clamped(scratch, qb, rb, qn + q0, rn + r0);
  }

  // Queries per merge pass: their thresholds stay in L1.
  static constexpr index_t merge_chunk = two_merge_rows;

  // Whether reference `ref` may enter query `query`'s list: not the query itself when
  // exclude_self, and the labels as the filter asks.
  static bool admits(const topk_block& at, index_t query, index_t ref) {
    if (at.exclude_self && ref == query) return false;
    if (at.filter == label_filter::any) return true;
    const bool same = at.query_labels[query] == at.ref_labels[ref];
    return same == (at.filter == label_filter::same);
  }

  // Merges rows [a0, a1) of a distance block (nq_block × nr, column-major) into the top-k of
  // those queries; the block's row a is query where.first_query + a, column b is reference
  // where.first_ref + b. a1 − a0 <= merge_chunk.
  static void merge_rows(const T* dist, index_t nq_block, index_t a0, index_t a1, index_t nr,
                         const topk_block& at, topk_state<T>& state) {
    const index_t k = state.indices.rows();
    label_t* best_idx = state.indices.data() + k * at.first_query;
    T* best_d = state.sqdist.data() + k * at.first_query;
    if (k <= 2 && at.filter == label_filter::any && !at.exclude_self) {
      (k == 1 ? nearest_merge<T> : nearest_two_merge<T>)(dist, nq_block, a0, a1, nr,
                                                         static_cast<label_t>(at.first_ref),
                                                         best_idx, best_d);
      return;
    }
    T worst[merge_chunk];
    for (index_t a = a0; a < a1; ++a) worst[a - a0] = best_d[k * a + k - 1];
    for (index_t b = 0; b < nr; ++b) {
      const T* col = dist + b * nq_block;
      const label_t ref = static_cast<label_t>(at.first_ref + b);
      if (!any_at_most(col + a0, static_cast<const T*>(worst), a1 - a0)) continue;
      for (index_t a = a0; a < a1; ++a) {
        const T d = col[a];
        if (!(d <= worst[a - a0])) continue;  // also rejects NaN
        if (!admits(at, at.first_query + a, ref)) continue;
        if (insert_sorted(best_idx + k * a, best_d + k * a, k, d, ref))
          worst[a - a0] = best_d[k * a + k - 1];
      }
    }
  }

  // Merges the columns of a distance block (nq_block × nr) into the top-k of the references, as
  // queries of the same set: column b is point where.first_ref + b, its row a the candidate
  // where.first_query + a.
  static void merge_cols(const T* dist, index_t nq_block, index_t nr, const topk_block& at,
                         topk_state<T>& state) {
    const index_t k = state.indices.rows();
    for (index_t b = 0; b < nr; ++b) {
      const T* col = dist + b * nq_block;
      const index_t point = at.first_ref + b;
      label_t* best_idx = state.indices.data() + k * point;
      T* best_d = state.sqdist.data() + k * point;
      T worst = best_d[k - 1];
      if (!any_at_most(col, worst, nq_block)) continue;
      for (index_t a = 0; a < nq_block; ++a) {
        const T d = col[a];
        if (!(d <= worst)) continue;  // also rejects NaN
        const label_t candidate = static_cast<label_t>(at.first_query + a);
        if (!admits(at, point, candidate)) continue;
        if (insert_sorted(best_idx, best_d, k, d, candidate)) worst = best_d[k - 1];
      }
    }
  }

  // Inserts (d, idx) into a sorted list of k if it beats the last entry in (distance, index)
  // order; returns whether it did.
  static bool insert_sorted(label_t* idx, T* d_list, index_t k, T d, label_t ref) {
    if (!comes_before(d, ref, d_list[k - 1], idx[k - 1])) return false;
    index_t pos = k - 1;
    while (pos > 0 && comes_before(d, ref, d_list[pos - 1], idx[pos - 1])) {
      d_list[pos] = d_list[pos - 1];
      idx[pos] = idx[pos - 1];
      --pos;
    }
    d_list[pos] = d;
    idx[pos] = ref;
    return true;
  }

  pair_lists impostor_lists_;  // impostor_pairs' and impostor_sweep's per-thread lists, reused
  // The double backend's impostor_sweep runs its tiles' GEMMs, most of the sweep, in single
  // precision (twice the rate: an LMNN fit's searches take 0.035 s instead of 0.048 on digits,
  // 0.67 s instead of 1.07 on letters), over balls widened by the rounding of that sweep and of
  // the conversion. keep_inside then tests each pair found in double, on the direct difference.
  struct single_sweep {
    std::vector<float> z, norms, radius2;
    // The copies, or false when single precision cannot hold the data's scale (norms beyond
    // 1e30, or below 1e-30 where the squares underflow), and the double sweep runs.
    bool prepare(const array& z64, const array& zn, const array& radius2_64) {
      const index_t n = z64.cols(), d = z64.rows();
      if (n == 0 || d == 0) return false;
      const double largest = *std::max_element(zn.data(), zn.data() + n);
      if (!(largest <= 1e30 && largest >= 1e-30)) return false;
      z.resize(static_cast<std::size_t>(d * n));
      norms.resize(static_cast<std::size_t>(n));
      radius2.resize(static_cast<std::size_t>(n));
      std::copy_n(z64.data(), d * n, z.begin());
      // The expansion |z_i|² + |z_l|² − 2·z_i·z_l errs by up to about (d + 2)·ε·(|z_i|² + |z_l|²)
      // and the conversion by 2ε per term: 4× over.
      const double slack = 4.0 * static_cast<double>(d + 4) * std::numeric_limits<float>::epsilon();
      for (index_t i = 0; i < n; ++i) {
        norms[i] = static_cast<float>(zn.data()[i]);
        const double widened = radius2_64.data()[i] + slack * (zn.data()[i] + largest);
        radius2[i] =
            std::nextafter(static_cast<float>(widened), std::numeric_limits<float>::infinity());
      }
      return true;
    }
  };
  single_sweep single_;

  // Keeps the pairs (i, l) with ||z_i − z_l||² < radius2(i) in double.
  static void keep_inside(const array& z, const array& radius2, pair_lists& lists) {
    const index_t d = z.rows();
    const T* zs = z.data();
    const T* r2 = radius2.data();
#pragma omp parallel for schedule(static, 1) if (lists.size() > 1)
    for (std::size_t t = 0; t < lists.size(); ++t) {
      std::vector<label_t>& list = lists[t];
      std::size_t kept = 0;
      for (std::size_t e = 0; e < list.size(); e += 2) {
        const T* zi = zs + static_cast<index_t>(list[e]) * d;
        const T* zl = zs + static_cast<index_t>(list[e + 1]) * d;
        T dd = 0;
#pragma omp simd reduction(+ : dd)
        for (index_t c = 0; c < d; ++c) dd += (zi[c] - zl[c]) * (zi[c] - zl[c]);
        if (dd < r2[list[e]]) {
          list[kept++] = list[e];
          list[kept++] = list[e + 1];
        }
      }
      list.resize(kept);
    }
  }
  laplacian_workspace<T> laplacian_;  // pair_scatter's and pair_laplacian's buffers, reused

  static void check_pair_indices(const labels& pairs, index_t n, const char* where) {
    const label_t* ij = pairs.data();
    // One vector pass over the indices; the offending one is looked for only when there is one.
    label_t lowest = 0, highest = 0;
#pragma omp simd reduction(min : lowest) reduction(max : highest)
    for (index_t t = 0; t < pairs.size(); ++t) {
      lowest = std::min(lowest, ij[t]);
      highest = std::max(highest, ij[t]);
    }
    if (lowest >= 0 && highest < n) return;
    for (index_t t = 0; t < pairs.size(); ++t)
      expects(ij[t] >= 0 && ij[t] < n, where, "pair ", t / 2, " has index ", ij[t], " outside [0, ",
              n, ")");
  }
};

}  // namespace

template <class T>
std::unique_ptr<backend<T>> make_backend() {
  return std::make_unique<cpu_backend<T>>();
}
template std::unique_ptr<backend<float>> make_backend<float>();
template std::unique_ptr<backend<double>> make_backend<double>();

std::string blas_info() {
  const char* config = openblas_get_config();
  return config != nullptr ? std::string(config) : std::string("unknown BLAS");
}

std::string blas_threading() {
  switch (openblas_get_parallel()) {
    case 1:
      return "pthreads";
    case 2:
      return "openmp";
    default:
      return "sequential";
  }
}

}  // namespace mahal::cpu

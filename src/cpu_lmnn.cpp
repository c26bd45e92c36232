#include "cpu_lmnn.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "mahal/error.hpp"
#include "parallel_work.hpp"
#include "vector_clones.hpp"

namespace mahal::cpu {
namespace {

using detail::kParallelWork;

// Anchor p's unscaled terms added to sums; with weights, its pairs' weights.
template <class T>
void anchor_terms(const T* dist, const label_t* offsets, index_t na, index_t p,
                  const hinge_options& o, T* w, hinge_sums& sums, std::vector<double>& scratch) {
  const index_t k = o.k, K = o.nearest;
  const double mu = o.mu, s = o.scale;
  const index_t e0 = na * k + offsets[p], e1 = na * k + offsets[p + 1];
  const bool capped = K > 0 && e1 - e0 > K;
  // Target distances, their hinge weights and (capped) a copy of the candidates' distances.
  scratch.assign(static_cast<std::size_t>(2 * k + (capped ? e1 - e0 : 0)), 0.0);
  double* dt = scratch.data();
  double* wt = dt + k;
  // A candidate at dl is in an active triplet exactly when dl < fl(1 + dt[a]) for some a, so
  // when dl < fl(1 + reach) with reach the largest target distance (NaNs never activate): the
  // test that lets the many inactive candidates skip the loop over the targets.
  double reach = -std::numeric_limits<double>::infinity();
  for (index_t a = 0; a < k; ++a) {
    dt[a] = static_cast<double>(dist[p * k + a]);
    sums.pull += dt[a];
    if (dt[a] > reach) reach = dt[a];
  }
  const double active_below = 1 + reach;
  // Only the K nearest candidates count: those below the K-th smallest distance, then the
  // first of those equal to it.
  double cut = std::numeric_limits<double>::infinity();
  index_t ties = 0;
  if (capped) {
    double* near = wt + k;
    std::copy(dist + e0, dist + e1, near);
    std::nth_element(near, near + (K - 1), near + (e1 - e0));
    cut = near[K - 1];
    ties = K - std::count_if(dist + e0, dist + e1, [cut](T v) { return v < cut; });
  }
  for (index_t e = e0; e < e1; ++e) {
    const double dl = static_cast<double>(dist[e]);
    if (dl > cut || (dl == cut && ties-- <= 0) || !(dl < active_below)) {
      if (w != nullptr) w[e] = 0;
      continue;
    }
    double wl = 0;
    bool any = false;
    for (index_t a = 0; a < k; ++a) {
      const double h = 1 + dt[a] - dl;
      if (h > 0) {
        ++sums.active_triplets;
        any = true;
        sums.push += o.squared ? h * h : h;
        const double g = o.squared ? 2 * h : 1.0;
        wt[a] += g;
        wl += g;
      }
    }
    if (any) ++sums.active_pairs;
    if (w != nullptr) w[e] = static_cast<T>(-mu * s * wl);
  }
  if (w != nullptr)
    for (index_t a = 0; a < k; ++a) w[p * k + a] = static_cast<T>(s * ((1 - mu) + mu * wt[a]));
}

}  // namespace

constexpr index_t kScanGroup = 32;  // rows tested together by scan_impostors

template <class T>
MAHAL_VECTOR_CLONES void scan_impostors(const T* block, index_t rows, index_t b0, index_t b1,
                                        index_t first_query, index_t first_ref, bool upper,
                                        const T* radius2, const label_t* labels,
                                        std::vector<label_t>& out) {
  const T* r2 = radius2 + first_query;  // the radii of the block's rows
  for (index_t b = b0; b < b1; ++b) {
    const index_t l = first_ref + b;
    const label_t yl = labels[l];
    const T rl = radius2[l];
    const T* col = block + b * rows;
    const index_t a_end = upper ? std::clamp<index_t>(l - first_query, 0, rows) : rows;
    // Pairs inside a ball are rare (about one entry in a thousand on letters): a vector test
    // over a group of rows finds the groups that hold none, which are skipped.
    for (index_t a0 = 0; a0 < a_end; a0 += kScanGroup) {
      const index_t a1 = std::min(a0 + kScanGroup, a_end);
      // dd < max(r2, rl) exactly when dd − max(r2, rl) < 0 (IEEE subtraction keeps the sign);
      // a NaN distance drops out of the minimum, as it fails every comparison below.
      T lowest = std::numeric_limits<T>::infinity();
#pragma omp simd reduction(min : lowest)
      for (index_t a = a0; a < a1; ++a) lowest = std::min(lowest, col[a] - std::max(r2[a], rl));
      if (!(lowest < 0)) continue;
      for (index_t a = a0; a < a1; ++a) {
        const T dd = col[a];
        const index_t i = first_query + a;
        if ((dd < r2[a] || dd < rl) && labels[i] != yl) {
          if (dd < r2[a]) out.insert(out.end(), {static_cast<label_t>(i), static_cast<label_t>(l)});
          if (dd < rl) out.insert(out.end(), {static_cast<label_t>(l), static_cast<label_t>(i)});
        }
      }
    }
  }
}

template <class T>
index_t impostor_pairs(const T* block, index_t rows, index_t cols, index_t first_query,
                       index_t first_ref, bool upper, const T* radius2, const label_t* labels,
                       label_t* found, index_t capacity, pair_lists& lists) {
  const int threads = omp_get_max_threads();
  lists.resize(static_cast<std::size_t>(threads));
  for (auto& list : lists) list.clear();
#pragma omp parallel if (rows * cols >= kParallelWork)
  {
    std::vector<label_t>& mine = lists[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (index_t b = 0; b < cols; ++b)
      scan_impostors(block, rows, b, b + 1, first_query, first_ref, upper, radius2, labels, mine);
  }
  index_t total = 0;
  for (const auto& list : lists) {
    const index_t count = static_cast<index_t>(list.size()) / 2;
    const index_t fits = std::clamp<index_t>(capacity - total, 0, count);
    if (fits > 0) std::memcpy(found + 2 * total, list.data(), sizeof(label_t) * 2 * fits);
    total += count;
  }
  return total;
}

template <class T>
hinge_sums lmnn_hinge(const T* dist, index_t m, const label_t* offsets, index_t na,
                      const hinge_options& options, T* weights) {
  const char* fn = "mahal::backend::lmnn_hinge";
  expects(offsets[0] == 0 && na * options.k + offsets[na] == m, fn, "offsets run from ", offsets[0],
          " to ", offsets[na], " but dist holds ", m - na * options.k, " candidates");
  for (index_t p = 0; p < na; ++p)
    expects(offsets[p] <= offsets[p + 1], fn, "offsets decrease at anchor ", p);
  // Per block of anchors, then added in block order: the same bits for every thread count and
  // schedule (a reduction clause adds in the order the threads finish).
  constexpr index_t block = 64;
  const index_t blocks = (na + block - 1) / block;
  std::vector<hinge_sums> parts(static_cast<std::size_t>(blocks));
#pragma omp parallel for schedule(dynamic, 1) if (m >= kParallelWork)
  for (index_t b = 0; b < blocks; ++b) {
    std::vector<double> scratch;
    for (index_t p = b * block; p < std::min(na, (b + 1) * block); ++p)
      anchor_terms(dist, offsets, na, p, options, weights, parts[b], scratch);
  }
  hinge_sums sums;
  for (const hinge_sums& part : parts) {
    sums.pull += part.pull;
    sums.push += part.push;
    sums.active_triplets += part.active_triplets;
    sums.active_pairs += part.active_pairs;
  }
  return sums;
}

#define MAHAL_INSTANTIATE(T)                                                                       \
  template index_t impostor_pairs<T>(const T*, index_t, index_t, index_t, index_t, bool, const T*, \
                                     const label_t*, label_t*, index_t, pair_lists&);              \
  template void scan_impostors<T>(const T*, index_t, index_t, index_t, index_t, index_t, bool,     \
                                  const T*, const label_t*, std::vector<label_t>&);                \
  template hinge_sums lmnn_hinge<T>(const T*, index_t, const label_t*, index_t,                    \
                                    const hinge_options&, T*);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal::cpu

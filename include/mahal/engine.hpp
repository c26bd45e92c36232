// mahal/engine.hpp — device-level algorithms written once over backend<T>.
//
// These take arrays already on the backend's device, so a solver that keeps X (d×n) and its
// transform Z = LX (k×n) resident can search neighbours or sweep all pairs every iteration
// without copies. The host-level API (neighbors.hpp, distances.hpp) wraps them.
#pragma once

#include <functional>

#include "mahal/backend.hpp"

namespace mahal::engine {

// Z = L·X: L k×d, X d×n → k×n.
template <class T>
device_array<T> transform(backend<T>& be, const device_array<T>& L, const device_array<T>& X);

// Block sizes for all-pairs sweeps; 0 picks a size suited to the backend's device
// (CPU: blocks that stay in cache; GPU: blocks large enough to fill the device).
struct block_sizes {
  index_t queries = 0;
  index_t refs = 0;
};
block_sizes resolve(block_sizes requested, device where, index_t n_queries, index_t n_refs);

// Calls f(block, first_query, first_ref) for every block of squared distances between the
// columns of Zq (k×nq) and Zr (k×nr), in row-major block order; `block` is a device array of
// n_queries_in_block × n_refs_in_block, valid only during the call.
template <class T>
void for_each_sqdist_block(backend<T>& be, const device_array<T>& Zq, const device_array<T>& Zr,
                           block_sizes blocks,
                           const std::function<void(const device_array<T>&, index_t, index_t)>& f);

// A top-k state for n_queries queries with every slot empty (index -1, distance +inf), ready
// for backend::topk_merge / topk_sweep.
template <class T>
topk_state<T> empty_topk_state(backend<T>& be, index_t k, index_t n_queries);

// What a nearest-neighbour search looks for.
struct knn_request {
  index_t k = 1;
  bool exclude_self = false;  // Zq and Zr are one set: a point is not its own neighbour
  label_filter filter = label_filter::any;
  const device_array<label_t>* query_labels = nullptr;  // needed unless filter == any
  const device_array<label_t>* ref_labels = nullptr;
  block_sizes blocks{};
};

// Exact k nearest neighbours of every column of Zq among the columns of Zr, in Euclidean
// distance (so under the metric L when Z = LX). Result columns are sorted ascending, ties by
// the smaller index; slots without a candidate hold index -1 and distance +inf.
template <class T>
topk_state<T> knn(backend<T>& be, const device_array<T>& Zq, const device_array<T>& Zr,
                  const knn_request& request);

// The same among the references within squared distance radius2(q) of each query q (radius2 a
// device vector, one entry per query): the lists start full of that distance, so the sweep never
// keeps, and soon stops testing, what lies beyond it. Slots left empty hold index -1 and
// distance radius2(q). For LMNN's impostors, which count only inside each point's margin ball.
template <class T>
topk_state<T> knn_within(backend<T>& be, const device_array<T>& Zq, const device_array<T>& Zr,
                         const knn_request& request, const device_array<T>& radius2);

}  // namespace mahal::engine

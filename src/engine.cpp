#include "mahal/engine.hpp"

#include <algorithm>
#include <limits>

#include "mahal/error.hpp"

namespace mahal::engine {

template <class T>
device_array<T> transform(backend<T>& be, const device_array<T>& L, const device_array<T>& X) {
  expects(L.cols() == X.rows(), "mahal::engine::transform", "L is ", L.rows(), "x", L.cols(),
          " but X has ", X.rows(), " rows");
  device_array<T> Z = be.alloc(L.rows(), X.cols());
  be.gemm(false, false, T(1), L, X, T(0), Z);
  return Z;
}

block_sizes resolve(block_sizes requested, device where, index_t n_queries, index_t n_refs) {
  // CPU: a 256 × 2048 block of doubles is 4 MiB, written by the GEMM and read once by the
  // top-k scan while still in the last-level cache. GPU: 8192 × 16384 keeps every SM busy.
  const block_sizes preferred =
      where == device::cpu ? block_sizes{256, 2048} : block_sizes{8192, 16384};
  block_sizes b = requested;
  if (b.queries <= 0) b.queries = preferred.queries;
  if (b.refs <= 0) b.refs = preferred.refs;
  b.queries = std::max<index_t>(1, std::min(b.queries, n_queries));
  b.refs = std::max<index_t>(1, std::min(b.refs, n_refs));
  return b;
}

template <class T>
void for_each_sqdist_block(backend<T>& be, const device_array<T>& Zq, const device_array<T>& Zr,
                           block_sizes blocks,
                           const std::function<void(const device_array<T>&, index_t, index_t)>& f) {
  expects(Zq.rows() == Zr.rows(), "mahal::engine::for_each_sqdist_block", "queries have ",
          Zq.rows(), " rows but references have ", Zr.rows());
  const index_t nq = Zq.cols(), nr = Zr.cols();
  if (nq == 0 || nr == 0) return;
  blocks = resolve(blocks, be.where(), nq, nr);
  device_array<T> qn = be.alloc(nq, 1), rn = be.alloc(nr, 1);
  be.col_dots(Zq, Zq, qn);
  be.col_dots(Zr, Zr, rn);
  device_array<T> scratch = be.alloc(blocks.queries, blocks.refs);
  for (index_t q0 = 0; q0 < nq; q0 += blocks.queries) {
    const index_t qb = std::min(blocks.queries, nq - q0);
    for (index_t r0 = 0; r0 < nr; r0 += blocks.refs) {
      const index_t rb = std::min(blocks.refs, nr - r0);
      device_array<T> block = scratch.reshaped(qb, rb);  // a prefix of the scratch buffer
      be.sqdist_block(Zq.col_range(q0, qb), Zr.col_range(r0, rb), qn.segment(q0, qb),
                      rn.segment(r0, rb), block);
      f(block, q0, r0);
    }
  }
}

template <class T>
topk_state<T> empty_topk_state(backend<T>& be, index_t k, index_t n_queries) {
  topk_state<T> state{be.alloc_labels(k, n_queries), be.alloc(k, n_queries)};
  // alloc_labels zero-fills, so the empty index -1 is uploaded.
  const std::vector<label_t> minus_one(static_cast<std::size_t>(k * n_queries), -1);
  be.upload_labels(minus_one.data(), state.indices);
  be.fill(state.sqdist, std::numeric_limits<T>::infinity());
  return state;
}

namespace {

// engine::knn's sweep, merged into `state` (k × Zq.cols(), as the caller initialised it).
template <class T>
void knn_into(backend<T>& be, const device_array<T>& Zq, const device_array<T>& Zr,
              const knn_request& request, topk_state<T>& state, const char* where) {
  expects(request.k >= 1, where, "k = ", request.k, " must be at least 1");
  expects(!request.exclude_self || Zq.cols() == Zr.cols(), where,
          "exclude_self needs queries and references to be one set, got ", Zq.cols(), " and ",
          Zr.cols(), " points");
  const bool filtered = request.filter != label_filter::any;
  expects(!filtered || (request.query_labels != nullptr && request.ref_labels != nullptr &&
                        request.query_labels->size() == Zq.cols() &&
                        request.ref_labels->size() == Zr.cols()),
          where, "a label filter needs one label per query and per reference");
  topk_block at;
  at.exclude_self = request.exclude_self;
  at.filter = request.filter;
  if (filtered) {
    at.query_labels = request.query_labels->data();
    at.ref_labels = request.ref_labels->data();
  }
  expects(Zq.rows() == Zr.rows(), where, "queries have ", Zq.rows(), " rows but references have ",
          Zr.rows());
  if (Zq.cols() == 0 || Zr.cols() == 0) return;
  const block_sizes blocks = resolve(request.blocks, be.where(), Zq.cols(), Zr.cols());
  device_array<T> qn = be.alloc(Zq.cols(), 1);
  be.col_dots(Zq, Zq, qn);
  // One set against itself: the same norms on both sides let a backend see the symmetry (the
  // CPU backend then computes each distance once).
  const bool self = Zq.data() == Zr.data() && Zq.rows() == Zr.rows() && Zq.cols() == Zr.cols();
  device_array<T> rn = qn;
  if (!self) {
    rn = be.alloc(Zr.cols(), 1);
    be.col_dots(Zr, Zr, rn);
  }
  be.topk_sweep(Zq, Zr, qn, rn, blocks.queries, blocks.refs, at, state);
}

}  // namespace

template <class T>
topk_state<T> knn(backend<T>& be, const device_array<T>& Zq, const device_array<T>& Zr,
                  const knn_request& request) {
  topk_state<T> state = empty_topk_state(be, std::max<index_t>(request.k, 1), Zq.cols());
  knn_into(be, Zq, Zr, request, state, "mahal::engine::knn");
  return state;
}

template <class T>
topk_state<T> knn_within(backend<T>& be, const device_array<T>& Zq, const device_array<T>& Zr,
                         const knn_request& request, const device_array<T>& radius2) {
  const char* where = "mahal::engine::knn_within";
  expects(radius2.size() == Zq.cols(), where, "radius2 has ", radius2.size(), " entries for ",
          Zq.cols(), " queries");
  topk_state<T> state = empty_topk_state(be, std::max<index_t>(request.k, 1), Zq.cols());
  be.fill(state.sqdist, T(1));
  be.scale_cols(radius2, state.sqdist);  // every slot of query q at distance radius2(q)
  knn_into(be, Zq, Zr, request, state, where);
  return state;
}

#define MAHAL_INSTANTIATE(T)                                                                 \
  template device_array<T> transform<T>(backend<T>&, const device_array<T>&,                 \
                                        const device_array<T>&);                             \
  template void for_each_sqdist_block<T>(                                                    \
      backend<T>&, const device_array<T>&, const device_array<T>&, block_sizes,              \
      const std::function<void(const device_array<T>&, index_t, index_t)>&);                 \
  template topk_state<T> empty_topk_state<T>(backend<T>&, index_t, index_t);                 \
  template topk_state<T> knn_within<T>(backend<T>&, const device_array<T>&,                  \
                                       const device_array<T>&, const knn_request&,           \
                                       const device_array<T>&);                              \
  template topk_state<T> knn<T>(backend<T>&, const device_array<T>&, const device_array<T>&, \
                                const knn_request&);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal::engine

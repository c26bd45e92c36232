#include "mahal/distances.hpp"

#include "mahal/device_transfer.hpp"
#include "mahal/engine.hpp"
#include "mahal/error.hpp"

namespace mahal {

void check_pairs(const pair_list& pairs, index_t n, const char* where) {
  for (std::size_t k = 0; k < pairs.size(); ++k)
    expects(pairs[k].i >= 0 && pairs[k].i < n && pairs[k].j >= 0 && pairs[k].j < n, where,
            "pair ", k, " = (", pairs[k].i, ", ", pairs[k].j, ") is outside [0, ", n, ")");
}

template <class T>
vector<T> pair_sqdist(backend<T>& be, const metric<T>& m, matrix_ref<T> X,
                      const pair_list& pairs) {
  const char* where = "mahal::pair_sqdist";
  expects(X.rows() == m.dim(), where, "X has ", X.rows(), " rows, the metric is on R^", m.dim());
  check_finite<T>(X, where);
  check_pairs(pairs, X.cols(), where);
  const device_array<T> Z = engine::transform(be, to_device<T>(be, m.L()), to_device<T>(be, X));
  device_array<T> out = be.alloc(static_cast<index_t>(pairs.size()), 1);
  be.pair_sqdist(Z, Z, pairs_to_device(be, pairs), out);
  return to_host(be, out);
}

template <class T>
matrix<T> pairwise_sqdist(backend<T>& be, const metric<T>& m, matrix_ref<T> Xa,
                          matrix_ref<T> Xb) {
  const char* where = "mahal::pairwise_sqdist";
  expects(Xa.rows() == m.dim() && Xb.rows() == m.dim(), where, "sets have ", Xa.rows(), " and ",
          Xb.rows(), " rows, the metric is on R^", m.dim());
  check_finite<T>(Xa, where, "Xa");
  check_finite<T>(Xb, where, "Xb");
  const device_array<T> L = to_device<T>(be, m.L());
  const device_array<T> Za = engine::transform(be, L, to_device<T>(be, Xa));
  const device_array<T> Zb = engine::transform(be, L, to_device<T>(be, Xb));
  matrix<T> out(Xa.cols(), Xb.cols());
  engine::for_each_sqdist_block<T>(
      be, Za, Zb, {}, [&](const device_array<T>& block, index_t a0, index_t b0) {
        out.block(a0, b0, block.rows(), block.cols()) = to_host(be, block);
      });
  return out;
}

template <class T>
matrix<T> pair_scatter(backend<T>& be, matrix_ref<T> X, const pair_list& pairs,
                       vector_ref<T> weights) {
  const char* where = "mahal::pair_scatter";
  expects(weights.size() == static_cast<index_t>(pairs.size()), where, pairs.size(),
          " pairs but ", weights.size(), " weights");
  check_finite<T>(X, where);
  check_finite<T>(weights, where, "weights");
  check_pairs(pairs, X.cols(), where);
  const device_array<T> Xd = to_device<T>(be, X);
  device_array<T> G = be.alloc(X.rows(), X.rows());
  be.pair_scatter(Xd, Xd, pairs_to_device(be, pairs), to_device<T>(be, weights), T(1), T(0), G);
  return to_host(be, G);
}

template <class T>
matrix<T> pair_scatter_linear(backend<T>& be, matrix_ref<T> L, matrix_ref<T> X,
                              const pair_list& pairs, vector_ref<T> weights) {
  const char* where = "mahal::pair_scatter_linear";
  expects(L.cols() == X.rows(), where, "L is ", L.rows(), "x", L.cols(), " but X has ", X.rows(),
          " rows");
  expects(weights.size() == static_cast<index_t>(pairs.size()), where, pairs.size(),
          " pairs but ", weights.size(), " weights");
  check_finite<T>(L, where, "L");
  check_finite<T>(X, where);
  check_finite<T>(weights, where, "weights");
  check_pairs(pairs, X.cols(), where);
  const device_array<T> Xd = to_device<T>(be, X);
  const device_array<T> Z = engine::transform(be, to_device<T>(be, L), Xd);
  device_array<T> out = be.alloc(L.rows(), L.cols());
  be.pair_scatter(Z, Xd, pairs_to_device(be, pairs), to_device<T>(be, weights), T(2), T(0), out);
  return to_host(be, out);
}

#define MAHAL_INSTANTIATE(T)                                                                  \
  template vector<T> pair_sqdist<T>(backend<T>&, const metric<T>&, matrix_ref<T>,             \
                                    const pair_list&);                                        \
  template matrix<T> pairwise_sqdist<T>(backend<T>&, const metric<T>&, matrix_ref<T>,         \
                                        matrix_ref<T>);                                       \
  template matrix<T> pair_scatter<T>(backend<T>&, matrix_ref<T>, const pair_list&,            \
                                     vector_ref<T>);                                          \
  template matrix<T> pair_scatter_linear<T>(backend<T>&, matrix_ref<T>, matrix_ref<T>,        \
                                            const pair_list&, vector_ref<T>);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal

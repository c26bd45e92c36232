#include "mahal/device_transfer.hpp"

namespace mahal {

template <class T>
device_array<T> to_device(backend<T>& be, matrix_ref<T> X) {
  device_array<T> out = be.alloc(X.rows(), X.cols());
  if (X.outerStride() == X.rows()) {
    be.upload(X.data(), out);
  } else {  // a strided view (e.g. a block of a larger matrix): pack it first
    const matrix<T> packed = X;
    be.upload(packed.data(), out);
  }
  return out;
}

template <class T>
device_array<label_t> labels_to_device(backend<T>& be, label_ref y) {
  device_array<label_t> out = be.alloc_labels(y.size(), 1);
  const label_vector packed = y;
  be.upload_labels(packed.data(), out);
  return out;
}

template <class T>
device_array<label_t> pairs_to_device(backend<T>& be, const pair_list& pairs) {
  static_assert(sizeof(index_pair) == 2 * sizeof(label_t), "index_pair must be two label_t");
  device_array<label_t> out = be.alloc_labels(2, static_cast<index_t>(pairs.size()));
  be.upload_labels(reinterpret_cast<const label_t*>(pairs.data()), out);
  return out;
}

template <class T>
matrix<T> to_host(backend<T>& be, const device_array<T>& a) {
  matrix<T> out(a.rows(), a.cols());
  be.download(a, out.data());
  return out;
}

template <class T>
index_matrix labels_to_host(backend<T>& be, const device_array<label_t>& a) {
  index_matrix out(a.rows(), a.cols());
  be.download_labels(a, out.data());
  return out;
}

#define MAHAL_INSTANTIATE(T)                                                                   \
  template device_array<T> to_device<T>(backend<T>&, matrix_ref<T>);                           \
  template device_array<label_t> labels_to_device<T>(backend<T>&, label_ref);                  \
  template device_array<label_t> pairs_to_device<T>(backend<T>&, const pair_list&);            \
  template matrix<T> to_host<T>(backend<T>&, const device_array<T>&);                          \
  template index_matrix labels_to_host<T>(backend<T>&, const device_array<label_t>&);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal

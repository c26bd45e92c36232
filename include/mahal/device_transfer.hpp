// mahal/device_transfer.hpp — moving Eigen matrices, labels and pair lists to a backend's
// device and back. On the CPU backend these are plain copies into aligned host buffers.
#pragma once

#include "mahal/backend.hpp"
#include "mahal/matrix.hpp"

namespace mahal {

template <class T>
device_array<T> to_device(backend<T>& be, matrix_ref<T> X);  // rows×cols as in X
template <class T>
device_array<label_t> labels_to_device(backend<T>& be, label_ref y);  // n×1
// A pair list as the 2×m index array that pair_scatter / pair_sqdist take.
template <class T>
device_array<label_t> pairs_to_device(backend<T>& be, const pair_list& pairs);

template <class T>
matrix<T> to_host(backend<T>& be, const device_array<T>& a);
template <class T>
index_matrix labels_to_host(backend<T>& be, const device_array<label_t>& a);

}  // namespace mahal

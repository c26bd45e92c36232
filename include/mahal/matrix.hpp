// mahal/matrix.hpp — the Eigen types of mahal's public API.
//
// Functions take `matrix_ref<T>` (Eigen::Ref<const matrix<T>>): any column-major Eigen matrix
// or a mapped numpy buffer is passed without a copy. X is d×n, one sample per column.
#pragma once

#include <Eigen/Core>
#include <type_traits>

#include "mahal/types.hpp"

namespace mahal {

template <class T>
using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
template <class T>
using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
using label_vector = Eigen::Matrix<label_t, Eigen::Dynamic, 1>;
using index_matrix = Eigen::Matrix<label_t, Eigen::Dynamic, Eigen::Dynamic>;

// Read-only views. T is never deduced from them (std::type_identity_t), so a call such as
// knn_search(backend, metric, X, X, options) takes T from the backend and the metric and
// converts any Eigen matrix expression to the view.
template <class T>
using matrix_ref = std::type_identity_t<Eigen::Ref<const matrix<T>>>;
template <class T>
using vector_ref = std::type_identity_t<Eigen::Ref<const vector<T>>>;
using label_ref = Eigen::Ref<const label_vector>;

}  // namespace mahal

// mahal/neighbors.hpp — exact k nearest neighbours under a metric, and k-NN classification.
//
// The search is blocked: Z = LX for both sets, then blocks of ||z_q||² + ||z_r||² − 2 z_qᵀz_r
// (one GEMM each, clamped at 0) merged into a running top-k per query. Memory is
// O(k·n_queries + one block), never O(n_queries · n_refs).
//
//   auto be = mahal::make_backend<double>(mahal::device::cpu);
//   auto m = mahal::metric<double>::identity(X.rows());
//   mahal::knn_options opt;  opt.k = 3;
//   auto nn = mahal::knn_search(*be, m, X_test, X_train, opt);        // nn.indices: 3×n_test
//   mahal::label_vector y_hat = mahal::knn_classify(nn, y_train);
//   double acc = mahal::accuracy(y_hat, y_test);
#pragma once

#include "mahal/backend.hpp"
#include "mahal/engine.hpp"
#include "mahal/matrix.hpp"
#include "mahal/metric.hpp"

namespace mahal {

struct knn_options {
  index_t k = 3;              // neighbours per query
  bool exclude_self = false;  // queries are the references (leave-one-out): skip the point itself
  label_filter filter = label_filter::any;  // same: target neighbours; different: impostors
  engine::block_sizes blocks{};             // 0 = backend default
};

template <class T>
struct knn_result {
  index_matrix indices;  // k×n_queries: column indices into the reference set, nearest first
  matrix<T> sqdist;      // k×n_queries: squared distances under the metric
};

// k nearest references of each query column. Queries d×nq, references d×nr (the metric's d).
// Throws invalid_argument when k < 1, k exceeds the candidates (nr, nr − 1 with exclude_self),
// shapes disagree or the data hold NaN/Inf.
template <class T>
knn_result<T> knn_search(backend<T>& be, const metric<T>& m, matrix_ref<T> queries,
                         matrix_ref<T> refs, const knn_options& options);

// The same with labels, for label filters (options.filter): with `same`, every query's class
// must have at least k candidates among the references; with `different`, at least k points of
// other classes. Labels are int32 in 0..C-1.
template <class T>
knn_result<T> knn_search(backend<T>& be, const metric<T>& m, matrix_ref<T> queries,
                         label_ref query_labels, matrix_ref<T> refs, label_ref ref_labels,
                         const knn_options& options);

// Majority vote of the k neighbours' labels; a tie goes to the tied label whose nearest member
// is nearest (so k = 1 and all-distinct votes reduce to the nearest neighbour's label).
template <class T>
label_vector knn_classify(const knn_result<T>& neighbours, label_ref ref_labels);

// Fraction of equal entries; sizes must match and be non-zero.
double accuracy(label_ref predicted, label_ref truth);

// k-NN test accuracy under the metric with the training set as references.
template <class T>
double knn_accuracy(backend<T>& be, const metric<T>& m, matrix_ref<T> X_train,
                    label_ref y_train, matrix_ref<T> X_test, label_ref y_test, index_t k);

// Throws invalid_argument unless every label is in [0, n_classes) (n_classes = max + 1 when
// 0), naming `where` and the first offending entry; returns the number of classes.
label_t check_labels(label_ref y, index_t expected_size, const char* where,
                     label_t n_classes = 0);

}  // namespace mahal

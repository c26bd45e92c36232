#include "mahal/neighbors.hpp"

#include <algorithm>
#include <vector>

#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"

namespace mahal {
namespace {

constexpr const char* kWhere = "mahal::knn_search";

template <class T>
void check_inputs(const metric<T>& m, matrix_ref<T> queries, matrix_ref<T> refs,
                  const knn_options& options) {
  expects(m.dim() > 0, kWhere, "the metric is empty");
  expects(queries.rows() == m.dim() && refs.rows() == m.dim(), kWhere, "queries are ",
          queries.rows(), "x", queries.cols(), " and references ", refs.rows(), "x",
          refs.cols(), " but the metric is on R^", m.dim());
  expects(refs.cols() > 0, kWhere, "the reference set is empty");
  check_finite<T>(queries, kWhere, "queries");
  check_finite<T>(refs, kWhere, "references");
  const index_t candidates = refs.cols() - (options.exclude_self ? 1 : 0);
  expects(options.k >= 1 && options.k <= candidates, kWhere, "k = ", options.k, " but there are ",
          candidates, " candidate neighbours per query");
  expects(!options.exclude_self || queries.cols() == refs.cols(), kWhere,
          "exclude_self needs the queries to be the references, got ", queries.cols(), " and ",
          refs.cols(), " points");
}

// With a label filter, every query must have k candidates of the right kind.
void check_filter_candidates(label_ref yq, label_ref yr, const knn_options& options) {
  if (options.filter == label_filter::any) return;
  const label_t classes = std::max(yq.maxCoeff(), yr.maxCoeff()) + 1;
  std::vector<index_t> count(static_cast<std::size_t>(classes), 0);
  for (index_t r = 0; r < yr.size(); ++r) ++count[yr(r)];
  const index_t self = options.exclude_self ? 1 : 0;
  for (index_t q = 0; q < yq.size(); ++q) {
    const index_t same = count[yq(q)] - self;
    const index_t available =
        options.filter == label_filter::same ? same : yr.size() - count[yq(q)];
    expects(options.k <= available, kWhere, "k = ", options.k, " but query ", q, " (class ",
            yq(q), ") has only ", available,
            options.filter == label_filter::same ? " same-class" : " other-class",
            " candidates");
  }
}

template <class T>
knn_result<T> search(backend<T>& be, const metric<T>& m, matrix_ref<T> queries,
                     matrix_ref<T> refs, const knn_options& options,
                     const device_array<label_t>* yq, const device_array<label_t>* yr) {
  // The Euclidean metric (L = I exactly) searches the data as they are: Z = I·X would cost a
  // d×d×n GEMM per side for nothing.
  const bool identity = m.L().rows() == m.L().cols() && m.L().isIdentity(0);
  device_array<T> Zq = to_device<T>(be, queries), Zr = to_device<T>(be, refs);
  if (!identity) {
    const device_array<T> L = to_device<T>(be, m.L());
    Zq = engine::transform(be, L, Zq);
    Zr = engine::transform(be, L, Zr);
  }
  engine::knn_request request;
  request.k = options.k;
  request.exclude_self = options.exclude_self;
  request.filter = options.filter;
  request.query_labels = yq;
  request.ref_labels = yr;
  request.blocks = options.blocks;
  const topk_state<T> state = engine::knn(be, Zq, Zr, request);
  return {labels_to_host(be, state.indices), to_host(be, state.sqdist)};
}

}  // namespace

label_t check_labels(label_ref y, index_t expected_size, const char* where, label_t n_classes) {
  expects(y.size() == expected_size, where, "expected ", expected_size, " labels, got ",
          y.size());
  if (y.size() == 0) return n_classes;
  for (index_t t = 0; t < y.size(); ++t)
    expects(y(t) >= 0 && (n_classes == 0 || y(t) < n_classes), where, "label ", y(t),
            " at position ", t, " is outside [0, ",
            n_classes == 0 ? std::string("C") : std::to_string(n_classes), ")");
  return n_classes == 0 ? y.maxCoeff() + 1 : n_classes;
}

template <class T>
knn_result<T> knn_search(backend<T>& be, const metric<T>& m, matrix_ref<T> queries,
                         matrix_ref<T> refs, const knn_options& options) {
  expects(options.filter == label_filter::any, kWhere,
          "a label filter needs labels: use the overload that takes them");
  check_inputs(m, queries, refs, options);
  return search<T>(be, m, queries, refs, options, nullptr, nullptr);
}

template <class T>
knn_result<T> knn_search(backend<T>& be, const metric<T>& m, matrix_ref<T> queries,
                         label_ref query_labels, matrix_ref<T> refs, label_ref ref_labels,
                         const knn_options& options) {
  check_inputs(m, queries, refs, options);
  check_labels(query_labels, queries.cols(), kWhere);
  check_labels(ref_labels, refs.cols(), kWhere);
  check_filter_candidates(query_labels, ref_labels, options);
  const device_array<label_t> yq = labels_to_device(be, query_labels);
  const device_array<label_t> yr = labels_to_device(be, ref_labels);
  return search<T>(be, m, queries, refs, options, &yq, &yr);
}

template <class T>
label_vector knn_classify(const knn_result<T>& neighbours, label_ref ref_labels) {
  const index_t k = neighbours.indices.rows(), nq = neighbours.indices.cols();
  label_vector predicted(nq);
  std::vector<std::pair<label_t, index_t>> votes;  // (label, count), in order of first rank
  for (index_t q = 0; q < nq; ++q) {
    votes.clear();
    for (index_t r = 0; r < k; ++r) {
      const label_t idx = neighbours.indices(r, q);
      expects(idx >= 0 && idx < ref_labels.size(), "mahal::knn_classify", "neighbour index ",
              idx, " of query ", q, " is outside the ", ref_labels.size(), " reference labels");
      const label_t y = ref_labels(idx);
      auto it = std::find_if(votes.begin(), votes.end(), [&](auto& v) { return v.first == y; });
      if (it == votes.end())
        votes.emplace_back(y, 1);
      else
        ++it->second;
    }
    // max_element keeps the first of equal counts: the label met nearest wins a tie.
    predicted(q) = std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) {
                     return a.second < b.second;
                   })->first;
  }
  return predicted;
}

double accuracy(label_ref predicted, label_ref truth) {
  expects(predicted.size() == truth.size() && truth.size() > 0, "mahal::accuracy",
          "sizes must match and be positive, got ", predicted.size(), " and ", truth.size());
  return static_cast<double>((predicted.array() == truth.array()).count()) /
         static_cast<double>(truth.size());
}

template <class T>
double knn_accuracy(backend<T>& be, const metric<T>& m, matrix_ref<T> X_train,
                    label_ref y_train, matrix_ref<T> X_test, label_ref y_test, index_t k) {
  check_labels(y_train, X_train.cols(), "mahal::knn_accuracy");
  check_labels(y_test, X_test.cols(), "mahal::knn_accuracy");
  knn_options options;
  options.k = k;
  const knn_result<T> nn = knn_search(be, m, X_test, X_train, options);
  return accuracy(knn_classify(nn, y_train), y_test);
}

#define MAHAL_INSTANTIATE(T)                                                                    \
  template knn_result<T> knn_search<T>(backend<T>&, const metric<T>&, matrix_ref<T>,            \
                                       matrix_ref<T>, const knn_options&);                      \
  template knn_result<T> knn_search<T>(backend<T>&, const metric<T>&, matrix_ref<T>, label_ref, \
                                       matrix_ref<T>, label_ref, const knn_options&);           \
  template label_vector knn_classify<T>(const knn_result<T>&, label_ref);                       \
  template double knn_accuracy<T>(backend<T>&, const metric<T>&, matrix_ref<T>, label_ref,      \
                                  matrix_ref<T>, label_ref, index_t);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal

// The validating half of backend<T>: every public operation checks its shapes here, once for
// all devices, and then hands over to the device's do_* implementation.
#include "mahal/backend.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "mahal/error.hpp"

namespace mahal {
namespace {

template <class A>
std::string shape(const A& a) {
  return detail::concat(a.rows(), "x", a.cols());
}

template <class A, class B>
void same_size(const char* where, const A& a, const B& b) {
  expects(a.size() == b.size(), where, "sizes differ: ", shape(a), " and ", shape(b));
}

template <class A>
void on_device(const char* where, const A& a, device d) {
  expects(a.where() == d || a.empty(), where, "array lives on ", to_string(a.where()),
          " but the backend is ", to_string(d));
}

}  // namespace

template <class T>
auto backend<T>::alloc(index_t rows, index_t cols) -> array {
  expects(rows >= 0 && cols >= 0, "mahal::backend::alloc", "negative shape ", rows, "x", cols);
  return do_alloc(rows, cols);
}

template <class T>
auto backend<T>::alloc_labels(index_t rows, index_t cols) -> labels {
  expects(rows >= 0 && cols >= 0, "mahal::backend::alloc_labels", "negative shape ", rows, "x",
          cols);
  return do_alloc_labels(rows, cols);
}

template <class T>
void backend<T>::upload(const T* host, array& dst) {
  on_device("mahal::backend::upload", dst, where());
  if (!dst.empty()) do_upload(host, dst);
}

template <class T>
void backend<T>::download(const array& src, T* host) {
  on_device("mahal::backend::download", src, where());
  if (!src.empty()) do_download(src, host);
}

template <class T>
void backend<T>::upload_labels(const label_t* host, labels& dst) {
  on_device("mahal::backend::upload_labels", dst, where());
  if (!dst.empty()) do_upload_labels(host, dst);
}

template <class T>
void backend<T>::download_labels(const labels& src, label_t* host) {
  on_device("mahal::backend::download_labels", src, where());
  if (!src.empty()) do_download_labels(src, host);
}

template <class T>
void backend<T>::copy(const array& src, array& dst) {
  same_size("mahal::backend::copy", src, dst);
  if (!src.empty()) do_copy(src, dst);
}

template <class T>
void backend<T>::fill(array& x, T value) {
  if (!x.empty()) do_fill(x, value);
}

template <class T>
void backend<T>::gemm(bool transpose_a, bool transpose_b, T alpha, const array& a, const array& b,
                      T beta, array& c) {
  const index_t m = transpose_a ? a.cols() : a.rows();
  const index_t k = transpose_a ? a.rows() : a.cols();
  const index_t kb = transpose_b ? b.cols() : b.rows();
  const index_t n = transpose_b ? b.rows() : b.cols();
  expects(k == kb && c.rows() == m && c.cols() == n, "mahal::backend::gemm", "op(A) is ", m, "x", k,
          ", op(B) is ", kb, "x", n, " and C is ", shape(c));
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty product: C = beta·C
    scale(beta, c);
    return;
  }
  do_gemm(transpose_a, transpose_b, alpha, a, b, beta, c);
}

template <class T>
void backend<T>::axpy(T alpha, const array& x, array& y) {
  same_size("mahal::backend::axpy", x, y);
  if (!x.empty()) do_axpy(alpha, x, y);
}

template <class T>
void backend<T>::scale(T alpha, array& x) {
  if (!x.empty()) do_scale(alpha, x);
}

template <class T>
T backend<T>::dot(const array& x, const array& y) {
  same_size("mahal::backend::dot", x, y);
  return x.empty() ? T(0) : do_dot(x, y);
}

template <class T>
T backend<T>::sum(const array& x) {
  return x.empty() ? T(0) : do_sum(x);
}

template <class T>
void backend<T>::map(unary_op op, const array& x, array& y) {
  same_size("mahal::backend::map", x, y);
  if (!x.empty()) do_map(op, x, y);
}

template <class T>
void backend<T>::multiply(const array& x, array& y) {
  same_size("mahal::backend::multiply", x, y);
  if (!x.empty()) do_multiply(x, y);
}

template <class T>
void backend<T>::col_dots(const array& p, const array& q, array& out) {
  expects(p.rows() == q.rows() && p.cols() == q.cols() && out.size() == p.cols(),
          "mahal::backend::col_dots", "P is ", shape(p), ", Q is ", shape(q), ", out is ",
          shape(out));
  if (!out.empty()) do_col_dots(p, q, out);
}

template <class T>
void backend<T>::map2(binary_op op, const array& a, const array& b, array& out) {
  same_size("mahal::backend::map2", a, b);
  same_size("mahal::backend::map2", a, out);
  if (!a.empty()) do_map2(op, a, b, out);
}

template <class T>
void backend<T>::add_to_cols(const array& b, array& x) {
  expects(b.size() == x.rows(), "mahal::backend::add_to_cols", "b has ", b.size(),
          " entries but x is ", shape(x));
  if (!x.empty()) do_add_to_cols(b, x);
}

template <class T>
void backend<T>::add_row_sums(const array& x, array& out) {
  expects(out.size() == x.rows(), "mahal::backend::add_row_sums", "out has ", out.size(),
          " entries but x is ", shape(x));
  if (!x.empty()) do_add_row_sums(x, out);
}

template <class T>
void backend<T>::scale_cols(const array& s, array& x) {
  expects(s.size() == x.cols(), "mahal::backend::scale_cols", "s has ", s.size(),
          " entries but x is ", shape(x));
  if (!x.empty()) do_scale_cols(s, x);
}

template <class T>
void backend<T>::gather_cols(const array& x, const labels& idx, array& out) {
  expects(out.rows() == x.rows() && out.cols() == idx.size(), "mahal::backend::gather_cols",
          "x is ", shape(x), ", idx has ", idx.size(), " entries, out is ", shape(out));
  if (!out.empty()) do_gather_cols(x, idx, out);
}

template <class T>
void backend<T>::pair_laplacian(const array& z, const labels& pairs, const array& weights, T alpha,
                                array& out) {
  expects(pairs.rows() == 2 && weights.size() == pairs.cols() && out.rows() == z.rows() &&
              out.cols() == z.cols(),
          "mahal::backend::pair_laplacian", "Z is ", shape(z), ", pairs ", shape(pairs),
          ", weights ", shape(weights), ", out ", shape(out));
  if (!out.empty() && pairs.cols() > 0) do_pair_laplacian(z, pairs, weights, alpha, out);
}

template <class T>
void backend<T>::adam_update(T lr, T beta1, T beta2, T eps, T c1, T c2, const array& g, array& m,
                             array& v, array& p) {
  same_size("mahal::backend::adam_update", g, p);
  same_size("mahal::backend::adam_update", m, p);
  same_size("mahal::backend::adam_update", v, p);
  expects(c1 > 0 && c2 > 0, "mahal::backend::adam_update", "bias corrections c1 = ", c1,
          ", c2 = ", c2, " must be positive");
  if (!p.empty()) do_adam_update(lr, beta1, beta2, eps, c1, c2, g, m, v, p);
}

template <class T>
void backend<T>::sym_eig(const array& a, array& w, array& v) {
  expects(
      a.rows() == a.cols() && w.size() == a.rows() && v.rows() == a.rows() && v.cols() == a.cols(),
      "mahal::backend::sym_eig", "A is ", shape(a), ", w is ", shape(w), ", V is ", shape(v));
  if (!a.empty()) do_sym_eig(a, w, v);
}

template <class T>
void backend<T>::pair_scatter(const array& p, const array& q, const labels& pairs,
                              const array& weights, T alpha, T beta, array& out) {
  expects(p.cols() == q.cols() && pairs.rows() == 2 && weights.size() == pairs.cols() &&
              out.rows() == p.rows() && out.cols() == q.rows(),
          "mahal::backend::pair_scatter", "P is ", shape(p), ", Q is ", shape(q), ", pairs ",
          shape(pairs), ", weights ", shape(weights), ", out ", shape(out));
  if (out.empty()) return;
  if (pairs.cols() == 0) {
    scale(beta, out);
    return;
  }
  do_pair_scatter(p, q, pairs, weights, alpha, beta, out);
}

template <class T>
void backend<T>::pair_sqdist(const array& p, const array& q, const labels& pairs, array& out) {
  expects(p.rows() == q.rows() && p.cols() == q.cols() && pairs.rows() == 2 &&
              out.size() == pairs.cols(),
          "mahal::backend::pair_sqdist", "P is ", shape(p), ", Q is ", shape(q), ", pairs ",
          shape(pairs), ", out ", shape(out));
  if (!out.empty()) do_pair_sqdist(p, q, pairs, out);
}

template <class T>
void backend<T>::sqdist_block(const array& p, const array& q, const array& pn, const array& qn,
                              array& out) {
  expects(p.rows() == q.rows() && pn.size() == p.cols() && qn.size() == q.cols() &&
              out.rows() == p.cols() && out.cols() == q.cols(),
          "mahal::backend::sqdist_block", "P is ", shape(p), ", Q is ", shape(q), ", norms ",
          pn.size(), " and ", qn.size(), ", out ", shape(out));
  if (!out.empty()) do_sqdist_block(p, q, pn, qn, out);
}

template <class T>
void backend<T>::topk_merge(const array& block, const topk_block& where_, topk_state<T>& state) {
  const index_t k = state.indices.rows();
  expects(k > 0 && state.sqdist.rows() == k && state.sqdist.cols() == state.indices.cols() &&
              where_.first_query >= 0 && where_.first_ref >= 0 &&
              where_.first_query + block.rows() <= state.indices.cols(),
          "mahal::backend::topk_merge", "state is k=", k, " x ", state.indices.cols(),
          " queries, block ", shape(block), " at query ", where_.first_query);
  expects(where_.filter == label_filter::any ||
              (where_.query_labels != nullptr && where_.ref_labels != nullptr),
          "mahal::backend::topk_merge", "a label filter needs query and reference labels");
  if (!block.empty()) do_topk_merge(block, where_, state);
}

template <class T>
index_t backend<T>::impostor_pairs(const array& block, index_t first_query, index_t first_ref,
                                   bool upper, const array& radius2, const labels& point_labels,
                                   labels& found) {
  const char* fn = "mahal::backend::impostor_pairs";
  const index_t n = radius2.size();
  expects(point_labels.size() == n && first_query >= 0 && first_ref >= 0 &&
              first_query + block.rows() <= n && first_ref + block.cols() <= n,
          fn, "block ", shape(block), " at (", first_query, ", ", first_ref, ") with ", n,
          " radii and ", point_labels.size(), " labels");
  expects(found.rows() == 2, fn, "found is ", shape(found), ", must be 2 x capacity");
  on_device(fn, block, where());
  on_device(fn, radius2, where());
  on_device(fn, point_labels, where());
  on_device(fn, found, where());
  if (block.empty()) return 0;
  return do_impostor_pairs(block, first_query, first_ref, upper, radius2, point_labels, found);
}

template <class T>
void backend<T>::impostor_sweep(const array& z, const array& zn, const array& radius2,
                                const labels& point_labels, index_t block_queries,
                                index_t block_refs, std::vector<index_pair>& pairs) {
  const char* fn = "mahal::backend::impostor_sweep";
  const index_t n = z.cols();
  expects(zn.size() == n && radius2.size() == n && point_labels.size() == n, fn, "z is ", shape(z),
          " but there are ", zn.size(), " norms, ", radius2.size(), " radii and ",
          point_labels.size(), " labels");
  expects(block_queries > 0 && block_refs > 0, fn, "block sizes ", block_queries, " x ", block_refs,
          " must be positive");
  expects(n - 1 <= index_t{std::numeric_limits<label_t>::max()}, fn, "point index ", n - 1,
          " does not fit a label_t");
  on_device(fn, z, where());
  on_device(fn, zn, where());
  on_device(fn, radius2, where());
  on_device(fn, point_labels, where());
  if (n > 1) do_impostor_sweep(z, zn, radius2, point_labels, block_queries, block_refs, pairs);
}

template <class T>
void backend<T>::do_impostor_sweep(const array& z, const array& zn, const array& radius2,
                                   const labels& point_labels, index_t block_queries,
                                   index_t block_refs, std::vector<index_pair>& pairs) {
  const index_t n = z.cols();
  const index_t bq = std::min(block_queries, n), br = std::min(block_refs, n);
  array scratch = alloc(bq, br);
  labels found = alloc_labels(2, std::min(2 * bq * br, n * 64));
  for (index_t q0 = 0; q0 < n; q0 += bq) {
    const index_t qb = std::min(bq, n - q0);
    for (index_t r0 = q0; r0 < n; r0 += br) {  // the upper triangle: each pair {i, l} once
      const index_t rb = std::min(br, n - r0);
      array block = scratch.reshaped(qb, rb);
      sqdist_block(z.col_range(q0, qb), z.col_range(r0, rb), zn.segment(q0, qb), zn.segment(r0, rb),
                   block);
      index_t count = impostor_pairs(block, q0, r0, true, radius2, point_labels, found);
      if (count > found.cols()) {
        found = alloc_labels(2, std::max(count, 2 * found.cols()));
        count = impostor_pairs(block, q0, r0, true, radius2, point_labels, found);
      }
      const std::size_t at = pairs.size();
      pairs.resize(at + static_cast<std::size_t>(count));
      download_labels(found.col_range(0, count), reinterpret_cast<label_t*>(pairs.data() + at));
    }
  }
}

template <class T>
hinge_sums backend<T>::lmnn_hinge(const array& dist, const labels& offsets,
                                  const hinge_options& options, array* weights) {
  const char* fn = "mahal::backend::lmnn_hinge";
  expects(offsets.size() >= 1, fn, "offsets is ", shape(offsets), ", must hold na + 1 entries");
  const index_t na = offsets.size() - 1;
  expects(options.k >= 1 && options.nearest >= 0, fn, "k = ", options.k,
          " must be at least 1 and nearest = ", options.nearest, " at least 0");
  expects(dist.size() >= na * options.k, fn, "dist has ", dist.size(), " entries but ", na,
          " anchors have ", na * options.k, " target pairs");
  expects(weights == nullptr || weights->size() == dist.size(), fn, "weights has ",
          weights != nullptr ? weights->size() : 0, " entries, dist ", dist.size());
  on_device(fn, dist, where());
  on_device(fn, offsets, where());
  if (weights != nullptr) on_device(fn, *weights, where());
  if (na == 0) return {};
  return do_lmnn_hinge(dist, offsets, options, weights);
}

template <class T>
void backend<T>::mmc_diagonal_terms(const array& x_rows, const array& x_cols, index_t first_row,
                                    index_t first_col, bool upper, const array& w,
                                    diagonal_terms& terms) {
  const char* fn = "mahal::backend::mmc_diagonal_terms";
  const index_t d = x_rows.rows();
  expects(x_cols.rows() == d && w.size() == d && d > 0 && first_row >= 0 && first_col >= 0, fn,
          "x_rows is ", shape(x_rows), ", x_cols ", shape(x_cols), ", w ", shape(w), " at (",
          first_row, ", ", first_col, ")");
  if (terms.grad.empty()) terms.grad.assign(static_cast<std::size_t>(d), 0.0);
  if (terms.hess.empty()) terms.hess.assign(static_cast<std::size_t>(d * d), 0.0);
  expects(static_cast<index_t>(terms.grad.size()) == d &&
              static_cast<index_t>(terms.hess.size()) == d * d,
          fn, "terms hold ", terms.grad.size(), " and ", terms.hess.size(), " entries for d = ", d);
  on_device(fn, x_rows, where());
  on_device(fn, x_cols, where());
  on_device(fn, w, where());
  if (x_rows.cols() == 0 || x_cols.cols() == 0) return;
  do_mmc_diagonal_terms(x_rows, x_cols, first_row, first_col, upper, w, terms);
}

template <class T>
void backend<T>::block_scatter(const array& p_rows, const array& q_rows, const array& p_cols,
                               const array& q_cols, const array& w, T alpha, T beta, array& out) {
  expects(p_rows.cols() == q_rows.cols() && p_cols.cols() == q_cols.cols() &&
              p_rows.rows() == p_cols.rows() && q_rows.rows() == q_cols.rows() &&
              w.rows() == p_rows.cols() && w.cols() == p_cols.cols() &&
              out.rows() == p_rows.rows() && out.cols() == q_rows.rows(),
          "mahal::backend::block_scatter", "P_I is ", shape(p_rows), ", Q_I is ", shape(q_rows),
          ", P_J is ", shape(p_cols), ", Q_J is ", shape(q_cols), ", W is ", shape(w), ", out ",
          shape(out));
  if (out.empty()) return;
  if (w.empty()) {
    scale(beta, out);
    return;
  }
  do_block_scatter(p_rows, q_rows, p_cols, q_cols, w, alpha, beta, out);
}

// Fallback: the block's |I|·|J| pairs as an explicit list over the columns [P_I P_J].
template <class T>
void backend<T>::do_block_scatter(const array& p_rows, const array& q_rows, const array& p_cols,
                                  const array& q_cols, const array& w, T alpha, T beta,
                                  array& out) {
  const index_t ni = p_rows.cols(), nj = p_cols.cols();
  array p = alloc(p_rows.rows(), ni + nj), q = alloc(q_rows.rows(), ni + nj);
  array p_head = p.col_range(0, ni), p_tail = p.col_range(ni, nj);
  array q_head = q.col_range(0, ni), q_tail = q.col_range(ni, nj);
  copy(p_rows, p_head);
  copy(p_cols, p_tail);
  copy(q_rows, q_head);
  copy(q_cols, q_tail);
  std::vector<label_t> ij(static_cast<std::size_t>(2 * ni * nj));
  for (index_t b = 0; b < nj; ++b)
    for (index_t a = 0; a < ni; ++a) {  // column-major order of W: weight k = a + b·ni
      ij[2 * (a + b * ni)] = static_cast<label_t>(a);
      ij[2 * (a + b * ni) + 1] = static_cast<label_t>(ni + b);
    }
  labels pairs = alloc_labels(2, ni * nj);
  upload_labels(ij.data(), pairs);
  do_pair_scatter(p, q, pairs, w.reshaped(ni * nj, 1), alpha, beta, out);
}

template <class T>
void backend<T>::topk_sweep(const array& zq, const array& zr, const array& qn, const array& rn,
                            index_t block_queries, index_t block_refs, const topk_block& where_,
                            topk_state<T>& state) {
  const index_t k = state.indices.rows();
  expects(zq.rows() == zr.rows() && qn.size() == zq.cols() && rn.size() == zr.cols(),
          "mahal::backend::topk_sweep", "queries ", shape(zq), ", references ", shape(zr),
          ", norms ", qn.size(), " and ", rn.size());
  expects(block_queries > 0 && block_refs > 0, "mahal::backend::topk_sweep", "block sizes ",
          block_queries, " x ", block_refs, " must be positive");
  expects(k > 0 && state.sqdist.rows() == k && state.sqdist.cols() == state.indices.cols() &&
              where_.first_query >= 0 && where_.first_ref >= 0 &&
              where_.first_query + zq.cols() <= state.indices.cols(),
          "mahal::backend::topk_sweep", "state is k=", k, " x ", state.indices.cols(), " queries, ",
          zq.cols(), " queries at ", where_.first_query);
  expects(where_.filter == label_filter::any ||
              (where_.query_labels != nullptr && where_.ref_labels != nullptr),
          "mahal::backend::topk_sweep", "a label filter needs query and reference labels");
  if (zq.cols() > 0 && zr.cols() > 0)
    do_topk_sweep(zq, zr, qn, rn, block_queries, block_refs, where_, state);
}

template <class T>
void backend<T>::do_topk_sweep(const array& zq, const array& zr, const array& qn, const array& rn,
                               index_t block_queries, index_t block_refs, const topk_block& where_,
                               topk_state<T>& state) {
  const index_t nq = zq.cols(), nr = zr.cols();
  const index_t bq = std::min(block_queries, nq), br = std::min(block_refs, nr);
  array scratch = alloc(bq, br);
  topk_block at = where_;
  for (index_t q0 = 0; q0 < nq; q0 += bq) {
    const index_t qb = std::min(bq, nq - q0);
    for (index_t r0 = 0; r0 < nr; r0 += br) {
      const index_t rb = std::min(br, nr - r0);
      array block = scratch.reshaped(qb, rb);
      sqdist_block(zq.col_range(q0, qb), zr.col_range(r0, rb), qn.segment(q0, qb),
                   rn.segment(r0, rb), block);
      at.first_query = where_.first_query + q0;
      at.first_ref = where_.first_ref + r0;
      topk_merge(block, at, state);
    }
  }
}

template class backend<float>;
template class backend<double>;

}  // namespace mahal

// The losses of mahal::nn. Pair and triplet losses: squared distances of the batch's pairs on
// the device (pair_sqdist), the per-pair scalar work (value and ∂loss/∂D²) on the host — m
// numbers — and the gradient 2·Z·Lap_w back on the device (pair_laplacian).
#include <algorithm>
#include <cmath>
#include <limits>

#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "mahal/nn/losses.hpp"
#include "reusable_buffer.hpp"

namespace mahal::nn {
namespace {

template <class T>
void ensure(backend<T>& be, device_array<T>& a, index_t rows, index_t cols) {
  if (a.rows() != rows || a.cols() != cols) a = be.alloc(rows, cols);
}

template <class T>
void check_dz(const device_array<T>& Z, const device_array<T>* dZ, const char* where) {
  if (dZ != nullptr)
    expects(dZ->rows() == Z.rows() && dZ->cols() == Z.cols(), where, "dZ is ", dZ->rows(), "x",
            dZ->cols(), " but Z is ", Z.rows(), "x", Z.cols());
}

// Squared distances of the pairs (host copy in ws.host_d2) and their device index array.
template <class T>
device_array<label_t> pair_sqdists(backend<T>& be, const device_array<T>& Z, const pair_list& pairs,
                                   loss_workspace<T>& ws) {
  static_assert(sizeof(index_pair) == 2 * sizeof(label_t), "index_pair must be two label_t");
  const index_t m = static_cast<index_t>(pairs.size());
  device_array<label_t> dev_pairs = buffers::reuse_labels(be, ws.pairs, 2, m);
  be.upload_labels(reinterpret_cast<const label_t*>(pairs.data()), dev_pairs);
  device_array<T> d2 = buffers::reuse(be, ws.d2, m, 1);
  be.pair_sqdist(Z, Z, dev_pairs, d2);  // validates the indices against Z
  ws.host_d2.resize(pairs.size());
  be.download(d2, ws.host_d2.data());
  return dev_pairs;
}

// dZ += 2·Z·Lap_w with w = ws.host_w.
template <class T>
void add_pair_gradient(backend<T>& be, const device_array<T>& Z,
                       const device_array<label_t>& dev_pairs, loss_workspace<T>& ws,
                       device_array<T>& dZ) {
  device_array<T> wd = buffers::reuse(be, ws.w, static_cast<index_t>(ws.host_w.size()), 1);
  be.upload(ws.host_w.data(), wd);
  be.pair_laplacian(Z, dev_pairs, wd, T(2), dZ);
}

}  // namespace

template <class T>
loss_result contrastive_loss(backend<T>& be, const device_array<T>& Z, const pair_list& pairs,
                             const std::vector<std::uint8_t>& similar,
                             const contrastive_options& options, device_array<T>* dZ,
                             loss_workspace<T>* workspace) {
  const char* where = "mahal::nn::contrastive_loss";
  expects(similar.size() == pairs.size(), where, pairs.size(), " pairs but ", similar.size(),
          " similarity flags");
  expects(options.margin > 0 && std::isfinite(options.margin), where, "margin = ", options.margin,
          " must be positive");
  check_dz(Z, dZ, where);
  loss_result r;
  r.count = static_cast<index_t>(pairs.size());
  if (pairs.empty()) return r;
  loss_workspace<T> local;
  loss_workspace<T>& ws = workspace != nullptr ? *workspace : local;
  const device_array<label_t> dev_pairs = pair_sqdists(be, Z, pairs, ws);
  const std::vector<T>& d2 = ws.host_d2;
  const double m = options.margin;
  const double scale = options.reduce == reduction::mean ? 1.0 / static_cast<double>(r.count) : 1;
  const bool squared = options.form == contrastive_form::squared;
  std::vector<T>& w = ws.host_w;
  w.assign(pairs.size(), T(0));
  double total = 0;
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const double s = std::max(0.0, static_cast<double>(d2[k]));
    const double d = std::sqrt(s);
    double grad = 0;  // ∂loss_k/∂D²
    if (similar[k]) {
      total += squared ? 0.5 * s : d;
      grad = squared ? 0.5 : (d > 0 ? 0.5 / d : 0.0);
    } else if (d < m) {
      const double h = m - d;
      total += squared ? 0.5 * h * h : h;
      // ∂/∂D² of ½h² is −h/(2D); of h it is −1/(2D); subgradient 0 at D = 0.
      grad = d > 0 ? (squared ? -h : -1.0) / (2 * d) : 0.0;
    }
    if (grad != 0) ++r.active;
    w[k] = static_cast<T>(grad * scale);
  }
  r.loss = total * scale;
  if (dZ != nullptr && r.active > 0) add_pair_gradient(be, Z, dev_pairs, ws, *dZ);
  return r;
}

template <class T>
loss_result triplet_loss(backend<T>& be, const device_array<T>& Z, const triplet_list& triplets,
                         const triplet_options& options, device_array<T>* dZ,
                         loss_workspace<T>* workspace) {
  const char* where = "mahal::nn::triplet_loss";
  expects(options.alpha >= 0 && std::isfinite(options.alpha), where, "alpha = ", options.alpha,
          " must be >= 0");
  check_dz(Z, dZ, where);
  loss_result r;
  const std::size_t t = triplets.size();
  r.count = static_cast<index_t>(t);
  if (t == 0) return r;
  loss_workspace<T> local;
  loss_workspace<T>& ws = workspace != nullptr ? *workspace : local;
  pair_list& pairs = ws.host_pairs;
  pairs.resize(2 * t);
  for (std::size_t k = 0; k < t; ++k) {
    pairs[k] = {triplets[k].anchor, triplets[k].positive};
    pairs[t + k] = {triplets[k].anchor, triplets[k].negative};
  }
  const device_array<label_t> dev_pairs = pair_sqdists(be, Z, pairs, ws);
  const std::vector<T>& d2 = ws.host_d2;
  const double scale = options.reduce == reduction::mean ? 1.0 / static_cast<double>(t) : 1;
  std::vector<T>& w = ws.host_w;
  w.assign(2 * t, T(0));
  double total = 0;
  for (std::size_t k = 0; k < t; ++k) {
    const double v = static_cast<double>(d2[k]) - static_cast<double>(d2[t + k]) + options.alpha;
    if (v > 0) {
      total += v;
      ++r.active;
      w[k] = static_cast<T>(scale);
      w[t + k] = static_cast<T>(-scale);
    }
  }
  r.loss = total * scale;
  if (dZ != nullptr && r.active > 0) add_pair_gradient(be, Z, dev_pairs, ws, *dZ);
  return r;
}

// ---- softmax_head ------------------------------------------------------------------------------
template <class T>
softmax_head<T>::softmax_head(backend<T>& be, index_t dim, index_t classes)
    : fc_(be, dim, classes, true) {
  expects(classes >= 2, "mahal::nn::softmax_head", "classes = ", classes, " must be >= 2");
}

template <class T>
loss_result softmax_head<T>::loss(backend<T>& be, const device_array<T>& Z,
                                  const std::vector<label_t>& labels, reduction reduce,
                                  device_array<T>* dZ) {
  const char* where = "mahal::nn::softmax_head::loss";
  const index_t n = Z.cols(), C = fc_.out();
  expects(static_cast<index_t>(labels.size()) == n, where, labels.size(), " labels for ", n,
          " columns");
  check_dz(Z, dZ, where);
  for (std::size_t i = 0; i < labels.size(); ++i)
    expects(labels[i] >= 0 && labels[i] < C, where, "label ", labels[i], " at ", i, " outside [0, ",
            C, ")");
  ensure(be, logits_, C, n);
  fc_.forward(be, Z, logits_);
  // The classes×n logits are small: the softmax runs on the host (stable log-sum-exp).
  std::vector<T> host(static_cast<std::size_t>(C * n));
  be.download(logits_, host.data());
  const double scale = reduce == reduction::mean ? 1.0 / static_cast<double>(n) : 1.0;
  loss_result r;
  r.count = n;
  r.active = n;
  double total = 0;
  for (index_t j = 0; j < n; ++j) {
    T* col = host.data() + j * C;
    double mx = -std::numeric_limits<double>::infinity();
    for (index_t c = 0; c < C; ++c) mx = std::max(mx, static_cast<double>(col[c]));
    double z = 0;
    for (index_t c = 0; c < C; ++c) z += std::exp(col[c] - mx);
    const double lse = mx + std::log(z);
    total += lse - col[labels[j]];
    for (index_t c = 0; c < C; ++c) {
      const double p = std::exp(col[c] - lse);
      col[c] = static_cast<T>((p - (c == labels[j] ? 1.0 : 0.0)) * scale);
    }
  }
  r.loss = total * scale;
  if (dZ != nullptr) {
    ensure(be, dlogits_, C, n);
    ensure(be, dz_, Z.rows(), n);
    be.upload(host.data(), dlogits_);
    fc_.backward(be, Z, logits_, dlogits_, &dz_);
    be.axpy(T(1), dz_, *dZ);
  }
  return r;
}

// ---- center_loss -------------------------------------------------------------------------------
template <class T>
center_loss<T>::center_loss(backend<T>& be, index_t dim, index_t classes) : classes_(classes) {
  expects(dim > 0 && classes >= 1, "mahal::nn::center_loss", "dim = ", dim,
          ", classes = ", classes);
  centers_ = {"centers", be.alloc(dim, classes), be.alloc(dim, classes)};
}

template <class T>
loss_result center_loss<T>::loss(backend<T>& be, const device_array<T>& Z,
                                 const std::vector<label_t>& labels, reduction reduce,
                                 device_array<T>* dZ) {
  const char* where = "mahal::nn::center_loss::loss";
  const index_t n = Z.cols(), k = Z.rows();
  expects(static_cast<index_t>(labels.size()) == n, where, labels.size(), " labels for ", n,
          " columns");
  expects(k == centers_.value.rows(), where, "Z has ", k, " rows but the centres ",
          centers_.value.rows());
  check_dz(Z, dZ, where);
  // One-hot Y (classes×n): the centres of the batch are C·Y, their gradient −diff·Yᵀ.
  std::vector<T> onehot(static_cast<std::size_t>(classes_ * n), T(0));
  for (index_t j = 0; j < n; ++j) {
    expects(labels[j] >= 0 && labels[j] < classes_, where, "label ", labels[j], " at ", j,
            " outside [0, ", classes_, ")");
    onehot[static_cast<std::size_t>(j * classes_ + labels[j])] = T(1);
  }
  ensure(be, onehot_, classes_, n);
  ensure(be, diff_, k, n);
  be.upload(onehot.data(), onehot_);
  be.copy(Z, diff_);
  be.gemm(false, false, T(-1), centers_.value, onehot_, T(1), diff_);  // diff = Z − C·Y
  const double scale = reduce == reduction::mean ? 1.0 / static_cast<double>(n) : 1.0;
  loss_result r;
  r.count = n;
  r.active = n;
  r.loss = 0.5 * static_cast<double>(be.dot(diff_, diff_)) * scale;
  if (dZ != nullptr) {  // with the input gradient, the centres' −scale·diff·Yᵀ accumulates too
    be.axpy(static_cast<T>(scale), diff_, *dZ);
    be.gemm(false, true, static_cast<T>(-scale), diff_, onehot_, T(1), centers_.grad);
  }
  return r;
}

#define MAHAL_INSTANTIATE(T)                                                                     \
  template loss_result contrastive_loss<T>(                                                      \
      backend<T>&, const device_array<T>&, const pair_list&, const std::vector<std::uint8_t>&,   \
      const contrastive_options&, device_array<T>*, loss_workspace<T>*);                         \
  template loss_result triplet_loss<T>(backend<T>&, const device_array<T>&, const triplet_list&, \
                                       const triplet_options&, device_array<T>*,                 \
                                       loss_workspace<T>*);                                      \
  template class softmax_head<T>;                                                                \
  template class center_loss<T>;
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal::nn

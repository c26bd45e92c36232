// sequential<T>: forward keeps every activation on the device; backward walks the layers in
// reverse with two ping-pong gradient buffers and skips the input gradient of the first layer.
#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "mahal/nn/sequential.hpp"
#include "reusable_buffer.hpp"

namespace mahal::nn {

using buffers::reuse;

template <class T>
sequential<T>& sequential<T>::add(std::unique_ptr<layer<T>> l) {
  expects(l != nullptr, "mahal::nn::sequential::add", "null layer");
  if (rows_.empty()) {
    if (auto* fc = dynamic_cast<linear<T>*>(l.get())) {
      rows_.push_back(fc->in());
    } else {
      throw invalid_argument("mahal::nn::sequential::add: the first layer must be linear, got " +
                             l->kind());
    }
  }
  rows_.push_back(l->output_rows(rows_.back()));
  const std::string prefix = std::to_string(layers_.size()) + ".";
  for (auto* p : l->parameters())
    if (p->name.rfind(prefix, 0) != 0) p->name = prefix + p->name;
  layers_.push_back(std::move(l));
  activations_.resize(layers_.size());
  storage_.resize(layers_.size());
  return *this;
}

template <class T>
sequential<T>& sequential<T>::add_linear(index_t in, index_t out, bool bias) {
  return add(std::make_unique<linear<T>>(*be_, in, out, bias));
}
template <class T>
sequential<T>& sequential<T>::add_relu() {
  return add(std::make_unique<relu<T>>());
}
template <class T>
sequential<T>& sequential<T>::add_tanh() {
  return add(std::make_unique<tanh_layer<T>>());
}
template <class T>
sequential<T>& sequential<T>::add_l2_normalize() {
  return add(std::make_unique<l2_normalize<T>>());
}

template <class T>
void sequential<T>::reset(std::uint64_t seed) {
  for (std::size_t i = 0; i < layers_.size(); ++i)
    layers_[i]->reset(*be_, seed * 1000003ULL + static_cast<std::uint64_t>(i));
}

template <class T>
const device_array<T>& sequential<T>::forward(const device_array<T>& X) {
  expects(!layers_.empty(), "mahal::nn::sequential::forward", "the network has no layers");
  expects(X.rows() == rows_.front(), "mahal::nn::sequential::forward", "input is ", X.rows(), "x",
          X.cols(), " but the network takes ", rows_.front(), " rows");
  input_ = X;
  const index_t n = X.cols();
  const device_array<T>* x = &X;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    activations_[i] = reuse(*be_, storage_[i], rows_[i + 1], n);
    layers_[i]->forward(*be_, *x, activations_[i]);
    x = &activations_[i];
  }
  return activations_.back();
}

template <class T>
void sequential<T>::backward(const device_array<T>& dZ) {
  expects(!layers_.empty() && activations_.back().cols() == dZ.cols() && dZ.rows() == rows_.back(),
          "mahal::nn::sequential::backward", "dZ is ", dZ.rows(), "x", dZ.cols(),
          " but the last forward gave ", rows_.back(), "x", activations_.back().cols());
  const index_t n = dZ.cols();
  const device_array<T>* dy = &dZ;
  device_array<T> bufs[2];
  int which = 0;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    const device_array<T>& x = i == 0 ? input_ : activations_[i - 1];
    if (i == 0) {
      layers_[i]->backward(*be_, x, activations_[i], *dy, nullptr);
      break;
    }
    bufs[which] = reuse(*be_, which == 0 ? grad_a_ : grad_b_, rows_[i], n);
    layers_[i]->backward(*be_, x, activations_[i], *dy, &bufs[which]);
    dy = &bufs[which];
    which ^= 1;
  }
}

template <class T>
void sequential<T>::zero_grad() {
  for (auto* p : parameters()) be_->fill(p->grad, T(0));
}

template <class T>
std::vector<parameter<T>*> sequential<T>::parameters() {
  std::vector<parameter<T>*> all;
  for (auto& l : layers_)
    for (auto* p : l->parameters()) all.push_back(p);
  return all;
}

template <class T>
index_t sequential<T>::parameter_count() const {
  index_t count = 0;
  for (auto& l : layers_)
    for (auto* p : l->parameters()) count += p->value.size();
  return count;
}

template <class T>
index_t sequential<T>::input_dim() const {
  return rows_.empty() ? 0 : rows_.front();
}
template <class T>
index_t sequential<T>::output_dim() const {
  return rows_.empty() ? 0 : rows_.back();
}

template <class T>
matrix<T> sequential<T>::embed(matrix_ref<T> X, index_t batch) {
  expects(!layers_.empty() && X.rows() == input_dim(), "mahal::nn::sequential::embed", "X is ",
          X.rows(), "x", X.cols(), " but the network takes ", input_dim(), " rows");
  expects(batch > 0, "mahal::nn::sequential::embed", "batch = ", batch, " must be positive");
  matrix<T> out(output_dim(), X.cols());
  for (index_t first = 0; first < X.cols(); first += batch) {
    const index_t count = std::min(batch, X.cols() - first);
    const matrix<T> block = X.middleCols(first, count);
    device_array<T> xb = to_device(*be_, matrix_ref<T>(block));
    const device_array<T>& z = forward(xb);
    be_->download(z, out.data() + first * output_dim());
  }
  input_ = {};
  return out;
}

template <class T>
std::vector<matrix<T>> sequential<T>::get_parameters() {
  std::vector<matrix<T>> out;
  for (auto* p : parameters()) out.push_back(to_host(*be_, p->value));
  return out;
}

template <class T>
void sequential<T>::set_parameters(const std::vector<matrix<T>>& values) {
  auto params = parameters();
  expects(values.size() == params.size(), "mahal::nn::sequential::set_parameters", "got ",
          values.size(), " arrays for ", params.size(), " parameters");
  for (std::size_t i = 0; i < params.size(); ++i) {
    expects(
        values[i].rows() == params[i]->value.rows() && values[i].cols() == params[i]->value.cols(),
        "mahal::nn::sequential::set_parameters", "parameter ", params[i]->name, " is ",
        params[i]->value.rows(), "x", params[i]->value.cols(), " but the value is ",
        values[i].rows(), "x", values[i].cols());
    be_->upload(values[i].data(), params[i]->value);
  }
}

template class sequential<float>;
template class sequential<double>;

}  // namespace mahal::nn

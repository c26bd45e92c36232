// The layers of mahal::nn over backend<T>: every operation is a backend call, so the same code
// runs on the CPU and the GPU.
#include <cmath>
#include <vector>

#include "mahal/detail/random.hpp"
#include "mahal/error.hpp"
#include "mahal/nn/layers.hpp"
#include "reusable_buffer.hpp"

namespace mahal::nn {

using buffers::reuse;

// ---- linear ------------------------------------------------------------------------------------
template <class T>
linear<T>::linear(backend<T>& be, index_t in, index_t out, bool bias)
    : in_(in), out_(out), has_bias_(bias) {
  expects(in > 0 && out > 0, "mahal::nn::linear", "sizes must be positive, got in = ", in,
          ", out = ", out);
  weight_ = {"weight", be.alloc(out, in), be.alloc(out, in)};
  if (bias) bias_ = {"bias", be.alloc(out, 1), be.alloc(out, 1)};
}

template <class T>
index_t linear<T>::output_rows(index_t input_rows) const {
  expects(input_rows == in_, "mahal::nn::linear", "input has ", input_rows,
          " rows but the layer takes ", in_);
  return out_;
}

template <class T>
void linear<T>::forward(backend<T>& be, const device_array<T>& x, device_array<T>& y) {
  be.gemm(false, false, T(1), weight_.value, x, T(0), y);
  if (has_bias_) be.add_to_cols(bias_.value, y);
}

template <class T>
void linear<T>::backward(backend<T>& be, const device_array<T>& x, const device_array<T>&,
                         const device_array<T>& dy, device_array<T>* dx) {
  be.gemm(false, true, T(1), dy, x, T(1), weight_.grad);                        // dW += dy·xᵀ
  if (has_bias_) be.add_row_sums(dy, bias_.grad);                               // db += dy·1
  if (dx != nullptr) be.gemm(true, false, T(1), weight_.value, dy, T(0), *dx);  // dx = Wᵀdy
}

template <class T>
std::vector<parameter<T>*> linear<T>::parameters() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

template <class T>
void linear<T>::reset(backend<T>& be, std::uint64_t seed) {
  detail::rng g(seed);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  auto draw = [&](device_array<T>& a) {
    std::vector<T> host(static_cast<std::size_t>(a.size()));
    for (auto& v : host) v = static_cast<T>((2 * g.uniform() - 1) * bound);
    be.upload(host.data(), a);
  };
  draw(weight_.value);
  if (has_bias_) draw(bias_.value);
}

template class linear<float>;
template class linear<double>;

// ---- relu / tanh -------------------------------------------------------------------------------
template <class T>
void relu<T>::forward(backend<T>& be, const device_array<T>& x, device_array<T>& y) {
  be.map(unary_op::relu, x, y);
}

template <class T>
void relu<T>::backward(backend<T>& be, const device_array<T>&, const device_array<T>& y,
                       const device_array<T>& dy, device_array<T>* dx) {
  if (dx != nullptr) be.map2(binary_op::relu_grad, dy, y, *dx);  // y > 0 exactly where x > 0
}

template <class T>
void tanh_layer<T>::forward(backend<T>& be, const device_array<T>& x, device_array<T>& y) {
  be.map(unary_op::tanh, x, y);
}

template <class T>
void tanh_layer<T>::backward(backend<T>& be, const device_array<T>&, const device_array<T>& y,
                             const device_array<T>& dy, device_array<T>* dx) {
  if (dx != nullptr) be.map2(binary_op::tanh_grad, dy, y, *dx);
}

template class relu<float>;
template class relu<double>;
template class tanh_layer<float>;
template class tanh_layer<double>;

// ---- l2_normalize ------------------------------------------------------------------------------
template <class T>
void l2_normalize<T>::forward(backend<T>& be, const device_array<T>& x, device_array<T>& y) {
  const index_t n = x.cols();
  inv_norm_ = reuse(be, store_[0], n, 1);
  be.col_dots(x, x, inv_norm_);
  be.map(unary_op::sqrt, inv_norm_, inv_norm_);
  be.map(unary_op::reciprocal, inv_norm_, inv_norm_);  // 0 for a zero column
  be.copy(x, y);
  be.scale_cols(inv_norm_, y);
}

template <class T>
void l2_normalize<T>::backward(backend<T>& be, const device_array<T>&, const device_array<T>& y,
                               const device_array<T>& dy, device_array<T>* dx) {
  if (dx == nullptr) return;
  const index_t n = y.cols();
  device_array<T> dots = reuse(be, store_[1], n, 1);
  be.col_dots(y, dy, dots);  // y_jᵀ dy_j
  // dx = (dy − y·diag(yᵀdy)) · diag(1/||x||); dx may alias dy, so scale a copy of y first.
  device_array<T> tmp = reuse(be, store_[2], y.rows(), n);
  be.copy(y, tmp);
  be.scale_cols(dots, tmp);
  if (dx->data() != dy.data()) be.copy(dy, *dx);
  be.axpy(T(-1), tmp, *dx);
  be.scale_cols(inv_norm_, *dx);
}

template class l2_normalize<float>;
template class l2_normalize<double>;

}  // namespace mahal::nn

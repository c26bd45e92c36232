// mahal/nn/layers.hpp — the layers of the Siamese network G_W (Bromley et al. 1993; Hadsell,
// Chopra & LeCun 2006): linear (with or without bias), ReLU, tanh and L2-normalisation.
//
// A batch is a device array with one sample per column (rows×n, as X is d×n everywhere in
// mahal). Every layer computes y = f(x) for a whole batch and, in the backward pass, the
// gradient with respect to its input and adds the gradients of its parameters into their
// `grad` arrays. A Siamese network shares its weights: the two (or three) branches are one
// batch that holds the columns of all branches, so the weights exist once and the gradient of
// every branch accumulates into the one set.
//
// The linear layer's weight W is out×in, so y = W·x (+ b) and a bias-free linear layer with no
// activation is exactly the linear map L (k×d) of a Mahalanobis metric A = LᵀL.
//
//   auto be = mahal::make_backend<float>(mahal::device::cpu);
//   mahal::nn::linear<float> fc(*be, 64, 128, /*bias=*/true);
//   fc.reset(*be, /*seed=*/0);
//   auto y = be->alloc(128, n);  fc.forward(*be, x, y);           // x 64×n
//   fc.backward(*be, x, y, dy, &dx);                               // dW, db += ...; dx = Wᵀdy
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mahal/backend.hpp"

namespace mahal::nn {

// A trainable array and its gradient (same shape, on the backend's device).
template <class T>
struct parameter {
  std::string name;       // e.g. "0.weight", "0.bias" (the layer's position in a sequential)
  device_array<T> value;  // the weights
  device_array<T> grad;   // ∂loss/∂value, accumulated by backward passes; zeroed by zero_grad
};

// One layer. Layers may keep scratch state from their last forward pass (the normaliser of
// l2_normalize), so backward must follow the forward of the same batch.
template <class T>
class layer {
 public:
  virtual ~layer() = default;
  virtual std::string kind() const = 0;  // "linear", "relu", "tanh", "l2_normalize"
  // The output's row count for an input of `input_rows` rows; throws invalid_argument when the
  // layer cannot take such input.
  virtual index_t output_rows(index_t input_rows) const = 0;
  // y = f(x): x input_rows×n, y output_rows×n (allocated by the caller).
  virtual void forward(backend<T>& be, const device_array<T>& x, device_array<T>& y) = 0;
  // Adds ∂loss/∂θ into the parameters' grad and, when dx is given, writes
  // dx = (∂y/∂x)ᵀ·dy (input_rows×n). x and y are those of the forward pass; dx may alias dy
  // for element-wise layers.
  virtual void backward(backend<T>& be, const device_array<T>& x, const device_array<T>& y,
                        const device_array<T>& dy, device_array<T>* dx) = 0;
  virtual std::vector<parameter<T>*> parameters() { return {}; }
  // Re-draws the parameters from a seeded generator (no-op for layers without parameters).
  virtual void reset(backend<T>& /*be*/, std::uint64_t /*seed*/) {}
};

// y = W·x + b, W out×in, b out×1 (absent when bias is false). reset() draws W and b uniformly
// from [−1/√in, 1/√in], the default of PyTorch's nn.Linear, from mahal's seeded generator.
template <class T>
class linear final : public layer<T> {
 public:
  linear(backend<T>& be, index_t in, index_t out, bool bias = true);
  std::string kind() const override { return "linear"; }
  index_t output_rows(index_t input_rows) const override;
  void forward(backend<T>& be, const device_array<T>& x, device_array<T>& y) override;
  void backward(backend<T>& be, const device_array<T>& x, const device_array<T>& y,
                const device_array<T>& dy, device_array<T>* dx) override;
  std::vector<parameter<T>*> parameters() override;
  void reset(backend<T>& be, std::uint64_t seed) override;

  index_t in() const { return in_; }
  index_t out() const { return out_; }
  bool has_bias() const { return has_bias_; }
  parameter<T>& weight() { return weight_; }  // out×in
  parameter<T>& bias() { return bias_; }      // out×1 (empty without bias)

 private:
  index_t in_, out_;
  bool has_bias_;
  parameter<T> weight_, bias_;
};

// y = max(x, 0).
template <class T>
class relu final : public layer<T> {
 public:
  std::string kind() const override { return "relu"; }
  index_t output_rows(index_t input_rows) const override { return input_rows; }
  void forward(backend<T>& be, const device_array<T>& x, device_array<T>& y) override;
  void backward(backend<T>& be, const device_array<T>& x, const device_array<T>& y,
                const device_array<T>& dy, device_array<T>* dx) override;
};

// y = tanh(x).
template <class T>
class tanh_layer final : public layer<T> {
 public:
  std::string kind() const override { return "tanh"; }
  index_t output_rows(index_t input_rows) const override { return input_rows; }
  void forward(backend<T>& be, const device_array<T>& x, device_array<T>& y) override;
  void backward(backend<T>& be, const device_array<T>& x, const device_array<T>& y,
                const device_array<T>& dy, device_array<T>* dx) override;
};

// y_j = x_j / ||x_j|| for each column (the unit-sphere embedding of FaceNet, Schroff et al.
// 2015); a zero column stays zero. Backward: dx_j = (dy_j − y_j·(y_jᵀdy_j)) / ||x_j|| (zero for
// a zero column). Matches PyTorch's F.normalize wherever ||x_j|| exceeds its eps (1e-12).
template <class T>
class l2_normalize final : public layer<T> {
 public:
  std::string kind() const override { return "l2_normalize"; }
  index_t output_rows(index_t input_rows) const override { return input_rows; }
  void forward(backend<T>& be, const device_array<T>& x, device_array<T>& y) override;
  void backward(backend<T>& be, const device_array<T>& x, const device_array<T>& y,
                const device_array<T>& dy, device_array<T>* dx) override;

 private:
  device_array<T> inv_norm_;  // n×1: 1 / ||x_j|| of the last forward (0 for a zero column)
  device_array<T> store_[3];  // buffers of inv_norm_, yᵀdy and the backward's scratch
};

}  // namespace mahal::nn

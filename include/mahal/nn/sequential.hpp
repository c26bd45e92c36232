// mahal/nn/sequential.hpp — a chain of layers, G_W(x) = f_L(... f_1(x)), with one parameter set.
//
// The network lives on one backend: parameters, activations of the last forward pass and the
// backward buffers are device arrays, so a training step moves only indices and a few scalars
// between host and device. A Siamese or triplet batch is one forward pass over the columns of
// every branch (the branches share W because they are the same network), and one backward pass
// accumulates every branch's gradient into the one `grad` per parameter.
//
//   auto be = mahal::make_backend<float>(mahal::device::cpu);
//   mahal::nn::sequential<float> net(*be);
//   net.add_linear(64, 128).add_relu().add_linear(128, 128).add_relu().add_linear(128, 32);
//   net.reset(/*seed=*/0);
//   const auto& Z = net.forward(Xb);     // Xb 64×n on the device → Z 32×n
//   net.zero_grad();  net.backward(dZ);   // dZ 32×n = ∂loss/∂Z
//   mahal::matrix<float> E = net.embed(X_host);  // host convenience, d×n → 32×n
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/matrix.hpp"
#include "mahal/nn/layers.hpp"

namespace mahal::nn {

template <class T>
class sequential {
 public:
  explicit sequential(backend<T>& be) : be_(&be) {}
  sequential(const sequential&) = delete;
  sequential& operator=(const sequential&) = delete;
  sequential(sequential&&) = default;
  sequential& operator=(sequential&&) = default;

  // Appends a layer; the input size must match the previous layer's output (linear layers
  // check it: throws invalid_argument naming both sizes).
  sequential& add(std::unique_ptr<layer<T>> l);
  sequential& add_linear(index_t in, index_t out, bool bias = true);
  sequential& add_relu();
  sequential& add_tanh();
  sequential& add_l2_normalize();

  // Re-draws every parameter from `seed` (layer i uses a seed derived from seed and i).
  void reset(std::uint64_t seed);

  // Z = G_W(X) for X input_dim()×n on this backend's device; the activations are kept for
  // backward. The returned array stays valid until the next forward.
  const device_array<T>& forward(const device_array<T>& X);
  // Adds ∂loss/∂W of the last forward's batch into the parameters' grad, given dZ =
  // ∂loss/∂Z (output_dim()×n). The input gradient is not computed (nothing consumes it).
  void backward(const device_array<T>& dZ);
  void zero_grad();

  std::vector<parameter<T>*> parameters();
  index_t parameter_count() const;  // number of scalars
  index_t input_dim() const;        // the first linear layer's input size (0 when none)
  index_t output_dim() const;       // the embedding size for input_dim() inputs
  std::size_t size() const { return layers_.size(); }
  layer<T>& operator[](std::size_t i) { return *layers_.at(i); }
  backend<T>& get_backend() const { return *be_; }

  // Host convenience: G_W of the columns of X (input_dim()×n) in batches of `batch` columns,
  // output_dim()×n. Does not disturb training state other than the activation buffers.
  matrix<T> embed(matrix_ref<T> X, index_t batch = 4096);

  // Host copies of the parameters (in parameters() order) and back, for tests and files.
  std::vector<matrix<T>> get_parameters();
  void set_parameters(const std::vector<matrix<T>>& values);

 private:
  backend<T>* be_;
  std::vector<std::unique_ptr<layer<T>>> layers_;
  std::vector<index_t> rows_;                 // rows of each layer's input; rows_.back() output
  std::vector<device_array<T>> activations_;  // activations_[i] = output of layer i (a view)
  std::vector<device_array<T>> storage_;      // their buffers, grown to the widest batch
  device_array<T> input_;                     // the last forward's input (a shared view)
  device_array<T> grad_a_, grad_b_;           // ping-pong backward buffers
};

}  // namespace mahal::nn

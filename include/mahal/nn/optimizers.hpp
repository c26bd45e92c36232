// mahal/nn/optimizers.hpp — first-order optimisers over a parameter set, on the device.
//
//   SGD with momentum (PyTorch's form): v = μ·v + g (+ λ·p);  p −= lr·v
//   Adam (Kingma & Ba 2015, PyTorch's arithmetic): see backend::adam_update
//
// The state (velocities, moments) lives on the parameters' backend and is created on the first
// step, one entry per parameter in the order given (pass the same list every step).
//
//   mahal::nn::adam<float> opt({.lr = 1e-3});
//   net.zero_grad();  ...backward...;  opt.step(*be, net.parameters());
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/nn/layers.hpp"

namespace mahal::nn {

template <class T>
class optimizer {
 public:
  virtual ~optimizer() = default;
  virtual std::string name() const = 0;
  // One update of every parameter from its grad. Throws invalid_argument when the list changes
  // length or shapes between steps.
  virtual void step(backend<T>& be, const std::vector<parameter<T>*>& params) = 0;
  index_t steps() const { return steps_; }

 protected:
  index_t steps_ = 0;
};

struct sgd_options {
  double lr = 0.01;           // learning rate > 0
  double momentum = 0.0;      // μ in [0, 1)
  double weight_decay = 0.0;  // λ >= 0 (L2 penalty added to the gradient)
};

template <class T>
class sgd final : public optimizer<T> {
 public:
  explicit sgd(const sgd_options& options = {});
  std::string name() const override { return "sgd"; }
  void step(backend<T>& be, const std::vector<parameter<T>*>& params) override;

 private:
  sgd_options options_;
  std::vector<device_array<T>> velocity_;
};

struct adam_options {
  double lr = 1e-3;    // > 0
  double beta1 = 0.9;  // [0, 1)
  double beta2 = 0.999;
  double eps = 1e-8;
};

template <class T>
class adam final : public optimizer<T> {
 public:
  explicit adam(const adam_options& options = {});
  std::string name() const override { return "adam"; }
  void step(backend<T>& be, const std::vector<parameter<T>*>& params) override;

 private:
  adam_options options_;
  std::vector<device_array<T>> m_, v_;
};

}  // namespace mahal::nn

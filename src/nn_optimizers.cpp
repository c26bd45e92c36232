// SGD with momentum and Adam over backend<T>: state arrays live beside the parameters.
#include <cmath>

#include "mahal/error.hpp"
#include "mahal/nn/optimizers.hpp"

namespace mahal::nn {
namespace {

template <class T>
void prepare_state(backend<T>& be, const std::vector<parameter<T>*>& params,
                   std::vector<device_array<T>>& state, const char* where) {
  if (state.empty()) {
    for (auto* p : params) state.push_back(be.alloc(p->value.rows(), p->value.cols()));
    return;
  }
  expects(state.size() == params.size(), where, "the optimiser was set up for ", state.size(),
          " parameters but got ", params.size());
  for (std::size_t i = 0; i < params.size(); ++i)
    expects(state[i].size() == params[i]->value.size(), where, "parameter ", params[i]->name,
            " changed size from ", state[i].size(), " to ", params[i]->value.size());
}

}  // namespace

template <class T>
sgd<T>::sgd(const sgd_options& options) : options_(options) {
  expects(
      options.lr > 0 && options.momentum >= 0 && options.momentum < 1 && options.weight_decay >= 0,
      "mahal::nn::sgd", "lr = ", options.lr, ", momentum = ", options.momentum,
      ", weight_decay = ", options.weight_decay);
}

template <class T>
void sgd<T>::step(backend<T>& be, const std::vector<parameter<T>*>& params) {
  const T lr = static_cast<T>(options_.lr), mu = static_cast<T>(options_.momentum);
  const T decay = static_cast<T>(options_.weight_decay);
  if (mu == T(0) && decay == T(0)) {  // plain SGD: p −= lr·g
    for (auto* p : params) be.axpy(-lr, p->grad, p->value);
    ++this->steps_;
    return;
  }
  prepare_state(be, params, velocity_, "mahal::nn::sgd::step");
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto& v = velocity_[i];
    // PyTorch: v = g on the first step, then v = μ·v + g.
    if (this->steps_ == 0) {
      be.copy(params[i]->grad, v);
    } else {
      be.scale(mu, v);
      be.axpy(T(1), params[i]->grad, v);
    }
    if (decay != T(0)) be.axpy(decay, params[i]->value, v);
    be.axpy(-lr, v, params[i]->value);
  }
  ++this->steps_;
}

template <class T>
adam<T>::adam(const adam_options& options) : options_(options) {
  expects(options.lr > 0 && options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 &&
              options.beta2 < 1 && options.eps >= 0,
          "mahal::nn::adam", "lr = ", options.lr, ", beta1 = ", options.beta1,
          ", beta2 = ", options.beta2, ", eps = ", options.eps);
}

template <class T>
void adam<T>::step(backend<T>& be, const std::vector<parameter<T>*>& params) {
  prepare_state(be, params, m_, "mahal::nn::adam::step");
  prepare_state(be, params, v_, "mahal::nn::adam::step");
  const double t = static_cast<double>(this->steps_ + 1);
  const T c1 = static_cast<T>(1 - std::pow(options_.beta1, t));
  const T c2 = static_cast<T>(1 - std::pow(options_.beta2, t));
  for (std::size_t i = 0; i < params.size(); ++i)
    be.adam_update(static_cast<T>(options_.lr), static_cast<T>(options_.beta1),
                   static_cast<T>(options_.beta2), static_cast<T>(options_.eps), c1, c2,
                   params[i]->grad, m_[i], v_[i], params[i]->value);
  ++this->steps_;
}

template class sgd<float>;
template class sgd<double>;
template class adam<float>;
template class adam<double>;

}  // namespace mahal::nn

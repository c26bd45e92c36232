// fit_siamese: the training loop of mahal::nn over backend<T>.
#include <chrono>
#include <memory>

#include "blas_threads.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/neighbors.hpp"
#include "mahal/nn/optimizers.hpp"
#include "mahal/nn/siamese.hpp"
#include "reusable_buffer.hpp"

namespace mahal::nn {

template <class T>
sequential<T> make_mlp(backend<T>& be, index_t in, const std::vector<index_t>& hidden, index_t out,
                       activation act, bool l2_output, std::uint64_t seed) {
  sequential<T> net(be);
  index_t prev = in;
  for (index_t h : hidden) {
    net.add_linear(prev, h);
    if (act == activation::relu) net.add_relu();
    if (act == activation::tanh) net.add_tanh();
    prev = h;
  }
  net.add_linear(prev, out);
  if (l2_output) net.add_l2_normalize();
  net.reset(seed);
  return net;
}

template <class T>
struct siamese_trainer<T>::state {
  sequential<T>* net;
  siamese_options options;
  class_index idx;
  backend<T>& be;
  bool mined, joint;
  std::unique_ptr<softmax_head<T>> head;
  std::unique_ptr<center_loss<T>> centers;
  std::vector<parameter<T>*> params;
  std::unique_ptr<optimizer<T>> opt;
  device_array<T> Xd;
  // Storage for the batch's distinct columns; a step uses views of it (buffers::reuse).
  device_array<label_t> cols_store;
  device_array<T> Xb_store, dZ_store, norms_store, block_store;
  device_array<T> dZ;
  loss_workspace<T> ws;
  std::vector<label_t> labels;
  detail::rng g;
  index_t steps = 0;
  // Held for the trainer's life, so that callers stepping it themselves (the step benchmarks)
  // run the way fit_siamese does.
  detail::blas_single_thread blas_guard;

  state(sequential<T>& n, label_ref y, const siamese_options& o)
      : net(&n), options(o), idx(y), be(n.get_backend()), g(o.seed),
        blas_guard(be.where() == device::cpu) {}

  // Gathers the batch's columns of X and runs the forward pass; zeroes dZ (m columns).
  const device_array<T>& embed_columns(const std::vector<label_t>& columns) {
    const index_t m = static_cast<index_t>(columns.size());
    device_array<label_t> cols = buffers::reuse_labels(be, cols_store, m, 1);
    be.upload_labels(columns.data(), cols);
    device_array<T> Xb = buffers::reuse(be, Xb_store, Xd.rows(), m);
    be.gather_cols(Xd, cols, Xb);
    const device_array<T>& Z = net->forward(Xb);
    dZ = buffers::reuse(be, dZ_store, net->output_dim(), m);
    be.fill(dZ, T(0));
    return Z;
  }

  // Sizes the batch buffers for m columns before the first step.
  void reserve(index_t m) {
    buffers::reuse_labels(be, cols_store, m, 1);
    buffers::reuse(be, Xb_store, Xd.rows(), m);
    buffers::reuse(be, dZ_store, net->output_dim(), m);
  }
};

template <class T>
siamese_trainer<T>::siamese_trainer(sequential<T>& net, matrix_ref<T> X, label_ref y,
                                    const siamese_options& options) {
  const char* where = "mahal::nn::fit_siamese";
  expects(net.size() > 0 && X.rows() == net.input_dim(), where, "X is ", X.rows(), "x", X.cols(),
          " but the network takes ", net.input_dim(), " rows");
  expects(y.size() == X.cols(), where, X.cols(), " samples but ", y.size(), " labels");
  expects(options.steps >= 0 && options.batch > 0, where, "steps = ", options.steps,
          ", batch = ", options.batch);
  check_finite<T>(X, where);
  s_ = std::make_unique<state>(net, y, options);
  state& s = *s_;
  backend<T>& be = s.be;
  const auto objective = options.objective;
  s.mined = objective == siamese_objective::triplet_hard ||
            objective == siamese_objective::triplet_semi_hard;
  s.joint = objective == siamese_objective::identification_verification ||
            objective == siamese_objective::center;
  if (s.mined)
    expects(options.per_class >= 2 && options.batch / options.per_class >= 2, where,
            "a mined batch needs per_class >= 2 and batch / per_class >= 2 classes, got batch = ",
            options.batch, ", per_class = ", options.per_class);

  const index_t classes = static_cast<index_t>(s.idx.members().size());
  if (s.joint) {
    s.head = std::make_unique<softmax_head<T>>(be, net.output_dim(), classes);
    s.head->reset(be, options.seed ^ 0x5eedULL);
    if (objective == siamese_objective::center)
      s.centers = std::make_unique<center_loss<T>>(be, net.output_dim(), classes);
  }
  s.params = net.parameters();
  if (s.head)
    for (auto* p : s.head->parameters()) s.params.push_back(p);
  if (s.centers)
    for (auto* p : s.centers->parameters()) s.params.push_back(p);

  if (options.optimizer == optimizer_kind::adam)
    s.opt = std::make_unique<adam<T>>(adam_options{.lr = options.lr});
  else
    s.opt = std::make_unique<sgd<T>>(sgd_options{.lr = options.lr, .momentum = options.momentum});
  s.Xd = to_device(be, X);

  // The most distinct columns a batch can hold: every branch's samples, at most n.
  const index_t branches = objective == siamese_objective::triplet ? 3 : s.mined ? 1 : 2;
  s.reserve(std::min<index_t>(branches * options.batch, X.cols()));
}

template <class T>
siamese_trainer<T>::~siamese_trainer() = default;

template <class T>
index_t siamese_trainer<T>::steps_done() const {
  return s_->steps;
}

template <class T>
step_result siamese_trainer<T>::step() {
  state& s = *s_;
  backend<T>& be = s.be;
  const siamese_options& options = s.options;
  const auto objective = options.objective;
  for (auto* p : s.params) be.fill(p->grad, T(0));
  step_result out;
  if (objective == siamese_objective::contrastive || s.joint) {
    const pair_batch b = balanced_pairs(s.idx, options.batch, s.g);
    const device_array<T>& Z = s.embed_columns(b.columns);
    loss_result r{};
    if (objective != siamese_objective::center)
      r = contrastive_loss(be, Z, b.pairs, b.similar, options.contrastive, &s.dZ, &s.ws);
    const double weight = s.joint ? options.lambda : 1.0;
    if (s.joint && weight != 1.0) be.scale(static_cast<T>(weight), s.dZ);
    out.loss = weight * r.loss;
    out.active = r.active;
    if (s.joint) {
      s.labels.resize(b.columns.size());
      for (std::size_t i = 0; i < s.labels.size(); ++i) s.labels[i] = s.idx.label(b.columns[i]);
      if (s.centers) {
        // L_S + λ·L_C: the center term's gradient is scaled after it is added alone.
        const auto rc = s.centers->loss(be, Z, s.labels, reduction::mean, &s.dZ);
        be.scale(static_cast<T>(options.lambda), s.dZ);
        be.scale(static_cast<T>(options.lambda), s.centers->centers().grad);
        out.loss += options.lambda * rc.loss;
      }
      out.loss += s.head->loss(be, Z, s.labels, reduction::mean, &s.dZ).loss;
    }
    out.items = options.batch;
  } else if (objective == siamese_objective::triplet) {
    const triplet_batch b = random_triplets(s.idx, options.batch, s.g);
    const device_array<T>& Z = s.embed_columns(b.columns);
    const auto r = triplet_loss(be, Z, b.triplets, options.triplet, &s.dZ, &s.ws);
    out.loss = r.loss;
    out.active = r.active;
    out.items = options.batch;
  } else {  // mined
    const pk_batch b = sample_pk(s.idx, options.batch / options.per_class, options.per_class, s.g);
    const device_array<T>& Z = s.embed_columns(b.columns);
    const index_t m = static_cast<index_t>(b.columns.size());
    device_array<T> norms = buffers::reuse(be, s.norms_store, m, 1);
    device_array<T> block = buffers::reuse(be, s.block_store, m, m);
    be.col_dots(Z, Z, norms);
    be.sqdist_block(Z, Z, norms, norms, block);
    const matrix<T> d2 = to_host(be, block);
    const triplet_list t =
        mine_triplets(d2, b.labels,
                      objective == siamese_objective::triplet_hard ? negative_mining::hard
                                                                   : negative_mining::semi_hard);
    const auto r = triplet_loss(be, Z, t, options.triplet, &s.dZ, &s.ws);
    out.loss = r.loss;
    out.active = r.active;
    out.items = static_cast<index_t>(t.size());
  }
  s.net->backward(s.dZ);
  s.opt->step(be, s.params);
  ++s.steps;
  return out;
}

template <class T>
siamese_result fit_siamese(sequential<T>& net, matrix_ref<T> X, label_ref y,
                           const siamese_options& options) {
  siamese_trainer<T> trainer(net, X, y, options);
  siamese_result result;
  index_t items = 0;
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (index_t step = 0; step < options.steps; ++step) {
    const step_result r = trainer.step();
    items += r.items;
    result.final_loss = r.loss;
    if (options.trace_every > 0 && (step + 1) % options.trace_every == 0) {
      iteration_record rec{step + 1, r.loss, options.lr, seconds(), r.active};
      result.trace.push_back(rec);
      if (options.progress) options.progress(rec);
    }
  }
  net.get_backend().synchronize();
  result.steps = options.steps;
  result.train_seconds = seconds();
  result.items_per_second = result.train_seconds > 0 ? items / result.train_seconds : 0;
  result.status = solver_status::iteration_cap;
  return result;
}

template sequential<float> make_mlp<float>(backend<float>&, index_t, const std::vector<index_t>&,
                                           index_t, activation, bool, std::uint64_t);
template sequential<double> make_mlp<double>(backend<double>&, index_t, const std::vector<index_t>&,
                                             index_t, activation, bool, std::uint64_t);
template class siamese_trainer<float>;
template class siamese_trainer<double>;
template siamese_result fit_siamese<float>(sequential<float>&, matrix_ref<float>, label_ref,
                                           const siamese_options&);
template siamese_result fit_siamese<double>(sequential<double>&, matrix_ref<double>, label_ref,
                                            const siamese_options&);

}  // namespace mahal::nn

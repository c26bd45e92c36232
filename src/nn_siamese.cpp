// fit_siamese: the training loop of mahal::nn over backend<T>.
#include <chrono>
#include <memory>

#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/neighbors.hpp"
#include "mahal/nn/optimizers.hpp"
#include "mahal/nn/siamese.hpp"

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
siamese_result fit_siamese(sequential<T>& net, matrix_ref<T> X, label_ref y,
                           const siamese_options& options) {
  const char* where = "mahal::nn::fit_siamese";
  expects(net.size() > 0 && X.rows() == net.input_dim(), where, "X is ", X.rows(), "x", X.cols(),
          " but the network takes ", net.input_dim(), " rows");
  expects(y.size() == X.cols(), where, X.cols(), " samples but ", y.size(), " labels");
  expects(options.steps >= 0 && options.batch > 0, where, "steps = ", options.steps,
          ", batch = ", options.batch);
  check_finite<T>(X, where);
  const class_index idx(y);
  backend<T>& be = net.get_backend();
  const auto objective = options.objective;
  const bool mined = objective == siamese_objective::triplet_hard ||
                     objective == siamese_objective::triplet_semi_hard;
  const bool joint = objective == siamese_objective::identification_verification ||
                     objective == siamese_objective::center;
  if (mined)
    expects(options.per_class >= 2 && options.batch / options.per_class >= 2, where,
            "a mined batch needs per_class >= 2 and batch / per_class >= 2 classes, got batch = ",
            options.batch, ", per_class = ", options.per_class);

  const index_t classes = static_cast<index_t>(idx.members().size());
  std::unique_ptr<softmax_head<T>> head;
  std::unique_ptr<center_loss<T>> centers;
  if (joint) {
    head = std::make_unique<softmax_head<T>>(be, net.output_dim(), classes);
    head->reset(be, options.seed ^ 0x5eedULL);
    if (objective == siamese_objective::center)
      centers = std::make_unique<center_loss<T>>(be, net.output_dim(), classes);
  }
  std::vector<parameter<T>*> params = net.parameters();
  if (head)
    for (auto* p : head->parameters()) params.push_back(p);
  if (centers)
    for (auto* p : centers->parameters()) params.push_back(p);

  std::unique_ptr<optimizer<T>> opt;
  if (options.optimizer == optimizer_kind::adam)
    opt = std::make_unique<adam<T>>(adam_options{.lr = options.lr});
  else
    opt = std::make_unique<sgd<T>>(sgd_options{.lr = options.lr, .momentum = options.momentum});

  const device_array<T> Xd = to_device(be, X);
  device_array<label_t> cols_d;
  device_array<T> Xb, dZ, norms, block;
  detail::rng g(options.seed);
  siamese_result result;
  index_t items = 0;
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  auto embed_columns = [&](const std::vector<label_t>& columns) -> const device_array<T>& {
    const index_t m = static_cast<index_t>(columns.size());
    if (cols_d.size() != m) cols_d = be.alloc_labels(m, 1);
    be.upload_labels(columns.data(), cols_d);
    if (Xb.cols() != m) Xb = be.alloc(X.rows(), m);
    be.gather_cols(Xd, cols_d, Xb);
    const device_array<T>& Z = net.forward(Xb);
    if (dZ.cols() != m) dZ = be.alloc(Z.rows(), m);
    be.fill(dZ, T(0));
    return Z;
  };

  for (index_t step = 0; step < options.steps; ++step) {
    for (auto* p : params) be.fill(p->grad, T(0));
    double loss = 0;
    index_t active = 0;
    if (objective == siamese_objective::contrastive || joint) {
      const pair_batch b = balanced_pairs(idx, options.batch, g);
      const device_array<T>& Z = embed_columns(b.columns);
      contrastive_options copt = options.contrastive;
      loss_result r{};
      if (objective != siamese_objective::center)
        r = contrastive_loss(be, Z, b.pairs, b.similar, copt, &dZ);
      const double weight = joint ? options.lambda : 1.0;
      if (joint && weight != 1.0) be.scale(static_cast<T>(weight), dZ);
      loss = weight * r.loss;
      active = r.active;
      if (joint) {
        std::vector<label_t> labels(b.columns.size());
        for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = idx.label(b.columns[i]);
        if (centers) {
          // L_S + λ·L_C: the center term's gradient is scaled after it is added alone.
          const auto rc = centers->loss(be, Z, labels, reduction::mean, &dZ);
          be.scale(static_cast<T>(options.lambda), dZ);
          be.scale(static_cast<T>(options.lambda), centers->centers().grad);
          loss += options.lambda * rc.loss;
        }
        loss += head->loss(be, Z, labels, reduction::mean, &dZ).loss;
      }
      items += options.batch;
    } else if (objective == siamese_objective::triplet) {
      const triplet_batch b = random_triplets(idx, options.batch, g);
      const device_array<T>& Z = embed_columns(b.columns);
      const auto r = triplet_loss(be, Z, b.triplets, options.triplet, &dZ);
      loss = r.loss;
      active = r.active;
      items += options.batch;
    } else {  // mined
      const pk_batch b = sample_pk(idx, options.batch / options.per_class, options.per_class, g);
      const device_array<T>& Z = embed_columns(b.columns);
      const index_t m = static_cast<index_t>(b.columns.size());
      if (norms.size() != m) norms = be.alloc(m, 1);
      if (block.rows() != m) block = be.alloc(m, m);
      be.col_dots(Z, Z, norms);
      be.sqdist_block(Z, Z, norms, norms, block);
      const matrix<T> d2 = to_host(be, block);
      const triplet_list t =
          mine_triplets(d2, b.labels,
                        objective == siamese_objective::triplet_hard ? negative_mining::hard
                                                                     : negative_mining::semi_hard);
      const auto r = triplet_loss(be, Z, t, options.triplet, &dZ);
      loss = r.loss;
      active = r.active;
      items += static_cast<index_t>(t.size());
    }
    net.backward(dZ);
    opt->step(be, params);
    result.final_loss = loss;
    if (options.trace_every > 0 && (step + 1) % options.trace_every == 0) {
      iteration_record rec{step + 1, loss, options.lr, seconds(), active};
      result.trace.push_back(rec);
      if (options.progress) options.progress(rec);
    }
  }
  be.synchronize();
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
template siamese_result fit_siamese<float>(sequential<float>&, matrix_ref<float>, label_ref,
                                           const siamese_options&);
template siamese_result fit_siamese<double>(sequential<double>&, matrix_ref<double>, label_ref,
                                            const siamese_options&);

}  // namespace mahal::nn

// mahal fit --algo siamese | triplet | triplet-hard: a Siamese network G_W trained with the
// contrastive loss (Hadsell, Chopra & LeCun, CVPR 2006) or a triplet network with FaceNet's
// loss (Schroff et al., CVPR 2015).
//
// Defaults (the protocol of the benchmarks): MLP d → 128 → ReLU → 128 → ReLU → 32 in single
// precision, Adam with learning rate 1e-3, 2000 steps of 256 pairs (or triplets); contrastive
// margin 1; triplet margin α = 0.2 on L2-normalised embeddings. --hidden, --embedding-dim,
// --activation, --precision, --steps, --batch, --margin, --lr and --seed override them; --seed
// draws both the initial weights and the batches.
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <sstream>

#include "fit.hpp"
#include "mahal/nn/serialization.hpp"
#include "mahal/nn/siamese.hpp"

namespace mahal::cli {
namespace {

template <class T>
fit_outcome fit_network(nn::siamese_objective objective, const std::string& algo,
                        const fit_command_options& o, const matrix<double>& X,
                        const label_vector& y) {
  std::shared_ptr<backend<T>> be = make_backend<T>(parse_device(o.common.backend));
  const bool pairs = objective == nn::siamese_objective::contrastive;
  const nn::activation act = o.activation == "tanh" ? nn::activation::tanh : nn::activation::relu;
  auto net = std::make_shared<nn::sequential<T>>(
      nn::make_mlp<T>(*be, X.rows(), *parse_hidden_widths(o.hidden), o.embedding_dim, act,
                      /*l2_output=*/!pairs, o.seed));
  nn::siamese_options options;
  options.objective = objective;
  if (o.steps > 0) options.steps = o.steps;
  if (o.batch > 0) options.batch = o.batch;
  if (o.learning_rate > 0) options.lr = o.learning_rate;
  if (o.margin > 0) {
    options.contrastive.margin = o.margin;
    options.triplet.alpha = o.margin;
  }
  options.seed = o.seed;
  options.trace_every = std::max<index_t>(1, options.steps / 20);
  options.progress = stderr_progress("mahal fit " + algo, o.common);
  const matrix<T> Xt = X.cast<T>();
  const std::clock_t cpu_start = std::clock();
  const nn::siamese_result r = nn::fit_siamese<T>(*net, Xt, y, options);
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;

  fit_outcome outcome;
  json& report = outcome.report;
  report["steps"] = r.steps;
  report["batch"] = options.batch;
  report[pairs ? "pairs_per_second" : "triplets_per_second"] = r.items_per_second;
  report["loop_seconds"] = r.train_seconds;   // the training loop alone (wall clock)
  report["train_cpu_seconds"] = cpu_seconds;  // its process CPU time (all threads)
  report["steps_per_second"] = r.train_seconds > 0 ? r.steps / r.train_seconds : 0.0;
  report["final_loss"] = r.final_loss;
  report["margin"] = pairs ? options.contrastive.margin : options.triplet.alpha;
  report["lr"] = options.lr;
  report["layers"] = nn::describe_layers(*net);
  report["parameters"] = net->parameter_count();
  report["precision"] = o.precision;
  report["status"] = to_string(r.status);
  report["backend"] = be->name();
  outcome.embed = [be, net](const matrix<double>& Z) {
    return net->embed(Z.cast<T>()).template cast<double>().eval();
  };
  outcome.save = [be, net, algo](const std::string& path, const standardizer<double>* scaler) {
    nn::save_network(path, *net, scaler, {{"algo", algo}});
  };
  return outcome;
}

fit_outcome fit_network_in_precision(nn::siamese_objective objective, const std::string& algo,
                                     const fit_command_options& o, const matrix<double>& X,
                                     const label_vector& y) {
  return o.precision == "double" ? fit_network<double>(objective, algo, o, X, y)
                                 : fit_network<float>(objective, algo, o, X, y);
}

}  // namespace

std::optional<std::vector<index_t>> parse_hidden_widths(const std::string& text) {
  std::vector<index_t> widths;
  if (text == "none") return widths;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    errno = 0;
    const long long w = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno != 0 || w <= 0 || w > (1 << 20)) return std::nullopt;
    widths.push_back(static_cast<index_t>(w));
  }
  if (widths.empty() || text.back() == ',') return std::nullopt;
  return widths;
}

void register_siamese_algorithms(fit_registry& registry) {
  registry["siamese"] = [](auto& o, auto& X, auto& y) {
    return fit_network_in_precision(nn::siamese_objective::contrastive, "siamese", o, X, y);
  };
  registry["triplet"] = [](auto& o, auto& X, auto& y) {
    return fit_network_in_precision(nn::siamese_objective::triplet, "triplet", o, X, y);
  };
  registry["triplet-hard"] = [](auto& o, auto& X, auto& y) {
    return fit_network_in_precision(nn::siamese_objective::triplet_hard, "triplet-hard", o, X, y);
  };
}

}  // namespace mahal::cli

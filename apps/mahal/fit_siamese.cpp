// mahal fit --algo siamese | triplet | triplet-hard | triplet-semi-hard | softmax-contrastive |
// softmax-center: a network G_W trained with
//   siamese              the contrastive loss on balanced random pairs (Hadsell, Chopra & LeCun,
//                        CVPR 2006; --contrastive-form unsquared: Simo-Serra et al., ICCV 2015);
//   triplet              FaceNet's loss on random triplets (Schroff et al., CVPR 2015);
//   triplet-hard / -semi-hard   the same loss on P×K batches with the hardest (semi-hard)
//                        negative of each anchor-positive pair mined in the batch;
//   softmax-contrastive  identification + λ·verification: a softmax classifier on the
//                        embedding plus λ·contrastive on balanced pairs (DeepID2, Sun et al. 2014);
//   softmax-center       softmax + λ·center loss on the pairs' samples (Wen et al., ECCV 2016).
// The softmax head and the class centres serve training only; the model file keeps G_W.
//
// Defaults (the protocol of the benchmarks): MLP d → 128 → ReLU → 128 → ReLU → 32 in single
// precision (L2-normalised output for the triplet losses), Adam with learning rate 1e-3, 2000
// steps of 256 pairs (or triplets; P×K batches of 256 samples, K = 8); contrastive margin 1;
// triplet margin α = 0.2; λ = 1. --hidden, --embedding-dim, --activation, --precision, --steps,
// --batch, --margin, --lr, --optimizer, --momentum, --per-class, --lambda, --contrastive-form
// and --seed override them; --seed draws both the initial weights and the batches.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

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
  const bool triplets = objective == nn::siamese_objective::triplet ||
                        objective == nn::siamese_objective::triplet_hard ||
                        objective == nn::siamese_objective::triplet_semi_hard;
  const nn::activation act = o.activation == "tanh" ? nn::activation::tanh : nn::activation::relu;
  auto net = std::make_shared<nn::sequential<T>>(
      nn::make_mlp<T>(*be, X.rows(), *parse_hidden_widths(o.hidden), o.embedding_dim, act,
                      /*l2_output=*/triplets, o.seed));
  nn::siamese_options options;
  options.objective = objective;
  if (o.steps > 0) options.steps = o.steps;
  if (o.batch > 0) options.batch = o.batch;
  if (o.learning_rate > 0) options.lr = o.learning_rate;
  if (o.margin > 0) {
    options.contrastive.margin = o.margin;
    options.triplet.alpha = o.margin;
  }
  options.contrastive.form = o.contrastive_form == "unsquared" ? nn::contrastive_form::unsquared
                                                               : nn::contrastive_form::squared;
  options.optimizer = o.optimizer == "sgd" ? nn::optimizer_kind::sgd : nn::optimizer_kind::adam;
  options.momentum = o.momentum;
  options.per_class = o.per_class;
  options.lambda = o.lambda;
  options.seed = o.seed;
  const bool mined = objective == nn::siamese_objective::triplet_hard ||
                     objective == nn::siamese_objective::triplet_semi_hard;
  if (mined && o.common.verbose > 0) {
    // P = batch / K classes a batch: fewer classes with two members make smaller batches.
    std::map<label_t, index_t> members;
    for (index_t i = 0; i < y.size(); ++i) ++members[y(i)];
    const index_t usable =
        std::count_if(members.begin(), members.end(), [](const auto& m) { return m.second >= 2; });
    const index_t P = options.batch / options.per_class;
    if (usable < P)
      std::fprintf(stderr,
                   "mahal fit %s: warning: a batch asks for %lld classes of %lld samples, but "
                   "only %lld classes have two or more; batches hold at most %lld samples, not "
                   "%lld (raise --per-class for larger batches)\n",
                   algo.c_str(), static_cast<long long>(P),
                   static_cast<long long>(options.per_class), static_cast<long long>(usable),
                   static_cast<long long>(usable * options.per_class),
                   static_cast<long long>(options.batch));
  }
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
  report[triplets ? "triplets_per_second" : "pairs_per_second"] = r.items_per_second;
  report["loop_seconds"] = r.train_seconds;   // the training loop alone (wall clock)
  report["train_cpu_seconds"] = cpu_seconds;  // its process CPU time (all threads)
  report["steps_per_second"] = r.train_seconds > 0 ? r.steps / r.train_seconds : 0.0;
  report["final_loss"] = r.final_loss;
  if (objective != nn::siamese_objective::center)
    report["margin"] = triplets ? options.triplet.alpha : options.contrastive.margin;
  report["lr"] = options.lr;
  report["optimizer"] = o.optimizer;
  if (options.optimizer == nn::optimizer_kind::sgd) report["momentum"] = options.momentum;
  const bool joint = objective == nn::siamese_objective::identification_verification ||
                     objective == nn::siamese_objective::center;
  if (joint) report["lambda"] = options.lambda;
  if (objective == nn::siamese_objective::contrastive ||
      objective == nn::siamese_objective::identification_verification)
    report["contrastive_form"] = o.contrastive_form;
  if (mined) report["per_class"] = options.per_class;
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
  const std::pair<const char*, nn::siamese_objective> networks[] = {
      {"siamese", nn::siamese_objective::contrastive},
      {"triplet", nn::siamese_objective::triplet},
      {"triplet-hard", nn::siamese_objective::triplet_hard},
      {"triplet-semi-hard", nn::siamese_objective::triplet_semi_hard},
      {"softmax-contrastive", nn::siamese_objective::identification_verification},
      {"softmax-center", nn::siamese_objective::center}};
  for (const auto& [name, objective] : networks) {
    registry[name] = [name = std::string(name), objective = objective](auto& o, auto& X, auto& y) {
      return o.precision == "double" ? fit_network<double>(objective, name, o, X, y)
                                     : fit_network<float>(objective, name, o, X, y);
    };
  }
}

}  // namespace mahal::cli

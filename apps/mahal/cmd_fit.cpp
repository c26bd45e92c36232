// mahal fit: learn a metric (or a network) from a labelled CSV, report, optionally test with
// k-NN in the learned space and save the model.
#include <algorithm>
#include <tuple>
#include <vector>

#include "fit.hpp"
#include "mahal/error.hpp"
#include "mahal/metric_io.hpp"
#include "mahal/neighbors.hpp"
#include "mahal/standardizer.hpp"

namespace mahal::cli {
namespace {

const fit_registry& registry() {
  static const fit_registry table = [] {
    fit_registry r;
    register_mmc_algorithms(r);
    register_lmnn_algorithms(r);
    register_siamese_algorithms(r);
    return r;
  }();
  return table;
}

std::vector<std::string> algorithm_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

bool init_is_file(const std::string& init) { return init != "identity" && init != "pca"; }

// Options that only some algorithms read: given to another one they would be ignored, and the
// user would believe, say, that --rank 2 had reduced the dimension.
void check_options_apply(const fit_command_options& o) {
  using names = std::vector<std::string>;
  const names mmc = {"mmc", "mmc-diag", "mmc-l"}, lmnn = {"lmnn"}, ranked = {"lmnn", "mmc-l"},
              diagonal = {"mmc-diag"}, solvers = {"mmc", "mmc-diag", "mmc-l", "lmnn"},
              networks = {"siamese",
                          "triplet",
                          "triplet-hard",
                          "triplet-semi-hard",
                          "softmax-contrastive",
                          "softmax-center"},
              margin = {"siamese", "triplet", "triplet-hard", "triplet-semi-hard",
                        "softmax-contrastive"},
              contrastive = {"siamese", "softmax-contrastive"},
              mined = {"triplet-hard", "triplet-semi-hard"},
              joint = {"softmax-contrastive", "softmax-center"};
  // LMNN's sgd solver and the networks take a step size and a batch.
  names stepped = networks;
  stepped.push_back("lmnn");
  const fit_command_options unset;  // every option at its default
  const std::tuple<const char*, bool, const names&> rules[] = {
      {"--init", o.init != unset.init, lmnn},
      {"--rank", o.rank != unset.rank, ranked},
      {"--mode", o.mode != unset.mode, mmc},
      {"--solver", o.solver != unset.solver, lmnn},
      {"--impostors", o.impostors != unset.impostors, lmnn},
      {"--search-every", o.search_every != unset.search_every, lmnn},
      {"--stale-check", o.stale_check != unset.stale_check, lmnn},
      {"--mu", o.mu != unset.mu, lmnn},
      {"--hinge", o.hinge != unset.hinge, lmnn},
      {"--C", o.C != unset.C, diagonal},
      {"--similar / --dissimilar", o.similar != unset.similar || o.dissimilar != unset.dissimilar,
       mmc},
      {"--similar-pairs / --dissimilar-pairs",
       o.similar_pairs != unset.similar_pairs || o.dissimilar_pairs != unset.dissimilar_pairs, mmc},
      {"--max-iter", o.max_iter != unset.max_iter, solvers},
      {"--tol", o.tol != unset.tol, solvers},
      {"--steps", o.steps != unset.steps, networks},
      {"--batch", o.batch != unset.batch, stepped},
      {"--margin", o.margin != unset.margin, margin},
      {"--lr", o.learning_rate != unset.learning_rate, stepped},
      {"--hidden", o.hidden != unset.hidden, networks},
      {"--embedding-dim", o.embedding_dim != unset.embedding_dim, networks},
      {"--activation", o.activation != unset.activation, networks},
      {"--precision", o.precision != unset.precision, networks},
      {"--optimizer", o.optimizer != unset.optimizer, networks},
      {"--momentum", o.momentum != unset.momentum, networks},
      {"--per-class", o.per_class != unset.per_class, mined},
      {"--lambda", o.lambda != unset.lambda, joint},
      {"--contrastive-form", o.contrastive_form != unset.contrastive_form, contrastive}};
  for (const auto& [option, given, algos] : rules) {
    if (!given) continue;
    std::string list;
    for (const auto& a : algos) list += (list.empty() ? "" : ", ") + a;
    expects(std::find(algos.begin(), algos.end(), o.algo) != algos.end(), "mahal fit", option,
            " applies to --algo ", list, " only, not ", o.algo);
  }
  expects(o.dissimilar_pairs.empty() || !o.similar_pairs.empty(), "mahal fit",
          "--dissimilar-pairs needs --similar-pairs");
  expects(o.similar_pairs.empty() || (o.similar == 0 && o.dissimilar == 0), "mahal fit",
          "pairs are read from --similar-pairs or sampled with --similar / --dissimilar, not both");
  expects(o.momentum == unset.momentum || o.optimizer == "sgd", "mahal fit",
          "--momentum applies to --optimizer sgd only, not ", o.optimizer);
  // LMNN reads a learning rate and a batch in its stochastic solver only.
  expects(o.algo != "lmnn" || o.solver == "sgd" ||
              (o.learning_rate == unset.learning_rate && o.batch == unset.batch),
          "mahal fit", "--lr and --batch apply to lmnn with --solver sgd only");
}

CLI::Validator hidden_widths() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (parse_hidden_widths(value)) return {};
        return "must be none or positive widths separated by commas, got " + value;
      },
      "W1,W2,...|none");
}

void run_fit(fit_command_options o) {
  check_options_apply(o);
  const labelled_data<double> train = load_data(o.train, o.data);
  const bool labelled = train.y.size() > 0;
  expects(labelled || !o.similar_pairs.empty(), "mahal fit", o.train,
          " has no labels: a .npy training set needs side information as pairs "
          "(--similar-pairs, mmc)");
  expects(labelled || o.test.empty(), "mahal fit",
          "--test scores k-NN with the training labels, which ", o.train, " does not have");
  matrix<double> X = train.X;
  std::optional<standardizer<double>> scaler;
  if (init_is_file(o.init)) {
    // A warm start continues in the frame the earlier L was learned in: its standardisation
    // (or none), not this data's statistics.
    saved_metric earlier = load_metric(o.init);
    expects(earlier.dim() == X.rows(), "mahal fit", "--init ", o.init, " acts on ", earlier.dim(),
            " features but ", o.train, " has ", X.rows());
    o.init_L = earlier.learned.L();
    scaler = std::move(earlier.preprocessing);
    o.standardize = scaler.has_value();
  } else if (o.standardize) {
    scaler = standardizer<double>::fit(X);
  }
  if (scaler) X = scaler->apply(X);
  if (o.common.verbose)
    std::fprintf(stderr, "mahal fit: %s on %s (%lld samples, %lld features)\n", o.algo.c_str(),
                 o.train.c_str(), static_cast<long long>(X.cols()),
                 static_cast<long long>(X.rows()));
  stopwatch clock;
  fit_outcome outcome = registry().at(o.algo)(o, X, train.y);
  const double train_seconds = clock.seconds();

  json report;
  report["algo"] = o.algo;
  report["train_seconds"] = train_seconds;
  for (const auto& [key, value] : outcome.report.items()) report[key] = value;
  report["n_train"] = X.cols();
  report["dim"] = X.rows();
  report["standardized"] = o.standardize;
  if (!o.test.empty()) {
    const labelled_data<double> test = load_labelled(o.test, o.data);
    expects(test.X.rows() == train.X.rows(), "mahal fit", o.test, " has ", test.X.rows(),
            " features but ", o.train, " has ", train.X.rows());
    const matrix<double> Xt = scaler ? scaler->apply(test.X) : test.X;
    const matrix<double> Ztr = outcome.embed(X), Zte = outcome.embed(Xt);
    auto be = make_backend<double>(parse_device(o.common.backend));
    report["test_accuracy"] = knn_accuracy<double>(*be, metric<double>::identity(Ztr.rows()), Ztr,
                                                   train.y, Zte, test.y, o.k);
    report["test_k"] = o.k;
    report["n_test"] = Xt.cols();
  }
  if (!o.out.empty()) {
    outcome.save(o.out, scaler ? &*scaler : nullptr);
    report["model"] = o.out;
  }
  emit(report, o.common);
}

}  // namespace

void add_fit_command(CLI::App& app) {
  auto o = std::make_shared<fit_command_options>();
  CLI::App* sub = app.add_subcommand("fit", "Learn a metric or a Siamese network from labels");
  sub->add_option("--algo", o->algo, "Algorithm")
      ->required()
      ->check(CLI::IsMember(algorithm_names()));
  sub->add_option("--train", o->train,
                  "Training CSV (label column + features), or .npy (n x d) with --similar-pairs")
      ->required();
  sub->add_option("--test", o->test, "Test CSV: report k-NN accuracy in the learned space");
  sub->add_option("--out", o->out, "Save the learned model here");
  sub->add_flag("--standardize,!--no-standardize", o->standardize,
                "z-score features with training statistics (default on; kept in the model)");
  sub->add_option("--mode", o->mode, "mmc: fast (default) or reference (the published code)")
      ->check(CLI::IsMember({"fast", "reference"}));
  sub->add_option("--solver", o->solver, "lmnn: lbfgs (default), sgd or m-space")
      ->check(CLI::IsMember({"lbfgs", "sgd", "m-space"}));
  sub->add_option("--k", o->k, "lmnn target neighbours and the test k-NN's k")
      ->capture_default_str()
      ->check(positive());
  sub->add_option("--rank", o->rank, "Rows of L (0 = d)")
      ->capture_default_str()
      ->check(non_negative());
  sub->add_option("--impostors", o->impostors,
                  "lmnn: only the K nearest impostors of each point (0 = all; mlpack uses k)")
      ->capture_default_str()
      ->check(non_negative());
  sub->add_option("--search-every", o->search_every,
                  "lmnn: most iterations between full impostor searches (0 = 20)")
      ->check(non_negative());
  sub->add_flag("--stale-check", o->stale_check,
                "lmnn: also search when a bound on the change of L says the impostors may be "
                "stale (more searches; steadier on large, overlapping data)");
  sub->add_option("--mu", o->mu, "lmnn: weight of the push (impostor) term; 1 - mu weighs the pull")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--hinge", o->hinge, "lmnn: linear (the paper) or squared (LMNN 3.0, pylmnn)")
      ->capture_default_str()
      ->check(CLI::IsMember({"linear", "squared"}));
  sub->add_option("--max-iter", o->max_iter, "Iteration cap (0 = the solver's default)")
      ->check(non_negative());
  sub->add_option("--tol", o->tol, "Stopping tolerance (0 = the solver's default)")
      ->check(non_negative());
  sub->add_option("--C", o->C, "mmc-diag: weight of the log term")->capture_default_str();
  sub->add_option("--similar", o->similar,
                  "mmc: sampled same-class pairs S (0 = every same-class pair)")
      ->check(non_negative());
  sub->add_option("--dissimilar", o->dissimilar,
                  "mmc: sampled different-class pairs D (0 = every pair not in S, implicit)")
      ->check(non_negative());
  sub->add_option("--similar-pairs", o->similar_pairs,
                  "mmc: similar pairs S from a CSV of 0-based training rows i,j (labels unused)");
  sub->add_option("--dissimilar-pairs", o->dissimilar_pairs,
                  "mmc: dissimilar pairs D likewise (default: every pair not in S, implicit)");
  sub->add_option("--seed", o->seed, "Seed for sampling")->capture_default_str();
  sub->add_option("--steps", o->steps, "networks: training steps (0 = 2000)")
      ->check(non_negative());
  sub->add_option("--batch", o->batch,
                  "networks: pairs or triplets per step (mined triplets: the samples of a P x K "
                  "batch; 0 = 256); lmnn sgd: anchors per mini-batch (0 = 512)")
      ->check(non_negative());
  sub->add_option("--margin", o->margin,
                  "networks: margin (contrastive; 0 = 1) or alpha (triplet; 0 = 0.2)")
      ->check(non_negative());
  sub->add_option("--lr", o->learning_rate, "networks / lmnn sgd: learning rate (0 = the default)")
      ->check(non_negative());
  sub->add_option("--hidden", o->hidden,
                  "networks: hidden layer widths, comma-separated (none: a linear map)")
      ->capture_default_str()
      ->check(hidden_widths());
  sub->add_option("--embedding-dim", o->embedding_dim, "networks: dimension of the embedding")
      ->capture_default_str()
      ->check(positive());
  sub->add_option("--activation", o->activation, "networks: activation of the hidden layers")
      ->capture_default_str()
      ->check(CLI::IsMember({"relu", "tanh"}));
  sub->add_option("--precision", o->precision, "networks: scalar type of the network")
      ->capture_default_str()
      ->check(CLI::IsMember({"float", "double"}));
  sub->add_option("--optimizer", o->optimizer, "networks: adam or sgd (with momentum)")
      ->capture_default_str()
      ->check(CLI::IsMember({"adam", "sgd"}));
  sub->add_option("--momentum", o->momentum, "networks: SGD momentum (with --optimizer sgd)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999999));
  sub->add_option("--per-class", o->per_class,
                  "triplet-hard, triplet-semi-hard: samples per class of a P x K batch "
                  "(--batch samples in all)")
      ->capture_default_str()
      ->check(CLI::Range(index_t{2}, index_t{1} << 30));
  sub->add_option("--lambda", o->lambda,
                  "softmax-contrastive, softmax-center: weight of the contrastive or center term")
      ->capture_default_str()
      ->check(non_negative());
  sub->add_option("--contrastive-form", o->contrastive_form,
                  "siamese, softmax-contrastive: squared (Hadsell et al.) or unsquared "
                  "(Simo-Serra et al.) terms")
      ->capture_default_str()
      ->check(CLI::IsMember({"squared", "unsquared"}));
  sub->add_option("--init", o->init,
                  "lmnn: initial L: identity, pca, or a metric file (mahal fit --out) to continue "
                  "from, in that file's standardisation")
      ->capture_default_str();
  sub->add_option("--label-column", o->data.label_column, "Name of the label column")
      ->capture_default_str();
  add_common_options(*sub, o->common);
  sub->callback([o] { run_fit(*o); });
}

}  // namespace mahal::cli

namespace mahal::cli {

fit_outcome metric_outcome(const metric<double>& learned, json report, const std::string& algo) {
  fit_outcome outcome;
  outcome.report = std::move(report);
  outcome.embed = [learned](const matrix<double>& X) { return learned.transform(X); };
  outcome.save = [learned, algo](const std::string& path, const standardizer<double>* scaler) {
    save_metric(path, learned, scaler, {{"algo", algo}});
  };
  return outcome;
}

}  // namespace mahal::cli

// The `mahal fit` subcommand: shared options, and the table of algorithms it dispatches to.
// Each family of solvers registers its algorithms from its own file (fit_mmc.cpp, ...).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "mahal/matrix.hpp"
#include "mahal/metric.hpp"
#include "mahal/standardizer.hpp"

namespace mahal::cli {

struct fit_command_options {
  common_options common;
  data_options data;
  std::string algo, train, test, out;
  bool standardize = true;              // z-score with training statistics (stored in the model)
  std::string mode = "fast";            // mmc: fast | reference
  std::string solver;                   // lmnn: lbfgs | sgd | m-space
  index_t k = 3;                        // lmnn target neighbours; k of the test k-NN
  index_t rank = 0;                     // rows of L (0 = d)
  index_t impostors = 0;                // lmnn: K nearest impostors per point (0 = all, the paper)
  index_t search_every = 0;             // lmnn: iterations between impostor searches (0 = 20)
  bool stale_check = false;             // lmnn: also search when the staleness bound fires
  double mu = 0.5;                      // lmnn: weight of the push term
  std::string hinge = "linear";         // lmnn: linear | squared
  index_t max_iter = 0;                 // 0 = the solver's default
  double tol = 0;                       // 0 = the solver's default
  double C = 1;                         // mmc-diag: weight of the log term
  index_t similar = 0, dissimilar = 0;  // mmc: sampled pairs (0 = all same-class pairs, D implicit)
  std::string similar_pairs, dissimilar_pairs;  // mmc: side information as pair files (i,j rows)
  std::uint64_t seed = 0;
  index_t steps = 0;                // networks: training steps (0 = default)
  index_t batch = 0;                // networks: batch size; lmnn sgd: anchors (0 = default)
  double margin = 0;                // networks: margin or alpha (0 = default)
  double learning_rate = 0;         // networks, lmnn sgd (0 = default)
  std::string hidden = "128,128";   // networks: hidden layer widths ("none": a linear map)
  index_t embedding_dim = 32;       // networks: dimension of the embedding
  std::string activation = "relu";  // networks: relu | tanh
  std::string precision = "float";  // networks: float | double
  std::string optimizer = "adam";   // networks: adam | sgd
  double momentum = 0.9;            // networks: SGD momentum
  index_t per_class = 8;            // mined triplets: samples per class in a P×K batch
  double lambda = 1;                // softmax-*: weight of the contrastive or center term
  std::string contrastive_form = "squared";  // contrastive losses: squared | unsquared
  std::string init = "identity";  // lmnn: identity | pca | a metric file to continue from
  matrix<double> init_L;          // the L of that metric file (set by run_fit)
};

// What an algorithm hands back: its report keys, the map of (standardised) data into the
// learned space, and how to save the model.
struct fit_outcome {
  json report;
  std::function<matrix<double>(const matrix<double>&)> embed;
  std::function<void(const std::string& path, const standardizer<double>* scaler)> save;
};

using fit_algorithm = std::function<fit_outcome(const fit_command_options&, const matrix<double>& X,
                                                const label_vector& y)>;

// name → algorithm; each registration function adds its family.
using fit_registry = std::map<std::string, fit_algorithm>;
void register_mmc_algorithms(fit_registry& registry);
void register_lmnn_algorithms(fit_registry& registry);
// siamese, triplet, triplet-hard, triplet-semi-hard, softmax-contrastive, softmax-center
void register_siamese_algorithms(fit_registry& registry);

// The outcome of an algorithm that learns a linear metric: embed = L·x, save = metric file.
fit_outcome metric_outcome(const metric<double>& learned, json report, const std::string& algo);

// --hidden: "none" (no hidden layer) or positive widths separated by commas; nullopt otherwise.
std::optional<std::vector<index_t>> parse_hidden_widths(const std::string& text);

void add_fit_command(CLI::App& app);

}  // namespace mahal::cli

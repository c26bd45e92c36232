// mahal verify: face-verification style evaluation of an embedding (a metric or a network file;
// without --model the Euclidean metric, z-scored with the gallery's statistics when
// --standardize) with a gallery of enrolled samples and a set of labelled probes.
//
// Protocol. The gallery CSV's samples are enrolled under their labels (mahal::gallery). Every
// probe is scored against every enrolled class: the score of (probe x, class c) is the distance
// score of verification.hpp (--score min: the distance from G(x) to the nearest enrolled sample
// of c; mean; knn with --k) between embeddings. A trial is genuine when c is the probe's
// own label and an impostor trial otherwise, so P probes and C enrolled classes give up to P
// genuine and P·(C−1) impostor trials (a probe whose class is not enrolled gives C impostor
// trials only: an open-set impostor). From these trials: the ROC (accept when score <=
// threshold), its area (auc), the equal error rate (eer), the TAR at --far, and the accuracy at
// the threshold that maximises it over these same trials (an optimistic, oracle threshold:
// report it as such). kfold_accuracy is the honest counterpart, the LFW protocol: the probes are
// shuffled (--seed) and dealt into --folds folds, all trials of a probe in one fold, and each
// fold is tested with the best-accuracy threshold of the others (mean and standard deviation
// over the folds). identification_accuracy is the rank-1 closed-set figure: the fraction of
// probes with an enrolled class whose nearest class (smallest score) is their own. Gallery and
// probes should be disjoint samples.
//
// Decisions. With --claims F, every row of F (the label column holds the claimed class) is
// answered yes or no: accepted when its score against the claimed class is at most the
// threshold. The threshold comes from the labelled probes' trials (--threshold accuracy, eer or
// far, the last at --far) or is given as a number; --per-class scales it by each class's spread
// (verification.hpp). --decisions-out writes one CSV line per claim.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <numeric>

#include "cli.hpp"
#include "embedding_model.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/error.hpp"
#include "mahal/verification.hpp"

namespace mahal::cli {
namespace {

struct verify_command_options {
  common_options common;
  data_options data;
  std::string model, gallery_path, probes_path, roc_out;
  std::string score = "min";
  bool standardize = false;  // without a model: z-score with the gallery's statistics
  index_t k = 3;
  double far = 1e-3;
  index_t folds = 10;
  std::uint64_t seed = 0;
  std::string claims_path, decisions_out;
  std::string threshold = "eer";  // accuracy | eer | far | a number
  bool per_class = false;
};

void write_roc(const std::string& path, const roc_curve& roc) {
  std::ofstream out(path);
  expects<io_error>(static_cast<bool>(out), "mahal verify", "cannot write ", path);
  if (ends_with(path, ".json")) {
    json j;
    j["far"] = roc.far;
    j["tar"] = roc.tar;
    json t = json::array();
    for (double v : roc.thresholds) t.push_back(std::isfinite(v) ? json(v) : json(nullptr));
    j["thresholds"] = t;
    out << j.dump() << "\n";
  } else {
    out << "far,tar,threshold\n";
    out.precision(17);
    for (std::size_t i = 0; i < roc.far.size(); ++i)
      out << roc.far[i] << "," << roc.tar[i] << "," << roc.thresholds[i] << "\n";
  }
  expects<io_error>(static_cast<bool>(out), "mahal verify", "failed writing ", path);
}

// The fold of every trial for kfold_accuracy: the probes in a seeded random order, dealt into
// `folds` runs of (nearly) equal size; each of a probe's `per_probe` trials is in its fold.
std::vector<index_t> probe_folds(index_t probes, index_t per_probe, index_t folds,
                                 std::uint64_t seed) {
  std::vector<index_t> order(static_cast<std::size_t>(probes));
  std::iota(order.begin(), order.end(), index_t{0});
  detail::rng gen(seed);
  for (index_t i = probes - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)],
              order[static_cast<std::size_t>(gen.below(static_cast<std::uint64_t>(i + 1)))]);
  std::vector<index_t> fold_of_probe(static_cast<std::size_t>(probes));
  for (index_t p = 0; p < probes; ++p)
    fold_of_probe[static_cast<std::size_t>(order[static_cast<std::size_t>(p)])] =
        p * folds / probes;
  std::vector<index_t> fold_of;
  fold_of.reserve(static_cast<std::size_t>(probes * per_probe));
  for (index_t f : fold_of_probe)
    fold_of.insert(fold_of.end(), static_cast<std::size_t>(per_probe), f);
  return fold_of;
}

// The thresholds the labelled trials give, by the rule --threshold names.
struct trial_thresholds {
  double accuracy, eer, far;
};

bool names_rule(const std::string& value) {
  return value == "accuracy" || value == "eer" || value == "far";
}

// --threshold: one of the trials' thresholds, or a number.
double decision_threshold(const std::string& rule, const trial_thresholds& t) {
  if (rule == "accuracy") return t.accuracy;
  if (rule == "eer") return t.eer;
  if (rule == "far") return t.far;
  return std::strtod(rule.c_str(), nullptr);  // checked by threshold_option()
}

CLI::Validator threshold_option() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (names_rule(value)) return {};
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (end != value.c_str() && *end == '\0' && std::isfinite(v)) return {};
        return "must be accuracy, eer, far or a finite number, got " + value;
      },
      "accuracy|eer|far|NUMBER");
}

// Every data file must have the features the embedding takes: the model's, or without a model
// the gallery's.
void expect_features(const verify_command_options& o, const embedding_model& model,
                     const std::string& path, index_t features) {
  expects(features == model.input_dim, "mahal verify", path, " has ", features, " features but ",
          o.model.empty() ? "the gallery " + o.gallery_path + " has " : "the model takes ",
          model.input_dim);
}

// Answers every claim of the claims file (label column = claimed class) and adds the counts to
// the report; writes the decisions when asked.
void decide_claims(const verify_command_options& o, const embedding_model& model,
                   const gallery<double>& g, const score_options& so, double threshold,
                   json& report) {
  const labelled_data<double> claims = load_labelled(o.claims_path, o.data);
  expect_features(o, model, o.claims_path, claims.X.rows());
  const matrix<double> Ec = model.embed(claims.X);
  verifier<double> v(g, so, threshold);
  if (o.per_class) v.use_per_class_thresholds();
  std::ofstream out;
  if (!o.decisions_out.empty()) {
    out.open(o.decisions_out);
    expects<io_error>(static_cast<bool>(out), "mahal verify", "cannot write ", o.decisions_out);
    out << "index,claimed,score,threshold,accept\n";
    out.precision(17);
  }
  index_t accepted = 0;
  for (index_t j = 0; j < Ec.cols(); ++j) {
    const label_t c = claims.y[j];
    expects(g.count(c) > 0, "mahal verify", o.claims_path, " data row ", j + 1, " claims class ", c,
            ", which the gallery does not enrol");
    const verify_result r = v.verify(Ec.col(j), c);
    accepted += r.accept ? 1 : 0;
    if (out.is_open())
      out << j << "," << c << "," << r.score << "," << r.threshold << "," << (r.accept ? 1 : 0)
          << "\n";
  }
  report["threshold_rule"] = names_rule(o.threshold) ? o.threshold : "given";
  report["threshold"] = threshold;
  report["per_class"] = o.per_class;
  report["claims"] = Ec.cols();
  report["accepted"] = accepted;
  if (out.is_open()) {
    out.close();
    expects<io_error>(static_cast<bool>(out), "mahal verify", "failed writing ", o.decisions_out);
    report["decisions"] = o.decisions_out;
  }
}

void run_verify(const verify_command_options& o) {
  stopwatch clock;
  const labelled_data<double> gal = load_labelled(o.gallery_path, o.data);
  const labelled_data<double> probes = load_labelled(o.probes_path, o.data);
  const embedding_model model = o.model.empty() ? euclidean_model(gal.X, o.standardize)
                                                : load_embedding_model(o.model, o.common.backend);
  expect_features(o, model, o.gallery_path, gal.X.rows());
  expect_features(o, model, o.probes_path, probes.X.rows());
  const matrix<double> Eg = model.embed(gal.X), Ep = model.embed(probes.X);
  const gallery<double> g(Eg, gal.y);
  score_options so;
  so.kind = o.score == "mean"  ? score_kind::mean
            : o.score == "knn" ? score_kind::knn
                               : score_kind::min;
  so.k = o.k;
  std::vector<label_t> enrolled;
  for (label_t c = 0; c < g.classes(); ++c)
    if (g.count(c) > 0) enrolled.push_back(c);
  expects(enrolled.size() >= 2, "mahal verify", "the gallery enrols ", enrolled.size(),
          " class(es); impostor trials need at least 2");

  std::vector<double> scores;
  std::vector<std::uint8_t> genuine;
  index_t identified = 0, closed_set = 0;
  for (index_t j = 0; j < Ep.cols(); ++j) {
    const label_t own = probes.y[j];
    double best = std::numeric_limits<double>::infinity();
    label_t best_class = -1;
    bool own_enrolled = false;
    for (label_t c : enrolled) {
      const double s = g.score(Ep.col(j), c, so);
      scores.push_back(s);
      genuine.push_back(c == own ? 1 : 0);
      own_enrolled |= c == own;
      if (s < best) best = s, best_class = c;
    }
    if (own_enrolled) {
      ++closed_set;
      identified += best_class == own ? 1 : 0;
    }
  }
  const roc_curve roc = make_roc(scores, genuine);
  const eer_result eer = equal_error_rate(scores, genuine);
  const trial_thresholds thresholds{
      select_threshold(scores, genuine, threshold_rule::best_accuracy), eer.threshold,
      select_threshold(scores, genuine, threshold_rule::target_far, o.far)};
  index_t n_genuine = 0;
  for (auto v : genuine) n_genuine += v;

  json report;
  report["model"] = o.model.empty() ? "euclidean" : o.model;
  report["model_kind"] = model.kind;
  report["score"] = o.score;
  report["gallery_samples"] = Eg.cols();
  report["gallery_classes"] = enrolled.size();
  report["probes"] = Ep.cols();
  report["genuine_trials"] = n_genuine;
  report["impostor_trials"] = static_cast<index_t>(scores.size()) - n_genuine;
  report["auc"] = area_under_roc(roc);
  report["eer"] = eer.rate;
  report["eer_threshold"] = eer.threshold;
  report["far"] = o.far;
  report["tar_at_far"] = tar_at_far(roc, o.far);
  report["accuracy"] = verification_accuracy(scores, genuine, thresholds.accuracy);
  report["accuracy_threshold"] = thresholds.accuracy;
  report["far_threshold"] = thresholds.far;
  if (Ep.cols() >= o.folds) {
    const auto per_probe = static_cast<index_t>(enrolled.size());
    const kfold_result kf = kfold_accuracy(
        scores, genuine, probe_folds(Ep.cols(), per_probe, o.folds, o.seed), o.folds);
    report["folds"] = o.folds;
    report["kfold_accuracy"] = kf.mean;
    report["kfold_accuracy_std"] = kf.std;
  } else if (o.common.verbose > 0) {
    std::fprintf(stderr,
                 "mahal verify: %lld probes are too few for %lld folds: no kfold_accuracy\n",
                 static_cast<long long>(Ep.cols()), static_cast<long long>(o.folds));
  }
  report["identification_accuracy"] =
      closed_set > 0 ? static_cast<double>(identified) / static_cast<double>(closed_set) : 0.0;
  if (!o.roc_out.empty()) {
    write_roc(o.roc_out, roc);
    report["roc"] = o.roc_out;
  }
  if (!o.claims_path.empty())
    decide_claims(o, model, g, so, decision_threshold(o.threshold, thresholds), report);
  report["seconds"] = clock.seconds();
  emit(report, o.common);
}

}  // namespace

void add_verify_command(CLI::App& app) {
  auto o = std::make_shared<verify_command_options>();
  CLI::App* sub = app.add_subcommand(
      "verify", "Verification figures (AUC, EER, TAR@FAR) of probes against an enrolled gallery");
  CLI::Option* model =
      sub->add_option("--model", o->model,
                      "A metric or network file (from mahal fit --out); without it, Euclidean");
  sub->add_flag("--standardize", o->standardize,
                "Without --model: z-score features with the gallery's statistics")
      ->excludes(model);
  sub->add_option("--gallery", o->gallery_path, "CSV of enrolled samples (label + features)")
      ->required();
  sub->add_option("--probes", o->probes_path, "CSV of probes; each is tried against every class")
      ->required();
  sub->add_option("--score", o->score, "Distance score: min, mean or knn")
      ->capture_default_str()
      ->check(CLI::IsMember({"min", "mean", "knn"}));
  sub->add_option("--k", o->k, "Neighbours averaged by --score knn")
      ->capture_default_str()
      ->check(positive());
  sub->add_option("--far", o->far, "False accept rate of tar_at_far")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--roc-out", o->roc_out, "Write the ROC points here (.csv or .json)");
  sub->add_option("--folds", o->folds, "Folds of kfold_accuracy (the LFW protocol)")
      ->capture_default_str()
      ->check(CLI::Range(index_t{2}, std::numeric_limits<index_t>::max()));
  sub->add_option("--seed", o->seed, "Seed of the probes' shuffle into folds")
      ->capture_default_str();
  CLI::Option* claims = sub->add_option(
      "--claims", o->claims_path,
      "CSV of claims to decide (label column = claimed class): accepted when score <= threshold");
  sub->add_option("--threshold", o->threshold,
                  "Decision threshold: accuracy, eer or far (chosen on the probes' trials) or a "
                  "number")
      ->capture_default_str()
      ->check(threshold_option())
      ->needs(claims);
  sub->add_flag("--per-class", o->per_class,
                "Scale the threshold by each class's spread (subject-specific thresholds)")
      ->needs(claims);
  sub->add_option("--decisions-out", o->decisions_out,
                  "Write one CSV line per claim: index,claimed,score,threshold,accept")
      ->needs(claims);
  sub->add_option("--label-column", o->data.label_column, "Name of the label column")
      ->capture_default_str();
  add_common_options(*sub, o->common);
  sub->callback([o] { run_verify(*o); });
}

}  // namespace mahal::cli

// mahal cluster: K-means, or constrained K-means when must-link side information is given (every
// connected component of the must-link pairs kept whole in one cluster: Wagstaff et al. 2001,
// Xing et al. 2002 §3), in the space of a learned metric or network (--model) or in the
// Euclidean metric (z-scored with --standardize). This is how Xing et al. evaluate a metric, on
// any data set.
//
// Side information, one source at most: --must-link F (a CSV of 0-based data-row pairs i,j, with
// or without a header line), --similar N (N random same-class pairs of the labels), or
// --side-information little|much (Xing's protocol: random same-class pairs until the pair graph
// has ≈ 90 % or ≈ 70 % as many connected components as points).
//
// With labels (a CSV input) K defaults to the number of classes and the report has Xing's
// pairwise accuracy against them (balanced for more than two classes). A .npy input (n×d) has no
// labels: give --clusters, and side information only with --must-link.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "cli.hpp"
#include "embedding_model.hpp"
#include "mahal/clustering_accuracy.hpp"
#include "mahal/constraints.hpp"
#include "mahal/error.hpp"
#include "mahal/kmeans.hpp"

namespace mahal::cli {
namespace {

struct cluster_command_options {
  common_options common;
  data_options data;
  std::string data_path, model, must_link, side_information, out;
  bool standardize = false;  // without a model: z-score the features
  index_t clusters = 0;      // 0: the number of classes of the labels
  index_t similar = 0;       // random same-class must-link pairs
  kmeans_options kmeans;
};

index_t distinct_labels(const label_vector& y) {
  return static_cast<index_t>(std::set<label_t>(y.data(), y.data() + y.size()).size());
}

void write_assignment(const std::string& path, const label_vector& assignment) {
  std::ofstream out(path);
  out << "cluster\n";
  for (index_t i = 0; i < assignment.size(); ++i) out << assignment(i) << "\n";
  out.flush();
  if (!out) throw io_error("mahal cluster: cannot write '" + path + "'");
}

void run_cluster(cluster_command_options o) {
  stopwatch clock;
  const char* where = "mahal cluster";
  const auto [X, y, names, original] = load_data(o.data_path, o.data);
  const bool labelled = y.size() > 0;
  const index_t n = X.cols();
  expects(o.model.empty() || !o.standardize, where,
          "--standardize applies without --model only (a model keeps its own standardisation)");
  const embedding_model model = o.model.empty() ? euclidean_model(X, o.standardize)
                                                : load_embedding_model(o.model, o.common.backend);
  expects(model.input_dim == X.rows(), where, o.data_path, " has ", X.rows(),
          " features but the model is on R^", model.input_dim);
  const bool from_labels = o.similar > 0 || !o.side_information.empty();
  expects(labelled || (o.clusters > 0 && !from_labels), where, o.data_path,
          " has no labels: give --clusters, and side information with --must-link only");

  pair_list must_link;
  if (!o.must_link.empty()) {
    must_link = read_pair_file(o.must_link, n, "mahal cluster --must-link");
  } else if (o.similar > 0) {
    must_link = sample_pairs(y, o.similar, 0, o.kmeans.seed).similar;
  } else if (!o.side_information.empty()) {
    const double fraction = o.side_information == "little" ? 0.9 : 0.7;
    const index_t target =
        std::clamp<index_t>(static_cast<index_t>(std::lround(fraction * static_cast<double>(n))),
                            distinct_labels(y), n);
    must_link = xing_side_information(y, target, o.kmeans.seed);
  }
  const bool constrained = !must_link.empty();
  o.kmeans.clusters = o.clusters > 0 ? o.clusters : distinct_labels(y);
  if (o.common.verbose)
    std::fprintf(
        stderr, "mahal cluster: %s of %lld samples into %lld clusters%s\n",
        constrained ? "constrained K-means" : "K-means", static_cast<long long>(n),
        static_cast<long long>(o.kmeans.clusters),
        constrained ? detail::concat(", ", must_link.size(), " must-link pairs").c_str() : "");

  const matrix<double> Z = model.embed(X);
  auto be = make_backend<double>(parse_device(o.common.backend));
  stopwatch cluster_clock;
  const kmeans_result<double> r = constrained
                                      ? constrained_kmeans<double>(*be, Z, must_link, o.kmeans)
                                      : kmeans<double>(*be, Z, o.kmeans);

  const double cluster_seconds = cluster_clock.seconds();
  json report;
  report["algo"] = constrained ? "constrained-kmeans" : "kmeans";
  report["clusters"] = o.kmeans.clusters;
  report["inertia"] = r.inertia;
  report["iterations"] = r.iterations;
  report["status"] = to_string(r.status);
  report["restarts"] = o.kmeans.restarts;
  report["seeding_trials"] = o.kmeans.seeding_trials;
  report["best_restart"] = r.best_restart;
  report["searched"] = r.searched;  // unit-to-centres searches, all restarts
  std::vector<index_t> sizes(static_cast<std::size_t>(o.kmeans.clusters), 0);
  for (index_t i = 0; i < n; ++i) ++sizes[static_cast<std::size_t>(r.assignment(i))];
  report["cluster_sizes"] = sizes;
  report["must_link_pairs"] = must_link.size();
  report["components"] = connected_components(n, must_link).count;
  if (labelled) {
    const pair_agreement counts = count_pair_agreement(y, r.assignment);
    report["accuracy"] = xing_accuracy(counts);
    report["accuracy_form"] = counts.classes > 2 ? "balanced" : "plain";
    report["classes"] = counts.classes;
  }
  report["n"] = n;
  report["dim"] = X.rows();
  report["embedding_dim"] = Z.rows();
  report["metric"] =
      o.model.empty() ? (o.standardize ? "euclidean (z-scored)" : "euclidean") : o.model;
  report["backend"] = be->name();
  if (!o.out.empty()) {
    write_assignment(o.out, r.assignment);
    report["output"] = o.out;
  }
  report["cluster_seconds"] = cluster_seconds;  // the K-means restarts alone
  report["seconds"] = clock.seconds();
  emit(report, o.common);
}

}  // namespace

void add_cluster_command(CLI::App& app) {
  auto o = std::make_shared<cluster_command_options>();
  CLI::App* sub = app.add_subcommand(
      "cluster", "K-means or constrained K-means (must-link side information) under a metric");
  sub->add_option("--data", o->data_path, "CSV (with labels) or .npy (n×d) data to cluster")
      ->required();
  sub->add_option("--model", o->model, "A learned metric or network (from mahal fit --out)");
  sub->add_flag("--standardize", o->standardize, "Without --model: z-score the features");
  sub->add_option("--clusters", o->clusters, "K (0 = the number of classes of the labels)")
      ->capture_default_str()
      ->check(non_negative());
  auto* must_link =
      sub->add_option("--must-link", o->must_link, "CSV of must-link pairs i,j (0-based rows)");
  auto* similar = sub->add_option("--similar", o->similar,
                                  "Must-link: this many random same-class pairs of the labels")
                      ->check(non_negative());
  auto* side = sub->add_option("--side-information", o->side_information,
                               "Must-link: Xing et al.'s protocol, random same-class pairs until "
                               "≈ 90 % (little) or 70 % (much) as many components as points")
                   ->check(CLI::IsMember({"little", "much"}));
  must_link->excludes(similar)->excludes(side);
  similar->excludes(side);
  sub->add_option("--restarts", o->kmeans.restarts,
                  "k-means++ seedings; the lowest inertia is kept")
      ->capture_default_str()
      ->check(positive());
  sub->add_option("--seeding-trials", o->kmeans.seeding_trials,
                  "Candidates per k-means++ centre, the best kept (greedy k-means++); 0: "
                  "2 + ln K, as scikit-learn; 1: plain k-means++")
      ->capture_default_str()
      ->check(non_negative());
  sub->add_option("--max-iter", o->kmeans.max_iter, "Lloyd iterations per restart")
      ->capture_default_str()
      ->check(positive());
  sub->add_option("--tol", o->kmeans.tol,
                  "Stop a restart when the centroids move less than this, relative to the data's "
                  "mean variance (scikit-learn's rule)")
      ->capture_default_str()
      ->check(non_negative());
  sub->add_flag("!--no-bounds", o->kmeans.bounds,
                "Search every unit at every step instead of skipping those Hamerly's bounds "
                "rule out (the same result; for comparisons)");
  sub->add_option("--seed", o->kmeans.seed, "Seed of the seedings and of sampled pairs")
      ->capture_default_str();
  sub->add_option("--out", o->out, "Write the cluster of each data row here (CSV, one column)");
  sub->add_option("--label-column", o->data.label_column, "Name of the label column")
      ->capture_default_str();
  add_common_options(*sub, o->common);
  sub->callback([o] { run_cluster(*o); });
}

}  // namespace mahal::cli

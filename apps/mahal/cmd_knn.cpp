// mahal knn: k-NN classification accuracy of a test set under a metric (Euclidean, or a
// learned metric or network with --model).
#include "cli.hpp"
#include "embedding_model.hpp"
#include "mahal/error.hpp"
#include "mahal/neighbors.hpp"

namespace mahal::cli {
namespace {

struct knn_command_options {
  common_options common;
  data_options data;
  std::string train, test, model;
  index_t k = 3;
  bool standardize = false;
};

void run_knn(const knn_command_options& o) {
  stopwatch clock;
  const labelled_data<double> train = load_labelled(o.train, o.data);
  const labelled_data<double> test = load_labelled(o.test, o.data);
  expects(train.X.rows() == test.X.rows(), "mahal knn", o.train, " has ", train.X.rows(),
          " features but ", o.test, " has ", test.X.rows());
  // Any model kind: k-NN runs on the embedded points (L·x for a metric, G_W(x) for a network).
  const embedding_model model = o.model.empty() ? euclidean_model(train.X, o.standardize)
                                                : load_embedding_model(o.model, o.common.backend);
  expects(model.input_dim == train.X.rows(), "mahal knn", "the model is on R^", model.input_dim,
          " but the data have ", train.X.rows(), " features");
  const matrix<double> Xtr = model.embed(train.X), Xte = model.embed(test.X);
  const std::string metric_name = o.model.empty() ? "euclidean" : o.model;
  const metric<double> m = metric<double>::identity(Xtr.rows());
  auto be = make_backend<double>(parse_device(o.common.backend));
  stopwatch search_clock;
  const double acc = knn_accuracy<double>(*be, m, Xtr, train.y, Xte, test.y, o.k);
  json report;
  report["test_accuracy"] = acc;
  report["seconds"] = clock.seconds();
  report["search_seconds"] = search_clock.seconds();
  report["k"] = o.k;
  report["n_train"] = Xtr.cols();
  report["n_test"] = Xte.cols();
  report["dim"] = train.X.rows();
  report["embedding_dim"] = Xtr.rows();
  report["metric"] = metric_name;
  report["backend"] = be->name();
  emit(report, o.common);
}

}  // namespace

void add_knn_command(CLI::App& app) {
  auto o = std::make_shared<knn_command_options>();
  CLI::App* sub = app.add_subcommand("knn", "k-NN test accuracy under a metric");
  sub->add_option("--train", o->train, "Training CSV (the references)")->required();
  sub->add_option("--test", o->test, "Test CSV (the queries)")->required();
  sub->add_option("--k", o->k, "Neighbours")->capture_default_str()->check(positive());
  sub->add_option("--model", o->model, "A learned metric or network (from mahal fit --out)");
  sub->add_flag("--standardize", o->standardize,
                "Without --model: z-score features with training statistics");
  sub->add_option("--label-column", o->data.label_column, "Name of the label column")
      ->capture_default_str();
  add_common_options(*sub, o->common);
  sub->callback([o] { run_knn(*o); });
}

}  // namespace mahal::cli

// mahal transform: map data into the learned space, Z = L·x for a metric or G_W(x) for a network
// (after the model's standardisation, if it has one). CSV in → CSV out (labels kept); .npy in →
// .npy out.
#include "cli.hpp"
#include "embedding_model.hpp"
#include "mahal/error.hpp"
#include "mahal/npy.hpp"

namespace mahal::cli {
namespace {

struct transform_command_options {
  common_options common;
  data_options data;
  std::string model, input, output;
};

void run_transform(const transform_command_options& o) {
  stopwatch clock;
  const embedding_model model = load_embedding_model(o.model, "cpu");
  const bool npy_in = ends_with(o.input, ".npy"), npy_out = ends_with(o.output, ".npy");
  matrix<double> X;
  label_vector y;
  if (npy_in) {
    X = read_npy_matrix<double>(o.input);
  } else {
    labelled_data<double> data = load_labelled(o.input, o.data);
    X = std::move(data.X);
    y = std::move(data.y);
  }
  expects(X.rows() == model.input_dim, "mahal transform", o.input, " has ", X.rows(),
          " features but the model is on R^", model.input_dim);
  const matrix<double> Z = model.embed(X);
  if (npy_out) {
    write_npy(o.output, Z);
  } else {
    expects(!npy_in, "mahal transform", "CSV output needs labels: read a CSV or write .npy");
    std::vector<std::string> names;
    for (index_t r = 0; r < Z.rows(); ++r) names.push_back("z" + std::to_string(r));
    write_csv(o.output, Z, y, names);
  }
  json report;
  report["output"] = o.output;
  report["rows"] = Z.cols();
  report["input_dim"] = X.rows();
  report["output_dim"] = Z.rows();
  report["seconds"] = clock.seconds();
  emit(report, o.common);
}

}  // namespace

void add_transform_command(CLI::App& app) {
  auto o = std::make_shared<transform_command_options>();
  CLI::App* sub =
      app.add_subcommand("transform", "Map data into the learned space: z = L x or G_W(x)");
  sub->add_option("--model", o->model, "A learned metric or network (from mahal fit --out)")
      ->required();
  sub->add_option("--input", o->input, "CSV (with labels) or .npy (n×d) input")->required();
  sub->add_option("--output", o->output, "CSV or .npy output (by extension)")->required();
  sub->add_option("--label-column", o->data.label_column, "Name of the label column")
      ->capture_default_str();
  add_common_options(*sub, o->common, false);
  sub->callback([o] { run_transform(*o); });
}

}  // namespace mahal::cli

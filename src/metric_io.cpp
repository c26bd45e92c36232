#include "mahal/metric_io.hpp"

#include "mahal/config.hpp"
#include "mahal/error.hpp"
#include "mahal/model_file.hpp"

namespace mahal {

matrix<double> saved_metric::preprocess(matrix_ref<double> X) const {
  return preprocessing ? preprocessing->apply(X) : matrix<double>(X);
}

matrix<double> saved_metric::transform(matrix_ref<double> X) const {
  return learned.transform(preprocess(X));
}

void save_metric(const std::string& path, const metric<double>& learned,
                 const standardizer<double>* preprocessing,
                 const std::map<std::string, std::string>& meta) {
  expects(learned.dim() > 0, "mahal::save_metric", "the metric is empty");
  model_file file;
  file.kind = "metric";
  file.meta = meta;
  file.meta["form"] = to_string(learned.form());
  file.meta["mahal_version"] = MAHAL_VERSION_STRING;
  file.add_array("L", learned.L());
  if (preprocessing != nullptr) {
    expects(preprocessing->dim() == learned.dim(), "mahal::save_metric",
            "the standardizer has ", preprocessing->dim(), " features but the metric ",
            learned.dim());
    file.add_array("center", preprocessing->mean());
    file.add_array("scale", preprocessing->scale());
  }
  save_model_file(path, file);
}

saved_metric load_metric(const std::string& path) {
  const model_file file = load_model_file(path);
  expects<io_error>(file.kind == "metric", "mahal::load_metric", path, " holds a '", file.kind,
                    "' model, not a metric");
  saved_metric out;
  out.meta = file.meta;
  const matrix<double>& L = file.array("L").data;
  try {
    out.learned = metric<double>::from_linear_map(L, parse_metric_form(file.meta_value("form")));
  } catch (const invalid_argument& e) {
    throw io_error(std::string("mahal::load_metric: ") + path + ": " + e.what());
  }
  const named_array* center = file.find_array("center");
  const named_array* scale = file.find_array("scale");
  expects<io_error>((center == nullptr) == (scale == nullptr), "mahal::load_metric", path,
                    ": 'center' and 'scale' must be stored together");
  if (center != nullptr) {
    expects<io_error>(center->data.size() == L.cols() && scale->data.size() == L.cols(),
                      "mahal::load_metric", path, ": preprocessing for ", center->data.size(),
                      " features but L is ", L.rows(), "x", L.cols());
    try {
      out.preprocessing.emplace(vector<double>(center->data.reshaped()),
                                vector<double>(scale->data.reshaped()));
    } catch (const invalid_argument& e) {
      throw io_error(std::string("mahal::load_metric: ") + path + ": " + e.what());
    }
  }
  return out;
}

}  // namespace mahal

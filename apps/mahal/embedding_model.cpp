#include "embedding_model.hpp"

#include <memory>

#include "mahal/error.hpp"
#include "mahal/metric_io.hpp"
#include "mahal/model_file.hpp"
#include "mahal/nn/serialization.hpp"
#include "mahal/standardizer.hpp"

namespace mahal::cli {
namespace {

template <class T>
embedding_model network_model(const std::string& path, const std::string& backend_name) {
  std::shared_ptr<backend<T>> be = make_backend<T>(parse_device(backend_name));
  auto saved = std::make_shared<nn::saved_network<T>>(nn::load_network<T>(*be, path));
  embedding_model m;
  m.kind = "siamese";
  m.input_dim = saved->input_dim();
  m.output_dim = saved->output_dim();
  m.embed = [be, saved](const matrix<double>& X) {
    if constexpr (std::is_same_v<T, double>) {
      return saved->transform(X);
    } else {
      // Standardise in double (as the training data were), then run the network in float.
      const matrix<double> Xs = saved->preprocessing ? saved->preprocessing->apply(X) : X;
      return saved->net.embed(Xs.cast<T>()).template cast<double>().eval();
    }
  };
  return m;
}

}  // namespace

embedding_model load_embedding_model(const std::string& path, const std::string& backend_name) {
  const model_file file = load_model_file(path);
  if (file.kind == "metric") {
    auto saved = std::make_shared<saved_metric>(load_metric(path));
    embedding_model m;
    m.kind = file.kind;
    m.input_dim = saved->dim();
    m.output_dim = saved->learned.L().rows();
    m.embed = [saved](const matrix<double>& X) { return saved->transform(X); };
    return m;
  }
  if (file.kind == "siamese") {
    const auto scalar = file.meta.find("scalar");
    if (scalar != file.meta.end() && scalar->second == "double")
      return network_model<double>(path, backend_name);
    return network_model<float>(path, backend_name);
  }
  throw io_error("mahal: " + path + " holds a '" + file.kind +
                 "' model; expected a metric or a siamese network");
}

embedding_model euclidean_model(const matrix<double>& reference, bool standardize) {
  embedding_model m;
  m.kind = "euclidean";
  m.input_dim = m.output_dim = reference.rows();
  if (standardize) {
    auto scaler = std::make_shared<standardizer<double>>(standardizer<double>::fit(reference));
    m.embed = [scaler](const matrix<double>& X) { return scaler->apply(X); };
  } else {
    m.embed = [](const matrix<double>& X) { return X; };
  }
  return m;
}

}  // namespace mahal::cli

// mahal/metric_io.hpp — saving and loading a learned metric (with its preprocessing).
//
// A metric file is a model_file (model_file.hpp: magic tag, format version, CRC-32, atomic
// write) of kind "metric" holding the array "L" (k×d), the metadata key "form" (linear, full
// or diagonal) and, when the metric was learned on standardised data, the arrays "center" and
// "scale" (d×1) that map raw data into the space L acts on. Values round-trip bit-exactly.
//
//   mahal::save_metric("iris.mahal", learned, &scaler, {{"solver", "mmc"}});
//   auto saved = mahal::load_metric("iris.mahal");
//   mahal::matrix<double> Z = saved.transform(X_raw);    // standardise if needed, then L·x
#pragma once

#include <map>
#include <optional>
#include <string>

#include "mahal/metric.hpp"
#include "mahal/standardizer.hpp"

namespace mahal {

struct saved_metric {
  metric<double> learned;
  std::optional<standardizer<double>> preprocessing;  // applied to raw data before L
  std::map<std::string, std::string> meta;

  index_t dim() const { return learned.dim(); }
  // Raw data (d×n) → L·standardise(X) (k×n).
  matrix<double> transform(matrix_ref<double> X) const;
  // Raw data in the space the metric was learned in (standardised when it was).
  matrix<double> preprocess(matrix_ref<double> X) const;
};

void save_metric(const std::string& path, const metric<double>& learned,
                 const standardizer<double>* preprocessing = nullptr,
                 const std::map<std::string, std::string>& meta = {});

// Throws io_error for files that are not metric files or whose arrays disagree in shape.
saved_metric load_metric(const std::string& path);

}  // namespace mahal

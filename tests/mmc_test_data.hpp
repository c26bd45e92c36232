// Reading the labelled CSV data sets of ../shared/datasets for the MMC tests (first column the
// label, then the features; one header line).
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mahal/matrix.hpp"

namespace mahal::test {

struct csv_data {
  matrix<double> X;  // d×n
  label_vector y;
};

inline csv_data read_labelled_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::vector<double>> rows;
  std::vector<label_t> labels;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string cell;
    std::getline(ss, cell, ',');
    labels.push_back(static_cast<label_t>(std::stoi(cell)));
    rows.emplace_back();
    while (std::getline(ss, cell, ',')) rows.back().push_back(std::stod(cell));
  }
  csv_data out;
  const index_t n = static_cast<index_t>(rows.size()),
                d = n ? static_cast<index_t>(rows[0].size()) : 0;
  out.X.resize(d, n);
  out.y.resize(n);
  for (index_t j = 0; j < n; ++j) {
    for (index_t t = 0; t < d; ++t) out.X(t, j) = rows[j][t];
    out.y(j) = labels[j];
  }
  return out;
}

// Per-feature standardisation (mean 0, population standard deviation 1).
inline matrix<double> standardise(const matrix<double>& X) {
  matrix<double> Z = X.colwise() - X.rowwise().mean();
  for (index_t t = 0; t < Z.rows(); ++t) {
    const double sd = std::sqrt(Z.row(t).squaredNorm() / static_cast<double>(Z.cols()));
    if (sd > 0) Z.row(t) /= sd;
  }
  return Z;
}

}  // namespace mahal::test

// LMNN timing and accuracy on a labelled CSV data set (label in the first column, a header
// line): fit on the training part, 3-NN test accuracy under the learned metric.
//
//   bench_lmnn --train train.csv --test test.csv [--k 3] [--solver lbfgs] [--rank r]
//   bench_lmnn --data letters.csv --first 16000 ...   (first N rows train, the rest test)
// Features are standardised with the training mean and standard deviation (zero-variance
// features are centred only).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/lmnn.hpp"
#include "mahal/metric.hpp"
#include "mahal/neighbors.hpp"

namespace {

void read_csv(const std::string& path, std::vector<std::vector<double>>& rows,
              std::vector<int>& labels) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string cell;
    std::getline(ss, cell, ',');
    labels.push_back(std::stoi(cell));
    std::vector<double> r;
    while (std::getline(ss, cell, ',')) r.push_back(std::stod(cell));
    rows.push_back(std::move(r));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string train, test, data, solver = "lbfgs", backend_name = "cpu";
  long first = 0, k = 3, rank = 0, max_iter = 1000, every = 20;
  double tol = 1e-6, band = 0.2;
  bool stale = false;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string key = argv[a], v = argv[a + 1];
    if (key == "--train")
      train = v;
    else if (key == "--test")
      test = v;
    else if (key == "--data")
      data = v;
    else if (key == "--first")
      first = std::stol(v);
    else if (key == "--k")
      k = std::stol(v);
    else if (key == "--rank")
      rank = std::stol(v);
    else if (key == "--solver")
      solver = v;
    else if (key == "--backend")
      backend_name = v;
    else if (key == "--max-iter")
      max_iter = std::stol(v);
    else if (key == "--tol")
      tol = std::stod(v);
    else if (key == "--band")
      band = std::stod(v);
    else if (key == "--every")
      every = std::stol(v);
    else if (key == "--stale-check")
      stale = std::stol(v) != 0;
  }
  std::vector<std::vector<double>> rtr, rte;
  std::vector<int> ytr, yte;
  if (!data.empty()) {
    std::vector<std::vector<double>> all;
    std::vector<int> y;
    read_csv(data, all, y);
    rtr.assign(all.begin(), all.begin() + first);
    rte.assign(all.begin() + first, all.end());
    ytr.assign(y.begin(), y.begin() + first);
    yte.assign(y.begin() + first, y.end());
  } else {
    read_csv(train, rtr, ytr);
    read_csv(test, rte, yte);
  }
  const long d = static_cast<long>(rtr[0].size());
  auto to_matrix = [d](const std::vector<std::vector<double>>& r) {
    mahal::matrix<double> X(d, static_cast<long>(r.size()));
    for (std::size_t j = 0; j < r.size(); ++j)
      for (long t = 0; t < d; ++t) X(t, static_cast<long>(j)) = r[j][static_cast<std::size_t>(t)];
    return X;
  };
  mahal::matrix<double> Xtr = to_matrix(rtr), Xte = to_matrix(rte);
  const mahal::vector<double> mean = Xtr.rowwise().mean();
  mahal::vector<double> sd =
      ((Xtr.colwise() - mean).array().square().rowwise().sum() / double(Xtr.cols())).sqrt();
  for (long t = 0; t < d; ++t)
    if (sd(t) == 0) sd(t) = 1;
  Xtr = (Xtr.colwise() - mean).array().colwise() / sd.array();
  Xte = (Xte.colwise() - mean).array().colwise() / sd.array();
  mahal::label_vector Ytr = Eigen::Map<mahal::label_vector>(ytr.data(), long(ytr.size()));
  mahal::label_vector Yte = Eigen::Map<mahal::label_vector>(yte.data(), long(yte.size()));
  auto be = mahal::make_backend<double>(mahal::parse_device(backend_name));
  mahal::lmnn_options opt;
  opt.k = k;
  opt.rank = rank;
  opt.solver = mahal::parse_lmnn_solver(solver);
  opt.max_iterations = max_iter;
  opt.tolerance = tol;
  opt.band = band;
  opt.full_search_every = every;
  opt.stale_check = stale;
  const auto r = mahal::fit_lmnn<double>(*be, Xtr, Ytr, opt);
  const auto m = mahal::metric<double>::from_linear_map(r.L);
  const double acc = mahal::knn_accuracy<double>(*be, m, Xtr, Ytr, Xte, Yte, 3);
  const double acc0 =
      mahal::knn_accuracy<double>(*be, mahal::metric<double>::identity(d), Xtr, Ytr, Xte, Yte, 3);
  std::printf(
      "{\"algo\": \"lmnn\", \"solver\": \"%s\", \"n\": %ld, \"d\": %ld, \"train_seconds\": %.4f, "
      "\"iterations\": %ld, \"evaluations\": %ld, \"full_searches\": %ld, \"status\": \"%s\", "
      "\"objective\": %.6f, \"active_triplets\": %ld, \"test_accuracy\": %.4f, "
      "\"euclidean_accuracy\": %.4f}\n",
      solver.c_str(), long(Xtr.cols()), d, r.seconds, long(r.iterations), long(r.evaluations),
      long(r.full_searches), mahal::to_string(r.status).c_str(), r.objective,
      long(r.active_triplets), acc, acc0);
  return 0;
}

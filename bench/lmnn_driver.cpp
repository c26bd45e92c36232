// LMNN timing and accuracy on a labelled CSV data set (label in the first column, a header
// line): fit on the training part, 3-NN test accuracy under the learned metric.
//
//   mahal_lmnn_driver --train train.csv --test test.csv [--k 3] [--solver lbfgs] [--rank r]
//   mahal_lmnn_driver --data letters.csv --first 16000 ...   (first N rows train, the rest test)
// Features are standardised with the training mean and standard deviation (zero-variance
// features are centred only). --save-L FILE writes the learned L (r×d) as CSV rows.
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include "mahal/backend.hpp"
#include "mahal/csv.hpp"
#include "mahal/lmnn.hpp"
#include "mahal/metric.hpp"
#include "mahal/neighbors.hpp"
#include "mahal/standardizer.hpp"

namespace {

int run(int argc, char** argv) {
  std::string train, test, data, solver = "lbfgs", backend_name = "cpu", save_L;
  long first = 0, impostors = 0, k = 3, rank = 0, max_iter = 1000, every = 20;
  double tol = -1, band = -1, mu = 0.5;
  std::string init = "identity", precision = "double";
  bool squared = false;
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
    else if (key == "--impostors")
      impostors = std::stol(v);
    else if (key == "--mu")
      mu = std::stod(v);
    else if (key == "--squared")
      squared = std::stol(v) != 0;
    else if (key == "--precision")
      precision = v;
    else if (key == "--init")
      init = v;
    else if (key == "--save-L")
      save_L = v;
    else if (key == "--stale-check")
      stale = std::stol(v) != 0;
  }
  mahal::matrix<double> Xtr, Xte;
  mahal::label_vector Ytr, Yte;
  if (!data.empty()) {
    const auto all = mahal::read_csv<double>(data);
    const long n = static_cast<long>(all.X.cols());
    if (first <= 0 || first >= n) {
      std::fprintf(stderr, "--first %ld must be in [1, %ld)\n", first, n);
      return 2;
    }
    Xtr = all.X.leftCols(first);
    Xte = all.X.rightCols(n - first);
    Ytr = all.y.head(first);
    Yte = all.y.tail(n - first);
  } else {
    auto tr = mahal::read_csv<double>(train);
    auto te = mahal::read_csv<double>(test);
    Xtr = std::move(tr.X);
    Ytr = std::move(tr.y);
    Xte = std::move(te.X);
    Yte = std::move(te.y);
  }
  const long d = static_cast<long>(Xtr.rows());
  const auto scaler = mahal::standardizer<double>::fit(Xtr);
  Xtr = scaler.apply(Xtr);
  Xte = scaler.apply(Xte);
  auto be = mahal::make_backend<double>(mahal::parse_device(backend_name));
  mahal::lmnn_options opt;
  opt.k = k;
  opt.rank = rank;
  opt.solver = mahal::parse_lmnn_solver(solver);
  opt.max_iterations = max_iter;
  if (tol > 0) opt.tolerance = tol;
  if (band >= 0) opt.band = band;
  opt.mu = mu;
  opt.impostors_per_point = impostors;
  opt.squared_hinge = squared;
  if (init == "pca") opt.init = mahal::lmnn_init::pca;
  opt.full_search_every = every;
  opt.stale_check = stale;
  // --precision float: the fit in single precision (the result is scored in double).
  mahal::lmnn_result<double> r;
  if (precision == "float") {
    auto bf = mahal::make_backend<float>(mahal::parse_device(backend_name));
    const mahal::matrix<float> Xf = Xtr.cast<float>();
    const auto rf = mahal::fit_lmnn<float>(*bf, Xf, Ytr, opt);
    r.L = rf.L.cast<double>();
    r.status = rf.status;
    r.iterations = rf.iterations;
    r.evaluations = rf.evaluations;
    r.full_searches = rf.full_searches;
    r.objective = rf.objective;
    r.active_triplets = rf.active_triplets;
    r.seconds = rf.seconds;
    r.search_seconds = rf.search_seconds;
    r.evaluation_seconds = rf.evaluation_seconds;
    r.candidate_pairs = rf.candidate_pairs;
    r.message = rf.message;
  } else {
    r = mahal::fit_lmnn<double>(*be, Xtr, Ytr, opt);
  }
  const auto m = mahal::metric<double>::from_linear_map(r.L);
  const double acc = mahal::knn_accuracy<double>(*be, m, Xtr, Ytr, Xte, Yte, 3);
  const double acc0 =
      mahal::knn_accuracy<double>(*be, mahal::metric<double>::identity(d), Xtr, Ytr, Xte, Yte, 3);
  std::printf(
      "{\"algo\": \"lmnn\", \"solver\": \"%s\", \"n\": %ld, \"d\": %ld, \"train_seconds\": %.4f, "
      "\"iterations\": %ld, \"evaluations\": %ld, \"full_searches\": %ld, \"status\": \"%s\", "
      "\"objective\": %.6f, \"active_triplets\": %ld, \"test_accuracy\": %.4f, "
      "\"euclidean_accuracy\": %.4f, \"search_seconds\": %.4f, \"evaluation_seconds\": %.4f, "
      "\"candidate_pairs\": %ld, \"message\": \"%s\"}\n",
      solver.c_str(), long(Xtr.cols()), d, r.seconds, long(r.iterations), long(r.evaluations),
      long(r.full_searches), mahal::to_string(r.status).c_str(), r.objective,
      long(r.active_triplets), acc, acc0, r.search_seconds, r.evaluation_seconds,
      long(r.candidate_pairs), r.message.c_str());
  if (!save_L.empty()) {  // r×d, one row of L per line
    std::ofstream out(save_L);
    out.precision(17);
    for (long a = 0; a < r.L.rows(); ++a)
      for (long b = 0; b < r.L.cols(); ++b) out << r.L(a, b) << (b + 1 < r.L.cols() ? "," : "\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // bad options or data: one line, no stack trace
    std::fprintf(stderr, "mahal_lmnn_driver: %s\n", e.what());
    return 1;
  }
}

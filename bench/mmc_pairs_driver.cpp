// Runs one MMC fit on data and pairs exported by bench/mmc_vs_metric_learn.py, so that mahal and
// metric-learn see exactly the same X, S and D. Prints one JSON line on stdout.
//
//   mmc_pairs X.npy S.npy D.npy|implicit full|diag fast|reference [max_iter] [tol] [cpu|gpu]
// X.npy: (n, d) float64; S.npy, D.npy: (m, 2) integer pairs stored as float64. With
// `implicit`, D is every pair not in S. The A0 / bound / tolerances are mmc_options' defaults,
// which are metric-learn 0.7's MMC defaults (A0 = I, convergence_threshold 1e-3, max_iter 100,
// max_proj 10000, diagonal_c 1).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mahal/backend.hpp"
#include "mahal/mmc.hpp"
#include "mahal/npy.hpp"

namespace {

mahal::pair_list read_pairs(const std::string& path) {
  const mahal::matrix<double> P = mahal::read_npy_matrix<double>(path);  // 2×m
  mahal::pair_list pairs;
  for (mahal::index_t k = 0; k < P.cols(); ++k)
    pairs.push_back({static_cast<mahal::label_t>(P(0, k)), static_cast<mahal::label_t>(P(1, k))});
  return pairs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: mmc_pairs X.npy S.npy D.npy|implicit full|diag fast|reference "
                 "[max_iter] [tol] [cpu|gpu]\n");
    return 2;
  }
  const mahal::matrix<double> X = mahal::read_npy_matrix<double>(argv[1]);
  const mahal::pair_list S = read_pairs(argv[2]);
  const bool implicit = std::string(argv[3]) == "implicit";
  const mahal::pair_list D = implicit ? mahal::pair_list{} : read_pairs(argv[3]);
  const bool full = std::string(argv[4]) == "full";
  mahal::mmc_options o;
  o.mode = std::string(argv[5]) == "reference" ? mahal::mmc_mode::reference : mahal::mmc_mode::fast;
  if (argc > 6) o.max_iter = std::atoi(argv[6]);
  if (argc > 7) o.tol = std::atof(argv[7]);
  const auto where =
      argc > 8 && std::string(argv[8]) == "gpu" ? mahal::device::cuda : mahal::device::cpu;
  auto be = mahal::make_backend<double>(where);
  const auto r = full ? mahal::fit_mmc_full<double>(*be, X, S, implicit ? nullptr : &D, o)
                      : mahal::fit_mmc_diagonal<double>(*be, X, S, implicit ? nullptr : &D, o);
  std::printf(
      "{\"seconds\": %.6f, \"objective\": %.12g, \"similarity\": %.12g, \"bound\": %.12g, "
      "\"iterations\": %lld, \"eigendecompositions\": %lld, \"status\": \"%s\", \"A\": [",
      r.seconds, r.objective, r.similarity, r.bound, static_cast<long long>(r.iterations),
      static_cast<long long>(r.eigendecompositions), mahal::to_string(r.status).c_str());
  for (mahal::index_t k = 0; k < r.A.size(); ++k)
    std::printf("%s%.17g", k ? ", " : "", r.A.data()[k]);
  std::printf("]}\n");
  return 0;
}

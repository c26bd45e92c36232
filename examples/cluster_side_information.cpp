// Clustering with side information, the workflow of Xing, Ng, Jordan & Russell (NIPS 2002):
// a few pairs known to be similar, a metric learned from them, K-means in that metric.
//   cluster_side_information wine.csv
#include <cmath>
#include <iostream>
#include <mahal/mahal.hpp>
#include <string>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "wine.csv";
  const auto data = mahal::read_csv<double>(path);  // X: d×n, one sample per column
  const mahal::index_t n = data.X.cols();
  auto cpu = mahal::make_backend<double>(mahal::device::cpu);

  // "Little" side information: random same-class pairs until the pair graph has 90 % as many
  // connected components as points. The labels serve only to draw S and to score.
  const auto target = static_cast<mahal::index_t>(std::lround(0.9 * static_cast<double>(n)));
  const mahal::pair_list S = mahal::xing_side_information(data.y, target, /*seed=*/1);

  // The full metric A from S alone (D = every pair not in S, never listed).
  const auto fit = mahal::fit_mmc_full<double>(*cpu, data.X, S, /*D=*/nullptr);
  const auto learned = mahal::metric<double>::from_linear_map(fit.L);
  const auto euclidean = mahal::metric<double>::identity(data.X.rows());

  mahal::kmeans_options options;
  options.clusters = mahal::num_classes(data.y);
  options.seed = 7;
  std::cout << S.size() << " similar pairs; MMC " << mahal::to_string(fit.status) << " after "
            << fit.iterations << " iterations\n";
  for (const auto& [name, m] :
       {std::pair{"Euclidean", &euclidean}, std::pair{"learned A", &learned}}) {
    const auto plain = mahal::kmeans(*cpu, *m, data.X, options);
    const auto kept = mahal::constrained_kmeans(*cpu, *m, data.X, S, options);
    std::cout << name << ": K-means accuracy " << mahal::xing_accuracy(data.y, plain.assignment)
              << ", constrained K-means accuracy " << mahal::xing_accuracy(data.y, kept.assignment)
              << "\n";
  }
}

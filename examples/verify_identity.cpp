// Verification with a learned metric: "is this sample of class c?" → yes or no.
// Learn an LMNN metric on half of a labelled data set, enrol that half as the gallery, choose a
// threshold at the equal error rate on the other half's trials, then answer claims.
//   verify_identity wine.csv
#include <cstdint>
#include <iostream>
#include <mahal/lmnn.hpp>
#include <mahal/mahal.hpp>
#include <mahal/verification.hpp>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "wine.csv";
  const auto data = mahal::read_csv<double>(path);  // X: d×n, one sample per column
  const mahal::index_t n = data.X.cols();

  // Even samples enrol (and train the metric), odd samples probe.
  std::vector<mahal::index_t> enrol, probe;
  for (mahal::index_t i = 0; i < n; ++i) (i % 2 == 0 ? enrol : probe).push_back(i);
  const mahal::matrix<double> Xe = data.X(Eigen::all, enrol), Xp = data.X(Eigen::all, probe);
  const mahal::label_vector ye = data.y(enrol), yp = data.y(probe);

  const auto scaler = mahal::standardizer<double>::fit(Xe);
  auto cpu = mahal::make_backend<double>(mahal::device::cpu);
  const auto fit = mahal::fit_lmnn<double>(*cpu, scaler.apply(Xe), ye);
  const auto learned = mahal::metric<double>::from_linear_map(fit.L);
  const mahal::matrix<double> Ee = learned.transform(scaler.apply(Xe));
  const mahal::matrix<double> Ep = learned.transform(scaler.apply(Xp));

  // Every probe against every class: genuine when the class is its own.
  const mahal::gallery<double> gallery(Ee, ye);
  const mahal::score_options score{.kind = mahal::score_kind::min};
  std::vector<double> scores;
  std::vector<std::uint8_t> genuine;
  std::vector<mahal::index_t> fold;  // for the 10-fold accuracy: a probe's trials share a fold
  for (mahal::index_t j = 0; j < Ep.cols(); ++j)
    for (mahal::label_t c = 0; c < gallery.classes(); ++c) {
      scores.push_back(gallery.score(Ep.col(j), c, score));
      genuine.push_back(c == yp(j) ? 1 : 0);
      fold.push_back(j % 10);
    }
  const double threshold = mahal::select_threshold(scores, genuine, mahal::threshold_rule::eer);
  const auto roc = mahal::make_roc(scores, genuine);
  std::cout << "LMNN metric: AUC " << mahal::area_under_roc(roc) << ", EER "
            << mahal::equal_error_rate(scores, genuine).rate << ", threshold " << threshold
            << ", 10-fold accuracy " << mahal::kfold_accuracy(scores, genuine, fold, 10).mean
            << "\n";

  // The first probe claims each class in turn.
  const mahal::verifier<double> verifier(gallery, score, threshold);
  for (mahal::label_t c = 0; c < gallery.classes(); ++c) {
    const auto answer = verifier.verify(Ep.col(0), c);
    std::cout << "probe 0 (class " << yp(0) << ") claims class " << c << ": "
              << (answer.accept ? "yes" : "no") << " (score " << answer.score << ")\n";
  }
}

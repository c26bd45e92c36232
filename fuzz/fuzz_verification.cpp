// Fuzz target: the verification measures on trials decoded from the input — coarse scores (many
// ties), now and then an infinite or NaN one, any mix of genuine and impostor trials. Each
// measure is checked against a brute-force reference: the ROC against counts at every distinct
// score, the AUC against the pairwise P(genuine < impostor) + ½·P(tie), the best-accuracy
// threshold against the best accuracy over every cut, the target-FAR threshold against its
// definition, the LFW k-fold accuracy (contiguous and interleaved folds) fold by fold against
// the best cut of the other folds; the EER must be a rate. invalid_argument is the only
// exception allowed (NaN scores, trials of one kind).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fuzz_problem.hpp"
#include "mahal/error.hpp"
#include "mahal/verification.hpp"

namespace {

using mahal::fuzz::require;

// Byte pairs: a score from the first ((b % 32) / 4, or ±inf / NaN for 253–255) and the genuine
// flag from the second's lowest bit.
void decode(const std::uint8_t* data, std::size_t size, std::vector<double>& scores,
            std::vector<std::uint8_t>& genuine) {
  for (std::size_t at = 1; at + 1 < size && scores.size() < 64; at += 2) {
    const std::uint8_t b = data[at];
    const double inf = std::numeric_limits<double>::infinity();
    scores.push_back(b == 255   ? std::numeric_limits<double>::quiet_NaN()
                     : b == 254 ? inf
                     : b == 253 ? -inf
                                : (b % 32) / 4.0);
    genuine.push_back(data[at + 1] & 1);
  }
}

// (genuine with score <= tau + impostors with score > tau) / n, counted directly.
double accuracy_at(const std::vector<double>& s, const std::vector<std::uint8_t>& g, double tau) {
  double correct = 0;
  for (std::size_t i = 0; i < s.size(); ++i) correct += (s[i] <= tau) == (g[i] != 0) ? 1 : 0;
  return correct / static_cast<double>(s.size());
}

// The fraction of the trials of one kind (genuine or impostor) accepted at tau (score <= tau).
double accepted_at(const std::vector<double>& s, const std::vector<std::uint8_t>& g, double tau,
                   bool of_genuine) {
  double accepted = 0, trials = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((g[i] != 0) != of_genuine) continue;
    trials += 1;
    accepted += s[i] <= tau ? 1 : 0;
  }
  return accepted / trials;
}
double far_at(const std::vector<double>& s, const std::vector<std::uint8_t>& g, double tau) {
  return accepted_at(s, g, tau, false);
}
double tar_at(const std::vector<double>& s, const std::vector<std::uint8_t>& g, double tau) {
  return accepted_at(s, g, tau, true);
}

// Each fold's threshold is a best-accuracy cut of the other folds' trials, and the fold's
// accuracy is the count at that threshold.
void check_folds(const std::vector<double>& s, const std::vector<std::uint8_t>& g,
                 const std::vector<mahal::index_t>& fold_of, mahal::index_t folds,
                 const mahal::kfold_result& k) {
  require(static_cast<mahal::index_t>(k.accuracies.size()) == folds &&
              static_cast<mahal::index_t>(k.thresholds.size()) == folds && k.mean >= 0 &&
              k.mean <= 1 && !std::isnan(k.std),
          "kfold: a rate and a threshold per fold");
  for (mahal::index_t f = 0; f < folds; ++f) {
    std::vector<double> train_s, test_s;
    std::vector<std::uint8_t> train_g, test_g;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const bool test = fold_of[i] == f;
      (test ? test_s : train_s).push_back(s[i]);
      (test ? test_g : train_g).push_back(g[i]);
    }
    double best = accuracy_at(train_s, train_g, -std::numeric_limits<double>::infinity());
    for (double cut : train_s) best = std::max(best, accuracy_at(train_s, train_g, cut));
    const double tau = k.thresholds[static_cast<std::size_t>(f)];
    require(accuracy_at(train_s, train_g, tau) == best, "kfold: the other folds' best cut");
    require(k.accuracies[static_cast<std::size_t>(f)] == accuracy_at(test_s, test_g, tau),
            "kfold: the fold's accuracy at that cut");
  }
}

void check(const std::vector<double>& s, const std::vector<std::uint8_t>& g, std::uint8_t mode) {
  const mahal::roc_curve roc = mahal::make_roc(s, g);
  std::vector<double> cuts = s;  // every distinct score, ascending
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  require(roc.far.size() == cuts.size() + 1 && roc.far.front() == 0 && roc.tar.front() == 0 &&
              roc.far.back() == 1 && roc.tar.back() == 1,
          "roc: from (0, 0) to (1, 1), one point per distinct score");
  for (std::size_t c = 0; c < cuts.size(); ++c)
    require(roc.thresholds[c + 1] == cuts[c] && roc.far[c + 1] == far_at(s, g, cuts[c]) &&
                roc.tar[c + 1] == tar_at(s, g, cuts[c]),
            "roc: the counts at each distinct score");

  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j)
      if (g[i] && !g[j]) {
        pairs += 1;
        wins += s[i] < s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
      }
  require(std::abs(mahal::area_under_roc(roc) - wins / pairs) < 1e-12, "auc: pairwise");

  const auto eer = mahal::equal_error_rate(s, g);
  require(eer.rate >= 0 && eer.rate <= 1 && !std::isnan(eer.threshold), "eer: a rate");

  double best = accuracy_at(s, g, -std::numeric_limits<double>::infinity());
  for (double cut : cuts) best = std::max(best, accuracy_at(s, g, cut));
  const double tau = mahal::select_threshold(s, g, mahal::threshold_rule::best_accuracy);
  require(!std::isnan(tau) && accuracy_at(s, g, tau) == best, "best accuracy: the best cut");
  require(mahal::verification_accuracy(s, g, tau) == best, "verification_accuracy: the count");

  const double target = (mode % 11) / 10.0;
  const double tf = mahal::select_threshold(s, g, mahal::threshold_rule::target_far, target);
  require(!std::isnan(tf) && far_at(s, g, tf) <= target, "target far: FAR <= target");
  for (double cut : cuts)
    if (cut > tf) require(far_at(s, g, cut) > target, "target far: the largest such threshold");
  double best_tar = 0;  // at FAR <= target, over every cut (accepting nothing has FAR 0)
  for (double cut : cuts)
    if (far_at(s, g, cut) <= target) best_tar = std::max(best_tar, tar_at(s, g, cut));
  require(mahal::tar_at_far(roc, target) == best_tar, "tar at far: the best TAR within the FAR");

  const mahal::index_t folds = 2 + mode % 9;
  const auto n = static_cast<mahal::index_t>(s.size());
  if (n >= folds) {
    std::vector<mahal::index_t> contiguous(s.size()), interleaved(s.size());
    for (mahal::index_t f = 0; f < folds; ++f)  // the plain overload's folds
      for (mahal::index_t i = f * n / folds; i < (f + 1) * n / folds; ++i)
        contiguous[static_cast<std::size_t>(i)] = f;
    for (mahal::index_t i = 0; i < n; ++i) interleaved[static_cast<std::size_t>(i)] = i % folds;
    check_folds(s, g, contiguous, folds, mahal::kfold_accuracy(s, g, folds));
    check_folds(s, g, interleaved, folds, mahal::kfold_accuracy(s, g, interleaved, folds));
  }
}

}  // namespace

// The first byte picks the target FAR (mod 11, tenths) and the fold count (2 + mod 9).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::vector<double> scores;
  std::vector<std::uint8_t> genuine;
  decode(data, size, scores, genuine);
  try {
    check(scores, genuine, data[0]);
  } catch (const mahal::invalid_argument&) {
  }
  return 0;
}

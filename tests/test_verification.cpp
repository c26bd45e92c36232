// Verification: scores, thresholds and the evaluation figures on hand-computed fixtures.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "mahal/error.hpp"
#include "mahal/verification.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE("AUC by hand: P(genuine < impostor) with ties counted half") {
  // genuine {1, 2, 4}, impostor {3, 5}: of the 6 (g, i) pairs only (4, 3) is out of order.
  const std::vector<double> s = {1, 3, 2, 5, 4};
  const std::vector<std::uint8_t> g = {1, 0, 1, 0, 1};
  CHECK(area_under_roc(make_roc(s, g)) == doctest::Approx(5.0 / 6));
  // genuine {1, 2}, impostor {2, 3}: 3 ordered pairs + the tie (2, 2) at one half = 3.5 / 4.
  CHECK(area_under_roc(make_roc({1, 2, 2, 3}, {1, 1, 0, 0})) == doctest::Approx(0.875));
  const roc_curve roc = make_roc(s, g);
  REQUIRE(roc.far.size() == 6);
  CHECK(roc.tar[2] == doctest::Approx(2.0 / 3));  // threshold 2
  CHECK(roc.far[3] == doctest::Approx(0.5));      // threshold 3
  CHECK(tar_at_far(roc, 0.0) == doctest::Approx(2.0 / 3));
  CHECK(tar_at_far(roc, 0.5) == doctest::Approx(1.0));
}

TEST_CASE("EER in closed form on small examples") {
  // genuine {1, 2, 4}, impostor {3, 5}. FRR is 1/3 on [2, 4); FAR jumps 0 → 1/2 at 3.
  // Between the ROC points at thresholds 2 (FAR 0, FRR 1/3) and 3 (FAR 1/2, FRR 1/3), FAR =
  // FRR at t = 2/3: EER = 1/3, threshold 2 + 2/3.
  const auto e = equal_error_rate({1, 3, 2, 5, 4}, {1, 0, 1, 0, 1});
  CHECK(e.rate == doctest::Approx(1.0 / 3));
  CHECK(e.threshold == doctest::Approx(8.0 / 3));
  // genuine {1, 2, 3}, impostor {2.5, 4, 5}: at 2.5 FAR = FRR = 1/3 exactly.
  const auto e2 = equal_error_rate({1, 2, 3, 2.5, 4, 5}, {1, 1, 1, 0, 0, 0});
  CHECK(e2.rate == doctest::Approx(1.0 / 3));
  CHECK(e2.threshold == doctest::Approx(2.5));
  // Separable scores: EER 0.
  CHECK(equal_error_rate({1, 2, 3, 4}, {1, 1, 0, 0}).rate == 0.0);
}

TEST_CASE("thresholds: best accuracy, target FAR, accuracy of a threshold") {
  const std::vector<double> s = {1, 3, 2, 5, 4};
  const std::vector<std::uint8_t> g = {1, 0, 1, 0, 1};
  // Accepting <= 2 gets 4 of 5 right (4 rejected wrongly); <= 4 also 4 of 5: the smaller wins.
  const double tau = select_threshold(s, g, threshold_rule::best_accuracy);
  CHECK(tau == doctest::Approx(2.5));
  CHECK(verification_accuracy(s, g, tau) == doctest::Approx(0.8));
  CHECK(select_threshold(s, g, threshold_rule::target_far, 0.0) == doctest::Approx(2.0));
  CHECK(select_threshold(s, g, threshold_rule::target_far, 0.5) == doctest::Approx(4.0));
  CHECK(select_threshold(s, g, threshold_rule::eer) == doctest::Approx(8.0 / 3));
  CHECK_THROWS_AS(select_threshold({1, 2}, {1, 1}, threshold_rule::eer), invalid_argument);
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(make_roc({1, inf}, {1, 0}), invalid_argument);
  CHECK_THROWS_AS(make_roc({-inf, 1}, {1, 0}), invalid_argument);
  CHECK_THROWS_AS(make_roc({1, std::nan("")}, {1, 0}), invalid_argument);
}

TEST_CASE("target FAR when the smallest score is an impostor's: accept nothing") {
  // Found by fuzz/fuzz_verification.cpp: the threshold was the next double above the smallest
  // score, not below it, so it accepted that impostor (FAR 1/2 for a target of 0).
  for (const double low : {0.0, 1.5}) {
    CAPTURE(low);
    const std::vector<double> s = {low, low, 3};
    const std::vector<std::uint8_t> g = {0, 1, 1};
    const double tau = select_threshold(s, g, threshold_rule::target_far, 0.0);
    CHECK(tau < low);
    CHECK(verification_accuracy(s, g, tau) == doctest::Approx(1.0 / 3));  // all rejected
  }
}

TEST_CASE("10-fold accuracy (LFW protocol) on a fixture with one noisy fold") {
  // 10 folds of 4 trials: genuine 0.1·f and 1 + 0.1·f, impostors 3 + 0.1·f and 4; fold 7's
  // first genuine trial scores 10 (always rejected): that fold's accuracy is 3/4.
  std::vector<double> s;
  std::vector<std::uint8_t> g;
  for (int f = 0; f < 10; ++f) {
    s.insert(s.end(), {f == 7 ? 10.0 : 0.1 * f, 1 + 0.1 * f, 3 + 0.1 * f, 4});
    g.insert(g.end(), {1, 1, 0, 0});
  }
  const auto r = kfold_accuracy(s, g, 10);
  REQUIRE(r.accuracies.size() == 10);
  for (int f = 0; f < 10; ++f) CHECK(r.accuracies[f] == (f == 7 ? 0.75 : 1.0));
  CHECK(r.mean == doctest::Approx(0.975));
  // Sample standard deviation of nine 1s and one 0.75: sqrt((9·0.025² + 0.225²) / 9).
  CHECK(r.std == doctest::Approx(std::sqrt((9 * 0.025 * 0.025 + 0.225 * 0.225) / 9)));
}

TEST_CASE("k-fold accuracy with the folds given: the trials' order does not matter") {
  // The fixture above with the trials dealt round-robin (trial t of fold f at position
  // 10·t + (9 − f)): the same folds, so the same per-fold accuracies.
  std::vector<double> s(40);
  std::vector<std::uint8_t> g(40);
  std::vector<index_t> fold(40);
  for (int f = 0; f < 10; ++f) {
    const double trial[4] = {f == 7 ? 10.0 : 0.1 * f, 1 + 0.1 * f, 3 + 0.1 * f, 4};
    for (int t = 0; t < 4; ++t) {
      const int at = 10 * t + (9 - f);
      s[at] = trial[t];
      g[at] = t < 2 ? 1 : 0;
      fold[at] = f;
    }
  }
  const auto r = kfold_accuracy(s, g, fold, 10);
  REQUIRE(r.accuracies.size() == 10);
  for (int f = 0; f < 10; ++f) CHECK(r.accuracies[f] == (f == 7 ? 0.75 : 1.0));
  CHECK(r.mean == doctest::Approx(0.975));
  fold[5] = 10;
  CHECK_THROWS_AS(kfold_accuracy(s, g, fold, 10), invalid_argument);  // outside 0..9
  fold[5] = 0;
  CHECK_THROWS_AS(kfold_accuracy(s, g, fold, 11), invalid_argument);  // fold 10 empty
  fold.pop_back();
  CHECK_THROWS_AS(kfold_accuracy(s, g, fold, 10), invalid_argument);  // one number short
}

TEST_CASE("gallery scores: min, mean and k-NN distances; per-class thresholds") {
  matrix<double> E(2, 5);
  E << 0, 2, 0, 10, 10,  //
      0, 0, 4, 0, 1;
  label_vector y(5);
  y << 0, 0, 0, 1, 1;
  gallery<double> gal(E, y);
  vector<double> p(2);
  p << 0, 1;  // distances to class 0: 1, sqrt(5), 3
  CHECK(gal.score(p, 0, {.kind = score_kind::min}) == doctest::Approx(1.0));
  CHECK(gal.score(p, 0, {.kind = score_kind::mean}) == doctest::Approx((4 + std::sqrt(5)) / 3));
  CHECK(gal.score(p, 0, {.kind = score_kind::knn, .k = 2}) ==
        doctest::Approx((1 + std::sqrt(5)) / 2));
  CHECK(gal.count(1) == 2);
  CHECK_THROWS_AS(gal.score(p, 2, {}), invalid_argument);
  // Spreads (min, leave-one-out): class 0 {2, 2, 4} → 8/3; class 1 {1, 1} → 1. Median of the
  // two spreads (upper) is 8/3.
  CHECK(gal.spread(0) == doctest::Approx(8.0 / 3));
  CHECK(gal.spread(1) == doctest::Approx(1.0));
  const auto tau = per_class_thresholds(gal, 2.0);
  CHECK(tau[0] == doctest::Approx(2.0));
  CHECK(tau[1] == doctest::Approx(2.0 * 1.0 / (8.0 / 3)));
  verifier<double> v(gal, {.kind = score_kind::min}, 1.5);
  CHECK(v.verify(p, 0).accept);
  CHECK_FALSE(v.verify(p, 1).accept);
  vector<double> q(2);
  q << 10, 2;  // 1 from class 1's nearest sample: accepted at 1.5, rejected at 0.75 per class
  CHECK(v.verify(q, 1).accept);
  v.use_per_class_thresholds();
  CHECK(v.threshold(1) == doctest::Approx(1.5 * 3.0 / 8));
  CHECK_FALSE(v.verify(q, 1).accept);
  // One-shot enrolment: one sample per class.
  gallery<double> one;
  one.enrol(E.leftCols(1), y.head(1));
  one.enrol(E.rightCols(1), y.tail(1));
  CHECK(one.score(q, 1) == doctest::Approx(1.0));
  CHECK(one.spread(1) == 0.0);
}

// mahal/verification.hpp — verification: "is this sample of class c?" → yes/no and a score.
//
// Recognition picks one of K classes; verification answers yes/no for a (sample, claimed class)
// pair, as in biometrics (faces, signatures), where one class's samples may vary more than
// two classes differ. Samples are compared in an embedding: E = X for the Euclidean metric,
// E = L·X for a learned metric (metric<T>::transform), E = G_W(X) for a Siamese network
// (nn::sequential::embed). A class is enrolled with any number of samples (one-shot: one).
//
// Scores are distances (lower = more alike) to the claimed class's enrolled samples:
//   min   min_i ||e − g_i||                       (nearest enrolled sample)
//   mean  mean_i ||e − g_i||
//   knn   mean of the k smallest ||e − g_i||       (k = 1 is min)
// and a claim is accepted when score <= threshold. Thresholds are global (chosen on labelled
// trials at the best accuracy, at the equal error rate, or at a target false accept rate) or
// per class (subject-specific: the global threshold scaled by the class's own spread).
//
// Evaluation of a set of trials (score, genuine?): ROC (TAR against FAR), AUC, EER, TAR@FAR,
// and the LFW protocol's accuracy (Huang et al. 2007): 10 folds, the threshold chosen on 9 at
// the best accuracy and applied to the 10th, mean ± standard deviation over the folds.
//
//   mahal::gallery<float> g(E_enrol, y_enrol);                  // k×n embedded, n labels
//   auto s = g.scores(E_probe, claimed, {.kind = mahal::score_kind::min});
//   auto roc = mahal::roc_curve(s, genuine);
//   double auc = mahal::area_under_roc(roc);
//   auto eer = mahal::equal_error_rate(s, genuine);             // eer.rate, eer.threshold
//   auto acc = mahal::kfold_accuracy(s, genuine, 10);           // acc.mean, acc.std
#pragma once

#include <cstdint>
#include <vector>

#include "mahal/matrix.hpp"

namespace mahal {

enum class score_kind { min, mean, knn };

struct score_options {
  score_kind kind = score_kind::min;
  index_t k = 3;  // neighbours averaged by knn (capped at the class's enrolled count)
};

// The enrolled samples of each class, in an embedding (k×n, one sample per column).
template <class T>
class gallery {
 public:
  gallery() = default;
  // Enrols the columns of E with labels y (labels in 0..C−1; classes may have any count >= 1).
  gallery(matrix_ref<T> E, label_ref y) { enrol(E, y); }
  // Adds samples (to new or already enrolled classes). Throws invalid_argument on shape,
  // NaN/Inf or label errors, or when E's row count differs from earlier enrolments.
  void enrol(matrix_ref<T> E, label_ref y);

  index_t dim() const { return dim_; }
  index_t classes() const { return static_cast<index_t>(members_.size()); }
  index_t count(label_t c) const;  // enrolled samples of class c (0 when none)
  const matrix<T>& samples(label_t c) const;

  // Score of one probe e (dim()) against claimed class c; throws invalid_argument when c has
  // no enrolled sample.
  double score(vector_ref<T> e, label_t claimed, const score_options& options = {}) const;
  // Scores of the columns of E (dim()×m) against claimed (m labels): m values.
  std::vector<double> scores(matrix_ref<T> E, label_ref claimed,
                             const score_options& options = {}) const;
  // The class's spread: the mean leave-one-out score of its own samples (0 for one sample).
  double spread(label_t c, const score_options& options = {}) const;

 private:
  index_t dim_ = 0;
  std::vector<matrix<T>> members_;
};

// ---- thresholds --------------------------------------------------------------------------------
enum class threshold_rule {
  best_accuracy,  // maximises (true accepts + true rejects) / trials
  eer,            // where FAR = FRR (the equal error rate's threshold)
  target_far,     // the largest threshold whose FAR <= target
};

// A global threshold from labelled trials: scores (distances) and genuine[i] = 1 when trial i
// claims the sample's true class. Every function taking trials throws invalid_argument unless
// there is at least one genuine and one impostor trial and every score is finite.
double select_threshold(const std::vector<double>& scores, const std::vector<std::uint8_t>& genuine,
                        threshold_rule rule, double target_far = 1e-3);

// Subject-specific thresholds: τ_c = τ · spread_c / median spread over the classes with two or
// more enrolled samples; classes with one sample (or a zero median) keep τ. Size classes().
template <class T>
std::vector<double> per_class_thresholds(const gallery<T>& g, double global_threshold,
                                         const score_options& options = {});

struct verify_result {
  bool accept = false;
  double score = 0;      // the distance score
  double threshold = 0;  // the threshold it was compared with
};

// A gallery, a score rule and thresholds: verify(sample, claimed class) → yes/no and score.
template <class T>
class verifier {
 public:
  verifier(gallery<T> g, score_options options, double threshold)
      : gallery_(std::move(g)), options_(options), threshold_(threshold) {}
  // Switches to per-class thresholds derived from the global one (per_class_thresholds).
  void use_per_class_thresholds();
  verify_result verify(vector_ref<T> e, label_t claimed) const;
  const gallery<T>& get_gallery() const { return gallery_; }
  double threshold(label_t c) const;

 private:
  gallery<T> gallery_;
  score_options options_;
  double threshold_;
  std::vector<double> per_class_;
};

// ---- evaluation --------------------------------------------------------------------------------
struct roc_curve {
  // Points at every distinct score, from accept-nothing (0, 0) to accept-all (1, 1):
  std::vector<double> far;         // false accept rate: impostor trials with score <= threshold
  std::vector<double> tar;         // true accept rate: genuine trials with score <= threshold
  std::vector<double> thresholds;  // −inf for the first point
};

roc_curve make_roc(const std::vector<double>& scores, const std::vector<std::uint8_t>& genuine);

// Trapezoidal area under the ROC: P(genuine score < impostor score) + ½·P(tie).
double area_under_roc(const roc_curve& roc);

struct eer_result {
  double rate = 0;       // FAR = FRR where the two cross (linear between ROC points)
  double threshold = 0;  // the score at that point (interpolated likewise)
};
eer_result equal_error_rate(const std::vector<double>& scores,
                            const std::vector<std::uint8_t>& genuine);

// The highest TAR among the ROC points with FAR <= far.
double tar_at_far(const roc_curve& roc, double far);

// Accuracy of a threshold on trials: (genuine with score <= τ + impostors with score > τ) / n.
double verification_accuracy(const std::vector<double>& scores,
                             const std::vector<std::uint8_t>& genuine, double threshold);

struct kfold_result {
  double mean = 0;                 // mean test-fold accuracy
  double std = 0;                  // sample standard deviation over the folds
  std::vector<double> accuracies;  // per fold
  std::vector<double> thresholds;  // per fold, chosen on the other folds
};
// The LFW protocol: trials split in order into `folds` contiguous folds (the LFW pair file's
// ten sets; shuffle first for other data); each fold is tested with the best-accuracy
// threshold of the others. Needs folds >= 2 and at least `folds` trials.
kfold_result kfold_accuracy(const std::vector<double>& scores,
                            const std::vector<std::uint8_t>& genuine, index_t folds = 10);
// The same with the folds given: trial i belongs to fold fold_of[i] in 0..folds−1, every fold
// non-empty (for example all trials of one probe in one fold, so that no probe is on both
// sides of a split).
kfold_result kfold_accuracy(const std::vector<double>& scores,
                            const std::vector<std::uint8_t>& genuine,
                            const std::vector<index_t>& fold_of, index_t folds);

}  // namespace mahal

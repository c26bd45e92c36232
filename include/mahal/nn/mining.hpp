// mahal/nn/mining.hpp — which pairs and triplets a training step sees.
//
// Random sampling: balanced pairs (half of one class, half of two classes) and random
// triplets, drawn with mahal's seeded generator so a seed fixes every batch on every platform.
// In-batch mining (Schroff et al. 2015, §3.2): draw P classes × K samples, embed them once, and
// for every (anchor, positive) pair of the batch pick the negative from the batch's distance
// matrix: the hardest (smallest ||f(a) − f(n)||²) or the hardest semi-hard one
// (||f(a) − f(p)||² < ||f(a) − f(n)||², the negatives beyond the positive).
//
// A batch is a list of sample columns (indices into the training set X, each once) and pairs
// or triplets that index positions in that list, so each sample is embedded once per step.
//
//   mahal::nn::class_index idx(y);
//   mahal::detail::rng g(seed);
//   auto b = mahal::nn::balanced_pairs(idx, 256, g);   // b.columns, b.pairs, b.similar
#pragma once

#include <cstdint>
#include <vector>

#include "mahal/detail/random.hpp"
#include "mahal/matrix.hpp"

namespace mahal::nn {

// The members of each class, for sampling.
class class_index {
 public:
  // Labels in [0, C); throws invalid_argument when no class has two members (no positive pair)
  // or only one class is present (no negative).
  explicit class_index(label_ref y);
  index_t size() const { return static_cast<index_t>(labels_.size()); }
  label_t label(index_t i) const { return labels_[static_cast<std::size_t>(i)]; }
  const std::vector<label_t>& labels() const { return labels_; }
  const std::vector<std::vector<label_t>>& members() const { return members_; }
  const std::vector<label_t>& pair_classes() const { return pair_classes_; }  // >= 2 members
  const std::vector<label_t>& present() const { return present_; }            // >= 1 member

 private:
  std::vector<label_t> labels_;
  std::vector<std::vector<label_t>> members_;
  std::vector<label_t> pair_classes_, present_;
};

struct pair_batch {
  std::vector<label_t> columns;       // distinct sample indices into X
  pair_list pairs;                    // positions in `columns`
  std::vector<std::uint8_t> similar;  // 1 when the pair is of one class
};

struct triplet_batch {
  std::vector<label_t> columns;  // distinct sample indices into X
  triplet_list triplets;         // positions in `columns`
};

// `count` pairs: the first ⌈count/2⌉ similar (a class with >= 2 members uniformly, then two
// distinct members), the rest dissimilar (two distinct present classes, a member of each).
pair_batch balanced_pairs(const class_index& idx, index_t count, detail::rng& g);

// `count` triplets: anchor class uniform over classes with >= 2 members, anchor and positive
// distinct members, negative a member of another present class.
triplet_batch random_triplets(const class_index& idx, index_t count, detail::rng& g);

// P classes (of those with >= 2 members; all of them when fewer) × K members each (without
// replacement while the class has enough, then with): the batch for in-batch mining.
struct pk_batch {
  std::vector<label_t> columns;  // sample indices into X (distinct)
  std::vector<label_t> labels;   // their labels
};
pk_batch sample_pk(const class_index& idx, index_t classes_per_batch, index_t per_class,
                   detail::rng& g);

enum class negative_mining {
  hard,       // argmin_n D²(a, n)
  semi_hard,  // argmin_n D²(a, n) over D²(a, n) > D²(a, p); pairs without one are skipped
};

// Every ordered (anchor, positive) pair of one label with its mined negative, from the batch's
// squared distances (B×B, symmetric) and labels (B). Triplets index positions 0..B−1.
template <class T>
triplet_list mine_triplets(const matrix<T>& sqdist, const std::vector<label_t>& labels,
                           negative_mining mode);

}  // namespace mahal::nn

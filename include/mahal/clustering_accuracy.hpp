// mahal/clustering_accuracy.hpp — the pairwise clustering accuracy of Xing et al. (NIPS 2002).
//
// Xing, Ng, Jordan & Russell, "Distance metric learning, with application to clustering with
// side-information", NIPS 2002, §4 score a clustering ĉ against the true classes c by how many
// pairs of points it treats as the truth does:
//
//   plain:     Σ_{i<j} 1[ 1[c_i = c_j] = 1[ĉ_i = ĉ_j] ] / (n(n−1)/2)
//   balanced:  ½·(agreement rate over same-class pairs) + ½·(agreement rate over
//              different-class pairs), i.e. (i, j) drawn from the same class with probability
//              ½ and from different classes with probability ½ — the paper's variant for
//              problems with more than two clusters, where almost every clustering gets most
//              different-class pairs right and the plain score is inflated.
//   automatic: plain when c has at most 2 distinct classes, balanced when it has more. This is
//              what python_ref/mahal_ref.py's xing_accuracy(balanced=None) does.
// When one of the two pair groups is empty (one class, or all classes singletons) the balanced
// score is the agreement rate over the group that exists (as in python_ref).
//
// Exact over all n(n−1)/2 pairs but computed in O(n + C·K) from the C×K contingency table
// N_ck = #{i : c_i = c, ĉ_i = k} with row sums a_c and column sums b_k:
//   same-class pairs            Σ_c C(a_c, 2)
//   same class, same cluster    Σ_ck C(N_ck, 2)              (agree among same-class pairs)
//   same-cluster pairs          Σ_k C(b_k, 2)
//   different class & cluster   C(n, 2) − Σ_c C(a_c, 2) − Σ_k C(b_k, 2) + Σ_ck C(N_ck, 2)
//                                                           (agree among different-class pairs)
// Labels and cluster ids may be any int32 values (they are only compared for equality), so the
// score does not change when either side's ids are permuted.
//
//   mahal::label_vector y = ..., c_hat = mahal::kmeans(*be, Z, opt).assignment;
//   double acc = mahal::xing_accuracy(y, c_hat);
#pragma once

#include <cstdint>

#include "mahal/matrix.hpp"

namespace mahal {

enum class pair_accuracy_form {
  automatic,  // plain for <= 2 true classes, balanced for more
  plain,      // every pair weighs the same
  balanced,   // same-class and different-class pairs weigh ½ each
};

// Pair counts behind the accuracy (all exact, over the pairs i < j).
struct pair_agreement {
  std::int64_t pairs = 0;       // n(n−1)/2
  std::int64_t same_pairs = 0;  // pairs with c_i = c_j
  std::int64_t same_agree = 0;  // ... that are also in one cluster
  std::int64_t diff_pairs = 0;  // pairs with c_i ≠ c_j
  std::int64_t diff_agree = 0;  // ... that are also in different clusters
  index_t classes = 0;          // distinct values of c
  index_t clusters = 0;         // distinct values of ĉ
};

// truth (n) and assignment (n), n >= 2. Throws invalid_argument when the sizes differ or n < 2.
pair_agreement count_pair_agreement(label_ref truth, label_ref assignment);

// The accuracy in [0, 1] in the requested form (see above).
double xing_accuracy(label_ref truth, label_ref assignment,
                     pair_accuracy_form form = pair_accuracy_form::automatic);

// The accuracy from counts already taken.
double xing_accuracy(const pair_agreement& counts,
                     pair_accuracy_form form = pair_accuracy_form::automatic);

}  // namespace mahal

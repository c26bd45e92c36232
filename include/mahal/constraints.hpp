// mahal/constraints.hpp — side information from labels: similar (S) and dissimilar (D) pair
// sets, Xing et al.'s connected-component protocol, and triplets.
//
// Every pair (i, j) has i < j. Sampling is seeded and reproducible on every platform
// (mahal::detail::rng). Xing, Ng, Jordan & Russell (NIPS 2002), §4: S is grown from random
// same-class pairs until the graph on the n points with edges S has a target number of
// connected components (≈ 0.9·n for "little" side information, ≈ 0.7·n for "much").
//
//   auto [S, D] = mahal::all_pairs_by_label(y);
//   mahal::pair_list S2 = mahal::xing_side_information(y, /*components=*/135, /*seed=*/1);
#pragma once

#include <cstdint>

#include "mahal/matrix.hpp"

namespace mahal {

struct pair_constraints {
  pair_list similar;     // S: pairs of the same class
  pair_list dissimilar;  // D: pairs of different classes
};

// Every same-class pair i < j into S and every different-class pair into D, in (i, j)
// lexicographic order. O(n²) pairs: for small n only (the solvers can take D implicitly).
pair_constraints all_pairs_by_label(label_ref y);

// S alone: every same-class pair i < j in (i, j) lexicographic order (all_pairs_by_label's
// `similar`), without building the O(n²) list of different-class pairs.
pair_list same_class_pairs(label_ref y);

// n_similar distinct same-class pairs and n_dissimilar distinct different-class pairs,
// drawn uniformly without replacement. Throws invalid_argument when more are asked for than
// exist.
pair_constraints sample_pairs(label_ref y, index_t n_similar, index_t n_dissimilar,
                              std::uint64_t seed);

// Distinct random same-class pairs, added one at a time until the S-graph has at most
// `target_components` connected components. The target must be at least the number of
// non-empty classes (pairs never join classes) and at most n.
pair_list xing_side_information(label_ref y, index_t target_components, std::uint64_t seed);

struct component_labels {
  label_vector id;     // n: component of each point, numbered 0.. in order of first point
  index_t count = 0;   // number of components
};
// Connected components of the graph on n points whose edges are the pairs.
component_labels connected_components(index_t n, const pair_list& pairs);

// `count` random triplets (anchor, positive of the anchor's class, negative of another class),
// anchors uniform over points whose class has another member. Throws when no triplet exists.
triplet_list sample_triplets(label_ref y, index_t count, std::uint64_t seed);

}  // namespace mahal

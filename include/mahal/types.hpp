// mahal/types.hpp — the index types every part of mahal speaks in (plain C++, no Eigen).
//
// Conventions (docs/ARCHITECTURE.md):
//   * data X is d×n, column-major, one sample per column (the memory of a numpy C-order (n, d)
//     array, so a numpy buffer maps without a copy);
//   * labels are int32 in 0..C-1, one per column of X;
//   * a linear map L is k×d (k <= d), the metric is A = LᵀL and d_A(x, y)² = ||L(x − y)||²;
//   * a diagonal metric is a vector a >= 0 with d(x, y)² = Σ_t a_t (x_t − y_t)².
#pragma once

#include <cstdint>
#include <vector>

namespace mahal {

using index_t = std::int64_t;  // sizes and counts
using label_t = std::int32_t;  // class ids 0..C-1 and point indices inside pair lists

// Two column indices of X. Pair lists are plain vectors of these: in memory, i0 j0 i1 j1 ...
struct index_pair {
  label_t i = 0;
  label_t j = 0;
  friend bool operator==(const index_pair&, const index_pair&) = default;
};
using pair_list = std::vector<index_pair>;

// An (anchor, positive, negative) triple of column indices of X.
struct index_triplet {
  label_t anchor = 0;
  label_t positive = 0;
  label_t negative = 0;
  friend bool operator==(const index_triplet&, const index_triplet&) = default;
};
using triplet_list = std::vector<index_triplet>;

}  // namespace mahal

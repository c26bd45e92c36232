// Constraint generation from labels.
#include <doctest/doctest.h>

#include <set>

#include "mahal/constraints.hpp"
#include "mahal/error.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE("all pairs by label, by hand") {
  const label_vector y = (label_vector(4) << 0, 1, 0, 1).finished();
  const auto c = all_pairs_by_label(y);
  CHECK(c.similar == pair_list{{0, 2}, {1, 3}});
  CHECK(c.dissimilar == pair_list{{0, 1}, {0, 3}, {1, 2}, {2, 3}});
  CHECK(same_class_pairs(y) == pair_list{{0, 2}, {1, 3}});
  const label_vector many = test::random_labels(50, 4, 3);
  CHECK(same_class_pairs(many) == all_pairs_by_label(many).similar);
}

TEST_CASE("sampled pairs are distinct, ordered, of the right kind and reproducible") {
  const label_vector y = test::random_labels(60, 3, 91);
  for (const index_t count : {10, 400}) {  // the sparse (rejection) and dense (shuffle) paths
    const auto c = sample_pairs(y, count, count, 7);
    CHECK(static_cast<index_t>(c.similar.size()) == count);
    CHECK(static_cast<index_t>(c.dissimilar.size()) == count);
    std::set<std::pair<int, int>> seen;
    for (const auto& p : c.similar) {
      CHECK(p.i < p.j);
      CHECK(y(p.i) == y(p.j));
      CHECK(seen.insert({p.i, p.j}).second);
    }
    for (const auto& p : c.dissimilar) {
      CHECK(p.i < p.j);
      CHECK(y(p.i) != y(p.j));
      CHECK(seen.insert({p.i, p.j}).second);
    }
    CHECK(sample_pairs(y, count, count, 7).similar == c.similar);
    CHECK(sample_pairs(y, count, count, 8).similar != c.similar);
  }
  const label_vector tiny = (label_vector(3) << 0, 0, 1).finished();
  CHECK_THROWS_WITH_AS(sample_pairs(tiny, 2, 0, 1), doctest::Contains("only 1 exist"),
                       invalid_argument);
}

TEST_CASE("Xing side information stops at the target number of components") {
  const label_vector y = test::random_labels(120, 4, 92);
  for (const index_t target : {108, 84, 4}) {
    const pair_list S = xing_side_information(y, target, 3);
    const auto comp = connected_components(120, S);
    CHECK(comp.count == target);
    for (const auto& p : S) CHECK(y(p.i) == y(p.j));
    // The last pair was the one that reached the target: without it there are more components.
    pair_list shorter(S.begin(), S.end() - 1);
    CHECK(connected_components(120, shorter).count == target + 1);
  }
  CHECK_THROWS_AS(xing_side_information(y, 3, 1), invalid_argument);  // fewer than classes
  CHECK_THROWS_AS(xing_side_information(y, 121, 1), invalid_argument);
}

TEST_CASE("connected components by hand, and triplets") {
  const auto c = connected_components(6, {{0, 2}, {2, 4}, {5, 3}});
  CHECK(c.count == 3);
  CHECK(c.id == (label_vector(6) << 0, 1, 0, 2, 0, 2).finished());
  CHECK_THROWS_AS(connected_components(3, {{0, 3}}), invalid_argument);

  const label_vector y = (label_vector(5) << 0, 0, 1, 1, 2).finished();
  const triplet_list t = sample_triplets(y, 200, 5);
  CHECK(t.size() == 200);
  for (const auto& tr : t) {
    CHECK(tr.anchor != tr.positive);
    CHECK(y(tr.anchor) == y(tr.positive));
    CHECK(y(tr.anchor) != y(tr.negative));
    CHECK(tr.anchor != 4);  // class 2 has a single member: never an anchor
  }
  CHECK_THROWS_AS(sample_triplets((label_vector(2) << 0, 0).finished(), 1, 1), invalid_argument);
}

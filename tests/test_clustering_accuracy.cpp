// Xing's pairwise clustering accuracy against hand-counted fixtures, a brute-force loop over
// all pairs, and python_ref/mahal_ref.py's xing_accuracy (values pasted from
// python_ref/generate_accuracy_golden.py).
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "mahal/clustering_accuracy.hpp"
#include "mahal/error.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

label_vector labels(const std::vector<label_t>& v) {
  label_vector out(static_cast<index_t>(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i) out(static_cast<index_t>(i)) = v[i];
  return out;
}

// The definition, one pair at a time.
pair_agreement brute_force(const label_vector& c, const label_vector& k) {
  pair_agreement p;
  for (index_t i = 0; i < c.size(); ++i)
    for (index_t j = i + 1; j < c.size(); ++j) {
      const bool same = c(i) == c(j), together = k(i) == k(j);
      ++p.pairs;
      if (same) {
        ++p.same_pairs;
        p.same_agree += together ? 1 : 0;
      } else {
        ++p.diff_pairs;
        p.diff_agree += together ? 0 : 1;
      }
    }
  return p;
}

struct golden {
  std::vector<label_t> truth, clusters;
  double automatic, plain, balanced;
};

// python3 python_ref/generate_accuracy_golden.py
const std::vector<golden> kGolden = {
    {{0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0},
     {0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0},
     0.8405797101449275,
     0.8405797101449275,
     0.8403701561596298},
    {{0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1},
     {2, 1, 2, 0, 0, 1, 3, 1, 0, 0, 3, 0, 2, 1, 0, 1, 0, 1, 0, 0, 0, 1, 2, 1, 1, 1, 0, 3, 3, 1},
     0.7126436781609196,
     0.7126436781609196,
     0.7062669262017602},
    {{0, 1, 2, 0, 0, 1, 0, 1, 0, 1, 0, 2, 0, 1, 2, 2, 1, 0,
      0, 0, 2, 2, 2, 2, 2, 2, 0, 1, 2, 0, 0, 2, 2, 0, 2, 2},
     {0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 2, 2, 0, 1, 2, 2, 1, 0,
      0, 1, 2, 1, 2, 2, 0, 2, 0, 2, 2, 0, 1, 2, 2, 2, 1, 2},
     0.6596500820120285,
     0.7,
     0.6596500820120285},
    {{0, 1, 2, 3, 1, 2, 0, 1, 0, 2, 0, 3, 1, 1, 3, 1, 3, 3, 0, 2,
      1, 3, 1, 1, 2, 2, 2, 3, 2, 2, 3, 1, 2, 0, 3, 1, 1, 2, 3, 1},
     {0, 1, 3, 1, 3, 2, 0, 1, 0, 2, 4, 5, 1, 1, 3, 1, 4, 3, 5, 2,
      5, 3, 1, 1, 1, 3, 2, 3, 3, 1, 3, 1, 2, 0, 3, 1, 1, 3, 0, 0},
     0.6477345949810664,
     0.7576923076923077,
     0.6477345949810664},
    {{0, 1, 2, 3, 4, 0, 0, 1, 2, 4, 4, 2, 1, 4, 4, 4, 1, 2, 1, 1},
     {0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0},
     0.6006962132789948,
     0.531578947368421,
     0.6006962132789948},
};

}  // namespace

TEST_CASE("a hand-counted fixture: 5 points, 2 classes") {
  // c = (0 0 0 1 1), ĉ = (0 0 1 1 1). Pairs: 10. Same-class pairs: (0,1) (0,2) (1,2) (3,4) = 4,
  // of which ĉ keeps together (0,1) and (3,4): 2 agree. Different-class pairs: 6, of which ĉ
  // separates (0,3) (0,4) (1,3) (1,4): 4 agree (the pairs (2,3) and (2,4) are joined).
  // Plain: (2 + 4) / 10 = 0.6. Balanced: ½·2/4 + ½·4/6 = 7/12.
  const label_vector c = labels({0, 0, 0, 1, 1}), k = labels({0, 0, 1, 1, 1});
  const pair_agreement p = count_pair_agreement(c, k);
  CHECK(p.pairs == 10);
  CHECK(p.same_pairs == 4);
  CHECK(p.same_agree == 2);
  CHECK(p.diff_pairs == 6);
  CHECK(p.diff_agree == 4);
  CHECK(p.classes == 2);
  CHECK(p.clusters == 2);
  CHECK(xing_accuracy(c, k) == doctest::Approx(0.6).epsilon(1e-15));
  CHECK(xing_accuracy(c, k, pair_accuracy_form::plain) == doctest::Approx(0.6).epsilon(1e-15));
  CHECK(xing_accuracy(c, k, pair_accuracy_form::balanced) ==
        doctest::Approx(7.0 / 12.0).epsilon(1e-15));
}

TEST_CASE("a hand-counted fixture: 3 classes use the balanced form") {
  // c = (0 0 1 1 2 2), every point in one cluster: same-class pairs 3, all agree; different-class
  // pairs 12, none agree. Automatic = balanced = ½·1 + ½·0 = 0.5; plain = 3/15 = 0.2.
  const label_vector c = labels({0, 0, 1, 1, 2, 2}), k = labels({7, 7, 7, 7, 7, 7});
  CHECK(xing_accuracy(c, k) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(xing_accuracy(c, k, pair_accuracy_form::plain) == doctest::Approx(0.2).epsilon(1e-15));
  // All singletons: same-class pairs all disagree, different-class ones all agree.
  const label_vector s = labels({0, 1, 2, 3, 4, 5});
  CHECK(xing_accuracy(c, s) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(xing_accuracy(c, s, pair_accuracy_form::plain) ==
        doctest::Approx(12.0 / 15.0).epsilon(1e-15));
}

TEST_CASE("a perfect clustering scores 1 whatever its cluster ids") {
  const label_vector c = labels({0, 0, 1, 1, 2, 2, 2}), k = labels({5, 5, -3, -3, 9, 9, 9});
  CHECK(xing_accuracy(c, k) == 1.0);
  CHECK(xing_accuracy(c, k, pair_accuracy_form::plain) == 1.0);
}

TEST_CASE("degenerate pair groups fall back to the group that exists") {
  // One class: only same-class pairs; balanced = agreement over them = C(2,2)+C(2,2) / C(4,2).
  const label_vector one = labels({3, 3, 3, 3}), k = labels({0, 0, 1, 1});
  CHECK(xing_accuracy(one, k, pair_accuracy_form::balanced) ==
        doctest::Approx(2.0 / 6.0).epsilon(1e-15));
  // All classes singletons: only different-class pairs.
  const label_vector all = labels({0, 1, 2, 3});
  CHECK(xing_accuracy(all, k, pair_accuracy_form::balanced) ==
        doctest::Approx(4.0 / 6.0).epsilon(1e-15));
}

TEST_CASE("agrees with python_ref's xing_accuracy") {
  for (std::size_t t = 0; t < kGolden.size(); ++t) {
    CAPTURE(t);
    const golden& g = kGolden[t];
    const label_vector c = labels(g.truth), k = labels(g.clusters);
    CHECK(xing_accuracy(c, k) == doctest::Approx(g.automatic).epsilon(1e-14));
    CHECK(xing_accuracy(c, k, pair_accuracy_form::plain) ==
          doctest::Approx(g.plain).epsilon(1e-14));
    CHECK(xing_accuracy(c, k, pair_accuracy_form::balanced) ==
          doctest::Approx(g.balanced).epsilon(1e-14));
  }
}

TEST_CASE("the contingency-table counts equal a brute-force loop over all pairs") {
  // Small and large numbers of classes and clusters; the last grids take the sparse table.
  struct shape {
    index_t n;
    label_t classes, clusters;
  };
  const std::uint64_t seed = 41;
  CAPTURE(seed);
  for (const shape s : {shape{2, 1, 1}, shape{50, 2, 2}, shape{97, 3, 5}, shape{300, 7, 4},
                        shape{400, 150, 120}, shape{500, 500, 500}}) {
    CAPTURE(s.n);
    CAPTURE(s.classes);
    CAPTURE(s.clusters);
    const label_vector c = test::random_labels(s.n, s.classes, seed);
    const label_vector k = test::random_labels(s.n, s.clusters, seed + 1);
    const pair_agreement fast = count_pair_agreement(c, k), slow = brute_force(c, k);
    CHECK(fast.pairs == slow.pairs);
    CHECK(fast.same_pairs == slow.same_pairs);
    CHECK(fast.same_agree == slow.same_agree);
    CHECK(fast.diff_pairs == slow.diff_pairs);
    CHECK(fast.diff_agree == slow.diff_agree);
  }
}

TEST_CASE("invariant to permuting the cluster ids and the class ids") {
  const label_vector c = test::random_labels(200, 4, 5), k = test::random_labels(200, 3, 6);
  const std::vector<label_t> class_map = {2, 0, 3, 1}, cluster_map = {10, -4, 7};
  label_vector c2(c.size()), k2(k.size());
  for (index_t i = 0; i < c.size(); ++i) {
    c2(i) = class_map[c(i)];
    k2(i) = cluster_map[k(i)];
  }
  for (const auto form :
       {pair_accuracy_form::automatic, pair_accuracy_form::plain, pair_accuracy_form::balanced}) {
    const double base = xing_accuracy(c, k, form);
    CHECK(xing_accuracy(c, k2, form) == base);
    CHECK(xing_accuracy(c2, k, form) == base);
    CHECK(xing_accuracy(c2, k2, form) == base);
  }
}

TEST_CASE("bad input") {
  CHECK_THROWS_AS(count_pair_agreement(labels({0, 1, 0}), labels({0, 1})), invalid_argument);
  CHECK_THROWS_AS(xing_accuracy(labels({0}), labels({0})), invalid_argument);
  CHECK_THROWS_AS(xing_accuracy(label_vector(), label_vector()), invalid_argument);
  pair_agreement bad;
  bad.pairs = 3;
  bad.same_pairs = 2;
  bad.diff_pairs = 2;
  CHECK_THROWS_AS(xing_accuracy(bad), invalid_argument);
}

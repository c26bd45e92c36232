#include "mahal/constraints.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_set>
#include <vector>

#include "mahal/detail/random.hpp"
#include "mahal/error.hpp"
#include "mahal/neighbors.hpp"

namespace mahal {
namespace {

std::uint64_t pair_key(label_t i, label_t j) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(i)) << 32) |
         static_cast<std::uint32_t>(j);
}

index_pair ordered(label_t a, label_t b) { return a < b ? index_pair{a, b} : index_pair{b, a}; }

// Union–find with path halving and union by size.
class disjoint_sets {
 public:
  explicit disjoint_sets(index_t n) : parent_(static_cast<std::size_t>(n)), size_(parent_.size(), 1) {
    std::iota(parent_.begin(), parent_.end(), 0);
    count_ = n;
  }
  label_t find(label_t v) {
    while (parent_[v] != v) v = parent_[v] = parent_[parent_[v]];
    return v;
  }
  void join(label_t a, label_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (size_[a] < size_[b]) std::swap(a, b);
    parent_[b] = a;
    size_[a] += size_[b];
    --count_;
  }
  index_t count() const { return count_; }

 private:
  std::vector<label_t> parent_;
  std::vector<index_t> size_;
  index_t count_ = 0;
};

// Members of each class, for drawing same-class pairs.
std::vector<std::vector<label_t>> members_by_class(label_ref y) {
  std::vector<std::vector<label_t>> members(static_cast<std::size_t>(y.maxCoeff() + 1));
  for (index_t t = 0; t < y.size(); ++t) members[y(t)].push_back(static_cast<label_t>(t));
  return members;
}

// Draws a uniformly random same-class pair: class with probability ∝ C(n_c, 2), then two
// distinct members.
class same_class_pair_sampler {
 public:
  explicit same_class_pair_sampler(label_ref y) : members_(members_by_class(y)) {
    for (const auto& m : members_) {
      const index_t c = static_cast<index_t>(m.size());
      total_ += c * (c - 1) / 2;
      cumulative_.push_back(total_);
    }
  }
  index_t total() const { return total_; }
  index_pair draw(detail::rng& g) const {
    const index_t r = static_cast<index_t>(g.below(static_cast<std::uint64_t>(total_)));
    const std::size_t c = static_cast<std::size_t>(
        std::upper_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin());
    const auto& m = members_[c];
    const auto a = g.below(m.size());
    auto b = g.below(m.size() - 1);
    if (b >= a) ++b;
    return ordered(m[a], m[b]);
  }

 private:
  std::vector<std::vector<label_t>> members_;
  std::vector<index_t> cumulative_;
  index_t total_ = 0;
};

// `count` distinct pairs from `draw`, out of `available`: rejection while sparse, otherwise a
// partial shuffle of the full enumeration.
template <class Draw, class Enumerate>
pair_list distinct_pairs(index_t count, index_t available, detail::rng& g, Draw draw,
                         Enumerate enumerate) {
  pair_list out;
  out.reserve(static_cast<std::size_t>(count));
  if (2 * count <= available) {
    std::unordered_set<std::uint64_t> seen;
    while (static_cast<index_t>(out.size()) < count) {
      const index_pair p = draw(g);
      if (seen.insert(pair_key(p.i, p.j)).second) out.push_back(p);
    }
    return out;
  }
  pair_list all = enumerate();
  for (index_t t = 0; t < count; ++t) {
    const auto pick = t + static_cast<index_t>(g.below(static_cast<std::uint64_t>(available - t)));
    std::swap(all[t], all[pick]);
    out.push_back(all[t]);
  }
  return out;
}

}  // namespace

pair_constraints all_pairs_by_label(label_ref y) {
  check_labels(y, y.size(), "mahal::all_pairs_by_label");
  pair_constraints out;
  const index_t n = y.size();
  for (label_t i = 0; i < n; ++i)
    for (label_t j = i + 1; j < n; ++j)
      (y(i) == y(j) ? out.similar : out.dissimilar).push_back({i, j});
  return out;
}

pair_list same_class_pairs(label_ref y) {
  check_labels(y, y.size(), "mahal::same_class_pairs");
  pair_list out;
  const index_t n = y.size();
  for (label_t i = 0; i < n; ++i)
    for (label_t j = i + 1; j < n; ++j)
      if (y(i) == y(j)) out.push_back({i, j});
  return out;
}

pair_constraints sample_pairs(label_ref y, index_t n_similar, index_t n_dissimilar,
                              std::uint64_t seed) {
  const char* where = "mahal::sample_pairs";
  check_labels(y, y.size(), where);
  expects(n_similar >= 0 && n_dissimilar >= 0, where, "negative pair counts ", n_similar, ", ",
          n_dissimilar);
  const index_t n = y.size();
  const same_class_pair_sampler same(y);
  const index_t n_different = n * (n - 1) / 2 - same.total();
  expects(n_similar <= same.total(), where, n_similar, " similar pairs asked for but only ",
          same.total(), " exist");
  expects(n_dissimilar <= n_different, where, n_dissimilar,
          " dissimilar pairs asked for but only ", n_different, " exist");
  detail::rng g(seed);
  pair_constraints out;
  out.similar = distinct_pairs(
      n_similar, same.total(), g, [&](detail::rng& r) { return same.draw(r); },
      [&] { return same_class_pairs(y); });
  out.dissimilar = distinct_pairs(
      n_dissimilar, n_different, g,
      [&](detail::rng& r) {
        for (;;) {
          const auto a = static_cast<label_t>(r.below(static_cast<std::uint64_t>(n)));
          const auto b = static_cast<label_t>(r.below(static_cast<std::uint64_t>(n)));
          if (y(a) != y(b)) return ordered(a, b);
        }
      },
      [&] { return all_pairs_by_label(y).dissimilar; });
  return out;
}

pair_list xing_side_information(label_ref y, index_t target_components, std::uint64_t seed) {
  const char* where = "mahal::xing_side_information";
  check_labels(y, y.size(), where);
  const index_t n = y.size();
  const auto members = members_by_class(y);
  const index_t classes =
      std::count_if(members.begin(), members.end(), [](auto& m) { return !m.empty(); });
  expects(target_components >= classes && target_components <= n, where,
          "target of ", target_components, " components must lie in [", classes, ", ", n,
          "] (same-class pairs never join two classes)");
  const same_class_pair_sampler same(y);
  detail::rng g(seed);
  disjoint_sets sets(n);
  std::unordered_set<std::uint64_t> seen;
  pair_list S;
  while (sets.count() > target_components) {
    const index_pair p = same.draw(g);
    if (!seen.insert(pair_key(p.i, p.j)).second) continue;
    S.push_back(p);
    sets.join(p.i, p.j);
  }
  return S;
}

component_labels connected_components(index_t n, const pair_list& pairs) {
  expects(n >= 0, "mahal::connected_components", "negative n = ", n);
  for (std::size_t k = 0; k < pairs.size(); ++k)
    expects(pairs[k].i >= 0 && pairs[k].i < n && pairs[k].j >= 0 && pairs[k].j < n,
            "mahal::connected_components", "pair ", k, " = (", pairs[k].i, ", ", pairs[k].j,
            ") is outside [0, ", n, ")");
  disjoint_sets sets(n);
  for (const auto& p : pairs) sets.join(p.i, p.j);
  component_labels out;
  out.id.resize(n);
  std::vector<label_t> number(static_cast<std::size_t>(n), -1);
  for (label_t v = 0; v < n; ++v) {
    const label_t root = sets.find(v);
    if (number[root] < 0) number[root] = static_cast<label_t>(out.count++);
    out.id(v) = number[root];
  }
  return out;
}

triplet_list sample_triplets(label_ref y, index_t count, std::uint64_t seed) {
  const char* where = "mahal::sample_triplets";
  check_labels(y, y.size(), where);
  expects(count >= 0, where, "negative count ", count);
  const auto members = members_by_class(y);
  std::vector<label_t> anchors;
  for (const auto& m : members)
    if (m.size() >= 2 && static_cast<index_t>(m.size()) < y.size())
      anchors.insert(anchors.end(), m.begin(), m.end());
  expects(count == 0 || !anchors.empty(), where,
          "no triplet exists: every class needs a second member and another class");
  detail::rng g(seed);
  const index_t n = y.size();
  triplet_list out;
  out.reserve(static_cast<std::size_t>(count));
  for (index_t t = 0; t < count; ++t) {
    const label_t a = anchors[g.below(anchors.size())];
    const auto& same = members[y(a)];
    label_t p = a;
    while (p == a) p = same[g.below(same.size())];
    label_t neg = a;
    while (y(neg) == y(a)) neg = static_cast<label_t>(g.below(static_cast<std::uint64_t>(n)));
    out.push_back({a, p, neg});
  }
  return out;
}

}  // namespace mahal

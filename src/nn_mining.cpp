// Batch sampling and in-batch negative mining for mahal::nn.
#include <algorithm>
#include <limits>

#include "mahal/error.hpp"
#include "mahal/neighbors.hpp"
#include "mahal/nn/mining.hpp"

namespace mahal::nn {
namespace {

// Maps sample indices to positions in a batch's column list, each sample once.
class column_set {
 public:
  explicit column_set(index_t n) : position_(static_cast<std::size_t>(n), -1) {}
  label_t add(label_t sample) {
    label_t& p = position_[static_cast<std::size_t>(sample)];
    if (p < 0) {
      p = static_cast<label_t>(columns_.size());
      columns_.push_back(sample);
    }
    return p;
  }
  std::vector<label_t> take() { return std::move(columns_); }

 private:
  std::vector<label_t> position_;
  std::vector<label_t> columns_;
};

template <class V>
auto pick(const V& v, detail::rng& g) {
  return v[static_cast<std::size_t>(g.below(v.size()))];
}

// Two distinct members of class c (which has >= 2).
std::pair<label_t, label_t> two_members(const std::vector<label_t>& members, detail::rng& g) {
  const auto n = members.size();
  const auto a = g.below(n);
  auto b = g.below(n - 1);
  if (b >= a) ++b;
  return {members[a], members[b]};
}

}  // namespace

class_index::class_index(label_ref y) {
  const label_t classes = check_labels(y, y.size(), "mahal::nn::class_index");
  labels_.assign(y.data(), y.data() + y.size());
  members_.resize(static_cast<std::size_t>(classes));
  for (index_t i = 0; i < y.size(); ++i)
    members_[static_cast<std::size_t>(y(i))].push_back(static_cast<label_t>(i));
  for (label_t c = 0; c < classes; ++c) {
    const auto size = members_[static_cast<std::size_t>(c)].size();
    if (size >= 1) present_.push_back(c);
    if (size >= 2) pair_classes_.push_back(c);
  }
  expects(!pair_classes_.empty(), "mahal::nn::class_index",
          "no class has two members: no similar pair exists (n = ", y.size(), ")");
  expects(present_.size() >= 2, "mahal::nn::class_index",
          "only one class is present: no dissimilar pair exists");
}

pair_batch balanced_pairs(const class_index& idx, index_t count, detail::rng& g) {
  expects(count > 0, "mahal::nn::balanced_pairs", "count = ", count, " must be positive");
  column_set cols(idx.size());
  pair_batch b;
  b.pairs.reserve(static_cast<std::size_t>(count));
  b.similar.reserve(static_cast<std::size_t>(count));
  const index_t n_similar = (count + 1) / 2;
  for (index_t k = 0; k < count; ++k) {
    label_t i, j;
    if (k < n_similar) {
      const label_t c = pick(idx.pair_classes(), g);
      std::tie(i, j) = two_members(idx.members()[static_cast<std::size_t>(c)], g);
    } else {
      const auto& present = idx.present();
      const auto a = g.below(present.size());
      auto c = g.below(present.size() - 1);
      if (c >= a) ++c;
      i = pick(idx.members()[static_cast<std::size_t>(present[a])], g);
      j = pick(idx.members()[static_cast<std::size_t>(present[c])], g);
    }
    b.pairs.push_back({cols.add(i), cols.add(j)});
    b.similar.push_back(k < n_similar ? 1 : 0);
  }
  b.columns = cols.take();
  return b;
}

triplet_batch random_triplets(const class_index& idx, index_t count, detail::rng& g) {
  expects(count > 0, "mahal::nn::random_triplets", "count = ", count, " must be positive");
  column_set cols(idx.size());
  triplet_batch b;
  b.triplets.reserve(static_cast<std::size_t>(count));
  const auto& present = idx.present();
  for (index_t k = 0; k < count; ++k) {
    const label_t c = pick(idx.pair_classes(), g);
    const auto [a, p] = two_members(idx.members()[static_cast<std::size_t>(c)], g);
    label_t other = pick(present, g);
    while (other == c) other = pick(present, g);
    const label_t n = pick(idx.members()[static_cast<std::size_t>(other)], g);
    b.triplets.push_back({cols.add(a), cols.add(p), cols.add(n)});
  }
  b.columns = cols.take();
  return b;
}

pk_batch sample_pk(const class_index& idx, index_t classes_per_batch, index_t per_class,
                   detail::rng& g) {
  expects(classes_per_batch >= 2 && per_class >= 2, "mahal::nn::sample_pk",
          "P = ", classes_per_batch, ", K = ", per_class, " (both must be >= 2)");
  std::vector<label_t> classes = idx.pair_classes();
  // Partial Fisher–Yates: the first P classes of a random permutation.
  const index_t P = std::min<index_t>(classes_per_batch, static_cast<index_t>(classes.size()));
  for (index_t t = 0; t < P; ++t)
    std::swap(
        classes[static_cast<std::size_t>(t)],
        classes[static_cast<std::size_t>(t + static_cast<index_t>(g.below(classes.size() - t)))]);
  pk_batch b;
  for (index_t t = 0; t < P; ++t) {
    const label_t c = classes[static_cast<std::size_t>(t)];
    std::vector<label_t> members = idx.members()[static_cast<std::size_t>(c)];
    const index_t take = std::min<index_t>(per_class, static_cast<index_t>(members.size()));
    for (index_t s = 0; s < take; ++s) {
      std::swap(
          members[static_cast<std::size_t>(s)],
          members[static_cast<std::size_t>(s + static_cast<index_t>(g.below(members.size() - s)))]);
      b.columns.push_back(members[static_cast<std::size_t>(s)]);
      b.labels.push_back(c);
    }
  }
  return b;
}

template <class T>
triplet_list mine_triplets(const matrix<T>& sqdist, const std::vector<label_t>& labels,
                           negative_mining mode) {
  const index_t B = static_cast<index_t>(labels.size());
  expects(sqdist.rows() == B && sqdist.cols() == B, "mahal::nn::mine_triplets", "distances are ",
          sqdist.rows(), "x", sqdist.cols(), " for ", B, " labels");
  triplet_list out;
  for (index_t a = 0; a < B; ++a)
    for (index_t p = 0; p < B; ++p) {
      if (p == a || labels[a] != labels[p]) continue;
      const T dap = sqdist(a, p);
      index_t best = -1;
      T best_d = std::numeric_limits<T>::infinity();
      for (index_t n = 0; n < B; ++n) {
        if (labels[n] == labels[a]) continue;
        const T dan = sqdist(a, n);
        if (mode == negative_mining::semi_hard && !(dan > dap)) continue;
        if (dan < best_d) {
          best_d = dan;
          best = n;
        }
      }
      if (best >= 0)
        out.push_back(
            {static_cast<label_t>(a), static_cast<label_t>(p), static_cast<label_t>(best)});
    }
  return out;
}

template triplet_list mine_triplets<float>(const matrix<float>&, const std::vector<label_t>&,
                                           negative_mining);
template triplet_list mine_triplets<double>(const matrix<double>&, const std::vector<label_t>&,
                                            negative_mining);

}  // namespace mahal::nn

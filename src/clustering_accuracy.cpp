#include "mahal/clustering_accuracy.hpp"

#include <unordered_map>
#include <vector>

#include "mahal/error.hpp"

namespace mahal {
namespace {

std::int64_t choose2(std::int64_t m) { return m * (m - 1) / 2; }

// Dense ids 0.. in order of first appearance, and how many there are.
index_t compact(label_ref v, std::vector<std::int64_t>& id) {
  std::unordered_map<label_t, std::int64_t> number;
  number.reserve(static_cast<std::size_t>(v.size()));
  id.resize(static_cast<std::size_t>(v.size()));
  for (index_t i = 0; i < v.size(); ++i)
    id[i] = number.try_emplace(v(i), static_cast<std::int64_t>(number.size())).first->second;
  return static_cast<index_t>(number.size());
}

}  // namespace

pair_agreement count_pair_agreement(label_ref truth, label_ref assignment) {
  const char* where = "mahal::count_pair_agreement";
  expects(truth.size() == assignment.size(), where, "truth has ", truth.size(),
          " labels but the assignment has ", assignment.size());
  expects(truth.size() >= 2, where, "n = ", truth.size(), ": need at least two points");
  const index_t n = truth.size();
  std::vector<std::int64_t> c, k;
  pair_agreement out;
  out.classes = compact(truth, c);
  out.clusters = compact(assignment, k);
  std::vector<std::int64_t> a(static_cast<std::size_t>(out.classes), 0);
  std::vector<std::int64_t> b(static_cast<std::size_t>(out.clusters), 0);
  for (index_t i = 0; i < n; ++i) {
    ++a[c[i]];
    ++b[k[i]];
  }
  // The contingency table: dense when C·K is of the order of n, else only its non-zero cells.
  std::int64_t same_both = 0;
  const std::int64_t cells = out.classes * out.clusters;
  if (cells <= 4 * n + 4096) {
    std::vector<std::int64_t> table(static_cast<std::size_t>(cells), 0);
    for (index_t i = 0; i < n; ++i) ++table[c[i] * out.clusters + k[i]];
    for (const std::int64_t v : table) same_both += choose2(v);
  } else {
    std::unordered_map<std::int64_t, std::int64_t> table;
    table.reserve(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) ++table[c[i] * out.clusters + k[i]];
    for (const auto& cell : table) same_both += choose2(cell.second);
  }
  std::int64_t same_cluster = 0;
  for (const std::int64_t v : a) out.same_pairs += choose2(v);
  for (const std::int64_t v : b) same_cluster += choose2(v);
  out.pairs = choose2(n);
  out.diff_pairs = out.pairs - out.same_pairs;
  out.same_agree = same_both;
  out.diff_agree = out.pairs - out.same_pairs - same_cluster + same_both;
  return out;
}

double xing_accuracy(const pair_agreement& p, pair_accuracy_form form) {
  expects(p.pairs > 0 && p.same_pairs + p.diff_pairs == p.pairs && p.same_agree >= 0 &&
              p.same_agree <= p.same_pairs && p.diff_agree >= 0 && p.diff_agree <= p.diff_pairs,
          "mahal::xing_accuracy", "inconsistent pair counts: ", p.pairs, " pairs, ", p.same_agree,
          "/", p.same_pairs, " same-class, ", p.diff_agree, "/", p.diff_pairs, " different-class");
  const bool balanced = form == pair_accuracy_form::balanced ||
                        (form == pair_accuracy_form::automatic && p.classes > 2);
  const auto rate = [](std::int64_t agree, std::int64_t total) {
    return static_cast<double>(agree) / static_cast<double>(total);
  };
  if (!balanced) return rate(p.same_agree + p.diff_agree, p.pairs);
  if (p.same_pairs == 0) return rate(p.diff_agree, p.diff_pairs);
  if (p.diff_pairs == 0) return rate(p.same_agree, p.same_pairs);
  return 0.5 * rate(p.same_agree, p.same_pairs) + 0.5 * rate(p.diff_agree, p.diff_pairs);
}

double xing_accuracy(label_ref truth, label_ref assignment, pair_accuracy_form form) {
  return xing_accuracy(count_pair_agreement(truth, assignment), form);
}

}  // namespace mahal

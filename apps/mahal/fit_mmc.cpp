// mahal fit --algo mmc | mmc-diag | mmc-l: Xing et al. (NIPS 2002).
#include <algorithm>
#include <cstdio>
#include <string>

#include "fit.hpp"
#include "mahal/constraints.hpp"
#include "mahal/mmc.hpp"

namespace mahal::cli {
namespace {

enum class mmc_kind { full, diagonal, linear };

// Pairs i < j counted once however often a file lists them.
index_t distinct_pairs(pair_list pairs) {
  std::sort(pairs.begin(), pairs.end(), [](const index_pair& a, const index_pair& b) {
    return a.i != b.i ? a.i < b.i : a.j < b.j;
  });
  return static_cast<index_t>(std::unique(pairs.begin(), pairs.end()) - pairs.begin());
}

fit_outcome fit_mmc(mmc_kind kind, const std::string& algo, const fit_command_options& o,
                    const matrix<double>& X, const label_vector& y) {
  auto be = make_backend<double>(parse_device(o.common.backend));
  mmc_options options;
  options.mode = o.mode == "reference" ? mmc_mode::reference : mmc_mode::fast;
  if (o.max_iter > 0) options.max_iter = o.max_iter;
  if (o.tol > 0) options.tol = o.tol;
  options.C = o.C;
  options.rank = o.rank;
  options.progress = stderr_progress("mahal fit " + algo, o.common);
  // S and D: read from pair files (D implicit unless given), sampled from the labels, or by
  // default S = every same-class pair and D = every other pair (implicit).
  pair_list S, D;
  if (!o.similar_pairs.empty()) {
    S = read_pair_file(o.similar_pairs, X.cols(), "mahal fit --similar-pairs");
    if (!o.dissimilar_pairs.empty())
      D = read_pair_file(o.dissimilar_pairs, X.cols(), "mahal fit --dissimilar-pairs");
  } else if (o.similar > 0 || o.dissimilar > 0) {
    const pair_constraints sampled = sample_pairs(y, o.similar, o.dissimilar, o.seed);
    S = sampled.similar;
    D = sampled.dissimilar;
  } else {
    S = same_class_pairs(y);
  }
  // |S| without repeats: only a file may list a pair twice (sampled and all-pairs S are distinct).
  const index_t distinct_similar =
      o.similar_pairs.empty() ? static_cast<index_t>(S.size()) : distinct_pairs(S);
  const pair_list* D_given = D.empty() ? nullptr : &D;
  mmc_result<double> r;
  switch (kind) {
    case mmc_kind::full:
      r = fit_mmc_full<double>(*be, X, S, D_given, options);
      break;
    case mmc_kind::diagonal:
      r = fit_mmc_diagonal<double>(*be, X, S, D_given, options);
      break;
    case mmc_kind::linear:
      r = fit_mmc_linear<double>(*be, X, S, D_given, options);
      break;
  }
  json report;
  report["iterations"] = r.iterations;
  report["status"] = to_string(r.status);
  report["objective"] = r.objective;
  report["similarity"] = r.similarity;
  report["bound"] = r.bound;
  report["eigendecompositions"] = r.eigendecompositions;
  report["similar_pairs"] = S.size();
  report["dissimilar_pairs"] =
      D_given ? static_cast<index_t>(D.size()) : X.cols() * (X.cols() - 1) / 2 - distinct_similar;
  report["dissimilar_implicit"] = D_given == nullptr;
  report["unconstrained_directions"] = r.unconstrained;
  if (r.unconstrained > 0 && o.common.verbose > 0) {
    char floor[32];
    std::snprintf(floor, sizeof floor, "%g", mmc_scatter_floor);
    const std::string consequence =
        options.mode == mmc_mode::fast
            ? std::string("the metric was learned with a ") + floor +
                  " relative floor on the similar-pair scatter and concentrates on them (more "
                  "similar pairs avoid this)"
            : "the reference mode follows them until its iteration cap";
    std::fprintf(stderr,
                 "mahal fit %s: warning: the similar pairs do not vary along %lld %s in which "
                 "dissimilar pairs do, so the objective is unbounded there; %s\n",
                 algo.c_str(), static_cast<long long>(r.unconstrained),
                 kind == mmc_kind::diagonal ? "feature(s)" : "direction(s)", consequence.c_str());
  }
  report["mode"] = o.mode;
  report["backend"] = be->name();
  const metric<double> learned =
      kind == mmc_kind::diagonal
          ? metric<double>::from_diagonal(r.a)
          : metric<double>::from_linear_map(
                r.L, kind == mmc_kind::full ? metric_form::full : metric_form::linear);
  return metric_outcome(learned, std::move(report), algo);
}

}  // namespace

void register_mmc_algorithms(fit_registry& registry) {
  registry["mmc"] = [](auto& o, auto& X, auto& y) {
    return fit_mmc(mmc_kind::full, "mmc", o, X, y);
  };
  registry["mmc-diag"] = [](auto& o, auto& X, auto& y) {
    return fit_mmc(mmc_kind::diagonal, "mmc-diag", o, X, y);
  };
  registry["mmc-l"] = [](auto& o, auto& X, auto& y) {
    return fit_mmc(mmc_kind::linear, "mmc-l", o, X, y);
  };
}

}  // namespace mahal::cli

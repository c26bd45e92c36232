// mahal fit --algo lmnn: Large Margin Nearest Neighbour (Weinberger & Saul, JMLR 2009).
#include "fit.hpp"
#include "mahal/lmnn.hpp"

namespace mahal::cli {
namespace {

fit_outcome fit_lmnn_cli(const fit_command_options& o, const matrix<double>& X,
                         const label_vector& y) {
  auto be = make_backend<double>(parse_device(o.common.backend));
  lmnn_options options;
  options.k = o.k;
  options.rank = o.rank;
  options.impostors_per_point = o.impostors;
  if (o.search_every > 0) options.full_search_every = o.search_every;
  options.stale_check = o.stale_check;
  options.mu = o.mu;
  options.squared_hinge = o.hinge == "squared";
  if (o.batch > 0) options.batch_size = o.batch;
  if (!o.solver.empty()) options.solver = parse_lmnn_solver(o.solver);
  if (o.max_iter > 0) options.max_iterations = o.max_iter;
  if (o.tol > 0) options.tolerance = o.tol;
  if (o.learning_rate > 0) options.learning_rate = o.learning_rate;
  if (o.init == "pca") {
    options.init = lmnn_init::pca;
  } else if (o.init != "identity") {
    options.init = lmnn_init::given;
    options.L0 = o.init_L;
  }
  options.seed = o.seed;
  options.progress = stderr_progress("mahal fit lmnn", o.common);
  const lmnn_result<double> r = fit_lmnn<double>(*be, X, y, options);
  json report;
  report["iterations"] = r.iterations;
  report["status"] = to_string(r.status);
  report["objective"] = r.objective;
  report["active_triplets"] = r.active_triplets;
  report["full_searches"] = r.full_searches;
  report["impostors_per_point"] = options.impostors_per_point;
  report["search_every"] = options.full_search_every;
  report["stale_check"] = options.stale_check;
  report["solver"] = to_string(options.solver);
  report["mu"] = options.mu;
  report["hinge"] = o.hinge;
  report["init"] = o.init;
  report["backend"] = be->name();
  return metric_outcome(metric<double>::from_linear_map(r.L), std::move(report), "lmnn");
}

}  // namespace

void register_lmnn_algorithms(fit_registry& registry) { registry["lmnn"] = fit_lmnn_cli; }

}  // namespace mahal::cli

// L-space LMNN: L-BFGS on L (r×d) over an impostor active set that is rebuilt between
// segments of iterations (see lmnn.hpp).
#include <Eigen/SVD>
#include <cmath>

#include "lmnn_objective.hpp"
#include "mahal/lbfgs.hpp"

namespace mahal::detail {

template <class T>
void solve_lmnn_lbfgs(lmnn_problem<T>& problem, matrix<double>& L, const lmnn_options& options,
                      lmnn_result<T>& result, const stopwatch& clock) {
  backend<T>& be = problem.be();
  const index_t r = L.rows(), d = L.cols();
  device_array<T> L_dev, Z;
  device_array<T> grad = be.alloc(r, d);
  matrix<T> grad_host(r, d);
  // Z = L·X at x_Z, and `last`, the evaluation there over the current candidates (with the pair
  // weights the gradient needs). A segment starts where the previous one ended and its search
  // evaluated: remembering both saves a transform and an evaluation per search.
  vector<double> x_Z;
  lmnn_terms last;
  bool evaluated = false;
  const auto move_to = [&](const vector<double>& x) {
    if (x_Z.size() == x.size() && x_Z == x) return;
    transform_into(be, Eigen::Map<const matrix<double>>(x.data(), r, d), problem.X(), L_dev, Z);
    x_Z = x;
    evaluated = false;
  };
  const auto evaluate = [&] {
    if (!evaluated) last = problem.evaluate(Z, true);
    evaluated = true;
    return last;
  };
  const auto search = [&] {
    problem.full_search(Z, options.band);
    ++result.full_searches;
    evaluated = false;
  };
  auto f = [&](const vector<double>& x, vector<double>& g) {
    move_to(x);
    evaluate();
    problem.gradient_L(Z, L_dev, grad);
    be.download(grad, grad_host.data());
    g = Eigen::Map<const vector<T>>(grad_host.data(), r * d).template cast<double>();
    ++result.evaluations;
    return last.objective;
  };
  vector<double> x = Eigen::Map<const vector<double>>(L.data(), r * d);
  vector<double> x_search = x;
  move_to(x);
  search();
  index_t since_search = 0;
  // Segments of at most T = full_search_every iterations. A search that reveals a rise of more
  // than 10 % hidden by the old candidates means the segment went far from where they were
  // found: the next one is T/4, and each search without such a rise doubles it back up to T.
  // The first segment, where L moves most, is T/4 too. (On digits 20 steps from L = I ended at
  // an exact objective 4.2× their stale one, and that search kept 72k candidates, against
  // 9–13k at the later ones.)
  constexpr double kStaleRise = 0.1;
  const index_t short_segment = std::max<index_t>(1, options.full_search_every / 4);
  index_t segment = short_segment;
  // The objective is exact right after a search. Between searches it is taken over stale
  // candidates and can hide a rise, so the searched point with the lowest exact objective is
  // kept: what is returned is never worse than the start.
  double exact = evaluate().objective;
  double best = exact;
  vector<double> x_best = x;
  // L_search⁻¹ for the relative staleness bound (square, well-conditioned L only).
  matrix<double> inverse;
  bool have_inverse = false;
  auto set_inverse = [&](const vector<double>& xs) {
    have_inverse = false;
    if (r != d || !options.stale_check) return;  // only the staleness test uses it
    const matrix<double> Ls = Eigen::Map<const matrix<double>>(xs.data(), r, d);
    Eigen::JacobiSVD<matrix<double>> svd(Ls, Eigen::ComputeFullU | Eigen::ComputeFullV);
    const vector<double>& s = svd.singularValues();
    if (!(s(d - 1) > 1e-10 * s(0))) return;
    inverse = svd.matrixV() * s.cwiseInverse().asDiagonal() * svd.matrixU().transpose();
    have_inverse = true;
  };
  set_inverse(x_search);
  auto callback = [&](index_t, const vector<double>& xk, double fk, const vector<double>&,
                      double step) {
    ++result.iterations;
    ++since_search;
    iteration_record rec{result.iterations, fk, step, clock.seconds(), last.active_pairs};
    result.trace.push_back(rec);
    if (options.progress) options.progress(rec);
    if (result.iterations >= options.max_iterations) return false;
    if (since_search >= segment) return false;
    if (!options.stale_check) return true;
    const matrix<double> delta = Eigen::Map<const matrix<double>>(xk.data(), r, d) -
                                 Eigen::Map<const matrix<double>>(x_search.data(), r, d);
    const double norm = Eigen::JacobiSVD<matrix<double>>(delta).singularValues()(0);
    const double relative =
        have_inverse ? Eigen::JacobiSVD<matrix<double>>(delta * inverse).singularValues()(0) : -1.0;
    move_to(xk);
    return !problem.is_stale(Z, norm, relative);
  };
  lbfgs_options lo;
  lo.memory = options.lbfgs_memory;
  lo.gradient_tolerance = options.tolerance;
  lo.relative_tolerance = options.tolerance;
  lbfgs_state state;
  result.status = solver_status::iteration_cap;
  result.message = "iteration cap reached";
  while (result.iterations < options.max_iterations) {
    lo.max_iterations = options.max_iterations - result.iterations;
    const lbfgs_result seg = minimize_lbfgs(f, x, lo, state, callback);
    // Rebuild the candidates at the new L; the objective over the old candidates equals the
    // exact one at L unless a pair outside them became active.
    move_to(x);
    const double before = evaluate().objective;
    search();
    x_search = x;
    set_inverse(x_search);
    since_search = 0;
    const double after = evaluate().objective;
    exact = after;
    if (after < best) {
      best = after;
      x_best = x;
    }
    // The search's change of the objective, relative to it.
    const double rise = (after - before) / std::max(1.0, std::abs(after));
    segment = rise > kStaleRise ? short_segment : std::min(options.full_search_every, 2 * segment);
    const bool changed = std::abs(rise) > 1e-12;
    // A search that moves the objective by more than the tolerance restarts the count of small
    // decreases (which carries over between segments, however short).
    if (std::abs(rise) > options.tolerance) state.small_decrease = 0;
    if (!seg.stopped && !changed) {
      result.status = seg.status;
      result.message = seg.message;
      break;
    }
    if (!seg.stopped && seg.iterations == 0) {  // stationary at the exact objective
      result.status = seg.status;
      result.message = seg.message;
      break;
    }
  }
  if (best < exact) {
    x = x_best;
    move_to(x);
    search();  // fit_lmnn's final evaluation uses its candidates
    result.message += " (the last iterate was worse: returned the best searched one)";
  }
  L = Eigen::Map<const matrix<double>>(x.data(), r, d);
}

template void solve_lmnn_lbfgs<float>(lmnn_problem<float>&, matrix<double>&, const lmnn_options&,
                                      lmnn_result<float>&, const stopwatch&);
template void solve_lmnn_lbfgs<double>(lmnn_problem<double>&, matrix<double>&, const lmnn_options&,
                                       lmnn_result<double>&, const stopwatch&);

}  // namespace mahal::detail

// Stochastic L-space LMNN for large n: each step evaluates the objective over a mini-batch of
// anchor points (their target pairs and impostor candidates, scaled by n / |batch|) and takes
// an Adam step on L (Kingma & Ba, ICLR 2015). One iteration is one epoch.
//
// The run is cut into search segments: impostor candidates are rebuilt every
// `full_search_every` epochs, and each rebuild starts a new objective (a sum over other pairs;
// the first epoch after it usually jumps up). So progress is judged within a segment, and
// each segment starts a fresh Adam state (the old second moments are those of near-zero
// gradients: with them the new gradients make huge steps that undo the segment's first
// epochs). A segment stalls when kPatience epochs in a row do not improve its best epoch by
// the tolerance; the step size is then halved (the epochs oscillate around the segment's
// minimum), and the solver searches at the current L and stops only if that search leaves the
// objective where it was, i.e. no unseen impostor has come within the margin.
#include <cmath>
#include <numeric>

#include "lmnn_objective.hpp"
#include "mahal/detail/random.hpp"

namespace mahal::detail {

namespace {

// Epochs without progress before a segment counts as stalled. Three stopped most runs of the
// planted-metric problem in the tests on the noise of one overshooting epoch.
constexpr index_t kPatience = 5;

}  // namespace

template <class T>
void solve_lmnn_sgd(lmnn_problem<T>& problem, matrix<double>& L, const lmnn_options& options,
                    lmnn_result<T>& result, const stopwatch& clock) {
  backend<T>& be = problem.be();
  const index_t r = L.rows(), d = L.cols(), n = problem.n();
  const index_t batch = std::max<index_t>(1, std::min(options.batch_size, n));
  device_array<T> L_dev, Z;
  device_array<T> grad = be.alloc(r, d);
  matrix<T> grad_host(r, d);
  matrix<double> m1(r, d), m2(r, d);
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  rng g(options.seed);
  std::vector<label_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  index_t step = 0, stalled = 0;
  double rate = options.learning_rate;
  double best = 0;  // the current segment's best epoch objective
  // A full search at the current L; starts a segment. Returns the full objective over the new
  // candidates.
  const auto search = [&] {
    problem.set_batch({});
    transform_into(be, L, problem.X(), L_dev, Z);
    problem.full_search(Z, options.band);
    ++result.full_searches;
    m1.setZero();
    m2.setZero();
    step = 0;
    stalled = 0;
    best = std::numeric_limits<double>::infinity();
    return problem.evaluate(Z, false).objective;
  };
  result.status = solver_status::iteration_cap;
  result.message = "iteration cap reached";
  while (result.iterations < options.max_iterations) {
    if (result.iterations % options.full_search_every == 0) search();
    for (index_t t = n - 1; t > 0; --t)  // Fisher–Yates
      std::swap(order[t], order[g.below(static_cast<std::uint64_t>(t + 1))]);
    double epoch_objective = 0;
    for (index_t b0 = 0; b0 < n; b0 += batch) {
      const index_t nb = std::min(batch, n - b0);
      problem.set_batch(std::vector<label_t>(order.begin() + b0, order.begin() + b0 + nb));
      transform_into(be, L, problem.points(), L_dev, Z);  // the batch's points only
      const lmnn_terms t = problem.evaluate(Z, true);
      ++result.evaluations;
      epoch_objective += t.objective * static_cast<double>(nb) / static_cast<double>(n);
      problem.gradient_L(Z, L_dev, grad);
      be.download(grad, grad_host.data());
      const matrix<double> gd = grad_host.template cast<double>();
      ++step;
      m1 = beta1 * m1 + (1 - beta1) * gd;
      m2 = beta2 * m2 + (1 - beta2) * gd.cwiseProduct(gd);
      const double c1 = 1 - std::pow(beta1, static_cast<double>(step));
      const double c2 = 1 - std::pow(beta2, static_cast<double>(step));
      L.array() -= rate * (m1.array() / c1) / ((m2.array() / c2).sqrt() + eps);
    }
    ++result.iterations;
    iteration_record rec{result.iterations, epoch_objective, rate, clock.seconds(),
                         problem.candidates()};
    result.trace.push_back(rec);
    if (options.progress) options.progress(rec);
    const double scale = std::max(1.0, std::abs(epoch_objective));
    if (best - epoch_objective > options.tolerance * scale) {
      best = epoch_objective;
      stalled = 0;
      continue;
    }
    if (++stalled < kPatience) continue;
    rate /= 2;  // the steps overshoot the segment's minimum: a plateau halves them
    problem.set_batch({});
    transform_into(be, L, problem.X(), L_dev, Z);
    const double before = problem.evaluate(Z, false).objective;
    if (std::abs(search() - before) <= options.tolerance * std::max(1.0, std::abs(before))) {
      result.status = solver_status::converged;
      result.message = "epoch objective stopped decreasing";
      break;
    }
  }
  problem.set_batch({});
}

template void solve_lmnn_sgd<float>(lmnn_problem<float>&, matrix<double>&, const lmnn_options&,
                                    lmnn_result<float>&, const stopwatch&);
template void solve_lmnn_sgd<double>(lmnn_problem<double>&, matrix<double>&, const lmnn_options&,
                                     lmnn_result<double>&, const stopwatch&);

}  // namespace mahal::detail

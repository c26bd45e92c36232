// Stochastic L-space LMNN for large n: each step evaluates the objective over a mini-batch of
// anchor points (their target pairs and impostor candidates, scaled by n / |batch|) and takes
// an Adam step on L (Kingma & Ba, ICLR 2015). Impostor candidates are rebuilt every
// `full_search_every` epochs; one iteration is one epoch.
#include <cmath>
#include <numeric>

#include "lmnn_objective.hpp"
#include "mahal/detail/random.hpp"

namespace mahal::detail {

template <class T>
void solve_lmnn_sgd(lmnn_problem<T>& problem, matrix<double>& L, const lmnn_options& options,
                    lmnn_result<T>& result, const stopwatch& clock) {
  backend<T>& be = problem.be();
  const index_t r = L.rows(), d = L.cols(), n = problem.n();
  const index_t batch = std::max<index_t>(1, std::min(options.batch_size, n));
  device_array<T> L_dev, Z;
  device_array<T> grad = be.alloc(r, d);
  matrix<T> grad_host(r, d);
  matrix<double> m1 = matrix<double>::Zero(r, d), m2 = matrix<double>::Zero(r, d);
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  rng g(options.seed);
  std::vector<label_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  index_t step = 0;
  double previous = std::numeric_limits<double>::infinity();
  index_t small = 0;
  result.status = solver_status::iteration_cap;
  result.message = "iteration cap reached";
  while (result.iterations < options.max_iterations) {
    if (result.iterations % options.full_search_every == 0) {
      problem.set_batch({});
      transform_into(be, L, problem.X(), L_dev, Z);
      problem.full_search(Z, options.band);
      ++result.full_searches;
    }
    for (index_t t = n - 1; t > 0; --t)  // Fisher–Yates
      std::swap(order[t], order[g.below(static_cast<std::uint64_t>(t + 1))]);
    double epoch_objective = 0;
    for (index_t b0 = 0; b0 < n; b0 += batch) {
      const index_t nb = std::min(batch, n - b0);
      problem.set_batch(std::vector<label_t>(order.begin() + b0, order.begin() + b0 + nb));
      transform_into(be, L, problem.X(), L_dev, Z);
      const lmnn_terms t = problem.evaluate(Z, true);
      ++result.evaluations;
      epoch_objective += t.objective * static_cast<double>(nb) / static_cast<double>(n);
      problem.gradient_L(Z, grad);
      be.download(grad, grad_host.data());
      const matrix<double> gd = grad_host.template cast<double>();
      ++step;
      m1 = beta1 * m1 + (1 - beta1) * gd;
      m2 = beta2 * m2 + (1 - beta2) * gd.cwiseProduct(gd);
      const double c1 = 1 - std::pow(beta1, static_cast<double>(step));
      const double c2 = 1 - std::pow(beta2, static_cast<double>(step));
      L.array() -= options.learning_rate * (m1.array() / c1) / ((m2.array() / c2).sqrt() + eps);
    }
    ++result.iterations;
    iteration_record rec{result.iterations, epoch_objective, options.learning_rate, clock.seconds(),
                         problem.candidates()};
    result.trace.push_back(rec);
    if (options.progress) options.progress(rec);
    small =
        (previous - epoch_objective <= options.tolerance * std::max(1.0, std::abs(epoch_objective)))
            ? small + 1
            : 0;
    previous = epoch_objective;
    if (small >= 3) {
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

// Xing et al.'s objective over A = LᵀL (L k×d): maximise the scale-invariant ratio
//   r(L) = g(L) / sqrt(f(L) / t),  g = Σ_D ||Lδ||,  f = Σ_S ||Lδ||²,
// by ascent along ∇r·W⁻¹ with step adaptation, L rescaled onto f(L) = t after every step, so
// the constraint f <= t holds exactly and the iterations need no eigendecomposition.
// ∇_L g = 2·L·G with G = Σ_D δδᵀ / (2||Lδ||) (the pair scatter with P = LX, Q = X),
// ∇_L f = 2·L·W.
#include <Eigen/Cholesky>
#include <chrono>
#include <cmath>

#include "mahal/constraints.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/engine.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/mmc.hpp"
#include "mmc_objective.hpp"

namespace mahal {

namespace detail {

template <class T>
double mmc_linear_ratio(mmc_problem<T>& p, const matrix<double>& W, const matrix<double>& L,
                        double t, matrix<double>* grad) {
  backend<T>& be = p.be();
  const device_array<T> Ld = to_device<T>(be, matrix<T>(L.template cast<T>()));
  const device_array<T> Z = engine::transform(be, Ld, p.X());
  matrix<double> LG;  // L·G, k×d
  const double g = p.dissimilar(Z, Z, Z, p.X(), mmc_weight::paper, grad ? &LG : nullptr);
  const matrix<double> LW = L * W;
  const double f = frob_dot(L, LW);  // ⟨W, LᵀL⟩
  const double scale = std::sqrt(t / f);
  if (grad) *grad = scale * (2 * LG - (g / f) * LW);
  return g * scale;
}

template <class T>
linear_ascent_result linear_ascent(mmc_problem<T>& p, const matrix<double>& W, matrix<double> L,
                                   double t, const mmc_options& o, index_t first_iteration,
                                   std::vector<iteration_record>& trace,
                                   std::chrono::steady_clock::time_point t0) {
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  auto rescale = [&](matrix<double>& M) {
    const double f = frob_dot(W, M.transpose() * M);
    if (f > 0) M *= std::sqrt(t / f);
  };
  // r and ∇_L r at L (f = t after rescaling, so r = g there).
  auto evaluate = [&](const matrix<double>& M, matrix<double>* grad) {
    return mmc_linear_ratio(p, W, M, t, grad);
  };
  // Ascent along ∇r·W⁻¹: the gradient in M = L·W^{1/2}, where the constraint is the sphere
  // ||M||_F² = t. Without it the steps crawl along directions that W scales down (W's condition
  // number reaches 10¹² where S does not constrain the problem).
  const Eigen::LLT<matrix<double>> W_factor(W);
  auto direction = [&](const matrix<double>& grad) {
    if (W_factor.info() != Eigen::Success) return grad;  // not positive definite in rounding
    return matrix<double>(W_factor.solve(grad.transpose()).transpose());
  };
  rescale(L);
  matrix<double> grad;
  double g = evaluate(L, &grad);
  matrix<double> dir = direction(grad);
  double step = 0.1 * L.norm() / std::max(dir.norm(), 1e-300);
  linear_ascent_result a{{}, 0, 0, solver_status::iteration_cap};
  index_t it = 0;
  for (; it < o.max_iter; ++it) {
    bool moved = false;
    double g_new = g;
    for (int tries = 0; tries < 60; ++tries) {
      matrix<double> L_new = L + step * dir;
      rescale(L_new);
      matrix<double> grad_new;
      g_new = evaluate(L_new, &grad_new);
      if (std::isfinite(g_new) && g_new > g) {
        L = L_new;
        dir = direction(grad_new);
        step *= 1.5;
        moved = true;
        break;
      }
      step /= 2;
    }
    trace.push_back({first_iteration + it, moved ? g_new : g, step, seconds(), 0});
    if (o.progress) o.progress(trace.back());
    if (!moved) {
      a.status = solver_status::stalled;
      ++it;
      break;
    }
    const double gain = (g_new - g) / g;
    g = g_new;
    if (gain < o.tol * 1e-3) {
      a.status = solver_status::converged;
      ++it;
      break;
    }
  }
  a.L = std::move(L);
  a.g = g;
  a.iterations = it;
  return a;
}

template double mmc_linear_ratio<float>(mmc_problem<float>&, const matrix<double>&,
                                        const matrix<double>&, double, matrix<double>*);
template double mmc_linear_ratio<double>(mmc_problem<double>&, const matrix<double>&,
                                         const matrix<double>&, double, matrix<double>*);
template linear_ascent_result linear_ascent<float>(mmc_problem<float>&, const matrix<double>&,
                                                   matrix<double>, double, const mmc_options&,
                                                   index_t, std::vector<iteration_record>&,
                                                   std::chrono::steady_clock::time_point);
template linear_ascent_result linear_ascent<double>(mmc_problem<double>&, const matrix<double>&,
                                                    matrix<double>, double, const mmc_options&,
                                                    index_t, std::vector<iteration_record>&,
                                                    std::chrono::steady_clock::time_point);

}  // namespace detail

template <class T>
mmc_result<T> fit_mmc_linear(backend<T>& be, matrix_ref<T> X, const pair_list& S,
                             const pair_list* D, const mmc_options& o) {
  const char* where = "mahal::fit_mmc_linear";
  using clock_type = std::chrono::steady_clock;
  const auto t0 = clock_type::now();
  detail::check_mmc_inputs<T>(X, S, D, where);
  expects(o.mode == mmc_mode::fast, where, "the reference code has no L-space mode");
  expects(o.max_iter >= 1 && o.tol > 0, where, "max_iter = ", o.max_iter, ", tol = ", o.tol,
          " must be positive");
  const index_t d = X.rows();
  const index_t k = o.rank == 0 ? d : o.rank;
  expects(k >= 1 && k <= d, where, "rank = ", o.rank, " must be in [0, d = ", d, "]");
  const matrix<double> A0 = detail::initial_metric(o, d, where);
  detail::mmc_problem<T> p(be, X, S, D, o.block);
  const matrix<double>& W = p.W();
  const double t = o.bound > 0 ? o.bound : detail::frob_dot(W, A0) / 100;
  expects(t > 0, where, "the bound t is 0: every similar pair has zero distance under A0");
  // The constraint uses W floored along the directions S does not constrain (mmc.hpp).
  const detail::unconstrained_subspace u = detail::find_unconstrained(p);
  const matrix<double>& W_floored = u.W_floored;
  // L0: the k leading rows of A0's factor.
  matrix<double> L = psd_to_linear_map<double>(A0).topRows(std::min<index_t>(k, d));
  if (L.rows() < k) L.conservativeResizeLike(matrix<double>::Zero(k, d));
  mmc_result<T> r;
  r.bound = t;
  r.unconstrained = u.directions;
  detail::linear_ascent_result a =
      detail::linear_ascent(p, W_floored, std::move(L), t, o, 0, r.trace, t0);
  r.status = a.status;
  r.iterations = a.iterations;
  L = std::move(a.L);
  const double g = a.g;
  r.L = L.cast<T>();
  r.A = (L.transpose() * L).cast<T>();
  r.a = r.A.diagonal();
  r.objective = g;
  r.similarity = detail::frob_dot(W, L.transpose() * L);
  r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  return r;
}

template <class T>
mmc_result<T> fit_mmc_linear(backend<T>& be, matrix_ref<T> X, label_ref y,
                             const pair_sampling& sampling, const mmc_options& options) {
  expects(y.size() == X.cols(), "mahal::fit_mmc_linear", y.size(), " labels for ", X.cols(),
          " samples");
  const pair_constraints c =
      sample_pairs(y, sampling.n_similar, sampling.n_dissimilar, sampling.seed);
  return fit_mmc_linear<T>(be, X, c.similar, &c.dissimilar, options);
}

#define MAHAL_INSTANTIATE(T)                                                             \
  template mmc_result<T> fit_mmc_linear<T>(backend<T>&, matrix_ref<T>, const pair_list&, \
                                           const pair_list*, const mmc_options&);        \
  template mmc_result<T> fit_mmc_linear<T>(backend<T>&, matrix_ref<T>, label_ref,        \
                                           const pair_sampling&, const mmc_options&);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal

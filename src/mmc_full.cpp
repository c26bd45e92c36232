// Xing et al.'s MMC with a full matrix A: the reference code's gradient ascent with iterated
// projections (mmc_mode::reference), and the L-space ascent followed by projected gradient
// ascent on the spectraplex (mmc_mode::fast). See include/mahal/mmc.hpp and
// python_ref/MMC_REFERENCE.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "mahal/constraints.hpp"
#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "mahal/mmc.hpp"
#include "mmc_objective.hpp"

namespace mahal {
namespace {

using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The reference code's _grad_projection: g1's component orthogonal to g2, unit norm. Where g1 is
// parallel to g2 that component is 0 and the reference divides 0 by 0 (a NaN iterate, then a
// failed eigendecomposition); here it is 0: no direction along the constraint, A stays.
matrix<double> grad_projection(const matrix<double>& g1, const matrix<double>& g2) {
  const matrix<double> u = g2 / g2.norm();
  const matrix<double> g = g1 - detail::frob_dot(g1, u) * u;
  const double norm = g.norm();
  return norm > 0 ? matrix<double>(g / norm) : matrix<double>::Zero(g.rows(), g.cols());
}

template <class T>
struct full_state {
  detail::mmc_problem<T>& problem;
  index_t eigs = 0;

  // Σ_D ||δ||_A (paper) and, when asked, its gradient's numerator under `rule`.
  double dissimilar(const matrix<double>& A, detail::mmc_weight rule, matrix<double>* grad) {
    const device_array<T> AX = detail::times_X(problem.be(), A, problem.X());
    return problem.dissimilar(problem.X(), AX, problem.X(), problem.X(), rule, grad);
  }
  void eig(const matrix<double>& a, vector<double>& w, matrix<double>& v) {
    detail::host_eig(problem.be(), a, w, v);
    ++eigs;
  }
};

template <class T>
void reference_full(full_state<T>& st, const matrix<double>& A0, double t, const mmc_options& o,
                    mmc_result<T>& r, clock_type::time_point t0) {
  const matrix<double>& W = st.problem.W();
  const index_t d = W.rows();
  const double w_norm = W.norm();
  const matrix<double> w1 = W / w_norm;
  const double t1 = t / w_norm;
  constexpr double eps = 0.01;
  auto g_ref = [&](const matrix<double>& A) {
    return std::log(st.dissimilar(A, detail::mmc_weight::reference, nullptr) + 1e-6);
  };
  auto grad_g = [&](const matrix<double>& A) {
    matrix<double> G;
    const double sum = st.dissimilar(A, detail::mmc_weight::reference, &G);
    return matrix<double>(G / (sum + 1e-6));
  };
  double alpha = 0.1;
  matrix<double> A = A0;
  matrix<double> M = grad_projection(W, grad_g(A));  // the reference's swapped first direction
  matrix<double> A_old = A;
  double obj_old = 0;
  bool obj_old_known = false, any_accepted = false;
  double delta = std::numeric_limits<double>::infinity();
  vector<double> lambda;
  matrix<double> V;
  index_t cycle = 0;
  for (; cycle < o.max_iter; ++cycle) {
    bool satisfy = false;
    for (index_t it = 0; it < o.max_projections; ++it) {
      if (detail::frob_dot(W, A) > t) A += (t1 - detail::frob_dot(w1, A)) * w1;
      st.eig((A + A.transpose()) / 2, lambda, V);
      ++r.projection_passes;
      A = V * lambda.cwiseMax(0.0).asDiagonal() * V.transpose();
      const double error2 = (detail::frob_dot(W, A) - t) / t;
      if (error2 < eps) {
        satisfy = true;
        break;
      }
    }
    if (!obj_old_known) obj_old = g_ref(A_old);
    const double obj = g_ref(A);
    const bool accepted = satisfy && (obj > obj_old || cycle == 0);
    if (accepted) {
      alpha *= 1.05;
      A_old = A;
      obj_old = obj;
      obj_old_known = true;
      any_accepted = true;
      M = grad_projection(grad_g(A), W);
      A += alpha * M;
    } else {
      alpha /= 2;
      A = A_old + alpha * M;
    }
    delta = (alpha * M).norm() / A_old.norm();
    r.trace.push_back({cycle, obj, alpha, since(t0), accepted ? 1 : 0});
    if (o.progress) o.progress(r.trace.back());
    if (delta < o.tol) break;
  }
  r.iterations = std::min(cycle + 1, o.max_iter);
  // The reference's converged_ is delta <= tol; a run that never accepted a cycle returns A0
  // unprojected (infeasible), which is reported as stalled.
  r.status = !any_accepted      ? solver_status::stalled
             : !(delta > o.tol) ? solver_status::converged
                                : solver_status::iteration_cap;
  r.A = A_old.cast<T>();
  (void)d;
}

// Euclidean projection of the eigenvalues onto {μ >= 0, Σμ <= t}.
vector<double> capped_simplex(const vector<double>& lambda, double t) {
  vector<double> mu = lambda.cwiseMax(0.0);
  if (mu.sum() <= t) return mu;
  std::vector<double> s(lambda.data(), lambda.data() + lambda.size());
  std::sort(s.begin(), s.end(), std::greater<>());
  double cum = 0, theta = 0;
  for (std::size_t k = 0; k < s.size(); ++k) {
    cum += s[k];
    const double th = (cum - t) / static_cast<double>(k + 1);
    if (s[k] - th > 0) theta = th;
  }
  return (lambda.array() - theta).cwiseMax(0.0).matrix();
}

template <class T>
void fast_full(full_state<T>& st, const detail::unconstrained_subspace& u, const matrix<double>& A0,
               double t, const mmc_options& o, mmc_result<T>& r, clock_type::time_point t0) {
  // K = W^{-1/2} (W's tiny eigenvalues floored at 1e-12·λ_max: directions S does not
  // constrain), so that A = K B K turns ⟨W, A⟩ <= t into tr B <= t. W's eigendecomposition is
  // find_unconstrained's, counted here as this solver's.
  const vector<double>& lw = u.values;
  const matrix<double>& Vw = u.vectors;
  ++st.eigs;
  const vector<double> root = lw.cwiseMax(u.floor).cwiseSqrt();
  const matrix<double> K = Vw * root.cwiseInverse().asDiagonal() * Vw.transpose();
  const matrix<double> Kinv = Vw * root.asDiagonal() * Vw.transpose();
  auto symm = [](const matrix<double>& a) { return matrix<double>((a + a.transpose()) / 2); };
  vector<double> lambda;
  matrix<double> V;
  auto project = [&](const matrix<double>& Y) {
    st.eig(symm(Y), lambda, V);
    ++r.projection_passes;
    return symm(V * capped_simplex(lambda, t).asDiagonal() * V.transpose());
  };
  auto evaluate = [&](const matrix<double>& B, matrix<double>* grad_B) {
    matrix<double> G;
    const double g =
        st.dissimilar(symm(K * B * K), detail::mmc_weight::paper, grad_B ? &G : nullptr);
    if (grad_B) *grad_B = symm(K * G * K);
    return g;
  };
  // Phase 1: the L-space ascent over A = LᵀL (L d×d) from A0's factor, on the boundary
  // ⟨W, A⟩ = t where the optimum lies (g grows as the square root of A's scale). Its iterates are
  // smooth where A's are not: ∂||δ||_A/∂A grows without bound as δᵀAδ → 0, and near a low-rank
  // optimum projected steps on A shrink to nothing (iris with 15 similar pairs: 100 iterations
  // and still 0.4–2 % short of the optimum in 5 of 8 draws).
  detail::linear_ascent_result a = detail::linear_ascent(
      st.problem, u.W_floored, psd_to_linear_map<double>(A0), t, o, 0, r.trace, t0);
  // Phase 2: projected gradient on the spectraplex from there, stopped by the Frank–Wolfe gap
  // (which the first phase's result usually meets at once).
  matrix<double> B = project(symm(Kinv * (a.L.transpose() * a.L) * Kinv));
  matrix<double> grad;
  double g = evaluate(B, &grad);
  double step = B.norm() / std::max(grad.norm(), 1e-300);
  r.status = solver_status::iteration_cap;
  index_t it = a.iterations;
  for (;; ++it) {
    // Frank–Wolfe gap: max over the feasible set of ⟨∇, B' − B⟩ >= g* − g (g concave).
    st.eig(grad, lambda, V);
    const double gap = t * std::max(lambda.maxCoeff(), 0.0) - detail::frob_dot(grad, B);
    if (gap <= o.tol * g) {
      r.status = solver_status::converged;
      break;
    }
    if (it >= o.max_iter) break;
    bool moved = false;
    for (int tries = 0; tries < 60; ++tries) {
      const matrix<double> B_new = project(B + step * grad);
      matrix<double> grad_new;
      const double g_new = evaluate(B_new, &grad_new);
      if (std::isfinite(g_new) && g_new > g) {
        B = B_new;
        g = g_new;
        grad = grad_new;
        step *= 1.5;
        moved = true;
        break;
      }
      step /= 2;
    }
    r.trace.push_back({it, g, step, since(t0), 0});
    if (o.progress) o.progress(r.trace.back());
    if (!moved) {
      r.status = solver_status::stalled;
      break;
    }
  }
  // Steps attempted: a stalled iteration counts, the last gap check does not.
  r.iterations = std::min(it + (r.status == solver_status::stalled ? 1 : 0), o.max_iter);
  // A = K B K, formed as LᵀL with L = Λ^{1/2} Vᵀ K (B = V Λ Vᵀ): PSD up to rounding even when
  // K is ill-conditioned (W nearly singular), where the product K B K had eigenvalues down to
  // −2e-6·λ_max.
  st.eig(B, lambda, V);
  const matrix<double> L = lambda.cwiseMax(0.0).cwiseSqrt().asDiagonal() * V.transpose() * K;
  r.A = (L.transpose() * L).template cast<T>();
}

}  // namespace

template <class T>
mmc_result<T> fit_mmc_full(backend<T>& be, matrix_ref<T> X, const pair_list& S, const pair_list* D,
                           const mmc_options& options) {
  const char* where = "mahal::fit_mmc_full";
  const auto t0 = clock_type::now();
  detail::check_mmc_inputs<T>(X, S, D, where);
  expects(options.max_iter >= 1 && options.tol > 0 && options.max_projections >= 1, where,
          "max_iter = ", options.max_iter, ", tol = ", options.tol,
          ", max_projections = ", options.max_projections, " must be positive");
  expects(options.bound >= 0 && std::isfinite(options.bound), where, "bound = ", options.bound);
  const matrix<double> A0 = detail::initial_metric(options, X.rows(), where);
  detail::mmc_problem<T> problem(be, X, S, D, options.block);
  full_state<T> st{problem};
  mmc_result<T> r;
  const double t = options.bound > 0 ? options.bound : detail::frob_dot(problem.W(), A0) / 100;
  expects(t > 0, where,
          "the bound t = Σ_S ||δ||²_{A0} / 100 is 0: every similar pair has "
          "zero distance under A0");
  r.bound = t;
  const detail::unconstrained_subspace u = detail::find_unconstrained(problem);
  r.unconstrained = u.directions;
  if (options.mode == mmc_mode::reference)
    reference_full(st, A0, t, options, r, t0);
  else
    fast_full(st, u, A0, t, options, r, t0);
  const matrix<double> A = r.A.template cast<double>();
  r.objective = st.dissimilar(A, detail::mmc_weight::paper, nullptr);
  r.similarity = detail::frob_dot(problem.W(), A);
  r.a = r.A.diagonal();
  psd_factor_options fo;
  r.L = psd_to_linear_map<T>(project_psd<T>(r.A), fo);
  if (r.L.rows() == 0) r.L = matrix<T>::Zero(1, X.rows());
  r.eigendecompositions = st.eigs;
  r.seconds = since(t0);
  return r;
}

template <class T>
mmc_result<T> fit_mmc_full(backend<T>& be, matrix_ref<T> X, label_ref y,
                           const pair_sampling& sampling, const mmc_options& options) {
  expects(y.size() == X.cols(), "mahal::fit_mmc_full", y.size(), " labels for ", X.cols(),
          " samples");
  const pair_constraints c =
      sample_pairs(y, sampling.n_similar, sampling.n_dissimilar, sampling.seed);
  return fit_mmc_full<T>(be, X, c.similar, &c.dissimilar, options);
}

#define MAHAL_INSTANTIATE(T)                                                           \
  template mmc_result<T> fit_mmc_full<T>(backend<T>&, matrix_ref<T>, const pair_list&, \
                                         const pair_list*, const mmc_options&);        \
  template mmc_result<T> fit_mmc_full<T>(backend<T>&, matrix_ref<T>, label_ref,        \
                                         const pair_sampling&, const mmc_options&);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal

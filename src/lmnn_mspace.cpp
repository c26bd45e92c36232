// M-space LMNN (Weinberger & Saul 2009, Section 5): projected subgradient descent on the d×d
// metric M with the original step adaptation (grow by 1% after a decrease, halve and reject
// otherwise) and projection onto the PSD cone after every step.
#include <Eigen/Eigenvalues>
#include <cmath>

#include "blas_threads.hpp"
#include "lmnn_objective.hpp"
#include "mahal/metric.hpp"

namespace mahal::detail {
namespace {

// L with LᵀL = M for a PSD M (d×d): L = diag(√λ⁺)·Vᵀ.
matrix<double> factor(const matrix<double>& M) {
  // Eigen's tridiagonal reduction calls BLAS dsymv for each column.
  const blas_serial_scope serial(M.rows() <= kSerialEigenMaxOrder);
  Eigen::SelfAdjointEigenSolver<matrix<double>> eig(M);
  const vector<double> s = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return s.asDiagonal() * eig.eigenvectors().transpose();
}

}  // namespace

template <class T>
void solve_lmnn_mspace(lmnn_problem<T>& problem, matrix<double>& L, const lmnn_options& options,
                       lmnn_result<T>& result, const stopwatch& clock) {
  backend<T>& be = problem.be();
  const index_t d = L.cols();
  device_array<T> L_dev, Z;
  device_array<T> G_dev = be.alloc(d, d);
  matrix<T> G_host(d, d);
  auto eval = [&](const matrix<double>& M, matrix<double>* G, lmnn_terms* t) {
    transform_into(be, factor(M), problem.X(), L_dev, Z);
    *t = problem.evaluate(Z, G != nullptr);
    ++result.evaluations;
    if (G) {
      problem.gradient_M(G_dev);
      be.download(G_dev, G_host.data());
      *G = G_host.template cast<double>();
    }
    return t->objective;
  };
  matrix<double> M = L.transpose() * L, G;
  transform_into(be, L, problem.X(), L_dev, Z);
  problem.full_search(Z, options.band);
  ++result.full_searches;
  lmnn_terms t;
  double f = eval(M, &G, &t);
  // The objective is exact right after a search; between searches stale candidates can hide a
  // rise. As in the lbfgs solver, the searched M with the lowest exact objective is returned.
  double best = f;
  matrix<double> M_best = M;
  const double gnorm = G.norm();
  double alpha =
      options.initial_step > 0 ? options.initial_step : (gnorm > 0 ? 0.1 * M.norm() / gnorm : 1.0);
  const double alpha_floor = 1e-14 * alpha;
  index_t since_search = 0, small = 0;
  auto search = [&] {  // at Z = factor(M)·X
    problem.full_search(Z, options.band);
    ++result.full_searches;
    since_search = 0;
  };
  result.status = solver_status::iteration_cap;
  result.message = "iteration cap reached";
  while (result.iterations < options.max_iterations) {
    if (G.norm() == 0) {
      result.status = solver_status::converged;
      result.message = "zero gradient";
      break;
    }
    const matrix<double> M_new = project_psd<double>(M - alpha * G);
    matrix<double> G_new;
    lmnn_terms t_new;
    const double f_new = eval(M_new, &G_new, &t_new);
    if (f_new < f) {
      small = (f - f_new <= options.tolerance * std::max(1.0, std::abs(f_new))) ? small + 1 : 0;
      M = M_new;
      G = G_new;
      f = f_new;
      t = t_new;
      alpha *= 1.01;
      ++result.iterations;
      ++since_search;
      iteration_record rec{result.iterations, f, alpha, clock.seconds(), t.active_pairs};
      result.trace.push_back(rec);
      if (options.progress) options.progress(rec);
    } else {
      alpha *= 0.5;
    }
    const bool tiny = alpha < alpha_floor;
    if (since_search >= options.full_search_every || small >= 3 || tiny) {
      transform_into(be, factor(M), problem.X(), L_dev, Z);
      const double before = problem.evaluate(Z, false).objective;
      search();
      f = eval(M, &G, &t);
      if (f < best) {
        best = f;
        M_best = M;
      }
      const bool changed = std::abs(f - before) > 1e-12 * std::max(1.0, std::abs(f));
      if (!changed && (small >= 3 || tiny)) {
        result.status = tiny ? solver_status::stalled : solver_status::converged;
        result.message = tiny ? "step size underflow" : "relative decrease below tolerance";
        break;
      }
      if (tiny) alpha = 1e6 * alpha_floor;
      small = 0;
    }
  }
  if (since_search > 0) {  // end with a search at the final M, as the lbfgs solver does
    transform_into(be, factor(M), problem.X(), L_dev, Z);
    search();
    f = eval(M, &G, &t);
  }
  if (best < f) {
    M = M_best;
    transform_into(be, factor(M), problem.X(), L_dev, Z);
    search();
    result.message += " (the last iterate was worse: returned the best searched one)";
  }
  L = factor(M);
}

template void solve_lmnn_mspace<float>(lmnn_problem<float>&, matrix<double>&, const lmnn_options&,
                                       lmnn_result<float>&, const stopwatch&);
template void solve_lmnn_mspace<double>(lmnn_problem<double>&, matrix<double>&, const lmnn_options&,
                                        lmnn_result<double>&, const stopwatch&);

}  // namespace mahal::detail

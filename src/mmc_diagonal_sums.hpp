// The diagonal MMC's log-term sums on the host, in double: the one place where the CPU writes
// the reference code's clamps (cuda/kernels.cu has the device's). Used by the solver's host
// chunks, the CPU backend's mmc_diagonal_terms, and the implicit sweep's S correction.
#pragma once

#include <Eigen/Core>

#include "mahal/matrix.hpp"

namespace mahal::detail {

// Running Σ dist, Σ q / (2·max(dist, 1e-6)) and Σ q qᵀ / (4·max(dist³, 1e-6)) over pairs with
// squared differences q = δ∘δ and dist = sqrt(max(q·a, 0)).
struct diagonal_sums {
  explicit diagonal_sums(index_t d)
      : grad(vector<double>::Zero(d)), hess_lower(matrix<double>::Zero(d, d)) {}

  // The pairs whose q are the columns of Q (d×m).
  void add_pairs(const matrix<double>& Q, const vector<double>& a) {
    const vector<double> dist = (Q.transpose() * a).cwiseMax(0.0).cwiseSqrt();
    sum += dist.sum();
    grad.noalias() += Q * (0.5 / dist.array().max(1e-6)).matrix();
    // One BLAS syrk on the columns scaled by 1 / (2·sqrt(max(dist³, 1e-6))).
    const vector<double> root = 0.5 / dist.array().cube().max(1e-6).sqrt();
    hess_lower.selfadjointView<Eigen::Lower>().rankUpdate(Q * root.asDiagonal(), 1.0);
  }

  void add(const diagonal_sums& other) {
    sum += other.sum;
    grad += other.grad;
    hess_lower += other.hess_lower;
  }

  matrix<double> hess() const { return hess_lower.selfadjointView<Eigen::Lower>(); }

  double sum = 0;
  vector<double> grad;
  matrix<double> hess_lower;  // the lower triangle is kept
};

}  // namespace mahal::detail

#include "cpu_mmc.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "mahal/matrix.hpp"

namespace mahal::cpu {

template <class T>
void mmc_diagonal_terms(const T* x_rows, index_t rows, const T* x_cols, index_t cols, index_t d,
                        index_t first_row, index_t first_col, bool upper, const T* w,
                        diagonal_terms& terms) {
  using host = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Map<const host> XI(x_rows, d, rows), XJ(x_cols, d, cols);
  const vector<double> wd =
      Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(w, d).template cast<double>();
  // Columns in fixed groups, each summed on one thread, the groups added in order: the same
  // bits for every thread count.
  constexpr index_t group = 64;
  const index_t groups = (cols + group - 1) / group;
  struct part {
    double sum = 0;
    vector<double> grad;
    matrix<double> hess;
  };
  std::vector<part> parts(static_cast<std::size_t>(groups));
#pragma omp parallel for schedule(dynamic, 1) if (rows * cols * d > (1 << 16))
  for (index_t g = 0; g < groups; ++g) {
    part& p = parts[static_cast<std::size_t>(g)];
    p.grad = vector<double>::Zero(d);
    p.hess = matrix<double>::Zero(d, d);
    for (index_t b = g * group; b < std::min(cols, (g + 1) * group); ++b) {
      // Rows a with first_row + a < first_col + b when upper.
      const index_t a_end = upper ? std::clamp<index_t>(first_col + b - first_row, 0, rows) : rows;
      if (a_end == 0) continue;
      const vector<double> xb = XJ.col(b).template cast<double>();
      const matrix<double> Q =
          (XI.leftCols(a_end).template cast<double>().colwise() - xb).array().square().matrix();
      const vector<double> dist = (Q.transpose() * wd).cwiseMax(0.0).cwiseSqrt();
      p.sum += dist.sum();
      p.grad.noalias() += Q * (0.5 / dist.array().max(1e-6)).matrix();
      const vector<double> root = 0.5 / dist.array().cube().max(1e-6).sqrt();
      p.hess.template selfadjointView<Eigen::Lower>().rankUpdate(Q * root.asDiagonal(), 1.0);
    }
  }
  Eigen::Map<vector<double>> grad(terms.grad.data(), d);
  Eigen::Map<matrix<double>> hess(terms.hess.data(), d, d);
  matrix<double> lower = matrix<double>::Zero(d, d);
  for (const part& p : parts) {
    terms.sum += p.sum;
    grad += p.grad;
    lower += p.hess;
  }
  hess += lower.selfadjointView<Eigen::Lower>().toDenseMatrix();
}

template void mmc_diagonal_terms<float>(const float*, index_t, const float*, index_t, index_t,
                                        index_t, index_t, bool, const float*, diagonal_terms&);
template void mmc_diagonal_terms<double>(const double*, index_t, const double*, index_t, index_t,
                                         index_t, index_t, bool, const double*, diagonal_terms&);

}  // namespace mahal::cpu

#include "cpu_mmc.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "mahal/matrix.hpp"
#include "mmc_diagonal_sums.hpp"
#include "parallel_work.hpp"

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
  std::vector<detail::diagonal_sums> parts(static_cast<std::size_t>(groups),
                                           detail::diagonal_sums(d));
#pragma omp parallel for schedule(dynamic, 1) if (rows * cols * d > detail::kParallelWork)
  for (index_t g = 0; g < groups; ++g) {
    for (index_t b = g * group; b < std::min(cols, (g + 1) * group); ++b) {
      // Rows a with first_row + a < first_col + b when upper.
      const index_t a_end = upper ? std::clamp<index_t>(first_col + b - first_row, 0, rows) : rows;
      if (a_end == 0) continue;
      const vector<double> xb = XJ.col(b).template cast<double>();
      parts[static_cast<std::size_t>(g)].add_pairs(
          (XI.leftCols(a_end).template cast<double>().colwise() - xb).array().square().matrix(),
          wd);
    }
  }
  detail::diagonal_sums total(d);
  for (const detail::diagonal_sums& p : parts) total.add(p);
  terms.sum += total.sum;
  Eigen::Map<vector<double>>(terms.grad.data(), d) += total.grad;
  Eigen::Map<matrix<double>>(terms.hess.data(), d, d) += total.hess();
}

template void mmc_diagonal_terms<float>(const float*, index_t, const float*, index_t, index_t,
                                        index_t, index_t, bool, const float*, diagonal_terms&);
template void mmc_diagonal_terms<double>(const double*, index_t, const double*, index_t, index_t,
                                         index_t, index_t, bool, const double*, diagonal_terms&);

}  // namespace mahal::cpu

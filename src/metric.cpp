// Metric forms and conversions. All of this is d×d work on the host: Eigen's own solvers are
// plenty for the sizes involved (d up to a few hundred).
#include "mahal/metric.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <cmath>

#include "blas_threads.hpp"
#include "mahal/error.hpp"

namespace mahal {

std::string to_string(metric_form form) {
  switch (form) {
    case metric_form::linear:
      return "linear";
    case metric_form::full:
      return "full";
    case metric_form::diagonal:
      return "diagonal";
  }
  return "linear";
}

metric_form parse_metric_form(const std::string& name) {
  if (name == "linear") return metric_form::linear;
  if (name == "full") return metric_form::full;
  if (name == "diagonal") return metric_form::diagonal;
  throw invalid_argument("mahal::parse_metric_form: unknown metric form '" + name + "'");
}

template <class T>
void check_finite(matrix_ref<T> X, const char* where, const char* what) {
  if (X.allFinite()) return;
  for (index_t j = 0; j < X.cols(); ++j)
    for (index_t i = 0; i < X.rows(); ++i)
      expects(std::isfinite(X(i, j)), where, what, "(", i, ", ", j, ") = ", X(i, j),
              " is not finite");
}

template <class T>
void validate_psd(matrix_ref<T> A, double tolerance, const char* where) {
  expects(A.rows() == A.cols() && A.rows() > 0, where, "A must be square and non-empty, got ",
          A.rows(), "x", A.cols());
  check_finite<T>(A, where, "A");
  const double scale = std::max<double>(A.cwiseAbs().maxCoeff(), 1e-300);
  for (index_t j = 0; j < A.cols(); ++j)
    for (index_t i = j + 1; i < A.rows(); ++i)
      expects(std::abs(static_cast<double>(A(i, j) - A(j, i))) <= tolerance * scale, where,
              "A is not symmetric: A(", i, ", ", j, ") = ", A(i, j), " but A(", j, ", ", i,
              ") = ", A(j, i));
  const detail::blas_serial_scope serial(A.rows() <= detail::kSerialEigenMaxOrder);
  Eigen::SelfAdjointEigenSolver<matrix<double>> eig(A.template cast<double>(),
                                                    Eigen::EigenvaluesOnly);
  const double lo = eig.eigenvalues().minCoeff(), hi = eig.eigenvalues().maxCoeff();
  expects(lo >= -tolerance * std::max(1.0, hi), where,
          "A is not positive semidefinite: smallest eigenvalue ", lo, " (largest ", hi,
          ", tolerance ", tolerance, ")");
}

template <class T>
matrix<T> psd_to_linear_map(matrix_ref<T> A, const psd_factor_options& options) {
  const char* where = "mahal::psd_to_linear_map";
  expects(A.rows() == A.cols() && A.rows() > 0, where, "A must be square, got ", A.rows(), "x",
          A.cols());
  expects(options.rank >= 0 && options.rank <= A.rows(), where, "rank ", options.rank,
          " outside [0, ", A.rows(), "]");
  check_finite<T>(A, where, "A");
  const matrix<T> sym = (A + A.transpose()) / T(2);
  if (options.cholesky) {
    Eigen::LLT<matrix<T>> llt(sym);
    expects(llt.info() == Eigen::Success, where,
            "Cholesky failed: A is not positive definite (use the eigen factorisation)");
    return llt.matrixU();  // A = UᵀU
  }
  const detail::blas_serial_scope serial(A.rows() <= detail::kSerialEigenMaxOrder);
  Eigen::SelfAdjointEigenSolver<matrix<T>> eig(sym);
  expects<numerical_error>(eig.info() == Eigen::Success, where, "eigendecomposition failed");
  const vector<T>& lambda = eig.eigenvalues();  // ascending
  const index_t d = A.rows();
  const T cutoff = static_cast<T>(options.tolerance) * std::max(lambda(d - 1), T(0));
  index_t keep = 0;
  while (keep < d && lambda(d - 1 - keep) > cutoff) ++keep;
  if (options.rank > 0) keep = std::min(keep, options.rank);
  keep = std::max<index_t>(keep, 1);  // the zero metric keeps one (zero) row
  matrix<T> L(keep, d);
  for (index_t r = 0; r < keep; ++r) {
    const index_t c = d - 1 - r;
    L.row(r) = std::sqrt(std::max(lambda(c), T(0))) * eig.eigenvectors().col(c).transpose();
  }
  return L;
}

template <class T>
matrix<T> linear_map_to_psd(matrix_ref<T> L) {
  return L.transpose() * L;
}

template <class T>
matrix<T> project_psd(matrix_ref<T> A) {
  expects(A.rows() == A.cols(), "mahal::project_psd", "A must be square, got ", A.rows(), "x",
          A.cols());
  check_finite<T>(A, "mahal::project_psd", "A");
  const matrix<T> sym = (A + A.transpose()) / T(2);
  const detail::blas_serial_scope serial(A.rows() <= detail::kSerialEigenMaxOrder);
  Eigen::SelfAdjointEigenSolver<matrix<T>> eig(sym);
  const vector<T> clipped = eig.eigenvalues().cwiseMax(T(0));
  return eig.eigenvectors() * clipped.asDiagonal() * eig.eigenvectors().transpose();
}

template <class T>
metric<T> metric<T>::identity(index_t d) {
  expects(d > 0, "mahal::metric::identity", "dimension must be positive, got ", d);
  return metric(matrix<T>::Identity(d, d), metric_form::full);
}

template <class T>
metric<T> metric<T>::from_linear_map(matrix_ref<T> L, metric_form form) {
  const char* where = "mahal::metric::from_linear_map";
  expects(L.rows() > 0 && L.cols() > 0 && L.rows() <= L.cols(), where,
          "L must be k×d with 0 < k <= d, got ", L.rows(), "x", L.cols());
  check_finite<T>(L, where, "L");
  return metric(L, form);
}

template <class T>
metric<T> metric<T>::from_psd(matrix_ref<T> A, const psd_factor_options& options,
                              double psd_tolerance) {
  validate_psd<T>(A, psd_tolerance, "mahal::metric::from_psd");
  return metric(psd_to_linear_map<T>(A, options), metric_form::full);
}

template <class T>
metric<T> metric<T>::from_diagonal(vector_ref<T> a) {
  const char* where = "mahal::metric::from_diagonal";
  expects(a.size() > 0, where, "empty diagonal");
  check_finite<T>(a, where, "a");
  for (index_t t = 0; t < a.size(); ++t)
    expects(a(t) >= 0, where, "a(", t, ") = ", a(t), " is negative");
  return metric(matrix<T>(a.cwiseSqrt().asDiagonal()), metric_form::diagonal);
}

template <class T>
matrix<T> metric<T>::A() const {
  return L_.transpose() * L_;
}

template <class T>
vector<T> metric<T>::diagonal() const {
  return L_.colwise().squaredNorm().transpose();
}

template <class T>
matrix<T> metric<T>::transform(matrix_ref<T> X) const {
  expects(X.rows() == dim(), "mahal::metric::transform", "X has ", X.rows(),
          " rows but the metric is on R^", dim());
  return L_ * X;
}

template <class T>
T metric<T>::sqdist(vector_ref<T> x, vector_ref<T> y) const {
  expects(x.size() == dim() && y.size() == dim(), "mahal::metric::sqdist", "points of size ",
          x.size(), " and ", y.size(), " for a metric on R^", dim());
  return (L_ * (x - y)).squaredNorm();
}

#define MAHAL_INSTANTIATE(T)                                                              \
  template class metric<T>;                                                               \
  template matrix<T> psd_to_linear_map<T>(matrix_ref<T>, const psd_factor_options&);      \
  template matrix<T> linear_map_to_psd<T>(matrix_ref<T>);                                 \
  template matrix<T> project_psd<T>(matrix_ref<T>);                                       \
  template void validate_psd<T>(matrix_ref<T>, double, const char*);                      \
  template void check_finite<T>(matrix_ref<T>, const char*, const char*);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal

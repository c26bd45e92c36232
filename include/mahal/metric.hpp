// mahal/metric.hpp — Mahalanobis metrics and the conversions between their three forms.
//
//   linear map  L (k×d, k <= d):   d(x, y)² = ||L(x − y)||²,  A = LᵀL
//   full PSD    A (d×d, A ⪰ 0):    d(x, y)² = (x − y)ᵀA(x − y)
//   diagonal    a (d, a >= 0):     d(x, y)² = Σ_t a_t (x_t − y_t)²
//
// A `metric<T>` stores the linear map L, which every distance computation uses (Z = LX, then
// Euclidean geometry on Z), and remembers which form it was learned in. Conversions:
//   A → L  eigendecomposition A = V diag(λ) Vᵀ, L = diag(√λ) Vᵀ over the kept eigenvalues
//          (optionally the `rank` largest); or Cholesky A = R Rᵀ, L = Rᵀ when A is PD;
//   L → A  LᵀL;   a → L  diag(√a).
//
//   mahal::matrix<double> A = ...;                       // learned d×d PSD matrix
//   mahal::validate_psd<double>(A);                      // throws invalid_argument if not PSD
//   auto m = mahal::metric<double>::from_psd(A);         // L with A = LᵀL
//   mahal::matrix<double> Z = m.transform(X);            // k×n
#pragma once

#include <string>

#include "mahal/matrix.hpp"

namespace mahal {

enum class metric_form { linear, full, diagonal };
std::string to_string(metric_form form);
metric_form parse_metric_form(const std::string& name);

// How a PSD matrix is factored into A = LᵀL.
struct psd_factor_options {
  index_t rank = 0;          // keep the `rank` largest eigenvalues; 0 keeps every positive one
  bool cholesky = false;     // factor by Cholesky (A must be positive definite; L is d×d)
  double tolerance = 1e-10;  // eigenvalues below tolerance·λ_max count as zero
};

template <class T>
class metric {
 public:
  metric() = default;

  // The Euclidean metric on R^d (L = I).
  static metric identity(index_t d);
  // d(x, y)² = ||L(x − y)||², L k×d with k <= d; finite entries. `form` records how the
  // metric was learned (a full or diagonal A factored into L, or L itself).
  static metric from_linear_map(matrix_ref<T> L, metric_form form = metric_form::linear);
  // A d×d symmetric PSD (validated with validate_psd at `psd_tolerance`), factored by `options`.
  static metric from_psd(matrix_ref<T> A, const psd_factor_options& options = {},
                         double psd_tolerance = 1e-8);
  // a >= 0, finite.
  static metric from_diagonal(vector_ref<T> a);

  const matrix<T>& L() const { return L_; }  // k×d
  matrix<T> A() const;                        // d×d = LᵀL
  vector<T> diagonal() const;                 // diag(A)
  index_t dim() const { return L_.cols(); }   // d
  index_t rank() const { return L_.rows(); }  // k
  metric_form form() const { return form_; }

  matrix<T> transform(matrix_ref<T> X) const;  // Z = LX, k×n (X d×n)
  T sqdist(vector_ref<T> x, vector_ref<T> y) const;

 private:
  metric(matrix<T> L, metric_form form) : L_(std::move(L)), form_(form) {}
  matrix<T> L_;
  metric_form form_ = metric_form::linear;
};

// L with A = LᵀL (k×d), by eigendecomposition or Cholesky (see psd_factor_options).
template <class T>
matrix<T> psd_to_linear_map(matrix_ref<T> A, const psd_factor_options& options = {});

template <class T>
matrix<T> linear_map_to_psd(matrix_ref<T> L);  // LᵀL

// The nearest PSD matrix in Frobenius norm: symmetrise, clip negative eigenvalues at zero.
template <class T>
matrix<T> project_psd(matrix_ref<T> A);

// Throws invalid_argument unless A is square, finite, symmetric (|A − Aᵀ| <= tol·max|A|) and
// PSD (λ_min >= −tol·max(1, λ_max)); the message names the offending entry or eigenvalue.
template <class T>
void validate_psd(matrix_ref<T> A, double tolerance = 1e-8, const char* where = "mahal::metric");

// Throws invalid_argument naming `where` and the first NaN/Inf entry of X (row, column).
template <class T>
void check_finite(matrix_ref<T> X, const char* where, const char* what = "X");

}  // namespace mahal

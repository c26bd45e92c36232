// Metric forms and conversions against closed forms.
#include <doctest/doctest.h>

#include <Eigen/Eigenvalues>

#include "mahal/error.hpp"
#include "mahal/metric.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE("A → L → A round trip, by eigendecomposition and by Cholesky") {
  const matrix<double> B = test::random_matrix<double>(5, 5, 61);
  const matrix<double> A = B.transpose() * B + 0.1 * matrix<double>::Identity(5, 5);
  const matrix<double> L = psd_to_linear_map<double>(A);
  CHECK(L.rows() == 5);
  CHECK(test::relative_error(linear_map_to_psd<double>(L), A) < 1e-12);
  psd_factor_options chol;
  chol.cholesky = true;
  const matrix<double> R = psd_to_linear_map<double>(A, chol);
  CHECK(test::relative_error(matrix<double>(R.transpose() * R), A) < 1e-12);
  CHECK(R.isUpperTriangular(1e-14));
}

TEST_CASE("rank truncation keeps the largest eigenvalues") {
  // A = diag(4, 1, 0.25) in a rotated basis: rank 2 keeps 4 and 1, the best rank-2 fit.
  const matrix<double> Q = Eigen::HouseholderQR<matrix<double>>(test::random_matrix<double>(3, 3, 62))
                               .householderQ();
  vector<double> lambda(3);
  lambda << 4, 1, 0.25;
  const matrix<double> A = Q * lambda.asDiagonal() * Q.transpose();
  psd_factor_options two;
  two.rank = 2;
  const matrix<double> L = psd_to_linear_map<double>(A, two);
  CHECK(L.rows() == 2);
  vector<double> kept(3);
  kept << 4, 1, 0;
  CHECK(test::relative_error(linear_map_to_psd<double>(L),
                             matrix<double>(Q * kept.asDiagonal() * Q.transpose())) < 1e-12);
  // Rank-deficient input: zero eigenvalues are dropped.
  const matrix<double> low = L.transpose() * L;
  CHECK(psd_to_linear_map<double>(low).rows() == 2);
}

TEST_CASE("project_psd clips negative eigenvalues; validate_psd rejects what it should") {
  matrix<double> A(2, 2);
  A << 1, 2, 2, 1;  // eigenvalues 3 and −1, eigenvectors (1,1)/√2 and (1,−1)/√2
  matrix<double> expected(2, 2);
  expected << 1.5, 1.5, 1.5, 1.5;
  CHECK(test::relative_error(project_psd<double>(A), expected) < 1e-14);
  CHECK_THROWS_WITH_AS(validate_psd<double>(A), doctest::Contains("smallest eigenvalue -1"),
                       invalid_argument);
  matrix<double> asym(2, 2);
  asym << 1, 0.5, 0, 1;
  CHECK_THROWS_WITH_AS(validate_psd<double>(asym), doctest::Contains("not symmetric"),
                       invalid_argument);
  matrix<double> nan = matrix<double>::Identity(2, 2);
  nan(0, 1) = std::nan("");
  CHECK_THROWS_AS(validate_psd<double>(nan), invalid_argument);
  CHECK_THROWS_AS(validate_psd<double>(matrix<double>(2, 3)), invalid_argument);
  // Within tolerance: a tiny negative eigenvalue from rounding is accepted.
  matrix<double> almost(2, 2);
  almost << 1, 1, 1, 1 - 1e-12;
  CHECK_NOTHROW(validate_psd<double>(almost));
}

TEST_CASE("metric forms give the same distances") {
  vector<double> a(3);
  a << 4, 0, 1;
  const auto diag = metric<double>::from_diagonal(a);
  vector<double> x(3), y(3);
  x << 1, 2, 3;
  y << 0, 0, 1;
  CHECK(diag.sqdist(x, y) == doctest::Approx(4 * 1 + 0 * 4 + 1 * 4));
  CHECK(diag.form() == metric_form::diagonal);
  CHECK(test::relative_error(diag.diagonal(), a) < 1e-15);
  const auto full = metric<double>::from_psd(diag.A());
  CHECK(full.sqdist(x, y) == doctest::Approx(8));
  const auto lin = metric<double>::from_linear_map(full.L());
  CHECK(lin.sqdist(x, y) == doctest::Approx(8));
  CHECK(metric<double>::identity(3).sqdist(x, y) == doctest::Approx(1 + 4 + 4));
  vector<double> negative(2);
  negative << 1, -1;
  CHECK_THROWS_WITH_AS(metric<double>::from_diagonal(negative), doctest::Contains("a(1) = -1"),
                       invalid_argument);
  CHECK_THROWS_AS(metric<double>::from_linear_map(matrix<double>(4, 3)), invalid_argument);
  CHECK_THROWS_AS(full.transform(matrix<double>(2, 5)), invalid_argument);
}

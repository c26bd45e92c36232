// MMC where the similar pairs leave a direction unconstrained (mmc.hpp, "Unconstrained
// directions"): a feature equal to the class label does not vary within S but does across D, so
// the paper's objectives are unbounded along it. The fast solvers floor W there; the results are
// checked against the closed forms of the floored problems.
#include <doctest/doctest.h>

#include <Eigen/Eigenvalues>
#include <cmath>

#include "mahal/backend.hpp"
#include "mahal/mmc.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

constexpr double kFloor = 1e-12;  // mmc.hpp: W's eigenvalues under 1e-12·λ_max are raised to it
constexpr index_t kLabelFeature = 4, kConstantFeature = 3;

struct planted_problem {
  matrix<double> X;  // d = 5: rows 0–2 random, row 3 constant, row 4 the label
  pair_list S, D;    // S every same-class pair, D every other pair
};

planted_problem make_planted(index_t n, std::uint64_t seed) {
  planted_problem p{test::random_matrix<double>(5, n, seed), {}, {}};
  const label_vector y = test::random_labels(n, 3, seed + 1);
  for (label_t j = 0; j < n; ++j) {
    p.X(kConstantFeature, j) = 7.0;
    p.X(kLabelFeature, j) = static_cast<double>(y(j));
  }
  for (label_t i = 0; i < n; ++i)
    for (label_t j = i + 1; j < n; ++j) (y(i) == y(j) ? p.S : p.D).push_back({i, j});
  return p;
}

matrix<double> similar_scatter(const planted_problem& p) {
  matrix<double> W = matrix<double>::Zero(p.X.rows(), p.X.rows());
  for (const auto& q : p.S) {
    const vector<double> delta = p.X.col(q.i) - p.X.col(q.j);
    W += delta * delta.transpose();
  }
  return W;
}

// Σ_D |δ| along the label feature.
double label_spread(const planted_problem& p) {
  double sum = 0;
  for (const auto& q : p.D) sum += std::abs(p.X(kLabelFeature, q.i) - p.X(kLabelFeature, q.j));
  return sum;
}

}  // namespace

TEST_CASE("the unconstrained directions are counted: the label feature, not the constant one") {
  auto be = make_backend<double>(device::cpu);
  const auto p = make_planted(30, 3);
  for (const pair_list* D : {&p.D, static_cast<const pair_list*>(nullptr)}) {
    CAPTURE(D == nullptr);
    CHECK(fit_mmc_full<double>(*be, p.X, p.S, D).unconstrained == 1);
    CHECK(fit_mmc_diagonal<double>(*be, p.X, p.S, D).unconstrained == 1);
    CHECK(fit_mmc_linear<double>(*be, p.X, p.S, D).unconstrained == 1);
    mmc_options reference;
    reference.mode = mmc_mode::reference;
    reference.max_iter = 3;
    CHECK(fit_mmc_full<double>(*be, p.X, p.S, D, reference).unconstrained == 1);
  }
  // Without the planted rows every direction is constrained.
  const planted_problem q{p.X.topRows(3), p.S, p.D};
  CHECK(fit_mmc_full<double>(*be, q.X, q.S, &q.D).unconstrained == 0);
  CHECK(fit_mmc_diagonal<double>(*be, q.X, q.S, &q.D).unconstrained == 0);
  CHECK(fit_mmc_linear<double>(*be, q.X, q.S, &q.D).unconstrained == 0);
}

TEST_CASE("fast diagonal, unconstrained: a = C / (2·floor) on the label feature, 0 elsewhere") {
  // With s_4 floored to ε = 1e-12·max(s), F(a) = ε·a_4 − C·log(sqrt(a_4)·Σ_D|δ_4|) + O(a_rest)
  // is least at a_4 = C / (2ε); every other coordinate's gradient is positive at 0.
  auto be = make_backend<double>(device::cpu);
  const auto p = make_planted(30, 5);
  mmc_options o;
  o.C = 3;
  o.tol = 1e-12;  // F within 1e-12·C of its least value
  const auto r = fit_mmc_diagonal<double>(*be, p.X, p.S, &p.D, o);
  CHECK(r.status == solver_status::converged);
  const double eps = kFloor * similar_scatter(p).diagonal().maxCoeff();
  CHECK(r.a(kLabelFeature) == doctest::Approx(o.C / (2 * eps)).epsilon(1e-8));
  for (index_t i = 0; i < 4; ++i) CHECK(r.a(i) == 0.0);
}

TEST_CASE("fast full and L-space, unconstrained: A on the label feature, g in closed form") {
  // With W floored, A = (t/ε)·e₄e₄ᵀ spends the whole budget ⟨W, A⟩ <= t where it buys the most:
  // g = sqrt(t/ε)·Σ_D|δ_4| (ε = 1e-12·λ_max(W)); the other directions add a relative 1e-12 or so.
  auto be = make_backend<double>(device::cpu);
  const auto p = make_planted(30, 7);
  const matrix<double> W = similar_scatter(p);
  const double eps =
      kFloor * Eigen::SelfAdjointEigenSolver<matrix<double>>(W).eigenvalues().maxCoeff();
  mmc_options o;
  o.tol = 1e-6;
  o.max_iter = 1000;
  const auto full = fit_mmc_full<double>(*be, p.X, p.S, &p.D, o);
  const auto linear = fit_mmc_linear<double>(*be, p.X, p.S, &p.D, o);
  for (const auto* r : {&full, &linear}) {
    CAPTURE(r == &full);
    CHECK(r->status == solver_status::converged);
    const double g = std::sqrt(r->bound / eps) * label_spread(p);
    CHECK(r->objective == doctest::Approx(g).epsilon(1e-8));
    CHECK(r->A(kLabelFeature, kLabelFeature) / r->A.trace() > 1 - 1e-6);
  }
}

// MMC on the CUDA backend against the CPU backend (skipped without a device).
#include <doctest/doctest.h>

#include "mahal/backend.hpp"
#include "mahal/mmc.hpp"
#include "mmc_ops_cases.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE("MMC solvers agree on CPU and GPU") {
  if (test::no_cuda_device()) return;
  auto cpu = make_backend<double>(device::cpu);
  auto gpu = make_backend<double>(device::cuda);
  const matrix<double> X = test::random_matrix<double>(5, 300, 3);
  const label_vector y = test::random_labels(300, 3, 4);
  const pair_sampling ps{180, 180, 0};
  for (mmc_mode mode : {mmc_mode::reference, mmc_mode::fast}) {
    mmc_options o;
    o.mode = mode;
    o.max_iter = 20;
    const auto a = fit_mmc_full<double>(*cpu, X, y, ps, o);
    const auto b = fit_mmc_full<double>(*gpu, X, y, ps, o);
    CHECK(test::relative_error(b.A, a.A) < 1e-8);
    CHECK(b.eigendecompositions == a.eigendecompositions);
    const auto c = fit_mmc_diagonal<double>(*cpu, X, y, ps, o);
    const auto d = fit_mmc_diagonal<double>(*gpu, X, y, ps, o);
    CHECK(test::relative_error(d.a, c.a) < 1e-8);
  }
  mmc_options o;
  o.max_iter = 20;
  const pair_list S = {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}, {10, 11}};
  const auto e = fit_mmc_linear<double>(*cpu, X, S, nullptr, o);  // implicit D: block sweep
  const auto f = fit_mmc_linear<double>(*gpu, X, S, nullptr, o);
  CHECK(test::relative_error(f.L, e.L) < 1e-8);
  const auto g = fit_mmc_full<double>(*cpu, X, S, nullptr, o);
  const auto h = fit_mmc_full<double>(*gpu, X, S, nullptr, o);
  CHECK(test::relative_error(h.A, g.A) < 1e-8);
  // The diagonal's Newton system (mmc_diagonal_terms) and line search sweep the implicit D on
  // the device, the CPU uses its host chunks; solved to the minimum of the convex objective on
  // both sides.
  o.tol = 1e-12;
  const auto k = fit_mmc_diagonal<double>(*cpu, X, S, nullptr, o);
  const auto l = fit_mmc_diagonal<double>(*gpu, X, S, nullptr, o);
  CHECK(l.status == solver_status::converged);
  CHECK(test::relative_error(l.a, k.a) < 1e-8);
  CHECK(l.objective == doctest::Approx(k.objective).epsilon(1e-10));
}

TEST_CASE_TEMPLATE("mmc_diagonal_terms on the GPU matches its definition", T, float, double) {
  if (test::no_cuda_device()) return;
  auto gpu = make_backend<T>(device::cuda);
  for (const index_t d : {5, 40}) test::check_mmc_diagonal_terms(*gpu, d);
}

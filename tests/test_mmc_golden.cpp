// Reference-mode MMC against python_ref/mmc_ref.py on small random problems
// (tests/mmc_golden.hpp, written by python_ref/generate_mmc_golden.py).
#include <doctest/doctest.h>

#include <Eigen/Core>

#include "mahal/mmc.hpp"
#include "mmc_golden.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE("reference mode matches the numpy port (full and diagonal)") {
  auto be = make_backend<double>(device::cpu);
  int which = 0;
  for (const auto& c : golden::mmc_cases()) {
    CAPTURE(which++);
    const Eigen::Map<const matrix<double>> X(c.X.data(), c.d, c.n);
    mmc_options o;
    o.mode = mmc_mode::reference;
    o.tol = c.tol;
    o.max_iter = 60;
    o.A0 = c.a0_scale * matrix<double>::Identity(c.d, c.d);
    const auto full = fit_mmc_full<double>(*be, X, c.S, &c.D, o);
    const Eigen::Map<const matrix<double>> A(c.A.data(), c.d, c.d);
    CHECK((full.A - A).norm() / A.norm() < 1e-8);
    CHECK(full.iterations == c.full_cycles);
    CHECK(full.eigendecompositions == c.full_eigs);
    o.C = c.C;
    o.max_iter = 50;
    const auto diag = fit_mmc_diagonal<double>(*be, X, c.S, &c.D, o);
    const Eigen::Map<const vector<double>> a(c.a.data(), c.d);
    CHECK((diag.a - a).norm() / a.norm() < 1e-8);
    CHECK(diag.iterations == c.diag_iterations);
  }
}

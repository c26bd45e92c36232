// LMNN on the CUDA backend against the CPU backend (skipped without a device): the objective
// and gradients at a given L, and whole fits with every impostor and with the K nearest only.
#include <doctest/doctest.h>

#include "lmnn_ops_cases.hpp"
#include "mahal/backend.hpp"
#include "mahal/lmnn.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE("LMNN objective, gradients and fits agree on CPU and GPU") {
  if (test::no_cuda_device()) return;
  auto cpu = make_backend<double>(device::cpu);
  auto gpu = make_backend<double>(device::cuda);
  const matrix<double> X = test::random_matrix<double>(6, 400, 21);
  const label_vector y = test::random_labels(400, 4, 22);
  const matrix<double> L = test::random_matrix<double>(3, 6, 23);
  for (const index_t impostors : {index_t{0}, index_t{3}}) {
    CAPTURE(impostors);
    lmnn_options opt;
    opt.impostors_per_point = impostors;
    const auto a = evaluate_lmnn<double>(*cpu, X, y, L, opt);
    const auto b = evaluate_lmnn<double>(*gpu, X, y, L, opt);
    CHECK(b.objective == doctest::Approx(a.objective).epsilon(1e-10));
    CHECK(b.active_triplets == a.active_triplets);
    CHECK(b.targets == a.targets);
    CHECK(test::relative_error(b.gradient_L, a.gradient_L) < 1e-10);
    CHECK(test::relative_error(b.gradient_M, a.gradient_M) < 1e-10);
    opt.max_iterations = 30;
    const auto fa = fit_lmnn<double>(*cpu, X, y, opt);
    const auto fb = fit_lmnn<double>(*gpu, X, y, opt);
    CHECK(fb.objective == doctest::Approx(fa.objective).epsilon(1e-8));
    CHECK(test::relative_error(fb.L, fa.L) < 1e-6);
  }
}

TEST_CASE_TEMPLATE("the LMNN operations on the GPU match their definitions", T, float, double) {
  if (test::no_cuda_device()) return;
  auto gpu = make_backend<T>(device::cuda);
  test::check_impostor_pairs(*gpu);
  test::check_impostor_sweep(*gpu);
  test::check_lmnn_hinge(*gpu);
  if constexpr (std::is_same_v<T, double>) test::check_impostor_sweep_edges(*gpu);
  // The kernel writes `found` while it reads the labels: one array for both is refused.
  auto labels = gpu->alloc_labels(2, 8);
  auto block = gpu->alloc(4, 4);
  auto radius2 = gpu->alloc(16, 1);
  const auto point_labels = labels.reshaped(16, 1);
  CHECK_THROWS_AS(gpu->impostor_pairs(block, 0, 0, true, radius2, point_labels, labels),
                  invalid_argument);
}

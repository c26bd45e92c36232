// Siamese training on the CUDA backend against the CPU backend (skipped without a device): the
// same network, seeds and batches give the same losses and weights within float tolerance.
#include <doctest/doctest.h>

#include "mahal/backend.hpp"
#include "mahal/nn/siamese.hpp"
#include "test_support.hpp"

using namespace mahal;
using namespace mahal::nn;

TEST_CASE("Siamese and triplet training agree on CPU and GPU") {
  if (test::no_cuda_device()) return;
  auto cpu = make_backend<double>(device::cpu);
  auto gpu = make_backend<double>(device::cuda);
  const matrix<double> X = test::random_matrix<double>(8, 300, 31);
  const label_vector y = test::random_labels(300, 5, 32);
  for (auto objective :
       {siamese_objective::contrastive, siamese_objective::triplet, siamese_objective::triplet_hard,
        siamese_objective::triplet_semi_hard, siamese_objective::identification_verification,
        siamese_objective::center}) {
    CAPTURE(static_cast<int>(objective));
    const bool unit = objective == siamese_objective::triplet ||
                      objective == siamese_objective::triplet_hard ||
                      objective == siamese_objective::triplet_semi_hard;
    auto a = make_mlp<double>(*cpu, 8, {16, 16}, 4, activation::relu, unit, 3);
    auto b = make_mlp<double>(*gpu, 8, {16, 16}, 4, activation::relu, unit, 3);
    siamese_options opt;
    opt.objective = objective;
    opt.batch = 64;
    opt.per_class = 4;
    opt.seed = 7;
    opt.lambda = 0.5;  // the joint objectives' weighting on both backends
    siamese_trainer<double> ta(a, X, y, opt), tb(b, X, y, opt);
    // One step: the same batch, loss and update up to the two BLAS libraries' rounding.
    const step_result sa = ta.step(), sb = tb.step();
    CHECK(sb.loss == doctest::Approx(sa.loss).epsilon(1e-12));
    CHECK(sb.active == sa.active);
    auto pa = a.get_parameters(), pb = b.get_parameters();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(test::relative_error(pb[i], pa[i]) < 1e-12);
    // Forty steps: Adam divides by sqrt(v), so rounding differences grow, but slowly.
    for (int s = 1; s < 40; ++s) {
      ta.step();
      tb.step();
    }
    pa = a.get_parameters();
    pb = b.get_parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(test::relative_error(pb[i], pa[i]) < 1e-6);
  }
}

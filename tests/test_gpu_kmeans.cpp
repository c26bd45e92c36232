// K-means on the CUDA backend against the CPU backend on the same inputs: the assignment step
// is the only device part, so both must give the same clustering and inertia.
#include <doctest/doctest.h>

#include "mahal/backend.hpp"
#include "mahal/kmeans.hpp"
#include "test_support.hpp"

using namespace mahal;

TEST_CASE_TEMPLATE("kmeans and constrained_kmeans agree on CPU and GPU", T, float, double) {
  if (test::no_cuda_device()) return;
  auto cpu = make_backend<T>(device::cpu);
  auto gpu = make_backend<T>(device::cuda);
  // Separated blobs, so that rounding differences of the two GEMMs cannot flip an assignment.
  const index_t d = 6, n = 3000;
  matrix<T> Z = test::random_matrix<T>(d, n, 101);
  for (index_t i = 0; i < n; ++i) Z(0, i) += static_cast<T>(25 * (i % 5));
  pair_list S;
  for (index_t i = 0; i + 5 < n; i += 7)
    S.push_back({static_cast<label_t>(i), static_cast<label_t>(i + 5)});
  kmeans_options opt;
  opt.clusters = 5;
  opt.seed = 4;
  const auto a = kmeans(*cpu, matrix_ref<T>(Z), opt);
  const auto b = kmeans(*gpu, matrix_ref<T>(Z), opt);
  CHECK(a.assignment == b.assignment);
  CHECK(b.inertia == doctest::Approx(a.inertia).epsilon(1e-9));
  const auto c = constrained_kmeans(*cpu, matrix_ref<T>(Z), S, opt);
  const auto e = constrained_kmeans(*gpu, matrix_ref<T>(Z), S, opt);
  CHECK(c.assignment == e.assignment);
  CHECK(e.inertia == doctest::Approx(c.inertia).epsilon(1e-9));
  for (const auto& p : S) CHECK(e.assignment(p.i) == e.assignment(p.j));
}

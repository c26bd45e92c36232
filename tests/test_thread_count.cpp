// Every CPU solver gives the same bits with 1 and with 2 OpenMP threads: the parallel loops
// split work into fixed parts and add partial sums in a fixed order (an OpenMP reduction clause
// adds them in the order the threads finish). The problems are sized so that the parallel paths
// run (more than 65536 entries per element-wise pass, many chunks of pairs).
#include <doctest/doctest.h>
#include <omp.h>

#include <functional>
#include <utility>

#include "mahal/backend.hpp"
#include "mahal/constraints.hpp"
#include "mahal/kmeans.hpp"
#include "mahal/lmnn.hpp"
#include "mahal/mmc.hpp"
#include "mahal/nn/siamese.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

// run() once with one thread and once with two; the thread count is restored afterwards.
template <class R>
std::pair<R, R> with_1_and_2_threads(const std::function<R()>& run) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  R one = run();
  omp_set_num_threads(2);
  R two = run();
  omp_set_num_threads(threads);
  return {std::move(one), std::move(two)};
}

// n points in 8 dimensions, 3 classes with shifted means.
struct labelled {
  matrix<double> X;
  label_vector y;
};
labelled blobs(index_t n, std::uint64_t seed) {
  labelled s{test::random_matrix<double>(8, n, seed), test::random_labels(n, 3, seed + 1)};
  for (index_t i = 0; i < n; ++i) s.X(s.y(i), i) += 1.5;
  return s;
}

}  // namespace

TEST_CASE("MMC fast solvers with the implicit D: the same bits for 1 and 2 threads") {
  auto be = make_backend<double>(device::cpu);
  const labelled data = blobs(600, 3);
  const pair_list S = sample_pairs(data.y, 1200, 0, 5).similar;
  mmc_options o;
  o.max_iter = 5;
  using fit = std::function<mmc_result<double>()>;
  const std::pair<const char*, fit> solvers[] = {
      {"full", [&] { return fit_mmc_full<double>(*be, data.X, S, nullptr, o); }},
      {"diagonal", [&] { return fit_mmc_diagonal<double>(*be, data.X, S, nullptr, o); }},
      {"linear", [&] { return fit_mmc_linear<double>(*be, data.X, S, nullptr, o); }},
  };
  for (const auto& solver : solvers) {
    const char* name = solver.first;  // (CAPTURE cannot take a structured binding in Clang 14)
    CAPTURE(name);
    const auto [one, two] = with_1_and_2_threads<mmc_result<double>>(solver.second);
    CHECK(one.iterations == two.iterations);
    CHECK(one.objective == two.objective);
    CHECK(one.A == two.A);
  }
}

TEST_CASE("LMNN evaluations and fits: the same bits for 1 and 2 threads") {
  // Random labels on a small cloud: at L = I hundreds of impostors per anchor are active, so
  // the hinge sums run on the thread team.
  auto be = make_backend<double>(device::cpu);
  const matrix<double> X = 0.2 * test::random_matrix<double>(4, 600, 21);
  const label_vector y = test::random_labels(600, 3, 22);
  const matrix<double> I = matrix<double>::Identity(4, 4);
  lmnn_options opt;
  opt.max_iterations = 10;
  const auto [e1, e2] = with_1_and_2_threads<lmnn_evaluation<double>>(
      [&] { return evaluate_lmnn<double>(*be, X, y, I, opt); });
  const auto [f1, f2] =
      with_1_and_2_threads<lmnn_result<double>>([&] { return fit_lmnn<double>(*be, X, y, opt); });
  REQUIRE(e1.active_triplets > 3 * 65536);  // so more than 65536 candidate pairs
  CHECK(e1.objective == e2.objective);
  CHECK(e1.gradient_L == e2.gradient_L);
  CHECK(f1.iterations == f2.iterations);
  CHECK(f1.objective == f2.objective);
  CHECK(f1.L == f2.L);
}

TEST_CASE("Siamese and triplet training: the same bits for 1 and 2 threads") {
  auto be = make_backend<float>(device::cpu);
  const labelled data = blobs(600, 7);
  const matrix<float> X = data.X.cast<float>();
  for (const auto objective :
       {nn::siamese_objective::contrastive, nn::siamese_objective::triplet}) {
    nn::siamese_options opt;
    opt.objective = objective;
    opt.steps = 20;
    opt.batch = 512;  // 1024 samples × 128 hidden units per activation pass
    const auto [one, two] = with_1_and_2_threads<matrix<float>>([&] {
      auto net = nn::make_mlp<float>(*be, 8, {128}, 16, nn::activation::relu,
                                     objective == nn::siamese_objective::triplet);
      nn::fit_siamese(net, X, data.y, opt);
      return net.embed(X);
    });
    CHECK(one == two);
  }
}

TEST_CASE("k-means: the same bits for 1 and 2 threads") {
  auto be = make_backend<double>(device::cpu);
  const labelled data = blobs(20000, 11);
  kmeans_options opt;
  opt.clusters = 3;
  opt.restarts = 2;
  const auto [one, two] =
      with_1_and_2_threads<kmeans_result<double>>([&] { return kmeans<double>(*be, data.X, opt); });
  CHECK(one.inertia == two.inertia);
  CHECK(one.assignment == two.assignment);
  CHECK(one.centroids == two.centroids);
}

// Every CPU solver repeats bit for bit at a given thread count, and its results with 1 and with
// 2 OpenMP threads agree to rounding. The parallel loops add partial sums in a fixed order (an
// OpenMP reduction clause adds them in the order the threads finish), so a run repeats. With
// another count some sums are split differently: OpenBLAS's OpenMP build runs a GEMM on the thread
// team, split by the team's size, and the order of the sums inside its kernels follows the split.
// The problems are sized so that the parallel paths run (more than 65536 entries per element-wise
// pass, many chunks of pairs).
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "blas_threads.hpp"
#include "mahal/backend.hpp"
#include "mahal/constraints.hpp"
#include "mahal/kmeans.hpp"
#include "mahal/lmnn.hpp"
#include "mahal/mmc.hpp"
#include "mahal/nn/siamese.hpp"
#include "test_support.hpp"

using namespace mahal;

namespace {

// A computation run once with one thread and twice with two.
template <class R>
struct thread_runs {
  R one, two, two_again;
};

// Runs run() with 1, 2 and 2 threads; the thread count is restored afterwards.
template <class R>
thread_runs<R> with_1_and_2_threads(const std::function<R()>& run) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  R one = run();
  omp_set_num_threads(2);
  R two = run();
  R two_again = run();
  omp_set_num_threads(threads);
  return {std::move(one), std::move(two), std::move(two_again)};
}

// Double-precision results of a few iterations with different thread counts: rounding differences
// (observed: 1e-16) may grow over the iterations, but a lost or doubly counted part of a sum would
// show at 1e-3 or more.
constexpr double kRounding = 1e-12;

double relative_gap(double a, double b) { return std::abs(a - b) / std::max(1.0, std::abs(b)); }

// A fit's iterations, objective and learned matrix (`metric`): the same bits again with two
// threads, and with one thread within rounding.
template <class Result, class Matrix>
void check_fit_runs(const thread_runs<Result>& r, Matrix Result::*metric) {
  CHECK(r.two.iterations == r.two_again.iterations);
  CHECK(r.two.objective == r.two_again.objective);
  CHECK(r.two.*metric == r.two_again.*metric);
  CHECK(r.one.iterations == r.two.iterations);
  CHECK(relative_gap(r.one.objective, r.two.objective) <= kRounding);
  CHECK(test::relative_error(r.one.*metric, r.two.*metric) <= kRounding);
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

#ifdef MAHAL_EXPECT_OPENMP_BLAS
// The build linked OpenBLAS's OpenMP build by its folder (cmake/mahal_blas.cmake); the loader must
// pick that one too, not the pthreads build the system's default libopenblas.so.0 may name, or
// every GEMM in a fit would run on one thread.
TEST_CASE("the loaded OpenBLAS is its OpenMP build, as linked") {
  CHECK(blas_threading() == "openmp");
}
#endif

// Small eigendecompositions and pair sweeps hold BLAS at one thread; the caller's count must come
// back, or everything after them would run on one core.
TEST_CASE("blas_serial_scope holds BLAS at one thread and gives the caller's count back") {
  const int threads = omp_get_max_threads(), pool_threads = openblas_get_num_threads();
  const bool own_pool = detail::blas_has_own_pool();
  omp_set_num_threads(2);
  if (own_pool) openblas_set_num_threads(2);
  auto blas_threads = [&] { return own_pool ? openblas_get_num_threads() : omp_get_max_threads(); };
  {
    const detail::blas_serial_scope serial;
    CHECK(blas_threads() == 1);
    {
      const detail::blas_serial_scope nested;
      CHECK(blas_threads() == 1);
    }
    CHECK(blas_threads() == 1);
  }
  CHECK(blas_threads() == 2);
  CHECK(omp_get_max_threads() == 2);
  {
    const detail::blas_serial_scope idle(false);
    CHECK(blas_threads() == 2);
  }
  CHECK(blas_threads() == 2);
  omp_set_num_threads(threads);
  if (own_pool) openblas_set_num_threads(pool_threads);
}

TEST_CASE("MMC fast solvers with the implicit D: the same bits again, 1 and 2 threads agree") {
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
    check_fit_runs(with_1_and_2_threads<mmc_result<double>>(solver.second),
                   &mmc_result<double>::A);
  }
}

TEST_CASE("LMNN evaluations and fits: the same bits again, 1 and 2 threads agree") {
  // Random labels on a small cloud: at L = I hundreds of impostors per anchor are active, so
  // the hinge sums run on the thread team.
  auto be = make_backend<double>(device::cpu);
  const matrix<double> X = 0.2 * test::random_matrix<double>(4, 600, 21);
  const label_vector y = test::random_labels(600, 3, 22);
  const matrix<double> I = matrix<double>::Identity(4, 4);
  lmnn_options opt;
  opt.max_iterations = 10;
  const auto e = with_1_and_2_threads<lmnn_evaluation<double>>(
      [&] { return evaluate_lmnn<double>(*be, X, y, I, opt); });
  const auto f =
      with_1_and_2_threads<lmnn_result<double>>([&] { return fit_lmnn<double>(*be, X, y, opt); });
  REQUIRE(e.one.active_triplets > 3 * 65536);  // so more than 65536 candidate pairs
  CHECK(e.two.objective == e.two_again.objective);
  CHECK(e.two.gradient_L == e.two_again.gradient_L);
  CHECK(e.one.active_triplets == e.two.active_triplets);
  CHECK(relative_gap(e.one.objective, e.two.objective) <= kRounding);
  CHECK(test::relative_error(e.one.gradient_L, e.two.gradient_L) <= kRounding);
  check_fit_runs(f, &lmnn_result<double>::L);
}

TEST_CASE("Siamese and triplet training: the same bits again, 1 and 2 threads agree") {
  auto be = make_backend<float>(device::cpu);
  const labelled data = blobs(600, 7);
  const matrix<float> X = data.X.cast<float>();
  for (const auto objective :
       {nn::siamese_objective::contrastive, nn::siamese_objective::triplet}) {
    for (const auto optimizer : {nn::optimizer_kind::adam, nn::optimizer_kind::sgd}) {
      CAPTURE(optimizer);
      nn::siamese_options opt;
      opt.objective = objective;
      opt.optimizer = optimizer;
      opt.steps = 20;
      opt.batch = 512;  // 1024 samples × 128 hidden units per activation pass
      const auto r = with_1_and_2_threads<matrix<float>>([&] {
        auto net = nn::make_mlp<float>(*be, 8, {128}, 16, nn::activation::relu,
                                       objective == nn::siamese_objective::triplet);
        nn::fit_siamese(net, X, data.y, opt);
        return net.embed(X);
      });
      CHECK(r.two == r.two_again);
      // Across thread counts only with SGD: Adam's first steps move each weight by about
      // lr·sign(gradient), so a rounding difference in a near-zero gradient entry moves a weight
      // by a whole lr (1e-3 in the embeddings here). SGD's steps follow the gradients' values:
      // float rounding (observed 3e-7) stays far below 1e-5.
      if (optimizer == nn::optimizer_kind::sgd) CHECK(test::relative_error(r.one, r.two) <= 1e-5);
    }
  }
}

TEST_CASE("k-means: the same bits again, 1 and 2 threads agree") {
  auto be = make_backend<double>(device::cpu);
  const labelled data = blobs(20000, 11);
  kmeans_options opt;
  opt.clusters = 3;
  opt.restarts = 2;
  const auto r =
      with_1_and_2_threads<kmeans_result<double>>([&] { return kmeans<double>(*be, data.X, opt); });
  CHECK(r.two.inertia == r.two_again.inertia);
  CHECK(r.two.assignment == r.two_again.assignment);
  CHECK(r.two.centroids == r.two_again.centroids);
  CHECK(r.one.assignment == r.two.assignment);
  CHECK(relative_gap(r.one.inertia, r.two.inertia) <= kRounding);
  CHECK(test::relative_error(r.one.centroids, r.two.centroids) <= kRounding);
}

// Training loop: seeded reproducibility, optimiser arithmetic by hand, batches and mining.
#include <doctest/doctest.h>

#include <cmath>

#include "mahal/device_transfer.hpp"
#include "mahal/error.hpp"
#include "mahal/neighbors.hpp"
#include "mahal/nn/mining.hpp"
#include "mahal/nn/optimizers.hpp"
#include "mahal/nn/siamese.hpp"
#include "test_support.hpp"

using namespace mahal;
using namespace mahal::nn;

namespace {

// Three Gaussian classes in 6-D whose means differ in the first two coordinates only; the other
// four coordinates are loud noise, so the Euclidean 1-NN is poor and a learned map helps.
struct blobs {
  matrix<float> X;
  label_vector y;
};
blobs make_blobs(index_t per_class, std::uint64_t seed) {
  blobs b;
  const index_t n = 3 * per_class;
  b.X = test::random_matrix<float>(6, n, seed);
  b.y.resize(n);
  for (index_t i = 0; i < n; ++i) {
    const label_t c = static_cast<label_t>(i % 3);
    b.y(i) = c;
    b.X(0, i) = 0.3f * b.X(0, i) + (c == 1 ? 2.f : 0.f);
    b.X(1, i) = 0.3f * b.X(1, i) + (c == 2 ? 2.f : 0.f);
    for (index_t r = 2; r < 6; ++r) b.X(r, i) *= 3.f;
  }
  return b;
}

}  // namespace

TEST_CASE("fit_siamese is reproducible from its seeds and learns a better embedding") {
  auto be = make_backend<float>(device::cpu);
  const blobs train = make_blobs(40, 81), test_set = make_blobs(30, 82);
  for (auto objective :
       {siamese_objective::contrastive, siamese_objective::triplet,
        siamese_objective::triplet_semi_hard, siamese_objective::identification_verification,
        siamese_objective::center}) {
    CAPTURE(static_cast<int>(objective));
    siamese_options opt;
    opt.objective = objective;
    opt.steps = 150;
    opt.batch = 32;
    opt.per_class = 4;
    opt.lr = 3e-3;
    opt.seed = 5;
    const bool unit = objective != siamese_objective::contrastive &&
                      objective != siamese_objective::identification_verification &&
                      objective != siamese_objective::center;
    auto a = make_mlp<float>(*be, 6, {16}, 4, activation::relu, unit, 9);
    auto b = make_mlp<float>(*be, 6, {16}, 4, activation::relu, unit, 9);
    auto c = make_mlp<float>(*be, 6, {16}, 4, activation::relu, unit, 9);
    const auto ra = fit_siamese<float>(a, train.X, train.y, opt);
    fit_siamese<float>(b, train.X, train.y, opt);
    opt.seed = 6;
    fit_siamese<float>(c, train.X, train.y, opt);
    const auto pa = a.get_parameters(), pb = b.get_parameters(), pc = c.get_parameters();
    double same = 0, differ = 0;
    for (std::size_t i = 0; i < pa.size(); ++i) {
      same = std::max<double>(same, (pa[i] - pb[i]).cwiseAbs().maxCoeff());
      differ = std::max<double>(differ, (pa[i] - pc[i]).cwiseAbs().maxCoeff());
    }
    CHECK(same == 0.0);
    CHECK(differ > 1e-3);
    CHECK(std::isfinite(ra.final_loss));
    CHECK(ra.steps == 150);
    // 1-NN in the embedding beats 1-NN on the raw noisy data.
    const auto id = metric<float>::identity(4);
    const matrix<float> Etr = a.embed(train.X), Ete = a.embed(test_set.X);
    const double learned = knn_accuracy<float>(*be, id, Etr, train.y, Ete, test_set.y, 1);
    const double raw = knn_accuracy<float>(*be, metric<float>::identity(6), train.X, train.y,
                                           test_set.X, test_set.y, 1);
    CHECK(learned > raw + 0.1);
  }
}

TEST_CASE("Adam and SGD with momentum: first steps by hand") {
  auto be = make_backend<double>(device::cpu);
  parameter<double> p{"p", be->alloc(2, 1), be->alloc(2, 1)};
  const double p0[2] = {1.0, -2.0}, g0[2] = {0.5, -0.25};
  be->upload(p0, p.value);
  be->upload(g0, p.grad);
  SUBCASE("adam: the first step moves each entry by lr·sign(g) (up to eps)") {
    adam<double> opt({.lr = 0.1, .eps = 0});
    opt.step(*be, {&p});
    const matrix<double> v = to_host(*be, p.value);
    CHECK(v(0) == doctest::Approx(0.9).epsilon(1e-14));
    CHECK(v(1) == doctest::Approx(-1.9).epsilon(1e-14));
    // Second step with the same gradient: m̂ = g and v̂ = g², the same move again.
    opt.step(*be, {&p});
    const matrix<double> v2 = to_host(*be, p.value);
    CHECK(v2(0) == doctest::Approx(0.8).epsilon(1e-14));
  }
  SUBCASE("sgd with momentum 0.9: v1 = g, v2 = 0.9 g + g") {
    sgd<double> opt({.lr = 0.1, .momentum = 0.9});
    opt.step(*be, {&p});
    opt.step(*be, {&p});
    const matrix<double> v = to_host(*be, p.value);
    CHECK(v(0) == doctest::Approx(1.0 - 0.1 * 0.5 - 0.1 * 1.9 * 0.5).epsilon(1e-14));
    CHECK(v(1) == doctest::Approx(-2.0 + 0.1 * 0.25 + 0.1 * 1.9 * 0.25).epsilon(1e-14));
  }
  CHECK_THROWS_AS(sgd<double>({.lr = -1}), invalid_argument);
}

TEST_CASE("sampling: balanced pairs, triplets and P×K batches respect the labels") {
  label_vector y(20);
  for (index_t i = 0; i < 20; ++i) y(i) = static_cast<label_t>(i % 4);
  class_index idx(y);
  detail::rng g(3);
  const pair_batch pb = balanced_pairs(idx, 9, g);
  REQUIRE(pb.pairs.size() == 9);
  index_t n_similar = 0;
  for (std::size_t t = 0; t < 9; ++t) {
    const label_t i = pb.columns[pb.pairs[t].i], j = pb.columns[pb.pairs[t].j];
    CHECK(i != j);
    CHECK((y(i) == y(j)) == (pb.similar[t] == 1));
    n_similar += pb.similar[t];
  }
  CHECK(n_similar == 5);
  std::vector<label_t> sorted = pb.columns;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());  // each sample once
  const triplet_batch tb = random_triplets(idx, 7, g);
  for (const auto& t : tb.triplets) {
    CHECK(y(tb.columns[t.anchor]) == y(tb.columns[t.positive]));
    CHECK(y(tb.columns[t.anchor]) != y(tb.columns[t.negative]));
    CHECK(t.anchor != t.positive);
  }
  const pk_batch pk = sample_pk(idx, 3, 2, g);
  CHECK(pk.columns.size() == 6);
  label_vector one(3);
  one << 0, 1, 1;
  CHECK_NOTHROW(class_index{one});
  label_vector single(3);
  single << 2, 2, 2;
  CHECK_THROWS_AS(class_index{single}, invalid_argument);
}

TEST_CASE("in-batch mining: hard and semi-hard negatives on a hand fixture") {
  // Points on a line: a=0 (class 0), p=1 (class 0), n1=0.5 (class 1), n2=3 (class 1).
  const std::vector<double> x = {0, 1, 0.5, 3};
  const std::vector<label_t> labels = {0, 0, 1, 1};
  matrix<double> d2(4, 4);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) d2(i, j) = (x[i] - x[j]) * (x[i] - x[j]);
  const auto hard = mine_triplets(d2, labels, negative_mining::hard);
  const auto semi = mine_triplets(d2, labels, negative_mining::semi_hard);
  // (0,1): D²ap = 1; hardest negative is 0.5 (D² = .25); semi-hard needs D² > 1: point 3 (9).
  REQUIRE(hard.size() == 4);
  CHECK(hard[0] == index_triplet{0, 1, 2});
  CHECK(semi[0] == index_triplet{0, 1, 3});
  // (2,3) anchor 2 = 0.5, positive 3: D²ap = 6.25; negatives 0 (.25) and 1 (.25): hard = 0;
  // no negative beyond 6.25, so the semi-hard pair is skipped.
  CHECK(hard[2] == index_triplet{2, 3, 0});
  CHECK(semi.size() == 3);
}

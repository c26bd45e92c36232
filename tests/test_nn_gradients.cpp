// Finite-difference checks (double) of every layer, every loss and a whole network.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "mahal/device_transfer.hpp"
#include "mahal/nn/losses.hpp"
#include "mahal/nn/sequential.hpp"
#include "test_support.hpp"

using namespace mahal;
using namespace mahal::nn;
using darray = device_array<double>;

namespace {

// Central differences of f over every entry of the device array `a`, compared with `grad`.
void check_fd(backend<double>& be, darray& a, const matrix<double>& grad,
              const std::function<double()>& f, double h = 1e-6, double tol = 1e-6) {
  matrix<double> host = to_host(be, a);
  REQUIRE(grad.rows() == host.rows());
  REQUIRE(grad.cols() == host.cols());
  for (index_t t = 0; t < host.size(); ++t) {
    const double keep = host(t);
    host(t) = keep + h;
    be.upload(host.data(), a);
    const double fp = f();
    host(t) = keep - h;
    be.upload(host.data(), a);
    const double fm = f();
    host(t) = keep;
    be.upload(host.data(), a);
    const double fd = (fp - fm) / (2 * h);
    CHECK(grad(t) == doctest::Approx(fd).epsilon(tol).scale(1.0));
  }
}

double weighted_sum(backend<double>& be, const darray& y, const darray& r) { return be.dot(y, r); }

// f(x) = Σ R∘layer(x); checks dx and every parameter gradient.
void check_layer(layer<double>& l, index_t rows, index_t n, std::uint64_t seed) {
  auto be = make_backend<double>(device::cpu);
  darray x = to_device<double>(*be, test::random_matrix<double>(rows, n, seed));
  l.reset(*be, seed + 1);
  const index_t out = l.output_rows(rows);
  darray r = to_device<double>(*be, test::random_matrix<double>(out, n, seed + 2));
  darray y = be->alloc(out, n), dx = be->alloc(rows, n);
  auto f = [&] {
    l.forward(*be, x, y);
    return weighted_sum(*be, y, r);
  };
  f();
  for (auto* p : l.parameters()) be->fill(p->grad, 0.0);
  l.backward(*be, x, y, r, &dx);
  check_fd(*be, x, to_host(*be, dx), f);
  for (auto* p : l.parameters()) check_fd(*be, p->value, to_host(*be, p->grad), f);
}

}  // namespace

TEST_CASE("layers: input and parameter gradients match central differences") {
  auto be = make_backend<double>(device::cpu);
  SUBCASE("linear with bias") {
    linear<double> l(*be, 5, 3, true);
    check_layer(l, 5, 7, 11);
  }
  SUBCASE("linear without bias") {
    linear<double> l(*be, 4, 6, false);
    check_layer(l, 4, 5, 12);
  }
  SUBCASE("relu") {  // random normals are never within h of the kink
    relu<double> l;
    check_layer(l, 6, 8, 13);
  }
  SUBCASE("tanh") {
    tanh_layer<double> l;
    check_layer(l, 6, 8, 14);
  }
  SUBCASE("l2_normalize") {
    l2_normalize<double> l;
    check_layer(l, 5, 9, 15);
  }
}

TEST_CASE("layers: forward values by hand") {
  auto be = make_backend<double>(device::cpu);
  matrix<double> x(2, 2);
  x << 3, -1, 4, 0;  // columns (3, 4) and (−1, 0)
  darray xd = to_device<double>(*be, x), y = be->alloc(2, 2);
  l2_normalize<double> n;
  n.forward(*be, xd, y);
  matrix<double> yh = to_host(*be, y);
  CHECK(yh(0, 0) == doctest::Approx(0.6));
  CHECK(yh(1, 0) == doctest::Approx(0.8));
  CHECK(yh(0, 1) == doctest::Approx(-1.0));
  CHECK(yh(1, 1) == doctest::Approx(0.0));
  relu<double> r;
  r.forward(*be, xd, y);
  yh = to_host(*be, y);
  CHECK(yh(0, 1) == 0.0);
  CHECK(yh(1, 0) == 4.0);
  linear<double> fc(*be, 2, 1, true);
  matrix<double> w(1, 2), b(1, 1);
  w << 2, -1;
  b << 0.5;
  be->upload(w.data(), fc.weight().value);
  be->upload(b.data(), fc.bias().value);
  darray z = be->alloc(1, 2);
  fc.forward(*be, xd, z);
  yh = to_host(*be, z);
  CHECK(yh(0, 0) == doctest::Approx(2 * 3 - 4 + 0.5));
  CHECK(yh(0, 1) == doctest::Approx(-2 + 0.5));
}

namespace {

struct pair_fixture {
  index_t k = 4, n = 10;
  pair_list pairs = {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}, {0, 9}, {1, 8}, {3, 5}};
  std::vector<std::uint8_t> similar = {1, 1, 0, 0, 0, 1, 0, 0};
};

}  // namespace

TEST_CASE("contrastive losses: value by hand and gradient by central differences") {
  auto be = make_backend<double>(device::cpu);
  pair_fixture fx;
  // Scale 0.5 puts some dissimilar pairs inside the margin 1 and some outside.
  darray Z = to_device<double>(*be, 0.5 * test::random_matrix<double>(fx.k, fx.n, 21));
  for (auto form : {contrastive_form::squared, contrastive_form::unsquared})
    for (auto red : {reduction::mean, reduction::sum}) {
      contrastive_options opt{.margin = 1.0, .form = form, .reduce = red};
      darray dZ = be->alloc(fx.k, fx.n);
      const auto r = contrastive_loss(*be, Z, fx.pairs, fx.similar, opt, &dZ);
      // The value by hand from the host embedding.
      const matrix<double> Zh = to_host(*be, Z);
      double expect = 0;
      index_t inside = 0;
      for (std::size_t t = 0; t < fx.pairs.size(); ++t) {
        const double d = (Zh.col(fx.pairs[t].i) - Zh.col(fx.pairs[t].j)).norm();
        const double h = std::max(0.0, 1.0 - d);
        if (!fx.similar[t] && h > 0) ++inside;
        if (form == contrastive_form::squared)
          expect += fx.similar[t] ? 0.5 * d * d : 0.5 * h * h;
        else
          expect += fx.similar[t] ? d : h;
      }
      if (red == reduction::mean) expect /= static_cast<double>(fx.pairs.size());
      CHECK(r.loss == doctest::Approx(expect).epsilon(1e-12));
      CHECK(r.active == 3 + inside);
      CHECK(inside > 0);
      CHECK(inside < 5);
      check_fd(*be, Z, to_host(*be, dZ), [&] {
        return contrastive_loss<double>(*be, Z, fx.pairs, fx.similar, opt, nullptr).loss;
      });
    }
}

TEST_CASE("triplet loss: value by hand and gradient by central differences") {
  auto be = make_backend<double>(device::cpu);
  const index_t k = 3, n = 9;
  darray Z = to_device<double>(*be, 0.5 * test::random_matrix<double>(k, n, 31));
  triplet_list t = {{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {0, 3, 6}, {1, 4, 7}, {2, 5, 8}};
  triplet_options opt{.alpha = 0.2};
  darray dZ = be->alloc(k, n);
  const auto r = triplet_loss(*be, Z, t, opt, &dZ);
  const matrix<double> Zh = to_host(*be, Z);
  double expect = 0;
  index_t active = 0;
  for (const auto& q : t) {
    const double v = (Zh.col(q.anchor) - Zh.col(q.positive)).squaredNorm() -
                     (Zh.col(q.anchor) - Zh.col(q.negative)).squaredNorm() + 0.2;
    if (v > 0) {
      expect += v;
      ++active;
    }
  }
  CHECK(active > 0);
  CHECK(active < 6);  // both branches of the hinge are exercised
  CHECK(r.active == active);
  CHECK(r.loss == doctest::Approx(expect / 6).epsilon(1e-12));
  check_fd(*be, Z, to_host(*be, dZ),
           [&] { return triplet_loss<double>(*be, Z, t, opt, nullptr).loss; });
}

TEST_CASE("a batch with no active triplet gives zero loss and zero gradient, never NaN") {
  auto be = make_backend<double>(device::cpu);
  matrix<double> z(2, 3);
  z << 0, 0, 5, 0, 0, 0;  // anchor = positive, negative far away
  darray Z = to_device<double>(*be, z), dZ = be->alloc(2, 3);
  const auto r = triplet_loss(*be, Z, {{0, 1, 2}}, {.alpha = 0.2}, &dZ);
  CHECK(r.loss == 0.0);
  CHECK(r.active == 0);
  const matrix<double> g = to_host(*be, dZ);
  CHECK(g.allFinite());
  CHECK(g.cwiseAbs().maxCoeff() == 0.0);
  // Coincident points in the contrastive losses (D = 0): finite, subgradient 0 for D = 0 terms.
  for (auto form : {contrastive_form::squared, contrastive_form::unsquared}) {
    be->fill(dZ, 0.0);
    const auto c =
        contrastive_loss(*be, Z, {{0, 1}, {0, 1}}, {1, 0}, {.margin = 1.0, .form = form}, &dZ);
    CHECK(std::isfinite(c.loss));
    CHECK(c.loss == doctest::Approx(form == contrastive_form::squared ? 0.25 : 0.5));
    CHECK(to_host(*be, dZ).cwiseAbs().maxCoeff() == 0.0);
  }
}

TEST_CASE("softmax head and center loss: gradients by central differences") {
  auto be = make_backend<double>(device::cpu);
  const index_t k = 4, n = 7, C = 3;
  darray Z = to_device<double>(*be, test::random_matrix<double>(k, n, 41));
  const std::vector<label_t> labels = {0, 1, 2, 0, 1, 2, 2};
  SUBCASE("softmax cross-entropy") {
    softmax_head<double> head(*be, k, C);
    head.reset(*be, 42);
    darray dZ = be->alloc(k, n);
    for (auto* p : head.parameters()) be->fill(p->grad, 0.0);
    const auto r = head.loss(*be, Z, labels, reduction::mean, &dZ);
    // By hand: logits W z + b, −log softmax.
    const matrix<double> W = to_host(*be, head.classifier().weight().value);
    const matrix<double> b = to_host(*be, head.classifier().bias().value);
    const matrix<double> Zh = to_host(*be, Z);
    double expect = 0;
    for (index_t j = 0; j < n; ++j) {
      const vector<double> logit = W * Zh.col(j) + b.col(0);
      expect += std::log(logit.array().exp().sum()) - logit(labels[j]);
    }
    CHECK(r.loss == doctest::Approx(expect / n).epsilon(1e-12));
    auto f = [&] { return head.loss(*be, Z, labels, reduction::mean, nullptr).loss; };
    check_fd(*be, Z, to_host(*be, dZ), f);
    for (auto* p : head.parameters()) check_fd(*be, p->value, to_host(*be, p->grad), f);
  }
  SUBCASE("center loss") {
    center_loss<double> cl(*be, k, C);
    matrix<double> c0 = test::random_matrix<double>(k, C, 43);
    be->upload(c0.data(), cl.centers().value);
    darray dZ = be->alloc(k, n);
    const auto r = cl.loss(*be, Z, labels, reduction::sum, &dZ);
    const matrix<double> Zh = to_host(*be, Z);
    double expect = 0;
    for (index_t j = 0; j < n; ++j) expect += 0.5 * (Zh.col(j) - c0.col(labels[j])).squaredNorm();
    CHECK(r.loss == doctest::Approx(expect).epsilon(1e-12));
    auto f = [&] { return cl.loss(*be, Z, labels, reduction::sum, nullptr).loss; };
    check_fd(*be, Z, to_host(*be, dZ), f);
    check_fd(*be, cl.centers().value, to_host(*be, cl.centers().grad), f);
  }
}

TEST_CASE("a whole Siamese MLP: parameter gradients of the shared weights by central differences") {
  auto be = make_backend<double>(device::cpu);
  const index_t d = 5, n = 8;
  sequential<double> net(*be);
  net.add_linear(d, 6).add_tanh().add_linear(6, 7).add_relu().add_linear(7, 3, false);
  net.add_l2_normalize();
  net.reset(7);
  darray X = to_device<double>(*be, test::random_matrix<double>(d, n, 51));
  pair_fixture fx;
  fx.n = n;
  fx.pairs = {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {0, 7}, {1, 6}};
  fx.similar = {1, 0, 1, 0, 0, 1};
  contrastive_options opt{.margin = 1.5};
  auto f = [&] {
    const darray& Z = net.forward(X);
    return contrastive_loss<double>(*be, Z, fx.pairs, fx.similar, opt, nullptr).loss;
  };
  const darray& Z = net.forward(X);
  darray dZ = be->alloc(Z.rows(), Z.cols());
  contrastive_loss<double>(*be, Z, fx.pairs, fx.similar, opt, &dZ);
  net.zero_grad();
  net.backward(dZ);
  CHECK(net.parameter_count() == 6 * 5 + 6 + 7 * 6 + 7 + 3 * 7);
  for (auto* p : net.parameters()) check_fd(*be, p->value, to_host(*be, p->grad), f);
}

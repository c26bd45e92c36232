// One bias-free linear layer is the map L of a metric A = LᵀL: trained with the contrastive loss
// on given batches it produces the same iterates as mahal's L-space machinery
// (pair_sqdist under metric L, pair_scatter_linear = 2·L·G) on the same batches.
#include <doctest/doctest.h>

#include "mahal/device_transfer.hpp"
#include "mahal/distances.hpp"
#include "mahal/metric.hpp"
#include "mahal/nn/losses.hpp"
#include "mahal/nn/optimizers.hpp"
#include "mahal/nn/sequential.hpp"
#include "test_support.hpp"

using namespace mahal;
using namespace mahal::nn;

TEST_CASE("similar pairs, ½D² summed: the network's gradient is L·G_S") {
  auto be = make_backend<double>(device::cpu);
  const index_t d = 5, k = 3, n = 12;
  const matrix<double> X = test::random_matrix<double>(d, n, 61);
  const matrix<double> L = test::random_matrix<double>(k, d, 62);
  const pair_list S = {{0, 1}, {2, 3}, {1, 4}, {5, 9}, {7, 11}, {3, 8}};
  sequential<double> net(*be);
  net.add_linear(d, k, false);
  net.set_parameters({L});
  const auto Xd = to_device<double>(*be, X);
  const auto& Z = net.forward(Xd);
  auto dZ = be->alloc(k, n);
  contrastive_loss<double>(*be, Z, S, std::vector<std::uint8_t>(S.size(), 1),
                           {.margin = 1.0, .reduce = reduction::sum}, &dZ);
  net.zero_grad();
  net.backward(dZ);
  const matrix<double> grad = to_host(*be, net.parameters()[0]->grad);
  // pair_scatter_linear with unit weights is 2·L·G_S.
  const matrix<double> LG =
      0.5 * pair_scatter_linear<double>(*be, L, X, S, vector<double>::Ones(6));
  CHECK(test::relative_error(grad, LG) < 1e-13);
  const matrix<double> G = pair_scatter<double>(*be, X, S, vector<double>::Ones(6));
  CHECK(test::relative_error(grad, L * G) < 1e-13);
}

TEST_CASE("SGD on a linear layer with the contrastive loss follows the L-space iterates") {
  auto be = make_backend<double>(device::cpu);
  const index_t d = 6, k = 4, n = 40, steps = 25, m = 30;
  const double margin = 2.0, lr = 0.05;
  const matrix<double> X = test::random_matrix<double>(d, n, 71);
  matrix<double> L = 0.4 * test::random_matrix<double>(k, d, 72);
  // The batches: fixed, drawn once.
  detail::rng g(73);
  std::vector<pair_list> batches(steps);
  std::vector<std::vector<std::uint8_t>> similar(steps);
  for (index_t s = 0; s < steps; ++s)
    for (index_t t = 0; t < m; ++t) {
      const auto i = static_cast<label_t>(g.below(n));
      auto j = static_cast<label_t>(g.below(n - 1));
      if (j >= i) ++j;
      batches[s].push_back({i, j});
      similar[s].push_back(g.below(2) == 0 ? 1 : 0);
    }

  sequential<double> net(*be);
  net.add_linear(d, k, false);
  net.set_parameters({L});
  sgd<double> opt({.lr = lr});
  const auto Xd = to_device<double>(*be, X);
  auto dZ = be->alloc(k, n);
  index_t hinge_active = 0, hinge_inactive = 0;
  for (index_t s = 0; s < steps; ++s) {
    // The network.
    const auto& Z = net.forward(Xd);
    be->fill(dZ, 0.0);
    contrastive_loss<double>(*be, Z, batches[s], similar[s], {.margin = margin}, &dZ);
    net.zero_grad();
    net.backward(dZ);
    opt.step(*be, net.parameters());
    // L-space: w = ∂loss/∂D² per pair, gradient 2·L·G_w, the same step.
    const vector<double> d2 =
        pair_sqdist<double>(*be, metric<double>::from_linear_map(L), X, batches[s]);
    vector<double> w(m);
    for (index_t t = 0; t < m; ++t) {
      const double dist = std::sqrt(d2(t));
      if (similar[s][t]) {
        w(t) = 0.5;
      } else if (dist < margin) {
        w(t) = -(margin - dist) / (2 * dist);
        ++hinge_active;
      } else {
        w(t) = 0;
        ++hinge_inactive;
      }
    }
    w /= static_cast<double>(m);
    L -= lr * pair_scatter_linear<double>(*be, L, X, batches[s], w);
    const matrix<double> W = net.get_parameters()[0];
    REQUIRE(test::relative_error(W, L) < 1e-12);
  }
  CHECK(hinge_active > 0);  // both branches of the dissimilar term occurred
  CHECK(hinge_inactive > 0);
}

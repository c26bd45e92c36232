// The same network, weights and batch as python_ref/siamese_ref.py (PyTorch, CPU) give the same
// losses and gradients: double to 1e-10, float within float32 tolerance. The golden values are
// that script's float64 output (torch 1.13, Debian's python3-torch).
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "mahal/device_transfer.hpp"
#include "mahal/nn/losses.hpp"
#include "mahal/nn/sequential.hpp"
#include "test_support.hpp"

using namespace mahal;
using namespace mahal::nn;

namespace {

struct golden {
  const char* name;
  double loss;
  double grads[6][2];  // per parameter: sum(grad * P), ||grad||
};

// clang-format off
const golden goldens[] = {
{"contrastive_squared", 0.1868011658801684, {{-0.023527753801120529, 0.20892180528767734}, {0.033508607514057903, 0.12669496992459661}, {-0.16428763365424584, 0.092647531731804289}, {0.0022304255830965453, 0.019244829546043094}, {0.056053905540676317, 0.094335080041604541}, {2.1885108101604795e-18, 3.1031676915590914e-17}}},
{"contrastive_unsquared", 0.55974353023385848, {{-0.064334451063083553, 0.42044513743000356}, {0.063069890574838722, 0.29060652874344672}, {-0.44372674486583868, 0.20498568150404392}, {0.0088906182536242252, 0.03936957538135806}, {0.2010492630489179, 0.20736221367061186}, {8.7556964595832659e-18, 4.3885418357208765e-17}}},
{"triplet_l2", 0.19282147063991326, {{-0.548857128853798, 2.4670651480899046}, {0.21978675334751618, 0.9684491839548236}, {-2.4163826201064467, 1.4772152685914446}, {-1.4093258865075224, 0.9430190334291193}, {0.31666607851199191, 1.510365223688872}, {-0.1179066170030113, 1.1418485732209798}}},
};
// clang-format on

const pair_list pairs = {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {0, 7}, {1, 6}, {3, 4}};
const std::vector<std::uint8_t> similar = {1, 0, 1, 0, 0, 1, 0};
const triplet_list triplets = {{0, 1, 2}, {3, 4, 5}, {6, 7, 0}, {1, 3, 5}, {2, 4, 6}};

template <class T>
void check_against_torch(double tol) {
  auto be = make_backend<T>(device::cpu);
  const index_t d = 5, n = 8;
  matrix<T> X(d, n);
  for (index_t i = 0; i < d; ++i)
    for (index_t j = 0; j < n; ++j)
      X(i, j) = static_cast<T>(std::sin(0.37 * (i + 1) + 0.11 * (j + 1) * (i + 2)));
  const index_t sizes[3][2] = {{5, 7}, {7, 6}, {6, 3}};
  std::vector<matrix<T>> params;
  for (int l = 0; l < 3; ++l) {
    matrix<T> W(sizes[l][1], sizes[l][0]), b(sizes[l][1], 1);
    for (index_t r = 0; r < W.rows(); ++r) {
      for (index_t c = 0; c < W.cols(); ++c)
        W(r, c) = static_cast<T>(0.5 * std::cos(0.23 * (r + 1) * (c + 2) + 0.71 * (c + 1) + l));
      b(r) = static_cast<T>(0.3 + 0.1 * std::sin(r + 1 + l));
    }
    params.push_back(W);
    params.push_back(b);
  }
  const auto Xd = to_device<T>(*be, X);
  for (const golden& g : goldens) {
    CAPTURE(std::string(g.name));
    const bool triplet = std::string(g.name) == "triplet_l2";
    sequential<T> net(*be);
    net.add_linear(5, 7).add_relu().add_linear(7, 6).add_tanh().add_linear(6, 3);
    if (triplet) net.add_l2_normalize();
    net.set_parameters(params);
    const auto& Z = net.forward(Xd);
    auto dZ = be->alloc(Z.rows(), Z.cols());
    loss_result r;
    if (triplet) {
      r = triplet_loss<T>(*be, Z, triplets, {.alpha = 0.2}, &dZ);
    } else {
      const auto form = std::string(g.name) == "contrastive_squared" ? contrastive_form::squared
                                                                     : contrastive_form::unsquared;
      r = contrastive_loss<T>(*be, Z, pairs, similar, {.margin = 1.0, .form = form}, &dZ);
    }
    CHECK(r.loss == doctest::Approx(g.loss).epsilon(tol));
    net.zero_grad();
    net.backward(dZ);
    const auto ps = net.parameters();
    REQUIRE(ps.size() == 6);
    for (std::size_t k = 0; k < 6; ++k) {
      const matrix<double> grad = to_host(*be, ps[k]->grad).template cast<double>();
      double weighted = 0;
      for (index_t rr = 0; rr < grad.rows(); ++rr)
        for (index_t c = 0; c < grad.cols(); ++c)
          weighted += grad(rr, c) * std::cos(rr + 2 * c + 1);
      // Absolute tolerance on the scale of the gradient's norm (some sums are exactly 0).
      const double scale = std::max(1e-3, g.grads[k][1]);
      CHECK(std::abs(weighted - g.grads[k][0]) <= tol * scale * 10);
      CHECK(std::abs(grad.norm() - g.grads[k][1]) <= tol * scale * 10);
    }
  }
}

}  // namespace

TEST_CASE("double: losses and gradients equal PyTorch's") { check_against_torch<double>(1e-11); }
TEST_CASE("float: losses and gradients equal PyTorch's within float32 tolerance") {
  check_against_torch<float>(2e-6);
}

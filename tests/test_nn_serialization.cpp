// Tests of mahal/nn/serialization.hpp: networks (every layer kind, float and double, with and
// without preprocessing) round-trip bit for bit, the layer list is the documented string, and
// damaged or foreign files are rejected with io_error.
#include <doctest/doctest.h>

#include <string>

#include "mahal/error.hpp"
#include "mahal/metric_io.hpp"
#include "mahal/model_file.hpp"
#include "mahal/nn/serialization.hpp"
#include "mahal/nn/siamese.hpp"
#include "temp_dir.hpp"
#include "test_support.hpp"

using mahal::index_t;
using mahal::matrix;
using mahal::test::contains;
using mahal::test::temp_dir;
using mahal::test::thrown;

namespace {

template <class T>
mahal::nn::sequential<T> odd_network(mahal::backend<T>& be) {
  mahal::nn::sequential<T> net(be);
  net.add_linear(5, 7).add_tanh().add_linear(7, 6, false).add_relu().add_linear(6, 3);
  net.add_l2_normalize();
  net.reset(42);
  return net;
}

template <class T>
matrix<T> data(index_t d, index_t n, std::uint64_t seed) {
  return mahal::test::random_matrix<double>(d, n, seed).template cast<T>();
}

}  // namespace

TEST_CASE_TEMPLATE("save_network/load_network round-trip bit for bit", T, float, double) {
  temp_dir dir;
  auto be = mahal::make_backend<T>(mahal::device::cpu);
  auto net = odd_network<T>(*be);
  CHECK(mahal::nn::describe_layers(net) ==
        "linear:5:7:bias,tanh,linear:7:6:nobias,relu,linear:6:3:bias,l2_normalize");
  const std::string path = dir.file("net.mahal");
  mahal::nn::save_network(path, net, nullptr, {{"algo", "triplet"}});

  auto saved = mahal::nn::load_network<T>(*be, path);
  CHECK(!saved.preprocessing);
  CHECK(saved.meta.at("algo") == "triplet");
  CHECK(saved.meta.at("scalar") == (sizeof(T) == 4 ? "float" : "double"));
  REQUIRE(saved.net.size() == net.size());
  const auto a = net.get_parameters(), b = saved.net.get_parameters();
  REQUIRE(a.size() == 5);  // 0.weight 0.bias 2.weight 4.weight 4.bias
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
  const matrix<T> X = data<T>(5, 9, 3);
  CHECK(net.embed(X) == saved.net.embed(X));
  CHECK(saved.transform(X) == net.embed(X));
}

TEST_CASE("load_network applies the stored standardizer before the network") {
  temp_dir dir;
  auto be = mahal::make_backend<double>(mahal::device::cpu);
  auto net = mahal::nn::make_mlp<double>(*be, 4, {8}, 2, mahal::nn::activation::relu, false, 7);
  mahal::vector<double> mean(4), scale(4);
  mean << 1, -2, 0.5, 3;
  scale << 2, 0.25, 1, 4;
  const mahal::standardizer<double> s(mean, scale);
  const std::string path = dir.file("net.mahal");
  mahal::nn::save_network(path, net, &s);
  auto saved = mahal::nn::load_network<double>(*be, path);
  REQUIRE(saved.preprocessing);
  CHECK(saved.preprocessing->mean() == mean);
  CHECK(saved.preprocessing->scale() == scale);
  const matrix<double> X = data<double>(4, 6, 11);
  matrix<double> Xs = X;
  for (index_t j = 0; j < X.cols(); ++j)
    for (index_t i = 0; i < 4; ++i) Xs(i, j) = (X(i, j) - mean(i)) / scale(i);
  CHECK(mahal::test::relative_error(saved.transform(X), net.embed(Xs)) < 1e-15);

  const mahal::standardizer<double> wrong(mahal::vector<double>::Zero(3),
                                          mahal::vector<double>::Ones(3));
  CHECK(contains(thrown<mahal::invalid_argument>(
                     [&] { mahal::nn::save_network(dir.file("bad.mahal"), net, &wrong); }),
                 "3 features but the network takes 4"));
}

TEST_CASE("load_network rejects damaged and foreign files with io_error") {
  temp_dir dir;
  auto be = mahal::make_backend<double>(mahal::device::cpu);
  auto net = odd_network<double>(*be);
  const std::string good = dir.file("net.mahal");
  mahal::nn::save_network(good, net);
  auto load = [&](const std::string& p) { return [&be, p] { mahal::nn::load_network(*be, p); }; };

  SUBCASE("a flipped byte fails the checksum") {
    std::string bytes = mahal::test::slurp(good);
    bytes[bytes.size() / 2] ^= 0x10;
    const std::string p = dir.write("flipped.mahal", bytes);
    CHECK(contains(thrown<mahal::io_error>(load(p)), "flipped.mahal"));
  }
  SUBCASE("truncated") {
    const std::string bytes = mahal::test::slurp(good);
    const std::string p = dir.write("short.mahal", bytes.substr(0, bytes.size() - 9));
    CHECK(thrown<mahal::io_error>(load(p)) != "<no exception>");
    CHECK(!contains(thrown<mahal::io_error>(load(p)), "other exception"));
  }
  SUBCASE("a metric file is not a network") {
    const std::string p = dir.file("metric.mahal");
    mahal::save_metric(p, mahal::metric<double>::identity(3));
    CHECK(contains(thrown<mahal::io_error>(load(p)), "'metric' model, not a network"));
  }

  // Well-formed containers with wrong contents.
  mahal::model_file file = mahal::load_model_file(good);
  auto rewrite = [&](const std::string& name, const mahal::model_file& f) {
    const std::string p = dir.file(name);
    mahal::save_model_file(p, f);
    return p;
  };
  SUBCASE("unknown layer") {
    file.meta["layers"] = "linear:5:7:bias,softplus";
    CHECK(contains(thrown<mahal::io_error>(load(rewrite("u.mahal", file))), "'softplus'"));
  }
  SUBCASE("activation first") {
    file.meta["layers"] = "relu,linear:5:7:bias";
    CHECK(contains(thrown<mahal::io_error>(load(rewrite("f.mahal", file))), "misplaced"));
  }
  SUBCASE("sizes that do not chain") {
    file.meta["layers"] = "linear:5:7:bias,linear:6:3:bias";
    CHECK(contains(thrown<mahal::io_error>(load(rewrite("c.mahal", file))),
                   "takes 6 inputs but the previous gives 7"));
  }
  SUBCASE("bad size") {
    file.meta["layers"] = "linear:5:-7:bias";
    CHECK(contains(thrown<mahal::io_error>(load(rewrite("s.mahal", file))), "bad layer size"));
  }
  SUBCASE("no layer list") {
    file.meta.erase("layers");
    CHECK(thrown<mahal::io_error>(load(rewrite("n.mahal", file))) != "<no exception>");
  }
  SUBCASE("a misshapen weight") {
    file.arrays[0].data = matrix<double>::Zero(7, 4);
    CHECK(contains(thrown<mahal::io_error>(load(rewrite("w.mahal", file))),
                   "'0.weight' is 7x4 but the layer needs 7x5"));
  }
  SUBCASE("a missing weight") {
    file.arrays.erase(file.arrays.begin() + 2);  // 2.weight
    CHECK(contains(thrown<mahal::io_error>(load(rewrite("m.mahal", file))),
                   "has no array '2.weight'"));
  }
  SUBCASE("a non-finite weight") {
    file.arrays[1].data(3, 0) = std::numeric_limits<double>::quiet_NaN();
    CHECK(contains(thrown<mahal::io_error>(load(rewrite("nan.mahal", file))), "non-finite"));
  }
  SUBCASE("a layer list larger than the file") {
    // Parameters are allocated as layers are added: 2^62 of them would be a bad_alloc, not an
    // io_error, if the arrays were not checked first.
    file.meta["layers"] = "linear:5:7:bias,tanh,linear:7:2147483647:bias";
    CHECK(contains(thrown<mahal::io_error>(load(rewrite("big.mahal", file))),
                   "'2.weight' is 6x7 but the layer needs 2147483647x7"));
  }
  SUBCASE("a weight beyond float's range") {
    auto bf = mahal::make_backend<float>(mahal::device::cpu);
    file.arrays[1].data(3, 0) = 1e300;
    const std::string p = rewrite("huge.mahal", file);
    CHECK_NOTHROW(mahal::nn::load_network(*be, p));
    CHECK(contains(thrown<mahal::io_error>([&] { mahal::nn::load_network(*bf, p); }),
                   "'0.bias' has non-finite values (as float)"));
  }
  SUBCASE("centre without scale") {
    file.add_array("center", matrix<double>::Zero(5, 1));
    CHECK(contains(thrown<mahal::io_error>(load(rewrite("c1.mahal", file))), "stored together"));
  }
}

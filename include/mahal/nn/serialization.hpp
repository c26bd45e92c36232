// mahal/nn/serialization.hpp — saving and loading a trained network G_W (with its preprocessing).
//
// A network file is a model_file (model_file.hpp: magic tag, format version, CRC-32, atomic
// write) of kind "siamese". Its metadata key "layers" lists the layers in order, separated by
// commas:
//
//   linear:<in>:<out>:bias | linear:<in>:<out>:nobias | relu | tanh | l2_normalize
//
// e.g. "linear:64:128:bias,relu,linear:128:128:bias,relu,linear:128:32:bias" for the MLP
// d → 128 → ReLU → 128 → ReLU → 32. "scalar" records the type the network was trained in
// (float or double). Every parameter is an array named as sequential::parameters() names it
// ("0.weight" out×in, "0.bias" out×1, "2.weight", ...); a float weight widens to double exactly,
// so a network saved and loaded in the same scalar type round-trips bit for bit. When the
// network was trained on standardised data, the arrays "center" and "scale" (d×1) map raw data
// into its input space (as in metric files).
//
//   auto be = mahal::make_backend<float>(mahal::device::cpu);
//   mahal::nn::save_network("digits.mahal", net, &scaler, {{"algo", "siamese"}});
//   auto saved = mahal::nn::load_network<float>(*be, "digits.mahal");
//   mahal::matrix<float> E = saved.transform(X_raw);   // standardise if needed, then G_W (k×n)
#pragma once

#include <map>
#include <optional>
#include <string>

#include "mahal/nn/sequential.hpp"
#include "mahal/standardizer.hpp"

namespace mahal::nn {

template <class T>
struct saved_network {
  sequential<T> net;
  std::optional<standardizer<double>> preprocessing;  // applied to raw data before G_W
  std::map<std::string, std::string> meta;

  index_t input_dim() const { return net.input_dim(); }
  index_t output_dim() const { return net.output_dim(); }
  // Raw data (d×n) → G_W(standardise(X)) (k×n).
  matrix<T> transform(matrix_ref<T> X);
};

// The "layers" description of net (see above).
template <class T>
std::string describe_layers(sequential<T>& net);

// Writes net's layers and parameters (and the standardizer, when given; its dimension must be
// net.input_dim()) to `path`. Throws invalid_argument for an empty network or a mismatched
// standardizer, io_error when the file cannot be written.
template <class T>
void save_network(const std::string& path, sequential<T>& net,
                  const standardizer<double>* preprocessing = nullptr,
                  const std::map<std::string, std::string>& meta = {});

// Rebuilds the network on `be` from a file written by save_network. Throws io_error, naming the
// file, for anything that is not a well-formed network file: another kind of model, an unknown
// layer, sizes that do not chain, a missing or misshapen parameter array (checked before the
// layer is allocated), weights that are not finite in T, inconsistent preprocessing (and every
// error of load_model_file).
template <class T>
saved_network<T> load_network(backend<T>& be, const std::string& path);

}  // namespace mahal::nn

// save_network / load_network: a sequential network in a model_file of kind "siamese".
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "mahal/config.hpp"
#include "mahal/error.hpp"
#include "mahal/model_file.hpp"
#include "mahal/nn/serialization.hpp"

namespace mahal::nn {
namespace {

constexpr const char* kind_tag = "siamese";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!s.empty() && s.back() == sep) parts.emplace_back();
  return parts;
}

// A positive size from the layer list; io_error otherwise.
index_t parse_size(const std::string& text, const std::string& path) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  expects<io_error>(used == text.size() && !text.empty() && v > 0 && v < (1LL << 31),
                    "mahal::nn::load_network", path, ": bad layer size '", text, "'");
  return static_cast<index_t>(v);
}

// The array `name` exists and is rows×cols; io_error otherwise. Arrays are named as
// sequential::parameters() names them ("0.weight", "0.bias", ...: the file format).
void check_shape(const model_file& file, const std::string& name, index_t rows, index_t cols,
                 const std::string& path) {
  const matrix<double>& a = file.array(name).data;
  expects<io_error>(a.rows() == rows && a.cols() == cols, "mahal::nn::load_network", path, ": '",
                    name, "' is ", a.rows(), "x", a.cols(), " but the layer needs ", rows, "x",
                    cols);
}

template <class T>
const char* scalar_name() {
  return sizeof(T) == sizeof(float) ? "float" : "double";
}

}  // namespace

template <class T>
matrix<T> saved_network<T>::transform(matrix_ref<T> X) {
  if (!preprocessing) return net.embed(X);
  const matrix<double> Z = preprocessing->apply(X.template cast<double>());
  const matrix<T> Zt = Z.template cast<T>();
  return net.embed(Zt);
}

template <class T>
std::string describe_layers(sequential<T>& net) {
  std::string out;
  for (std::size_t i = 0; i < net.size(); ++i) {
    if (i > 0) out += ",";
    layer<T>& l = net[i];
    if (auto* fc = dynamic_cast<linear<T>*>(&l)) {
      out += "linear:" + std::to_string(fc->in()) + ":" + std::to_string(fc->out()) +
             (fc->has_bias() ? ":bias" : ":nobias");
    } else {
      out += l.kind();
    }
  }
  return out;
}

template <class T>
void save_network(const std::string& path, sequential<T>& net,
                  const standardizer<double>* preprocessing,
                  const std::map<std::string, std::string>& meta) {
  const char* where = "mahal::nn::save_network";
  expects(net.size() > 0, where, "the network has no layers");
  model_file file;
  file.kind = kind_tag;
  file.meta = meta;
  file.meta["layers"] = describe_layers(net);
  file.meta["scalar"] = scalar_name<T>();
  file.meta["mahal_version"] = MAHAL_VERSION_STRING;
  const std::vector<matrix<T>> values = net.get_parameters();
  const std::vector<parameter<T>*> params = net.parameters();
  for (std::size_t i = 0; i < params.size(); ++i)
    file.add_array(params[i]->name, values[i].template cast<double>());
  if (preprocessing != nullptr) {
    expects(preprocessing->dim() == net.input_dim(), where, "the standardizer has ",
            preprocessing->dim(), " features but the network takes ", net.input_dim());
    file.add_array("center", preprocessing->mean());
    file.add_array("scale", preprocessing->scale());
  }
  save_model_file(path, file);
}

template <class T>
saved_network<T> load_network(backend<T>& be, const std::string& path) {
  const char* where = "mahal::nn::load_network";
  const model_file file = load_model_file(path);
  expects<io_error>(file.kind == kind_tag, where, path, " holds a '", file.kind,
                    "' model, not a network");
  saved_network<T> out{sequential<T>(be), std::nullopt, file.meta};
  const std::string& layers = file.meta_value("layers");
  try {
    for (const std::string& spec : split(layers, ',')) {
      const std::vector<std::string> f = split(spec, ':');
      if (f.size() == 4 && f[0] == "linear" && (f[3] == "bias" || f[3] == "nobias")) {
        const index_t in = parse_size(f[1], path), o = parse_size(f[2], path);
        expects<io_error>(out.net.size() == 0 || out.net.output_dim() == in, where, path,
                          ": layer '", spec, "' takes ", in, " inputs but the previous gives ",
                          out.net.output_dim());
        // Adding the layer allocates its parameters: their arrays are checked first, so that a
        // corrupt size cannot ask for more memory than the file holds.
        const std::string prefix = std::to_string(out.net.size()) + ".";
        check_shape(file, prefix + "weight", o, in, path);
        if (f[3] == "bias") check_shape(file, prefix + "bias", o, 1, path);
        out.net.add_linear(in, o, f[3] == "bias");
      } else if (spec == "relu" && out.net.size() > 0) {
        out.net.add_relu();
      } else if (spec == "tanh" && out.net.size() > 0) {
        out.net.add_tanh();
      } else if (spec == "l2_normalize" && out.net.size() > 0) {
        out.net.add_l2_normalize();
      } else {
        throw io_error(std::string(where) + ": " + path + ": unknown or misplaced layer '" + spec +
                       "' in '" + layers + "'");
      }
    }
  } catch (const invalid_argument& e) {
    throw io_error(std::string(where) + ": " + path + ": " + e.what());
  }
  expects<io_error>(out.net.size() > 0, where, path, ": the layer list is empty");

  std::vector<matrix<T>> values;
  for (parameter<T>* p : out.net.parameters()) {
    check_shape(file, p->name, p->value.rows(), p->value.cols(), path);
    values.push_back(file.array(p->name).data.template cast<T>());
    // Checked after the conversion: a finite double can overflow a float.
    expects<io_error>(values.back().allFinite(), where, path, ": '", p->name,
                      "' has non-finite values (as ", scalar_name<T>(), ")");
  }
  out.net.set_parameters(values);

  const named_array* center = file.find_array("center");
  const named_array* scale = file.find_array("scale");
  expects<io_error>((center == nullptr) == (scale == nullptr), where, path,
                    ": 'center' and 'scale' must be stored together");
  if (center != nullptr) {
    expects<io_error>(
        center->data.size() == out.net.input_dim() && scale->data.size() == out.net.input_dim(),
        where, path, ": preprocessing for ", center->data.size(),
        " features but the network takes ", out.net.input_dim());
    try {
      out.preprocessing.emplace(vector<double>(center->data.reshaped()),
                                vector<double>(scale->data.reshaped()));
    } catch (const invalid_argument& e) {
      throw io_error(std::string(where) + ": " + path + ": " + e.what());
    }
  }
  return out;
}

#define MAHAL_INSTANTIATE(T)                                                                     \
  template struct saved_network<T>;                                                              \
  template std::string describe_layers<T>(sequential<T>&);                                       \
  template void save_network<T>(const std::string&, sequential<T>&, const standardizer<double>*, \
                                const std::map<std::string, std::string>&);                      \
  template saved_network<T> load_network<T>(backend<T>&, const std::string&);
MAHAL_INSTANTIATE(float)
MAHAL_INSTANTIATE(double)
#undef MAHAL_INSTANTIATE

}  // namespace mahal::nn

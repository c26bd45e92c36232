// Fuzz target: the model-file readers (load_model_file, load_metric, load_network) on arbitrary
// bytes, or on an arbitrary payload wrapped in a valid header and checksum. Their contract:
// io_error is the only exception; no allocation larger than the file holds; what they return is
// usable (a loaded model file saves and loads back the same, a loaded metric or network
// transforms data of its input dimension into its output dimension).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz_input.hpp"
#include "mahal/backend.hpp"
#include "mahal/error.hpp"
#include "mahal/metric_io.hpp"
#include "mahal/model_file.hpp"
#include "mahal/nn/serialization.hpp"

namespace {

bool same_bits(const mahal::matrix<double>& a, const mahal::matrix<double>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0);
}

void check_model_file(const std::string& path) {
  const mahal::model_file m = mahal::load_model_file(path);
  const mahal::fuzz::scratch_file copy("", ".copy.mahal");
  mahal::save_model_file(copy.path(), m);  // what loads must save: no invalid_argument
  const mahal::model_file back = mahal::load_model_file(copy.path());
  if (back.kind != m.kind || back.meta != m.meta || back.arrays.size() != m.arrays.size()) {
    std::abort();
  }
  for (std::size_t i = 0; i < m.arrays.size(); ++i) {
    if (back.arrays[i].name != m.arrays[i].name ||
        !same_bits(back.arrays[i].data, m.arrays[i].data))
      std::abort();
  }
}

void check_metric(const std::string& path) {
  const mahal::saved_metric saved = mahal::load_metric(path);
  const mahal::matrix<double> X = mahal::matrix<double>::Ones(saved.dim(), 2);
  const mahal::matrix<double> Z = saved.transform(X);
  if (Z.rows() != saved.learned.rank() || Z.cols() != 2) std::abort();
}

template <class T>
void check_network(const std::string& path) {
  auto be = mahal::make_backend<T>(mahal::device::cpu);
  mahal::nn::saved_network<T> saved = mahal::nn::load_network<T>(*be, path);
  const mahal::matrix<T> X = mahal::matrix<T>::Ones(saved.input_dim(), 2);
  const mahal::matrix<T> Z = saved.transform(X);
  if (Z.rows() != saved.output_dim() || Z.cols() != 2) std::abort();
}

}  // namespace

// The first byte: bit 0 wraps the rest in a valid header and checksum; bits 1–2 pick the reader.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body = mahal::fuzz::rest(data, size, 1);
  const std::string bytes =
      (data[0] & 1) != 0 ? mahal::fuzz::model_file_around(body) : std::string(body);
  const mahal::fuzz::scratch_file file(bytes, ".mahal");
  try {
    switch ((data[0] >> 1) & 3) {
      case 0:
        check_model_file(file.path());
        break;
      case 1:
        check_metric(file.path());
        break;
      case 2:
        check_network<float>(file.path());
        break;
      default:
        check_network<double>(file.path());
    }
  } catch (const mahal::io_error&) {
  }
  return 0;
}

// Fuzz target: the .npy readers on arbitrary bytes. Their contract: io_error is the only
// exception, no allocation larger than the file promises, and a matrix they return, written by
// write_npy, reads back exactly.
#include <cstdint>
#include <cstdlib>

#include "fuzz_input.hpp"
#include "mahal/error.hpp"
#include "mahal/npy.hpp"

namespace {

template <class T>
void check_round_trip(const mahal::matrix<T>& X) {
  const mahal::fuzz::scratch_file copy("", ".copy.npy");
  mahal::write_npy(copy.path(), X);
  const mahal::matrix<T> back = mahal::read_npy_matrix<T>(copy.path());
  // Bitwise, so that NaNs compare equal to themselves.
  if (back.rows() != X.rows() || back.cols() != X.cols() ||
      (X.size() > 0 && std::memcmp(back.data(), X.data(), sizeof(T) * X.size()) != 0)) {
    std::abort();
  }
}

}  // namespace

// The first byte picks the reader: float matrix, double matrix or labels.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const mahal::fuzz::scratch_file file(mahal::fuzz::rest(data, size, 1), ".npy");
  try {
    switch (data[0] % 3) {
      case 0:
        check_round_trip(mahal::read_npy_matrix<float>(file.path()));
        break;
      case 1:
        check_round_trip(mahal::read_npy_matrix<double>(file.path()));
        break;
      default:
        for (auto label : mahal::read_npy_labels(file.path())) {
          if (label < 0) std::abort();
        }
    }
  } catch (const mahal::io_error&) {
  }
  return 0;
}

// Fuzz target: read_csv on arbitrary bytes. The reader's contract: io_error is its only exception;
// what it returns is consistent (X d×n, n labels, d names, every value finite); and what it
// returns, written by write_csv, reads back exactly.
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "fuzz_input.hpp"
#include "mahal/csv.hpp"
#include "mahal/error.hpp"

namespace {

template <class T>
void check_round_trip(const mahal::labelled_data<T>& data) {
  const auto d = data.X.rows(), n = data.X.cols();
  if (d == 0 || n == 0 || data.y.size() != n || std::ssize(data.feature_names) != d ||
      !data.X.allFinite()) {
    std::abort();
  }
  for (auto label : data.y) {
    if (label < 0) std::abort();
  }
  const mahal::fuzz::scratch_file copy("", ".copy.csv");
  try {
    mahal::write_csv(copy.path(), data.X, data.y, data.feature_names);
  } catch (const mahal::invalid_argument&) {
    return;  // names the writer refuses (e.g. a feature called "label"): documented
  }
  const auto back = mahal::read_csv<T>(copy.path());
  if (back.X != data.X || back.y != data.y || back.feature_names != data.feature_names) {
    std::abort();
  }
}

}  // namespace

// The first byte picks the options: bit 0 relabel, bit 1 a label column by index (bits 4–7), bit
// 2 float instead of double.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  mahal::csv_options options;
  options.relabel = (data[0] & 1) != 0;
  if ((data[0] & 2) != 0) options.label_index = data[0] >> 4;
  const mahal::fuzz::scratch_file file(mahal::fuzz::rest(data, size, 1), ".csv");
  try {
    if ((data[0] & 4) != 0) {
      check_round_trip(mahal::read_csv<float>(file.path(), options));
    } else {
      check_round_trip(mahal::read_csv<double>(file.path(), options));
    }
  } catch (const mahal::io_error&) {
  }
  return 0;
}

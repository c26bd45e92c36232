// mahal_knn_driver — times mahal's exact k-NN search on data written by bench/knn_vs_sklearn.py,
// so that mahal and scikit-learn are timed on the same arrays in the same run.
//
//   mahal_knn_driver REFS QUERIES K REPEATS OUT_INDICES [engine|knn_search]
//
// REFS (d×n) and QUERIES (d×nq) are float64 matrix files: the 8 bytes "MAHALF64", two
// little-endian int64 (rows, cols), then rows·cols float64 values in column-major order (a numpy
// array of shape (n, d) in C order is exactly the d×n column-major matrix). OUT_INDICES gets the
// neighbour indices (k×nq, int64, same header with "MAHALI64"), nearest first.
//
// The timed region is everything a caller with host data pays for: the upload, the search and
// the download of the indices and distances. `engine` (the default) calls engine::knn on the
// Euclidean data; `knn_search` calls the host API mahal::knn_search with the identity metric
// (which also forms Z = L·X and checks the data for NaN/Inf). Prints one line per repeat and a
// summary line: `best_s=<seconds> median_s=<seconds>`.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/engine.hpp"
#include "mahal/error.hpp"
#include "mahal/matrix.hpp"
#include "mahal/metric.hpp"
#include "mahal/neighbors.hpp"

namespace {

mahal::matrix<double> read_matrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  mahal::expects<mahal::io_error>(static_cast<bool>(in), "mahal_knn_driver", "cannot open ", path);
  char magic[8];
  std::int64_t shape[2];
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(shape), sizeof(shape));
  mahal::expects<mahal::io_error>(
      in && std::memcmp(magic, "MAHALF64", 8) == 0 && shape[0] >= 0 && shape[1] >= 0,
      "mahal_knn_driver", path, " is not a MAHALF64 matrix file");
  mahal::matrix<double> X(shape[0], shape[1]);
  in.read(reinterpret_cast<char*>(X.data()),
          static_cast<std::streamsize>(sizeof(double) * X.size()));
  mahal::expects<mahal::io_error>(static_cast<bool>(in), "mahal_knn_driver", path, " is truncated");
  return X;
}

void write_indices(const std::string& path, const mahal::index_matrix& I) {
  std::ofstream out(path, std::ios::binary);
  const std::int64_t shape[2] = {I.rows(), I.cols()};
  out.write("MAHALI64", 8);
  out.write(reinterpret_cast<const char*>(shape), sizeof(shape));
  std::vector<std::int64_t> values(I.data(), I.data() + I.size());
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(sizeof(std::int64_t) * values.size()));
  mahal::expects<mahal::io_error>(static_cast<bool>(out), "mahal_knn_driver", "cannot write ",
                                  path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6 || argc > 7) {
    std::cerr << "usage: " << argv[0]
              << " REFS QUERIES K REPEATS OUT_INDICES [engine|knn_search]\n";
    return 2;
  }
  try {
    const mahal::matrix<double> refs = read_matrix(argv[1]);
    const mahal::matrix<double> queries = read_matrix(argv[2]);
    const mahal::index_t k = std::stoll(argv[3]);
    const int repeats = std::max(1, std::stoi(argv[4]));
    const std::string api = argc == 7 ? argv[6] : "engine";
    mahal::expects(api == "engine" || api == "knn_search", "mahal_knn_driver", "unknown api '", api,
                   "' (expected engine or knn_search)");
    auto be = mahal::make_backend<double>(mahal::device::cpu);
    const auto identity = mahal::metric<double>::identity(refs.rows());
    mahal::knn_options options;
    options.k = k;

    std::vector<double> seconds;
    mahal::index_matrix indices;
    for (int r = 0; r < repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      if (api == "engine") {
        const auto zr = mahal::to_device<double>(*be, refs);
        const auto zq = mahal::to_device<double>(*be, queries);
        mahal::engine::knn_request request;
        request.k = k;
        const auto state = mahal::engine::knn(*be, zq, zr, request);
        indices = mahal::labels_to_host(*be, state.indices);
        const mahal::matrix<double> sqdist = mahal::to_host(*be, state.sqdist);
        be->synchronize();
      } else {
        const auto result = mahal::knn_search<double>(*be, identity, queries, refs, options);
        indices = result.indices;
      }
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      seconds.push_back(s);
      std::printf("repeat %d: %.6f s\n", r, s);
    }
    write_indices(argv[5], indices);
    std::sort(seconds.begin(), seconds.end());
    std::printf("best_s=%.6f median_s=%.6f\n", seconds.front(), seconds[seconds.size() / 2]);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

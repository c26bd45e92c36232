// Writes the seed inputs of the fuzz targets, made by the library's own writers (so they stay
// valid as the formats evolve): OUT/csv, OUT/npy and OUT/model_file, each input prefixed by the
// mode byte its target reads first (see the targets); OUT/solvers and OUT/siamese, small
// labelled problems; OUT/verification, scored trials; OUT/knn, a point cloud.
//   mahal_fuzz_seeds OUT
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "mahal/backend.hpp"
#include "mahal/csv.hpp"
#include "mahal/metric_io.hpp"
#include "mahal/model_file.hpp"
#include "mahal/nn/serialization.hpp"
#include "mahal/npy.hpp"

namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void put(const fs::path& path, unsigned char mode, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(mode));
  out << bytes;
}

// A model file as its target's two seeds: whole (mode bit 0 clear), and as the payload alone
// (bit 0 set: the target adds the header and checksum back).
void put_model(const fs::path& dir, const std::string& name, unsigned char reader,
               const fs::path& written) {
  const std::string bytes = read_bytes(written);
  const unsigned char mode = static_cast<unsigned char>(reader << 1);
  put(dir / (name + "_whole"), mode, bytes);
  put(dir / (name + "_payload"), mode | 1, bytes.substr(20, bytes.size() - 24));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* dir :
       {"csv", "npy", "model_file", "solvers", "siamese", "verification", "knn"}) {
    fs::create_directories(out / dir);
  }
  const fs::path scratch = out / "scratch";

  mahal::matrix<double> X(3, 4);
  X << 5.1, -0.02, 1e-3, 7, 2.5, 3, 1e300, -4.25, 0.1, 0.2, 0.3, 4e-310;
  const mahal::label_vector y{{0, 2, 1, 2}};
  mahal::write_csv(scratch.string(), X, y, {"a", "b", "c"});
  const std::string csv = read_bytes(scratch);
  put(out / "csv" / "double", 0, csv);
  put(out / "csv" / "float_relabel", 5, csv);
  put(out / "csv" / "label_index_0", 2, csv);
  put(out / "csv" / "crlf_bom", 0, "\xEF\xBB\xBFx,label\r\n1.5,3\r\n\r\n-2,-7\r\n");

  mahal::write_npy(scratch.string(), X);
  put(out / "npy" / "float", 0, read_bytes(scratch));
  put(out / "npy" / "double", 1, read_bytes(scratch));
  mahal::write_npy_labels(scratch.string(), y);
  put(out / "npy" / "labels", 2, read_bytes(scratch));

  mahal::model_file m;
  m.kind = "any";
  m.meta["key"] = "value";
  m.add_array("A", X);
  mahal::save_model_file(scratch.string(), m);
  put_model(out / "model_file", "model", 0, scratch);

  const auto learned = mahal::metric<double>::from_linear_map(X.leftCols(3).transpose());
  const mahal::standardizer<double> scaler(mahal::vector<double>::Zero(3),
                                           mahal::vector<double>::Ones(3));
  mahal::save_metric(scratch.string(), learned, &scaler);
  put_model(out / "model_file", "metric", 1, scratch);

  auto be = mahal::make_backend<float>(mahal::device::cpu);
  mahal::nn::sequential<float> net(*be);
  net.add_linear(3, 4).add_relu().add_linear(4, 2, false).add_tanh().add_l2_normalize();
  net.reset(1);
  mahal::nn::save_network(scratch.string(), net, &scaler);
  put_model(out / "model_file", "network_float", 2, scratch);
  put_model(out / "model_file", "network_double", 3, scratch);

  // Two classes of 6 points in the plane, apart but overlapping, under mode bytes that reach
  // every solver and option of the solver targets (fuzz_problem.hpp: d − 1, n − 2, labels,
  // values·16).
  std::string problem = {1, 10};
  for (int i = 0; i < 12; ++i) problem += static_cast<char>(i % 2);
  for (int i = 0; i < 12; ++i) {
    problem += static_cast<char>(16 * (i % 2) + 5 * (i % 5) - 8);
    problem += static_cast<char>(3 * i - 12);
  }
  for (int mode = 0; mode < 256; mode += 7) {
    for (const char* target : {"solvers", "siamese"}) {
      put(out / target / ("mode_" + std::to_string(mode)), static_cast<unsigned char>(mode),
          problem);
    }
  }

  // 90 points in 3 dimensions on a coarse grid (ties), three labels, under modes that reach
  // every k, filter, self exclusion, separate query set and small blocks.
  std::string cloud = {2, 88};
  for (int i = 0; i < 90; ++i) cloud += static_cast<char>(i % 3);
  for (int i = 0; i < 270; ++i) cloud += static_cast<char>((i * 37) % 9 - 4);
  for (int mode = 0; mode < 256; mode += 11) {
    put(out / "knn" / ("mode_" + std::to_string(mode)), static_cast<unsigned char>(mode), cloud);
  }

  // Trials: (score byte, genuine byte) pairs, genuine scores mostly lower, with ties.
  std::string trials;
  for (int i = 0; i < 40; ++i) {
    trials += static_cast<char>((i * 7) % 32);
    trials += static_cast<char>((i * 7) % 32 < 14 ? 1 : (i % 5 == 0));
  }
  for (int mode : {0, 3, 10, 17, 50}) {
    put(out / "verification" / ("mode_" + std::to_string(mode)), static_cast<unsigned char>(mode),
        trials);
  }

  fs::remove(scratch);
  return 0;
}

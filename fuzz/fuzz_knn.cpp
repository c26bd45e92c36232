// Fuzz target: the exact k-NN search (engine::knn on the CPU backend, the path under every
// solver's target and impostor searches) against brute force. Points have coarse values in up
// to 4 dimensions, so distances are exact in double and ties are everywhere: the result must
// equal, slot for slot, the k smallest admissible (squared distance, index) pairs, with empty
// slots (-1, +inf) when fewer exist — for a set against itself (each distance computed once)
// and against another set, any label filter, with and without self exclusion, and any blocks.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "fuzz_problem.hpp"
#include "mahal/device_transfer.hpp"
#include "mahal/engine.hpp"

namespace {

using mahal::index_t;
using mahal::matrix;

// byte 1: d = 1..4; byte 2: n = 2..201 points (the first half are the queries of a separate
// query set); then n labels (0..2) and d·n values in steps of 1/16. Missing bytes read as 0.
struct points {
  matrix<double> Z;
  mahal::label_vector y;
};

points decode(const std::uint8_t* data, std::size_t size) {
  std::size_t at = 1;
  auto next = [&]() -> std::uint8_t { return at < size ? data[at++] : 0; };
  const index_t d = 1 + next() % 4, n = 2 + next() % 200;
  points p{matrix<double>(d, n), mahal::label_vector(n)};
  for (index_t i = 0; i < n; ++i) p.y[i] = next() % 3;
  for (index_t j = 0; j < n; ++j)
    for (index_t i = 0; i < d; ++i) p.Z(i, j) = static_cast<std::int8_t>(next()) / 16.0;
  return p;
}

}  // namespace

// The first byte: k = 1 + (bits 0–2), bit 3 excludes self, bits 4–5 the label filter, bit 6 a
// separate query set, bit 7 small blocks (sizes from n) instead of the default ones.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const auto be = mahal::make_backend<double>(mahal::device::cpu);
  const std::uint8_t mode = data[0];
  const points p = decode(data, size);
  const index_t n = p.Z.cols();
  const bool self = (mode & 0x40) == 0;
  const index_t nq = self ? n : std::max<index_t>(1, n / 2);
  const matrix<double> Zq = p.Z.leftCols(nq);
  const mahal::label_vector yq = p.y.head(nq);

  mahal::engine::knn_request request;
  request.k = 1 + (mode & 7);
  request.exclude_self = self && (mode & 8) != 0;
  request.filter =
      std::array{mahal::label_filter::any, mahal::label_filter::same,
                 mahal::label_filter::different, mahal::label_filter::any}[mode >> 4 & 3];
  if ((mode & 0x80) != 0) request.blocks = {1 + n % 7, 1 + n % 13};
  const auto Zr_dev = mahal::to_device<double>(*be, p.Z);
  const auto Zq_dev = self ? Zr_dev : mahal::to_device<double>(*be, Zq);
  const auto yr_dev = mahal::labels_to_device<double>(*be, p.y);
  const auto yq_dev = self ? yr_dev : mahal::labels_to_device<double>(*be, yq);
  request.query_labels = &yq_dev;
  request.ref_labels = &yr_dev;
  const auto state = mahal::engine::knn<double>(*be, Zq_dev, Zr_dev, request);
  const matrix<double> dist = mahal::to_host(*be, state.sqdist);
  const mahal::index_matrix idx = mahal::labels_to_host(*be, state.indices);

  const index_t k = request.k;
  mahal::fuzz::require(dist.rows() == k && dist.cols() == nq, "knn: k × queries");
  for (index_t q = 0; q < nq; ++q) {
    std::vector<std::pair<double, index_t>> candidates;
    for (index_t r = 0; r < n; ++r) {
      if (request.exclude_self && r == q) continue;
      if (request.filter == mahal::label_filter::same && p.y[r] != yq[q]) continue;
      if (request.filter == mahal::label_filter::different && p.y[r] == yq[q]) continue;
      candidates.emplace_back((Zq.col(q) - p.Z.col(r)).squaredNorm(), r);
    }
    std::sort(candidates.begin(), candidates.end());
    for (index_t s = 0; s < k; ++s) {
      const bool filled = s < static_cast<index_t>(candidates.size());
      const double want_d = filled ? candidates[s].first : std::numeric_limits<double>::infinity();
      const index_t want_i = filled ? candidates[s].second : -1;
      mahal::fuzz::require(idx(s, q) == want_i && dist(s, q) == want_d,
                           "knn: the k smallest (distance, index), then empty slots");
    }
  }
  return 0;
}

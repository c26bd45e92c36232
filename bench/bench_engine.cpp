// Benchmarks of the engine every solver stands on: the weighted pair scatter, the blocked
// all-pairs squared distances and the exact k-NN search, on the CPU backend and (when a device
// is present at run time) the CUDA backend, beside raw OpenBLAS DGEMM of the same shapes.
//
// Problem sizes (n references of dimension d, n ∈ {1e3, 1e4, 1e5}, d ∈ {16, 64, 256}):
//   BM_pair_scatter_<dev>/n:N/d:D  G = Σ_k w_k (x_i − x_j)(x_i − x_j)ᵀ over m = 10·n random
//                                  pairs; FLOPs counted: 2·d·d·n' (the GEMM over the n' points
//                                  in a pair) + 2·d·2m (the sparse Laplacian apply).
//   BM_pair_sqdist_<dev>/n:N/d:D   the squared distances of the same m pairs, listed by first
//                                  endpoint as LMNN lists its target and impostor pairs;
//                                  FLOPs counted: 3·d·m.
//   BM_all_pairs_<dev>/n:N/d:D     all squared distances of 1024 queries × n references,
//                                  produced block by block by engine::for_each_sqdist_block (the
//                                  consumer only counts blocks); FLOPs counted: 2·d·1024·n.
//   BM_knn_<dev>/n:N/d:D           engine::knn, k = 10, 1024 queries × n references;
//                                  FLOPs counted: 2·d·1024·n (the distance GEMMs only).
//   BM_dgemm_cpu/...               cblas_dgemm of the engine's GEMM shapes: `sqdist_block`
//                                  (queries_block × refs_block × d, Aᵀ·B, the block sizes that
//                                  engine::resolve picks), `scatter` (d × d × n', A·Bᵀ) and
//                                  `square` (1024³). FLOPs: 2·m·n·k.
// Every benchmark reports wall time (the work is multi-threaded) and a FLOP/s counter;
// bench/report.py turns the JSON output into the tables of bench/RESULTS.md, including each
// engine benchmark's rate as a percentage of the DGEMM rates measured in the same run.
//
//   mahal_bench_engine                                  # everything (a few minutes on 2 cores)
//   mahal_bench_engine --benchmark_filter='n:1000/|square'   # smoke run (seconds)
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/engine.hpp"

namespace {

using mahal::index_t;
using mahal::label_t;

constexpr index_t n_queries = 1024;
constexpr index_t knn_k = 10;
constexpr index_t pairs_per_point = 10;
constexpr std::uint64_t seed = 20240611;

const std::vector<index_t> sizes_n = {1000, 10000, 100000};
const std::vector<index_t> sizes_d = {16, 64, 256};

// Host data of one (n, d) problem, generated once and shared by every benchmark of that size.
struct problem {
  std::vector<double> refs;           // d×n, standard normal
  std::vector<double> queries;        // d×1024, standard normal
  std::vector<label_t> pairs;         // 2×m, uniform random distinct endpoints
  std::vector<label_t> sorted_pairs;  // the same pairs by first endpoint, then second
  std::vector<double> weights;        // m, uniform in [−1, 1)
  index_t n = 0, d = 0, m = 0;
  index_t vertices = 0;  // n': points that occur in some pair
};

const problem& get_problem(index_t n, index_t d) {
  static std::map<std::pair<index_t, index_t>, std::unique_ptr<problem>> cache;
  auto& slot = cache[{n, d}];
  if (slot) return *slot;
  slot = std::make_unique<problem>();
  problem& p = *slot;
  p.n = n;
  p.d = d;
  p.m = pairs_per_point * n;
  mahal::detail::rng gen(seed ^ static_cast<std::uint64_t>(n * 1000 + d));
  p.refs.resize(static_cast<std::size_t>(d * n));
  for (double& v : p.refs) v = gen.normal();
  p.queries.resize(static_cast<std::size_t>(d * n_queries));
  for (double& v : p.queries) v = gen.normal();
  p.pairs.resize(static_cast<std::size_t>(2 * p.m));
  p.weights.resize(static_cast<std::size_t>(p.m));
  std::vector<char> used(static_cast<std::size_t>(n), 0);
  for (index_t k = 0; k < p.m; ++k) {
    const auto i = static_cast<label_t>(gen.below(static_cast<std::uint64_t>(n)));
    auto j = static_cast<label_t>(gen.below(static_cast<std::uint64_t>(n - 1)));
    if (j >= i) ++j;
    p.pairs[2 * k] = i;
    p.pairs[2 * k + 1] = j;
    used[i] = used[j] = 1;
    p.weights[k] = 2.0 * gen.uniform() - 1.0;
  }
  p.vertices = std::count(used.begin(), used.end(), char(1));
  std::vector<std::pair<label_t, label_t>> by_first(static_cast<std::size_t>(p.m));
  for (index_t k = 0; k < p.m; ++k) by_first[k] = {p.pairs[2 * k], p.pairs[2 * k + 1]};
  std::sort(by_first.begin(), by_first.end());
  for (const auto& [i, j] : by_first) p.sorted_pairs.insert(p.sorted_pairs.end(), {i, j});
  return p;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOP/s"] =
      benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}

std::string size_name(const std::string& what, index_t n, index_t d) {
  return what + "/n:" + std::to_string(n) + "/d:" + std::to_string(d);
}

// ---- raw DGEMM
// -----------------------------------------------------------------------------------
void bm_dgemm(benchmark::State& state, bool trans_a, bool trans_b, index_t m, index_t n,
              index_t k) {
  mahal::detail::rng gen(seed);
  std::vector<double> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(k * n));
  std::vector<double> c(static_cast<std::size_t>(m * n), 0.0);
  for (double& v : a) v = gen.normal();
  for (double& v : b) v = gen.normal();
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  const int lda = trans_a ? ki : mi, ldb = trans_b ? ni : ki;
  for (auto _ : state) {
    cblas_dgemm(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, mi, ni, ki, -2.0, a.data(), lda, b.data(), ldb,
                0.0, c.data(), mi);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k));
}

// ---- engine benchmarks, one backend -----------------------------------------------------------
struct device_problem {
  std::unique_ptr<mahal::backend<double>> be;
  mahal::device_array<double> refs, queries, weights;
  mahal::device_array<label_t> pairs;
};

device_problem upload(mahal::device where, const problem& p) {
  device_problem dp;
  dp.be = mahal::make_backend<double>(where);
  auto& be = *dp.be;
  dp.refs = be.alloc(p.d, p.n);
  be.upload(p.refs.data(), dp.refs);
  dp.queries = be.alloc(p.d, n_queries);
  be.upload(p.queries.data(), dp.queries);
  dp.pairs = be.alloc_labels(2, p.m);
  be.upload_labels(p.pairs.data(), dp.pairs);
  dp.weights = be.alloc(p.m, 1);
  be.upload(p.weights.data(), dp.weights);
  be.synchronize();
  return dp;
}

void bm_pair_scatter(benchmark::State& state, mahal::device where, index_t n, index_t d) {
  const problem& p = get_problem(n, d);
  device_problem dp = upload(where, p);
  auto out = dp.be->alloc(d, d);
  for (auto _ : state) {
    dp.be->pair_scatter(dp.refs, dp.refs, dp.pairs, dp.weights, 1.0, 0.0, out);
    dp.be->synchronize();
  }
  const double dd = static_cast<double>(d);
  set_flops(state, 2.0 * dd * dd * static_cast<double>(p.vertices) +
                       2.0 * dd * 2.0 * static_cast<double>(p.m));
  state.counters["pairs"] = static_cast<double>(p.m);
  state.counters["n_used"] = static_cast<double>(p.vertices);
}

void bm_pair_sqdist(benchmark::State& state, mahal::device where, index_t n, index_t d) {
  const problem& p = get_problem(n, d);
  device_problem dp = upload(where, p);
  auto& be = *dp.be;
  auto pairs = be.alloc_labels(2, p.m);
  be.upload_labels(p.sorted_pairs.data(), pairs);
  auto out = be.alloc(p.m, 1);
  for (auto _ : state) {
    be.pair_sqdist(dp.refs, dp.refs, pairs, out);
    be.synchronize();
  }
  set_flops(state, 3.0 * static_cast<double>(d) * static_cast<double>(p.m));
  state.counters["pairs"] = static_cast<double>(p.m);
}

void bm_all_pairs(benchmark::State& state, mahal::device where, index_t n, index_t d) {
  const problem& p = get_problem(n, d);
  device_problem dp = upload(where, p);
  index_t blocks = 0;
  const std::function<void(const mahal::device_array<double>&, index_t, index_t)> count =
      [&](const mahal::device_array<double>&, index_t, index_t) { ++blocks; };
  for (auto _ : state) {
    mahal::engine::for_each_sqdist_block<double>(*dp.be, dp.queries, dp.refs, {}, count);
    dp.be->synchronize();
  }
  benchmark::DoNotOptimize(blocks);
  set_flops(state,
            2.0 * static_cast<double>(d) * static_cast<double>(n_queries) * static_cast<double>(n));
}

void bm_knn(benchmark::State& state, mahal::device where, index_t n, index_t d) {
  const problem& p = get_problem(n, d);
  device_problem dp = upload(where, p);
  mahal::engine::knn_request request;
  request.k = knn_k;
  for (auto _ : state) {
    auto result = mahal::engine::knn<double>(*dp.be, dp.queries, dp.refs, request);
    dp.be->synchronize();
    benchmark::DoNotOptimize(result.indices.data());
  }
  set_flops(state,
            2.0 * static_cast<double>(d) * static_cast<double>(n_queries) * static_cast<double>(n));
}

void register_device(mahal::device where, const std::string& suffix, index_t n, index_t d) {
  benchmark::RegisterBenchmark(size_name("BM_pair_scatter_" + suffix, n, d).c_str(),
                               bm_pair_scatter, where, n, d)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(size_name("BM_pair_sqdist_" + suffix, n, d).c_str(), bm_pair_sqdist,
                               where, n, d)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(size_name("BM_all_pairs_" + suffix, n, d).c_str(), bm_all_pairs,
                               where, n, d)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(size_name("BM_knn_" + suffix, n, d).c_str(), bm_knn, where, n, d)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

void register_dgemm(index_t n, index_t d) {
  const auto blocks =
      mahal::engine::resolve({}, mahal::device::cpu, n_queries, n);  // the engine's blocks
  benchmark::RegisterBenchmark(size_name("BM_dgemm_cpu/sqdist_block", n, d).c_str(), bm_dgemm, true,
                               false, blocks.queries, blocks.refs, d)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  // n' of the scatter: with 10·n random pairs practically every point occurs.
  benchmark::RegisterBenchmark(size_name("BM_dgemm_cpu/scatter", n, d).c_str(), bm_dgemm, false,
                               true, d, d, n)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

// Each size's DGEMM references are registered beside its engine benchmarks, so that without
// random interleaving they still run close in time (the machine's load drifts during a run).
void register_all(int gpus) {
  benchmark::RegisterBenchmark("BM_dgemm_cpu/square/m:1024/n:1024/k:1024", bm_dgemm, false, false,
                               index_t{1024}, index_t{1024}, index_t{1024})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  for (index_t n : sizes_n)
    for (index_t d : sizes_d) {
      register_dgemm(n, d);
      register_device(mahal::device::cpu, "cpu", n, d);
      if (gpus > 0) register_device(mahal::device::cuda, "cuda", n, d);
    }
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("mahal_cpu_backend",
                              mahal::make_backend<double>(mahal::device::cpu)->name());
  benchmark::AddCustomContext("load_average_at_start", load_average());
  const int gpus = mahal::cuda_device_count();
  benchmark::AddCustomContext("cuda_devices", std::to_string(gpus));
  if (gpus > 0)
    benchmark::AddCustomContext("mahal_cuda_backend",
                                mahal::make_backend<double>(mahal::device::cuda)->name());
  register_all(gpus);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// MMC (Xing et al., NIPS 2002) timing with Google Benchmark: full and diagonal A, fast and
// reference modes, D implicit (every pair not in S), n from 1e2 to 1e5 on CPU and GPU.
//
//   bench_mmc --benchmark_filter='full_fast/cpu'     (GPU cases skip without a device)
// Data: d = 16 features, 4 Gaussian classes with shifted means; S = 4n random same-class pairs
// (seeded), D implicit. Counters: iterations, g = the paper's objective at the result.
#include <benchmark/benchmark.h>

#include "mahal/backend.hpp"
#include "mahal/constraints.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/mmc.hpp"

namespace {

struct data_set {
  mahal::matrix<double> X;
  mahal::pair_list S;
};

data_set make_data(mahal::index_t n, mahal::index_t d) {
  mahal::detail::rng gen(42);
  data_set s;
  s.X.resize(d, n);
  mahal::label_vector y(n);
  for (mahal::index_t i = 0; i < n; ++i) {
    y(i) = static_cast<mahal::label_t>(i % 4);
    for (mahal::index_t r = 0; r < d; ++r) s.X(r, i) = gen.normal() + (r % 4 == y(i) ? 2.0 : 0.0);
  }
  s.S = mahal::sample_pairs(y, std::min<mahal::index_t>(4 * n, n * (n / 4 - 1) / 2), 0, 7).similar;
  return s;
}

void run(benchmark::State& state, bool full, mahal::mmc_mode mode, mahal::device where) {
  if (where == mahal::device::cuda && mahal::cuda_device_count() == 0) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const auto n = static_cast<mahal::index_t>(state.range(0));
  const data_set s = make_data(n, 16);
  auto be = mahal::make_backend<double>(where);
  mahal::mmc_options o;
  o.mode = mode;
  // n = 1e5 sweeps 5e9 pairs per evaluation: 3 iterations give its per-iteration cost
  // (the ms_per_iteration counter) without a run of many minutes.
  o.max_iter = n >= 100000 ? 3 : 20;
  mahal::mmc_result<double> r;
  for (auto _ : state) {
    r = full ? mahal::fit_mmc_full<double>(*be, s.X, s.S, nullptr, o)
             : mahal::fit_mmc_diagonal<double>(*be, s.X, s.S, nullptr, o);
    benchmark::DoNotOptimize(r.objective);
  }
  state.counters["iterations"] = static_cast<double>(r.iterations);
  state.counters["ms_per_iteration"] = 1e3 * r.seconds / static_cast<double>(r.iterations);
  state.counters["g"] = r.objective;
}

// n = 100, 1000, ... up to MaxN. The reference mode stops at 1e4: its projection passes make
// n = 1e5 a run of many minutes per iteration.
template <int MaxN>
void sizes(benchmark::internal::Benchmark* b) {
  for (int n = 100; n <= MaxN; n *= 10) b->Arg(n);
  b->Unit(benchmark::kMillisecond)->Iterations(1);
}

}  // namespace

BENCHMARK_CAPTURE(run, full_fast / cpu, true, mahal::mmc_mode::fast, mahal::device::cpu)
    ->Apply(sizes<100000>);
BENCHMARK_CAPTURE(run, full_fast / gpu, true, mahal::mmc_mode::fast, mahal::device::cuda)
    ->Apply(sizes<100000>);
BENCHMARK_CAPTURE(run, full_reference / cpu, true, mahal::mmc_mode::reference, mahal::device::cpu)
    ->Apply(sizes<10000>);
BENCHMARK_CAPTURE(run, full_reference / gpu, true, mahal::mmc_mode::reference, mahal::device::cuda)
    ->Apply(sizes<10000>);
BENCHMARK_CAPTURE(run, diag_fast / cpu, false, mahal::mmc_mode::fast, mahal::device::cpu)
    ->Apply(sizes<100000>);
BENCHMARK_CAPTURE(run, diag_fast / gpu, false, mahal::mmc_mode::fast, mahal::device::cuda)
    ->Apply(sizes<100000>);

BENCHMARK_MAIN();

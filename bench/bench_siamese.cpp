// Google Benchmark: one training step of the Siamese / triplet network (mahal::nn) per
// iteration, over the batch size, for the benchmarks' MLP 64 → 128 → ReLU → 128 → ReLU → 32
// in float (Adam). Data: 200000 synthetic samples in 64 dimensions, 10 classes, so that a batch's
// samples are (nearly) distinct up to the largest batch. The CUDA variants are registered only
// when a device is present.
//
//   build/bench/bench_siamese --benchmark_filter=cpu
//   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 build/bench/bench_siamese
//
// Counters: items_per_second = pairs (or triplets) per second; FLOP/s = 6 · parameters · batch
// columns (forward 2, backward 4 multiply-adds per weight and column).
#include <benchmark/benchmark.h>

#include <memory>

#include "mahal/backend.hpp"
#include "mahal/detail/random.hpp"
#include "mahal/nn/siamese.hpp"

namespace {

struct synthetic {
  mahal::matrix<float> X;
  mahal::label_vector y;
};

const synthetic& data() {
  static const synthetic s = [] {
    const mahal::index_t d = 64, n = 200000, classes = 10;
    synthetic out{mahal::matrix<float>(d, n), mahal::label_vector(n)};
    mahal::detail::rng g(1);
    for (mahal::index_t j = 0; j < n; ++j) {
      out.y[j] = static_cast<mahal::label_t>(j % classes);
      for (mahal::index_t i = 0; i < d; ++i)
        out.X(i, j) = static_cast<float>(g.normal() + (i % classes == j % classes ? 2.0 : 0.0));
    }
    return out;
  }();
  return s;
}

void bm_step(benchmark::State& st, mahal::device where, mahal::nn::siamese_objective objective) {
  const synthetic& s = data();
  auto be = mahal::make_backend<float>(where);
  const bool triplet = objective != mahal::nn::siamese_objective::contrastive;
  auto net =
      mahal::nn::make_mlp<float>(*be, 64, {128, 128}, 32, mahal::nn::activation::relu, triplet, 0);
  mahal::nn::siamese_options opt;
  opt.objective = objective;
  opt.batch = st.range(0);
  mahal::nn::siamese_trainer<float> trainer(net, s.X, s.y, opt);
  trainer.step();  // buffers grown, caches warm
  be->synchronize();
  for (auto _ : st) {
    trainer.step();
    be->synchronize();
  }
  const double columns = (triplet ? 3.0 : 2.0) * static_cast<double>(opt.batch);
  st.SetItemsProcessed(st.iterations() * opt.batch);
  st.counters["FLOP/s"] = benchmark::Counter(
      6.0 * static_cast<double>(net.parameter_count()) * columns * st.iterations(),
      benchmark::Counter::kIsRate);
}

void register_all() {
  using mahal::nn::siamese_objective;
  auto add = [](const char* name, mahal::device where, siamese_objective o) {
    benchmark::RegisterBenchmark(name, [where, o](benchmark::State& st) { bm_step(st, where, o); })
        ->RangeMultiplier(4)
        ->Range(256, 65536)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  };
  add("BM_siamese_step_cpu", mahal::device::cpu, siamese_objective::contrastive);
  add("BM_triplet_step_cpu", mahal::device::cpu, siamese_objective::triplet);
  if (mahal::cuda_device_count() > 0) {
    add("BM_siamese_step_cuda", mahal::device::cuda, siamese_objective::contrastive);
    add("BM_triplet_step_cuda", mahal::device::cuda, siamese_objective::triplet);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

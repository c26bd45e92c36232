// Fuzz target: Siamese and triplet training (float, every objective, both optimisers) for a few
// steps on tiny degenerate problems (fuzz_problem.hpp): repeated and all-zero samples, batches
// with no active pair or triplet, classes of one sample. The contract checked: the only
// exception is invalid_argument (no class with two members, a single class), and no loss,
// weight or embedding becomes NaN or infinite.
#include <cstdint>

#include "fuzz_problem.hpp"
#include "mahal/error.hpp"
#include "mahal/nn/siamese.hpp"

namespace {

using mahal::fuzz::require;
namespace nn = mahal::nn;

void check_training(mahal::backend<float>& be, const mahal::fuzz::problem<float>& p,
                    std::uint8_t mode) {
  constexpr nn::siamese_objective objectives[] = {
      nn::siamese_objective::contrastive,
      nn::siamese_objective::triplet,
      nn::siamese_objective::triplet_hard,
      nn::siamese_objective::triplet_semi_hard,
      nn::siamese_objective::identification_verification,
      nn::siamese_objective::center};
  nn::siamese_options o;
  o.objective = objectives[mode % 6];
  o.optimizer = (mode & 0x40) != 0 ? nn::optimizer_kind::sgd : nn::optimizer_kind::adam;
  o.contrastive.form =
      (mode & 0x80) != 0 ? nn::contrastive_form::unsquared : nn::contrastive_form::squared;
  o.steps = 3;
  o.batch = 8;
  o.per_class = 2;
  o.lr = 0.1;  // large, to reach far from the initial weights in three steps
  const bool l2 = (mode & 0x20) != 0;
  auto net = nn::make_mlp<float>(be, p.X.rows(), {5}, 3,
                                 (mode & 0x10) != 0 ? nn::activation::tanh : nn::activation::relu,
                                 l2, mode);
  const nn::siamese_result r = nn::fit_siamese(net, p.X, p.y, o);
  require(mahal::fuzz::finite(r.final_loss) && r.final_loss >= 0, "siamese: finite loss");
  for (const auto& w : net.get_parameters()) require(w.allFinite(), "siamese: finite weights");
  require(net.embed(p.X).allFinite(), "siamese: finite embeddings");
}

}  // namespace

// The first byte picks the objective (mod 6) and the options (bits 4–7).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const auto be = mahal::make_backend<float>(mahal::device::cpu);
  try {
    check_training(*be, mahal::fuzz::decode<float>(data, size), data[0]);
  } catch (const mahal::invalid_argument&) {
  }
  return 0;
}

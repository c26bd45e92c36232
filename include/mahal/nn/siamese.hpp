// mahal/nn/siamese.hpp — training G_W as a Siamese (pair) or triplet network.
//
// The network is built by make_mlp (or by hand with sequential) and trained on labelled data X
// (d×n, one sample per column) with y (n labels in 0..C−1): every step draws a batch (balanced
// random pairs, random triplets, or a P×K batch mined in-batch), embeds the batch's distinct
// samples in one forward pass (weights shared by every branch), evaluates the loss, runs one
// backward pass and one optimiser step. X is uploaded once; a step moves only indices and
// per-pair scalars.
//
//   auto be = mahal::make_backend<float>(mahal::device::cpu);
//   auto net = mahal::nn::make_mlp<float>(*be, 64, {128, 128}, 32, mahal::nn::activation::relu);
//   mahal::nn::siamese_options opt;               // contrastive, Adam 1e-3, 2000 steps of 256
//   auto r = mahal::nn::fit_siamese(net, X, y, opt);
//   mahal::matrix<float> E = net.embed(X_test);   // 32×n_test
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mahal/matrix.hpp"
#include "mahal/nn/losses.hpp"
#include "mahal/nn/mining.hpp"
#include "mahal/nn/sequential.hpp"
#include "mahal/solver.hpp"

namespace mahal::nn {

enum class activation { relu, tanh, none };

// in → hidden[0] → act → ... → hidden.back() → act → out (biases on every linear layer),
// then an L2-normalisation when l2_output is set; parameters drawn from seed.
template <class T>
sequential<T> make_mlp(backend<T>& be, index_t in, const std::vector<index_t>& hidden, index_t out,
                       activation act, bool l2_output = false, std::uint64_t seed = 0);

enum class siamese_objective {
  contrastive,                  // balanced pairs, Hadsell et al. (squared or unsquared form)
  triplet,                      // random triplets, FaceNet's loss
  triplet_hard,                 // P×K batches, hardest negative per (anchor, positive)
  triplet_semi_hard,            // P×K batches, hardest semi-hard negative
  identification_verification,  // DeepID2: softmax + λ·contrastive on balanced pairs
  center,                       // Wen et al.: softmax + λ·center loss on balanced pairs' samples
};

enum class optimizer_kind { sgd, adam };

struct siamese_options {
  siamese_objective objective = siamese_objective::contrastive;
  index_t steps = 2000;   // optimiser steps
  index_t batch = 256;    // pairs or triplets per step (P·K samples for mined objectives)
  index_t per_class = 8;  // K of P×K batches (mined objectives); P = batch / K
  contrastive_options contrastive{};  // margin 1, squared form, mean
  triplet_options triplet{};          // α = 0.2, mean
  double lambda = 1.0;                // weight of the verification / center term (joint objectives)
  optimizer_kind optimizer = optimizer_kind::adam;
  double lr = 1e-3;
  double momentum = 0.9;       // SGD only
  std::uint64_t seed = 0;      // batches (the network's init is make_mlp's seed)
  index_t trace_every = 0;     // record the loss every this many steps (0: never)
  progress_callback progress;  // called with each trace record
};

struct siamese_result {
  solver_status status = solver_status::iteration_cap;  // fixed step count: iteration_cap
  index_t steps = 0;
  double final_loss = 0;  // the last step's batch loss
  double train_seconds = 0;
  double items_per_second = 0;  // pairs or triplets (mined: anchor-positive triplets) per second
  std::vector<iteration_record> trace;
};

// What one optimiser step did.
struct step_result {
  double loss = 0;     // the batch loss
  index_t active = 0;  // pairs / triplets with a non-zero gradient
  index_t items = 0;   // pairs or triplets in the batch (mined: the anchor-positive triplets)
};

// The state of one training run: X on the device, the class index, the optimiser and every
// batch buffer, sized once for the largest batch the options can draw, so that a step allocates
// no device memory (only the host-side batch indices). fit_siamese is a loop over step(); the
// class is public for step-level benchmarks and for callers that interleave their own work.
// `net` must outlive the trainer and must not be moved while it trains. On the CPU, with
// OpenBLAS's pthreads build, the trainer holds OpenBLAS at one thread while it lives (see
// README.md, Threads).
//
//   mahal::nn::siamese_trainer<float> trainer(net, X, y, opt);
//   for (int s = 0; s < 100; ++s) trainer.step();
template <class T>
class siamese_trainer {
 public:
  siamese_trainer(sequential<T>& net, matrix_ref<T> X, label_ref y, const siamese_options& options);
  ~siamese_trainer();
  siamese_trainer(const siamese_trainer&) = delete;
  siamese_trainer& operator=(const siamese_trainer&) = delete;

  step_result step();          // draws a batch and takes one optimiser step
  index_t steps_done() const;  // steps taken so far

 private:
  struct state;
  std::unique_ptr<state> s_;
};

// Trains net in place. X: net.input_dim()×n on the host, uploaded once to net's backend.
// Throws invalid_argument on shape/label errors and when the objective cannot be formed
// (no class with two members, a single class).
template <class T>
siamese_result fit_siamese(sequential<T>& net, matrix_ref<T> X, label_ref y,
                           const siamese_options& options);

}  // namespace mahal::nn

// mahal/nn/losses.hpp — the losses a Siamese / triplet network is trained with.
//
// Each loss reads the batch embedding Z (k×n on the backend's device, one column per batch
// sample), returns its value and, when dZ is given, ADDS ∂loss/∂Z into dZ (k×n), so that joint
// losses sum their gradients into one array (zero dZ first). Pair and triplet losses are
// functions of squared pair distances D² = ||z_i − z_j||²: their gradient is 2·Z·Lap_w with
// w_k = ∂loss/∂D²_k (backend::pair_laplacian), one pass over the pairs.
//
//   contrastive (Hadsell, Chopra & LeCun 2006), Y = 0 for a similar pair, 1 for a dissimilar one:
//       (1 − Y)·½·D² + Y·½·max(0, m − D)²
//   unsquared contrastive (Simo-Serra et al. 2015):  l_P = D,  l_N = max(0, m − D)
//   triplet (Schroff, Kalenichenko & Philbin 2015): [||f(a) − f(p)||² − ||f(a) − f(n)||² + α]₊
//   identification (Sun et al. 2014, DeepID2): softmax cross-entropy of a linear classifier on
//       the embedding; DeepID2 trains identification + λ·contrastive
//   center loss (Wen et al. 2016): ½·||z_i − c_{y_i}||² with learned class centres c
//
// A batch where no pair or triplet is active gives loss 0 and adds a zero gradient (never NaN).
// Where D = 0 the unsquared terms and the dissimilar term use the subgradient 0.
//
//   mahal::nn::contrastive_options opt;  opt.margin = 1.0;
//   be->fill(dZ, 0.f);
//   auto r = mahal::nn::contrastive_loss(*be, Z, pairs, similar, opt, &dZ);
#pragma once

#include <cstdint>
#include <vector>

#include "mahal/backend.hpp"
#include "mahal/nn/layers.hpp"
#include "mahal/types.hpp"

namespace mahal::nn {

enum class reduction {
  mean,  // the loss is the mean over pairs / triplets / samples (PyTorch's default)
  sum,   // the plain sum, as the papers write it
};

enum class contrastive_form {
  squared,    // Hadsell et al. 2006: ½D² and ½max(0, m − D)²
  unsquared,  // Simo-Serra et al. 2015: D and max(0, m − D)
};

struct contrastive_options {
  double margin = 1.0;  // m > 0
  contrastive_form form = contrastive_form::squared;
  reduction reduce = reduction::mean;
};

struct triplet_options {
  double alpha = 0.2;  // margin α >= 0
  reduction reduce = reduction::mean;
};

struct loss_result {
  double loss = 0;     // the reduced loss
  index_t active = 0;  // terms with a non-zero gradient (pairs, triplets or samples)
  index_t count = 0;   // terms in the batch
};

// Pairs (i, j) index columns of Z; similar[k] = 1 when pair k is of one class (Y = 0), else 0.
// Throws invalid_argument on size mismatches, indices outside Z or margin <= 0.
// Buffers the pair and triplet losses reuse between calls: a training loop passes one so that
// a step allocates nothing once they have grown to the batch size. Without one (nullptr) each
// call allocates its own.
template <class T>
struct loss_workspace {
  device_array<label_t> pairs;  // 2×capacity pair indices on the device
  device_array<T> d2, w;        // capacity×1: squared distances, ∂loss/∂D²
  std::vector<T> host_d2, host_w;
  pair_list host_pairs;  // triplet_loss: the (a, p) and (a, n) pairs
};

template <class T>
loss_result contrastive_loss(backend<T>& be, const device_array<T>& Z, const pair_list& pairs,
                             const std::vector<std::uint8_t>& similar,
                             const contrastive_options& options, device_array<T>* dZ,
                             loss_workspace<T>* workspace = nullptr);

// Triplets (anchor, positive, negative) index columns of Z.
template <class T>
loss_result triplet_loss(backend<T>& be, const device_array<T>& Z, const triplet_list& triplets,
                         const triplet_options& options, device_array<T>* dZ,
                         loss_workspace<T>* workspace = nullptr);

// Identification: logits = W·z + b (W classes×k), loss −log softmax(logits)_{y}. The classifier
// (θ_id of DeepID2) is this object's parameters; train them with the network's.
template <class T>
class softmax_head {
 public:
  softmax_head(backend<T>& be, index_t dim, index_t classes);
  void reset(backend<T>& be, std::uint64_t seed) { fc_.reset(be, seed); }
  // labels: one class id per column of Z, in [0, classes).
  loss_result loss(backend<T>& be, const device_array<T>& Z, const std::vector<label_t>& labels,
                   reduction reduce, device_array<T>* dZ);
  std::vector<parameter<T>*> parameters() { return fc_.parameters(); }
  linear<T>& classifier() { return fc_; }

 private:
  linear<T> fc_;
  device_array<T> logits_, dlogits_, dz_;
};

// Center loss: ½·||z_i − c_{y_i}||² with centres c (k×classes, initialised at 0) learned as a
// parameter by the same optimiser (the plain gradient; Wen et al.'s separate centre rate is
// the optimiser's learning rate here). Trained jointly with a softmax_head (L_S + λ·L_C).
template <class T>
class center_loss {
 public:
  center_loss(backend<T>& be, index_t dim, index_t classes);
  loss_result loss(backend<T>& be, const device_array<T>& Z, const std::vector<label_t>& labels,
                   reduction reduce, device_array<T>* dZ);
  std::vector<parameter<T>*> parameters() { return {&centers_}; }
  parameter<T>& centers() { return centers_; }  // k×classes

 private:
  index_t classes_;
  parameter<T> centers_;
  device_array<T> onehot_, diff_;
};

}  // namespace mahal::nn

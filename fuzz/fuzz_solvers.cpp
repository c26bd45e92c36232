// Fuzz target: the solvers on tiny degenerate problems — repeated points, constant features,
// ties, classes of one point — decoded from the input. The contract checked: the only exception
// is invalid_argument (bad input the solver documents), never a crash, a NaN or an infinity in a
// result, and each result keeps its promises (LMNN's objective is exact at the returned L and,
// but for sgd, no worse than at the start; MMC's A is PSD within its bound, a >= 0; constrained
// K-means keeps every must-link pair together).
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_problem.hpp"
#include "mahal/constraints.hpp"
#include "mahal/error.hpp"
#include "mahal/kmeans.hpp"
#include "mahal/lmnn.hpp"
#include "mahal/mmc.hpp"

namespace {

using mahal::index_t;
using mahal::matrix;
using mahal::fuzz::decode;
using mahal::fuzz::finite;
using mahal::fuzz::problem;
using mahal::fuzz::require;

void check_lmnn(mahal::backend<double>& be, const problem<>& p, std::uint8_t mode) {
  mahal::lmnn_options o;
  o.k = 1 + (mode >> 5 & 1);
  o.solver = std::array{mahal::lmnn_solver::lbfgs, mahal::lmnn_solver::sgd,
                        mahal::lmnn_solver::m_space}[(mode >> 3) % 3];
  o.squared_hinge = (mode & 0x40) != 0;
  o.impostors_per_point = (mode & 0x80) != 0 ? 2 : 0;
  o.max_iterations = 6;
  o.batch_size = 4;
  o.full_search_every = 2;
  const auto r = mahal::fit_lmnn<double>(be, p.X, p.y, o);
  require(r.L.allFinite() && finite(r.objective) && r.objective >= 0, "lmnn: finite result");
  const auto at_end = mahal::evaluate_lmnn<double>(be, p.X, p.y, r.L, o);
  require(std::abs(at_end.objective - r.objective) <= 1e-9 * std::max(1.0, r.objective),
          "lmnn: the reported objective is exact at the returned L");
  require(at_end.active_triplets == r.active_triplets, "lmnn: exact active triplets");
  if (o.solver != mahal::lmnn_solver::sgd) {  // sgd's epochs are noisy by design
    const matrix<double> I = matrix<double>::Identity(p.X.rows(), p.X.rows());
    const double start = mahal::evaluate_lmnn<double>(be, p.X, p.y, I, o).objective;
    require(r.objective <= start * (1 + 1e-12), "lmnn lbfgs, m-space: no worse than the start");
  }
}

void check_mmc(mahal::backend<double>& be, const problem<>& p, std::uint8_t mode) {
  const auto [S, D] = mahal::all_pairs_by_label(p.y);
  mahal::mmc_options o;
  o.max_iter = 15;
  o.mode = (mode & 0x40) != 0 ? mahal::mmc_mode::reference : mahal::mmc_mode::fast;
  const mahal::pair_list* dissimilar = (mode & 0x80) != 0 ? nullptr : &D;  // implicit D
  const index_t d = p.X.rows();
  switch ((mode >> 3) % 3) {
    case 0: {
      const auto r = mahal::fit_mmc_full<double>(be, p.X, S, dissimilar, o);
      require(r.A.allFinite() && r.L.allFinite() && finite(r.objective), "mmc full: finite");
      const Eigen::SelfAdjointEigenSolver<matrix<double>> eig(r.A);
      const double top = std::max(1.0, eig.eigenvalues().cwiseAbs().maxCoeff());
      require(eig.eigenvalues().minCoeff() >= -1e-9 * top, "mmc full: A is PSD");
      if (o.mode == mahal::mmc_mode::fast)
        require(r.similarity <= r.bound * (1 + 1e-6) + 1e-12, "mmc full: f(A) <= t");
      break;
    }
    case 1: {
      const auto r = mahal::fit_mmc_diagonal<double>(be, p.X, S, dissimilar, o);
      require(r.a.allFinite() && finite(r.objective), "mmc diagonal: finite");
      require(r.a.size() == d && r.a.minCoeff() >= 0, "mmc diagonal: a >= 0");
      break;
    }
    default: {
      o.mode = mahal::mmc_mode::fast;  // the reference code has no L-space mode
      const auto r = mahal::fit_mmc_linear<double>(be, p.X, S, dissimilar, o);
      require(r.L.allFinite() && finite(r.objective), "mmc linear: finite");
    }
  }
}

void check_constrained_kmeans(mahal::backend<double>& be, const problem<>& p, std::uint8_t mode) {
  const mahal::pair_list S = mahal::same_class_pairs(p.y);
  mahal::kmeans_options o;
  o.clusters = 1 + (mode >> 3) % 4;
  o.restarts = 2;
  const auto r = mahal::constrained_kmeans<double>(be, p.X, S, o);
  require(finite(r.inertia) && r.centroids.allFinite(), "kmeans: finite");
  for (const auto& pair : S)
    require(r.assignment[pair.i] == r.assignment[pair.j], "kmeans: must-links kept together");
  for (index_t c = 0; c < o.clusters; ++c)
    require(std::count(r.assignment.begin(), r.assignment.end(), c) > 0,
            "kmeans: every cluster is non-empty");
  // Hamerly's bounds change nothing, ties and repeated points included: the same run as a full
  // search at every step, constrained and plain.
  for (const bool constrained : {true, false}) {
    if (!constrained && o.clusters > p.X.cols()) continue;
    o.bounds = true;
    const auto fast = constrained ? r : mahal::kmeans<double>(be, p.X, o);
    o.bounds = false;
    const auto full = constrained ? mahal::constrained_kmeans<double>(be, p.X, S, o)
                                  : mahal::kmeans<double>(be, p.X, o);
    require(fast.assignment == full.assignment && fast.inertia == full.inertia &&
                fast.iterations == full.iterations && fast.best_restart == full.best_restart,
            "kmeans: the bounds change the result");
  }
}

}  // namespace

// The first byte picks the solver (bits 0–2) and its options (bits 3–7).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const auto be = mahal::make_backend<double>(mahal::device::cpu);
  const problem<> p = decode(data, size);
  try {
    switch (data[0] % 3) {
      case 0:
        check_lmnn(*be, p, data[0]);
        break;
      case 1:
        check_mmc(*be, p, data[0]);
        break;
      default:
        check_constrained_kmeans(*be, p, data[0]);
    }
  } catch (const mahal::invalid_argument&) {
  }
  return 0;
}

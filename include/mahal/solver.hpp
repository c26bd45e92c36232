// mahal/solver.hpp — what every solver's result has in common.
//
// Solvers follow one shape: `*_options` (defaults that work, one comment per field) →
// `fit_*(backend, data, constraints, options)` → `*_result` (the learned metric, a status,
// iterations, a per-iteration trace and the time). Not converging is a status, never an
// exception; bad input is an invalid_argument.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "mahal/types.hpp"

namespace mahal {

enum class solver_status {
  converged,      // the stopping test held
  iteration_cap,  // max_iter reached first; the best (or last accepted) iterate is returned
  stalled,        // no further progress possible (step size underflow, no accepted step, ...)
};
std::string to_string(solver_status status);

// One line of a solver's trace.
struct iteration_record {
  index_t iteration = 0;
  double objective = 0;  // the solver's objective at the accepted iterate
  double step = 0;       // step size (or line-search step) used
  double seconds = 0;    // wall time since fit started
  index_t active = 0;    // solver-specific count (active constraints / impostor pairs), or 0
};

// Called after each iteration; the default writes nothing. Long runs use it for progress on
// stderr (the command-line program prints one line every few seconds).
using progress_callback = std::function<void(const iteration_record&)>;

}  // namespace mahal

#include "mahal/solver.hpp"

namespace mahal {

std::string to_string(solver_status status) {
  switch (status) {
    case solver_status::converged:
      return "converged";
    case solver_status::iteration_cap:
      return "iteration_cap";
    case solver_status::stalled:
      return "stalled";
  }
  return "stalled";
}

}  // namespace mahal

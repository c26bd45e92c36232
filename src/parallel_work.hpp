// The size below which the CPU code keeps a loop on one thread.
#pragma once

#include "mahal/types.hpp"

namespace mahal::detail {

// Loops over fewer items than this run on one thread: a parallel region costs more than it
// saves on small problems (and much more when the cores are shared).
constexpr index_t kParallelWork = index_t{1} << 16;

}  // namespace mahal::detail

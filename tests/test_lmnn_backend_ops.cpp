// The CPU backend's LMNN operations (impostor_pairs, impostor_sweep, lmnn_hinge) against plain
// loops, in both precisions and with 1 and 2 threads.
#include <doctest/doctest.h>
#include <omp.h>

#include "lmnn_ops_cases.hpp"

using namespace mahal;

TEST_CASE_TEMPLATE("the LMNN operations on the CPU match their definitions", T, float, double) {
  const int saved = omp_get_max_threads();
  for (const int threads : {1, 2}) {
    CAPTURE(threads);
    omp_set_num_threads(threads);
    auto be = make_backend<T>(device::cpu);
    test::check_impostor_pairs(*be);
    test::check_impostor_sweep(*be);
    test::check_lmnn_hinge(*be);
    if constexpr (std::is_same_v<T, double>) test::check_impostor_sweep_edges(*be);
  }
  omp_set_num_threads(saved);
}

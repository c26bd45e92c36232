// The CPU backend's MMC operation (mmc_diagonal_terms) against plain loops, in both precisions
// and with 1 and 2 threads.
#include <doctest/doctest.h>
#include <omp.h>

#include "mmc_ops_cases.hpp"

using namespace mahal;

TEST_CASE_TEMPLATE("mmc_diagonal_terms on the CPU matches its definition", T, float, double) {
  const int saved = omp_get_max_threads();
  for (const int threads : {1, 2}) {
    CAPTURE(threads);
    omp_set_num_threads(threads);
    auto be = make_backend<T>(device::cpu);
    for (const index_t d : {5, 40}) test::check_mmc_diagonal_terms(*be, d);
  }
  omp_set_num_threads(saved);
}

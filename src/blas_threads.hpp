// OpenBLAS's own thread count, held at one for a scope.
#pragma once

extern "C" {
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
}

namespace mahal::detail {

// Makes OpenBLAS run single-threaded while it lives; restores the previous count. For two
// cases: GEMMs called from inside an OpenMP parallel region (OpenBLAS's pthreads pool would
// otherwise be woken by every thread's call and fight the OpenMP threads for the cores), and
// small LAPACK calls in tight loops, whose level-2 kernels wake the pool for microseconds of
// work (on a loaded 2-core machine the reference MMC on wine took 58.8 s instead of 0.7 s).
class blas_single_thread {
 public:
  blas_single_thread() : saved_(openblas_get_num_threads()) {
    if (saved_ != 1) openblas_set_num_threads(1);
  }
  ~blas_single_thread() {
    if (saved_ != 1) openblas_set_num_threads(saved_);
  }
  blas_single_thread(const blas_single_thread&) = delete;
  blas_single_thread& operator=(const blas_single_thread&) = delete;

 private:
  int saved_;
};

}  // namespace mahal::detail

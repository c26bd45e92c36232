// OpenBLAS's own thread count, held at one for a scope when it keeps a pool of its own.
#pragma once

extern "C" {
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
int openblas_get_parallel(void);  // 0 sequential, 1 pthreads, 2 OpenMP
}

namespace mahal::detail {

// True when the loaded OpenBLAS runs its GEMMs on a thread pool of its own (its pthreads build)
// rather than on the library's OpenMP team.
inline bool blas_has_own_pool() { return openblas_get_parallel() == 1; }

// Makes OpenBLAS run single-threaded while it lives (when `engage` and OpenBLAS is its pthreads
// build); restores the previous count. The pthreads pool and the library's OpenMP team fight for
// the cores: GEMMs called from inside an OpenMP region wake the pool from every thread, and the
// OpenMP threads still spinning after a region take the cores the pool's threads want. With that
// build the CPU solvers hold one for the whole fit, because every measurement said so (one BLAS
// thread against the default on 2 cores: LMNN digits 0.20 s vs 0.26-0.55 s, triplet training
// 1.4 s vs 6.8 s, MMC full A at n = 1e4 3.4 s vs 12.4 s; the reference MMC on wine under load
// 0.7 s vs 58.8 s). The OpenMP build, which cmake/mahal_blas.cmake links where it is installed,
// has no second pool and needs no guard; there openblas_set_num_threads would set the OpenMP
// team's size too.
class blas_single_thread {
 public:
  explicit blas_single_thread(bool engage = true)
      : saved_(engage && blas_has_own_pool() ? openblas_get_num_threads() : 1) {
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

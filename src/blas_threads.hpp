// OpenBLAS's own thread count, held at one for a scope when it keeps a pool of its own, or in
// either build around small LAPACK calls.
#pragma once

#include <omp.h>

extern "C" {
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
int openblas_get_parallel(void);  // 0 sequential, 1 pthreads, 2 OpenMP
}

namespace mahal::detail {

// True when the loaded OpenBLAS runs its GEMMs on a thread pool of its own (its pthreads build)
// rather than on the library's OpenMP team.
inline bool blas_has_own_pool() { return openblas_get_parallel() == 1; }

// Makes OpenBLAS single-threaded while it lives, whichever build is loaded, for calls too small
// to share: a d×d eigendecomposition forks a team for each of the d matrix-vector products of its
// tridiagonal reduction (dsytd2's dsymv); the reference MMC's 50000 projection passes on breast
// cancer (d = 30) took 6.9-16 s so, against 6.4 s on one thread. The OpenMP build
// follows the calling thread's omp_get_max_threads(), so there the scope holds that at one (the
// library's own regions inside it run on one thread too); the pthreads build is set directly.
class blas_serial_scope {
 public:
  explicit blas_serial_scope(bool engage = true)
      : omp_saved_(engage ? omp_get_max_threads() : 1), blas_saved_(1) {
    if (!engage) return;
    if (blas_has_own_pool()) {
      blas_saved_ = openblas_get_num_threads();
      if (blas_saved_ != 1) openblas_set_num_threads(1);
    } else if (omp_saved_ != 1) {
      omp_set_num_threads(1);
    }
  }
  ~blas_serial_scope() {
    if (blas_has_own_pool()) {
      if (blas_saved_ != 1) openblas_set_num_threads(blas_saved_);
    } else if (omp_saved_ != 1) {
      omp_set_num_threads(omp_saved_);
    }
  }
  blas_serial_scope(const blas_serial_scope&) = delete;
  blas_serial_scope& operator=(const blas_serial_scope&) = delete;

 private:
  int omp_saved_, blas_saved_;
};

// Makes OpenBLAS run single-threaded while it lives (when `engage` and OpenBLAS is its pthreads
// build); restores the previous count. The pthreads pool and the library's OpenMP team fight for
// the cores: GEMMs called from inside an OpenMP region wake the pool from every thread, and the
// OpenMP threads still spinning after a region take the cores the pool's threads want. With that
// build the CPU solvers hold one for the whole fit, because every measurement said so (one BLAS
// thread against the default on 2 cores: LMNN digits 0.20 s vs 0.26-0.55 s, triplet training
// 1.4 s vs 6.8 s, MMC full A at n = 1e4 3.4 s vs 12.4 s; the reference MMC on wine under load
// 0.7 s vs 58.8 s). The OpenMP build, which cmake/mahal_blas.cmake links where it is installed,
// has no second pool and needs no guard for the fit; there openblas_set_num_threads would set
// the OpenMP team's size too. Small LAPACK calls want one thread in either build:
// blas_serial_scope above.
class blas_single_thread : public blas_serial_scope {
 public:
  explicit blas_single_thread(bool engage = true)
      : blas_serial_scope(engage && blas_has_own_pool()) {}
};

// Up to this order a symmetric eigendecomposition is faster on one thread than on two (LAPACK
// dsyevd on 2 cores: 85 µs against 246 at d = 30, 9.3 ms against 11.3 at 256, but 55 ms against
// 41 at 512).
constexpr long kSerialEigenMaxOrder = 256;

}  // namespace mahal::detail

// The CPU backend: host memory, OpenBLAS for BLAS-3 and LAPACK, OpenMP for the sparse and
// element-wise parts.
#pragma once

#include <memory>

#include "mahal/backend.hpp"

namespace mahal::cpu {

template <class T>
std::unique_ptr<backend<T>> make_backend();

// The BLAS library mahal is linked against, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...".
std::string blas_info();
std::string blas_threading();

}  // namespace mahal::cpu

// cuda/cuda_check.hpp — CUDA runtime errors become mahal::device_error (never abort()).
//
// Included by both the g++ sources and the nvcc sources of cuda/. Every runtime call of the
// backend goes through check_cuda, which names the call and the driver's error string:
//   check_cuda(cudaMalloc(&p, bytes), "cudaMalloc");
//   -> "mahal::cuda: cudaMalloc failed: out of memory (cudaErrorMemoryAllocation)"
#pragma once

#include <cuda_runtime_api.h>

#include "mahal/error.hpp"

namespace mahal::cuda {

// Throws device_error naming `call` unless `status` is cudaSuccess.
inline void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) {
    cudaGetLastError();  // reset a non-sticky error so that later launch checks do not see it
    throw device_error(detail::concat("mahal::cuda: ", call,
                                      " failed: ", cudaGetErrorString(status), " (",
                                      cudaGetErrorName(status), ")"));
  }
}

// After a kernel launch: configuration errors are reported at once, execution errors by the
// next synchronising call.
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

// Makes `device` current for the lifetime of the scope and restores the caller's device after,
// so that a backend on device 1 works from a thread whose current device is 0.
class device_scope {
 public:
  explicit device_scope(int device) {
    check_cuda(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != device) check_cuda(cudaSetDevice(device), "cudaSetDevice");
  }
  ~device_scope() {
    int current = previous_;
    // Errors here cannot be reported (destructor); the next checked call sees them.
    if (cudaGetDevice(&current) == cudaSuccess && current != previous_) cudaSetDevice(previous_);
  }
  device_scope(const device_scope&) = delete;
  device_scope& operator=(const device_scope&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace mahal::cuda

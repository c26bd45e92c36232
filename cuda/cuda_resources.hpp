// cuda/cuda_resources.hpp — the device state of one CUDA backend (host code, compiled by g++).
//
// One `resources` object owns, for one device: a non-blocking stream, a cuBLAS handle and a
// cuSOLVER handle bound to that stream, a growable scratch buffer, and a few bytes of device
// memory for status words (syevd's info, the pair-index check). All work of the backend is
// queued on the one stream, so consecutive operations are ordered without explicit events and
// the scratch buffer can be reused by the next operation as soon as the previous one was queued.
//
// Every CUDA, cuBLAS and cuSOLVER call is checked; a failure throws mahal::device_error whose
// message names the call and the library's error string.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusolverDn.h>

#include <cstddef>
#include <string>

#include "cuda_check.hpp"

namespace mahal::cuda {

// Throw device_error naming `call` unless the status is success.
void check_cublas(cublasStatus_t status, const char* call);
void check_cusolver(cusolverStatus_t status, const char* call);
const char* cusolver_status_string(cusolverStatus_t status);

class resources {
 public:
  // Creates the stream and handles on `device_id`; throws device_error if the device is absent.
  explicit resources(int device_id);
  ~resources();  // synchronises the stream, then releases everything; never throws
  resources(const resources&) = delete;
  resources& operator=(const resources&) = delete;

  int device_id() const { return device_id_; }
  const std::string& device_name() const { return device_name_; }
  int multiprocessor_count() const { return multiprocessors_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  cusolverDnHandle_t cusolver() const { return cusolver_; }

  // Scratch memory of at least `bytes` bytes (256-byte aligned), valid until the next call.
  // Work already queued on the stream that still reads the old buffer is waited for before the
  // buffer grows. Only one operation uses the scratch at a time (it partitions it itself).
  void* scratch(std::size_t bytes);
  // What scratch() can hand out without growing (and losing its contents).
  std::size_t scratch_capacity() const { return scratch_ == nullptr ? 0 : scratch_bytes_; }

  // status_bytes bytes of device memory (8-byte aligned) for status words: syevd's devInfo,
  // the first bad pair index. The caller initialises what it uses on the stream.
  static constexpr std::size_t status_bytes = 32;
  void* status() const { return status_; }

  // Copies `bytes` bytes from device to host and waits for the stream.
  void read_back(const void* device_src, void* host_dst, std::size_t bytes);

  void synchronize();

 private:
  int device_id_ = 0;
  std::string device_name_;
  int multiprocessors_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cusolverDnHandle_t cusolver_ = nullptr;
  void* scratch_ = nullptr;
  std::size_t scratch_bytes_ = 0;
  void* status_ = nullptr;

  void release() noexcept;
};

}  // namespace mahal::cuda

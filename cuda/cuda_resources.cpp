// cuda/cuda_resources.cpp — stream, cuBLAS/cuSOLVER handles and scratch memory of one device.
#include "cuda_resources.hpp"

#include <utility>

namespace mahal::cuda {

void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw device_error(detail::concat("mahal::cuda: ", call,
                                      " failed: ", cublasGetStatusString(status),
                                      " (cuBLAS status ", static_cast<int>(status), ")"));
  }
}

const char* cusolver_status_string(cusolverStatus_t status) {
  switch (status) {
    case CUSOLVER_STATUS_SUCCESS:
      return "success";
    case CUSOLVER_STATUS_NOT_INITIALIZED:
      return "library not initialized";
    case CUSOLVER_STATUS_ALLOC_FAILED:
      return "resource allocation failed";
    case CUSOLVER_STATUS_INVALID_VALUE:
      return "invalid value";
    case CUSOLVER_STATUS_ARCH_MISMATCH:
      return "architecture mismatch";
    case CUSOLVER_STATUS_MAPPING_ERROR:
      return "mapping error";
    case CUSOLVER_STATUS_EXECUTION_FAILED:
      return "execution failed";
    case CUSOLVER_STATUS_INTERNAL_ERROR:
      return "internal error";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED:
      return "matrix type not supported";
    case CUSOLVER_STATUS_NOT_SUPPORTED:
      return "not supported";
    case CUSOLVER_STATUS_ZERO_PIVOT:
      return "zero pivot";
    case CUSOLVER_STATUS_INVALID_LICENSE:
      return "invalid license";
    case CUSOLVER_STATUS_INVALID_WORKSPACE:
      return "invalid workspace";
    default:
      return "unknown cuSOLVER status";
  }
}

void check_cusolver(cusolverStatus_t status, const char* call) {
  if (status != CUSOLVER_STATUS_SUCCESS) {
    throw device_error(detail::concat("mahal::cuda: ", call,
                                      " failed: ", cusolver_status_string(status),
                                      " (cuSOLVER status ", static_cast<int>(status), ")"));
  }
}

resources::resources(int device_id) : device_id_(device_id) {
  int count = 0;
  check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  expects<device_error>(device_id >= 0 && device_id < count, "mahal::cuda::resources", "device ",
                        device_id, " requested but ", count, " CUDA device(s) are present");
  device_scope scope(device_id_);
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, device_id_), "cudaGetDeviceProperties");
  device_name_ = prop.name;
  multiprocessors_ = prop.multiProcessorCount;
  try {
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
               "cudaStreamCreateWithFlags");
    check_cublas(cublasCreate(&cublas_), "cublasCreate");
    check_cublas(cublasSetStream(cublas_, stream_), "cublasSetStream");
    // Scalars (alpha, beta, results of dot) live on the host.
    check_cublas(cublasSetPointerMode(cublas_, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
    // Full-precision arithmetic: no TF32 for float GEMMs, so results agree with the CPU.
    check_cublas(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    check_cusolver(cusolverDnCreate(&cusolver_), "cusolverDnCreate");
    check_cusolver(cusolverDnSetStream(cusolver_, stream_), "cusolverDnSetStream");
    check_cuda(cudaMalloc(&status_, status_bytes), "cudaMalloc (status words)");
  } catch (...) {
    release();
    throw;
  }
}

resources::~resources() { release(); }

void resources::release() noexcept {
  // Errors cannot be reported from here; each call is attempted regardless.
  int previous = -1;
  const bool switched = cudaGetDevice(&previous) == cudaSuccess && previous != device_id_ &&
                        cudaSetDevice(device_id_) == cudaSuccess;
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  if (cusolver_ != nullptr) cusolverDnDestroy(cusolver_);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  if (scratch_ != nullptr) cudaFree(scratch_);
  if (status_ != nullptr) cudaFree(status_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
  cusolver_ = nullptr;
  cublas_ = nullptr;
  scratch_ = nullptr;
  scratch_bytes_ = 0;
  status_ = nullptr;
  stream_ = nullptr;
  if (switched) cudaSetDevice(previous);
  cudaGetLastError();
}

void* resources::scratch(std::size_t bytes) {
  if (bytes <= scratch_bytes_ && scratch_ != nullptr) return scratch_;
  // Grow geometrically so that a sequence of slightly larger requests does not reallocate
  // each time; round to 256 bytes.
  std::size_t grown = bytes + bytes / 2;
  grown = (grown + 255) / 256 * 256;
  if (grown == 0) grown = 256;
  if (scratch_ != nullptr) {
    // Queued work may still read the old buffer.
    check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    check_cuda(cudaFree(scratch_), "cudaFree");
    scratch_ = nullptr;
    scratch_bytes_ = 0;
  }
  void* fresh = nullptr;
  cudaError_t status = cudaMalloc(&fresh, grown);
  if (status != cudaSuccess && grown > bytes) {
    cudaGetLastError();  // clear the allocation error, then try the exact size
    grown = bytes;
    status = cudaMalloc(&fresh, grown);
  }
  check_cuda(status, "cudaMalloc (scratch)");
  scratch_ = fresh;
  scratch_bytes_ = grown;
  return scratch_;
}

void resources::read_back(const void* device_src, void* host_dst, std::size_t bytes) {
  check_cuda(cudaMemcpyAsync(host_dst, device_src, bytes, cudaMemcpyDeviceToHost, stream_),
             "cudaMemcpyAsync (device to host)");
  check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

void resources::synchronize() {
  check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

}  // namespace mahal::cuda

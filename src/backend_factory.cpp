// Chooses a backend by device: the one place outside cuda/ that knows whether CUDA was built.
#include "cpu_backend.hpp"
#include "mahal/backend.hpp"
#include "mahal/config.hpp"
#include "mahal/error.hpp"
#if MAHAL_WITH_CUDA
#include "cuda_backend.hpp"
#endif

namespace mahal {

bool cuda_compiled() { return MAHAL_WITH_CUDA != 0; }

std::string blas_info() { return cpu::blas_info(); }
std::string blas_threading() { return cpu::blas_threading(); }

int cuda_device_count() {
#if MAHAL_WITH_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

std::string cuda_status() {
#if MAHAL_WITH_CUDA
  return cuda::device_status();
#else
  return "built without CUDA";
#endif
}

template <class T>
std::unique_ptr<backend<T>> make_backend(device where, int device_id) {
  if (where == device::cpu) return cpu::make_backend<T>();
#if MAHAL_WITH_CUDA
  const int count = cuda::device_count();
  if (count == 0)  // only then ask why: the status calls the runtime again
    throw device_error(detail::concat("mahal::make_backend: no usable CUDA device (",
                                      cuda::device_status(), ")"));
  expects<device_error>(device_id >= 0 && device_id < count, "mahal::make_backend",
                        "CUDA device ", device_id, " requested but ", count, " present");
  return cuda::make_backend<T>(device_id);
#else
  (void)device_id;
  throw device_error("mahal::make_backend: this build of mahal has no CUDA backend");
#endif
}

template std::unique_ptr<backend<float>> make_backend<float>(device, int);
template std::unique_ptr<backend<double>> make_backend<double>(device, int);

device parse_device(const std::string& name) {
  if (name == "cpu") return device::cpu;
  if (name == "cuda" || name == "gpu") return device::cuda;
  throw invalid_argument("mahal::parse_device: unknown backend '" + name +
                         "' (expected cpu or gpu)");
}

std::string to_string(device where) { return where == device::cpu ? "cpu" : "cuda"; }

}  // namespace mahal

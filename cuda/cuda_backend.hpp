// cuda/cuda_backend.hpp — entry points of the CUDA backend (plain C++: included by g++ code).
#pragma once

#include <memory>
#include <string>

#include "mahal/backend.hpp"

namespace mahal::cuda {

// Usable CUDA devices; 0 on any driver error (no GPU, driver too old, ...).
int device_count();
// "ok" when a device is usable, else why not: the CUDA runtime's message.
std::string device_status();

// A backend on CUDA device `device_id`; throws device_error when it cannot be used.
template <class T>
std::unique_ptr<backend<T>> make_backend(int device_id);

}  // namespace mahal::cuda

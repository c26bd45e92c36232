// mahal info: what this build of mahal can do on this machine.
#include <omp.h>

#include <thread>

#include "cli.hpp"
#include "mahal/config.hpp"

namespace mahal::cli {

void add_info_command(CLI::App& app) {
  auto options = std::make_shared<common_options>();
  CLI::App* sub = app.add_subcommand("info", "Version, BLAS, and CUDA devices of this build");
  add_common_options(*sub, *options, false);
  sub->callback([options] {
    const int gpus = cuda_device_count();
    json report;
    report["version"] = MAHAL_VERSION_STRING;
    report["cuda_compiled"] = cuda_compiled();
    report["gpu_devices"] = gpus;
    report["cuda_status"] = cuda_status();
    report["blas"] = blas_info();
    report["blas_threading"] = blas_threading();
    report["openmp_threads"] = omp_get_max_threads();
    report["hardware_threads"] = std::thread::hardware_concurrency();
    if (gpus > 0) report["gpu"] = make_backend<double>(device::cuda)->name();
    emit(report, *options);
  });
}

}  // namespace mahal::cli

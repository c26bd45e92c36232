// mahal — command-line front end of the library. See `mahal --help` and README.md.
#include <cstring>
#include <iostream>

#include "cli.hpp"
#include "mahal/config.hpp"
#include "mahal/error.hpp"

namespace {

bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--json") == 0) return true;
  return false;
}

const char* kind_of(const mahal::error& e) {
  if (dynamic_cast<const mahal::invalid_argument*>(&e)) return "invalid_argument";
  if (dynamic_cast<const mahal::io_error*>(&e)) return "io_error";
  if (dynamic_cast<const mahal::numerical_error*>(&e)) return "numerical_error";
  if (dynamic_cast<const mahal::device_error*>(&e)) return "device_error";
  return "error";
}

// One line on stderr, and with --json the same as a JSON object on stdout.
int fail(bool json, const std::string& kind, const std::string& message, int code) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n') c = ' ';
  std::cerr << "mahal: " << line << "\n";
  if (json) std::cout << mahal::cli::json{{"error", line}, {"kind", kind}}.dump() << std::endl;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mahal: learn Mahalanobis metrics (MMC, LMNN, Siamese) on CPU and GPU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(MAHAL_VERSION_STRING));
  mahal::cli::add_info_command(app);
  mahal::cli::add_knn_command(app);
  mahal::cli::add_transform_command(app);
  mahal::cli::add_fit_command(app);
  mahal::cli::add_reproduce_xing2002_command(app);
  mahal::cli::add_verify_command(app);
  mahal::cli::add_cluster_command(app);
  const bool json = wants_json(argc, argv);
  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(json, "usage", e.what(), 2);
  } catch (const mahal::error& e) {
    return fail(json, kind_of(e), e.what(), 1);
  } catch (const std::bad_alloc&) {
    return fail(json, "out_of_memory", "out of memory", 1);
  } catch (const std::exception& e) {
    return fail(json, "error", e.what(), 1);
  }
}

// Shared pieces of the `mahal` program: the JSON/text report every subcommand ends with, data
// loading, progress on stderr, and the list of subcommands.
//
// The contract scripts rely on: every subcommand takes --json and then prints exactly one JSON
// object on stdout (keys are added over time, never renamed); progress and warnings go to
// stderr; an error is one line on stderr (and {"error": ...} on stdout with --json) and a
// non-zero exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "mahal/backend.hpp"
#include "mahal/csv.hpp"
#include "mahal/solver.hpp"

namespace mahal::cli {

using json = nlohmann::ordered_json;

// Options that every subcommand has.
struct common_options {
  bool json = false;
  std::string backend = "cpu";  // cpu | gpu
  int verbose = 1;              // 0: quiet stderr
};
void add_common_options(CLI::App& sub, common_options& options, bool with_backend = true);

// Option checks whose messages say what is wanted ("must be > 0, got -1"); CLI11's
// PositiveNumber / NonNegativeNumber print the whole double range instead.
CLI::Validator positive();
CLI::Validator non_negative();

// Prints the report: the JSON object with --json, else one "key: value" line per entry.
void emit(const json& report, const common_options& options);

// A labelled data set from a CSV file (label column `label` unless given by name or index).
struct data_options {
  std::string label_column = "label";
};
labelled_data<double> load_labelled(const std::string& path, const data_options& options);

// Data that may come without labels: a CSV (labels read as load_labelled does) or a .npy file
// of an (n, d) array (X d×n, y empty).
labelled_data<double> load_data(const std::string& path, const data_options& options);

// Pairs of 0-based data rows from a CSV file, "i,j" on each line (a first line that is not two
// numbers is a header), each stored with i < j. Throws io_error naming `what`, the file and the
// line for a line that is not two whole numbers or a pair that is not two different rows of n.
pair_list read_pair_file(const std::string& path, index_t n, const std::string& what);

// Whether `s` ends with `suffix` (file kinds by extension: ".npy", ".json").
bool ends_with(const std::string& s, const std::string& suffix);

// A progress callback that writes one line to stderr at most every `interval` seconds.
progress_callback stderr_progress(const std::string& what, const common_options& options,
                                  double interval = 2.0);

// Wall-clock seconds since construction.
class stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The subcommands; each lives in its own file.
void add_info_command(CLI::App& app);
void add_knn_command(CLI::App& app);
void add_transform_command(CLI::App& app);
void add_fit_command(CLI::App& app);
void add_reproduce_xing2002_command(CLI::App& app);
void add_verify_command(CLI::App& app);
void add_cluster_command(CLI::App& app);

}  // namespace mahal::cli

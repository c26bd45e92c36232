#include "cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "mahal/error.hpp"
#include "mahal/npy.hpp"

namespace mahal::cli {

void add_common_options(CLI::App& sub, common_options& options, bool with_backend) {
  sub.add_flag("--json", options.json, "Print one JSON object on stdout");
  sub.add_flag(
      "-q,--quiet", [&options](std::int64_t) { options.verbose = 0; }, "No progress on stderr");
  if (with_backend)
    sub.add_option("--backend", options.backend, "Where to compute: cpu or gpu")
        ->check(CLI::IsMember({"cpu", "gpu", "cuda"}))
        ->capture_default_str();
}

namespace {

// A number at least `low` (strictly above it unless inclusive); the message names the bound.
CLI::Validator bounded_below(double low, bool inclusive) {
  const std::string bound = (inclusive ? ">= " : "> ") + CLI::detail::to_string(low);
  return CLI::Validator(
      [low, inclusive, bound](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "must be a number, got " + text;
        if (inclusive ? value >= low : value > low) return {};
        return "must be " + bound + ", got " + text;
      },
      inclusive ? "NON-NEGATIVE" : "POSITIVE");
}

}  // namespace

CLI::Validator positive() { return bounded_below(0, false); }
CLI::Validator non_negative() { return bounded_below(0, true); }

void emit(const json& report, const common_options& options) {
  if (options.json) {
    std::cout << report.dump() << std::endl;
    return;
  }
  for (const auto& [key, value] : report.items())
    std::cout << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump())
              << "\n";
  std::cout.flush();
}

labelled_data<double> load_labelled(const std::string& path, const data_options& options) {
  csv_options csv;
  csv.label_column = options.label_column;
  return read_csv<double>(path, csv);
}

labelled_data<double> load_data(const std::string& path, const data_options& options) {
  if (!ends_with(path, ".npy")) return load_labelled(path, options);
  labelled_data<double> data;
  data.X = read_npy_matrix<double>(path);
  return data;
}

namespace {

// One field of a pair file as a row index, or false when it is not a whole number.
bool parse_row(const std::string& field, long long& value) {
  const auto first = field.find_first_not_of(" \t\r");
  if (first == std::string::npos) return false;
  const auto last = field.find_last_not_of(" \t\r");
  const std::string text = field.substr(first, last - first + 1);
  char* end = nullptr;
  errno = 0;
  value = std::strtoll(text.c_str(), &end, 10);
  return *end == '\0' && errno == 0;
}

}  // namespace

pair_list read_pair_file(const std::string& path, index_t n, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw io_error(what + ": cannot open '" + path + "'");
  pair_list pairs;
  std::string line;
  for (index_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::stringstream fields(line);
    std::string a, b, extra;
    long long i = 0, j = 0;
    const bool two = std::getline(fields, a, ',') && std::getline(fields, b, ',') &&
                     !std::getline(fields, extra, ',');
    if (!(two && parse_row(a, i) && parse_row(b, j))) {
      if (number == 1) continue;  // a header
      throw io_error(detail::concat(what, ": ", path, ":", number,
                                    ": expected two row indices 'i,j', found '", line, "'"));
    }
    expects<io_error>(i >= 0 && j >= 0 && i < n && j < n && i != j, what.c_str(), path, ":", number,
                      ": pair ", i, ",", j, " is not two different rows of the ", n,
                      " in the data");
    pairs.push_back({static_cast<label_t>(std::min(i, j)), static_cast<label_t>(std::max(i, j))});
  }
  return pairs;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

progress_callback stderr_progress(const std::string& what, const common_options& options,
                                  double interval) {
  if (options.verbose == 0) return {};
  auto last = std::make_shared<double>(-interval);
  return [what, interval, last](const iteration_record& r) {
    if (r.seconds - *last < interval) return;
    *last = r.seconds;
    std::fprintf(stderr, "%s: iteration %lld  objective %.6g  step %.3g  %.1fs\n", what.c_str(),
                 static_cast<long long>(r.iteration), r.objective, r.step, r.seconds);
  };
}

}  // namespace mahal::cli

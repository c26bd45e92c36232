#include "cli.hpp"

#include <cstdio>
#include <iostream>

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

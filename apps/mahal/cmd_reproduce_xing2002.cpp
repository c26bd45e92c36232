// mahal reproduce-xing2002: the clustering experiment of Xing et al. (NIPS 2002, Figure 6) on its
// nine data sets, ours beside the paper's bars (reference/xing2002_figure6.json), cell by cell.
// Writes results.json, results.md and (with matplotlib) figure6.png into --out.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli.hpp"
#include "mahal/error.hpp"
#include "mahal/xing2002.hpp"

#ifndef MAHAL_DEFAULT_DATA_DIR
#define MAHAL_DEFAULT_DATA_DIR "../shared/datasets"
#endif
#ifndef MAHAL_PYTHON_REF_DIR
#define MAHAL_PYTHON_REF_DIR "python_ref"
#endif

namespace mahal::cli {
namespace {

namespace fs = std::filesystem;

struct reproduce_options {
  common_options common;
  std::string data_dir = MAHAL_DEFAULT_DATA_DIR;
  std::string reference;  // the paper's bars; default <data-dir>/../reference/xing2002_figure6.json
  std::string out;
  std::string datasets;  // comma-separated keys; empty = all nine
  index_t trials = 0;
  index_t restarts = 10;
  std::uint64_t seed = 0;
  bool standardize = false;
  bool plot = true;
};

struct paper_bar {
  double mean = NAN, se = NAN;
};
struct paper_panel {
  index_t n = 0;
  std::map<std::string, double> kc;                              // regime → Kc
  std::map<std::string, std::map<std::string, paper_bar>> bars;  // regime → method → bar
};

std::map<std::string, paper_panel> read_paper(const std::string& path) {
  std::map<std::string, paper_panel> panels;
  std::ifstream in(path);
  if (!in) return panels;
  const json j = json::parse(in);
  for (const auto& p : j.at("panels")) {
    paper_panel panel;
    panel.n = p.at("N").get<index_t>();
    for (const auto& [regime, r] : p.at("regimes").items()) {
      panel.kc[regime] = r.at("Kc").get<double>();
      for (const auto& [method, b] : r.at("bars").items()) {
        paper_bar bar;
        bar.mean = b.at("mean").get<double>();
        if (!b.at("se").is_null()) bar.se = b.at("se").get<double>();
        panel.bars[regime][method] = bar;
      }
    }
    panels[p.at("dataset").get<std::string>()] = panel;
  }
  return panels;
}

std::string fixed(double v, int digits = 3) {
  if (!std::isfinite(v)) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string verdict_lines(const xing2002_verdict& v, const std::string& who) {
  std::ostringstream s;
  s << "- " << who << ": the best learned metric beats both Euclidean bars in "
    << v.learned_beats_euclidean << " of " << v.panels << " panels; constrained K-means with "
    << "the full A is the highest bar in " << v.ckmeans_full_best << " (within 0.01 of it in "
    << v.ckmeans_full_near_best << "); lowest best bar: ";
  for (std::size_t k = 0; k < std::min<std::size_t>(3, v.by_best.size()); ++k)
    s << (k ? ", " : "") << v.by_best[k];
  s << "; smallest gain of learning: ";
  for (std::size_t k = 0; k < std::min<std::size_t>(3, v.by_gain.size()); ++k)
    s << (k ? ", " : "") << v.by_gain[k];
  s << ".\n";
  return s.str();
}

void run_reproduce(const reproduce_options& o) {
  stopwatch clock;
  std::vector<xing2002_dataset> sets;
  for (const auto& s : xing2002_datasets())
    if (o.datasets.empty() || ("," + o.datasets + ",").find("," + s.key + ",") != std::string::npos)
      sets.push_back(s);
  expects(!sets.empty(), "mahal reproduce-xing2002", "no data set matches --datasets ", o.datasets);
  // All files are checked before the first (long) data set starts.
  std::string missing;
  for (const auto& set : sets)
    if (!fs::is_regular_file(fs::path(o.data_dir) / set.file))
      missing += (missing.empty() ? "" : ", ") + set.file;
  expects<io_error>(missing.empty(), "mahal reproduce-xing2002", "missing in --data-dir ",
                    o.data_dir, ": ", missing,
                    " (README.md, section Set-up, says where to get them)");
  const std::string reference_path =
      o.reference.empty() ? (fs::path(o.data_dir) / ".." / "reference" / "xing2002_figure6.json")
                                .lexically_normal()
                                .string()
                          : o.reference;
  const auto paper = read_paper(reference_path);
  if (paper.empty() && o.common.verbose)
    std::fprintf(stderr, "mahal reproduce-xing2002: no paper bars at %s (column left empty)\n",
                 reference_path.c_str());
  auto be = make_backend<double>(parse_device(o.common.backend));
  xing2002_options xo;
  xo.trials = o.trials;
  xo.restarts = o.restarts;
  xo.seed = o.seed;
  xo.standardize = o.standardize;

  std::vector<xing2002_row> rows, paper_rows;
  json jrows = json::array();
  for (const auto& set : sets) {
    const labelled_data<double> data =
        load_labelled((fs::path(o.data_dir) / set.file).string(), {});
    stopwatch set_clock;
    const auto set_rows = run_xing2002_dataset(*be, set, data.X, data.y, xo);
    const paper_panel* pp = paper.count(set.name) ? &paper.at(set.name) : nullptr;
    for (const auto& r : set_rows) {
      rows.push_back(r);
      paper_bar pb;
      double kc = NAN;
      if (pp) {
        pb = pp->bars.at(to_string(r.regime)).at(to_string(r.method));
        kc = pp->kc.at(to_string(r.regime));
        xing2002_row prow = r;
        prow.mean = pb.mean;
        paper_rows.push_back(prow);
      }
      jrows.push_back({{"dataset", r.dataset},
                       {"name", set.name},
                       {"regime", to_string(r.regime)},
                       {"method", to_string(r.method)},
                       {"clustering", clustering_name(r.method)},
                       {"metric", metric_name(r.method)},
                       {"mean", r.mean},
                       {"stderr", r.standard_error},
                       {"trials", r.trials},
                       {"n", data.X.cols()},
                       {"components", r.components},
                       {"similar_pairs", r.similar_pairs},
                       {"unconverged", r.unconverged},
                       {"paper_mean", std::isfinite(pb.mean) ? json(pb.mean) : json(nullptr)},
                       {"paper_stderr", std::isfinite(pb.se) ? json(pb.se) : json(nullptr)},
                       {"paper_kc", std::isfinite(kc) ? json(kc) : json(nullptr)},
                       {"paper_n", set.paper_n}});
    }
    if (o.common.verbose) {
      const auto& full_little = set_rows[5];
      const auto& full_much = set_rows[11];
      std::fprintf(stderr,
                   "mahal reproduce-xing2002: %-14s n=%-4lld %2lld trials  %6.1f s  ckmeans+full A "
                   "%.3f (little) %.3f (much)\n",
                   set.key.c_str(), static_cast<long long>(data.X.cols()),
                   static_cast<long long>(set_rows[0].trials), set_clock.seconds(),
                   full_little.mean, full_much.mean);
    }
  }
  const xing2002_verdict ours = xing2002_judge(rows);
  const xing2002_verdict theirs = xing2002_judge(paper_rows);

  // The table (markdown), ours beside the paper's.
  std::ostringstream md;
  md << "# Xing et al. (NIPS 2002), Figure 6: ours beside the paper's bars\n\n"
     << "Pairwise clustering accuracy (balanced for > 2 classes), mean ± standard error over the "
        "trials; paper values read from its figure (±0.001). Kc: mean number of connected "
        "components of the S-graph, ours / the paper's. Features "
     << (o.standardize ? "z-scored" : "as given (not standardised, as in the paper)") << "; seed "
     << o.seed << ", " << o.restarts << " K-means restarts.\n\n"
     << "| data set | S | Kc ours / paper | method | ours | paper | ours − paper |\n"
     << "|---|---|---|---|---|---|---|\n";
  for (std::size_t k = 0; k < jrows.size(); ++k) {
    const json& r = jrows[k];
    const double pm = r["paper_mean"].is_null() ? NAN : r["paper_mean"].get<double>();
    const double ps = r["paper_stderr"].is_null() ? NAN : r["paper_stderr"].get<double>();
    md << "| " << r["name"].get<std::string>() << " (n=" << r["n"].get<index_t>() << ") | "
       << r["regime"].get<std::string>() << " | " << fixed(r["components"].get<double>(), 1)
       << " / " << fixed(r["paper_kc"].is_null() ? NAN : r["paper_kc"].get<double>(), 0) << " | "
       << r["method"].get<std::string>() << " | " << fixed(r["mean"].get<double>()) << " ± "
       << fixed(r["stderr"].get<double>()) << " | " << fixed(pm)
       << (std::isfinite(ps) ? " ± " + fixed(ps) : std::string()) << " | "
       << fixed(r["mean"].get<double>() - pm) << " |\n";
  }
  md << "\n## The paper's claims\n\n" << verdict_lines(ours, "ours");
  if (theirs.panels > 0) md << verdict_lines(theirs, "paper");
  md << "\nComputed from the numbers above (a panel = one data set in one regime).\n";

  const double seconds = clock.seconds();
  json report;
  report["command"] = "reproduce-xing2002";
  report["backend"] = be->name();
  report["trials"] = o.trials;
  report["seed"] = o.seed;
  report["restarts"] = o.restarts;
  report["standardized"] = o.standardize;
  report["seconds"] = seconds;
  auto jv = [](const xing2002_verdict& v) {
    return json{{"panels", v.panels},
                {"learned_beats_euclidean", v.learned_beats_euclidean},
                {"ckmeans_full_best", v.ckmeans_full_best},
                {"ckmeans_full_near_best", v.ckmeans_full_near_best},
                {"by_best", v.by_best},
                {"by_gain", v.by_gain}};
  };
  report["verdict"] = jv(ours);
  if (theirs.panels > 0) report["paper_verdict"] = jv(theirs);
  report["rows"] = jrows;

  if (!o.out.empty()) {
    fs::create_directories(o.out);
    const fs::path out(o.out);
    std::ofstream((out / "results.json").string()) << report.dump(1) << "\n";
    std::ofstream((out / "results.md").string()) << md.str();
    report["out"] = o.out;
    if (o.plot) {
      const std::string script = std::string(MAHAL_PYTHON_REF_DIR) + "/plot_xing2002.py";
      const std::string cmd = "python3 \"" + script + "\" \"" + (out / "results.json").string() +
                              "\" \"" + (out / "figure6.png").string() + "\"";
      const int rc = fs::exists(script) ? std::system(cmd.c_str()) : -1;
      if (rc == 0)
        report["figure"] = (out / "figure6.png").string();
      else
        std::fprintf(stderr,
                     "mahal reproduce-xing2002: warning: figure6.png not drawn (%s; needs python3 "
                     "with matplotlib)\n",
                     script.c_str());
    }
  }
  if (o.common.json) {
    emit(report, o.common);
  } else {
    std::cout << md.str();
    std::cout << "seconds: " << fixed(seconds, 1) << "\n";
  }
}

}  // namespace

void add_reproduce_xing2002_command(CLI::App& app) {
  auto o = std::make_shared<reproduce_options>();
  CLI::App* sub = app.add_subcommand(
      "reproduce-xing2002",
      "Xing et al. (NIPS 2002) Figure 6: K-means / constrained K-means with Euclidean, learned "
      "diagonal and learned full metrics on nine UCI sets, beside the paper's bars");
  sub->add_option("--data-dir", o->data_dir, "Folder with the data set CSVs")
      ->capture_default_str();
  sub->add_option("--reference", o->reference,
                  "The paper's bars (default: <data-dir>/../reference/xing2002_figure6.json)");
  sub->add_option("--trials", o->trials,
                  "Trials per data set and regime (0 = the paper's: 20, wine 10)")
      ->capture_default_str()
      ->check(non_negative());
  sub->add_option("--restarts", o->restarts, "K-means restarts")
      ->capture_default_str()
      ->check(positive());
  sub->add_option("--seed", o->seed, "Base seed")->capture_default_str();
  sub->add_option("--datasets", o->datasets,
                  "Comma-separated subset (keys: boston_housing, "
                  "ionosphere, iris, wine, balance, breast_cancer, soybean, protein, diabetes)");
  sub->add_option("--out", o->out, "Write results.json, results.md, figure6.png here");
  sub->add_flag("--standardize", o->standardize, "z-score features first (the paper does not)");
  sub->add_flag("!--no-plot", o->plot, "Do not draw figure6.png");
  add_common_options(*sub, o->common);
  sub->callback([o] { run_reproduce(*o); });
}

}  // namespace mahal::cli

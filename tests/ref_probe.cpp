// ref_probe: computes mahal's primitives on inputs written by python_ref/check_engine.py and
// writes the results as .npy, so the numpy reference can check them. Not a user program.
//
//   ref_probe DIR   reads DIR/X.npy (n×d), DIR/Xq.npy, DIR/L.npy (k×d as n×d = L's rows...),
//                   DIR/pairs.npy (m×2 int), DIR/w.npy, DIR/y.npy, DIR/yq.npy, DIR/A.npy, and
//                   writes DIR/out_*.npy.
#include <cstdio>
#include <string>

#include "mahal/constraints.hpp"
#include "mahal/distances.hpp"
#include "mahal/error.hpp"
#include "mahal/neighbors.hpp"
#include "mahal/npy.hpp"

using namespace mahal;

namespace {

// numpy (r, c) C-order arrays arrive as c×r column-major matrices; these helpers give back the
// numpy orientation for non-data arrays.
matrix<double> read_plain(const std::string& path) {
  return read_npy_matrix<double>(path).transpose();
}
void write_plain(const std::string& path, const matrix<double>& M) {
  write_npy(path, matrix<double>(M.transpose()));
}

pair_list read_pairs(const std::string& path) {
  const matrix<double> P = read_npy_matrix<double>(path);  // 2×m
  pair_list pairs;
  for (index_t k = 0; k < P.cols(); ++k)
    pairs.push_back({static_cast<label_t>(P(0, k)), static_cast<label_t>(P(1, k))});
  return pairs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ref_probe DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    auto be = make_backend<double>(device::cpu);
    const matrix<double> X = read_npy_matrix<double>(dir + "/X.npy");    // d×n
    const matrix<double> Xq = read_npy_matrix<double>(dir + "/Xq.npy");  // d×nq
    const matrix<double> L = read_plain(dir + "/L.npy");                 // k×d
    const matrix<double> A = read_plain(dir + "/A.npy");                 // d×d (not PSD)
    const pair_list pairs = read_pairs(dir + "/pairs.npy");
    const vector<double> w = read_npy_matrix<double>(dir + "/w.npy").reshaped();
    const label_vector y = read_npy_labels(dir + "/y.npy");
    const label_vector yq = read_npy_labels(dir + "/yq.npy");
    const auto m = metric<double>::from_linear_map(L);

    write_plain(dir + "/out_scatter.npy", pair_scatter<double>(*be, X, pairs, w));
    write_plain(dir + "/out_scatter_linear.npy",
                pair_scatter_linear<double>(*be, L, X, pairs, w));
    write_plain(dir + "/out_pair_sqdist.npy", pair_sqdist<double>(*be, m, X, pairs));
    write_plain(dir + "/out_all_pairs.npy", pairwise_sqdist<double>(*be, m, Xq, X));
    knn_options opt;
    opt.k = 5;
    const auto any = knn_search<double>(*be, m, Xq, X, opt);
    write_plain(dir + "/out_knn_idx.npy", any.indices.cast<double>());
    write_plain(dir + "/out_knn_d.npy", any.sqdist);
    write_plain(dir + "/out_knn_pred.npy", knn_classify(any, y).cast<double>());
    opt.exclude_self = true;
    for (const auto& [name, filter] :
         {std::pair{"self_any", label_filter::any}, std::pair{"self_same", label_filter::same},
          std::pair{"self_diff", label_filter::different}}) {
      opt.filter = filter;
      const auto r = knn_search<double>(*be, m, X, y, X, y, opt);
      write_plain(dir + "/out_knn_" + name + "_idx.npy", r.indices.cast<double>());
      write_plain(dir + "/out_knn_" + name + "_d.npy", r.sqdist);
    }
    write_plain(dir + "/out_project_psd.npy", project_psd<double>(A));
    const matrix<double> P = project_psd<double>(A);
    psd_factor_options three;
    three.rank = 3;
    write_plain(dir + "/out_psd_to_L3.npy", psd_to_linear_map<double>(P, three));
    const auto comp = connected_components(X.cols(), pairs);
    write_plain(dir + "/out_components.npy", comp.id.cast<double>());
    (void)yq;
  } catch (const error& e) {
    std::fprintf(stderr, "ref_probe: %s\n", e.what());
    return 1;
  }
  return 0;
}

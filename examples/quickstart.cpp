// Learn nothing yet, just measure: k-NN accuracy of iris under the Euclidean metric and under a
// diagonal metric that down-weights the sepal features.
#include <iostream>

#include <mahal/mahal.hpp>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "iris.csv";
  const auto data = mahal::read_csv<double>(path);  // X: d×n, one sample per column
  auto cpu = mahal::make_backend<double>(mahal::device::cpu);

  const auto euclid = mahal::metric<double>::identity(data.X.rows());
  mahal::vector<double> a(4);
  a << 0.1, 0.1, 1.0, 1.0;  // d(x, y)² = Σ a_t (x_t − y_t)²
  const auto weighted = mahal::metric<double>::from_diagonal(a);

  mahal::knn_options leave_one_out;
  leave_one_out.k = 3;
  leave_one_out.exclude_self = true;
  for (const auto* m : {&euclid, &weighted}) {
    const auto nn = mahal::knn_search(*cpu, *m, data.X, data.X, leave_one_out);
    const auto predicted = mahal::knn_classify(nn, data.y);
    std::cout << mahal::to_string(m->form()) << " metric: leave-one-out 3-NN accuracy "
              << mahal::accuracy(predicted, data.y) << "\n";
  }
}

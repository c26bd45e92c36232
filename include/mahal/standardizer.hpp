// mahal/standardizer.hpp — z-scoring with training statistics.
//
// Metric learners compare distances across features, so benchmarks standardise every feature
// with the mean and standard deviation of the training set and apply the same map to the test
// set. A feature that is constant on the training set keeps scale 1 (it is only centred).
//
//   auto s = mahal::standardizer<double>::fit(X_train);   // X d×n
//   mahal::matrix<double> Xs = s.apply(X_test);
#pragma once

#include "mahal/matrix.hpp"

namespace mahal {

template <class T>
class standardizer {
 public:
  standardizer() = default;
  standardizer(vector<T> mean, vector<T> scale);  // scale > 0, same size

  // Mean and population standard deviation (ddof = 0, as scikit-learn's StandardScaler) of
  // each row of X (d×n, n >= 1, finite).
  static standardizer fit(matrix_ref<T> X);

  matrix<T> apply(matrix_ref<T> X) const;  // (x − mean) / scale, column by column
  const vector<T>& mean() const { return mean_; }
  const vector<T>& scale() const { return scale_; }
  index_t dim() const { return mean_.size(); }

 private:
  vector<T> mean_;
  vector<T> scale_;
};

}  // namespace mahal

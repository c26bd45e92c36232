#include "mahal/standardizer.hpp"

#include "mahal/error.hpp"
#include "mahal/metric.hpp"

namespace mahal {

template <class T>
standardizer<T>::standardizer(vector<T> mean, vector<T> scale)
    : mean_(std::move(mean)), scale_(std::move(scale)) {
  expects(mean_.size() == scale_.size(), "mahal::standardizer", "mean has ", mean_.size(),
          " entries but scale has ", scale_.size());
  for (index_t t = 0; t < scale_.size(); ++t)
    expects(scale_(t) > 0 && std::isfinite(scale_(t)) && std::isfinite(mean_(t)),
            "mahal::standardizer", "feature ", t, " has mean ", mean_(t), " and scale ",
            scale_(t), " (scale must be positive and both finite)");
}

template <class T>
standardizer<T> standardizer<T>::fit(matrix_ref<T> X) {
  const char* where = "mahal::standardizer::fit";
  expects(X.cols() > 0 && X.rows() > 0, where, "X is empty (", X.rows(), "x", X.cols(), ")");
  check_finite<T>(X, where);
  const matrix<double> Xd = X.template cast<double>();
  const vector<double> mean = Xd.rowwise().mean();
  vector<double> sd = ((Xd.colwise() - mean).array().square().rowwise().sum() /
                       static_cast<double>(X.cols()))
                          .sqrt()
                          .matrix();
  for (index_t t = 0; t < sd.size(); ++t)
    if (!(sd(t) > 1e-12 * std::max(1.0, std::abs(mean(t))))) sd(t) = 1;  // constant feature
  return standardizer(mean.template cast<T>(), sd.template cast<T>());
}

template <class T>
matrix<T> standardizer<T>::apply(matrix_ref<T> X) const {
  expects(X.rows() == dim(), "mahal::standardizer::apply", "X has ", X.rows(),
          " features but the standardizer was fitted on ", dim());
  return ((X.colwise() - mean_).array().colwise() / scale_.array()).matrix();
}

template class standardizer<float>;
template class standardizer<double>;

}  // namespace mahal

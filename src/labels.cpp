#include "mahal/labels.hpp"

#include <limits>

#include "mahal/error.hpp"

namespace mahal {

label_t num_classes(label_ref y) {
  label_t max_label = -1;
  for (index_t i = 0; i < y.size(); ++i) {
    expects(y[i] >= 0, "mahal::num_classes", "label ", y[i], " at index ", i,
            " is negative (labels must be 0..C-1)");
    if (y[i] > max_label) max_label = y[i];
  }
  // C = max + 1 must itself be a label_t.
  expects(max_label < std::numeric_limits<label_t>::max(), "mahal::num_classes", "label ",
          max_label, " is too large");
  return max_label + 1;
}

}  // namespace mahal

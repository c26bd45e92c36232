// mahal/labels.hpp — helpers for class-label vectors.
//
// Labels are int32 class ids 0..C-1, one per column of the data X (d×n).
//
//   mahal::label_vector y(4);  y << 0, 2, 1, 2;
//   mahal::label_t C = mahal::num_classes(y);   // 3
#pragma once

#include "mahal/matrix.hpp"

namespace mahal {

// Number of classes C = max(y) + 1 (0 for an empty y). Classes need not all be present: for
// y = {0, 2} this is 3.
// Throws invalid_argument when a label is negative (the message gives its index and value).
label_t num_classes(label_ref y);

}  // namespace mahal

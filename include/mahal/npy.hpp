// mahal/npy.hpp — numpy .npy arrays (format versions 1.0, 2.0 and 3.0).
//
// Supported element types: little-endian float32 '<f4', float64 '<f8', int32 '<i4' and
// int64 '<i8'; C or Fortran order; 1-D or 2-D arrays.
//
// Shapes follow mahal's convention (X is d×n, one sample per column):
//   * a 2-D numpy array of shape (n, d), one sample per row, is read as the d×n matrix X. In C
//     order its memory already is X's column-major memory, so it is read straight into X with
//     no transposition; in Fortran order it is transposed once after reading;
//   * a 1-D array of shape (m,) is read as an m×1 matrix (a column vector);
//   * write_npy writes a d×n matrix as a C-order (n, d) array, its memory as it is. A d×1
//     vector is therefore written with shape (1, d) and reads back as d×1.
// Elements are converted to the requested scalar type (f4 <-> f8, integers to floating point).
//
//   mahal::matrix<double> X = mahal::read_npy_matrix<double>("X.npy");   // np.save of (n, d)
//   mahal::label_vector y = mahal::read_npy_labels("y.npy");             // np.save of (n,)
//   mahal::write_npy("Z.npy", Z);        // np.load gives shape (Z.cols(), Z.rows())
//
// Errors: io_error, naming the file, for unreadable files, a bad magic string, an unsupported
// format version, a header that does not parse (or lacks 'descr', 'fortran_order' or 'shape'),
// an unsupported or big-endian dtype, more than 2 dimensions, truncated data or trailing bytes;
// for labels also a non-integer dtype, a label that is negative or does not fit in int32.
// Writing throws io_error when the file cannot be written (the write is atomic: temporary file +
// rename, so an existing file is never left half-written).
#pragma once

#include <string>

#include "mahal/matrix.hpp"

namespace mahal {

// Reads a 1-D or 2-D array of dtype <f4, <f8, <i4 or <i8 as a matrix of T (float or double):
// shape (n, d) gives d×n, shape (m,) gives m×1 (see above).
template <class T = double>
matrix<T> read_npy_matrix(const std::string& path);

// Reads a 1-D array of dtype <i4 or <i8 holding n labels, each in 0..INT32_MAX.
label_vector read_npy_labels(const std::string& path);

// Writes the d×n matrix X as a C-order array of shape (n, d) and dtype <f8 (or <f4).
void write_npy(const std::string& path, matrix_ref<double> X);
void write_npy(const std::string& path, matrix_ref<float> X);

// Writes n labels as a 1-D array of shape (n,) and dtype <i4.
void write_npy_labels(const std::string& path, label_ref y);

extern template matrix<float> read_npy_matrix<float>(const std::string&);
extern template matrix<double> read_npy_matrix<double>(const std::string&);

}  // namespace mahal

// mahal/csv.hpp — labelled data sets as CSV text.
//
// The format is that of the benchmark data sets (iris.csv, wine.csv, letters.csv, ...):
//   * a header row of column names, then one row per sample;
//   * fields separated by commas, no quoting (a name or value can hold no comma);
//   * every feature field is a decimal number ("5.1", "-0.02", "1e-3", a leading '+' is allowed);
//   * one column holds the integer class label (by default the column named "label").
// Spaces and tabs around a field are ignored, "\r\n" line endings are accepted, the last line
// may lack its newline, blank lines are skipped and a UTF-8 byte-order mark is ignored.
//
// In memory the data follow mahal's convention: X is d×n, one sample (one CSV row) per column,
// and y holds the n labels.
//
//   auto data = mahal::read_csv<double>("iris.csv");      // X: 4×150, y: 150 labels 0..2
//   auto C = mahal::num_classes(data.y);                   // 3
//   mahal::write_csv("copy.csv", data.X, data.y, data.feature_names);
//
// Errors. Everything that is wrong with a file, including non-finite numbers, is a
// mahal::io_error whose message names the file, the 1-based line and, for a field, the column:
//   "mahal::read_csv: iris.csv:17: expected 5 fields, found 4"
//   "mahal::read_csv: iris.csv:3, column 'petal_width': cannot parse 'abc' as a number"
// read_csv throws only io_error. write_csv throws invalid_argument for bad arguments (shape
// mismatch, NaN/Inf, negative labels, names that the reader could not read back) and io_error
// when the file cannot be written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mahal/labels.hpp"
#include "mahal/matrix.hpp"

namespace mahal {

// A data set: samples, their labels and the names of the features.
template <class T>
struct labelled_data {
  matrix<T> X;                             // d×n, one sample per column
  label_vector y;                          // n labels in 0..C-1
  std::vector<std::string> feature_names;  // d names, in the order of the rows of X
  // Only filled when read with csv_options::relabel: the sorted distinct labels of the file,
  // so that class c of y is original_labels[c] in the file.
  std::vector<std::int64_t> original_labels;
};

struct csv_options {
  std::string label_column = "label";  // name of the label column in the header
  int label_index = -1;                // 0-based index of the label column; overrides the name
                                       // when >= 0
  bool relabel = false;  // map arbitrary integer labels (negative or sparse, any int64) to
                         // 0..C-1 in sorted order; otherwise labels must already be >= 0
};

// Reads a labelled CSV file (see the format above) into X (d×n) and y (n), T = float or double.
// Labels must be integers ("3"; "3.0" is accepted too) that fit in int32 unless relabelled.
// Throws io_error when the file cannot be read, is empty, has no header (its first line is all
// numbers), has no data rows or no feature column, has a row with a different number of fields
// than the header, has a field that is not a finite number, has no such label column (or it
// appears twice), or has a label that is not an integer, is negative (unless relabel) or too big.
template <class T = double>
labelled_data<T> read_csv(const std::string& path, const csv_options& opt = {});

// Writes X (d×n, one sample per column) and y (n) as a CSV file that read_csv reads back
// exactly: a header "label,<names...>", then for each sample its label and its d values in the
// shortest form that round-trips. feature_names: d names, or empty for "x0", "x1", ...
// The file is replaced atomically (temporary file + rename): a failed write leaves any existing
// file as it was.
// Throws invalid_argument when y.size() != n, d or n is 0, a value is NaN/Inf, a label is
// negative, or a name is empty, is "label", has surrounding blanks or holds a comma, quote or
// line break; io_error when the file cannot be written.
void write_csv(const std::string& path, matrix_ref<double> X, label_ref y,
               const std::vector<std::string>& feature_names = {});
void write_csv(const std::string& path, matrix_ref<float> X, label_ref y,
               const std::vector<std::string>& feature_names = {});

extern template labelled_data<float> read_csv<float>(const std::string&, const csv_options&);
extern template labelled_data<double> read_csv<double>(const std::string&, const csv_options&);

}  // namespace mahal

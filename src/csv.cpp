#include "mahal/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>

#include "file_io.hpp"
#include "mahal/error.hpp"

namespace mahal {

namespace {

constexpr const char* k_read = "mahal::read_csv";
constexpr const char* k_write = "mahal::write_csv";

bool is_blank(char c) { return c == ' ' || c == '\t'; }

void trim(const char*& b, const char*& e) {
  while (b < e && is_blank(*b)) ++b;
  while (e > b && is_blank(e[-1])) --e;
}

// A field as quoted in an error message, shortened so that a corrupt file with a huge "field"
// does not produce a huge message.
std::string excerpt(const char* b, const char* e) {
  constexpr std::ptrdiff_t k_max = 40;
  if (e - b <= k_max) return std::string(b, e);
  return std::string(b, b + k_max) + "...";
}

// std::from_chars rejects a leading '+', which other writers may emit.
void skip_plus(const char*& b, const char* e) {
  if (e - b >= 2 && *b == '+' && b[1] != '-' && b[1] != '+') ++b;
}

enum class parse_status { ok, not_a_number, not_finite, out_of_range };

template <class T>
parse_status parse_number(const char* b, const char* e, T& out) {
  skip_plus(b, e);
  const auto [ptr, ec] = std::from_chars(b, e, out);
  if (ec == std::errc::invalid_argument || ptr != e) return parse_status::not_a_number;
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports underflow ("1e-400") like overflow; strtod tells them apart and gives
    // the nearest representable value for underflow. This path is rare, so the copy is fine.
    const std::string copy(b, e);
    const double v = std::strtod(copy.c_str(), nullptr);
    if (std::isfinite(v) && std::abs(v) <= static_cast<double>(std::numeric_limits<T>::max())) {
      out = static_cast<T>(v);
      return parse_status::ok;
    }
    return parse_status::out_of_range;
  }
  return std::isfinite(out) ? parse_status::ok : parse_status::not_finite;
}

// Integer labels; "3.0" is accepted as 3 because some writers print every number as a float.
bool parse_label(const char* b, const char* e, std::int64_t& out) {
  skip_plus(b, e);
  const auto [ptr, ec] = std::from_chars(b, e, out);
  if (ec == std::errc() && ptr == e) return true;
  double v = 0;
  if (parse_number(b, e, v) != parse_status::ok || v != std::floor(v) || std::abs(v) >= 9.0e18) {
    return false;
  }
  out = static_cast<std::int64_t>(v);
  return true;
}

// Splits one line into fields at commas (no quoting in this format), trimmed.
std::vector<std::string_view> split_fields(const char* b, const char* e) {
  std::vector<std::string_view> fields;
  for (;;) {
    const auto* comma = static_cast<const char*>(std::memchr(b, ',', static_cast<size_t>(e - b)));
    const char* fe = comma ? comma : e;
    const char* fb = b;
    trim(fb, fe);
    fields.emplace_back(fb, static_cast<size_t>(fe - fb));
    if (!comma) return fields;
    b = comma + 1;
  }
}

std::string join_names(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i == 8 && names.size() > 10) return out + ", ... (" + std::to_string(names.size()) + ")";
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

// "<file>:<line>: <parts>"
template <class... Parts>
[[noreturn]] void fail_at(const std::string& path, std::int64_t line, Parts&&... parts) {
  throw io_error(
      detail::concat(k_read, ": ", path, ":", line, ": ", std::forward<Parts>(parts)...));
}

// "<file>:<line>, column '<name>': <parts>"
template <class... Parts>
[[noreturn]] void fail_in_field(const std::string& path, std::int64_t line, std::string_view column,
                                Parts&&... parts) {
  throw io_error(detail::concat(k_read, ": ", path, ":", line, ", column '", column,
                                "': ", std::forward<Parts>(parts)...));
}

template <class T>
const char* type_name() {
  return sizeof(T) == sizeof(float) ? "float" : "double";
}

}  // namespace

template <class T>
labelled_data<T> read_csv(const std::string& path, const csv_options& opt) {
  const std::string text = detail::read_whole_file(path, k_read);
  const char* p = text.data();
  const char* const end = p + text.size();
  if (end - p >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;

  std::int64_t line_no = 0;
  // The next line that is not blank, without its "\n" or "\r\n"; false at the end of the text.
  auto next_line = [&](const char*& b, const char*& e) {
    while (p < end) {
      const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      b = p;
      e = nl ? nl : end;
      p = nl ? nl + 1 : end;
      ++line_no;
      if (e > b && e[-1] == '\r') --e;
      for (const char* q = b; q < e; ++q) {
        if (!is_blank(*q)) return true;
      }
    }
    return false;
  };

  // ---- header --------------------------------------------------------------------------------
  const char* b = nullptr;
  const char* e = nullptr;
  if (!next_line(b, e)) throw io_error(detail::concat(k_read, ": ", path, ": the file is empty"));
  const std::vector<std::string_view> header = split_fields(b, e);
  const auto n_fields = static_cast<index_t>(header.size());
  bool all_numbers = true;
  for (std::string_view name : header) {
    double v = 0;
    all_numbers =
        all_numbers && parse_number(name.data(), name.data() + name.size(), v) == parse_status::ok;
  }
  if (all_numbers) {
    fail_at(path, line_no, "the first line '", excerpt(b, e),
            "' holds only numbers; expected a header row of column names");
  }
  for (index_t c = 0; c < n_fields; ++c) {
    if (header[static_cast<size_t>(c)].empty()) {
      fail_at(path, line_no, "column ", c + 1, " of the header has no name");
    }
  }

  index_t label_col = -1;
  if (opt.label_index >= 0) {
    if (opt.label_index >= n_fields) {
      fail_at(path, line_no, "label_index = ", opt.label_index, " but the header has ", n_fields,
              " columns");
    }
    label_col = opt.label_index;
  } else {
    index_t count = 0;
    for (index_t c = 0; c < n_fields; ++c) {
      if (header[static_cast<size_t>(c)] == opt.label_column) {
        if (count++ == 0) label_col = c;
      }
    }
    if (count == 0) {
      fail_at(path, line_no, "no column named '", opt.label_column,
              "' in the header (columns: ", join_names(header), ")");
    }
    if (count > 1)
      fail_at(path, line_no, "column '", opt.label_column, "' appears ", count, " times");
  }
  if (n_fields < 2)
    fail_at(path, line_no, "the header has no feature columns, only the label column");

  labelled_data<T> out;
  const index_t d = n_fields - 1;
  for (index_t c = 0; c < n_fields; ++c) {
    if (c != label_col) out.feature_names.emplace_back(header[static_cast<size_t>(c)]);
  }

  // ---- rows ------------------------------------------------------------------------------------
  // Every row is one column of X, so the values are written in memory order. The number of
  // newlines bounds the number of rows, so X is allocated once (and shrunk if lines were blank).
  const index_t capacity = std::count(p, end, '\n') + 1;
  out.X.resize(d, capacity);
  std::vector<std::int64_t> raw_labels;
  if (opt.relabel) {
    raw_labels.reserve(static_cast<size_t>(capacity));
  } else {
    out.y.resize(capacity);
  }

  index_t n = 0;
  while (next_line(b, e)) {
    const index_t found = 1 + std::count(b, e, ',');
    if (found != n_fields) fail_at(path, line_no, "expected ", n_fields, " fields, found ", found);
    T* column = out.X.data() + n * d;
    const char* f = b;
    for (index_t c = 0; c < n_fields; ++c) {
      const char* fe =
          c + 1 < n_fields
              ? static_cast<const char*>(std::memchr(f, ',', static_cast<size_t>(e - f)))
              : e;
      const char* fb = f;
      f = fe == e ? e : fe + 1;
      trim(fb, fe);
      const std::string_view column_name = header[static_cast<size_t>(c)];
      if (c == label_col) {
        std::int64_t label = 0;
        if (!parse_label(fb, fe, label)) {
          fail_in_field(path, line_no, column_name, "label '", excerpt(fb, fe),
                        "' is not an integer");
        }
        if (opt.relabel) {
          raw_labels.push_back(label);
          continue;
        }
        if (label < 0) {
          fail_in_field(path, line_no, column_name, "label ", label,
                        " is negative (csv_options::relabel maps any integer labels to 0..C-1)");
        }
        if (label > std::numeric_limits<label_t>::max()) {
          fail_in_field(path, line_no, column_name, "label ", label,
                        " is too large for a 32-bit class id");
        }
        out.y[n] = static_cast<label_t>(label);
        continue;
      }
      switch (parse_number(fb, fe, *column++)) {
        case parse_status::ok:
          break;
        case parse_status::not_a_number:
          fail_in_field(path, line_no, column_name, "cannot parse '", excerpt(fb, fe),
                        "' as a number");
        case parse_status::not_finite:
          fail_in_field(path, line_no, column_name, "'", excerpt(fb, fe),
                        "' is not a finite number");
        case parse_status::out_of_range:
          fail_in_field(path, line_no, column_name, "'", excerpt(fb, fe),
                        "' is out of the range of ", type_name<T>());
      }
    }
    ++n;
  }
  if (n == 0) throw io_error(detail::concat(k_read, ": ", path, ": no data rows after the header"));
  if (n < capacity) {
    out.X.conservativeResize(d, n);
    if (!opt.relabel) out.y.conservativeResize(n);
  }

  if (opt.relabel) {
    out.original_labels = raw_labels;
    std::sort(out.original_labels.begin(), out.original_labels.end());
    out.original_labels.erase(std::unique(out.original_labels.begin(), out.original_labels.end()),
                              out.original_labels.end());
    out.y.resize(n);
    for (index_t i = 0; i < n; ++i) {
      const auto it = std::lower_bound(out.original_labels.begin(), out.original_labels.end(),
                                       raw_labels[static_cast<size_t>(i)]);
      out.y[i] = static_cast<label_t>(it - out.original_labels.begin());
    }
  }
  return out;
}

template labelled_data<float> read_csv<float>(const std::string&, const csv_options&);
template labelled_data<double> read_csv<double>(const std::string&, const csv_options&);

namespace {

template <class T>
void write_csv_impl(const std::string& path, const Eigen::Ref<const matrix<T>>& X, label_ref y,
                    const std::vector<std::string>& feature_names) {
  const index_t d = X.rows();
  const index_t n = X.cols();
  expects(d > 0 && n > 0, k_write, "X is ", d, "x", n,
          "; a CSV file needs at least one feature and one sample");
  expects(y.size() == n, k_write, "X has ", n, " samples (columns) but y has ", y.size(),
          " labels");
  expects(feature_names.empty() || static_cast<index_t>(feature_names.size()) == d, k_write,
          "X has ", d, " features (rows) but ", feature_names.size(), " feature names were given");
  for (std::size_t i = 0; i < feature_names.size(); ++i) {
    const std::string& name = feature_names[i];
    expects(!name.empty(), k_write, "feature name ", i, " is empty");
    expects(name != "label", k_write, "feature name ", i, " is 'label', the label column's name");
    expects(name.find_first_of(",\"\r\n") == std::string::npos && !is_blank(name.front()) &&
                !is_blank(name.back()),
            k_write, "feature name ", i, " '", name,
            "' holds a comma, quote, line break or surrounding blank");
  }
  for (index_t j = 0; j < n; ++j) {
    expects(y[j] >= 0, k_write, "label ", y[j], " of sample ", j, " is negative");
    for (index_t i = 0; i < d; ++i) {
      expects(std::isfinite(X(i, j)), k_write, "X(", i, ", ", j, ") = ", X(i, j), " is not finite");
    }
  }

  std::string text = "label";
  for (index_t i = 0; i < d; ++i) {
    text += ',';
    if (feature_names.empty()) {
      text += 'x';
      text += std::to_string(i);
    } else {
      text += feature_names[static_cast<size_t>(i)];
    }
  }
  text += '\n';
  text.reserve(text.size() + static_cast<size_t>(n * (d + 1) * 10));
  char buf[64];
  for (index_t j = 0; j < n; ++j) {
    text.append(buf, std::to_chars(buf, buf + sizeof buf, y[j]).ptr);
    for (index_t i = 0; i < d; ++i) {
      text += ',';
      // The shortest representation that parses back to the same value (bit-exact round trip).
      text.append(buf, std::to_chars(buf, buf + sizeof buf, X(i, j)).ptr);
    }
    text += '\n';
  }
  detail::write_file_atomically(path, text, k_write);
}

}  // namespace

void write_csv(const std::string& path, matrix_ref<double> X, label_ref y,
               const std::vector<std::string>& feature_names) {
  write_csv_impl<double>(path, X, y, feature_names);
}

void write_csv(const std::string& path, matrix_ref<float> X, label_ref y,
               const std::vector<std::string>& feature_names) {
  write_csv_impl<float>(path, X, y, feature_names);
}

}  // namespace mahal

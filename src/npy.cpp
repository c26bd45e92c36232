#include "mahal/npy.hpp"

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#include "file_io.hpp"
#include "mahal/error.hpp"

namespace mahal {

// Array data are copied between the file and memory as they are; .npy data here are
// little-endian, so a big-endian host would need a byte swap that is not implemented.
static_assert(std::endian::native == std::endian::little,
              "mahal's .npy code assumes a little-endian host");

namespace {

constexpr const char* k_read_matrix = "mahal::read_npy_matrix";
constexpr const char* k_read_labels = "mahal::read_npy_labels";
constexpr const char* k_write = "mahal::write_npy";
constexpr const char* k_write_labels = "mahal::write_npy_labels";

constexpr char k_magic[] = "\x93NUMPY";
constexpr std::size_t k_magic_size = 6;
// numpy itself refuses headers above 10000 bytes by default; this bound only keeps a corrupt
// length from causing a large allocation when the file size is not known (a pipe).
constexpr std::uint64_t k_max_header = 1 << 20;

enum class dtype { f4, f8, i4, i8 };

const char* descr_of(dtype t) {
  switch (t) {
    case dtype::f4:
      return "<f4";
    case dtype::f8:
      return "<f8";
    case dtype::i4:
      return "<i4";
    case dtype::i8:
      return "<i8";
  }
  return "?";
}

std::uint64_t item_size(dtype t) { return t == dtype::f4 || t == dtype::i4 ? 4 : 8; }

struct npy_header {
  dtype type = dtype::f8;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::uint64_t count = 0;  // number of elements
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

// Parses the Python dict literal of a .npy header, e.g.
//   {'descr': '<f8', 'fortran_order': False, 'shape': (150, 4), }
// This is the subset that numpy writes: quoted keys, a string, a boolean and a tuple of ints.
class header_parser {
 public:
  header_parser(std::string_view text, const std::string& path, const char* where)
      : text_(text), path_(path), where_(where) {}

  npy_header parse() {
    npy_header h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (eat('}')) break;
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        if (have_descr) fail("'descr' appears twice");
        have_descr = true;
        skip_space();
        if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
          fail_dtype("a structured or non-string dtype");
        }
        h.type = parse_descr(quoted());
      } else if (key == "fortran_order") {
        if (have_order) fail("'fortran_order' appears twice");
        have_order = true;
        h.fortran_order = boolean();
      } else if (key == "shape") {
        if (have_shape) fail("'shape' appears twice");
        have_shape = true;
        h.shape = tuple();
      } else {
        fail("unexpected key '" + key + "'");
      }
      skip_space();
      if (eat(',')) continue;
      expect('}');
      break;
    }
    if (!have_descr || !have_order || !have_shape) {
      fail("the header must give 'descr', 'fortran_order' and 'shape'");
    }
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw io_error(detail::concat(where_, ": ", path_, ": cannot parse the .npy header (", what,
                                  ") at offset ", pos_, " of \"", trimmed_text(), "\""));
  }
  [[noreturn]] void fail_dtype(const std::string& what) const {
    throw io_error(detail::concat(where_, ": ", path_, ": unsupported dtype ", what,
                                  " (supported: <f4, <f8, <i4, <i8)"));
  }
  std::string trimmed_text() const {
    std::string_view t = text_;
    while (!t.empty() && (t.back() == ' ' || t.back() == '\n')) t.remove_suffix(1);
    return std::string(t.substr(0, 200));
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      fail("expected a quoted string");
    }
    const char quote = text_[pos_++];
    const std::size_t close = text_.find(quote, pos_);
    if (close == std::string_view::npos) fail("unterminated string");
    std::string s(text_.substr(pos_, close - pos_));
    pos_ = close + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<std::int64_t> tuple() {
    std::vector<std::int64_t> dims;
    expect('(');
    if (eat(')')) return dims;
    for (;;) {
      skip_space();
      std::int64_t v = 0;
      const char* b = text_.data() + pos_;
      const auto [ptr, ec] = std::from_chars(b, text_.data() + text_.size(), v);
      if (ec != std::errc() || v < 0) fail("expected a non-negative integer dimension");
      pos_ += static_cast<std::size_t>(ptr - b);
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long literal
      dims.push_back(v);
      if (dims.size() > 32) fail("too many dimensions");
      if (eat(')')) return dims;
      expect(',');
      if (eat(')')) return dims;
    }
  }
  dtype parse_descr(const std::string& d) const {
    if (d == "<f4") return dtype::f4;
    if (d == "<f8") return dtype::f8;
    if (d == "<i4") return dtype::i4;
    if (d == "<i8") return dtype::i8;
    if (!d.empty() && d[0] == '>') fail_dtype("'" + d + "': big-endian data are not supported");
    fail_dtype("'" + d + "'");
  }

  std::string_view text_;
  const std::string& path_;
  const char* where_;
  std::size_t pos_ = 0;
};

// Reads and checks everything up to the array data; afterwards `in` is positioned at the data,
// and the file is known to hold exactly the data that the header promises (when its size is
// known, i.e. for a regular file).
npy_header read_header(detail::input_file& in, const std::string& path, const char* where) {
  auto fail = [&](auto&&... parts) -> void {
    throw io_error(detail::concat(where, ": ", path, ": ", parts...));
  };
  if (in.size_known() && in.size() < 10) fail("not a .npy file (only ", in.size(), " bytes)");
  unsigned char pre[8];
  in.read_exact(pre, 8, "the .npy magic string and version");
  if (std::memcmp(pre, k_magic, k_magic_size) != 0) {
    fail("not a .npy file (bad magic string; expected \\x93NUMPY)");
  }
  const unsigned major = pre[6];
  const unsigned minor = pre[7];
  if (major < 1 || major > 3 || minor != 0) {
    fail("unsupported .npy format version ", major, ".", minor, " (supported: 1.0, 2.0, 3.0)");
  }
  std::uint64_t header_len = 0;
  std::uint64_t preamble = 0;
  if (major == 1) {
    unsigned char len[2];
    in.read_exact(len, 2, "the header length");
    header_len = len[0] | (std::uint64_t{len[1]} << 8);
    preamble = 10;
  } else {
    unsigned char len[4];
    in.read_exact(len, 4, "the header length");
    header_len = len[0] | (std::uint64_t{len[1]} << 8) | (std::uint64_t{len[2]} << 16) |
                 (std::uint64_t{len[3]} << 24);
    preamble = 12;
  }
  if (header_len > k_max_header) fail("the header length ", header_len, " is implausible");
  if (in.size_known() && header_len > in.size() - preamble) {
    fail("truncated: the header needs ", header_len, " bytes but the file has only ",
         in.size() - preamble, " after the preamble");
  }
  std::string text(static_cast<std::size_t>(header_len), '\0');
  in.read_exact(text.data(), text.size(), "the .npy header");

  npy_header h = header_parser(text, path, where).parse();
  h.count = 1;
  for (const std::int64_t dim : h.shape) {
    const auto u = static_cast<std::uint64_t>(dim);
    if (u != 0 && h.count > std::numeric_limits<std::uint64_t>::max() / item_size(h.type) / u) {
      fail("the shape ", shape_text(h.shape), " is too large");
    }
    h.count *= u;
  }
  const std::uint64_t data_bytes = h.count * item_size(h.type);
  if (in.size_known()) {
    const std::uint64_t have = in.size() - preamble - header_len;
    if (have < data_bytes) {
      fail("truncated: shape ", shape_text(h.shape), " of ", descr_of(h.type), " needs ",
           data_bytes, " bytes of data but the file holds ", have);
    }
    if (have > data_bytes) {
      fail(have - data_bytes, " unexpected bytes after the data of shape ", shape_text(h.shape));
    }
  }
  return h;
}

template <class Src, class T>
void read_converted(detail::input_file& in, std::uint64_t count, T* dst) {
  std::vector<Src> buffer(static_cast<std::size_t>(count));
  in.read_exact(buffer.data(), buffer.size() * sizeof(Src), "the array data");
  for (std::size_t i = 0; i < buffer.size(); ++i) dst[i] = static_cast<T>(buffer[i]);
}

// Reads h.count elements of the file's dtype into dst as T.
template <class T>
void read_elements(detail::input_file& in, const npy_header& h, T* dst) {
  switch (h.type) {
    case dtype::f4:
      if constexpr (std::is_same_v<T, float>) {
        in.read_exact(dst, h.count * sizeof(float), "the array data");
      } else {
        read_converted<float>(in, h.count, dst);
      }
      return;
    case dtype::f8:
      if constexpr (std::is_same_v<T, double>) {
        in.read_exact(dst, h.count * sizeof(double), "the array data");
      } else {
        read_converted<double>(in, h.count, dst);
      }
      return;
    case dtype::i4:
      read_converted<std::int32_t>(in, h.count, dst);
      return;
    case dtype::i8:
      read_converted<std::int64_t>(in, h.count, dst);
      return;
  }
}

// The header for a C-order array of the given dtype and shape, padded with spaces so that the
// data start at a multiple of 64 bytes as numpy writes it (so the file can be memory-mapped).
std::string make_header(dtype t, const std::vector<std::int64_t>& shape) {
  std::string dict = std::string("{'descr': '") + descr_of(t) +
                     "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string out(k_magic, k_magic_size);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

template <class T>
void write_npy_impl(const std::string& path, const Eigen::Ref<const matrix<T>>& X) {
  const dtype t = std::is_same_v<T, float> ? dtype::f4 : dtype::f8;
  const std::string header = make_header(t, {X.cols(), X.rows()});
  detail::atomic_file_writer out(path, k_write);
  out.write(header.data(), header.size());
  if (X.outerStride() == X.rows() || X.cols() <= 1) {
    out.write(X.data(), static_cast<std::size_t>(X.size()) * sizeof(T));
  } else {
    const matrix<T> packed = X;  // a block of a larger matrix: columns are not adjacent
    out.write(packed.data(), static_cast<std::size_t>(packed.size()) * sizeof(T));
  }
  out.commit();
}

}  // namespace

template <class T>
matrix<T> read_npy_matrix(const std::string& path) {
  detail::input_file in(path, k_read_matrix);
  const npy_header h = read_header(in, path, k_read_matrix);
  if (h.shape.size() == 1) {
    matrix<T> v(h.shape[0], 1);
    read_elements(in, h, v.data());
    return v;
  }
  if (h.shape.size() != 2) {
    throw io_error(detail::concat(k_read_matrix, ": ", path,
                                  ": expected a 1-D or 2-D array, found shape ",
                                  shape_text(h.shape)));
  }
  const index_t n = h.shape[0];
  const index_t d = h.shape[1];
  if (!h.fortran_order) {
    matrix<T> X(d, n);  // C-order (n, d) memory is column-major d×n: no transposition
    read_elements(in, h, X.data());
    return X;
  }
  // An empty array is the empty d×n matrix; transposing one would still loop over its
  // (possibly 2⁵⁰) empty columns.
  if (n == 0 || d == 0) return matrix<T>(d, n);
  matrix<T> rows(n, d);  // Fortran-order (n, d) memory is column-major n×d
  read_elements(in, h, rows.data());
  return rows.transpose();
}

template matrix<float> read_npy_matrix<float>(const std::string&);
template matrix<double> read_npy_matrix<double>(const std::string&);

label_vector read_npy_labels(const std::string& path) {
  detail::input_file in(path, k_read_labels);
  const npy_header h = read_header(in, path, k_read_labels);
  auto fail = [&](auto&&... parts) {
    throw io_error(detail::concat(k_read_labels, ": ", path, ": ", parts...));
  };
  if (h.type != dtype::i4 && h.type != dtype::i8) {
    fail("labels must have an integer dtype (<i4 or <i8), found ", descr_of(h.type));
  }
  if (h.shape.size() != 1)
    fail("expected a 1-D array of labels, found shape ", shape_text(h.shape));
  std::vector<std::int64_t> wide(static_cast<std::size_t>(h.count));
  read_elements(in, h, wide.data());
  label_vector y(h.shape[0]);
  for (std::size_t i = 0; i < wide.size(); ++i) {
    if (wide[i] < 0) fail("label ", wide[i], " at index ", i, " is negative");
    if (wide[i] > std::numeric_limits<label_t>::max()) {
      fail("label ", wide[i], " at index ", i, " does not fit in int32");
    }
    y[static_cast<index_t>(i)] = static_cast<label_t>(wide[i]);
  }
  return y;
}

void write_npy(const std::string& path, matrix_ref<double> X) { write_npy_impl<double>(path, X); }
void write_npy(const std::string& path, matrix_ref<float> X) { write_npy_impl<float>(path, X); }

void write_npy_labels(const std::string& path, label_ref y) {
  const std::string header = make_header(dtype::i4, {y.size()});
  detail::atomic_file_writer out(path, k_write_labels);
  out.write(header.data(), header.size());
  out.write(y.data(), static_cast<std::size_t>(y.size()) * sizeof(label_t));  // contiguous Ref
  out.commit();
}

}  // namespace mahal

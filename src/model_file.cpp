#include "mahal/model_file.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <set>

#include "file_io.hpp"
#include "mahal/error.hpp"

namespace mahal {

namespace {

constexpr const char* k_save = "mahal::save_model_file";
constexpr const char* k_load = "mahal::load_model_file";
constexpr char k_magic[8] = {'M', 'A', 'H', 'A', 'L', 'M', 'D', 'L'};
constexpr std::size_t k_header_size = 20;  // magic, version, payload size
constexpr std::size_t k_crc_size = 4;

// ---- explicit little-endian encoding (independent of the host's byte order) --------------------

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put_string(std::string& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

std::uint64_t get_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// Reads the payload with every length checked against the bytes left, so that a corrupt length
// fails with a message instead of causing a huge allocation or a read past the end.
class payload_reader {
 public:
  payload_reader(const std::string& path, const char* begin, const char* end, std::size_t base)
      : path_(path), begin_(begin), p_(begin), end_(end), base_(base) {}

  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
  std::uint32_t u32(const char* what) {
    return static_cast<std::uint32_t>(get_le(take(4, what), 4));
  }
  std::uint64_t u64(const char* what) { return get_le(take(8, what), 8); }
  std::string string(const char* what) {
    const std::uint32_t n = u32(what);
    const char* s = take(n, what);
    return std::string(s, n);
  }
  const char* take(std::uint64_t n, const char* what) {
    if (n > left()) {
      throw io_error(detail::concat(k_load, ": ", path_, ": corrupt: ", what, " at offset ",
                                    offset(), " needs ", n, " bytes but only ", left(), " remain"));
    }
    const char* at = p_;
    p_ += n;
    return at;
  }
  std::size_t offset() const { return base_ + static_cast<std::size_t>(p_ - begin_); }
  [[noreturn]] void fail(const std::string& what) const {
    throw io_error(
        detail::concat(k_load, ": ", path_, ": corrupt: ", what, " at offset ", offset()));
  }

 private:
  const std::string& path_;
  const char* begin_;
  const char* p_;
  const char* end_;
  std::size_t base_;
};

std::string hex32(std::uint32_t v) {
  char buf[11] = "0x";
  for (int i = 0; i < 8; ++i) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xF];
  return std::string(buf, 10);
}

std::string list_names(const std::vector<named_array>& arrays) {
  if (arrays.empty()) return "none";
  std::string s;
  for (const auto& a : arrays) s += (s.empty() ? "" : ", ") + a.name;
  return s;
}

}  // namespace

void model_file::add_array(const std::string& name, matrix_ref<double> data) {
  arrays.push_back(named_array{name, matrix<double>(data)});
}

const named_array* model_file::find_array(const std::string& name) const {
  for (const auto& a : arrays) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const named_array& model_file::array(const std::string& name) const {
  const named_array* a = find_array(name);
  expects<io_error>(a != nullptr, "mahal::model_file::array", "the '", kind,
                    "' model has no array '", name, "' (arrays: ", list_names(arrays), ")");
  return *a;
}

const std::string& model_file::meta_value(const std::string& key) const {
  const auto it = meta.find(key);
  expects<io_error>(it != meta.end(), "mahal::model_file::meta_value", "the '", kind,
                    "' model has no metadata '", key, "'");
  return it->second;
}

void save_model_file(const std::string& path, const model_file& model) {
  constexpr std::uint64_t k_max_u32 = std::numeric_limits<std::uint32_t>::max();
  expects(!model.kind.empty(), k_save, "the model kind is empty");
  expects(model.kind.size() <= k_max_u32, k_save, "the model kind is too long");
  expects(model.meta.size() <= k_max_u32 && model.arrays.size() <= k_max_u32, k_save,
          "too many metadata entries or arrays");
  for (const auto& [key, value] : model.meta) {
    expects(key.size() <= k_max_u32 && value.size() <= k_max_u32, k_save, "metadata '",
            key.substr(0, 40), "' is too long");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < model.arrays.size(); ++i) {
    const std::string& name = model.arrays[i].name;
    expects(!name.empty(), k_save, "array ", i, " has an empty name");
    expects(name.size() <= k_max_u32, k_save, "array ", i, " has a name that is too long");
    expects(names.insert(name).second, k_save, "two arrays are named '", name, "'");
  }

  std::string bytes(k_magic, sizeof k_magic);
  put_u32(bytes, model_file_version);
  put_u64(bytes, 0);  // payload size, filled in below
  put_string(bytes, model.kind);
  put_u32(bytes, static_cast<std::uint32_t>(model.meta.size()));
  for (const auto& [key, value] : model.meta) {
    put_string(bytes, key);
    put_string(bytes, value);
  }
  put_u32(bytes, static_cast<std::uint32_t>(model.arrays.size()));
  for (const auto& a : model.arrays) {
    put_string(bytes, a.name);
    put_u64(bytes, static_cast<std::uint64_t>(a.data.rows()));
    put_u64(bytes, static_cast<std::uint64_t>(a.data.cols()));
    const double* v = a.data.data();
    for (index_t i = 0; i < a.data.size(); ++i) put_u64(bytes, std::bit_cast<std::uint64_t>(v[i]));
  }
  std::string payload_size;
  put_u64(payload_size, bytes.size() - k_header_size);
  bytes.replace(12, 8, payload_size);
  put_u32(bytes, detail::crc32(bytes.data(), bytes.size()));
  detail::write_file_atomically(path, bytes, k_save);
}

model_file load_model_file(const std::string& path) {
  const std::string bytes = detail::read_whole_file(path, k_load);
  auto fail = [&](auto&&... parts) -> void {
    throw io_error(detail::concat(k_load, ": ", path, ": ", parts...));
  };
  const std::size_t size = bytes.size();
  // The magic is checked first so that a file of another kind is named as such, not as
  // truncated or corrupt.
  if (size < sizeof k_magic) {
    if (size > 0 && std::memcmp(bytes.data(), k_magic, size) == 0) {
      fail("truncated: only ", size, " bytes");
    }
    fail("not a mahal model file (", size == 0 ? "empty" : "bad magic", ")");
  }
  if (std::memcmp(bytes.data(), k_magic, sizeof k_magic) != 0) {
    fail("not a mahal model file (bad magic; expected \"MAHALMDL\")");
  }
  if (size < 12) fail("truncated: only ", size, " bytes");
  const auto version = static_cast<std::uint32_t>(get_le(bytes.data() + 8, 4));
  if (version == 0) fail("invalid format version 0");
  if (version > model_file_version) {
    fail("format version ", version, " is newer than this build of mahal can read (it reads up to ",
         model_file_version, "); use a newer mahal");
  }
  if (size < k_header_size + k_crc_size) fail("truncated: only ", size, " bytes");
  const std::uint64_t payload = get_le(bytes.data() + 12, 8);
  const std::uint64_t body = size - k_header_size - k_crc_size;
  if (payload > body) {
    fail("truncated: the header promises ", payload, " bytes of payload but the file holds ", body);
  }
  if (payload < body) fail(body - payload, " unexpected bytes after the payload");
  const std::size_t crc_at = k_header_size + static_cast<std::size_t>(payload);
  const auto stored = static_cast<std::uint32_t>(get_le(bytes.data() + crc_at, 4));
  const std::uint32_t computed = detail::crc32(bytes.data(), crc_at);
  if (stored != computed) {
    fail("checksum mismatch (stored ", hex32(stored), ", computed ", hex32(computed),
         "): the file is corrupt");
  }

  // The checksum holds, so what follows only fails for a file that was written wrongly with a
  // valid checksum; the reader still bounds every length.
  payload_reader in(path, bytes.data() + k_header_size, bytes.data() + crc_at, k_header_size);
  model_file m;
  m.kind = in.string("the kind");
  if (m.kind.empty()) in.fail("empty model kind");  // what save_model_file refuses to write
  const std::uint32_t n_meta = in.u32("the metadata count");
  if (n_meta > in.left() / 8) in.fail("implausible metadata count " + std::to_string(n_meta));
  for (std::uint32_t i = 0; i < n_meta; ++i) {
    std::string key = in.string("a metadata key");
    std::string value = in.string("a metadata value");
    if (!m.meta.emplace(std::move(key), std::move(value)).second) in.fail("repeated metadata key");
  }
  const std::uint32_t n_arrays = in.u32("the array count");
  if (n_arrays > in.left() / 20) in.fail("implausible array count " + std::to_string(n_arrays));
  m.arrays.reserve(n_arrays);
  for (std::uint32_t i = 0; i < n_arrays; ++i) {
    named_array a;
    a.name = in.string("an array name");
    if (a.name.empty()) in.fail("array with an empty name");
    const std::uint64_t rows = in.u64("the rows of an array");
    const std::uint64_t cols = in.u64("the columns of an array");
    const std::uint64_t max_values = in.left() / 8;
    if (rows != 0 && cols > max_values / rows) {
      in.fail("array '" + a.name + "' of " + std::to_string(rows) + "x" + std::to_string(cols) +
              " does not fit in the file");
    }
    if (rows > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max()) ||
        cols > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max())) {
      in.fail("array '" + a.name + "' has an implausible shape");
    }
    const char* values = in.take(rows * cols * 8, "array data");
    a.data.resize(static_cast<index_t>(rows), static_cast<index_t>(cols));
    double* out = a.data.data();
    for (std::uint64_t k = 0; k < rows * cols; ++k) {
      out[k] = std::bit_cast<double>(get_le(values + 8 * k, 8));
    }
    if (m.find_array(a.name) != nullptr) in.fail("repeated array name '" + a.name + "'");
    m.arrays.push_back(std::move(a));
  }
  if (in.left() != 0) in.fail(std::to_string(in.left()) + " bytes left over after the arrays");
  return m;
}

}  // namespace mahal

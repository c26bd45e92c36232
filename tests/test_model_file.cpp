// Tests of mahal/model_file.hpp: the bit-exact round trip, the documented byte layout, and that
// every damaged file (any byte flipped, any truncation, bad magic, future version, a corrupt
// length behind a valid checksum) is rejected with io_error and never crashes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>

#include "mahal/error.hpp"
#include "mahal/model_file.hpp"
#include "temp_dir.hpp"

using mahal::test::contains;
using mahal::test::temp_dir;
using mahal::test::thrown;

namespace {

// A bit-at-a-time CRC-32 (zlib's), independent of the table-driven one in the library.
std::uint32_t reference_crc32(const std::string& bytes) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::uint64_t read_le(const std::string& bytes, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
  return v;
}

void write_le(std::string& bytes, std::size_t at, int n, std::uint64_t v) {
  for (int i = 0; i < n; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Replaces the trailing checksum so that the file passes it.
void fix_crc(std::string& bytes) {
  write_le(bytes, bytes.size() - 4, 4, reference_crc32(bytes.substr(0, bytes.size() - 4)));
}

mahal::model_file sample_model() {
  mahal::model_file m;
  m.kind = "metric";
  m.meta["solver"] = "lmnn";
  m.meta["empty"] = "";
  m.meta["bytes"] = std::string("a\0b\n\xff", 5);
  mahal::matrix<double> L(2, 3);
  L << 1.0, -0.0, std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max(),
      std::numeric_limits<double>::infinity(), 1.0 / 3.0;
  m.add_array("L", L);
  mahal::matrix<double> nan(1, 1);
  const std::uint64_t payload_nan = 0x7FF4000000000123ull;  // a NaN with a payload
  std::memcpy(nan.data(), &payload_nan, 8);
  m.add_array("nan", nan);
  m.add_array("empty", mahal::matrix<double>(0, 4));
  m.add_array("A", mahal::matrix<double>::Random(5, 5));
  return m;
}

std::string load_error(const std::string& path) {
  return thrown<mahal::io_error>([&] { (void)mahal::load_model_file(path); });
}

}  // namespace

TEST_CASE("model files round-trip bit for bit, in order") {
  temp_dir dir;
  const auto path = dir.file("m.mahal");
  const mahal::model_file m = sample_model();
  mahal::save_model_file(path, m);
  const mahal::model_file back = mahal::load_model_file(path);
  CHECK(back.kind == "metric");
  CHECK(back.meta == m.meta);
  REQUIRE(back.arrays.size() == m.arrays.size());
  for (std::size_t i = 0; i < m.arrays.size(); ++i) {
    CAPTURE(i);
    CHECK(back.arrays[i].name == m.arrays[i].name);
    REQUIRE(back.arrays[i].data.rows() == m.arrays[i].data.rows());
    REQUIRE(back.arrays[i].data.cols() == m.arrays[i].data.cols());
    const auto n = static_cast<std::size_t>(m.arrays[i].data.size());
    if (n > 0) {  // an empty matrix has no storage to compare
      CHECK(std::memcmp(back.arrays[i].data.data(), m.arrays[i].data.data(), 8 * n) == 0);
    }
  }
  CHECK(back.array("A").data == m.array("A").data);
  CHECK(back.meta_value("solver") == "lmnn");
  CHECK(back.find_array("missing") == nullptr);
  CHECK(contains(thrown<mahal::io_error>([&] { (void)back.array("W"); }),
                 "the 'metric' model has no array 'W' (arrays: L, nan, empty, A)"));
  CHECK(contains(thrown<mahal::io_error>([&] { (void)back.meta_value("k"); }), "no metadata 'k'"));

  // Saving again replaces the file; nothing temporary is left beside it.
  mahal::model_file small;
  small.kind = "siamese";
  mahal::save_model_file(path, small);
  const auto back2 = mahal::load_model_file(path);
  CHECK(back2.kind == "siamese");
  CHECK(back2.meta.empty());
  CHECK(back2.arrays.empty());
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("the file layout is the documented one") {
  temp_dir dir;
  const auto path = dir.file("layout.mahal");
  mahal::model_file m;
  m.kind = "metric";
  m.meta["k"] = "v";
  mahal::matrix<double> a(1, 2);
  a << 1.5, -2.0;
  m.add_array("a", a);
  mahal::save_model_file(path, m);
  const std::string bytes = mahal::test::slurp(path);
  const std::size_t payload = (4 + 6) + 4 + (4 + 1 + 4 + 1) + 4 + (4 + 1 + 8 + 8 + 16);
  REQUIRE(bytes.size() == 20 + payload + 4);
  CHECK(bytes.substr(0, 8) == "MAHALMDL");
  CHECK(read_le(bytes, 8, 4) == 1);
  CHECK(read_le(bytes, 12, 8) == payload);
  CHECK(read_le(bytes, 20, 4) == 6);
  CHECK(bytes.substr(24, 6) == "metric");
  CHECK(read_le(bytes, 53, 8) == 1);                      // rows of "a"
  CHECK(read_le(bytes, 69, 8) == 0x3FF8000000000000ull);  // 1.5
  CHECK(read_le(bytes, bytes.size() - 4, 4) == reference_crc32(bytes.substr(0, bytes.size() - 4)));
}

TEST_CASE("a flipped byte anywhere is caught; in the payload it is a checksum error") {
  temp_dir dir;
  const auto path = dir.file("m.mahal");
  mahal::save_model_file(path, sample_model());
  const std::string good = mahal::test::slurp(path);
  const auto bad = dir.file("bad.mahal");
  for (std::size_t at = 0; at < good.size(); ++at) {
    std::string bytes = good;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
    dir.write("bad.mahal", bytes);
    const std::string msg = load_error(bad);
    CAPTURE(at);
    CAPTURE(msg);
    CHECK(contains(msg, bad));
    if (at >= 20) CHECK(contains(msg, "checksum mismatch"));
  }
  std::string middle = good;
  middle[good.size() / 2] = static_cast<char>(middle[good.size() / 2] ^ 1);
  CHECK(contains(load_error(dir.write("mid.mahal", middle)), "mid.mahal: checksum mismatch"));
}

TEST_CASE("every truncation is caught") {
  temp_dir dir;
  const auto path = dir.file("m.mahal");
  mahal::save_model_file(path, sample_model());
  const std::string good = mahal::test::slurp(path);
  const auto cut = dir.file("cut.mahal");
  for (std::size_t n = 0; n < good.size(); ++n) {
    dir.write("cut.mahal", good.substr(0, n));
    const std::string msg = load_error(cut);
    CAPTURE(n);
    CAPTURE(msg);
    CHECK(contains(msg, cut));
    if (n > 0) CHECK(contains(msg, "truncated"));
  }
  CHECK(contains(load_error(dir.write("empty.mahal", "")), "not a mahal model file (empty)"));
  CHECK(contains(load_error(dir.write("long.mahal", good + "x")), "1 unexpected bytes"));
}

TEST_CASE("bad magic, version 0 and a future version are named") {
  temp_dir dir;
  const auto path = dir.file("m.mahal");
  mahal::save_model_file(path, sample_model());
  const std::string good = mahal::test::slurp(path);

  std::string magic = good;
  magic[5] = 'X';
  CHECK(contains(load_error(dir.write("magic.mahal", magic)),
                 "magic.mahal: not a mahal model file (bad magic"));
  CHECK(contains(load_error(dir.write("npy.mahal", "\x93NUMPY\x01\x00")), "bad magic"));

  std::string future = good;
  write_le(future, 8, 4, 2);
  fix_crc(future);
  CHECK(contains(load_error(dir.write("future.mahal", future)),
                 "future.mahal: format version 2 is newer than this build of mahal can read"));
  std::string zero = good;
  write_le(zero, 8, 4, 0);
  CHECK(contains(load_error(dir.write("zero.mahal", zero)), "invalid format version 0"));
  CHECK(contains(load_error(dir.file("none.mahal")), "none.mahal': No such file"));
}

TEST_CASE("corrupt lengths behind a valid checksum fail without a huge allocation") {
  temp_dir dir;
  mahal::model_file m;
  m.kind = "metric";
  m.add_array("L", mahal::matrix<double>::Identity(2, 2));
  const auto path = dir.file("m.mahal");
  mahal::save_model_file(path, m);
  const std::string good = mahal::test::slurp(path);
  // Offsets in this file: kind at 20 (4 + 6), meta count at 30, array count at 34, name at 38
  // (4 + 1), rows at 43, cols at 51, data at 59.
  REQUIRE(read_le(good, 43, 8) == 2);

  auto corrupt = [&](std::size_t at, int n, std::uint64_t v) {
    std::string bytes = good;
    write_le(bytes, at, n, v);
    fix_crc(bytes);
    return load_error(dir.write("c.mahal", bytes));
  };
  CHECK(contains(corrupt(43, 8, 1ull << 40), "array 'L' of 1099511627776x2 does not fit"));
  CHECK(contains(corrupt(51, 8, ~0ull), "does not fit"));
  CHECK(contains(corrupt(20, 4, 0xFFFFFFF0u), "corrupt: the kind at offset 24 needs"));
  CHECK(contains(corrupt(30, 4, 0xFFFFFFFFu), "implausible metadata count"));
  CHECK(contains(corrupt(34, 4, 0xFFFFFFFFu), "implausible array count"));
  CHECK(contains(corrupt(43, 8, 1), "bytes left over after the arrays"));
}

TEST_CASE("what save_model_file refuses to write, load_model_file refuses to read") {
  // Version-1 files written byte by byte: payload = kind, metadata count, arrays.
  auto file_around = [](const std::string& payload) {
    std::string bytes = std::string("MAHALMDL") + std::string(12, '\0') + payload;
    write_le(bytes, 8, 4, 1);
    write_le(bytes, 12, 8, payload.size());
    bytes += std::string(4, '\0');
    fix_crc(bytes);
    return bytes;
  };
  const std::string u32_0(4, '\0'), u32_1 = std::string("\x01", 1) + std::string(3, '\0');
  const std::string u64_1 = std::string("\x01", 1) + std::string(7, '\0');
  const std::string one_by_one = u64_1 + u64_1 + std::string(8, '\0');  // a 1x1 array of 0.0
  temp_dir dir;
  // The same file with kind "k" and the array named "a" loads, and with either empty it fails.
  const std::string kind_k = u32_1 + "k";
  CHECK_NOTHROW(mahal::load_model_file(
      dir.write("good.mahal", file_around(kind_k + u32_0 + u32_1 + u32_1 + "a" + one_by_one))));
  CHECK(contains(load_error(dir.write("kind.mahal", file_around(u32_0 + u32_0 + u32_0))),
                 "corrupt: empty model kind"));
  CHECK(contains(
      load_error(dir.write("name.mahal", file_around(kind_k + u32_0 + u32_1 + u32_0 + one_by_one))),
      "corrupt: array with an empty name"));
}

TEST_CASE("save_model_file validates its input and never leaves a half-written file") {
  temp_dir dir;
  const auto path = dir.file("m.mahal");
  mahal::model_file m = sample_model();
  m.kind.clear();
  CHECK(contains(thrown<mahal::invalid_argument>([&] { mahal::save_model_file(path, m); }),
                 "the model kind is empty"));
  m = sample_model();
  m.add_array("L", mahal::matrix<double>::Zero(1, 1));
  CHECK(contains(thrown<mahal::invalid_argument>([&] { mahal::save_model_file(path, m); }),
                 "two arrays are named 'L'"));
  m = sample_model();
  m.add_array("", mahal::matrix<double>::Zero(1, 1));
  CHECK(contains(thrown<mahal::invalid_argument>([&] { mahal::save_model_file(path, m); }),
                 "array 4 has an empty name"));
  CHECK_FALSE(std::filesystem::exists(path));

  const auto nowhere = dir.file("no/such/dir/m.mahal");
  CHECK(contains(thrown<mahal::io_error>([&] { mahal::save_model_file(nowhere, sample_model()); }),
                 "mahal::save_model_file: cannot write '" + nowhere + "'"));

  // The rename fails (the target is a non-empty directory): the target stays as it was and the
  // temporary file is removed.
  const auto target = dir.file("target");
  std::filesystem::create_directory(target);
  dir.write("target/keep", "keep");
  CHECK(contains(thrown<mahal::io_error>([&] { mahal::save_model_file(target, sample_model()); }),
                 "rename failed"));
  CHECK(mahal::test::slurp(dir.file("target/keep")) == "keep");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);
}

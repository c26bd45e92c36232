// Tests of mahal/npy.hpp. The .npy files are built byte by byte here, exactly as numpy's
// np.save lays them out (magic, version, header length, dict header padded to 64 bytes, data),
// so the tests need no Python.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "mahal/error.hpp"
#include "mahal/npy.hpp"
#include "temp_dir.hpp"

using mahal::test::contains;
using mahal::test::temp_dir;
using mahal::test::thrown;

namespace {

// The bytes of a .npy file of format version `major`.0 with the given header dict and data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t preamble = major == 1 ? 10 : 12;
  std::string header = dict;
  const std::size_t unpadded = preamble + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t len = header.size();
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (major != 1) {
    out += static_cast<char>((len >> 16) & 0xff);
    out += static_cast<char>((len >> 24) & 0xff);
  }
  return out + header + data;
}

template <class U>
std::string raw(const std::vector<U>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(U));
}

std::string dict(const std::string& descr, bool fortran, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

std::string matrix_error(const std::string& path) {
  return thrown<mahal::io_error>([&] { (void)mahal::read_npy_matrix<double>(path); });
}

std::string labels_error(const std::string& path) {
  return thrown<mahal::io_error>([&] { (void)mahal::read_npy_labels(path); });
}

// The numpy array a = [[1, 2], [3, 4], [5, 6.5]] (n = 3 samples, d = 2) in each memory order.
const std::vector<double> k_c_order = {1, 2, 3, 4, 5, 6.5};
const std::vector<double> k_f_order = {1, 3, 5, 2, 4, 6.5};

void check_is_a(const mahal::matrix<double>& X) {
  REQUIRE(X.rows() == 2);  // d×n: sample i of the file is column i
  REQUIRE(X.cols() == 3);
  CHECK(X(0, 0) == 1);
  CHECK(X(1, 0) == 2);
  CHECK(X(0, 1) == 3);
  CHECK(X(1, 1) == 4);
  CHECK(X(0, 2) == 5);
  CHECK(X(1, 2) == 6.5);
}

}  // namespace

TEST_CASE("read_npy_matrix: a C-order (n, d) array is the d×n matrix of its memory") {
  temp_dir dir;
  const auto path = dir.write("c.npy", npy_bytes(dict("<f8", false, "(3, 2)"), raw(k_c_order)));
  const auto X = mahal::read_npy_matrix<double>(path);
  check_is_a(X);
  CHECK(std::memcmp(X.data(), k_c_order.data(), 6 * sizeof(double)) == 0);
}

TEST_CASE("read_npy_matrix: a Fortran-order (n, d) array gives the same d×n matrix") {
  temp_dir dir;
  check_is_a(mahal::read_npy_matrix<double>(
      dir.write("f.npy", npy_bytes(dict("<f8", true, "(3, 2)"), raw(k_f_order)))));
}

TEST_CASE("read_npy_matrix: empty arrays of huge shape are read at once, in either order") {
  // No data, so the file is valid; a Fortran-order read once spent minutes transposing the
  // 2^50 empty columns (found by fuzz_npy).
  temp_dir dir;
  for (const bool fortran : {false, true}) {
    CAPTURE(fortran);
    const auto X = mahal::read_npy_matrix<float>(
        dir.write("empty.npy", npy_bytes(dict("<f4", fortran, "(1125899906842624, 0)"), "")));
    CHECK(X.rows() == 0);
    CHECK(X.cols() == 1125899906842624);
    const auto Y = mahal::read_npy_matrix<float>(
        dir.write("empty2.npy", npy_bytes(dict("<f4", fortran, "(0, 1125899906842624)"), "")));
    CHECK(Y.rows() == 1125899906842624);
    CHECK(Y.cols() == 0);
  }
}

TEST_CASE("read_npy_matrix converts dtypes and reads format versions 2 and 3") {
  temp_dir dir;
  const std::vector<float> f4(k_c_order.begin(), k_c_order.end());
  const std::vector<std::int32_t> i4 = {1, 2, 3, 4, 5, -6};
  const std::vector<std::int64_t> i8 = {1, 2, 3, 4, 5, -6};
  const auto p4 = dir.write("f4.npy", npy_bytes(dict("<f4", false, "(3, 2)"), raw(f4), 2));
  check_is_a(mahal::read_npy_matrix<double>(p4));
  const auto Xf = mahal::read_npy_matrix<float>(p4);
  CHECK(Xf(1, 2) == 6.5f);
  const auto p8 = dir.write("f8.npy", npy_bytes(dict("<f8", false, "(3, 2)"), raw(k_c_order), 3));
  CHECK(mahal::read_npy_matrix<float>(p8)(1, 2) == 6.5f);
  const auto pi4 = dir.write("i4.npy", npy_bytes(dict("<i4", false, "(3, 2)"), raw(i4)));
  CHECK(mahal::read_npy_matrix<double>(pi4)(1, 2) == -6.0);
  const auto pi8 = dir.write("i8.npy", npy_bytes(dict("<i8", true, "(2, 3)"), raw(i8)));
  const auto Xi = mahal::read_npy_matrix<double>(pi8);  // Fortran (2, 3): rows 1,3,5 / 2,4,-6
  REQUIRE(Xi.rows() == 3);
  CHECK(Xi(0, 1) == 2.0);
  CHECK(Xi(2, 1) == -6.0);
}

TEST_CASE("read_npy_matrix reads header variants numpy and other writers produce") {
  temp_dir dir;
  // Keys in another order, double quotes, no trailing comma, extra blanks, Python 2 longs.
  const auto path = dir.write(
      "v.npy",
      npy_bytes("{\"shape\" : ( 3L ,2L ), 'fortran_order':False,'descr':'<f8'}", raw(k_c_order)));
  check_is_a(mahal::read_npy_matrix<double>(path));

  const auto vec =
      dir.write("vec.npy", npy_bytes(dict("<f8", false, "(4,)"), raw(k_c_order).substr(0, 32)));
  const auto v = mahal::read_npy_matrix<double>(vec);
  CHECK(v.rows() == 4);
  CHECK(v.cols() == 1);
  CHECK(v(3, 0) == 4.0);

  const auto empty = dir.write("empty.npy", npy_bytes(dict("<f8", false, "(0, 5)"), ""));
  const auto E = mahal::read_npy_matrix<double>(empty);
  CHECK(E.rows() == 5);
  CHECK(E.cols() == 0);
}

TEST_CASE("read_npy_labels reads 1-D integer arrays") {
  temp_dir dir;
  const std::vector<std::int32_t> i4 = {0, 2, 1, 2};
  const std::vector<std::int64_t> i8 = {3, 0, 1};
  const auto y4 =
      mahal::read_npy_labels(dir.write("y4.npy", npy_bytes(dict("<i4", false, "(4,)"), raw(i4))));
  REQUIRE(y4.size() == 4);
  CHECK(y4[1] == 2);
  const auto y8 = mahal::read_npy_labels(
      dir.write("y8.npy", npy_bytes(dict("<i8", false, "(3,)"), raw(i8), 2)));
  REQUIRE(y8.size() == 3);
  CHECK(y8[0] == 3);

  const std::vector<std::int64_t> neg = {0, -1};
  CHECK(
      contains(labels_error(dir.write("neg.npy", npy_bytes(dict("<i8", false, "(2,)"), raw(neg)))),
               "neg.npy: label -1 at index 1 is negative"));
  const std::vector<std::int64_t> big = {5000000000};
  CHECK(
      contains(labels_error(dir.write("big.npy", npy_bytes(dict("<i8", false, "(1,)"), raw(big)))),
               "does not fit in int32"));
  CHECK(contains(
      labels_error(dir.write("float.npy", npy_bytes(dict("<f8", false, "(6,)"), raw(k_c_order)))),
      "float.npy: labels must have an integer dtype"));
  CHECK(
      contains(labels_error(dir.write("2d.npy", npy_bytes(dict("<i4", false, "(2, 2)"), raw(i4)))),
               "2d.npy: expected a 1-D array of labels, found shape (2, 2)"));
}

TEST_CASE("bad .npy files raise io_error naming the file and the problem") {
  temp_dir dir;
  const std::string good = npy_bytes(dict("<f8", false, "(3, 2)"), raw(k_c_order));
  SUBCASE("missing, empty or too short") {
    CHECK(contains(matrix_error(dir.file("none.npy")), "none.npy': No such file"));
    CHECK(contains(matrix_error(dir.write("empty.npy", "")), "empty.npy: not a .npy file"));
    CHECK(contains(matrix_error(dir.write("short.npy", good.substr(0, 9))),
                   "short.npy: not a .npy file"));
  }
  SUBCASE("bad magic") {
    std::string bytes = good;
    bytes[1] = 'L';
    CHECK(contains(matrix_error(dir.write("magic.npy", bytes)),
                   "magic.npy: not a .npy file (bad magic"));
    CHECK(contains(matrix_error(dir.write("text.npy", "label,a\n0,1\n")), "bad magic"));
  }
  SUBCASE("unsupported format version") {
    std::string bytes = good;
    bytes[6] = 4;
    CHECK(contains(matrix_error(dir.write("v4.npy", bytes)),
                   "v4.npy: unsupported .npy format version 4.0"));
  }
  SUBCASE("unsupported or big-endian dtype") {
    CHECK(contains(
        matrix_error(dir.write("c16.npy", npy_bytes(dict("<c16", false, "(3,)"), raw(k_c_order)))),
        "c16.npy: unsupported dtype '<c16'"));
    CHECK(contains(
        matrix_error(dir.write("be.npy", npy_bytes(dict(">f8", false, "(3, 2)"), raw(k_c_order)))),
        "be.npy: unsupported dtype '>f8': big-endian"));
    CHECK(contains(matrix_error(dir.write(
                       "rec.npy", npy_bytes("{'descr': [('a', '<f8')], 'fortran_order': False, "
                                            "'shape': (6,), }",
                                            raw(k_c_order)))),
                   "rec.npy: unsupported dtype a structured"));
  }
  SUBCASE("truncated data, truncated header, trailing bytes") {
    CHECK(contains(
        matrix_error(dir.write("trunc.npy", good.substr(0, good.size() - 1))),
        "trunc.npy: truncated: shape (3, 2) of <f8 needs 48 bytes of data but the file holds 47"));
    CHECK(contains(matrix_error(dir.write("head.npy", good.substr(0, 40))), "head.npy: truncated"));
    CHECK(
        contains(matrix_error(dir.write("tail.npy", good + "xx")), "tail.npy: 2 unexpected bytes"));
  }
  SUBCASE("header that does not parse") {
    CHECK(
        contains(matrix_error(dir.write(
                     "nokey.npy", npy_bytes("{'descr': '<f8', 'shape': (6,), }", raw(k_c_order)))),
                 "nokey.npy: cannot parse the .npy header (the header must give"));
    CHECK(contains(matrix_error(dir.write("junk.npy", npy_bytes("descr=<f8", raw(k_c_order)))),
                   "junk.npy: cannot parse the .npy header (expected '{')"));
    CHECK(contains(matrix_error(dir.write(
                       "bool.npy", npy_bytes(dict("<f8", false, "(6,)").replace(38, 5, "false"),
                                             raw(k_c_order)))),
                   "bool.npy: cannot parse the .npy header (expected True or False)"));
    CHECK(contains(
        matrix_error(dir.write("neg.npy", npy_bytes(dict("<f8", false, "(-6,)"), raw(k_c_order)))),
        "neg.npy: cannot parse the .npy header (expected a non-negative"));
    CHECK(contains(matrix_error(dir.write(
                       "extra.npy",
                       npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1}",
                                 raw(k_c_order)))),
                   "unexpected key 'x'"));
  }
  SUBCASE("more than two dimensions, and a shape too large for the file") {
    CHECK(contains(matrix_error(dir.write(
                       "3d.npy", npy_bytes(dict("<f8", false, "(1, 2, 3)"), raw(k_c_order)))),
                   "3d.npy: expected a 1-D or 2-D array, found shape (1, 2, 3)"));
    // A corrupt shape must be caught before anything of that size is allocated.
    CHECK(contains(
        matrix_error(dir.write(
            "huge.npy", npy_bytes(dict("<f8", false, "(100000000000, 100000)"), raw(k_c_order)))),
        "huge.npy: truncated"));
    CHECK(contains(matrix_error(dir.write(
                       "over.npy", npy_bytes(dict("<f8", false, "(9223372036854775807, 4)"), ""))),
                   "over.npy: the shape (9223372036854775807, 4) is too large"));
  }
}

TEST_CASE("write_npy writes numpy's layout and reads back bit for bit") {
  temp_dir dir;
  mahal::matrix<double> X(2, 3);
  X << 1, 3, 5, 2, 4, 6.5;  // the d×n matrix of the numpy array a above
  const auto path = dir.file("X.npy");
  mahal::write_npy(path, X);
  const std::string bytes = mahal::test::slurp(path);
  CHECK(bytes == npy_bytes(dict("<f8", false, "(3, 2)"), raw(k_c_order)));
  CHECK((bytes.size() - 48) % 64 == 0);  // data aligned to 64 bytes
  CHECK(mahal::read_npy_matrix<double>(path) == X);

  const mahal::matrix<float> Xf = X.cast<float>();
  mahal::write_npy(path, Xf);  // replaces the file
  CHECK(mahal::test::slurp(path).substr(10, 20) == "{'descr': '<f4', 'fo");
  CHECK(mahal::read_npy_matrix<float>(path) == Xf);

  mahal::matrix<double> big = mahal::matrix<double>::Random(7, 9);
  big(0, 0) = -0.0;
  mahal::write_npy(path, big.block(1, 2, 4, 5));  // columns not adjacent in memory
  CHECK(mahal::read_npy_matrix<double>(path) == big.block(1, 2, 4, 5));

  mahal::label_vector y(5);
  y << 4, 0, 1, 1, 2;
  const auto ypath = dir.file("y.npy");
  mahal::write_npy_labels(ypath, y);
  CHECK(mahal::test::slurp(ypath).substr(10, 57) ==
        "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }");
  CHECK(mahal::read_npy_labels(ypath) == y);

  CHECK(contains(thrown<mahal::io_error>([&] { mahal::write_npy(dir.file("no/dir/X.npy"), X); }),
                 "mahal::write_npy: cannot write"));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 2);  // no temporary left
}

// Tests of mahal/csv.hpp and mahal/labels.hpp: exact parsing of small fixtures, every class of
// bad input, the write/read round trip, and the real iris.csv / letters.csv when present.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "mahal/csv.hpp"
#include "mahal/error.hpp"
#include "temp_dir.hpp"

using mahal::test::contains;
using mahal::test::temp_dir;
using mahal::test::thrown;

namespace {

const std::string k_data_dir = MAHAL_TEST_DATA_DIR;

std::string read_error(const std::string& path, const mahal::csv_options& opt = {}) {
  return thrown<mahal::io_error>([&] { (void)mahal::read_csv<double>(path, opt); });
}

}  // namespace

TEST_CASE("read_csv parses a small file exactly, one sample per column") {
  temp_dir dir;
  const auto path = dir.write("small.csv",
                              "label,a,b,c\n"
                              "0,1.5,-2,3e2\n"
                              "2,0.1,1e-3,-0\n"
                              "1,7,8,9\n");
  const auto data = mahal::read_csv<double>(path);
  REQUIRE(data.X.rows() == 3);
  REQUIRE(data.X.cols() == 3);
  CHECK(data.feature_names == std::vector<std::string>{"a", "b", "c"});
  CHECK(data.y[0] == 0);
  CHECK(data.y[1] == 2);
  CHECK(data.y[2] == 1);
  CHECK(data.X(0, 0) == 1.5);
  CHECK(data.X(1, 0) == -2.0);
  CHECK(data.X(2, 0) == 300.0);
  CHECK(data.X(0, 1) == 0.1);
  CHECK(data.X(1, 1) == 1e-3);
  CHECK(data.X(2, 1) == 0.0);
  CHECK(std::signbit(data.X(2, 1)));
  CHECK(data.X(0, 2) == 7.0);
  CHECK(data.original_labels.empty());
  CHECK(mahal::num_classes(data.y) == 3);

  const auto f = mahal::read_csv<float>(path);
  CHECK(f.X(0, 1) == 0.1f);  // parsed as float directly, not via double
  CHECK(f.X(1, 1) == 1e-3f);
}

TEST_CASE("read_csv accepts CRLF, no final newline, blanks, BOM, '+' and blank lines") {
  temp_dir dir;
  const auto path = dir.write("crlf.csv",
                              "\xEF\xBB\xBF"
                              "x, label ,y\r\n"
                              " +1.25 ,\t3, 4\r\n"
                              "\r\n"
                              "5,3.0,-6.5");
  const auto data = mahal::read_csv<double>(path);
  REQUIRE(data.X.rows() == 2);
  REQUIRE(data.X.cols() == 2);
  CHECK(data.feature_names == std::vector<std::string>{"x", "y"});
  CHECK(data.X(0, 0) == 1.25);
  CHECK(data.X(1, 0) == 4.0);
  CHECK(data.X(0, 1) == 5.0);
  CHECK(data.X(1, 1) == -6.5);
  CHECK(data.y[0] == 3);
  CHECK(data.y[1] == 3);
}

TEST_CASE("read_csv finds the label column by name or index, and relabels") {
  temp_dir dir;
  const auto path = dir.write("cls.csv",
                              "f1,cls,f2\n"
                              "1,10,2\n"
                              "3,-4,4\n"
                              "5,10,6\n"
                              "7,99,8\n");
  mahal::csv_options by_name;
  by_name.label_column = "cls";
  CHECK(contains(read_error(path, by_name), "label -4 is negative"));

  by_name.relabel = true;
  const auto a = mahal::read_csv<double>(path, by_name);
  CHECK(a.feature_names == std::vector<std::string>{"f1", "f2"});
  CHECK(a.original_labels == std::vector<std::int64_t>{-4, 10, 99});
  CHECK(a.y[0] == 1);
  CHECK(a.y[1] == 0);
  CHECK(a.y[2] == 1);
  CHECK(a.y[3] == 2);
  CHECK(a.X(1, 3) == 8.0);

  mahal::csv_options by_index;
  by_index.label_index = 2;  // overrides the (absent) name "label"
  const auto b = mahal::read_csv<double>(path, by_index);
  CHECK(b.feature_names == std::vector<std::string>{"f1", "cls"});
  CHECK(b.y[0] == 2);
  CHECK(b.X(1, 1) == -4.0);
}

TEST_CASE("read_csv reports every kind of bad file with file, line and column") {
  temp_dir dir;
  SUBCASE("unreadable file") {
    const auto path = dir.file("missing.csv");
    const auto msg = read_error(path);
    CHECK(contains(msg, path));
    CHECK(contains(msg, "cannot open"));
    CHECK(contains(read_error(dir.path().string()), "directory"));
  }
  SUBCASE("empty file") {
    CHECK(contains(read_error(dir.write("empty.csv", "")), "empty.csv: the file is empty"));
    CHECK(contains(read_error(dir.write("blank.csv", " \n\r\n")), "blank.csv: the file is empty"));
  }
  SUBCASE("missing header") {
    const auto msg = read_error(dir.write("nohead.csv", "0,1.5,2\n1,3,4\n"));
    CHECK(contains(msg, "nohead.csv:1:"));
    CHECK(contains(msg, "header"));
  }
  SUBCASE("header only, or no feature column") {
    CHECK(contains(read_error(dir.write("h.csv", "label,a\n")), "h.csv: no data rows"));
    CHECK(contains(read_error(dir.write("l.csv", "label\n1\n")),
                   "l.csv:1: the header has no feature"));
    CHECK(contains(read_error(dir.write("e.csv", "label,,b\n1,2,3\n")), "e.csv:1: column 2"));
  }
  SUBCASE("ragged rows") {
    const auto path = dir.write("ragged.csv", "label,a,b,c,d\n0,1,2,3,4\n1,1,2,3\n");
    CHECK(contains(read_error(path), "ragged.csv:3: expected 5 fields, found 4"));
    const auto longer = dir.write("long.csv", "label,a\n0,1\n\n1,2,3\n");
    CHECK(contains(read_error(longer), "long.csv:4: expected 2 fields, found 3"));
  }
  SUBCASE("non-numeric fields") {
    const auto path = dir.write("text.csv",
                                "label,sepal,petal_width\n"
                                "0,1,2\n"
                                "1,3,abc\n");
    CHECK(contains(read_error(path),
                   "text.csv:3, column 'petal_width': cannot parse 'abc' as a number"));
    CHECK(contains(read_error(dir.write("empty_field.csv", "label,a,b\n0,,2\n")),
                   "empty_field.csv:2, column 'a': cannot parse '' as a number"));
    CHECK(contains(read_error(dir.write("tail.csv", "label,a\n0,1.5x\n")),
                   "tail.csv:2, column 'a': cannot parse '1.5x'"));
    CHECK(contains(read_error(dir.write("quoted.csv", "label,a\n0,\"1\"\n")),
                   "quoted.csv:2, column 'a'"));
  }
  SUBCASE("NaN and Inf are rejected as io_error") {
    CHECK(contains(read_error(dir.write("nan.csv", "label,a,b\n0,1,nan\n")),
                   "nan.csv:2, column 'b': 'nan' is not a finite number"));
    CHECK(contains(read_error(dir.write("inf.csv", "label,a,b\n0,1,2\n0,-inf,2\n")),
                   "inf.csv:3, column 'a': '-inf' is not a finite number"));
    CHECK(contains(read_error(dir.write("big.csv", "label,a\n0,1e999\n")),
                   "big.csv:2, column 'a': '1e999' is out of the range"));
    const auto float_big = dir.write("fbig.csv", "label,a\n0,1e300\n");
    CHECK(contains(thrown<mahal::io_error>([&] { (void)mahal::read_csv<float>(float_big); }),
                   "out of the range of float"));
  }
  SUBCASE("bad labels") {
    CHECK(contains(read_error(dir.write("frac.csv", "label,a\n0,1\n1.5,2\n")),
                   "frac.csv:3, column 'label': label '1.5' is not an integer"));
    CHECK(contains(read_error(dir.write("word.csv", "label,a\nsetosa,1\n")),
                   "word.csv:2, column 'label': label 'setosa' is not an integer"));
    CHECK(contains(read_error(dir.write("neg.csv", "label,a\n0,1\n0,1\n-2,1\n")),
                   "neg.csv:4, column 'label': label -2 is negative"));
    CHECK(contains(read_error(dir.write("huge.csv", "label,a\n3000000000,1\n")),
                   "huge.csv:2, column 'label': label 3000000000 is too large"));
  }
  SUBCASE("label column not found") {
    const auto path = dir.write("nolabel.csv", "class,a\n0,1\n");
    const auto msg = read_error(path);
    CHECK(contains(msg, "nolabel.csv:1: no column named 'label'"));
    CHECK(contains(msg, "class, a"));
    mahal::csv_options opt;
    opt.label_index = 5;
    CHECK(contains(read_error(path, opt), "nolabel.csv:1: label_index = 5"));
    CHECK(contains(read_error(dir.write("twice.csv", "label,a,label\n0,1,0\n")),
                   "twice.csv:1: column 'label' appears 2 times"));
  }
}

TEST_CASE("write_csv then read_csv gives the same data bit for bit") {
  temp_dir dir;
  std::mt19937_64 rng(20240501);
  std::normal_distribution<double> normal;
  mahal::matrix<double> X(3, 50);
  mahal::label_vector y(50);
  for (mahal::index_t j = 0; j < X.cols(); ++j) {
    y[j] = static_cast<mahal::label_t>(j % 4);
    for (mahal::index_t i = 0; i < X.rows(); ++i) X(i, j) = normal(rng) * std::pow(10.0, i * 7 - 7);
  }
  X(0, 0) = std::numeric_limits<double>::denorm_min();
  X(1, 0) = -std::numeric_limits<double>::max();
  X(2, 0) = -0.0;
  const auto path = dir.file("round.csv");
  mahal::write_csv(path, X, y, {"alpha", "beta", "gamma"});
  const auto back = mahal::read_csv<double>(path);
  CHECK(back.feature_names == std::vector<std::string>{"alpha", "beta", "gamma"});
  CHECK(back.y == y);
  REQUIRE(back.X.rows() == 3);
  REQUIRE(back.X.cols() == 50);
  CHECK(std::memcmp(back.X.data(), X.data(), sizeof(double) * 150) == 0);

  const mahal::matrix<float> Xf = X.block(0, 1, 3, 49).cast<float>();
  mahal::write_csv(path, Xf, y.tail(49));  // replaces the file; default names
  const auto backf = mahal::read_csv<float>(path);
  CHECK(backf.feature_names == std::vector<std::string>{"x0", "x1", "x2"});
  CHECK(std::memcmp(backf.X.data(), Xf.data(), sizeof(float) * 147) == 0);
  CHECK(backf.y == y.tail(49));

  // A block of a bigger matrix (outer stride != rows) is written as its own values.
  mahal::write_csv(path, X.block(1, 0, 2, 5), y.head(5));
  CHECK(mahal::read_csv<double>(path).X == X.block(1, 0, 2, 5));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
}

TEST_CASE("write_csv rejects what read_csv could not read back") {
  temp_dir dir;
  const auto path = dir.file("bad.csv");
  mahal::matrix<double> X(2, 3);
  X << 1, 2, 3, 4, 5, 6;
  mahal::label_vector y(3);
  y << 0, 1, 0;
  auto write_error = [&](const mahal::matrix<double>& x, const mahal::label_vector& labels,
                         const std::vector<std::string>& names) {
    return thrown<mahal::invalid_argument>([&] { mahal::write_csv(path, x, labels, names); });
  };
  CHECK(contains(write_error(X, y.head(2), {}), "3 samples (columns) but y has 2"));
  CHECK(contains(write_error(X, y, {"a"}), "2 features (rows) but 1 feature names"));
  CHECK(contains(write_error(X, y, {"a", "b,c"}), "feature name 1 'b,c'"));
  CHECK(contains(write_error(X, y, {"label", "b"}), "feature name 0 is 'label'"));
  CHECK(contains(write_error(X, y, {"", "b"}), "feature name 0 is empty"));
  mahal::matrix<double> Xn = X;
  Xn(1, 2) = std::nan("");
  CHECK(contains(write_error(Xn, y, {}), "X(1, 2) = nan is not finite"));
  mahal::label_vector yn = y;
  yn[1] = -1;
  CHECK(contains(write_error(X, yn, {}), "label -1 of sample 1 is negative"));
  CHECK(contains(write_error(mahal::matrix<double>(0, 3), y, {}), "at least one feature"));
  CHECK_FALSE(std::filesystem::exists(path));

  const auto nowhere = dir.file("no/such/dir/out.csv");
  const auto msg = thrown<mahal::io_error>([&] { mahal::write_csv(nowhere, X, y); });
  CHECK(contains(msg, "mahal::write_csv: cannot write '" + nowhere + "'"));
}

TEST_CASE("write_csv leaves an existing file intact when the rename fails") {
  temp_dir dir;
  // The target is a non-empty directory: the temporary file is written, the rename fails.
  const auto target = dir.file("target");
  std::filesystem::create_directory(target);
  dir.write("target/keep.txt", "keep");
  mahal::matrix<double> X = mahal::matrix<double>::Ones(2, 2);
  mahal::label_vector y = mahal::label_vector::Zero(2);
  CHECK(contains(thrown<mahal::io_error>([&] { mahal::write_csv(target, X, y); }), "rename"));
  CHECK(std::filesystem::is_directory(target));
  CHECK(mahal::test::slurp(dir.file("target/keep.txt")) == "keep");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);  // no temporary left
}

TEST_CASE("num_classes is max + 1 and rejects negative labels") {
  mahal::label_vector y(5);
  y << 0, 3, 1, 3, 0;
  CHECK(mahal::num_classes(y) == 4);
  CHECK(mahal::num_classes(mahal::label_vector()) == 0);
  y[2] = -1;
  CHECK(contains(thrown<mahal::invalid_argument>([&] { (void)mahal::num_classes(y); }),
                 "mahal::num_classes: label -1 at index 2 is negative"));
}

TEST_CASE("the real iris.csv") {
  const auto path = k_data_dir + "/iris.csv";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path << " is absent (set MAHAL_DATA_DIR)");
    return;
  }
  const auto iris = mahal::read_csv<double>(path);
  CHECK(iris.X.rows() == 4);
  CHECK(iris.X.cols() == 150);
  CHECK(mahal::num_classes(iris.y) == 3);
  CHECK(iris.X(0, 0) == 5.1);
  CHECK(iris.X(1, 0) == 3.5);
  CHECK(iris.X(2, 0) == 1.4);
  CHECK(iris.X(3, 0) == 0.2);
  CHECK(iris.y[0] == 0);
  CHECK(iris.y[149] == 2);
  CHECK((iris.y.array() == 1).count() == 50);
  CHECK(iris.feature_names.front() == "sepal_length_cm");
}

TEST_CASE("the real letters.csv parses fast") {
  const auto path = k_data_dir + "/letters.csv";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path << " is absent (set MAHAL_DATA_DIR)");
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  const auto letters = mahal::read_csv<double>(path);
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  MESSAGE("letters.csv (20000 x 17) parsed in " << took.count() << " ms");
  CHECK(letters.X.rows() == 16);
  CHECK(letters.X.cols() == 20000);
  CHECK(mahal::num_classes(letters.y) == 26);
  CHECK(letters.y[0] == 19);
  CHECK(letters.X(0, 0) == 2.0);
  CHECK(letters.X(15, 1) == 10.0);
}

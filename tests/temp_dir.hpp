// temp_dir.hpp — test helpers: a fresh folder under the system's temporary directory for one test,
// removed with everything in it when the test ends.
#pragma once

#include <unistd.h>

#include <atomic>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

namespace mahal::test {

class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    const auto base = std::filesystem::temp_directory_path();
    std::random_device seed;
    for (;;) {
      path_ = base / ("mahal_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) +
                      "_" + std::to_string(seed()));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  // Full path of `name` inside the folder.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Writes `bytes` to `name` inside the folder and returns its full path.
  std::string write(const std::string& name, std::string_view bytes) const {
    const std::string p = file(name);
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The message of the exception of type E that f() throws; "<no exception>" when it throws
// nothing and "<other exception: ...>" when it throws something else, so that a CHECK on the
// message also checks the type and shows what happened when it fails.
template <class E, class F>
std::string thrown(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<other exception: ") + e.what() + ">";
  }
  return "<no exception>";
}

inline bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// The whole content of a file.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace mahal::test

// fuzz_input.hpp — what the fuzz targets share: the readers take paths, so each input is written
// to a file of this process's own first; and a model file's checksum is made valid, so that
// mutations reach the payload parser instead of all failing the CRC test.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "file_io.hpp"

namespace mahal::fuzz {

// A file in the temporary directory holding the given bytes, removed when it goes.
class scratch_file {
 public:
  scratch_file(std::string_view bytes, const char* suffix)
      : path_((std::filesystem::temp_directory_path() /
               ("mahal_fuzz_" + std::to_string(::getpid()) + suffix))
                  .string()) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) std::abort();
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
      std::abort();
    }
    std::fclose(f);
  }
  ~scratch_file() { std::remove(path_.c_str()); }
  scratch_file(const scratch_file&) = delete;
  scratch_file& operator=(const scratch_file&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The input as a string, without its first `skip` bytes (the targets use them to pick a mode).
inline std::string_view rest(const std::uint8_t* data, std::size_t size, std::size_t skip) {
  return skip >= size ? std::string_view()
                      : std::string_view(reinterpret_cast<const char*>(data) + skip, size - skip);
}

// A version-1 model file around `payload`, with the right size field and CRC-32.
inline std::string model_file_around(std::string_view payload) {
  std::string bytes = "MAHALMDL";
  auto put_le = [&bytes](std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  put_le(1, 4);
  put_le(payload.size(), 8);
  bytes += payload;
  put_le(detail::crc32(bytes.data(), bytes.size()), 4);
  return bytes;
}

}  // namespace mahal::fuzz

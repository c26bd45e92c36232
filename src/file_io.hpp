// file_io.hpp (private) — whole-file reads, bounded sequential reads, atomic writes and the
// CRC-32, shared by the CSV, .npy and model-file code. Every failure is a mahal::io_error whose
// message starts with the calling function's name (`where`) and names the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mahal::detail {

// A file opened for reading, with its size known up front so that callers can bound every
// length they read from it before allocating.
class input_file {
 public:
  input_file(const std::string& path, const char* where);
  ~input_file();
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;

  // Whether size() is known: true for a regular file, false e.g. for a pipe.
  bool size_known() const { return size_known_; }
  // Bytes in the file when size_known(), else 0.
  std::uint64_t size() const { return size_; }
  // Reads exactly n bytes or throws "<where>: <path>: truncated ...: <what>".
  void read_exact(void* dst, std::size_t n, const char* what);
  // Reads up to the end of the file.
  std::string read_rest();

 private:
  std::string path_;
  const char* where_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool size_known_ = false;
};

// The whole file as bytes.
std::string read_whole_file(const std::string& path, const char* where);

// Writes `path` atomically: the bytes go to "<path>.tmp.<pid>", which is flushed to disk
// (fsync) and renamed over `path` by commit(). If anything fails, or the writer is destroyed
// before commit(), the temporary file is removed and an existing `path` is left untouched.
class atomic_file_writer {
 public:
  atomic_file_writer(const std::string& path, const char* where);
  ~atomic_file_writer();
  atomic_file_writer(const atomic_file_writer&) = delete;
  atomic_file_writer& operator=(const atomic_file_writer&) = delete;

  void write(const void* data, std::size_t n);
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what, int err);

  std::string path_;
  std::string temp_path_;
  const char* where_;
  int fd_ = -1;
  bool committed_ = false;
};

// CRC-32 as in zlib's crc32() and IEEE 802.3 (table-driven), as model files store it.
std::uint32_t crc32(const char* data, std::size_t n);

// Convenience: atomic_file_writer for one buffer.
void write_file_atomically(const std::string& path, const std::string& bytes, const char* where);

}  // namespace mahal::detail

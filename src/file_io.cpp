#include "file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mahal/error.hpp"

namespace mahal::detail {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Makes a completed rename durable; failures are ignored because the rename itself has already
// taken effect and not every file system supports fsync on a directory.
void sync_parent_dir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  const int dir_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return;
  (void)::fsync(dir_fd);
  ::close(dir_fd);
}

// The CRC-32 table of the reflected polynomial 0xEDB88320.
constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> k_crc_table = make_crc_table();

}  // namespace

std::uint32_t crc32(const char* data, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c = k_crc_table[(c ^ static_cast<unsigned char>(data[i])) & 0xFF] ^ (c >> 8);
  }
  return c ^ 0xFFFFFFFFu;
}

input_file::input_file(const std::string& path, const char* where) : path_(path), where_(where) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    const int err = errno;
    throw io_error(detail::concat(where_, ": cannot open '", path_, "': ", errno_text(err)));
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      ::close(fd_);
      throw io_error(detail::concat(where_, ": cannot read '", path_, "': it is a directory"));
    }
    if (S_ISREG(st.st_mode)) {
      size_ = static_cast<std::uint64_t>(st.st_size);
      size_known_ = true;
    }
  }
}

input_file::~input_file() {
  if (fd_ >= 0) ::close(fd_);
}

void input_file::read_exact(void* dst, std::size_t n, const char* what) {
  auto* out = static_cast<char*>(dst);
  std::size_t done = 0;
  while (done < n) {
    const ::ssize_t got = ::read(fd_, out + done, n - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      throw io_error(detail::concat(where_, ": error reading '", path_, "': ", errno_text(err)));
    }
    if (got == 0) {
      throw io_error(detail::concat(where_, ": '", path_, "' is truncated: ", what, " needs ", n,
                                    " bytes but only ", done, " remain"));
    }
    done += static_cast<std::size_t>(got);
  }
}

std::string input_file::read_rest() {
  std::string bytes;
  bytes.reserve(static_cast<std::size_t>(size_));
  char chunk[1 << 16];
  for (;;) {
    const ::ssize_t got = ::read(fd_, chunk, sizeof chunk);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      throw io_error(detail::concat(where_, ": error reading '", path_, "': ", errno_text(err)));
    }
    if (got == 0) break;
    bytes.append(chunk, static_cast<std::size_t>(got));
  }
  return bytes;
}

std::string read_whole_file(const std::string& path, const char* where) {
  input_file in(path, where);
  return in.read_rest();
}

atomic_file_writer::atomic_file_writer(const std::string& path, const char* where)
    : path_(path), temp_path_(path + ".tmp." + std::to_string(::getpid())), where_(where) {
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int err = errno;
    throw io_error(detail::concat(where_, ": cannot write '", path_, "' (creating '", temp_path_,
                                  "'): ", errno_text(err)));
  }
}

atomic_file_writer::~atomic_file_writer() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(temp_path_.c_str());
}

void atomic_file_writer::fail(const std::string& what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temp_path_.c_str());
  committed_ = true;  // nothing left for the destructor to clean up
  throw io_error(
      detail::concat(where_, ": cannot write '", path_, "': ", what, ": ", errno_text(err)));
}

void atomic_file_writer::write(const void* data, std::size_t n) {
  const auto* in = static_cast<const char*>(data);
  while (n > 0) {
    const ::ssize_t put = ::write(fd_, in, n);
    if (put < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    in += put;
    n -= static_cast<std::size_t>(put);
  }
}

void atomic_file_writer::commit() {
  // fsync before rename: otherwise a crash can leave the new name pointing at empty blocks.
  if (::fsync(fd_) != 0) fail("fsync failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close failed", errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) fail("rename failed", errno);
  committed_ = true;
  sync_parent_dir(path_);
}

void write_file_atomically(const std::string& path, const std::string& bytes, const char* where) {
  atomic_file_writer out(path, where);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

}  // namespace mahal::detail

#include "storage/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace loyalty::storage {
namespace {

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

FileError::FileError(std::string_view operation, const std::filesystem::path& path, int error_number)
    : std::runtime_error(std::string(operation) + " " + path.string() + ": " + std::strerror(error_number)),
      error_number_(error_number) {}

void sync_directory(const std::filesystem::path& directory) {
  const auto dir = directory.empty() ? std::filesystem::path(".") : directory;
  Descriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw FileError("open directory", dir, errno);
  if (::fsync(fd.get()) != 0) throw FileError("fsync directory", dir, errno);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode, Replace replace) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  ::unlink(temporary.c_str());  // a leftover from a crash; ENOENT is the normal case
  {
    Descriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (fd.get() < 0) throw FileError("create", temporary, errno);
    // The umask may have narrowed the mode further; it must not have widened it.
    if (::fchmod(fd.get(), mode) != 0) throw FileError("chmod", temporary, errno);
    std::size_t written = 0;
    while (written < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw FileError("write", temporary, error);
      }
      written += static_cast<std::size_t>(n);
    }
  }
  publish_file(temporary, path, replace);
}

void publish_file(const std::filesystem::path& temporary, const std::filesystem::path& path, Replace replace) {
  {
    Descriptor fd(::open(temporary.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
      const int error = errno;
      ::unlink(temporary.c_str());
      throw FileError("fsync", temporary, error);
    }
  }
  // link() refuses an existing name where rename() would replace it.
  const int rc =
      replace == Replace::never ? ::link(temporary.c_str(), path.c_str()) : ::rename(temporary.c_str(), path.c_str());
  if (rc != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw FileError(replace == Replace::never ? "create" : "rename to", path, error);
  }
  if (replace == Replace::never) ::unlink(temporary.c_str());
  sync_directory(path.parent_path());
}

int probe_space(const std::filesystem::path& directory, off_t bytes) {
  // Where unnamed files or fallocate are not supported, the filesystem is asked what is free.
  auto free_space = [&] {
    struct statvfs stats {};
    if (::statvfs(directory.c_str(), &stats) != 0) return errno;
    if ((stats.f_flag & ST_RDONLY) != 0) return EROFS;
    return static_cast<off_t>(stats.f_bavail * stats.f_frsize) >= bytes ? 0 : ENOSPC;
  };
  Descriptor fd(::open(directory.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  if (fd.get() < 0) return errno == EOPNOTSUPP || errno == EISDIR ? free_space() : errno;
  if (::fallocate(fd.get(), 0, 0, bytes) == 0) return 0;
  return errno == EOPNOTSUPP ? free_space() : errno;
}

std::string space_problem(int error_number) {
  switch (error_number) {
    case 0: return "";
    case ENOSPC: return "the disk is full";
    case EDQUOT: return "the disk quota is used up";
    case EROFS: return "the filesystem is mounted read-only";
    default: return std::string("the disk refuses writes (") + std::strerror(error_number) + ")";
  }
}

std::string read_file(const std::filesystem::path& path) {
  Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw FileError("open", path, errno);
  std::string content;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileError("read", path, errno);
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
}

std::string read_secret(const std::filesystem::path& path, std::string_view what) {
  std::string secret = storage::read_file(path);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  if (secret.empty()) throw std::runtime_error(path.string() + ": the " + std::string(what) + " file is empty");
  return secret;
}

}  // namespace loyalty::storage

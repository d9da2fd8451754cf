// A real filesystem that fills up: a tmpfs of a few MiB mounted for the test, and a filler file
// that takes its space. Mounting needs root with CAP_SYS_ADMIN (CI runs the suite as root);
// where the mount is refused, the test fails and says why.

#ifndef LOYALTY_TESTS_STORAGE_SMALL_DISK_HPP_
#define LOYALTY_TESTS_STORAGE_SMALL_DISK_HPP_

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace loyalty::storage::testing {

class SmallDisk {
 public:
  // Mounts a tmpfs of `mib` MiB on `at`, an empty directory (created when missing).
  SmallDisk(const std::filesystem::path& at, int mib) : path_(at) {
    std::filesystem::create_directories(at);
    const std::string options = "size=" + std::to_string(mib) + "m,mode=0700";
    const bool mounted = ::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) == 0;
    REQUIRE_MESSAGE(mounted, "cannot mount a " << mib << " MiB tmpfs on " << at.string() << " (" << std::strerror(errno)
                                               << "): this test needs root with CAP_SYS_ADMIN for a real full disk");
  }
  ~SmallDisk() { ::umount2(path_.c_str(), MNT_DETACH); }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes a filler file until the disk refuses more, then gives `leave` bytes back.
  void fill(off_t leave = 0) {
    const auto filler = path_ / ".filler";
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    const std::string block(64 * 1024, 'x');
    int refusal = 0;
    while (refusal == 0) {
      const ssize_t n = ::write(fd, block.data(), block.size());
      if (n < 0) refusal = errno;
    }
    // A last short block may have fitted; the disk is full to the page now.
    const off_t size = ::lseek(fd, 0, SEEK_END);
    const bool shrunk = leave == 0 || ::ftruncate(fd, size > leave ? size - leave : 0) == 0;
    ::close(fd);
    REQUIRE_MESSAGE(refusal == ENOSPC, "filling " << path_.string() << " ended with " << std::strerror(refusal));
    REQUIRE(shrunk);
  }

  // Deletes the filler: the space fill() took is free again.
  void make_room() { std::filesystem::remove(path_ / ".filler"); }

 private:
  std::filesystem::path path_;
};

}  // namespace loyalty::storage::testing

#endif  // LOYALTY_TESTS_STORAGE_SMALL_DISK_HPP_

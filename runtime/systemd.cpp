#include "runtime/systemd.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace loyalty::runtime {

SystemdNotifier SystemdNotifier::from_environment() {
  SystemdNotifier notifier;
  if (const char* path = std::getenv("NOTIFY_SOCKET"); path && *path) notifier.socket_path_ = path;
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  const bool for_us = !pid || std::strtoll(pid, nullptr, 10) == ::getpid();
  if (usec && for_us) {
    const long long value = std::strtoll(usec, nullptr, 10);
    if (value > 0) notifier.watchdog_interval_ = std::chrono::microseconds(value / 2);
  }
  return notifier;
}

bool SystemdNotifier::notify(std::string_view state) const {
  if (!enabled()) return true;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
  const ssize_t sent =
      ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), length);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

bool is_journal_stream(int fd) {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream || !*stream) return false;
  unsigned long long device = 0;
  unsigned long long inode = 0;
  char rest = 0;
  if (std::sscanf(stream, "%llu:%llu%c", &device, &inode, &rest) != 2) return false;
  struct stat file {};
  if (::fstat(fd, &file) != 0) return false;
  return static_cast<unsigned long long>(file.st_dev) == device &&
         static_cast<unsigned long long>(file.st_ino) == inode;
}

}  // namespace loyalty::runtime

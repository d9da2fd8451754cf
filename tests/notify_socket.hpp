// The receiving end of the systemd notification protocol, for tests that run a daemon as
// systemd would: a datagram socket whose path goes into the child's NOTIFY_SOCKET.

#ifndef LOYALTY_TESTS_NOTIFY_SOCKET_HPP_
#define LOYALTY_TESTS_NOTIFY_SOCKET_HPP_

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::testing {

class NotifySocket {
 public:
  explicit NotifySocket(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string text = path_.string();
    REQUIRE(text.size() < sizeof address.sun_path);
    std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  }
  ~NotifySocket() {
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // The setting to put in the daemon's environment.
  std::string env() const { return "NOTIFY_SOCKET=" + path_.string(); }

  // Receives datagrams until one holds the line `state` (such as "READY=1") or the deadline;
  // every datagram received is kept in order in messages().
  bool wait_for(std::string_view state, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) continue;
      messages_.emplace_back(buffer, static_cast<std::size_t>(got));
      const std::string& message = messages_.back();
      for (std::size_t at = 0; at <= message.size();) {
        const std::size_t end = std::min(message.find('\n', at), message.size());
        if (std::string_view(message).substr(at, end - at) == state) return true;
        at = end + 1;
      }
    }
  }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

}  // namespace loyalty::testing

#endif  // LOYALTY_TESTS_NOTIFY_SOCKET_HPP_

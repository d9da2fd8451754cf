// The systemd notification protocol (sd_notify), spoken directly on $NOTIFY_SOCKET so that the
// agent and the ledger need no libsystemd: READY=1 once they listen, RELOADING=1 and READY=1
// around a reload, STOPPING=1 at shutdown, WATCHDOG=1 at half the unit's WatchdogSec. Outside
// systemd (no $NOTIFY_SOCKET) every call does nothing.

#ifndef LOYALTY_RUNTIME_SYSTEMD_HPP_
#define LOYALTY_RUNTIME_SYSTEMD_HPP_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::runtime {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.
  static SystemdNotifier from_environment();

  bool enabled() const { return !socket_path_.empty(); }
  // How often to send WATCHDOG=1: half the watchdog timeout; nullopt when there is none.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_interval_; }

  // Sends one datagram of newline-separated assignments; returns false if it could not.
  bool notify(std::string_view state) const;

 private:
  std::string socket_path_;
  std::optional<std::chrono::microseconds> watchdog_interval_;
};

// Whether `fd` is the connection to the systemd journal that $JOURNAL_STREAM names
// ("DEVICE:INODE", set by systemd for a unit whose stderr or stdout goes to the journal). A
// descriptor redirected elsewhere by the unit's command line compares unequal.
bool is_journal_stream(int fd);

}  // namespace loyalty::runtime

#endif  // LOYALTY_RUNTIME_SYSTEMD_HPP_

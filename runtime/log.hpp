// Structured logs of the agent and the ledger: one JSON object per line on stderr, which journald keeps as the message.
//
//   {"time":"2026-11-27T07:15:02.118Z","level":"info","event":"commit","message":"...",
//    "receipt_id":"R-1","seq":1042}
//
// `event` is a stable name to filter on; `message` is for a person; the rest are fields. When
// stderr is the systemd journal, each line starts with its syslog priority ("<4>" for a
// warning), which journald strips and keeps as the entry's priority (sd-daemon(3)), so that
// `journalctl -p warning` finds warnings and errors.

#ifndef LOYALTY_RUNTIME_LOG_HPP_
#define LOYALTY_RUNTIME_LOG_HPP_

#include <iosfwd>
#include <mutex>
#include <string_view>

#include "runtime/json_reader.hpp"

namespace loyalty::runtime {

enum class LogLevel { debug, info, warning, error };

// How each line starts: with the JSON object, or with the line's syslog priority first.
enum class LogPrefix { none, syslog_priority };

// Thread-safe: each line is written whole, under a lock, whichever thread writes it.
class Log {
 public:
  // `out` must outlive the Log.
  explicit Log(std::ostream& out, LogLevel threshold = LogLevel::info, LogPrefix prefix = LogPrefix::none)
      : out_(out), threshold_(threshold), prefix_(prefix) {}

  void set_threshold(LogLevel threshold) { threshold_ = threshold; }
  void set_prefix(LogPrefix prefix) { prefix_ = prefix; }
  bool enabled(LogLevel level) const { return level >= threshold_; }

  void write(LogLevel level, std::string_view event, std::string_view message, OrderedJson fields = {});
  void info(std::string_view event, std::string_view message, OrderedJson fields = {}) {
    write(LogLevel::info, event, message, std::move(fields));
  }
  void warning(std::string_view event, std::string_view message, OrderedJson fields = {}) {
    write(LogLevel::warning, event, message, std::move(fields));
  }
  void error(std::string_view event, std::string_view message, OrderedJson fields = {}) {
    write(LogLevel::error, event, message, std::move(fields));
  }

 private:
  std::ostream& out_;
  LogLevel threshold_;
  LogPrefix prefix_;
  std::mutex mutex_;
};

// The prefix for a daemon's log on stderr: syslog priorities when stderr is the journal.
LogPrefix stderr_log_prefix();

}  // namespace loyalty::runtime

#endif  // LOYALTY_RUNTIME_LOG_HPP_

#include "runtime/log.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <ostream>

#include "runtime/systemd.hpp"

namespace loyalty::runtime {
namespace {

std::string_view name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warning: return "warning";
    case LogLevel::error: break;
  }
  return "error";
}

// syslog(3)'s priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG.
std::string_view priority(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "<7>";
    case LogLevel::info: return "<6>";
    case LogLevel::warning: return "<4>";
    case LogLevel::error: break;
  }
  return "<3>";
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(text, length) + fraction;
}

}  // namespace

void Log::write(LogLevel level, std::string_view event, std::string_view message, OrderedJson fields) {
  if (!enabled(level)) return;
  OrderedJson line;
  line["time"] = timestamp();
  line["level"] = name(level);
  line["event"] = event;
  line["message"] = message;
  if (fields.is_object()) {
    for (auto& [key, value] : fields.items()) line[key] = std::move(value);
  }
  // One write per line, so that lines from one process never interleave.
  std::string text(prefix_ == LogPrefix::syslog_priority ? priority(level) : "");
  text += line.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
  text += '\n';
  const std::lock_guard lock(mutex_);
  out_ << text << std::flush;
}

LogPrefix stderr_log_prefix() {
  return is_journal_stream(STDERR_FILENO) ? LogPrefix::syslog_priority : LogPrefix::none;
}

}  // namespace loyalty::runtime

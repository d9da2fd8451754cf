#include "drivers/scanner.hpp"

namespace loyalty::drivers {
namespace {

std::string_view trimmed(std::string_view code) {
  while (!code.empty() && (code.front() == '\r' || code.front() == '\n')) code.remove_prefix(1);
  while (!code.empty() && (code.back() == '\r' || code.back() == '\n')) code.remove_suffix(1);
  return code;
}

}  // namespace

void LineSplitter::feed(std::string_view bytes, const ScannerCallbacks& callbacks) {
  const auto too_long = [&] {
    if (!overlong_) callbacks.trouble("a scan longer than " + std::to_string(max_) + " bytes was dropped");
    overlong_ = true;
  };
  pending_.append(bytes);
  for (;;) {
    const std::size_t end = pending_.find(terminator_);
    if (end == std::string::npos) break;
    const std::string_view code = trimmed(std::string_view(pending_).substr(0, end));
    if (code.size() > max_) too_long();
    if (!overlong_ && !code.empty()) callbacks.on_code(std::string(code));
    overlong_ = false;
    pending_.erase(0, end + terminator_.size());
  }
  if (pending_.size() > max_) {
    too_long();
    // Keep only what could be the start of a terminator.
    pending_.erase(0, pending_.size() - std::min(pending_.size(), terminator_.size() - 1));
  }
}

}  // namespace loyalty::drivers

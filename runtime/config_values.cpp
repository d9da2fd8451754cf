#include "runtime/config_values.hpp"

#include <arpa/inet.h>

namespace loyalty::runtime {

std::filesystem::path resolve_path(const std::filesystem::path& base, const std::string& value) {
  const std::filesystem::path path(value);
  return path.is_absolute() ? path : base / path;
}

std::optional<HostPort> split_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return HostPort{std::string(host), std::string(text.substr(colon + 1))};
}

std::optional<bool> numeric_loopback(const std::string& host) {
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
  return std::nullopt;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const int port = std::stoi(std::string(text));
  if (port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

LogLevel read_log_level(Reader& in) {
  return in.choice<LogLevel>("log_level",
                             {{"debug", LogLevel::debug},
                              {"info", LogLevel::info},
                              {"warning", LogLevel::warning},
                              {"error", LogLevel::error}},
                             LogLevel::info);
}

}  // namespace loyalty::runtime

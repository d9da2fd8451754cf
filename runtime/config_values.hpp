// Values that the configuration files (and command lines) of both ends read the same way:
// paths relative to the file, ADDRESS:PORT pairs, the log level.

#ifndef LOYALTY_RUNTIME_CONFIG_VALUES_HPP_
#define LOYALTY_RUNTIME_CONFIG_VALUES_HPP_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/json_reader.hpp"
#include "runtime/log.hpp"

namespace loyalty::runtime {

// `value` as a path: absolute as it is, relative to `base` (the config file's directory) otherwise.
std::filesystem::path resolve_path(const std::filesystem::path& base, const std::string& value);

// "127.0.0.1:8470", "[::1]:8470", "ledger.example:8443" split at the last colon, the host
// without brackets; nullopt when there is no colon.
struct HostPort {
  std::string host;
  std::string port;
};
std::optional<HostPort> split_host_port(std::string_view text);

// For a numeric IPv4 or IPv6 address, whether it is a loopback address (127.0.0.0/8, ::1);
// nullopt for anything else (a host name).
std::optional<bool> numeric_loopback(const std::string& host);

// A port number: 1 to 5 digits, at most 65535; nullopt for anything else.
std::optional<std::uint16_t> parse_port(std::string_view text);

// The optional "log_level" of a configuration object: debug, info (the default), warning, error.
LogLevel read_log_level(Reader& in);

}  // namespace loyalty::runtime

#endif  // LOYALTY_RUNTIME_CONFIG_VALUES_HPP_

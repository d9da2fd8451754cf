#include "agent/config.hpp"

#include <arpa/inet.h>

#include "storage/files.hpp"
#include "storage/journal_entry.hpp"
#include "sync/json_reader.hpp"

namespace loyalty::agent {
namespace {

using sync::fail;
using sync::Reader;

bool is_loopback(const std::string& address) {
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, address.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& value) {
  const std::filesystem::path path(value);
  return path.is_absolute() ? path : base / path;
}

void read_listen(const std::string& where, const std::string& text, PosApiConfig& api) {
  // "127.0.0.1:8470" or "[::1]:8470"
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) fail(where, "must be ADDRESS:PORT, got \"" + text + "\"");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = text.substr(colon + 1);
  if (!is_loopback(host)) {
    fail(where,
         "must be a loopback address (127.0.0.0/8 or ::1): the POS API never listens beyond this terminal, got \"" +
             text + "\"");
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    fail(where, "port must be 0 to 65535, got \"" + port + "\"");
  }
  api.listen_address = host;
  api.listen_port = static_cast<std::uint16_t>(std::stoi(port));
}

}  // namespace

Config load_config(const std::filesystem::path& path) {
  const sync::Json document = sync::parse_json(storage::read_file(path), path.string());
  const std::filesystem::path base = path.parent_path().empty() ? "." : path.parent_path();
  Config config;
  Reader top(document, "config");
  config.terminal_id = top.string("terminal_id", storage::kMaxTerminalIdBytes);
  try {
    storage::validate_terminal_id(config.terminal_id);
  } catch (const std::exception& error) {
    fail(top.path_of("terminal_id"), error.what());
  }
  config.store_id = top.string("store_id", 64);
  config.data_dir = resolve(base, top.string("data_dir", 4096));
  config.rulebook_file = resolve(base, top.string("rulebook_file", 4096));
  config.member_secret_file = resolve(base, top.string("member_secret_file", 4096));
  config.phone_country_code = top.string_or("phone_country_code", "7", 3);
  if (config.phone_country_code.empty() ||
      config.phone_country_code.find_first_not_of("0123456789") != std::string::npos ||
      config.phone_country_code.front() == '0') {
    fail(top.path_of("phone_country_code"), "must be an E.164 calling code of 1 to 3 digits, like \"7\" or \"49\"");
  }
  config.log_level = top.choice<LogLevel>("log_level",
                                          {{"debug", LogLevel::debug},
                                           {"info", LogLevel::info},
                                           {"warning", LogLevel::warning},
                                           {"error", LogLevel::error}},
                                          LogLevel::info);
  config.prune_after_days = top.integer_or("prune_after_days", 90, 1, 3650);
  if (top.has("pos_api")) {
    Reader api = top.object("pos_api");
    PosApiConfig& out = config.pos_api;
    if (api.has("listen")) read_listen(api.path_of("listen"), api.string("listen", 64), out);
    if (api.has("unix_socket")) out.unix_socket = resolve(base, api.string("unix_socket", 100));
    if (api.has("token_file")) out.token_file = resolve(base, api.string("token_file", 4096));
    out.max_request_bytes =
        static_cast<std::size_t>(api.integer_or("max_request_bytes", 64 * 1024, 1024, 16 * 1024 * 1024));
    out.requests_per_second = api.integer_or("requests_per_second", 200, 1, 100000);
    out.request_timeout_ms = api.integer_or("request_timeout_ms", 5000, 100, 600000);
    api.finish();
  }
  top.finish();
  return config;
}

}  // namespace loyalty::agent

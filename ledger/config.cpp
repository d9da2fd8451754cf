#include "ledger/config.hpp"

#include <arpa/inet.h>

#include "storage/files.hpp"
#include "sync/json_reader.hpp"

namespace loyalty::ledger {
namespace {

using sync::fail;
using sync::Reader;

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& value) {
  const std::filesystem::path path(value);
  return path.is_absolute() ? path : base / path;
}

// "0.0.0.0:8443", "[::]:8443".
Endpoint read_endpoint(const std::string& where, const std::string& text, bool loopback_only) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) fail(where, "must be ADDRESS:PORT, got \"" + text + "\"");
  Endpoint endpoint;
  endpoint.address = text.substr(0, colon);
  if (endpoint.address.size() >= 2 && endpoint.address.front() == '[' && endpoint.address.back() == ']') {
    endpoint.address = endpoint.address.substr(1, endpoint.address.size() - 2);
  }
  in_addr v4{};
  in6_addr v6{};
  const bool is_v4 = ::inet_pton(AF_INET, endpoint.address.c_str(), &v4) == 1;
  const bool is_v6 = !is_v4 && ::inet_pton(AF_INET6, endpoint.address.c_str(), &v6) == 1;
  if (!is_v4 && !is_v6) fail(where, "must be a numeric IP address and a port, got \"" + text + "\"");
  if (loopback_only && !(is_v4 ? (ntohl(v4.s_addr) >> 24) == 127 : IN6_IS_ADDR_LOOPBACK(&v6))) {
    fail(where, "must be a loopback address: health and metrics are served without TLS, got \"" + text + "\"");
  }
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    fail(where, "port must be 0 to 65535, got \"" + port + "\"");
  }
  endpoint.port = static_cast<std::uint16_t>(std::stoi(port));
  return endpoint;
}

}  // namespace

ServerConfig load_server_config(const std::filesystem::path& path) {
  const std::string text = storage::read_file(path);
  const sync::Json document = sync::parse_json(text, "ledger");
  if (!document.is_object()) fail("ledger", "must be an object");
  const std::filesystem::path base = path.parent_path();
  ServerConfig config;
  Reader top(document, "ledger");
  config.db = resolve(base, top.string("db", 4096));
  if (top.has("listen")) config.listen = read_endpoint(top.path_of("listen"), top.string("listen", 64), false);
  if (top.has("admin_listen")) {
    config.admin_listen = read_endpoint(top.path_of("admin_listen"), top.string("admin_listen", 64), true);
  }
  {
    Reader tls = top.object("tls");
    config.tls.ca = resolve(base, tls.string("ca", 4096));
    config.tls.certificate = resolve(base, tls.string("certificate", 4096));
    config.tls.key = resolve(base, tls.string("key", 4096));
    if (tls.has("crl")) config.tls.crl = resolve(base, tls.string("crl", 4096));
    tls.finish();
  }
  config.settings.expiry_days = top.integer_or("expiry_days", config.settings.expiry_days, 1, 36500);
  config.settings.hold_ttl_ms = top.integer_or("hold_ttl_ms", config.settings.hold_ttl_ms, 1000, 24LL * 3600 * 1000);
  config.max_batch_bytes = static_cast<std::size_t>(
      top.integer_or("max_batch_bytes", static_cast<std::int64_t>(config.max_batch_bytes), 4096, 256LL << 20));
  config.read_timeout_ms = top.integer_or("read_timeout_ms", config.read_timeout_ms, 100, 600000);
  config.expire_every_s = top.integer_or("expire_every_s", config.expire_every_s, 1, 86400);
  config.log_level = top.choice<sync::LogLevel>("log_level",
                                                {{"debug", sync::LogLevel::debug},
                                                 {"info", sync::LogLevel::info},
                                                 {"warning", sync::LogLevel::warning},
                                                 {"error", sync::LogLevel::error}},
                                                sync::LogLevel::info);
  top.finish();
  return config;
}

}  // namespace loyalty::ledger

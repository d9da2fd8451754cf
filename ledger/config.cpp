#include "ledger/config.hpp"

#include "ledger/open_store.hpp"
#include "runtime/config_values.hpp"
#include "runtime/json_reader.hpp"
#include "storage/files.hpp"

namespace loyalty::ledger {
namespace {

using runtime::fail;
using runtime::Reader;

// "0.0.0.0:8443", "[::]:8443".
Endpoint read_endpoint(const std::string& where, const std::string& text, bool loopback_only) {
  const auto split = runtime::split_host_port(text);
  if (!split) fail(where, "must be ADDRESS:PORT, got \"" + text + "\"");
  const auto loopback = runtime::numeric_loopback(split->host);
  if (!loopback) fail(where, "must be a numeric IP address and a port, got \"" + text + "\"");
  if (loopback_only && !*loopback) {
    fail(where, "must be a loopback address: health and metrics are served without TLS, got \"" + text + "\"");
  }
  const auto port = runtime::parse_port(split->port);
  if (!port) fail(where, "port must be 0 to 65535, got \"" + split->port + "\"");
  return {split->host, *port};
}

}  // namespace

ServerConfig load_server_config(const std::filesystem::path& path) {
  const std::string text = storage::read_file(path);
  const runtime::Json document = runtime::parse_json(text, "ledger");
  if (!document.is_object()) fail("ledger", "must be an object");
  const std::filesystem::path base = path.parent_path();
  ServerConfig config;
  Reader top(document, "ledger");
  config.db = top.string("db", 4096);
  if (!names_postgres(config.db)) config.db = runtime::resolve_path(base, config.db).string();
  if (names_postgres(config.db)) {
    config.db_connections = static_cast<std::size_t>(top.integer_or("db_connections", 4, 1, 64));
  } else if (top.has("db_connections")) {
    top.integer_or("db_connections", 1, 1, 1);  // a SQLite file has one writer: 1, or the error says so
  }
  if (top.has("listen")) config.listen = read_endpoint(top.path_of("listen"), top.string("listen", 64), false);
  if (top.has("admin_listen")) {
    config.admin_listen = read_endpoint(top.path_of("admin_listen"), top.string("admin_listen", 64), true);
  }
  {
    Reader tls = top.object("tls");
    config.tls.ca = runtime::resolve_path(base, tls.string("ca", 4096));
    config.tls.certificate = runtime::resolve_path(base, tls.string("certificate", 4096));
    config.tls.key = runtime::resolve_path(base, tls.string("key", 4096));
    if (tls.has("crl")) config.tls.crl = runtime::resolve_path(base, tls.string("crl", 4096));
    tls.finish();
  }
  config.settings.expiry_days = top.integer_or("expiry_days", config.settings.expiry_days, 1, 36500);
  config.settings.hold_ttl_ms = top.integer_or("hold_ttl_ms", config.settings.hold_ttl_ms, 1000, 24LL * 3600 * 1000);
  config.network_threads = static_cast<std::size_t>(
      top.integer_or("network_threads", static_cast<std::int64_t>(config.network_threads), 1, 64));
  config.upload_threads = static_cast<std::size_t>(
      top.integer_or("upload_threads", static_cast<std::int64_t>(config.upload_threads), 1, 1024));
  config.group_entries = static_cast<std::size_t>(
      top.integer_or("group_entries", static_cast<std::int64_t>(config.group_entries), 1, 1'000'000));
  config.upload_admissions = static_cast<std::size_t>(
      top.integer_or("upload_admissions", static_cast<std::int64_t>(config.upload_admissions), 1, 4096));
  config.admission_wait_ms = top.integer_or("admission_wait_ms", config.admission_wait_ms, 100, 600000);
  config.max_uploads_waiting = static_cast<std::size_t>(
      top.integer_or("max_uploads_waiting", static_cast<std::int64_t>(config.max_uploads_waiting), 1, 100'000));
  config.max_batch_bytes = static_cast<std::size_t>(
      top.integer_or("max_batch_bytes", static_cast<std::int64_t>(config.max_batch_bytes), 4096, 256LL << 20));
  config.read_timeout_ms = top.integer_or("read_timeout_ms", config.read_timeout_ms, 100, 600000);
  config.expire_every_s = top.integer_or("expire_every_s", config.expire_every_s, 1, 86400);
  config.log_level = runtime::read_log_level(top);
  top.finish();
  return config;
}

}  // namespace loyalty::ledger

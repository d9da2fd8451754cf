// The ledger service's configuration file (JSON), read and checked whole at start. Every key is
// known: a misspelt one is an error naming it. Relative paths are taken relative to the file's
// directory. docs/operations.md lists the keys with an example:
//
//   {"db": "ledger.db", "listen": "0.0.0.0:8443", "admin_listen": "127.0.0.1:8444",
//    "tls": {"ca": "pki/ca.crt", "certificate": "server.crt", "key": "server.key", "crl": "pki/crl.pem"},
//    "expiry_days": 365}

#ifndef LOYALTY_LEDGER_CONFIG_HPP_
#define LOYALTY_LEDGER_CONFIG_HPP_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "ledger/ledger.hpp"
#include "ledger/upload_groups.hpp"
#include "runtime/log.hpp"
#include "sync/tls.hpp"

namespace loyalty::ledger {

struct Endpoint {
  std::string address;
  std::uint16_t port = 0;  // 0: choose a free port (tests)
};

struct ServerConfig {
  std::string db;  // a SQLite file, or a PostgreSQL connection URI (ledger/open_store.hpp)
  // Connections to the database, one per worker thread: 1 on SQLite (one writer), 4 by default
  // on PostgreSQL. Housekeeping has one more of its own.
  std::size_t db_connections = 1;
  Endpoint listen{"0.0.0.0", 8443};      // HTTPS with mutual TLS, for terminals
  std::optional<Endpoint> admin_listen;  // plain HTTP for health and metrics, loopback only
  sync::TlsFiles tls;
  LedgerSettings settings;
  // Threads that parse and check upload batches and wait for their group's commit
  // (ledger/upload_groups.hpp): how many batches a group can gather.
  std::size_t upload_threads = 32;
  std::size_t network_threads = 2;  // TLS, reading and writing requests
  std::size_t group_entries = kDefaultGroupEntries;
  // Uploads read, checked and applied at once (ledger/upload_admission.hpp); the others wait
  // with their bodies unread, first come first served. At most this many bodies are in memory.
  std::size_t upload_admissions = 32;
  // Uploads waiting for their turn beyond which a new one is answered 503 ledger_busy at once,
  // and how long one may wait before it is answered so (the terminal sends it again after a
  // second or two): below the uplink's own wait for its turn (60 s).
  std::size_t max_uploads_waiting = 4096;
  std::int64_t admission_wait_ms = 30000;
  std::size_t max_batch_bytes = 8 * 1024 * 1024;
  std::int64_t read_timeout_ms = 15000;
  std::int64_t expire_every_s = 60;
  runtime::LogLevel log_level = runtime::LogLevel::info;
};

// Throws runtime::JsonError ("ledger.tls.ca: is required") or std::runtime_error (unreadable file).
ServerConfig load_server_config(const std::filesystem::path& path);

}  // namespace loyalty::ledger

#endif  // LOYALTY_LEDGER_CONFIG_HPP_

// The agent's configuration file (JSON), read and checked whole at start and on SIGHUP.
//
// Drop-ins: the *.json files of the directory beside it named after it (agent.json's is
// agent.d/), in name order, are merged over it as JSON merge patches (RFC 7386: an object
// merges key by key, any other value replaces, null removes), so that a fleet keeps the packaged
// file as it is and puts each terminal's identity and each rollout's settings in files of their
// own. Files whose names start with a dot or do not end in .json are skipped (editor and dpkg
// leftovers).
//
// Every key is known: a misspelt one is an error, and every error names the key, as in
// "config.pos_api.listen: must be a loopback address (127.0.0.0/8 or ::1) ...".
// docs/pos-api.md lists the keys with an example.

#ifndef LOYALTY_AGENT_CONFIG_HPP_
#define LOYALTY_AGENT_CONFIG_HPP_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/codes.hpp"
#include "drivers/evdev_scanner.hpp"
#include "drivers/serial_scanner.hpp"
#include "drivers/tcp_scanner.hpp"
#include "runtime/log.hpp"
#include "storage/files.hpp"
#include "sync/uplink.hpp"

namespace loyalty::agent {

struct PosApiConfig {
  std::string listen_address = "127.0.0.1";  // loopback only
  std::uint16_t listen_port = 8470;          // 0: choose a free port (tests)
  std::optional<std::filesystem::path> unix_socket;
  std::optional<std::filesystem::path> token_file;  // bearer token the POS must send
  std::size_t max_request_bytes = 64 * 1024;
  std::int64_t requests_per_second = 200;  // per connection, with a burst of the same size
  std::int64_t request_timeout_ms = 5000;  // reading one request
  std::int64_t clock_tolerance_s = 300;    // how far a basket's "at" may be from the terminal's clock
  std::vector<std::string> allowed_hosts;  // Host names accepted besides the loopback ones
  std::size_t max_connections = 256;
};

// How scanned and typed codes are read (drivers/scanned_code.hpp).
struct CodesConfig {
  std::vector<drivers::CardRange> card_ranges;  // empty: any Luhn-valid 12 to 19 digits
  struct Issuer {
    std::string id;
    std::filesystem::path public_key_file;  // PEM, Ed25519
  };
  std::vector<Issuer> token_issuers;  // keys the app's member tokens are signed with
  std::int64_t token_skew_s = 60;
};

struct ScannerConfig {
  enum class Type { serial, evdev, tcp };
  std::string name;
  Type type = Type::serial;
  drivers::SerialSettings serial;
  drivers::EvdevSettings evdev;
  drivers::TcpScannerSettings tcp;
};

// The link to the central ledger (sync/uplink.hpp). Without it the agent runs offline for
// good: every redemption within the offline limits, entries kept until exported.
struct LedgerLinkConfig {
  std::vector<sync::LedgerAddress> addresses;  // one or more; the next is tried after a failure
  std::string server_name;                     // the name the ledger's certificate must carry; default host
  std::filesystem::path ca_file;               // the chain's CA certificate
  std::filesystem::path certificate_file;      // this terminal's certificate (the key is DATA_DIR/terminal.key)
  std::int64_t batch_entries = 500;
  std::int64_t backoff_min_ms = 500;
  std::int64_t backoff_max_ms = 60'000;
  std::int64_t request_timeout_ms = 15'000;
  std::int64_t admission_timeout_ms = 60'000;  // an upload's wait for its turn at a busy ledger
  std::int64_t authorize_timeout_ms = 300;
  std::int64_t idle_poll_ms = 1'000;
  std::int64_t pull_every_s = 60;
};

// A key the central team signs rulebooks with.
struct RulebookKeyConfig {
  std::string id;
  std::filesystem::path public_key_file;  // PEM, Ed25519
};

struct Config {
  std::string terminal_id;
  std::string store_id;
  std::filesystem::path data_dir;
  std::filesystem::path rulebook_file;  // the rulebook installed at start when newer
  // Keys accepted on signed rulebooks. With none, the rulebook file may be unsigned (a
  // terminal without a ledger); with any, every rulebook must carry a valid signature.
  std::vector<RulebookKeyConfig> rulebook_keys;
  std::optional<LedgerLinkConfig> ledger;
  std::filesystem::path member_secret_file;  // HMAC secret for member identifiers
  std::string phone_country_code = "7";      // E.164 calling code for national numbers
  PosApiConfig pos_api;
  CodesConfig codes;
  std::vector<ScannerConfig> scanners;
  runtime::LogLevel log_level = runtime::LogLevel::info;
  std::int64_t prune_after_days = 90;
  std::vector<std::filesystem::path> drop_ins;  // merged over the file, in this order

  std::filesystem::path journal_path() const { return data_dir / "journal.db"; }
  std::filesystem::path members_path() const { return data_dir / "members.db"; }
  std::filesystem::path key_path() const { return data_dir / "terminal.key"; }
};

// Reads and checks the configuration at `path` with its drop-ins. Relative paths inside them
// are taken relative to the directory of `path`. Throws runtime::JsonError (path "config.key",
// or the drop-in's file name for what is wrong with the file itself) or std::runtime_error (a
// file cannot be read).
Config load_config(const std::filesystem::path& path);

// The drop-in directory of the configuration at `path` (agent.json: agent.d) and its files,
// in the order they are merged.
std::filesystem::path drop_in_directory(const std::filesystem::path& path);
std::vector<std::filesystem::path> drop_in_files(const std::filesystem::path& path);

using storage::read_secret;

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_CONFIG_HPP_

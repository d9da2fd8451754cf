#include "agent/config.hpp"

#include <algorithm>
#include <tuple>

#include "runtime/config_values.hpp"
#include "runtime/json_reader.hpp"
#include "storage/files.hpp"
#include "storage/journal_entry.hpp"

namespace loyalty::agent {
namespace {

using runtime::fail;
using runtime::Reader;

// "127.0.0.1:8470" or "[::1]:8470", loopback only.
std::pair<std::string, std::uint16_t> read_loopback(const std::string& where, const std::string& text) {
  const auto split = runtime::split_host_port(text);
  if (!split) fail(where, "must be ADDRESS:PORT, got \"" + text + "\"");
  if (!runtime::numeric_loopback(split->host).value_or(false)) {
    fail(where,
         "must be a loopback address (127.0.0.0/8 or ::1): the agent never listens beyond this terminal, got \"" +
             text + "\"");
  }
  const auto port = runtime::parse_port(split->port);
  if (!port) fail(where, "port must be 0 to 65535, got \"" + split->port + "\"");
  return {split->host, *port};
}

// A terminator as configured: "\r", "\r\n", "\n", "\t" or other text of 1 to 4 bytes.
std::string read_terminator(Reader& in, std::string fallback) {
  std::string terminator = in.string_or("terminator", std::move(fallback), 4);
  if (terminator.empty()) fail(in.path_of("terminator"), "must not be empty");
  return terminator;
}

CodesConfig read_codes(Reader in, const std::filesystem::path& base) {
  CodesConfig codes;
  if (in.has("card_ranges")) {
    const runtime::Json& ranges = in.array("card_ranges", 1000);
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      Reader r(ranges[i], runtime::index_path(in.path_of("card_ranges"), i));
      drivers::CardRange range;
      range.prefix = r.string("prefix", 19);
      if (range.prefix.find_first_not_of("0123456789") != std::string::npos) {
        fail(r.path_of("prefix"), "must be digits");
      }
      range.length = static_cast<std::size_t>(r.integer("length", 8, 19));
      if (range.prefix.size() > range.length) fail(r.path_of("prefix"), "is longer than the card number");
      range.check = r.choice<drivers::CardCheck>(
          "check", {{"luhn", drivers::CardCheck::luhn}, {"gs1", drivers::CardCheck::gs1}}, drivers::CardCheck::luhn);
      r.finish();
      codes.card_ranges.push_back(std::move(range));
    }
  }
  if (in.has("token_issuers")) {
    const runtime::Json& issuers = in.array("token_issuers", 100);
    for (std::size_t i = 0; i < issuers.size(); ++i) {
      Reader r(issuers[i], runtime::index_path(in.path_of("token_issuers"), i));
      codes.token_issuers.push_back(
          {r.string("id", 64), runtime::resolve_path(base, r.string("public_key_file", 4096))});
      r.finish();
    }
  }
  codes.token_skew_s = in.integer_or("token_skew_s", 60, 0, 3600);
  in.finish();
  return codes;
}

ScannerConfig read_scanner(Reader in, const std::filesystem::path& base) {
  ScannerConfig scanner;
  scanner.name = in.string("name", 64);
  scanner.type = in.choice<ScannerConfig::Type>("type", {{"serial", ScannerConfig::Type::serial},
                                                         {"evdev", ScannerConfig::Type::evdev},
                                                         {"tcp", ScannerConfig::Type::tcp}});
  switch (scanner.type) {
    case ScannerConfig::Type::serial: {
      drivers::SerialSettings& s = scanner.serial;
      s.device = runtime::resolve_path(base, in.string("device", 4096)).string();
      s.baud = static_cast<unsigned>(in.integer_or("baud", 9600, 300, 4'000'000));
      s.data_bits = static_cast<unsigned>(in.integer_or("data_bits", 8, 5, 8));
      s.parity = in.choice<drivers::SerialSettings::Parity>("parity",
                                                            {{"none", drivers::SerialSettings::Parity::none},
                                                             {"odd", drivers::SerialSettings::Parity::odd},
                                                             {"even", drivers::SerialSettings::Parity::even}},
                                                            drivers::SerialSettings::Parity::none);
      s.stop_bits = static_cast<unsigned>(in.integer_or("stop_bits", 1, 1, 2));
      s.flow = in.choice<drivers::SerialSettings::Flow>("flow_control",
                                                        {{"none", drivers::SerialSettings::Flow::none},
                                                         {"software", drivers::SerialSettings::Flow::software},
                                                         {"hardware", drivers::SerialSettings::Flow::hardware}},
                                                        drivers::SerialSettings::Flow::none);
      s.terminator = read_terminator(in, "\r");
      break;
    }
    case ScannerConfig::Type::evdev: {
      drivers::EvdevSettings& e = scanner.evdev;
      e.device = runtime::resolve_path(base, in.string("device", 4096)).string();
      e.grab = in.boolean_or("grab", true);
      if (const runtime::Json* keys = in.value("keys")) {
        if (!keys->is_object()) fail(in.path_of("keys"), "must be an object of key codes");
        for (const auto& [code, chars] : keys->items()) {
          const std::string where = runtime::key_path(in.path_of("keys"), code);
          if (code.empty() || code.size() > 3 || code.find_first_not_of("0123456789") != std::string::npos ||
              std::stoi(code) >= 128) {
            fail(where, "must be a Linux key code below 128");
          }
          if (!chars.is_array() || chars.size() != 2 || !chars[0].is_string() || !chars[1].is_string() ||
              chars[0].get<std::string>().size() != 1 || chars[1].get<std::string>().size() != 1) {
            fail(where, "must be [\"unshifted\", \"shifted\"], one character each");
          }
          e.keymap.set(static_cast<unsigned>(std::stoi(code)), chars[0].get<std::string>()[0],
                       chars[1].get<std::string>()[0]);
        }
      }
      break;
    }
    case ScannerConfig::Type::tcp: {
      const auto [address, port] = read_loopback(in.path_of("listen"), in.string("listen", 64));
      scanner.tcp.address = address;
      scanner.tcp.port = port;
      scanner.tcp.terminator = read_terminator(in, "\n");
      break;
    }
  }
  in.finish();
  return scanner;
}

LedgerLinkConfig read_ledger(Reader in, const std::filesystem::path& base) {
  LedgerLinkConfig link;
  // "HOST:PORT", or a list of them: several ledger instances, tried in turn.
  const auto read_address = [&](const std::string& path, const std::string& address) {
    const auto split = runtime::split_host_port(address);
    if (!split || split->host.empty()) fail(path, "must be HOST:PORT, got \"" + address + "\"");
    const auto port = runtime::parse_port(split->port);
    if (!port || *port == 0) fail(path, "port must be 1 to 65535, got \"" + split->port + "\"");
    link.addresses.push_back({split->host, *port});
  };
  if (const runtime::Json* given = in.value("address"); given != nullptr && given->is_array()) {
    const std::string path = in.path_of("address");
    const std::vector<std::string> list = in.strings_or_empty("address", 256);
    if (list.empty()) fail(path, "must list at least one HOST:PORT");
    if (list.size() > 16) fail(path, "must have at most 16 items");
    for (std::size_t i = 0; i < list.size(); ++i) read_address(runtime::index_path(path, i), list[i]);
  } else {
    read_address(in.path_of("address"), in.string("address", 256));
  }
  link.server_name = in.string_or("server_name", "", 256);
  link.ca_file = runtime::resolve_path(base, in.string("ca_file", 4096));
  link.certificate_file = runtime::resolve_path(base, in.string("certificate_file", 4096));
  link.batch_entries = in.integer_or("batch_entries", link.batch_entries, 1, 2000);
  link.backoff_min_ms = in.integer_or("backoff_min_ms", link.backoff_min_ms, 1, 3'600'000);
  link.backoff_max_ms = in.integer_or("backoff_max_ms", link.backoff_max_ms, link.backoff_min_ms, 24 * 3'600'000LL);
  link.request_timeout_ms = in.integer_or("request_timeout_ms", link.request_timeout_ms, 100, 600'000);
  link.admission_timeout_ms = in.integer_or("admission_timeout_ms", link.admission_timeout_ms, 100, 3'600'000);
  link.authorize_timeout_ms = in.integer_or("authorize_timeout_ms", link.authorize_timeout_ms, 10, 10'000);
  link.idle_poll_ms = in.integer_or("idle_poll_ms", link.idle_poll_ms, 10, 600'000);
  link.pull_every_s = in.integer_or("pull_every_s", link.pull_every_s, 1, 86'400);
  in.finish();
  return link;
}

}  // namespace

std::filesystem::path drop_in_directory(const std::filesystem::path& path) {
  std::filesystem::path dir = path;
  return dir.replace_extension(".d");
}

std::vector<std::filesystem::path> drop_in_files(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> files;
  const std::filesystem::path dir = drop_in_directory(path);
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") || !name.ends_with(".json") || entry.is_directory()) continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

namespace {

// The configuration in `document`, relative paths taken from `base`.
Config read_config(const runtime::Json& document, const std::filesystem::path& base) {
  Config config;
  Reader top(document, "config");
  config.terminal_id = top.string("terminal_id", storage::kMaxTerminalIdBytes);
  try {
    storage::validate_terminal_id(config.terminal_id);
  } catch (const std::exception& error) {
    fail(top.path_of("terminal_id"), error.what());
  }
  config.store_id = top.string("store_id", 64);
  if (!config.store_id.empty()) {  // (enroll requires one; a lane without a ledger may have none)
    try {
      storage::validate_store_id(config.store_id);
    } catch (const std::exception& error) {
      fail(top.path_of("store_id"), error.what());
    }
  }
  config.data_dir = runtime::resolve_path(base, top.string("data_dir", 4096));
  config.rulebook_file = runtime::resolve_path(base, top.string("rulebook_file", 4096));
  config.member_secret_file = runtime::resolve_path(base, top.string("member_secret_file", 4096));
  if (top.has("rulebook_keys")) {
    const runtime::Json& keys = top.array("rulebook_keys", 16);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      Reader r(keys[i], runtime::index_path(top.path_of("rulebook_keys"), i));
      config.rulebook_keys.push_back(
          {r.string("id", 64), runtime::resolve_path(base, r.string("public_key_file", 4096))});
      r.finish();
    }
  }
  if (top.has("ledger")) config.ledger = read_ledger(top.object("ledger"), base);
  config.phone_country_code = top.string_or("phone_country_code", "7", 3);
  if (config.phone_country_code.empty() ||
      config.phone_country_code.find_first_not_of("0123456789") != std::string::npos ||
      config.phone_country_code.front() == '0') {
    fail(top.path_of("phone_country_code"), "must be an E.164 calling code of 1 to 3 digits, like \"7\" or \"49\"");
  }
  config.log_level = runtime::read_log_level(top);
  config.prune_after_days = top.integer_or("prune_after_days", 90, 1, 3650);
  if (top.has("pos_api")) {
    Reader api = top.object("pos_api");
    PosApiConfig& out = config.pos_api;
    if (api.has("listen")) {
      std::tie(out.listen_address, out.listen_port) = read_loopback(api.path_of("listen"), api.string("listen", 64));
    }
    if (api.has("unix_socket")) out.unix_socket = runtime::resolve_path(base, api.string("unix_socket", 100));
    if (api.has("token_file")) out.token_file = runtime::resolve_path(base, api.string("token_file", 4096));
    out.max_request_bytes =
        static_cast<std::size_t>(api.integer_or("max_request_bytes", 64 * 1024, 1024, 16 * 1024 * 1024));
    out.requests_per_second = api.integer_or("requests_per_second", 200, 1, 100000);
    out.request_timeout_ms = api.integer_or("request_timeout_ms", 5000, 100, 600000);
    out.clock_tolerance_s = api.integer_or("clock_tolerance_s", out.clock_tolerance_s, 0, 7 * 86400);
    out.allowed_hosts = api.strings_or_empty("allowed_hosts", 253);
    out.max_connections = static_cast<std::size_t>(api.integer_or("max_connections", 256, 1, 65536));
    api.finish();
  }
  if (top.has("codes")) config.codes = read_codes(top.object("codes"), base);
  if (top.has("scanners")) {
    const runtime::Json& scanners = top.array("scanners", 16);
    for (std::size_t i = 0; i < scanners.size(); ++i) {
      ScannerConfig scanner = read_scanner(Reader(scanners[i], runtime::index_path(top.path_of("scanners"), i)), base);
      for (const ScannerConfig& other : config.scanners) {
        if (other.name == scanner.name) {
          fail(runtime::index_path(top.path_of("scanners"), i), "scanner name \"" + scanner.name + "\" is used twice");
        }
      }
      config.scanners.push_back(std::move(scanner));
    }
  }
  top.finish();
  return config;
}

}  // namespace

Config load_config(const std::filesystem::path& path) {
  runtime::Json document = runtime::parse_json(storage::read_file(path), path.string());
  const std::vector<std::filesystem::path> drop_ins = drop_in_files(path);
  if (!drop_ins.empty() && !document.is_object()) throw runtime::JsonError(path.string(), "must be a JSON object");
  std::string merged;  // the drop-ins' names, for messages
  for (const std::filesystem::path& file : drop_ins) {
    const runtime::Json patch = runtime::parse_json(storage::read_file(file), file.string());
    if (!patch.is_object()) throw runtime::JsonError(file.string(), "a drop-in must be a JSON object");
    document.merge_patch(patch);
    merged += (merged.empty() ? "" : ", ") + file.filename().string();
  }
  const std::filesystem::path base = path.parent_path().empty() ? "." : path.parent_path();
  try {
    Config config = read_config(document, base);
    config.drop_ins = drop_ins;
    return config;
  } catch (const runtime::JsonError& error) {
    if (drop_ins.empty()) throw;
    throw runtime::JsonError(error.path(), error.problem() + " (" + path.filename().string() + " with " +
                                               drop_in_directory(path).filename().string() + "/" + merged + ")");
  }
}

}  // namespace loyalty::agent

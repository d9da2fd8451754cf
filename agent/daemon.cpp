#include "agent/daemon.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <ostream>
#include <vector>

#include "agent/checkout.hpp"
#include "agent/config.hpp"
#include "agent/http_server.hpp"
#include "agent/lane.hpp"
#include "agent/pos_api.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/options.hpp"
#include "runtime/systemd.hpp"
#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/member_cache.hpp"
#include "storage/rulebook_store.hpp"
#include "storage/terminal_key.hpp"
#include "sync/rulebook_json.hpp"
#include "sync/signed_rulebook.hpp"
#include "sync/uplink.hpp"

namespace loyalty::agent {
namespace {

// An exclusive lock on DATA_DIR/agent.lock for the life of the process. The kernel drops it
// when the process dies, however it dies.
class DataDirLock {
 public:
  explicit DataDirLock(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    const auto path = dir / "agent.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    // On a filesystem mounted read-only the lock still holds (flock needs no write access),
    // for a start without writing (open_storage).
    if (fd_ < 0 && errno == EROFS) fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {};
      const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
      ::close(fd_);
      throw std::runtime_error("data directory " + dir.string() + " is in use by another agent (pid " +
                               std::string(pid, n > 0 ? static_cast<std::size_t>(n) : 0) +
                               "); two agents must never share one");
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
      // The pid is only informative; the lock is what matters.
    }
  }
  ~DataDirLock() { ::close(fd_); }
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_ = -1;
};

std::vector<sync::RulebookKey> rulebook_keys(const Config& config) {
  std::vector<sync::RulebookKey> keys;
  for (const RulebookKeyConfig& key : config.rulebook_keys) {
    try {
      keys.push_back({key.id, storage::PublicKey::from_pem(storage::read_file(key.public_key_file))});
    } catch (const std::exception& error) {
      throw std::runtime_error("rulebook key " + key.id + ": " + error.what());
    }
  }
  return keys;
}

// The rulebook file as the store keeps it: a signed envelope verified against `keys`, or, only
// when no keys are configured (a terminal without a ledger), a plain rulebook. Throws
// sync::RulebookRefused or runtime::JsonError.
storage::StoredRulebook rulebook_from_file(const Config& config, const std::vector<sync::RulebookKey>& keys,
                                           domain::Rulebook& parsed) {
  const std::string text = storage::read_file(config.rulebook_file);
  if (sync::envelope_document(text) || !keys.empty()) {
    sync::SignedRulebook verified = sync::verify_rulebook(text, keys, runtime::unix_now_ms() / 1000);
    parsed = std::move(verified.rules);
    return {parsed.version, text, verified.signature, verified.key_id, runtime::unix_now_ms()};
  }
  parsed = sync::rulebook_from_json(runtime::parse_json(text, config.rulebook_file.string()));
  return {parsed.version, text, "", "unsigned:" + config.rulebook_file.string(), runtime::unix_now_ms()};
}

// Installs the rulebook file when it is newer than the stored one; returns the active rulebook.
// A file that is refused (unsigned, tampered, expired, another key) is logged and the active
// rulebook stays.
// With a read-only journal, a newer file is used without being stored.
std::optional<domain::Rulebook> load_rulebook(const Config& config, const std::vector<sync::RulebookKey>& keys,
                                              storage::RulebookStore& store, runtime::Log& log, bool writable) {
  if (std::filesystem::exists(config.rulebook_file)) {
    domain::Rulebook parsed;
    try {
      storage::StoredRulebook from_file = rulebook_from_file(config, keys, parsed);
      const auto active = writable ? std::nullopt : store.active();
      if (!writable && (!active || active->version < parsed.version)) {
        log.warning("rulebook_not_stored", "the rulebook file is newer than the stored one: used, but not stored",
                    {{"id", parsed.id}, {"version", parsed.version}});
        return parsed;
      }
      const auto result =
          writable ? store.install(from_file) : storage::InstallResult{storage::Installed::not_newer, active->version};
      if (result.outcome == storage::Installed::installed) {
        log.info("rulebook_installed", "rulebook installed from the rulebook file",
                 {{"id", parsed.id}, {"version", parsed.version}});
        return parsed;
      }
      if (parsed.version < result.active_version) {
        log.warning("rulebook_not_newer", "the rulebook file is older than the active rulebook; kept the active one",
                    {{"file_version", parsed.version}, {"active_version", result.active_version}});
      }
    } catch (const sync::RulebookRefused& refused) {
      log.error("rulebook_refused", std::string("the rulebook file was refused: ") + refused.what(),
                {{"file", config.rulebook_file.string()}, {"code", refused.code()}});
    }
  }
  const auto active = store.active();
  if (!active) return std::nullopt;
  const std::string document = sync::envelope_document(active->document).value_or(active->document);
  return sync::rulebook_from_json(runtime::parse_json(document, "stored rulebook"));
}

sync::UplinkSettings uplink_settings(const Config& config, std::vector<sync::RulebookKey> keys) {
  const LedgerLinkConfig& link = *config.ledger;
  sync::UplinkSettings settings;
  settings.ledgers = link.addresses;
  settings.server_name = link.server_name;
  settings.tls = {link.ca_file, link.certificate_file, config.key_path(), std::nullopt};
  settings.rulebook_keys = std::move(keys);
  settings.batch_entries = static_cast<std::size_t>(link.batch_entries);
  settings.backoff_min = std::chrono::milliseconds(link.backoff_min_ms);
  settings.backoff_max = std::chrono::milliseconds(link.backoff_max_ms);
  settings.request_timeout = std::chrono::milliseconds(link.request_timeout_ms);
  settings.admission_timeout = std::chrono::milliseconds(link.admission_timeout_ms);
  settings.authorize_timeout = std::chrono::milliseconds(link.authorize_timeout_ms);
  settings.idle_poll = std::chrono::milliseconds(link.idle_poll_ms);
  settings.pull_every = std::chrono::seconds(link.pull_every_s);
  return settings;
}

drivers::CodeRules code_rules(const CodesConfig& config) {
  drivers::CodeRules rules;
  rules.cards = config.card_ranges;
  for (const CodesConfig::Issuer& issuer : config.token_issuers) {
    try {
      rules.issuers.push_back({issuer.id, storage::PublicKey::from_pem(storage::read_file(issuer.public_key_file))});
    } catch (const std::exception& error) {
      throw std::runtime_error("token issuer " + issuer.id + ": " + error.what());
    }
  }
  rules.token_skew_s = config.token_skew_s;
  return rules;
}

std::unique_ptr<drivers::Scanner> make_scanner(asio::io_context& io, const ScannerConfig& config) {
  switch (config.type) {
    case ScannerConfig::Type::serial: return std::make_unique<drivers::SerialScanner>(io, config.name, config.serial);
    case ScannerConfig::Type::evdev: return std::make_unique<drivers::EvdevScanner>(io, config.name, config.evdev);
    case ScannerConfig::Type::tcp: break;
  }
  return std::make_unique<drivers::TcpScanner>(io, config.name, config.tcp);
}

std::optional<std::string> read_token(const Config& config) {
  if (!config.pos_api.token_file) return std::nullopt;
  return read_secret(*config.pos_api.token_file, "POS API token");
}

// Everything the daemon reads before it opens the data directory: the configuration and the
// files it names. What is wrong here stays wrong until someone edits a file, so `run` exits
// with exit_config for it (the unit's RestartPreventExitStatus) and `check-config` reports it.
struct Settings {
  Config config;
  storage::IdentifierHasher hasher;
  std::vector<sync::RulebookKey> rulebook_keys;
  drivers::CodeRules code_rules;
  std::optional<std::string> pos_token;
};

Settings read_settings(const std::filesystem::path& config_path) {
  Config config = load_config(config_path);
  storage::IdentifierHasher hasher(read_secret(config.member_secret_file, "member secret"));
  std::vector<sync::RulebookKey> keys = rulebook_keys(config);
  drivers::CodeRules codes = code_rules(config.codes);
  std::optional<std::string> token = read_token(config);
  return {std::move(config), std::move(hasher), std::move(keys), std::move(codes), std::move(token)};
}

HttpLimits http_limits(const Config& config) {
  HttpLimits limits;
  limits.max_request_bytes = config.pos_api.max_request_bytes;
  limits.read_timeout = std::chrono::milliseconds(config.pos_api.request_timeout_ms);
  limits.requests_per_second = config.pos_api.requests_per_second;
  limits.allowed_hosts = config.pos_api.allowed_hosts;
  limits.max_connections = config.pos_api.max_connections;
  return limits;
}

// The exit status after a read-only start once the disk takes writes again: systemd's
// Restart=on-failure starts the agent again, writable.
constexpr int kExitSpaceReturned = runtime::exit_tempfail;
// What the data directory must take for the agent to run writable: the journal's shared-memory
// index (32 KiB), the growth of its log between checkpoints, and room to spare.
constexpr off_t kSpaceNeededBytes = 1 << 20;
constexpr auto kSpaceProbeEvery = std::chrono::seconds(2);

// The journal and the member cache. `read_only` says why they were opened without writing, and
// is empty when they take writes.
struct Storage {
  std::unique_ptr<storage::Journal> journal;
  std::unique_ptr<storage::MemberCache> members;
  std::string read_only;
};

// Opens the journal and the member cache and makes the start's own writes: the release record,
// the signatures a stop left out. When that fails and the data directory takes no writes (a full
// disk, a filesystem remounted read-only), opens both again without writing: the lane keeps
// identifying members and quoting, while commits are refused, rather than having no loyalty at
// all until store IT frees space.
Storage open_storage(const Config& config, const storage::IdentifierHasher& hasher, runtime::Log& log) {
  const storage::PrivateKey key = storage::load_or_create_terminal_key(config.key_path()).key;
  Storage opened;
  try {
    opened.journal = std::make_unique<storage::Journal>(config.journal_path(), config.terminal_id, key);
    opened.journal->record_release(LOYALTY_VERSION, runtime::unix_now_ms());
    if (const std::int64_t signed_now = opened.journal->sign_pending(); signed_now > 0) {
      log.info("signed_tail", "signed entries left unsigned by the last stop", {{"entries", signed_now}});
    }
    opened.members = std::make_unique<storage::MemberCache>(config.members_path(), hasher);
    if (opened.members->opening() == storage::CacheOpening::reset_for_new_secret) {
      log.warning("member_cache_reset", "the member secret changed: the member cache was emptied");
    }
    return opened;
  } catch (const storage::Error& error) {
    const int refused = storage::probe_space(config.data_dir, kSpaceNeededBytes);
    if (refused == 0) throw;
    opened = {};  // closes what was opened
    opened.read_only = storage::space_problem(refused);
    log.error("read_only",
              "the data directory takes no writes (" + opened.read_only +
                  "): starting read-only; members are identified and quoted, commits are refused until it does",
              {{"data_dir", config.data_dir.string()}, {"error", error.what()}});
  }
  opened.journal =
      std::make_unique<storage::Journal>(config.journal_path(), config.terminal_id, key, storage::Creation::no_writes);
  opened.members = std::make_unique<storage::MemberCache>(config.members_path(), hasher, storage::Creation::no_writes);
  return opened;
}

// The drop-ins merged into the configuration, by file name, for the ready line.
runtime::OrderedJson drop_in_names(const Config& config) {
  runtime::OrderedJson names = runtime::OrderedJson::array();
  for (const std::filesystem::path& drop_in : config.drop_ins) names.push_back(drop_in.filename().string());
  return names;
}

// What run_daemon builds, for the daemon's own coroutines. It lives on run_daemon's frame until
// io.run() returns, so every coroutine given it by reference ends before it does.
struct Daemon {
  const std::filesystem::path& config_path;
  Config& config;
  runtime::Log& log;
  const runtime::SystemdNotifier& systemd;
  storage::Journal& journal;
  storage::RulebookStore& rulebooks;
  Checkout& checkout;
  HttpServer& server;
  LaneEvents& events;
  std::vector<std::unique_ptr<drivers::Scanner>>& scanners;
  sync::Uplink* uplink;  // nullptr without a ledger
  const std::vector<sync::RulebookKey>& keys;
  asio::steady_timer& housekeeping;
  asio::steady_timer& space_watch;  // wait_for_space's
  asio::signal_set& signals;
  const std::string& read_only;  // see Storage
  bool stopping = false;
  int exit_code = 0;
};

// The housekeeping tick: feeds systemd's watchdog at half its interval (every minute without
// one) and prunes acknowledged journal entries older than prune_after_days once an hour. Ends
// when the daemon stops.
Task<> tick(Daemon& d) {
  const auto interval = d.systemd.watchdog_interval().value_or(std::chrono::minutes(1));
  auto last_prune = std::chrono::steady_clock::time_point{};
  while (!d.stopping) {
    d.systemd.notify("WATCHDOG=1");
    if (d.read_only.empty() && std::chrono::steady_clock::now() - last_prune > std::chrono::hours(1)) {
      last_prune = std::chrono::steady_clock::now();
      const std::int64_t pruned = d.journal.prune(runtime::unix_now_ms() - d.config.prune_after_days * 86'400'000);
      if (pruned > 0) d.log.info("pruned", "pruned acknowledged journal entries", {{"entries", pruned}});
    }
    d.housekeeping.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval));
    co_await d.housekeeping.async_wait(use_tuple);
  }
}

// SIGHUP: the log level, the POS token, the code rules and the rulebook file read again. A bad
// configuration is logged and the daemon runs on as before.
void reload(Daemon& d) {
  d.systemd.notify("RELOADING=1");
  try {
    Settings reloaded = read_settings(d.config_path);
    d.log.set_threshold(reloaded.config.log_level);
    d.config.rulebook_file = reloaded.config.rulebook_file;
    d.config.pos_api.token_file = reloaded.config.pos_api.token_file;
    d.server.set_bearer_token(std::move(reloaded.pos_token));
    d.checkout.set_code_rules(std::move(reloaded.code_rules));
    d.checkout.set_clock_tolerance(reloaded.config.pos_api.clock_tolerance_s);
    if (auto rules = load_rulebook(d.config, d.keys, d.rulebooks, d.log, d.read_only.empty())) {
      d.checkout.set_rulebook(std::move(*rules));
    }
    d.log.info("reloaded", "configuration and rulebook reloaded");
  } catch (const std::exception& error) {
    d.log.error("reload_failed", "reload refused; running on as before", {{"error", error.what()}});
  }
  d.systemd.notify("READY=1");
}

// SIGTERM or SIGINT, or space again after a read-only start: stop taking work and let what is
// in flight finish; io.run() returns when the last request has been answered.
void stop(Daemon& d) {
  d.systemd.notify("STOPPING=1");
  d.stopping = true;
  d.server.stop();
  d.events.stop();
  for (const auto& scanner : d.scanners) scanner->stop();
  d.housekeeping.cancel();
  d.space_watch.cancel();
  d.signals.cancel();  // (a stop for space, not for a signal, leaves a wait for one)
  if (d.uplink) d.uplink->stop();
}

// Waits for signals until one stops the daemon.
Task<> handle_signals(Daemon& d) {
  for (;;) {
    auto [wait_error, signal] = co_await d.signals.async_wait(use_tuple);
    if (wait_error) co_return;
    if (signal != SIGHUP) {
      d.log.info("stopping", "stopping: finishing requests in flight", {{"signal", signal}});
      stop(d);
      co_return;
    }
    reload(d);
  }
}

// After a read-only start: probes the data directory every few seconds and, once it takes
// writes again, stops the agent with kExitSpaceReturned so that it starts again writable
// (swapping the journal under a running checkout would be far more code than a restart).
Task<> wait_for_space(Daemon& d) {
  while (!d.stopping) {
    d.space_watch.expires_after(kSpaceProbeEvery);
    co_await d.space_watch.async_wait(use_tuple);
    if (d.stopping) co_return;
    if (storage::probe_space(d.config.data_dir, kSpaceNeededBytes) == 0) {
      d.log.info("space_returned", "the data directory takes writes again: stopping, to start again writable",
                 {{"exit_status", kExitSpaceReturned}});
      d.exit_code = kExitSpaceReturned;
      stop(d);
      co_return;
    }
  }
}

}  // namespace

int run_daemon(const std::filesystem::path& config_path, std::ostream& log_stream) {
  runtime::Log log(log_stream, runtime::LogLevel::info, runtime::stderr_log_prefix());
  const runtime::SystemdNotifier systemd = runtime::SystemdNotifier::from_environment();
  const auto started = std::chrono::steady_clock::now();
  std::optional<Settings> settings;
  try {
    settings.emplace(read_settings(config_path));
  } catch (const std::exception& error) {
    log.error("config_invalid", error.what(),
              {{"config", config_path.string()}, {"exit_status", runtime::exit_config}});
    return runtime::exit_config;
  }
  try {
    Config& config = settings->config;
    log.set_threshold(config.log_level);
    DataDirLock lock(config.data_dir);
    const storage::IdentifierHasher& hasher = settings->hasher;
    Storage opened = open_storage(config, hasher, log);
    const bool writable = opened.read_only.empty();
    storage::Journal& journal = *opened.journal;
    storage::MemberCache& members = *opened.members;
    storage::RulebookStore rulebooks(journal.database());
    Checkout checkout(journal, members, hasher, config.phone_country_code, runtime::unix_now_ms);
    checkout.set_code_rules(std::move(settings->code_rules));
    checkout.set_clock_tolerance(config.pos_api.clock_tolerance_s);
    const std::vector<sync::RulebookKey>& keys = settings->rulebook_keys;
    if (auto rules = load_rulebook(config, keys, rulebooks, log, writable)) {
      checkout.set_rulebook(std::move(*rules));
    } else {
      log.warning("no_rulebook", "no rulebook yet: identify works, quotes and commits are refused");
    }

    asio::io_context io(1);
    std::unique_ptr<sync::Uplink> uplink;
    if (config.ledger && writable) {  // (acknowledgements and member changes would have to be written)
      uplink = std::make_unique<sync::Uplink>(
          io, uplink_settings(config, keys), journal, members, rulebooks,
          [&checkout](domain::Rulebook rules) { checkout.set_rulebook(std::move(rules)); }, log, runtime::unix_now_ms);
    }
    bool sign_queued = false;
    PosApi api(checkout, journal, log, [&] {
      if (sign_queued || !writable) return;
      sign_queued = true;
      asio::post(io, [&] {
        sign_queued = false;
        try {
          journal.sign_pending();
          if (uplink) uplink->wake();
        } catch (const std::exception& error) {
          log.error("sign_failed", "could not sign journal entries; will retry", {{"error", error.what()}});
        }
      });
    });
    api.set_uplink(uplink.get());
    api.set_read_only(opened.read_only);
    api.started_at_ms = runtime::unix_now_ms();
    HttpLimits limits = http_limits(config);
    limits.bearer_token = settings->pos_token;
    HttpServer server(
        io, limits, [&api](HttpRequest request) { return api.handle(std::move(request)); }, log);
    api.set_server(&server);
    api.data_dir = config.data_dir;
    LaneEvents events(io.get_executor(), runtime::unix_now_ms);
    Lane lane(checkout, events, log);
    api.set_lane(&events, &lane);
    std::vector<std::unique_ptr<drivers::Scanner>> scanners;
    runtime::OrderedJson scanner_ports = runtime::OrderedJson::object();
    for (const ScannerConfig& scanner_config : config.scanners) {
      scanners.push_back(make_scanner(io, scanner_config));
      if (const auto* tcp = dynamic_cast<const drivers::TcpScanner*>(scanners.back().get())) {
        scanner_ports[scanner_config.name] = tcp->port();
      }
      lane.attach(*scanners.back());
    }
    const std::uint16_t port = server.listen_tcp(config.pos_api.listen_address, config.pos_api.listen_port);
    if (config.pos_api.unix_socket) server.listen_unix(*config.pos_api.unix_socket);
    if (uplink) uplink->start();

    asio::steady_timer housekeeping(io);
    asio::steady_timer space_watch(io);
    asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    Daemon daemon{config_path, config,   log,          systemd, journal,      rulebooks,   checkout, server,
                  events,      scanners, uplink.get(), keys,    housekeeping, space_watch, signals,  opened.read_only};
    asio::co_spawn(
        io, [&daemon] { return tick(daemon); }, asio::detached);
    if (!writable) {
      asio::co_spawn(
          io, [&daemon] { return wait_for_space(daemon); }, asio::detached);
    }
    asio::co_spawn(
        io, [&daemon] { return handle_signals(daemon); }, asio::detached);

    const double ready_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    log.info("ready", "the POS API is listening",
             {{"terminal_id", config.terminal_id},
              {"address", config.pos_api.listen_address},
              {"port", port},
              {"unix_socket", config.pos_api.unix_socket ? config.pos_api.unix_socket->string() : ""},
              {"scanner_ports", scanner_ports},
              {"start_ms", ready_ms},
              {"pending_entries", journal.pending_count()},
              {"drop_ins", drop_in_names(config)},
              {"journal_read_only", writable ? runtime::OrderedJson() : runtime::OrderedJson(opened.read_only)}});
    systemd.notify(writable ? "READY=1" : "READY=1\nSTATUS=read-only: " + opened.read_only + "; commits are refused");
    io.run();
    if (writable) journal.sign_pending();
    log.info("stopped", "stopped", {{"pending_entries", journal.pending_count()}});
    return daemon.exit_code;
  } catch (const std::exception& error) {
    log.error("start_failed", error.what());
    return 1;
  }
}

int check_config(const std::filesystem::path& config_path, std::ostream& out, std::ostream& err) {
  std::optional<Settings> settings;
  try {
    settings.emplace(read_settings(config_path));
  } catch (const std::exception& error) {
    err << "loyalty-agent: " << config_path.string() << ": " << error.what() << "\n";
    return runtime::exit_config;
  }
  const Config& config = settings->config;
  // A rulebook file that would be refused does not stop the agent (it keeps the stored one).
  if (std::filesystem::exists(config.rulebook_file)) {
    try {
      domain::Rulebook parsed;
      rulebook_from_file(config, settings->rulebook_keys, parsed);
      out << "loyalty-agent: rulebook " << config.rulebook_file.string() << ": " << parsed.id << " version "
          << parsed.version << "\n";
    } catch (const std::exception& error) {
      err << "loyalty-agent: warning: rulebook " << config.rulebook_file.string()
          << " would be refused, the stored rulebook kept: " << error.what() << "\n";
    }
  }
  for (const std::filesystem::path& drop_in : config.drop_ins) {
    out << "loyalty-agent: merged drop-in " << drop_in.string() << "\n";
  }
  out << "loyalty-agent: configuration " << config_path.string() << " is valid (terminal " << config.terminal_id
      << " of store " << config.store_id << ")\n";
  return runtime::exit_ok;
}

}  // namespace loyalty::agent

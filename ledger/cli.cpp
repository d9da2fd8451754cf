#include "ledger/cli.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <string>
#include <vector>

#include "ledger/audit.hpp"
#include "ledger/config.hpp"
#include "ledger/ledger.hpp"
#include "ledger/members.hpp"
#include "ledger/pki.hpp"
#include "ledger/replay.hpp"
#include "ledger/report.hpp"
#include "ledger/server.hpp"
#include "ledger/sqlite_store.hpp"
#include "runtime/clock.hpp"
#include "runtime/options.hpp"
#include "storage/files.hpp"
#include "sync/signed_rulebook.hpp"
#include "sync/tls.hpp"

namespace loyalty::ledger {
namespace {

using runtime::exit_failed;
using runtime::exit_ok;
using runtime::exit_usage;
using runtime::Options;
using runtime::parse_options;
using runtime::require;

constexpr std::string_view kUsage =
    "usage: loyalty-ledger <command> [options]\n"
    "\n"
    "commands:\n"
    "  replay --db FILE [--expiry-days N] [--quiet] [--json] JOURNAL_FILE...\n"
    "         Applies terminals' journal files (journal.db or exports) exactly once, verifying\n"
    "         each run of entries against the key its terminal enrolled.\n"
    "  audit --db FILE\n"
    "         Prices every sale not audited yet with the rulebook version it cites and records\n"
    "         those that disagree (replay and serve run it too).\n"
    "  report --db FILE [--format table|csv|json]\n"
    "         Reconciliation per store and terminal: entries, points issued, redeemed,\n"
    "         expired, liability change, conflicts, mismatches.\n"
    "  expire --db FILE [--expiry-days N]\n"
    "         Expires the points whose time has come.\n"
    "  terminal enroll --db FILE --terminal ID --store ID --public-key PEM_FILE\n"
    "  terminal revoke --db FILE --terminal ID\n"
    "  terminal list --db FILE\n"
    "         Registers a terminal and its journal signing key, refuses its uploads, or lists them.\n"
    "  members import --db FILE --member-secret FILE --file MEMBERS_JSONL [--phone-country CODE]\n"
    "         Creates or updates members from JSON lines (docs/operations.md); only keyed\n"
    "         hashes of their cards and phones are kept.\n"
    "  serve --config FILE\n"
    "         Runs the ledger service: HTTPS with mutual TLS for terminals (docs/operations.md).\n"
    "  pki init --dir DIR --name NAME [--days N]\n"
    "         Creates the chain's CA in DIR: ca.key, ca.crt, an empty revocation list.\n"
    "  pki server --dir DIR --name HOST[,HOST...] --key-out FILE --cert-out FILE [--days N]\n"
    "         Issues the ledger's server certificate for its host names and addresses.\n"
    "  pki issue --dir DIR --csr FILE --out FILE [--days N] [--db FILE]\n"
    "         Issues a terminal certificate from its CSR (loyalty-agent enroll); with --db,\n"
    "         also enrolls the terminal and its journal key in the ledger.\n"
    "  pki revoke --dir DIR (--serial HEX | --cert FILE) [--db FILE]\n"
    "         Revokes a certificate (crl.pem; send SIGHUP to the ledger) and, with --db, its terminal.\n"
    "  rulebook keygen --key-out FILE --public-out FILE\n"
    "  rulebook sign --key FILE --key-id ID --in RULEBOOK --out FILE [--days N]\n"
    "  rulebook verify --public-key FILE --key-id ID --in SIGNED\n"
    "  rulebook publish --db FILE --public-key FILE --key-id ID --in SIGNED\n"
    "         Makes a signing key, signs a rulebook (valid N days, default 90), checks one, or\n"
    "         publishes it to terminals (only a newer version than the last published).\n"
    "  version\n"
    "\n"
    "Exit status: 0 done, 1 failed (the message says what and where), 2 usage.\n";

// A failure to report as "loyalty-ledger: MESSAGE".
struct Failed {
  std::string message;
};

LedgerSettings settings_from(const Options& options) {
  LedgerSettings settings;
  const auto days = options.integer("--expiry-days", settings.expiry_days, 1, 36500);
  if (!days) throw Failed{"--expiry-days must be a whole number of days from 1 to 36500"};
  settings.expiry_days = *days;
  return settings;
}

// "1,000,000" for 1000000. (Built by appending: GCC 12 at -O3 warns falsely (-Wrestrict) about
// std::string::insert here.)
std::string thousands(std::int64_t value) {
  const std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out(value < 0 ? 1 : 0, '-');
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Progress of a long replay on stderr: a bar redrawn in place on a terminal, a line per tenth
// of the files otherwise (logs).
class ProgressBar {
 public:
  ProgressBar(std::ostream& err, std::size_t files, bool quiet)
      : err_(err),
        files_(files),
        quiet_(quiet),
        tty_(::isatty(STDERR_FILENO) == 1),
        start_(std::chrono::steady_clock::now()) {}

  void update(std::size_t files_done, std::int64_t entries, bool file_finished) {
    if (quiet_ || files_ == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (tty_) {
      if (!file_finished && now - drawn_ < std::chrono::milliseconds(100)) return;
      drawn_ = now;
      const std::size_t width = 30;
      const std::size_t filled = width * files_done / files_;
      err_ << "\r[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << files_done << "/"
           << files_ << " files, " << thousands(entries) << " entries, " << thousands(rate(entries, now))
           << " entries/s " << std::flush;
    } else if (file_finished && (files_done * 10 / files_ != last_tenth_ || files_done == files_)) {
      last_tenth_ = files_done * 10 / files_;
      err_ << "replay: " << files_done << "/" << files_ << " files, " << thousands(entries) << " entries, "
           << thousands(rate(entries, now)) << " entries/s\n";
    }
  }
  void finish() {
    if (!quiet_ && tty_ && files_ > 0) err_ << "\n";
  }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::int64_t rate(std::int64_t entries, std::chrono::steady_clock::time_point now) const {
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    return elapsed > 0 ? static_cast<std::int64_t>(static_cast<double>(entries) / elapsed) : 0;
  }

  std::ostream& err_;
  std::size_t files_;
  bool quiet_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point drawn_{};
  std::size_t last_tenth_ = 0;
};

int replay_command(const Options& options, std::span<const std::string_view> files, std::ostream& out,
                   std::ostream& err) {
  if (files.empty()) throw Failed{"replay needs at least one journal file"};
  // Replay commits with synchronous=NORMAL and checkpoints rarely: it answers nobody, and a
  // crash loses at most the last group of files, which running them again applies.
  SqliteStore::Options store_options;
  store_options.durability = storage::Durability::normal;
  store_options.cache_kib = 262144;
  store_options.checkpoint_pages = 20000;
  SqliteStore store(options.value("--db"), store_options);
  Ledger ledger(store, settings_from(options));
  ProgressBar bar(err, files.size(), options.has("--quiet"));
  const std::vector<std::filesystem::path> paths(files.begin(), files.end());
  std::int64_t done_entries = 0;
  const std::vector<ReplayResult> results =
      replay_files(ledger, paths, runtime::unix_now_ms(), [&](std::size_t index, std::int64_t entries, bool finished) {
        if (finished) done_entries += entries;
        bar.update(finished ? index + 1 : index, finished ? done_entries : done_entries + entries, finished);
      });
  bar.finish();
  const double seconds = bar.seconds();
  const AuditSummary audited = audit(store);

  ReplayResult sum;
  std::size_t refused = 0;
  for (const ReplayResult& r : results) {
    sum.entries += r.entries;
    sum.applied += r.applied;
    sum.duplicates += r.duplicates;
    sum.held_back += r.held_back;
    sum.unsigned_left_out += r.unsigned_left_out;
    if (!r.refusal.empty()) ++refused;
  }
  if (options.has("--json")) {
    runtime::OrderedJson summary;
    summary["files"] = results.size();
    summary["refused_files"] = refused;
    summary["entries"] = sum.entries;
    summary["applied"] = sum.applied;
    summary["duplicates"] = sum.duplicates;
    summary["held_back"] = sum.held_back;
    summary["unsigned_left_out"] = sum.unsigned_left_out;
    summary["audited_sales"] = audited.sales;
    summary["mismatches"] = audited.mismatches;
    summary["waiting_for_rulebooks"] = audited.waiting_for_rulebooks;
    summary["seconds"] = seconds;
    summary["entries_per_second"] = seconds > 0 ? static_cast<double>(sum.entries) / seconds : 0.0;
    runtime::OrderedJson list = runtime::OrderedJson::array();
    for (const ReplayResult& r : results) {
      runtime::OrderedJson file;
      file["file"] = r.file.string();
      file["terminal_id"] = r.terminal_id;
      file["entries"] = r.entries;
      file["applied"] = r.applied;
      file["duplicates"] = r.duplicates;
      file["held_back"] = r.held_back;
      file["unsigned_left_out"] = r.unsigned_left_out;
      file["acknowledged_through"] = r.acknowledged_through;
      file["refusal"] = r.refusal.empty() ? runtime::OrderedJson() : runtime::OrderedJson(r.refusal);
      list.push_back(std::move(file));
    }
    summary["results"] = std::move(list);
    out << summary.dump(2) << "\n";
  } else {
    out << "replayed " << results.size() - refused << " of " << results.size() << " files in " << std::fixed
        << std::setprecision(1) << seconds << " s";
    if (seconds > 0)
      out << " (" << thousands(static_cast<std::int64_t>(static_cast<double>(sum.entries) / seconds)) << " entries/s)";
    out << "\n";
    const auto row = [&](std::string_view name, std::int64_t value) {
      out << "  " << name << std::string(20 - name.size(), ' ') << std::setw(14) << thousands(value) << "\n";
    };
    row("entries read", sum.entries);
    row("applied", sum.applied);
    row("already applied", sum.duplicates);
    row("held back (gap)", sum.held_back);
    row("unsigned, left out", sum.unsigned_left_out);
    row("refused files", static_cast<std::int64_t>(refused));
    row("sales audited", audited.sales);
    row("audit mismatches", audited.mismatches);
    if (!audited.waiting_for_rulebooks.empty()) {
      out << "  audit waits for rulebook versions not published here:";
      for (std::int64_t version : audited.waiting_for_rulebooks) out << " " << version;
      out << "\n";
    }
    for (const ReplayResult& r : results) {
      if (!r.refusal.empty()) {
        out << "  " << r.file.string() << (r.terminal_id.empty() ? "" : " (" + r.terminal_id + ")");
        if (r.refused_at > 0) out << " from entry " << r.refused_at;
        out << ": " << r.refusal << "\n";
      } else if (r.unsigned_left_out > 0) {
        out << "  " << r.file.string() << " (" << r.terminal_id << "): " << r.unsigned_left_out
            << " unsigned entries at the end left out; sign them with loyalty-agent journal sign and replay again\n";
      }
    }
  }
  return refused == 0 ? exit_ok : exit_failed;
}

int report_command(const Options& options, std::ostream& out) {
  SqliteStore store(options.value("--db"), storage::Creation::must_exist);
  const Report report = build_report(store);
  const std::string format = options.find("--format").value_or("table");
  if (format == "table") {
    out << report_table(report);
  } else if (format == "csv") {
    out << report_csv(report);
  } else if (format == "json") {
    out << report_json(report).dump(2) << "\n";
  } else {
    throw Failed{"--format must be table, csv or json, got " + format};
  }
  return exit_ok;
}

int terminal_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const std::string_view action = args.empty() ? "" : args[0];
  const auto rest = args.empty() ? args : args.subspan(1);
  if (action == "enroll") {
    const auto options = parse_options(rest, {"--db", "--terminal", "--store", "--public-key"}, {}, kUsage, err);
    if (!options || !require(*options, {"--db", "--terminal", "--store", "--public-key"}, kUsage, err)) {
      return exit_usage;
    }
    const auto key = storage::PublicKey::from_pem(storage::read_file(options->value("--public-key")));
    SqliteStore store(options->value("--db"));
    Ledger ledger(store, {});
    ledger.enroll(options->value("--terminal"), options->value("--store"), key.raw(), runtime::unix_now_ms());
    out << "enrolled terminal " << options->value("--terminal") << " of store " << options->value("--store") << "\n";
    return exit_ok;
  }
  if (action == "revoke") {
    const auto options = parse_options(rest, {"--db", "--terminal"}, {}, kUsage, err);
    if (!options || !require(*options, {"--db", "--terminal"}, kUsage, err)) return exit_usage;
    SqliteStore store(options->value("--db"), storage::Creation::must_exist);
    Ledger ledger(store, {});
    ledger.revoke(options->value("--terminal"), runtime::unix_now_ms());
    out << "revoked terminal " << options->value("--terminal") << "\n";
    return exit_ok;
  }
  if (action == "list") {
    const auto options = parse_options(rest, {"--db"}, {}, kUsage, err);
    if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
    SqliteStore store(options->value("--db"), storage::Creation::must_exist);
    for (const Terminal& t : store.terminals()) {
      out << t.terminal_id << "  store " << t.store_id << "  through " << t.head_seq
          << (t.revoked_at_ms ? "  revoked" : "") << "\n";
    }
    return exit_ok;
  }
  err << "loyalty-ledger: terminal needs enroll, revoke or list\n" << kUsage;
  return exit_usage;
}

std::int64_t days_option(const Options& options, std::int64_t fallback) {
  const auto days = options.integer("--days", fallback, 1, 36500);
  if (!days) throw Failed{"--days must be a whole number from 1 to 36500"};
  return *days;
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!name.empty()) names.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

int pki_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const std::string_view action = args.empty() ? "" : args[0];
  const auto rest = args.empty() ? args : args.subspan(1);
  const std::int64_t now_s = runtime::unix_now_ms() / 1000;
  if (action == "init") {
    const auto options = parse_options(rest, {"--dir", "--name", "--days"}, {}, kUsage, err);
    if (!options || !require(*options, {"--dir", "--name"}, kUsage, err)) return exit_usage;
    CertificateAuthority::create(options->value("--dir"), options->value("--name"),
                                 Validity::days_from(now_s, days_option(*options, 3650)));
    out << "created CA \"" << options->value("--name") << "\" in " << options->value("--dir") << "\n";
    return exit_ok;
  }
  if (action == "server") {
    const auto options = parse_options(rest, {"--dir", "--name", "--key-out", "--cert-out", "--days"}, {}, kUsage, err);
    if (!options || !require(*options, {"--dir", "--name", "--key-out", "--cert-out"}, kUsage, err)) {
      return exit_usage;
    }
    CertificateAuthority ca(options->value("--dir"));
    const storage::PrivateKey key = storage::PrivateKey::generate();
    const IssuedCertificate issued = ca.issue_server(key, split_names(options->value("--name")),
                                                     Validity::days_from(now_s, days_option(*options, 825)));
    storage::write_file_atomically(options->value("--key-out"), key.pem(), 0600, storage::Replace::never);
    storage::write_file_atomically(options->value("--cert-out"), issued.pem, 0644);
    out << "issued server certificate " << issued.info.serial << " for " << options->value("--name") << "\n";
    return exit_ok;
  }
  if (action == "issue") {
    const auto options = parse_options(rest, {"--dir", "--csr", "--out", "--days", "--db"}, {}, kUsage, err);
    if (!options || !require(*options, {"--dir", "--csr", "--out"}, kUsage, err)) return exit_usage;
    CertificateAuthority ca(options->value("--dir"));
    const IssuedCertificate issued = ca.issue_terminal(storage::read_file(options->value("--csr")),
                                                       Validity::days_from(now_s, days_option(*options, 825)));
    if (const auto db = options->find("--db")) {
      SqliteStore store(*db);
      Ledger ledger(store, {});
      ledger.enroll(issued.info.common_name, issued.info.organizational_unit, *issued.info.ed25519_key,
                    runtime::unix_now_ms());
    }
    storage::write_file_atomically(options->value("--out"), issued.pem, 0644);
    out << "issued certificate " << issued.info.serial << " to terminal " << issued.info.common_name << " of store "
        << issued.info.organizational_unit << (options->find("--db") ? " and enrolled it" : "") << "\n";
    return exit_ok;
  }
  if (action == "revoke") {
    const auto options = parse_options(rest, {"--dir", "--serial", "--cert", "--db"}, {}, kUsage, err);
    if (!options || !require(*options, {"--dir"}, kUsage, err)) return exit_usage;
    std::string serial;
    std::string terminal;
    if (const auto cert = options->find("--cert")) {
      const auto info = sync::read_certificate(storage::read_file(*cert));
      serial = info.serial;
      terminal = info.common_name;
    } else if (const auto given = options->find("--serial")) {
      serial = *given;
      terminal = sync::read_certificate(
                     storage::read_file(std::filesystem::path(options->value("--dir")) / "issued" / (serial + ".crt")))
                     .common_name;
    } else {
      throw Failed{"pki revoke needs --serial or --cert"};
    }
    CertificateAuthority ca(options->value("--dir"));
    const bool fresh = ca.revoke(serial, now_s);
    if (const auto db = options->find("--db")) {
      SqliteStore store(*db, storage::Creation::must_exist);
      Ledger ledger(store, {});
      ledger.revoke(terminal, runtime::unix_now_ms());
    }
    out << (fresh ? "revoked certificate " : "certificate was already revoked: ") << serial << " of " << terminal
        << "; reload the ledger (SIGHUP) to refuse it on new connections\n";
    return exit_ok;
  }
  err << "loyalty-ledger: pki needs init, server, issue or revoke\n" << kUsage;
  return exit_usage;
}

std::vector<sync::RulebookKey> one_key(const Options& options) {
  return {{options.value("--key-id"), storage::PublicKey::from_pem(storage::read_file(options.value("--public-key")))}};
}

int rulebook_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  const std::string_view action = args.empty() ? "" : args[0];
  const auto rest = args.empty() ? args : args.subspan(1);
  const std::int64_t now_s = runtime::unix_now_ms() / 1000;
  if (action == "keygen") {
    const auto options = parse_options(rest, {"--key-out", "--public-out"}, {}, kUsage, err);
    if (!options || !require(*options, {"--key-out", "--public-out"}, kUsage, err)) return exit_usage;
    const storage::PrivateKey key = storage::PrivateKey::generate();
    storage::write_file_atomically(options->value("--key-out"), key.pem(), 0600, storage::Replace::never);
    storage::write_file_atomically(options->value("--public-out"), key.public_key().pem(), 0644);
    out << "wrote signing key " << options->value("--key-out") << " and public key " << options->value("--public-out")
        << "\n";
    return exit_ok;
  }
  if (action == "sign") {
    const auto options = parse_options(rest, {"--key", "--key-id", "--in", "--out", "--days"}, {}, kUsage, err);
    if (!options || !require(*options, {"--key", "--key-id", "--in", "--out"}, kUsage, err)) return exit_usage;
    const auto key = storage::PrivateKey::from_pem(storage::read_file(options->value("--key")));
    const std::string envelope =
        sync::sign_rulebook(storage::read_file(options->value("--in")), key, options->value("--key-id"),
                            now_s + days_option(*options, 90) * 86400);
    storage::write_file_atomically(options->value("--out"), envelope, 0644);
    out << "signed " << options->value("--in") << " with key " << options->value("--key-id") << " into "
        << options->value("--out") << "\n";
    return exit_ok;
  }
  if (action == "verify" || action == "publish") {
    const bool publish = action == "publish";
    const auto options = publish ? parse_options(rest, {"--db", "--public-key", "--key-id", "--in"}, {}, kUsage, err)
                                 : parse_options(rest, {"--public-key", "--key-id", "--in"}, {}, kUsage, err);
    if (!options || !require(*options, {"--public-key", "--key-id", "--in"}, kUsage, err)) return exit_usage;
    if (publish && !require(*options, {"--db"}, kUsage, err)) return exit_usage;
    const auto keys = one_key(*options);
    const sync::SignedRulebook signed_rulebook =
        sync::verify_rulebook(storage::read_file(options->value("--in")), keys, now_s);
    const auto& rules = signed_rulebook.rules;
    if (!publish) {
      out << "valid: rulebook " << rules.id << " version " << rules.version << ", signed with key "
          << signed_rulebook.key_id << ", expires " << signed_rulebook.expires_at_s << " (Unix time)\n";
      return exit_ok;
    }
    SqliteStore store(options->value("--db"));
    store.transaction([&] {
      const auto latest = store.latest_rulebook();
      if (latest && latest->version >= rules.version) {
        throw Failed{"rulebook version " + std::to_string(rules.version) + " is not newer than the published version " +
                     std::to_string(latest->version) + ": terminals would refuse it"};
      }
      store.publish_rulebook({rules.version, signed_rulebook.envelope, signed_rulebook.document, signed_rulebook.key_id,
                              signed_rulebook.expires_at_s, runtime::unix_now_ms()});
    });
    out << "published rulebook " << rules.id << " version " << rules.version << "\n";
    return exit_ok;
  }
  err << "loyalty-ledger: rulebook needs keygen, sign, verify or publish\n" << kUsage;
  return exit_usage;
}

}  // namespace

int run_cli(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? exit_usage : exit_ok;
  }
  const std::string_view command = args[0];
  auto rest = args.subspan(1);
  try {
    if (command == "version" || command == "--version") {
      out << "loyalty-ledger " << LOYALTY_VERSION << "\n";
      return exit_ok;
    }
    if (command == "replay") {
      // Options first, then the files.
      std::size_t options_end = 0;
      while (options_end < rest.size() && rest[options_end].starts_with("--")) {
        options_end += rest[options_end] == "--quiet" || rest[options_end] == "--json" ? 1U : 2U;
      }
      options_end = std::min(options_end, rest.size());
      const auto options =
          parse_options(rest.first(options_end), {"--db", "--expiry-days"}, {"--quiet", "--json"}, kUsage, err);
      if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
      return replay_command(*options, rest.subspan(options_end), out, err);
    }
    if (command == "report") {
      const auto options = parse_options(rest, {"--db", "--format"}, {}, kUsage, err);
      if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
      return report_command(*options, out);
    }
    if (command == "expire") {
      const auto options = parse_options(rest, {"--db", "--expiry-days"}, {}, kUsage, err);
      if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
      SqliteStore store(options->value("--db"), storage::Creation::must_exist);
      Ledger ledger(store, settings_from(*options));
      out << "expired " << ledger.expire(runtime::unix_now_ms()) << " points\n";
      return exit_ok;
    }
    if (command == "terminal") return terminal_command(rest, out, err);
    if (command == "audit") {
      const auto options = parse_options(rest, {"--db"}, {}, kUsage, err);
      if (!options || !require(*options, {"--db"}, kUsage, err)) return exit_usage;
      SqliteStore store(options->value("--db"), storage::Creation::must_exist);
      const AuditSummary audited = audit(store);
      out << "audited " << audited.sales << " sales: " << audited.mismatches << " mismatches\n";
      for (std::int64_t version : audited.waiting_for_rulebooks) {
        out << "waiting for rulebook version " << version << " to be published\n";
      }
      return audited.mismatches == 0 ? exit_ok : exit_failed;
    }
    if (command == "pki") return pki_command(rest, out, err);
    if (command == "members") {
      if (rest.empty() || rest[0] != "import") {
        err << "loyalty-ledger: members needs import\n" << kUsage;
        return exit_usage;
      }
      const auto options =
          parse_options(rest.subspan(1), {"--db", "--member-secret", "--file", "--phone-country"}, {}, kUsage, err);
      if (!options || !require(*options, {"--db", "--member-secret", "--file"}, kUsage, err)) return exit_usage;
      const storage::IdentifierHasher hasher(storage::read_secret(options->value("--member-secret"), "member secret"));
      SqliteStore store(options->value("--db"));
      Ledger ledger(store, {});
      const ImportSummary summary =
          import_members(ledger, options->value("--file"), hasher, options->find("--phone-country").value_or("7"),
                         runtime::unix_now_ms());
      out << "members: " << summary.created << " created, " << summary.updated << " updated\n";
      return exit_ok;
    }
    if (command == "rulebook") return rulebook_command(rest, out, err);
    if (command == "serve") {
      const auto options = parse_options(rest, {"--config"}, {}, kUsage, err);
      if (!options || !require(*options, {"--config"}, kUsage, err)) return exit_usage;
      ServerConfig config;
      try {
        config = load_server_config(options->value("--config"));
      } catch (const runtime::JsonError& error) {
        throw Failed{options->value("--config") + ": " + error.what()};
      }
      return run_server(config, err);
    }
  } catch (const sync::RulebookRefused& refused) {
    err << "loyalty-ledger: " << refused.what() << " (" << refused.code() << ")\n";
    return exit_failed;
  } catch (const Failed& failed) {
    err << "loyalty-ledger: " << failed.message << "\n";
    return exit_failed;
  } catch (const Refusal& refusal) {
    err << "loyalty-ledger: " << refusal.what() << " (" << refusal.code() << ")\n";
    return exit_failed;
  } catch (const std::exception& error) {
    err << "loyalty-ledger: " << error.what() << "\n";
    return exit_failed;
  }
  err << "loyalty-ledger: unknown command '" << command << "'\n" << kUsage;
  return exit_usage;
}

}  // namespace loyalty::ledger

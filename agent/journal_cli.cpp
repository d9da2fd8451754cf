#include "agent/journal_cli.hpp"

#include <chrono>
#include <limits>
#include <ostream>

#include "agent/cli.hpp"
#include "runtime/clock.hpp"
#include "runtime/json_reader.hpp"
#include "runtime/options.hpp"
#include "storage/files.hpp"
#include "storage/journal.hpp"
#include "storage/journal_check.hpp"
#include "storage/journal_export.hpp"
#include "storage/terminal_key.hpp"
#include "sync/datetime.hpp"

namespace loyalty::agent {
namespace {

using runtime::exit_failed;
using runtime::exit_ok;
using runtime::exit_usage;
using runtime::Options;
using runtime::parse_options;
using runtime::require;

constexpr std::string_view kJournalUsage =
    "usage: loyalty-agent journal <verify | export | sign | stats> --journal FILE [options]\n"
    "  verify [--public-key PEM_FILE] [--quick]\n"
    "         SQLite integrity check, then every entry's hash link and signature, with the enrolled\n"
    "         public key if given (else the one recorded in the journal). --quick checks the\n"
    "         signature of the last entry only.\n"
    "  export --out FILE (--pending | --from SEQ [--to SEQ])\n"
    "         Writes the entries to a new standalone SQLite file for the ledger's replay. Entries\n"
    "         at the end that are not signed yet are left out (and counted).\n"
    "  sign --key KEY_FILE\n"
    "         Signs the entries the agent journaled but had not signed when it stopped (it also\n"
    "         does this at its next start), with the terminal's private key file.\n"
    "  stats [--json]\n";

struct Failure {
  std::string message;
};

std::int64_t sequence(const Options& options, std::string_view name, std::int64_t fallback) {
  const auto value = options.integer(name, fallback, 1, std::numeric_limits<std::int64_t>::max());
  if (!value) {
    throw Failure{std::string(name) + " must be a sequence number of 1 or more, not '" + options.value(name) + "'"};
  }
  return *value;
}

std::unique_ptr<storage::Database> open(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Failure{path + ": no such journal"};
  return storage::open_journal_database(path, storage::Creation::read_only);
}

int verify(const Options& options, std::ostream& out) {
  const std::string& path = options.value("--journal");
  std::optional<storage::PublicKey> key;
  if (auto key_file = options.find("--public-key")) {
    try {
      key = storage::PublicKey::from_pem(storage::read_file(*key_file));
    } catch (const std::exception& error) {
      throw Failure{*key_file + ": not an Ed25519 public key in PEM: " + error.what()};
    }
  }
  auto db = open(path);
  const auto check = options.has("--quick") ? storage::SignatureCheck::last : storage::SignatureCheck::every;
  const storage::VerifyReport report = storage::verify_journal(*db, key, check);
  for (const std::string& problem : report.integrity_problems) out << path << ": integrity: " << problem << "\n";
  if (report.first_bad_seq) {
    out << path << ": FAILED at entry " << *report.first_bad_seq << ": " << report.problem << "\n";
    return exit_failed;
  }
  if (!report.integrity_problems.empty()) return exit_failed;
  out << path << ": ok, ";
  if (report.entries == 0) {
    out << "no entries\n";
  } else {
    out << report.entries << " entries " << report.first_seq << ".." << report.last_seq << ", head "
        << storage::to_hex(report.head_hash).substr(0, 16) << ", "
        << (check == storage::SignatureCheck::every ? "every signature" : "last signature") << " verified with "
        << (key ? "the given key" : "the journal's recorded key");
    if (report.unsigned_entries > 0) out << "; the newest " << report.unsigned_entries << " not signed yet";
    out << "\n";
  }
  return exit_ok;
}

int export_entries(const Options& options, std::ostream& out) {
  const std::string& path = options.value("--journal");
  const std::string& destination = options.value("--out");
  storage::ExportSelection selection;
  if (options.has("--pending")) {
    if (options.find("--from") || options.find("--to")) throw Failure{"--pending cannot be combined with --from/--to"};
    selection = storage::ExportSelection::pending();
  } else if (options.find("--from")) {
    selection = storage::ExportSelection::range(sequence(options, "--from", 1),
                                                sequence(options, "--to", std::numeric_limits<std::int64_t>::max()));
    if (selection.first > selection.last) throw Failure{"--from is after --to"};
  } else {
    throw Failure{"say which entries: --pending, or --from SEQ [--to SEQ]"};
  }
  auto db = open(path);
  const storage::ExportSummary summary = storage::export_journal(*db, destination, selection, runtime::unix_now_ms());
  out << destination << ": " << summary.entries << " entries";
  if (summary.entries > 0) out << " " << summary.first_seq << ".." << summary.last_seq;
  out << "\n";
  if (summary.unsigned_left_out > 0) {
    out << "left out " << summary.unsigned_left_out
        << " newer entries that are not signed yet: the agent signs them at its next start, or run "
           "`loyalty-agent journal sign` with the terminal key, then export them\n";
  }
  return exit_ok;
}

int sign(const Options& options, std::ostream& out) {
  const std::string& path = options.value("--journal");
  storage::PrivateKey key = storage::load_terminal_key(options.value("--key"));
  const std::optional<storage::JournalIdentity> identity = [&] {
    auto db = open(path);
    return storage::read_identity(*db);
  }();
  if (!identity) throw Failure{path + ": the journal has no entries and no identity"};
  storage::Journal journal(path, identity->terminal_id, std::move(key), storage::Creation::must_exist);
  const std::int64_t signed_now = journal.sign_pending();
  out << path << ": signed " << signed_now << " entries; every entry through " << journal.head().seq << " is signed\n";
  return exit_ok;
}

std::string when(std::int64_t ms) { return sync::format_rfc3339_utc(ms / 1000); }

int stats(const Options& options, std::ostream& out) {
  auto db = open(options.value("--journal"));
  const storage::JournalStats s = storage::journal_stats(*db);
  if (options.has("--json")) {
    runtime::OrderedJson j;
    j["terminal_id"] = s.terminal_id;
    j["entries"] = s.entries;
    j["first_seq"] = s.first_seq;
    j["last_seq"] = s.last_seq;
    j["pending"] = s.pending;
    j["acknowledged"] = s.acknowledged;
    j["unsigned"] = s.unsigned_entries;
    j["oldest_pending_journaled_at"] =
        s.oldest_pending_journaled_at_ms ? runtime::OrderedJson(when(*s.oldest_pending_journaled_at_ms)) : nullptr;
    j["points_earned"] = s.points_earned;
    j["points_redeemed"] = s.points_redeemed;
    j["database_bytes"] = s.database_bytes;
    j["wal_bytes"] = s.wal_bytes;
    j["active_rulebook_version"] =
        s.active_rulebook_version ? runtime::OrderedJson(*s.active_rulebook_version) : nullptr;
    j["schema_version"] = s.schema_version;
    j["releases"] = runtime::OrderedJson::array();
    for (const auto& r : s.releases) {
      j["releases"].push_back(
          {{"release", r.release}, {"first_started_at", when(r.first_started_at_ms)}, {"first_seq", r.first_seq}});
    }
    j["head_hash"] = s.head_hash;
    out << j.dump(2) << "\n";
    return exit_ok;
  }
  out << "terminal          " << (s.terminal_id.empty() ? "(none yet)" : s.terminal_id) << "\n"
      << "entries           " << s.entries;
  if (s.entries > 0) out << " (" << s.first_seq << ".." << s.last_seq << ")";
  out << "\npending upload    " << s.pending;
  if (s.oldest_pending_journaled_at_ms) out << " (oldest journaled " << when(*s.oldest_pending_journaled_at_ms) << ")";
  out << "\nacknowledged      " << s.acknowledged << "\n"
      << "not signed yet    " << s.unsigned_entries << "\n"
      << "points earned     " << s.points_earned << "\n"
      << "points redeemed   " << s.points_redeemed << "\n"
      << "database bytes    " << s.database_bytes;
  if (s.entries > 0) out << " (" << s.database_bytes / s.entries << " per entry)";
  out << "\nwrite-ahead log   " << s.wal_bytes << " bytes\n"
      << "active rulebook   "
      << (s.active_rulebook_version ? "version " + std::to_string(*s.active_rulebook_version) : std::string("none"))
      << "\n"
      << "schema version    " << s.schema_version << "\n";
  if (!s.head_hash.empty()) out << "last entry hash   " << s.head_hash << "\n";
  for (const auto& r : s.releases) {
    out << "release           " << r.release << " from entry " << r.first_seq << " (first started "
        << when(r.first_started_at_ms) << ")\n";
  }
  return exit_ok;
}

}  // namespace

int journal_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << kJournalUsage;
    return exit_usage;
  }
  const std::string_view sub = args[0];
  const auto rest = args.subspan(1);
  std::optional<Options> options;
  if (sub == "verify") {
    options = parse_options(rest, {"--journal", "--public-key"}, {"--quick"}, kJournalUsage, err);
  } else if (sub == "export") {
    options = parse_options(rest, {"--journal", "--out", "--from", "--to"}, {"--pending"}, kJournalUsage, err);
    if (options && !require(*options, {"--out"}, kJournalUsage, err)) return exit_usage;
  } else if (sub == "sign") {
    options = parse_options(rest, {"--journal", "--key"}, {}, kJournalUsage, err);
    if (options && !require(*options, {"--key"}, kJournalUsage, err)) return exit_usage;
  } else if (sub == "stats") {
    options = parse_options(rest, {"--journal"}, {"--json"}, kJournalUsage, err);
  } else {
    err << "loyalty-agent: unknown journal command '" << sub << "'\n" << kJournalUsage;
    return exit_usage;
  }
  if (!options || !require(*options, {"--journal"}, kJournalUsage, err)) return exit_usage;
  try {
    if (sub == "verify") return verify(*options, out);
    if (sub == "export") return export_entries(*options, out);
    if (sub == "sign") return sign(*options, out);
    return stats(*options, out);
  } catch (const Failure& failure) {
    err << "loyalty-agent: journal " << sub << ": " << failure.message << "\n";
  } catch (const std::exception& error) {
    err << "loyalty-agent: journal " << sub << ": " << error.what() << "\n";
  }
  return exit_failed;
}

}  // namespace loyalty::agent

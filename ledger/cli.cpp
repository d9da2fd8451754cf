#include "ledger/cli.hpp"

#include <ostream>
#include <string>
#include <utility>

#include "ledger/cli_commands.hpp"
#include "ledger/ledger.hpp"
#include "runtime/options.hpp"
#include "sync/signed_rulebook.hpp"

namespace loyalty::ledger {
namespace cli {

const std::string_view kUsage =
    "usage: loyalty-ledger <command> [options]\n"
    "\n"
    "commands:\n"
    "  replay --db DB [--expiry-days N] [--group-entries N] [--quiet] [--json] JOURNAL_FILE...\n"
    "         Applies terminals' journal files (journal.db or exports) exactly once, verifying\n"
    "         each run of entries against the key its terminal enrolled.\n"
    "  audit --db DB\n"
    "         Prices every sale not audited yet with the rulebook version it cites and records\n"
    "         those that disagree (replay and serve run it too).\n"
    "  report --db DB [--format table|csv|json]\n"
    "         Reconciliation per store and terminal: entries, points issued, redeemed,\n"
    "         expired, liability change, conflicts, mismatches.\n"
    "  expire --db DB [--expiry-days N]\n"
    "         Expires the points whose time has come.\n"
    "  terminal enroll --db DB --terminal ID --store ID --public-key PEM_FILE\n"
    "  terminal revoke --db DB --terminal ID\n"
    "  terminal list --db DB\n"
    "         Registers a terminal and its journal signing key, refuses its uploads, or lists them.\n"
    "  members import --db DB --member-secret FILE --file MEMBERS_JSONL [--phone-country CODE]\n"
    "         Creates or updates members from JSON lines (docs/operations.md); only keyed\n"
    "         hashes of their cards and phones are kept.\n"
    "  serve --config FILE\n"
    "         Runs the ledger service: HTTPS with mutual TLS for terminals (docs/operations.md).\n"
    "         Exit status 78 when the configuration or its TLS files are wrong.\n"
    "  check-config --config FILE\n"
    "         Checks the configuration and its TLS files as serve would: 0 when valid, 78 when not.\n"
    "  pki init --dir DIR --name NAME [--days N]\n"
    "         Creates the chain's CA in DIR: ca.key, ca.crt, an empty revocation list.\n"
    "  pki server --dir DIR --name HOST[,HOST...] --key-out FILE --cert-out FILE [--days N]\n"
    "         Issues the ledger's server certificate for its host names and addresses.\n"
    "  pki issue --dir DIR (--csr FILE --out FILE | --csr-dir DIR --out-dir DIR) [--days N] [--db DB]\n"
    "         Issues a terminal certificate from its CSR (loyalty-agent enroll), or one for each\n"
    "         *.csr of --csr-dir without one in --out-dir yet; with --db, also enrolls each\n"
    "         terminal and its journal key in the ledger.\n"
    "  pki revoke --dir DIR (--serial HEX | --cert FILE) [--db DB]\n"
    "         Revokes a certificate (crl.pem; send SIGHUP to the ledger) and, with --db, its terminal.\n"
    "  rulebook keygen --key-out FILE --public-out FILE\n"
    "  rulebook sign --key FILE --key-id ID --in RULEBOOK --out FILE [--days N]\n"
    "  rulebook verify --public-key FILE --key-id ID --in SIGNED\n"
    "  rulebook publish --db DB --public-key FILE --key-id ID --in SIGNED\n"
    "         Makes a signing key, signs a rulebook (valid N days, default 90), checks one, or\n"
    "         publishes it to terminals (only a newer version than the last published).\n"
    "  version\n"
    "\n"
    "DB is the ledger's SQLite file, or a PostgreSQL database by its URI\n"
    "(postgresql://USER@HOST:PORT/DBNAME?sslmode=verify-full; the password in ~/.pgpass).\n"
    "Options take their value as --name VALUE or --name=VALUE; COMMAND --help describes one.\n"
    "Exit status: 0 done, 1 failed (the message says what and where), 2 usage.\n";

LedgerSettings settings_from(const Options& options) {
  LedgerSettings settings;
  const auto days = options.integer("--expiry-days", settings.expiry_days, 1, 36500);
  if (!days) throw Failed{"--expiry-days must be a whole number of days from 1 to 36500"};
  settings.expiry_days = *days;
  return settings;
}

std::int64_t days_option(const Options& options, std::int64_t fallback) {
  const auto days = options.integer("--days", fallback, 1, 36500);
  if (!days) throw Failed{"--days must be a whole number from 1 to 36500"};
  return *days;
}

}  // namespace cli

int run_cli(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  using namespace cli;
  using Family = int (*)(std::span<const std::string_view>, std::ostream&, std::ostream&);
  static constexpr std::pair<std::string_view, Family> kFamilies[] = {
      {"replay", replay_command},     {"report", report_command},
      {"audit", audit_command},       {"expire", expire_command},
      {"terminal", terminal_command}, {"members", members_command},
      {"pki", pki_command},           {"rulebook", rulebook_command},
      {"serve", serve_command},       {"check-config", check_config_command},
  };
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? exit_usage : exit_ok;
  }
  const std::string_view command = args[0];
  if (runtime::wants_help(args.subspan(1))) {
    out << runtime::command_usage(kUsage, command);
    return exit_ok;
  }
  try {
    if (command == "version" || command == "--version") {
      out << "loyalty-ledger " << LOYALTY_VERSION << "\n";
      return exit_ok;
    }
    for (const auto& [name, family] : kFamilies) {
      if (name == command) return family(args.subspan(1), out, err);
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
